/*
 * cloche-bench: latency and throughput numbers, medians over repeated
 * trials, with ratios against native CPython 3.13 built from the same
 * source (measured in the same invocation). Not a test: it asserts
 * nothing about speed.
 *
 *   cloche-bench [--quick]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <jansson.h>

#include "cloche.h"
#include "demo_tools.h"

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static long minor_faults(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double median_us(uint64_t *samples, size_t n) {
    qsort(samples, n, sizeof *samples, cmp_u64);
    return (double)samples[n / 2] / 1000.0;
}

static void die(const char *what, int rc) {
    fprintf(stderr, "cloche-bench: %s: %s\n", what, cloche_strerror(rc));
    exit(1);
}

static cloche_result *run_ok(cloche_sandbox *sb, const char *code) {
    cloche_result *r = NULL;
    int rc = cloche_run(&r, sb, code, strlen(code));
    if (rc != 0)
        die(cloche_sandbox_errmsg(sb), rc);
    if (cloche_result_outcome(r) != CLOCHE_OUTCOME_OK) {
        fprintf(stderr, "cloche-bench: run failed: %s\n%s\n",
                cloche_result_exception_type(r) ? cloche_result_exception_type(r)
                                                : cloche_outcome_name(
                                                      cloche_result_outcome(r)),
                cloche_result_traceback(r) ? cloche_result_traceback(r) : "");
        exit(1);
    }
    return r;
}

/* (a) fresh sandbox -> result of 1+1, and its two halves. */
static void bench_fresh(cloche_engine *e, size_t n) {
    uint64_t *total = calloc(n, sizeof *total), *create = calloc(n, 8),
             *run = calloc(n, 8), *destroy = calloc(n, 8), *faults = calloc(n, 8);
    for (size_t i = 0; i < n; i++) {
        long f0 = minor_faults();
        cloche_sandbox *sb = NULL;
        cloche_result *r = NULL;
        uint64_t t0 = now_ns();
        int rc = cloche_sandbox_new(&sb, e, NULL);
        if (rc)
            die("sandbox_new", rc);
        uint64_t t1 = now_ns();
        rc = cloche_run(&r, sb, "1+1", 3);
        uint64_t t2 = now_ns();
        faults[i] = (uint64_t)(minor_faults() - f0);
        if (rc || strcmp(cloche_result_value_repr(r), "2") != 0)
            die("1+1", rc ? rc : CLOCHE_EGUEST);
        cloche_result_free(r);
        cloche_sandbox_free(sb);
        uint64_t t3 = now_ns();
        create[i] = t1 - t0, run[i] = t2 - t1, destroy[i] = t3 - t2;
        total[i] = t3 - t0;
    }
    printf("(a) fresh sandbox -> 1+1 -> free     median %9.1f us  (n=%zu)\n",
           median_us(total, n), n);
    printf("      sandbox_new %.1f us, run %.1f us, free %.1f us; "
           "%.0f page faults (copy-on-write of the image)\n",
           median_us(create, n), median_us(run, n), median_us(destroy, n),
           median_us(faults, n) * 1000.0);
    free(total), free(create), free(run), free(destroy), free(faults);
}

/* (a') the same through a warm pool: check out -> 1+1 -> give back; and a
 * 10-command session on a pooled sandbox. The pool recycles and refills
 * in the background, so each sample first waits until the pool is full
 * again (that wait is not timed: it stands for the idle time between
 * requests, in which a pool does its background work). */
static void wait_ready(cloche_pool *pool) {
    while (cloche_pool_ready(pool) < CLOCHE_POOL_DEFAULT_SIZE)
        nanosleep(&(struct timespec){0, 200000}, NULL);
}

static void bench_pool(cloche_engine *e, size_t n) {
    cloche_pool *pool;
    int rc = cloche_pool_new(&pool, e, NULL);
    if (rc)
        die("pool_new", rc);
    uint64_t *one = calloc(n, sizeof *one), *ten = calloc(n, sizeof *ten);
    for (size_t i = 0; i < n; i++) {
        cloche_sandbox *sb;
        wait_ready(pool);
        uint64_t t0 = now_ns();
        if ((rc = cloche_pool_acquire(pool, &sb)) != 0)
            die("pool_acquire", rc);
        cloche_result_free(run_ok(sb, "1+1"));
        cloche_pool_release(pool, sb);
        one[i] = now_ns() - t0;
        wait_ready(pool);
        t0 = now_ns();
        if ((rc = cloche_pool_acquire(pool, &sb)) != 0)
            die("pool_acquire", rc);
        cloche_result_free(run_ok(sb, "total = 0"));
        for (int k = 0; k < 9; k++)
            cloche_result_free(run_ok(sb, "total += 1\ntotal"));
        cloche_pool_release(pool, sb);
        ten[i] = now_ns() - t0;
    }
    printf("(a') pooled sandbox -> 1+1 -> release median %9.1f us  (n=%zu)\n",
           median_us(one, n), n);
    printf("     10-command session, pooled       median %9.1f us\n",
           median_us(ten, n));
    cloche_pool_free(pool);
    free(one), free(ten);
}

