/*
 * Integration: a restored snapshot never sets its own limits. A pending
 * run resumes under the restoring sandbox's timeout and fuel, counted
 * from the restore; run fields that disagree with the rest of the
 * snapshot (edited bytes, checksum recomputed) are refused, never waited
 * on. The payload is edited through its documented layout
 * (src/snapshot.c, src/snapshot_state.c).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zstd.h>

#include "../../src/digest.h"
#include "harness.h"

#define HEADER_SIGNED 64
#define HEADER_LEN (HEADER_SIGNED + CLOCHE__DIGEST_LEN)
#define NONE UINT64_MAX

/* Offsets of RUN's fixed fields from the section's start. */
enum {
    RUN_PENDING = 0,
    RUN_ELAPSED = 4,
    RUN_BUDGET = 12,
    RUN_WAKE = 20,
    RUN_FUEL = 48,
    RUN_NLIMITS = 56,
    RUN_LIMITS = 60,
};

/* A snapshot opened for editing: the raw payload and where RUN starts. */
typedef struct edit {
    uint8_t *raw;
    size_t len, run;
} edit;

static uint64_t rd64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | (uint64_t)p[i];
    return v;
}

static void wr64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static void wr32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static edit open_edit(const uint8_t *snap, size_t len) {
    edit e;
    assert_true(len > HEADER_LEN);
    e.len = (size_t)rd64(snap + 48);
    e.raw = malloc(e.len);
    assert_non_null(e.raw);
    size_t got = ZSTD_decompress(e.raw, e.len, snap + HEADER_LEN,
                                 len - HEADER_LEN);
    assert_int_equal(got, e.len);
    /* MEM: u64 size, u32 n, n x u32, n pages; WASI: u32-length blob. */
    size_t n = rd32(e.raw + 8);
    size_t at = 12 + n * 4 + n * 4096;
    at += 4 + rd32(e.raw + at);
    e.run = at;
    return e;
}

/* Re-pack the edited payload into an unsigned snapshot (fresh digest). */
static uint8_t *close_edit(edit *e, const uint8_t *orig, size_t *out_len) {
    size_t bound = ZSTD_compressBound(e->len);
    uint8_t *snap = malloc(HEADER_LEN + bound);
    assert_non_null(snap);
    size_t comp = ZSTD_compress(snap + HEADER_LEN, bound, e->raw, e->len, 1);
    assert_false(ZSTD_isError(comp));
    memcpy(snap, orig, HEADER_SIGNED);
    wr64(snap + 48, e->len);
    wr64(snap + 56, comp);
    assert_int_equal(cloche__digest2(snap + HEADER_SIGNED, NULL, 0, snap,
                                     HEADER_SIGNED, snap + HEADER_LEN, comp),
                     0);
    free(e->raw);
    *out_len = HEADER_LEN + comp;
    return snap;
}

static uint8_t *save(cloche_sandbox *sb, size_t *len) {
    uint8_t *data = NULL;
    assert_int_equal(cloche_snapshot_save(&data, len, sb, NULL), 0);
    return data;
}

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void add_external(cloche_sandbox *sb, const char *name) {
    cloche_callback_def d = CLOCHE_CALLBACK_DEF_INIT;
    d.name = name;
    assert_int_equal(cloche_sandbox_add_callback(sb, &d), 0);
}

/* A run that waits on approve(), then loops until a limit stops it. */
static const char *spin_code = "await approve()\n"
                               "while True: pass\n";

static uint8_t *pending_snapshot(const cloche_sandbox_options *o,
                                 size_t *len) {
    cloche_sandbox *a = test_sandbox(o);
    add_external(a, "approve");
    cloche_step step;
    assert_int_equal(cloche_start(&step, a, spin_code, strlen(spin_code)), 0);
    assert_int_equal(step, CLOCHE_STEP_PENDING);
    uint8_t *snap = save(a, len);
    cloche_sandbox_free(a);
    return snap;
}

/* Restore into a sandbox with options o, answer approve() and drive. */
static cloche_result *resume_in(const cloche_sandbox_options *o,
                                const uint8_t *snap, size_t len) {
    cloche_sandbox *b = test_sandbox(o);
    add_external(b, "approve");
    int rc = cloche_snapshot_restore(b, snap, len, NULL);
    if (rc != 0)
        fail_msg("restore: %s: %s", cloche_strerror(rc),
                 cloche_sandbox_errmsg(b));
    assert_int_equal(cloche_pending_count(b), 1);
    cloche_call *c = cloche_pending_call(b, 0);
    assert_int_equal(cloche_call_return(c, "1", 1), 0);
    cloche_result *r = NULL;
    assert_int_equal(cloche_drive(&r, b), 0);
    cloche_sandbox_free(b);
    return r;
}

