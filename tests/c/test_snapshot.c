/*
 * Integration: image snapshots — idle and PENDING, restored in another
 * sandbox, forked, and hostile bytes rejected without touching the target.
 */
#include <stdlib.h>
#include <string.h>

#include "../../cli/demo_tools.h"
#include "harness.h"

typedef struct snap {
    uint8_t *data;
    size_t len;
} snap;

static snap take(cloche_sandbox *sb, const char *key) {
    cloche_snapshot_options o = CLOCHE_SNAPSHOT_OPTIONS_INIT;
    o.key = (const uint8_t *)key;
    o.key_len = key ? strlen(key) : 0;
    snap s = {NULL, 0};
    int rc = cloche_snapshot_save(&s.data, &s.len, sb, &o);
    if (rc != 0)
        fail_msg("snapshot_save: %s: %s", cloche_strerror(rc),
                 cloche_sandbox_errmsg(sb));
    return s;
}

static int restore(cloche_sandbox *sb, const uint8_t *data, size_t len,
                   const char *key) {
    cloche_snapshot_options o = CLOCHE_SNAPSHOT_OPTIONS_INIT;
    o.key = (const uint8_t *)key;
    o.key_len = key ? strlen(key) : 0;
    return cloche_snapshot_restore(sb, data, len, &o);
}

static const char *session_code =
    "import json, collections\n"
    "class Account:\n"
    "    def __init__(self): self.balance = 0\n"
    "    def deposit(self, n): self.balance += n; return self.balance\n"
    "acct = Account()\n"
    "acct.deposit(10)\n"
    "log = open('/tmp/log.txt', 'w+')\n"
    "log.write('line one\\n'); log.flush()\n"
    "big = [str(i) * 10 for i in range(20000)]\n";

static void test_idle_snapshot_into_other_sandbox(void **state) {
    (void)state;
    cloche_sandbox *a = test_sandbox(NULL);
    cloche_result_free(test_run_ok(a, session_code));
    snap s = take(a, NULL);
    cloche_sandbox *b = test_sandbox(NULL);
    assert_int_equal(restore(b, s.data, s.len, NULL), 0);
    /* Globals, objects, the open file and its offset all came along. */
    test_expect_stdout(b,
                       "log.write('line two\\n'); log.seek(0)\n"
                       "print(acct.deposit(5), len(big), big[-1][:5])\n"
                       "print(log.read(), end='')",
                       "15 20000 19999\nline one\nline two\n");
    cloche_buffer_free(s.data);
    cloche_sandbox_free(a);
    cloche_sandbox_free(b);
}

static void test_fork_diverges(void **state) {
    (void)state;
    cloche_sandbox *origin = test_sandbox(NULL);
    cloche_result_free(test_run_ok(origin, "n = 1\n"
                                           "open('/tmp/f', 'w').write('0')"));
    snap s = take(origin, NULL);
    cloche_sandbox *x = test_sandbox(NULL), *y = test_sandbox(NULL);
    assert_int_equal(restore(x, s.data, s.len, NULL), 0);
    assert_int_equal(restore(y, s.data, s.len, NULL), 0);
    cloche_result_free(test_run_ok(x, "n += 100\nopen('/tmp/f','w').write('x')"));
    cloche_result_free(test_run_ok(y, "n += 7"));
    test_expect_stdout(x, "print(n, open('/tmp/f').read())", "101 x\n");
    test_expect_stdout(y, "print(n, open('/tmp/f').read())", "8 0\n");
    test_expect_stdout(origin, "print(n)", "1\n");
    cloche_buffer_free(s.data);
    cloche_sandbox_free(origin);
    cloche_sandbox_free(x);
    cloche_sandbox_free(y);
}

static void add_external(cloche_sandbox *sb, const char *name) {
    cloche_callback_def d = CLOCHE_CALLBACK_DEF_INIT;
    d.name = name;
    assert_int_equal(cloche_sandbox_add_callback(sb, &d), 0);
}