/* (b) ten small runs in one sandbox. */
static void bench_session(cloche_engine *e, size_t n) {
    uint64_t *samples = calloc(n, sizeof *samples);
    cloche_sandbox *sb = NULL;
    int rc = cloche_sandbox_new(&sb, e, NULL);
    if (rc)
        die("sandbox_new", rc);
    cloche_result_free(run_ok(sb, "total = 0"));
    for (size_t i = 0; i < n; i++) {
        uint64_t t0 = now_ns();
        for (int k = 0; k < 10; k++)
            cloche_result_free(run_ok(sb, "total += 1\ntotal"));
        samples[i] = now_ns() - t0;
    }
    printf("(b) ten small runs in one sandbox    median %9.1f us  "
           "(%.1f us/run)\n",
           median_us(samples, n), median_us(samples, n) / 10.0);
    cloche_sandbox_free(sb);
    free(samples);
}

/* Median over n samples of one run of `code`, divided by `per`. */
static double run_median_us(cloche_sandbox *sb, const char *code, size_t n,
                            double per) {
    uint64_t *samples = calloc(n, sizeof *samples);
    for (size_t i = 0; i < n; i++) {
        uint64_t t0 = now_ns();
        cloche_result_free(run_ok(sb, code));
        samples[i] = now_ns() - t0;
    }
    double m = median_us(samples, n) / per;
    free(samples);
    return m;
}

/* Callbacks: round trips in both styles, and overlap under gather. */
static void bench_callbacks(cloche_engine *e, size_t n) {
    cloche_sandbox *sb = NULL;
    int rc = cloche_sandbox_new(&sb, e, NULL);
    if (rc || (rc = demo_tools_register(sb)))
        die("sandbox with tools", rc);
    cloche_result_free(run_ok(sb, "def sync_loop(k):\n"
                                  "    for _ in range(k): echo()\n"
                                  "async def async_loop(k):\n"
                                  "    for _ in range(k): await echo()\n"
                                  "def empty_loop(k):\n"
                                  "    for _ in range(k): pass"));
    double base = run_median_us(sb, "empty_loop(1000)", n, 1000.0);
    double sync_us = run_median_us(sb, "sync_loop(1000)", n, 1000.0);
    double async_us = run_median_us(sb, "await async_loop(1000)", n, 1000.0);
    printf("(d) callback round trip, sync style  median %9.2f us\n",
           sync_us - base);
    printf("    callback round trip, await       median %9.2f us\n",
           async_us - base);
    double gather = run_median_us(
        sb, "import asyncio\n"
            "await asyncio.gather(*(sleep(seconds=0.01) for _ in range(100)))",
        n, 1000.0);
    printf("    100 x 10 ms callbacks via gather median %9.2f ms wall "
           "(serial would be 1000 ms)\n", gather);
    cloche_sandbox_free(sb);
}

static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n)
        buf[n] = '\0';
    else
        free(buf), buf = NULL;
    fclose(f);
    return buf;
}

/* bench/agent_session.py, the session every snapshot row saves (shared
 * with make compare). Read once. */
static const char *agent_session(void) {
    static char *source;
    if (!source) {
        char path[2048];
        snprintf(path, sizeof path, "%s/agent_session.py", CLOCHE_BENCH_DIR);
        if (!(source = read_text(path)))
            die("cannot read bench/agent_session.py", CLOCHE_EIO);
    }
    return source;
}

/* A /proc/self/status field in KiB: RssAnon is the process's private
 * memory; RssFile counts shared page-cache pages (the image) again for
 * every mapping that touched them. */
static long status_kib(const char *field) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = 0;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0 && line[n] == ':')
            kib = atol(line + n + 1);
    if (f)
        fclose(f);
    return kib;
}