static void expect_limit(const cloche_result *r, cloche_limit which) {
    assert_int_equal(cloche_result_outcome(r), CLOCHE_OUTCOME_LIMIT);
    assert_int_equal(cloche_result_limit(r), which);
}

/* Suspended under a 20 s timeout, resumed where the timeout is 300 ms. */
static void test_resumed_run_gets_target_timeout(void **state) {
    (void)state;
    cloche_sandbox_options o = CLOCHE_SANDBOX_OPTIONS_INIT;
    o.timeout_ms = 20000;
    size_t len;
    uint8_t *snap = pending_snapshot(&o, &len);
    o.timeout_ms = 300;
    uint64_t t0 = now_ms();
    cloche_result *r = resume_in(&o, snap, len);
    expect_limit(r, CLOCHE_LIMIT_TIMEOUT);
    assert_true(now_ms() - t0 < 5000);
    cloche_result_free(r);
    cloche_buffer_free(snap);
}

/* Suspended with unlimited fuel, resumed where fuel is 10 million. */
static void test_resumed_run_gets_target_fuel(void **state) {
    (void)state;
    size_t len;
    uint8_t *snap = pending_snapshot(NULL, &len);
    cloche_sandbox_options o = CLOCHE_SANDBOX_OPTIONS_INIT;
    o.fuel = 10000000;
    o.timeout_ms = 20000;
    cloche_result *r = resume_in(&o, snap, len);
    expect_limit(r, CLOCHE_LIMIT_FUEL);
    assert_true(cloche_result_fuel_used(r) <= o.fuel);
    cloche_result_free(r);
    cloche_buffer_free(snap);
}

/* A consistent edit (the snapshot's own timeout and time left both made
 * huge) restores, but the run still stops at the target's timeout. */
static void test_edited_budget_does_not_extend_run(void **state) {
    (void)state;
    size_t len, bad_len;
    uint8_t *snap = pending_snapshot(NULL, &len);
    edit e = open_edit(snap, len);
    uint8_t *run = e.raw + e.run;
    wr64(run + RUN_LIMITS + 8 * CLOCHE_LIMIT_TIMEOUT, INT64_MAX / 1000000);
    wr64(run + RUN_BUDGET, (INT64_MAX / 1000000) * 1000000ull - 1);
    wr64(run + RUN_LIMITS + 8 * CLOCHE_LIMIT_FUEL, 0);
    wr64(run + RUN_FUEL, NONE - 1);
    uint8_t *bad = close_edit(&e, snap, &bad_len);
    cloche_sandbox_options o = CLOCHE_SANDBOX_OPTIONS_INIT;
    o.timeout_ms = 300;
    uint64_t t0 = now_ms();
    cloche_result *r = resume_in(&o, bad, bad_len);
    expect_limit(r, CLOCHE_LIMIT_TIMEOUT);
    assert_true(now_ms() - t0 < 5000);
    cloche_result_free(r);
    free(bad);
    cloche_buffer_free(snap);
}

/* The target's limits are its own after a restore, whatever the
 * snapshot's were. */
static void test_restore_keeps_target_limits(void **state) {
    (void)state;
    cloche_sandbox_options small = CLOCHE_SANDBOX_OPTIONS_INIT;
    small.timeout_ms = 1000;
    small.stdout_limit = 100;
    cloche_sandbox *a = test_sandbox(&small);
    cloche_result_free(test_run_ok(a, "x = 1"));
    size_t len;
    uint8_t *snap = save(a, &len);
    cloche_sandbox *b = test_sandbox(NULL);
    assert_int_equal(cloche_snapshot_restore(b, snap, len, NULL), 0);
    assert_int_equal(cloche_sandbox_limit(b, CLOCHE_LIMIT_TIMEOUT, -1),
                     CLOCHE_DEFAULT_TIMEOUT_MS);
    assert_int_equal(cloche_sandbox_limit(b, CLOCHE_LIMIT_STDOUT, -1),
                     CLOCHE_DEFAULT_OUTPUT_LIMIT);
    test_expect_stdout(b, "print(x)", "1\n");
    cloche_buffer_free(snap);
    cloche_sandbox_free(a);
    cloche_sandbox_free(b);
}

typedef void (*edit_fn)(uint8_t *run, edit *e);

