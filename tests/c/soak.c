/*
 * soak.c - many sessions, many runs, one process: does cloche stay flat?
 *
 *   cloche_soak [--sessions N] [--runs M] [--threads T] [--max-rss-growth PCT]
 *
 * T worker threads share one engine and take sessions from a counter. Each
 * session is a sandbox that does M runs, cycling through: plain code that
 * keeps globals, awaiting an async callback completed later from another
 * thread (a gather of three), calling a sync callback (the engine's worker
 * pool), an image snapshot saved and restored into the same sandbox, a
 * reset, and a run that spins until a canceller thread cancels it. Each
 * outcome is checked. Host RSS and open descriptors are sampled every
 * 50 ms; the program fails if the peak RSS while the last fifth of the
 * sessions runs exceeds the peak while the second tenth runs (after
 * warm-up) by more than the allowed percentage, if descriptors peak
 * higher late than early (beyond 2 in flight), or if any are left open at
 * the end. One summary
 * line (`make soak`; ctest runs a short version).
 */
#define _DEFAULT_SOURCE

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cloche.h"

static cloche_engine *g_engine;
static int g_sessions = 1000, g_runs = 100, g_threads = 8;
static double g_max_growth = 10.0;
static atomic_int g_next, g_done, g_failed;
static atomic_long g_nruns, g_ncalls, g_nsnaps, g_nresets, g_ncancels;
static atomic_int g_stop;

/* ---- measurements --------------------------------------------------------- */

static long rss_kb(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static int open_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    while (readdir(d))
        n++;
    closedir(d);
    return n - 3; /* ".", "..", the DIR's own */
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fail(const char *what, int session, int run, const char *detail)
{
    fprintf(stderr, "soak: session %d run %d: %s%s%s\n", session, run, what,
            detail ? ": " : "", detail ? detail : "");
    atomic_store(&g_failed, 1);
}

/* ---- a completer thread: async calls answered later, elsewhere ------------ */

typedef struct queue {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    cloche_call *calls[4096];
    size_t n;
} queue;

static queue g_q = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
                    {0}, 0};

static void async_tool(cloche_call *call, const char *args, size_t len,
                       void *ud)
{
    (void)args, (void)len, (void)ud;
    pthread_mutex_lock(&g_q.mu);
    if (g_q.n < sizeof g_q.calls / sizeof *g_q.calls) {
        g_q.calls[g_q.n++] = call;
        pthread_cond_signal(&g_q.cv);
        call = NULL;
    }
    pthread_mutex_unlock(&g_q.mu);
    if (call) /* queue full: answer here */
        cloche_call_return(call, "{\"n\": 1}", 8);
    atomic_fetch_add(&g_ncalls, 1);
}

static void *completer(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&g_q.mu);
    while (!atomic_load(&g_stop) || g_q.n) {
        if (g_q.n == 0) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 5000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&g_q.cv, &g_q.mu, &ts);
            continue;
        }
        cloche_call *c = g_q.calls[--g_q.n];
        pthread_mutex_unlock(&g_q.mu);
        cloche_call_return(c, "{\"n\": 1}", 8);
        pthread_mutex_lock(&g_q.mu);
    }
    pthread_mutex_unlock(&g_q.mu);
    return NULL;
}

static int sync_tool(char **result, char **error, const char *args, void *ud)
{
    (void)error, (void)args, (void)ud;
    *result = strdup("[1, 2, 3]");
    atomic_fetch_add(&g_ncalls, 1);
    return 0;
}

/* ---- a canceller thread: cancels whatever spins ---------------------------- */

static pthread_mutex_t g_spin_mu = PTHREAD_MUTEX_INITIALIZER;
static cloche_sandbox *g_spinning[64];

static void *canceller(void *arg)
{
    (void)arg;
    while (!atomic_load(&g_stop)) {
        pthread_mutex_lock(&g_spin_mu);
        for (int i = 0; i < g_threads; i++)
            if (g_spinning[i])
                cloche_sandbox_cancel(g_spinning[i]);
        pthread_mutex_unlock(&g_spin_mu);
        usleep(2000);
    }
    return NULL;
}

/* ---- a session ------------------------------------------------------------------ */

static int run_expect(cloche_sandbox *sb, const char *code, cloche_outcome want,
                      const char *stdout_want, int session, int run)
{
    cloche_result *r = NULL;
    int rc = cloche_run(&r, sb, code, strlen(code));
    atomic_fetch_add(&g_nruns, 1);
    if (rc != 0) {
        fail("cloche_run", session, run, cloche_sandbox_errmsg(sb));
        return -1;
    }
    int ok = cloche_result_outcome(r) == want;
    size_t len = 0;
    const char *out = cloche_result_stdout(r, &len);
    if (ok && stdout_want && strcmp(out, stdout_want) != 0)
        ok = 0;
    if (!ok) {
        char detail[512];
        snprintf(detail, sizeof detail, "outcome %s, stdout \"%.100s\", %s",
                 cloche_outcome_name(cloche_result_outcome(r)), out,
                 cloche_result_exception_message(r)
                     ? cloche_result_exception_message(r)
                     : "");
        fail("unexpected result", session, run, detail);
    }
    cloche_result_free(r);
    return ok ? 0 : -1;
}