/* (e') the same session as a state snapshot: its globals pickled. */
static void bench_state(cloche_engine *e, size_t n) {
    cloche_sandbox *sb = NULL, *other = NULL;
    int rc = cloche_sandbox_new(&sb, e, NULL);
    if (rc || (rc = cloche_sandbox_new(&other, e, NULL)))
        die("sandbox_new", rc);
    cloche_result_free(run_ok(sb, agent_session()));
    uint64_t *save = calloc(n, 8), *load = calloc(n, 8);
    size_t size = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t *state = NULL;
        uint64_t t0 = now_ns();
        if ((rc = cloche_state_save(&state, &size, sb, 0)))
            die(cloche_sandbox_errmsg(sb), rc);
        uint64_t t1 = now_ns();
        if ((rc = cloche_state_restore(other, state, size)))
            die(cloche_sandbox_errmsg(other), rc);
        load[i] = now_ns() - t1, save[i] = t1 - t0;
        cloche_buffer_free(state);
    }
    cloche_result_free(run_ok(other, "assert len(cart.items) == 200"));
    printf("(e') state snapshot of the agent session: %zu bytes (%.1f KiB), "
           "save %.2f ms, restore %.2f ms\n", size, (double)size / 1024.0,
           median_us(save, n) / 1000.0, median_us(load, n) / 1000.0);
    free(save), free(load);
    cloche_sandbox_free(sb);
    cloche_sandbox_free(other);
}

/* (e) sessions: snapshot size and speed, reset, memory per idle session. */
static void bench_sessions(cloche_engine *e, size_t n, size_t idle) {
    cloche_sandbox *sb = NULL, *other = NULL;
    int rc = cloche_sandbox_new(&sb, e, NULL);
    if (rc || (rc = cloche_sandbox_new(&other, e, NULL)))
        die("sandbox_new", rc);
    cloche_result_free(run_ok(sb, agent_session()));
    uint64_t *save = calloc(n, 8), *load = calloc(n, 8), *reset = calloc(n, 8);
    size_t size = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t *snap = NULL;
        uint64_t t0 = now_ns();
        if ((rc = cloche_snapshot_save(&snap, &size, sb, NULL)))
            die("snapshot_save", rc);
        uint64_t t1 = now_ns();
        if ((rc = cloche_snapshot_restore(other, snap, size, NULL)))
            die("snapshot_restore", rc);
        uint64_t t2 = now_ns();
        if ((rc = cloche_sandbox_reset(other)))
            die("reset", rc);
        reset[i] = now_ns() - t2;
        save[i] = t1 - t0, load[i] = t2 - t1;
        cloche_buffer_free(snap);
    }
    printf("(e) image snapshot of an agent session: %zu bytes (%.1f KiB)\n",
           size, (double)size / 1024.0);
    printf("    write %.2f ms, restore %.2f ms, reset %.1f us (medians)\n",
           median_us(save, n) / 1000.0, median_us(load, n) / 1000.0,
           median_us(reset, n));
    free(save), free(load), free(reset);
    cloche_sandbox_free(sb);
    cloche_sandbox_free(other);
    cloche_sandbox **many = calloc(idle, sizeof *many);
    long anon0 = status_kib("RssAnon"), file0 = status_kib("RssFile");
    for (size_t i = 0; i < idle; i++) {
        if ((rc = cloche_sandbox_new(&many[i], e, NULL)))
            die("sandbox_new (idle sessions)", rc);
        cloche_result_free(run_ok(many[i], "x = 1"));
    }
    double anon = (double)(status_kib("RssAnon") - anon0) / 1024.0;
    double file = (double)(status_kib("RssFile") - file0) / 1024.0;
    printf("    %zu idle sessions: %.2f MiB private memory each (%.0f MiB "
           "total); shared image pages mapped: %.2f MiB each\n",
           idle, anon / (double)idle, anon, file / (double)idle);
    for (size_t i = 0; i < idle; i++)
        cloche_sandbox_free(many[i]);
    free(many);
}

static json_t *kernels_in_sandbox(cloche_engine *e, const char *source) {
    cloche_sandbox_options o = CLOCHE_SANDBOX_OPTIONS_INIT;
    o.timeout_ms = 600000;
    cloche_sandbox *sb = NULL;
    int rc = cloche_sandbox_new(&sb, e, &o);
    if (rc)
        die("sandbox_new", rc);
    cloche_result *r = run_ok(sb, source);
    json_t *j = json_loads(cloche_result_stdout(r, NULL), 0, NULL);
    cloche_result_free(r);
    cloche_sandbox_free(sb);
    return j;
}

