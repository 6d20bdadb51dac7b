/*
 * Integration: cloche_sandbox_interrupt raises KeyboardInterrupt in the
 * running code (a busy loop, a sleep) and the session keeps its globals;
 * a request made while idle does not hit the next run; a cancel still
 * stops and resets.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

typedef struct later {
    cloche_sandbox *sb;
    unsigned ms;
    int cancel;
} later;

static void *fire(void *arg) {
    later *l = arg;
    struct timespec ts = {l->ms / 1000, (long)(l->ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    if (l->cancel)
        cloche_sandbox_cancel(l->sb);
    else
        cloche_sandbox_interrupt(l->sb);
    return NULL;
}

static cloche_result *run_with(cloche_sandbox *sb, const char *code,
                               unsigned ms, int cancel) {
    later l = {sb, ms, cancel};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, fire, &l), 0);
    cloche_result *r = test_run(sb, code);
    pthread_join(t, NULL);
    return r;
}

static void expect_interrupted(cloche_result *r) {
    assert_int_equal(cloche_result_outcome(r), CLOCHE_OUTCOME_EXCEPTION);
    assert_string_equal(cloche_result_exception_type(r), "KeyboardInterrupt");
    cloche_result_free(r);
}

static void test_busy_loop_and_sleep(void **state) {
    (void)state;
    cloche_sandbox *sb = test_sandbox(NULL);
    cloche_result_free(test_run_ok(sb, "kept = 'yes'\nn = 0"));
    expect_interrupted(run_with(sb, "while True:\n    n += 1\n", 200, 0));
    cloche_result *r = test_run_ok(sb, "kept, n > 0");
    assert_string_equal(cloche_result_value_repr(r), "('yes', True)");
    cloche_result_free(r);

    uint64_t t0 = (uint64_t)time(NULL);
    expect_interrupted(
        run_with(sb, "import time\ntime.sleep(30)\nafter = 1", 200, 0));
    assert_true((uint64_t)time(NULL) - t0 < 10);
    r = test_run_ok(sb, "'after' in globals(), kept");
    assert_string_equal(cloche_result_value_repr(r), "(False, 'yes')");
    cloche_result_free(r);
    cloche_sandbox_free(sb);
}

static void test_idle_request_is_dropped(void **state) {
    (void)state;
    cloche_sandbox *sb = test_sandbox(NULL);
    cloche_sandbox_interrupt(sb); /* nothing runs: no effect later */
    cloche_sandbox_interrupt(NULL);
    cloche_result *r = test_run_ok(sb, "sum(range(200000))");
    assert_string_equal(cloche_result_value_repr(r), "19999900000");
    cloche_result_free(r);
    cloche_sandbox_free(sb);
}

static void test_caught_like_python(void **state) {
    (void)state;
    cloche_sandbox *sb = test_sandbox(NULL);
    cloche_result *r = run_with(sb,
                                "try:\n"
                                "    while True: pass\n"
                                "except KeyboardInterrupt:\n"
                                "    caught = True\n"
                                "caught",
                                200, 0);
    assert_int_equal(cloche_result_outcome(r), CLOCHE_OUTCOME_OK);
    assert_string_equal(cloche_result_value_repr(r), "True");
    cloche_result_free(r);
    r = run_with(sb, "while True: pass", 200, 1); /* cancel: reset */
    assert_int_equal(cloche_result_outcome(r), CLOCHE_OUTCOME_CANCELLED);
    cloche_result_free(r);
    r = test_run_ok(sb, "'caught' in globals()");
    assert_string_equal(cloche_result_value_repr(r), "False");
    cloche_result_free(r);
    cloche_sandbox_free(sb);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_busy_loop_and_sleep),
        cmocka_unit_test(test_idle_request_is_dropped),
        cmocka_unit_test(test_caught_like_python),
    };
    return cmocka_run_group_tests(tests, test_engine_setup,
                                  test_engine_teardown);
}
