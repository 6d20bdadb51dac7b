/*
 * Integration: sessions — persistence, clear, reset — and portable state
 * snapshots (pickled globals), including hostile snapshot bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static const char *define_session =
    "import json, math\n"
    "counter = 41\n"
    "def bump(n=1):\n"
    "    global counter\n"
    "    counter += n\n"
    "    return counter\n"
    "def make_adder(k):\n"
    "    return lambda x: x + k\n"
    "add5 = make_adder(5)\n"
    "class Point:\n"
    "    def __init__(self, x, y): self.x, self.y = x, y\n"
    "    def norm(self): return math.hypot(self.x, self.y)\n"
    "class Labeled(Point):\n"
    "    def __init__(self, x, y, label):\n"
    "        super().__init__(x, y)\n"
    "        self.label = label\n"
    "p = Labeled(3, 4, 'here')\n"
    "data = {'nested': [1, {'a': (2, 3)}], 'p': p}\n";

static const char *check_session =
    "print(bump(), add5(1), p.norm(), p.label, data['p'] is p,"
    " json.dumps(data['nested']), type(p).__mro__[1].__name__)";
static const char *expected = "42 6 5.0 here True [1, {\"a\": [2, 3]}] Point\n";

static void test_clear_keeps_instance(void **state) {
    (void)state;
    cloche_sandbox *sb = test_sandbox(NULL);
    cloche_result_free(test_run_ok(sb, "import json\nx = 1\n"
                                       "open('/tmp/kept', 'w').write('f')"));
    assert_int_equal(cloche_sandbox_clear(sb), 0);
    test_expect_stdout(sb,
                       "print('x' in globals(), 'json' in globals(),"
                       " open('/tmp/kept').read(), __name__)",
                       "False False f __main__\n");
    cloche_sandbox_free(sb);
}

static void test_state_snapshot_round_trip(void **state) {
    (void)state;
    cloche_sandbox *a = test_sandbox(NULL);
    cloche_result_free(test_run_ok(a, define_session));
    uint8_t *snap = NULL;
    size_t len = 0;
    assert_int_equal(cloche_state_save(&snap, &len, a, 0), 0);
    assert_true(len > 56);
    /* Restores into a different, fresh sandbox (and into the same one). */
    cloche_sandbox *b = test_sandbox(NULL);
    assert_int_equal(cloche_state_restore(b, snap, len), 0);
    test_expect_stdout(b, check_session, expected);
    assert_int_equal(cloche_sandbox_reset(a), 0);
    assert_int_equal(cloche_state_restore(a, snap, len), 0);
    test_expect_stdout(a, check_session, expected);
    cloche_buffer_free(snap);
    cloche_sandbox_free(a);
    cloche_sandbox_free(b);
}

static void test_unpicklable_globals(void **state) {
    (void)state;
    cloche_sandbox *sb = test_sandbox(NULL);
    cloche_result_free(test_run_ok(sb, "import threading\nok = [1]\n"
                                       "lock = threading.Lock()\n"
                                       "gen = (i for i in range(3))"));
    uint8_t *snap = NULL;
    size_t len = 0;
    assert_int_equal(cloche_state_save(&snap, &len, sb, 0),
                     CLOCHE_EUNPICKLABLE);
    assert_null(snap);
    assert_non_null(strstr(cloche_sandbox_errmsg(sb), "lock"));
    assert_non_null(strstr(cloche_sandbox_errmsg(sb), "gen"));
    assert_int_equal(
        cloche_state_save(&snap, &len, sb, CLOCHE_STATE_SKIP_UNPICKLABLE), 0);
    cloche_sandbox *fresh = test_sandbox(NULL);
    assert_int_equal(cloche_state_restore(fresh, snap, len), 0);
    test_expect_stdout(fresh, "print(ok, 'lock' in globals())",
                       "[1] False\n");
    cloche_buffer_free(snap);
    cloche_sandbox_free(fresh);
    cloche_sandbox_free(sb);
}

static void test_hostile_state_snapshots(void **state) {
    (void)state;
    cloche_sandbox *sb = test_sandbox(NULL);
    cloche_result_free(test_run_ok(sb, "value = list(range(100))"));
    uint8_t *snap = NULL;
    size_t len = 0;
    assert_int_equal(cloche_state_save(&snap, &len, sb, 0), 0);
    cloche_sandbox *target = test_sandbox(NULL);
    cloche_result_free(test_run_ok(target, "mine = 'untouched'"));
    for (size_t cut = 0; cut < len; cut += (cut < 64 ? 1 : 97))
        assert_int_equal(cloche_state_restore(target, snap, cut),
                         CLOCHE_ETRUNCATED);
    uint8_t *bad = malloc(len + 1);
    memcpy(bad, snap, len);
    bad[0] ^= 1;
    assert_int_equal(cloche_state_restore(target, bad, len), CLOCHE_EFORMAT);
    memcpy(bad, snap, len);
    bad[12] ^= 1; /* python version */
    assert_int_equal(cloche_state_restore(target, bad, len), CLOCHE_EBUILD);
    for (size_t i = 56; i < len; i += 7) { /* any payload change */
        memcpy(bad, snap, len);
        bad[i] ^= 0x20;
        assert_int_equal(cloche_state_restore(target, bad, len),
                         CLOCHE_ECORRUPT);
    }
    memcpy(bad, snap, len);
    bad[len] = 0;
    assert_int_equal(cloche_state_restore(target, bad, len + 1),
                     CLOCHE_ECORRUPT);
    assert_int_equal(cloche_state_restore(target, NULL, 0), CLOCHE_ETRUNCATED);
    /* Nothing of the above touched the target session. */
    test_expect_stdout(target, "print(mine, 'value' in globals())",
                       "untouched False\n");
    free(bad);
    cloche_buffer_free(snap);
    cloche_sandbox_free(target);
    cloche_sandbox_free(sb);
}

static void test_limits_apply_in_sessions(void **state) {
    (void)state;
    cloche_sandbox_options o = CLOCHE_SANDBOX_OPTIONS_INIT;
    o.memory_limit = 96u << 20;
    o.timeout_ms = 300;
    cloche_sandbox *sb = test_sandbox(&o);
    for (int i = 0; i < 3; i++) {
        cloche_result_free(test_run_ok(sb, "keep = 1"));
        cloche_result *r = test_run(sb, "x = bytearray(300 * 2**20)");
        assert_int_equal(cloche_result_limit(r), CLOCHE_LIMIT_MEMORY);
        cloche_result_free(r);
        r = test_run(sb, "while True: pass");
        assert_int_equal(cloche_result_limit(r), CLOCHE_LIMIT_TIMEOUT);
        cloche_result_free(r);
    }
    cloche_sandbox_free(sb);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clear_keeps_instance),
        cmocka_unit_test(test_state_snapshot_round_trip),
        cmocka_unit_test(test_unpicklable_globals),
        cmocka_unit_test(test_hostile_state_snapshots),
        cmocka_unit_test(test_limits_apply_in_sessions),
    };
    return cmocka_run_group_tests(tests, test_engine_setup,
                                  test_engine_teardown);
}