static void test_pending_snapshot_resumes_elsewhere(void **state) {
    (void)state;
    cloche_sandbox *a = test_sandbox(NULL);
    assert_int_equal(demo_tools_register(a), 0);
    add_external(a, "approve");
    const char *code = "import asyncio\n"
                       "print('before')\n"
                       "e, ok = await asyncio.gather(echo(v=1), approve(x=2))\n"
                       "print('after', e, ok)\n"
                       "ok['n'] * 10";
    cloche_step step;
    assert_int_equal(cloche_start(&step, a, code, strlen(code)), 0);
    assert_int_equal(step, CLOCHE_STEP_PENDING);
    snap s = take(a, NULL);
    cloche_sandbox_free(a); /* the original is gone */
    for (int copy = 0; copy < 2; copy++) { /* restore twice: fork */
        cloche_sandbox *b = test_sandbox(NULL);
        add_external(b, "approve");
        assert_int_equal(restore(b, s.data, s.len, NULL), 0);
        assert_int_equal(cloche_pending_count(b), 1);
        cloche_call *c = cloche_pending_call(b, 0);
        assert_string_equal(cloche_call_name(c), "approve");
        assert_string_equal(cloche_call_args(c, NULL), "{\"x\": 2}");
        const char *reply = copy ? "{\"n\": 2}" : "{\"n\": 1}";
        assert_int_equal(cloche_call_return(c, reply, strlen(reply)), 0);
        assert_int_equal(cloche_resume(&step, b), 0);
        assert_int_equal(step, CLOCHE_STEP_DONE);
        cloche_result *r = NULL;
        assert_int_equal(cloche_finish(&r, b), 0);
        assert_int_equal(cloche_result_outcome(r), CLOCHE_OUTCOME_OK);
        assert_string_equal(cloche_result_stdout(r, NULL),
                            copy ? "before\nafter {'v': 1} {'n': 2}\n"
                                 : "before\nafter {'v': 1} {'n': 1}\n");
        assert_string_equal(cloche_result_value_repr(r), copy ? "20" : "10");
        cloche_result_free(r);
        cloche_sandbox_free(b);
    }
    cloche_buffer_free(s.data);
}

static void test_pending_calls_restart_on_new_tools(void **state) {
    (void)state;
    cloche_sandbox *a = test_sandbox(NULL);
    add_external(a, "sleep"); /* nobody answers here */
    const char *code = "r = await sleep(seconds=0.01)\nr";
    cloche_step step;
    assert_int_equal(cloche_start(&step, a, code, strlen(code)), 0);
    snap s = take(a, NULL);
    cloche_sandbox_free(a);
    cloche_sandbox *b = test_sandbox(NULL);
    assert_int_equal(demo_tools_register(b), 0); /* a real sleep */
    assert_int_equal(restore(b, s.data, s.len, NULL), 0);
    cloche_result *r = NULL;
    assert_int_equal(cloche_drive(&r, b), 0);
    assert_string_equal(cloche_result_value_json(r), "{\"slept\": 0.01}");
    cloche_result_free(r);
    cloche_buffer_free(s.data);
    cloche_sandbox_free(b);
}

static void expect_untouched(cloche_sandbox *target) {
    test_expect_stdout(target, "print(mine, 'acct' in globals())",
                       "untouched False\n");
}

