/*
 * Integration: the output caps cover more than stdout and stderr. The
 * value (repr and JSON) and the final exception (type, message,
 * traceback) are cut before they leave the guest, with a marker saying
 * how much was cut; a secret's value cut in half by a cap does not leak
 * its first half. The trace channel has a per-run cap, bounded names and
 * the same scrubbing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define MiB (1024u * 1024u)
#define VALUE "sk-live-0123456789abcdef"

static cloche_sandbox *capped(uint64_t stdout_cap, uint64_t stderr_cap,
                              uint64_t memory) {
    cloche_sandbox_options o = CLOCHE_SANDBOX_OPTIONS_INIT;
    o.stdout_limit = stdout_cap;
    o.stderr_limit = stderr_cap;
    o.memory_limit = memory;
    o.timeout_ms = 60000;
    return test_sandbox(&o);
}

static int ends_with(const char *s, const char *tail) {
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && memcmp(s + n - t, tail, t) == 0;
}

static void expect_cut(const char *text, size_t keep, uint64_t cut,
                       const char *cap, uint64_t cap_bytes) {
    char mark[160];
    snprintf(mark, sizeof mark,
             "[cloche: %llu more bytes cut: over the %s cap of %llu bytes]",
             (unsigned long long)cut, cap, (unsigned long long)cap_bytes);
    assert_non_null(text);
    if (!ends_with(text, mark))
        fail_msg("no marker %s at the end of: %.300s", mark, text);
    assert_int_equal(strlen(text), keep + strlen(mark));
}

static void test_exception_text_capped(void **state) {
    (void)state;
    cloche_sandbox *sb = capped(1024, 1024, 0);
    cloche_result *r = test_run(sb, "raise ValueError('x' * (20 * 2**20))");
    assert_int_equal(cloche_result_outcome(r), CLOCHE_OUTCOME_EXCEPTION);
    assert_string_equal(cloche_result_exception_type(r), "ValueError");
    expect_cut(cloche_result_exception_message(r), 1024, 20 * MiB - 1024,
               "stderr", 1024);
    const char *tb = cloche_result_traceback(r);
    assert_non_null(strstr(tb, "Traceback"));
    assert_true(strlen(tb) < 1200);
    assert_true(cloche_result_bytes_cut(r) > 2 * (20 * MiB - 2048));
    char *json = cloche_result_to_json(r);
    assert_true(strlen(json) < 8192);
    cloche_string_free(json);
    cloche_result_free(r);
    /* Under the caps nothing changes. */
    r = test_run(sb, "raise KeyError('short')");
    assert_string_equal(cloche_result_exception_message(r), "'short'");
    assert_int_equal(cloche_result_bytes_cut(r), 0);
    cloche_result_free(r);
    cloche_sandbox_free(sb);
}

static void test_long_exception_type_name_capped(void **state) {
    (void)state;
    cloche_sandbox *sb = capped(0, 0, 0);
    cloche_result *r =
        test_run(sb, "raise type('E' * 100000, (Exception,), {})('m')");
    expect_cut(cloche_result_exception_type(r), 256, 100000 - 256, "name",
               256);
    cloche_result_free(r);
    cloche_sandbox_free(sb);
}

static void test_value_capped_and_json_dropped(void **state) {
    (void)state;
    cloche_sandbox *sb = capped(1024, 1024, 512u * MiB);
    cloche_result *r = test_run_ok(sb, "['y' * (30 * 2**20)]");
    /* repr: ['yyy…'] is 30 MiB + 4 bytes. */
    expect_cut(cloche_result_value_repr(r), 1024, 30 * MiB + 4 - 1024,
               "stdout", 1024);
    assert_null(cloche_result_value_json(r));
    assert_int_equal(cloche_result_bytes_cut(r),
                     (30 * MiB + 4 - 1024) + (30 * MiB + 4));
    char *json = cloche_result_to_json(r);
    assert_true(strlen(json) < 8192);
    assert_non_null(strstr(json, "\"value\":null"));
    cloche_string_free(json);
    cloche_result_free(r);
    /* A big value whose repr is four times its size (bytes escapes). */
    r = test_run_ok(sb, "bytes(32 * 2**20)");
    assert_true(strlen(cloche_result_value_repr(r)) < 1200);
    cloche_result_free(r);
    r = test_run_ok(sb, "{'small': [1, 2]}");
    assert_string_equal(cloche_result_value_json(r), "{\"small\": [1, 2]}");
    cloche_result_free(r);
    cloche_sandbox_free(sb);
}