static int snapshot_round_trip(cloche_sandbox *sb, int session, int run)
{
    uint8_t *snap = NULL;
    size_t len = 0;
    if (cloche_snapshot_save(&snap, &len, sb, NULL) != 0 ||
        cloche_snapshot_restore(sb, snap, len, NULL) != 0) {
        fail("snapshot", session, run, cloche_sandbox_errmsg(sb));
        cloche_buffer_free(snap);
        return -1;
    }
    cloche_buffer_free(snap);
    atomic_fetch_add(&g_nsnaps, 1);
    return 0;
}

static int spin_until_cancelled(cloche_sandbox *sb, int slot, int session,
                                int run)
{
    pthread_mutex_lock(&g_spin_mu);
    g_spinning[slot] = sb;
    pthread_mutex_unlock(&g_spin_mu);
    int rc = run_expect(sb, "while True:\n    pass", CLOCHE_OUTCOME_CANCELLED,
                        NULL, session, run);
    pthread_mutex_lock(&g_spin_mu); /* the canceller is not inside cancel */
    g_spinning[slot] = NULL;
    pthread_mutex_unlock(&g_spin_mu);
    if (rc == 0)
        atomic_fetch_add(&g_ncancels, 1);
    return rc;
}

static int add_tools(cloche_sandbox *sb)
{
    cloche_callback_def a = CLOCHE_CALLBACK_DEF_INIT, s = CLOCHE_CALLBACK_DEF_INIT;
    a.name = "fetch";
    a.fn = async_tool;
    s.name = "lookup";
    s.sync_fn = sync_tool;
    return cloche_sandbox_add_callback(sb, &a) || cloche_sandbox_add_callback(sb, &s);
}

static void session(int id, int slot)
{
    cloche_sandbox *sb = NULL;
    cloche_sandbox_options o = CLOCHE_SANDBOX_OPTIONS_INIT;
    o.timeout_ms = 20000;
    if (cloche_sandbox_new(&sb, g_engine, &o) != 0 || add_tools(sb) != 0) {
        fail("sandbox", id, 0, cloche_sandbox_errmsg(sb));
        cloche_sandbox_free(sb);
        return;
    }
    int kept = 0; /* runs since the globals were (re)made */
    for (int run = 0; run < g_runs && !atomic_load(&g_failed); run++) {
        int rc = 0;
        switch (run % 10) {
        case 0:
            rc = run_expect(sb, "n = 0\ndata = {}", CLOCHE_OUTCOME_OK, NULL,
                            id, run);
            kept = 1;
            break;
        case 1:
        case 5:
            rc = run_expect(sb,
                            "import asyncio\n"
                            "r = await asyncio.gather(fetch(a=1), fetch(a=2),"
                            " fetch(a=3))\n"
                            "n += sum(x['n'] for x in r)\n",
                            CLOCHE_OUTCOME_OK, NULL, id, run);
            break;
        case 2:
            rc = run_expect(sb, "data[n] = lookup(k=n)\nprint(len(data) > 0)",
                            CLOCHE_OUTCOME_OK, "True\n", id, run);
            break;
        case 3:
            rc = snapshot_round_trip(sb, id, run);
            break;
        case 4:
            rc = run_expect(sb, "print(n >= 3)", CLOCHE_OUTCOME_OK, "True\n",
                            id, run);
            break;
        case 6:
            if ((run / 10) % 3 == 1) {
                rc = spin_until_cancelled(sb, slot, id, run);
                kept = 0; /* a stopped run costs the interpreter's state */
            } else {
                rc = run_expect(sb, "s = sum(range(20000))",
                                CLOCHE_OUTCOME_OK, NULL, id, run);
            }
            break;
        case 7:
            rc = run_expect(sb, "raise ValueError('expected')",
                            CLOCHE_OUTCOME_EXCEPTION, NULL, id, run);
            break;
        case 8:
            rc = kept ? run_expect(sb, "print(type(data).__name__)",
                                   CLOCHE_OUTCOME_OK, "dict\n", id, run)
                      : 0;
            break;
        default: /* every fourth decade ends with a reset */
            if ((run / 10) % 4 == 3) {
                rc = cloche_sandbox_reset(sb);
                if (rc)
                    fail("reset", id, run, cloche_sandbox_errmsg(sb));
                atomic_fetch_add(&g_nresets, 1);
                kept = 0;
            }
            break;
        }
        if (rc)
            break;
    }
    cloche_sandbox_free(sb);
}