/* Apply an edit, expect ECORRUPT and an untouched target. */
static void expect_refused(const uint8_t *snap, size_t len, edit_fn fn) {
    edit e = open_edit(snap, len);
    fn(e.raw + e.run, &e);
    size_t bad_len;
    uint8_t *bad = close_edit(&e, snap, &bad_len);
    cloche_sandbox *t = test_sandbox(NULL);
    add_external(t, "approve");
    cloche_result_free(test_run_ok(t, "mine = 'untouched'"));
    assert_int_equal(cloche_snapshot_restore(t, bad, bad_len, NULL),
                     CLOCHE_ECORRUPT);
    assert_non_null(strstr(cloche_sandbox_errmsg(t), "run section"));
    assert_int_equal(cloche_pending_count(t), 0);
    test_expect_stdout(t, "print(mine)", "untouched\n");
    free(bad);
    cloche_sandbox_free(t);
}

static void flip_to_pending(uint8_t *run, edit *e) {
    (void)e;
    wr32(run + RUN_PENDING, 1);
}
static void flip_to_pending_with_time(uint8_t *run, edit *e) {
    (void)e;
    wr32(run + RUN_PENDING, 1);
    wr64(run + RUN_BUDGET, 1000000);
    wr64(run + RUN_ELAPSED, 1);
}
static void unknown_state(uint8_t *run, edit *e) {
    (void)e;
    wr32(run + RUN_PENDING, 2);
}
static void idle_with_wake(uint8_t *run, edit *e) {
    (void)e;
    wr64(run + RUN_WAKE, 5);
}
static void idle_with_budget(uint8_t *run, edit *e) {
    (void)e;
    wr64(run + RUN_BUDGET, 5);
}
static void endless_budget(uint8_t *run, edit *e) {
    (void)e;
    wr64(run + RUN_BUDGET, NONE);
}
static void budget_over_timeout(uint8_t *run, edit *e) {
    (void)e;
    uint64_t ms = rd64(run + RUN_LIMITS + 8 * CLOCHE_LIMIT_TIMEOUT);
    wr64(run + RUN_BUDGET, ms * 1000000u + 1);
}
static void negative_limit(uint8_t *run, edit *e) {
    (void)e;
    wr64(run + RUN_LIMITS + 8 * CLOCHE_LIMIT_MEMORY, NONE);
}
static void fuel_over_limit(uint8_t *run, edit *e) {
    (void)e;
    wr64(run + RUN_LIMITS + 8 * CLOCHE_LIMIT_FUEL, 1000);
    wr64(run + RUN_FUEL, 1001);
}
/* Drop the one host call: RUN's tail is "u32 calls | the call". */
static void no_calls(uint8_t *run, edit *e) {
    size_t at = RUN_LIMITS + 8 * rd32(run + RUN_NLIMITS);
    at += 4 + rd32(run + at); /* stdout */
    at += 4 + rd32(run + at); /* stderr */
    assert_int_equal(rd32(run + at), 1);
    wr32(run + at, 0);
    e->len = e->run + at + 4;
}

static void test_inconsistent_run_fields_refused(void **state) {
    (void)state;
    cloche_sandbox *a = test_sandbox(NULL);
    cloche_result_free(test_run_ok(a, "x = 1"));
    size_t idle_len, pend_len;
    uint8_t *idle = save(a, &idle_len);
    cloche_sandbox_free(a);
    uint8_t *pend = pending_snapshot(NULL, &pend_len);
    /* An idle snapshot claiming a pending run would wait forever. */
    expect_refused(idle, idle_len, flip_to_pending);
    expect_refused(idle, idle_len, flip_to_pending_with_time);
    expect_refused(idle, idle_len, unknown_state);
    expect_refused(idle, idle_len, idle_with_wake);
    expect_refused(idle, idle_len, idle_with_budget);
    expect_refused(idle, idle_len, negative_limit);
    expect_refused(pend, pend_len, endless_budget);
    expect_refused(pend, pend_len, budget_over_timeout);
    expect_refused(pend, pend_len, fuel_over_limit);
    expect_refused(pend, pend_len, no_calls);
    cloche_buffer_free(idle);
    cloche_buffer_free(pend);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resumed_run_gets_target_timeout),
        cmocka_unit_test(test_resumed_run_gets_target_fuel),
        cmocka_unit_test(test_edited_budget_does_not_extend_run),
        cmocka_unit_test(test_restore_keeps_target_limits),
        cmocka_unit_test(test_inconsistent_run_fields_refused),
    };
    return cmocka_run_group_tests(tests, test_engine_setup,
                                  test_engine_teardown);
}
