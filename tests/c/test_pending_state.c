/*
 * Integration: what an embedder driving the state machine can ask about a
 * run (used by the Python package): cloche_is_pending in every state, and
 * call ids telling sync-style calls (0) from async-style ones (1 or more).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static uint32_t seen_ids[8];
static size_t nseen;

/* Records the call id and answers at once. */
static void note_id(cloche_call *call, const char *args, size_t len,
                    void *ud) {
    (void)args, (void)len, (void)ud;
    if (nseen < sizeof seen_ids / sizeof *seen_ids)
        seen_ids[nseen++] = cloche_call_id(call);
    cloche_call_return(call, "7", 1);
}

static void add(cloche_sandbox *sb, const char *name, cloche_callback_fn fn) {
    cloche_callback_def d = CLOCHE_CALLBACK_DEF_INIT;
    d.name = name;
    d.fn = fn;
    assert_int_equal(cloche_sandbox_add_callback(sb, &d), 0);
}

static void test_call_ids_tell_the_style(void **state) {
    (void)state;
    cloche_sandbox *sb = test_sandbox(NULL);
    add(sb, "tick", note_id);
    nseen = 0;
    cloche_result *r = test_run_ok(sb, "tick()");
    assert_int_equal(nseen, 1);
    assert_int_equal(seen_ids[0], 0); /* sync style */
    cloche_result_free(r);
    nseen = 0;
    r = test_run_ok(sb, "import asyncio\n"
                        "await asyncio.gather(tick(), tick(), tick())");
    assert_int_equal(nseen, 3);
    for (size_t i = 0; i < nseen; i++) {
        assert_true(seen_ids[i] >= 1);
        for (size_t j = 0; j < i; j++)
            assert_true(seen_ids[i] != seen_ids[j]);
    }
    cloche_result_free(r);
    cloche_sandbox_free(sb);
}

static void test_is_pending_in_every_state(void **state) {
    (void)state;
    cloche_sandbox *sb = test_sandbox(NULL);
    cloche_callback_def d = CLOCHE_CALLBACK_DEF_INIT;
    d.name = "ask"; /* no implementation: answered through the machine */
    assert_int_equal(cloche_sandbox_add_callback(sb, &d), 0);
    assert_false(cloche_is_pending(NULL));
    assert_false(cloche_is_pending(sb));

    const char *code = "await ask()";
    cloche_step step;
    assert_int_equal(cloche_start(&step, sb, code, strlen(code)), 0);
    assert_int_equal(step, CLOCHE_STEP_PENDING);
    assert_true(cloche_is_pending(sb));
    assert_int_equal(cloche_pending_count(sb), 1);
    /* Answered but not resumed: still pending, nothing left to answer. */
    assert_int_equal(cloche_call_return(cloche_pending_call(sb, 0), "5", 1),
                     0);
    assert_int_equal(cloche_pending_count(sb), 0);
    assert_true(cloche_is_pending(sb));
    /* Survives an image snapshot round trip, answer included. */
    uint8_t *img;
    size_t img_len;
    assert_int_equal(cloche_snapshot_save(&img, &img_len, sb, NULL), 0);
    cloche_sandbox *other = test_sandbox(NULL);
    assert_int_equal(cloche_sandbox_add_callback(other, &d), 0);
    assert_false(cloche_is_pending(other));
    assert_int_equal(cloche_snapshot_restore(other, img, img_len, NULL), 0);
    assert_true(cloche_is_pending(other));
    cloche_buffer_free(img);

    cloche_sandbox *both[2] = {sb, other};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(cloche_resume(&step, both[i]), 0);
        assert_int_equal(step, CLOCHE_STEP_DONE);
        assert_false(cloche_is_pending(both[i]));
        cloche_result *r = NULL;
        assert_int_equal(cloche_finish(&r, both[i]), 0);
        assert_string_equal(cloche_result_value_json(r), "5");
        cloche_result_free(r);
        cloche_sandbox_free(both[i]);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_call_ids_tell_the_style),
        cmocka_unit_test(test_is_pending_in_every_state),
    };
    return cmocka_run_group_tests(tests, test_engine_setup,
                                  test_engine_teardown);
}
