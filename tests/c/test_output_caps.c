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

/* --- the trace channel ---------------------------------------------------- */

typedef struct trace_log {
    size_t events, cuts, longest, placeholders;
    int saw_value;
    char last[512];
    cloche_trace_kind last_kind;
} trace_log;

static void collect(void *ud, const cloche_trace_event *ev, size_t n) {
    trace_log *t = ud;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(ev[i].name);
        t->events++;
        t->cuts += ev[i].kind == CLOCHE_TRACE_CUT;
        t->longest = len > t->longest ? len : t->longest;
        t->saw_value |= strstr(ev[i].name, "sk-live-") != NULL;
        t->placeholders +=
            strstr(ev[i].name, "PLACEHOLDER_FOR_API_KEY") != NULL;
        t->last_kind = ev[i].kind;
        snprintf(t->last, sizeof t->last, "%s", ev[i].name);
    }
}

static cloche_sandbox *traced(trace_log *t, uint64_t stderr_cap,
                              const cloche_network_options *net) {
    cloche_sandbox_options o = CLOCHE_SANDBOX_OPTIONS_INIT;
    o.on_trace = collect;
    o.trace_userdata = t;
    o.stderr_limit = stderr_cap;
    o.network = net;
    return test_sandbox(&o);
}

static void test_trace_capped_per_run(void **state) {
    (void)state;
    trace_log t = {0};
    cloche_sandbox *sb = traced(&t, 1024, NULL);
    assert_int_equal(cloche_sandbox_limit(sb, CLOCHE_LIMIT_TRACE, -1), 1024);
    cloche_result_free(test_run_ok(sb, "n = 0\nfor i in range(100000):\n"
                                       "    n += i\n"));
    /* Lines are "L 3 1 ": a 1 KiB cap holds ~150 of 200 000 events. */
    assert_true(t.events < 300);
    assert_int_equal(t.cuts, 1);
    assert_int_equal(t.last_kind, CLOCHE_TRACE_CUT);
    assert_non_null(strstr(t.last, "over the trace cap of 1024 bytes"));
    /* Per run: the next run starts with the whole cap again. */
    memset(&t, 0, sizeof t);
    cloche_result_free(test_run_ok(sb, "x = 1\ny = 2"));
    assert_true(t.events >= 2 && t.events < 10);
    assert_int_equal(t.cuts, 0);
    /* The cap is a limit like the others. */
    cloche_sandbox_limit(sb, CLOCHE_LIMIT_TRACE, 64u * MiB);
    memset(&t, 0, sizeof t);
    cloche_result_free(test_run_ok(sb, "for i in range(1000):\n    pass"));
    assert_int_equal(t.cuts, 0);
    assert_true(t.events >= 2000);
    cloche_sandbox_free(sb);
}

/* The guest can hand the host any batch it likes: a huge one costs the
 * host no copy and delivers nothing past the cap. */
static void test_trace_hostile_batches(void **state) {
    (void)state;
    trace_log t = {0};
    cloche_sandbox *sb = traced(&t, 0, NULL); /* 1 MiB */
    cloche_result_free(test_run_ok(
        sb, "import _cloche\n_cloche.trace(b'C 1 1 ' + b'N' * 5000)\n"
            "_cloche.trace(b'L x 1\\nQ 1 1 f\\nL 1 1 ' + b'\\n' * 3)"));
    /* The 5000-byte name is cut; the malformed lines are skipped. */
    assert_int_equal(t.longest, 256 + strlen("[cloche: 4744 more bytes cut]"));
    assert_int_equal(t.cuts, 0);
    memset(&t, 0, sizeof t);
    cloche_result_free(test_run_ok(
        sb, "import _cloche\n_cloche.trace(b'L 1 1 ' + b'x' * (64 * 2**20))"));
    assert_int_equal(t.events, 1);
    assert_int_equal(t.last_kind, CLOCHE_TRACE_CUT);
    assert_true(t.longest < 200);
    cloche_sandbox_free(sb);
}

static void test_trace_names_bounded_and_scrubbed(void **state) {
    (void)state;
    static const cloche_net_rule bound[] = {{"localhost", 0}};
    cloche_secret s = {"API_KEY", VALUE, bound, 1, "PLACEHOLDER_FOR_API_KEY"};
    cloche_network_options n = {.secrets = &s, .secret_count = 1};
    trace_log t = {0};
    cloche_sandbox *sb = traced(&t, 0, &n);
    cloche_result_free(test_run_ok(
        sb, "v = 'sk-live-01' + '23456789abcdef'\n"
            "for name in (v, 'x' * 250 + v):\n"
            "    try:\n"
            "        raise type(name, (Exception,), {})()\n"
            "    except Exception:\n"
            "        pass\n"
            "exec('def ' + 'f' * 5000 + '(): pass')\n"
            "globals()['f' * 5000]()\n"
            "import _cloche\n"
            "_cloche.trace(('E 1 1 ' + v).encode())"));
    assert_false(t.saw_value);
    assert_true(t.longest <= 256 + 40);
    /* The whole value (type name, direct batch) became the placeholder;
     * the value the name cap cut in half left nothing of itself. */
    assert_int_equal(t.placeholders, 2);
    cloche_sandbox_free(sb);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exception_text_capped),
        cmocka_unit_test(test_long_exception_type_name_capped),
        cmocka_unit_test(test_value_capped_and_json_dropped),
        cmocka_unit_test(test_cut_keeps_utf8_whole),
        cmocka_unit_test(test_secret_cut_by_cap_does_not_leak),
        cmocka_unit_test(test_trace_capped_per_run),
        cmocka_unit_test(test_trace_hostile_batches),
        cmocka_unit_test(test_trace_names_bounded_and_scrubbed),
    };
    return cmocka_run_group_tests(tests, test_engine_setup,
                                  test_engine_teardown);
}