static json_t *kernels_native(const char *python, const char *path) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' -I '%s'", python, path);
    FILE *p = popen(cmd, "r");
    if (!p)
        return NULL;
    char line[8192] = "";
    char *got = fgets(line, sizeof line, p);
    int status = pclose(p);
    return (got && status == 0) ? json_loads(line, 0, NULL) : NULL;
}

/* (c) pure-Python kernels: sandbox vs native CPython, same source. */
static void bench_kernels(cloche_engine *e) {
    char path[2048];
    snprintf(path, sizeof path, "%s/kernels.py", CLOCHE_BENCH_DIR);
    char *source = read_text(path);
    if (!source)
        die("cannot read bench/kernels.py", CLOCHE_EIO);
    json_t *native = kernels_native(CLOCHE_NATIVE_PYTHON, path);
    json_t *boxed = kernels_in_sandbox(e, source);
    free(source);
    if (!native || !boxed)
        die("kernel output unreadable", CLOCHE_EGUEST);
    printf("(c) pure-Python kernels (median of 7)  native 3.13    cloche   "
           "ratio\n");
    const char *name;
    json_t *v;
    double log_sum = 0;
    int count = 0;
    json_object_foreach(native, name, v) {
        double n_ms = json_real_value(v) * 1000.0;
        double c_ms = json_real_value(json_object_get(boxed, name)) * 1000.0;
        printf("      %-30s %9.2f ms %9.2f ms %6.2fx\n", name, n_ms, c_ms,
               c_ms / n_ms);
        log_sum += __builtin_log(c_ms / n_ms);
        count++;
    }
    printf("      %-30s %33.2fx\n", "geometric mean",
           __builtin_exp(log_sum / count));
    json_decref(native);
    json_decref(boxed);
}

/* (f) line tracing: a loop of simple lines with tracing off and on. */
static void count_events(void *ud, const cloche_trace_event *ev, size_t n) {
    (void)ev;
    *(uint64_t *)ud += n;
}

static double traced_run_us(cloche_engine *e, int tracing, size_t n,
                            uint64_t *events) {
    cloche_sandbox_options o = CLOCHE_SANDBOX_OPTIONS_INIT;
    o.on_trace = tracing ? count_events : NULL;
    o.trace_userdata = events;
    cloche_sandbox *sb = NULL;
    int rc = cloche_sandbox_new(&sb, e, &o);
    if (rc)
        die("sandbox_new (tracing)", rc);
    cloche_result_free(run_ok(sb, "def work(n):\n"
                                  "    total = 0\n"
                                  "    for i in range(n):\n"
                                  "        total += i\n"
                                  "    return total\n"));
    double us = run_median_us(sb, "work(10000)", n, 1.0);
    cloche_sandbox_free(sb);
    return us;
}

static void bench_tracing(cloche_engine *e, size_t n) {
    uint64_t events = 0;
    double off = traced_run_us(e, 0, n, &events);
    double on = traced_run_us(e, 1, n, &events);
    double per_run = (double)events / (double)n; /* (the def adds ~3) */
    printf("(f) line tracing, 10k-iteration loop  off %9.1f us   on %9.1f us "
           " (%.1fx; %.0f events/run, %.2f us per event)\n",
           off, on, on / off, per_run, (on - off) / per_run);
}

int main(int argc, char **argv) {
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    char err[512] = "";
    uint64_t t0 = now_ns();
    cloche_engine *e = NULL;
    int rc = cloche_engine_new(&e, NULL, err, sizeof err);
    if (rc) {
        fprintf(stderr, "cloche-bench: engine: %s\n", err);
        return 1;
    }
    printf("cloche %s bench (engine start %.1f ms)\n", cloche_version(),
           (double)(now_ns() - t0) / 1e6);
    bench_fresh(e, quick ? 20 : 500);
    bench_pool(e, quick ? 20 : 300);
    bench_session(e, quick ? 20 : 200);
    bench_callbacks(e, quick ? 5 : 21);
    bench_sessions(e, quick ? 5 : 21, quick ? 100 : 1000);
    bench_state(e, quick ? 5 : 21);
    bench_tracing(e, quick ? 5 : 21);
    bench_kernels(e);
    cloche_engine_free(e);
    return 0;
}
