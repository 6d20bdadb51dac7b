/* Integration: every limit trips with its own code, and the sandbox recovers. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static void expect_limit(cloche_sandbox *sb, const char *code,
                         cloche_limit want) {
    cloche_result *r = test_run(sb, code);
    assert_int_equal(cloche_result_outcome(r), CLOCHE_OUTCOME_LIMIT);
    assert_int_equal(cloche_result_limit(r), want);
    assert_non_null(cloche_result_detail(r));
    cloche_result_free(r);
}

static void test_timeout_busy_loop(void **state) {
    (void)state;
    cloche_sandbox_options o = CLOCHE_SANDBOX_OPTIONS_INIT;
    o.timeout_ms = 200;
    cloche_sandbox *sb = test_sandbox(&o);
    cloche_result_free(test_run_ok(sb, "keep = 1"));
    expect_limit(sb, "while True:\n    pass", CLOCHE_LIMIT_TIMEOUT);
    /* Reset happened: the interpreter is fresh and usable. */
    cloche_result *r = test_run(sb, "keep");
    assert_string_equal(cloche_result_exception_type(r), "NameError");
    cloche_result_free(r);
    test_expect_stdout(sb, "print('ok')", "ok\n");
    cloche_sandbox_free(sb);
}

static void test_timeout_in_sleep(void **state) {
    (void)state;
    cloche_sandbox_options o = CLOCHE_SANDBOX_OPTIONS_INIT;
    o.timeout_ms = 150;
    cloche_sandbox *sb = test_sandbox(&o);
    expect_limit(sb, "import time\ntime.sleep(30)", CLOCHE_LIMIT_TIMEOUT);
    expect_limit(sb, "import asyncio\nawait asyncio.sleep(30)",
                 CLOCHE_LIMIT_TIMEOUT);
    test_expect_stdout(sb, "print('ok')", "ok\n");
    cloche_sandbox_free(sb);
}

static void test_memory_limit(void **state) {
    (void)state;
    cloche_sandbox_options o = CLOCHE_SANDBOX_OPTIONS_INIT;
    o.memory_limit = 96u << 20;
    cloche_sandbox *sb = test_sandbox(&o);
    cloche_result_free(test_run_ok(sb, "keep = 'still here'"));
    expect_limit(sb, "x = bytearray(200 * 1024 * 1024)", CLOCHE_LIMIT_MEMORY);
    expect_limit(sb, "x = []\nwhile True:\n    x.append('y' * 100000)",
                 CLOCHE_LIMIT_MEMORY);
    /* MemoryError unwound cleanly: state survives, no reset needed. */
    test_expect_stdout(sb, "x = None\nprint(keep)", "still here\n");
    /* A caught MemoryError is the program's business: outcome ok. */
    test_expect_stdout(sb,
                       "try:\n    y = bytearray(500 * 1024 * 1024)\n"
                       "except MemoryError:\n    print('caught')",
                       "caught\n");
    cloche_result *r = test_run_ok(sb, "1");
    assert_true(cloche_result_memory_bytes(r) <= (96u << 20));
    cloche_result_free(r);
    cloche_sandbox_free(sb);
}

static void test_raised_memory_error_is_not_a_limit(void **state) {
    (void)state;
    cloche_sandbox *sb = test_sandbox(NULL);
    cloche_result *r = test_run(sb, "raise MemoryError('mine')");
    assert_int_equal(cloche_result_outcome(r), CLOCHE_OUTCOME_EXCEPTION);
    assert_string_equal(cloche_result_exception_type(r), "MemoryError");
    cloche_result_free(r);
    cloche_sandbox_free(sb);
}

static void test_stdout_and_stderr_caps(void **state) {
    (void)state;
    cloche_sandbox_options o = CLOCHE_SANDBOX_OPTIONS_INIT;
    o.stdout_limit = 1000;
    o.stderr_limit = 500;
    cloche_sandbox *sb = test_sandbox(&o);
    cloche_result *r = test_run(sb, "while True:\n    print('x' * 99)");
    assert_int_equal(cloche_result_limit(r), CLOCHE_LIMIT_STDOUT);
    size_t n;
    cloche_result_stdout(r, &n);
    assert_int_equal(n, 1000);
    cloche_result_free(r);
    expect_limit(sb, "import sys\nwhile True:\n    sys.stderr.write('e' * 77)",
                 CLOCHE_LIMIT_STDERR);
    expect_limit(sb, "import os\nos.write(1, b'z' * 5000)", CLOCHE_LIMIT_STDOUT);
    /* The caps are per run. */
    test_expect_stdout(sb, "print('fits')", "fits\n");
    cloche_sandbox_free(sb);
}

static void test_fuel(void **state) {
    (void)state;
    cloche_sandbox_options o = CLOCHE_SANDBOX_OPTIONS_INIT;
    o.fuel = 50000000;
    cloche_sandbox *sb = test_sandbox(&o);
    cloche_result *r = test_run_ok(sb, "sum(range(1000))");
    uint64_t small = cloche_result_fuel_used(r);
    assert_true(small > 0 && small < o.fuel);
    cloche_result_free(r);
    expect_limit(sb, "while True:\n    pass", CLOCHE_LIMIT_FUEL);
    test_expect_stdout(sb, "print('refueled')", "refueled\n");
    cloche_sandbox_free(sb);
}