static void test_cut_keeps_utf8_whole(void **state) {
    (void)state;
    cloche_sandbox *sb = capped(102, 0, 0);
    /* repr is "'" + 1000 x 2-byte é + "'": byte 102 is mid-character. */
    cloche_result *r = test_run_ok(sb, "'\\u00e9' * 1000");
    expect_cut(cloche_result_value_repr(r), 101, 2002 - 101, "stdout", 102);
    char *json = cloche_result_to_json(r);
    assert_null(strstr(json, "not valid UTF-8"));
    cloche_string_free(json);
    cloche_result_free(r);
    cloche_sandbox_free(sb);
}

static cloche_sandbox *with_secret(uint64_t cap) {
    static const cloche_net_rule bound[] = {{"localhost", 0}};
    cloche_secret s = {"API_KEY", VALUE, bound, 1, "PLACEHOLDER_FOR_API_KEY"};
    cloche_network_options n = {.secrets = &s, .secret_count = 1};
    cloche_sandbox_options o = CLOCHE_SANDBOX_OPTIONS_INIT;
    o.network = &n;
    o.stdout_limit = o.stderr_limit = cap;
    return test_sandbox(&o);
}

/* The value reaches the guest only by the code carrying it: the scrub
 * works on bytes, whatever their source. */
static void test_secret_cut_by_cap_does_not_leak(void **state) {
    (void)state;
    cloche_sandbox *sb = with_secret(1024);
    /* The cap falls inside the value (at its 12th byte). */
    const char *code = "s = 'sk-live-01' + '23456789abcdef'\n"
                       "raise ValueError('a' * 1012 + s + 'b' * 5000)";
    cloche_result *r = test_run(sb, code);
    const char *msg = cloche_result_exception_message(r);
    assert_null(strstr(msg, "sk-live-"));
    assert_non_null(strstr(msg, "[cloche: "));
    assert_null(strstr(cloche_result_traceback(r), "sk-live-"));
    cloche_result_free(r);
    /* The same for a value, and for stdout cut at its cap. */
    r = test_run(sb, "s = 'sk-live-01' + '23456789abcdef'\n"
                     "print('a' * 1012 + s, end='')");
    assert_int_equal(cloche_result_limit(r), CLOCHE_LIMIT_STDOUT);
    assert_null(strstr(cloche_result_stdout(r, NULL), "sk-live-"));
    cloche_result_free(r);
    r = test_run_ok(sb, "s = 'sk-live-01' + '23456789abcdef'\n"
                        "'a' * 1011 + s + 'b' * 3000");
    assert_null(strstr(cloche_result_value_repr(r), "sk-live-"));
    cloche_result_free(r);
    /* Whole values inside the cap become the placeholder. */
    r = test_run_ok(sb, "'sk-live-01' + '23456789abcdef'");
    assert_string_equal(cloche_result_value_repr(r),
                        "'PLACEHOLDER_FOR_API_KEY'");
    cloche_result_free(r);
    cloche_sandbox_free(sb);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exception_text_capped),
        cmocka_unit_test(test_long_exception_type_name_capped),
        cmocka_unit_test(test_value_capped_and_json_dropped),
        cmocka_unit_test(test_cut_keeps_utf8_whole),
        cmocka_unit_test(test_secret_cut_by_cap_does_not_leak),
    };
    return cmocka_run_group_tests(tests, test_engine_setup,
                                  test_engine_teardown);
}