/* Samples every 50 ms: the peak RSS and descriptors while the second
 * tenth of the sessions runs (after warm-up) and while the last fifth
 * runs, sandboxes alive in both windows. */
static long g_rss_warm, g_rss_late, g_fds_warm = -1, g_fds_late = -1;

static void *sampler(void *arg)
{
    (void)arg;
    while (!atomic_load(&g_stop)) {
        int done = atomic_load(&g_done);
        long rss = rss_kb(), fds = open_fds();
        if (done >= g_sessions / 10 && done < g_sessions / 5 + 1) {
            g_rss_warm = rss > g_rss_warm ? rss : g_rss_warm;
            g_fds_warm = fds > g_fds_warm ? fds : g_fds_warm;
        }
        if (done >= g_sessions * 4 / 5 && atomic_load(&g_next) < g_sessions) {
            g_rss_late = rss > g_rss_late ? rss : g_rss_late;
            g_fds_late = fds > g_fds_late ? fds : g_fds_late;
        }
        usleep(50000);
    }
    return NULL;
}

static void *worker(void *arg)
{
    int slot = (int)(intptr_t)arg;
    for (;;) {
        int id = atomic_fetch_add(&g_next, 1);
        if (id >= g_sessions || atomic_load(&g_failed))
            break;
        session(id, slot);
        atomic_fetch_add(&g_done, 1);
    }
    return NULL;
}

static void usage(void)
{
    fprintf(stderr, "usage: cloche_soak [--sessions N] [--runs M] "
                    "[--threads T] [--max-rss-growth PCT]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            usage();
        if (strcmp(argv[i], "--sessions") == 0)
            g_sessions = atoi(argv[++i]);
        else if (strcmp(argv[i], "--runs") == 0)
            g_runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--threads") == 0)
            g_threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--max-rss-growth") == 0)
            g_max_growth = atof(argv[++i]);
        else
            usage();
    }
    if (g_sessions < 1 || g_runs < 1 || g_threads < 1 || g_threads > 64)
        usage();
    char err[256] = "";
    if (cloche_engine_new(&g_engine, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "soak: engine: %s\n", err);
        return 1;
    }
    long rss0 = rss_kb();
    int fds0 = open_fds();
    double t0 = now_s();
    pthread_t comp, canc, samp, th[64];
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 16u << 20); /* room for the guest */
    pthread_create(&comp, NULL, completer, NULL);
    pthread_create(&canc, NULL, canceller, NULL);
    pthread_create(&samp, NULL, sampler, NULL);
    for (int i = 0; i < g_threads; i++)
        pthread_create(&th[i], &attr, worker, (void *)(intptr_t)i);
    for (int i = 0; i < g_threads; i++)
        pthread_join(th[i], NULL);
    atomic_store(&g_stop, 1);
    pthread_join(comp, NULL);
    pthread_join(canc, NULL);
    pthread_join(samp, NULL);
    long rss1 = rss_kb();
    int fds1 = open_fds();
    double secs = now_s() - t0;
    /* too short to sample both windows: compare the ends instead */
    if (!g_rss_warm || !g_rss_late) {
        g_rss_warm = g_rss_late = rss1;
        g_fds_warm = g_fds_late = fds1;
    }
    double growth = 100.0 * (double)(g_rss_late - g_rss_warm) /
                    (double)g_rss_warm;
    int ok = !atomic_load(&g_failed) && fds1 == fds0 &&
             g_fds_late <= g_fds_warm + 2 && growth <= g_max_growth;
    printf("soak: %d sessions x %d steps (%ld runs) in %d threads, %.0f s: "
           "%ld callbacks, %ld snapshots, %ld resets, %ld cancels; "
           "RSS peak %ld MB after warm-up, %ld MB in the last fifth "
           "(%+.1f%%), %ld MB at start, %ld MB at end; "
           "fds %d at start, peak %ld after warm-up, %ld in the last fifth, "
           "%d at end: %s\n",
           g_sessions, g_runs, atomic_load(&g_nruns), g_threads, secs,
           atomic_load(&g_ncalls), atomic_load(&g_nsnaps),
           atomic_load(&g_nresets), atomic_load(&g_ncancels),
           g_rss_warm / 1024, g_rss_late / 1024, growth, rss0 / 1024,
           rss1 / 1024, fds0, g_fds_warm, g_fds_late, fds1,
           ok ? "ok" : "FAILED");
    cloche_engine_free(g_engine);
    return ok ? 0 : 1;
}