/* Copying the code in is the host's work, not the run's: the tiniest
 * budget still ends in the fuel limit, not a failed copy (issue 10). */
static void test_tiny_fuel_is_the_fuel_limit(void **state) {
    (void)state;
    cloche_sandbox_options o = CLOCHE_SANDBOX_OPTIONS_INIT;
    o.fuel = 1;
    cloche_sandbox *sb = test_sandbox(&o);
    expect_limit(sb, "print(1)", CLOCHE_LIMIT_FUEL);
    cloche_sandbox_free(sb);
}

/* Code that cannot even be copied in under the memory limit trips the
 * memory limit, like code that allocates too much (issue 10). */
static void test_source_over_memory_limit(void **state) {
    (void)state;
    cloche_sandbox_options o = CLOCHE_SANDBOX_OPTIONS_INIT;
    o.memory_limit = 64u << 20;
    cloche_sandbox *sb = test_sandbox(&o);
    size_t len = 63u << 20;
    char *code = malloc(len + 1);
    assert_non_null(code);
    memset(code, '#', len);
    code[len] = '\0';
    cloche_result *r = NULL;
    assert_int_equal(cloche_run(&r, sb, code, len), 0);
    assert_int_equal(cloche_result_outcome(r), CLOCHE_OUTCOME_LIMIT);
    assert_int_equal(cloche_result_limit(r), CLOCHE_LIMIT_MEMORY);
    assert_non_null(strstr(cloche_result_detail(r), "do not fit"));
    cloche_result_free(r);
    free(code);
    test_expect_stdout(sb, "print('ok')", "ok\n");
    cloche_sandbox_free(sb);
}

/* argv and env that cannot reach the guest are refused at creation, with
 * the reason, not as "out of memory" (issue 10). */
static void test_oversized_argv_and_env(void **state) {
    (void)state;
    static char big[200001];
    memset(big, 'a', sizeof big - 1);
    const char *argv[12];
    for (size_t i = 0; i < 12; i++)
        argv[i] = big;
    cloche_sandbox_options o = CLOCHE_SANDBOX_OPTIONS_INIT;
    o.argv = argv;
    o.argc = 12; /* 2.4 MB */
    cloche_sandbox *sb = NULL;
    assert_int_equal(cloche_sandbox_new(&sb, test_engine(), &o),
                     CLOCHE_EINVAL);
    assert_non_null(strstr(cloche_sandbox_errmsg(NULL), "argv is 2400012"));
    o.argc = 5; /* 1 MB: fits */
    sb = test_sandbox(&o);
    test_expect_stdout(sb, "import sys; print(len(sys.argv), len(sys.argv[4]))",
                       "5 200000\n");
    cloche_sandbox_free(sb);
    const char *env[] = {"NO_EQUALS"};
    o = (cloche_sandbox_options)CLOCHE_SANDBOX_OPTIONS_INIT;
    o.env = env;
    o.env_count = 1;
    assert_int_equal(cloche_sandbox_new(&sb, test_engine(), &o),
                     CLOCHE_EINVAL);
    assert_non_null(strstr(cloche_sandbox_errmsg(NULL), "NAME=VALUE"));
}

static void test_limit_api(void **state) {
    (void)state;
    cloche_sandbox *sb = test_sandbox(NULL);
    assert_int_equal(cloche_sandbox_limit(sb, CLOCHE_LIMIT_TIMEOUT, -1),
                     CLOCHE_DEFAULT_TIMEOUT_MS);
    assert_int_equal(cloche_sandbox_limit(sb, CLOCHE_LIMIT_TIMEOUT, 100),
                     CLOCHE_DEFAULT_TIMEOUT_MS);
    assert_int_equal(cloche_sandbox_limit(sb, CLOCHE_LIMIT_TIMEOUT, -1), 100);
    assert_int_equal(cloche_sandbox_limit(sb, CLOCHE_LIMIT_NONE, 5), -1);
    assert_int_equal(cloche_sandbox_limit(sb, CLOCHE_LIMIT__COUNT, 5), -1);
    assert_int_equal(cloche_sandbox_limit(sb, CLOCHE_LIMIT_MEMORY, 0), -1);
    expect_limit(sb, "while True: pass", CLOCHE_LIMIT_TIMEOUT);
    cloche_sandbox_limit(sb, CLOCHE_LIMIT_STDOUT, 10);
    expect_limit(sb, "print('0123456789abc')", CLOCHE_LIMIT_STDOUT);
    cloche_sandbox_free(sb);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timeout_busy_loop),
        cmocka_unit_test(test_timeout_in_sleep),
        cmocka_unit_test(test_memory_limit),
        cmocka_unit_test(test_raised_memory_error_is_not_a_limit),
        cmocka_unit_test(test_stdout_and_stderr_caps),
        cmocka_unit_test(test_fuel),
        cmocka_unit_test(test_tiny_fuel_is_the_fuel_limit),
        cmocka_unit_test(test_source_over_memory_limit),
        cmocka_unit_test(test_oversized_argv_and_env),
        cmocka_unit_test(test_limit_api),
    };
    return cmocka_run_group_tests(tests, test_engine_setup,
                                  test_engine_teardown);
}