static void test_hostile_snapshots_rejected(void **state) {
    (void)state;
    cloche_sandbox *a = test_sandbox(NULL);
    cloche_result_free(test_run_ok(a, session_code));
    snap s = take(a, NULL);
    snap signed_s = take(a, "secret-key");
    cloche_sandbox *t = test_sandbox(NULL);
    cloche_result_free(test_run_ok(t, "mine = 'untouched'"));
    /* Truncation anywhere. */
    for (size_t cut = 0; cut < s.len; cut += cut < 200 ? 1 : 4099)
        assert_int_equal(restore(t, s.data, cut, NULL), CLOCHE_ETRUNCATED);
    uint8_t *bad = malloc(s.len + 1);
    /* Any flipped byte: format, build, size or checksum trips. */
    for (size_t i = 0; i < s.len; i += (i < 96 ? 1 : 997)) {
        memcpy(bad, s.data, s.len);
        bad[i] ^= 0x5a;
        int rc = restore(t, bad, s.len, NULL);
        assert_true(rc == CLOCHE_EFORMAT || rc == CLOCHE_EBUILD ||
                    rc == CLOCHE_ECORRUPT || rc == CLOCHE_ETRUNCATED ||
                    rc == CLOCHE_ETOOBIG || rc == CLOCHE_EAUTH);
    }
    memcpy(bad, s.data, s.len);
    bad[16] ^= 1; /* build id */
    assert_int_equal(restore(t, bad, s.len, NULL), CLOCHE_EBUILD);
    memcpy(bad, s.data, s.len);
    bad[8] = 9; /* format version */
    assert_int_equal(restore(t, bad, s.len, NULL), CLOCHE_EFORMAT);
    memcpy(bad, s.data, s.len);
    bad[55] = 0x7f; /* payload length: absurd */
    assert_int_equal(restore(t, bad, s.len, NULL), CLOCHE_ETOOBIG);
    memcpy(bad, s.data, s.len);
    bad[s.len] = 0;
    assert_int_equal(restore(t, bad, s.len + 1, NULL), CLOCHE_ECORRUPT);
    /* Keys: wrong, missing, unexpected. */
    assert_int_equal(restore(t, signed_s.data, signed_s.len, "wrong-key"),
                     CLOCHE_EAUTH);
    assert_int_equal(restore(t, signed_s.data, signed_s.len, NULL),
                     CLOCHE_EAUTH);
    assert_int_equal(restore(t, s.data, s.len, "secret-key"), CLOCHE_EAUTH);
    expect_untouched(t);
    /* The right key works. */
    assert_int_equal(restore(t, signed_s.data, signed_s.len, "secret-key"), 0);
    test_expect_stdout(t, "print(acct.balance)", "10\n");
    free(bad);
    cloche_buffer_free(s.data);
    cloche_buffer_free(signed_s.data);
    cloche_sandbox_free(a);
    cloche_sandbox_free(t);
}

static void test_memory_limit_applies_to_restore(void **state) {
    (void)state;
    cloche_sandbox *a = test_sandbox(NULL);
    cloche_result_free(test_run_ok(a, "blob = bytearray(120 * 2**20)"));
    snap s = take(a, NULL);
    cloche_sandbox_options o = CLOCHE_SANDBOX_OPTIONS_INIT;
    o.memory_limit = 96u << 20;
    cloche_sandbox *small = test_sandbox(&o);
    cloche_result_free(test_run_ok(small, "mine = 'untouched'"));
    assert_int_equal(restore(small, s.data, s.len, NULL), CLOCHE_ETOOBIG);
    expect_untouched(small);
    cloche_buffer_free(s.data);
    cloche_sandbox_free(a);
    cloche_sandbox_free(small);
}

static void test_snapshot_states(void **state) {
    (void)state;
    cloche_sandbox *sb = test_sandbox(NULL);
    uint8_t *data = NULL;
    size_t len = 0;
    /* After a trap the sandbox needs a reset: nothing valid to snapshot. */
    cloche_sandbox_limit(sb, CLOCHE_LIMIT_TIMEOUT, 50);
    cloche_result_free(test_run(sb, "while True: pass"));
    assert_int_equal(cloche_snapshot_save(&data, &len, sb, NULL),
                     CLOCHE_ESTATE);
    cloche_result_free(test_run_ok(sb, "x = 1"));
    assert_int_equal(cloche_snapshot_save(&data, &len, sb, NULL), 0);
    cloche_buffer_free(data);
    cloche_sandbox_free(sb);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idle_snapshot_into_other_sandbox),
        cmocka_unit_test(test_fork_diverges),
        cmocka_unit_test(test_pending_snapshot_resumes_elsewhere),
        cmocka_unit_test(test_pending_calls_restart_on_new_tools),
        cmocka_unit_test(test_hostile_snapshots_rejected),
        cmocka_unit_test(test_memory_limit_applies_to_restore),
        cmocka_unit_test(test_snapshot_states),
    };
    return cmocka_run_group_tests(tests, test_engine_setup,
                                  test_engine_teardown);
}
