/*
 * Integration: sandboxes on different threads run at the same time, and a
 * timeout in one never interrupts another (each store has its own
 * deadline; the epoch ticker is shared).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

/* Threads that call into a sandbox need stack for the guest (engine.c). */
#define GUEST_THREAD_STACK (16u * 1024u * 1024u)

typedef struct job {
    cloche_sandbox *sb;
    const char *code;
    cloche_result *result;
    int rc;
} job;

static void *run_job(void *arg) {
    job *j = arg;
    j->rc = cloche_run(&j->result, j->sb, j->code, strlen(j->code));
    return NULL;
}

static void start(pthread_t *t, job *j) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, GUEST_THREAD_STACK);
    assert_int_equal(pthread_create(t, &attr, run_job, j), 0);
    pthread_attr_destroy(&attr);
}

static void test_timeout_in_one_does_not_stop_the_other(void **state) {
    (void)state;
    cloche_sandbox_options fast = CLOCHE_SANDBOX_OPTIONS_INIT;
    fast.timeout_ms = 100;
    cloche_sandbox_options slow = CLOCHE_SANDBOX_OPTIONS_INIT;
    slow.timeout_ms = 20000;
    job spin = {test_sandbox(&fast), "while True: pass", NULL, 0};
    /* Busy for several times the other's timeout, then finishes. */
    job work = {test_sandbox(&slow),
                "import time\nt = time.monotonic()\nn = 0\n"
                "while time.monotonic() - t < 0.6:\n    n += 1\n"
                "print('finished', n > 0)",
                NULL, 0};
    pthread_t t1, t2;
    start(&t2, &work);
    start(&t1, &spin);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    assert_int_equal(spin.rc, 0);
    assert_int_equal(work.rc, 0);
    assert_int_equal(cloche_result_limit(spin.result), CLOCHE_LIMIT_TIMEOUT);
    assert_int_equal(cloche_result_outcome(work.result), CLOCHE_OUTCOME_OK);
    assert_string_equal(cloche_result_stdout(work.result, NULL),
                        "finished True\n");
    cloche_result_free(spin.result);
    cloche_result_free(work.result);
    cloche_sandbox_free(spin.sb);
    cloche_sandbox_free(work.sb);
}

static void test_many_threads_at_once(void **state) {
    (void)state;
    enum { N = 4 };
    job jobs[N];
    pthread_t threads[N];
    for (int i = 0; i < N; i++) {
        jobs[i] = (job){test_sandbox(NULL),
                        "import json, hashlib\n"
                        "d = {str(i): i for i in range(20000)}\n"
                        "hashlib.sha256(json.dumps(d).encode()).hexdigest()",
                        NULL, 0};
        start(&threads[i], &jobs[i]);
    }
    for (int i = 0; i < N; i++)
        pthread_join(threads[i], NULL);
    for (int i = 0; i < N; i++) {
        assert_int_equal(jobs[i].rc, 0);
        assert_int_equal(cloche_result_outcome(jobs[i].result),
                         CLOCHE_OUTCOME_OK);
        assert_string_equal(cloche_result_value_repr(jobs[i].result),
                            cloche_result_value_repr(jobs[0].result));
    }
    for (int i = 0; i < N; i++) {
        cloche_result_free(jobs[i].result);
        cloche_sandbox_free(jobs[i].sb);
    }
}

static void test_concurrent_use_of_one_sandbox_is_refused(void **state) {
    (void)state;
    cloche_sandbox *sb = test_sandbox(NULL);
    job sleeper = {sb, "import time\ntime.sleep(0.5)", NULL, 0};
    pthread_t t;
    start(&t, &sleeper);
    struct timespec pause = {0, 150 * 1000 * 1000};
    nanosleep(&pause, NULL);
    cloche_result *r = NULL;
    assert_int_equal(cloche_run(&r, sb, "1", 1), CLOCHE_EBUSY);
    assert_null(r);
    assert_int_equal(cloche_sandbox_reset(sb), CLOCHE_EBUSY);
    pthread_join(t, NULL);
    assert_int_equal(sleeper.rc, 0);
    assert_int_equal(cloche_result_outcome(sleeper.result), CLOCHE_OUTCOME_OK);
    cloche_result_free(sleeper.result);
    cloche_sandbox_free(sb);
}

typedef struct spammer {
    cloche_sandbox *sb;
    volatile int stop;
} spammer;

static void *cancel_spam(void *arg) {
    spammer *s = arg;
    while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE))
        cloche_sandbox_cancel(s->sb);
    return NULL;
}

/* A cancel may land at any moment of a run, even before its code begins
 * (while the guest is given the run's callbacks, or the code is copied
 * in): the run ends cancelled (or done), never with an error (found by the
 * soak test). */
static void test_cancel_at_any_moment(void **state) {
    (void)state;
    cloche_sandbox *sb = test_sandbox(NULL);
    size_t len = 64u << 10;
    char *code = malloc(len);
    assert_non_null(code);
    memset(code, '#', len);
    spammer s = {sb, 0};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, cancel_spam, &s), 0);
    int cancelled = 0;
    for (int i = 0; i < 300; i++) {
        /* a new callback table: the run first installs it in the guest */
        cloche_callback_def d = CLOCHE_CALLBACK_DEF_INIT;
        d.name = i % 2 ? "tool_a" : "tool_b";
        assert_int_equal(cloche_sandbox_add_callback(sb, &d), 0);
        cloche_result *r = NULL;
        int rc = cloche_run(&r, sb, code, len);
        if (rc != 0)
            fail_msg("run %d: %s: %s", i, cloche_status_name(rc),
                     cloche_sandbox_errmsg(sb));
        cloche_outcome o = cloche_result_outcome(r);
        assert_true(o == CLOCHE_OUTCOME_CANCELLED || o == CLOCHE_OUTCOME_OK);
        cancelled += o == CLOCHE_OUTCOME_CANCELLED;
        cloche_result_free(r);
    }
    __atomic_store_n(&s.stop, 1, __ATOMIC_RELEASE);
    pthread_join(t, NULL);
    assert_true(cancelled > 0);
    test_expect_stdout(sb, "print('ok')", "ok\n");
    free(code);
    cloche_sandbox_free(sb);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timeout_in_one_does_not_stop_the_other),
        cmocka_unit_test(test_many_threads_at_once),
        cmocka_unit_test(test_concurrent_use_of_one_sandbox_is_refused),
        cmocka_unit_test(test_cancel_at_any_moment),
    };
    return cmocka_run_group_tests(tests, test_engine_setup,
                                  test_engine_teardown);
}
