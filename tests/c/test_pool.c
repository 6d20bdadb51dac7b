/*
 * Integration: cloche_pool hands out warm sandboxes that behave like fresh
 * ones, and nothing a user leaves behind (globals, files, callbacks, limit
 * changes) reaches the next user of the same sandbox.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

static void echo(cloche_call *call, const char *args, size_t len, void *ud) {
    (void)ud;
    cloche_call_return(call, args, len);
}

static cloche_pool *make_pool(size_t size, const cloche_callback_def *defs,
                              size_t ndefs) {
    cloche_pool_options o = CLOCHE_POOL_OPTIONS_INIT;
    o.size = size;
    o.callbacks = defs;
    o.callback_count = ndefs;
    cloche_pool *pool = NULL;
    assert_int_equal(cloche_pool_new(&pool, test_engine(), &o), 0);
    return pool;
}

static void wait_ready(cloche_pool *pool, size_t n) {
    for (int i = 0; i < 3000 && cloche_pool_ready(pool) < n; i++)
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    assert_true(cloche_pool_ready(pool) >= n);
}

static void test_pool_fills_and_runs(void **state) {
    (void)state;
    cloche_pool *pool = make_pool(2, NULL, 0);
    wait_ready(pool, 2);
    cloche_sandbox *sb;
    assert_int_equal(cloche_pool_acquire(pool, &sb), 0);
    /* Warmed, yet no trace of the warm-up: the first run is run 1. */
    cloche_result *r = test_run(sb, "print(sorted(k for k in globals() "
                                    "if not k.startswith('__')))\n1/0");
    assert_int_equal(cloche_result_outcome(r), CLOCHE_OUTCOME_EXCEPTION);
    assert_non_null(strstr(cloche_result_traceback(r), "<cloche:1>"));
    size_t n;
    assert_string_equal(cloche_result_stdout(r, &n), "[]\n");
    cloche_result_free(r);
    cloche_pool_release(pool, sb);
    cloche_pool_free(pool);
}

static void test_nothing_leaks_to_the_next_user(void **state) {
    (void)state;
    cloche_callback_def d = CLOCHE_CALLBACK_DEF_INIT;
    d.name = "tools.echo";
    d.fn = echo;
    cloche_pool *pool = make_pool(1, &d, 1);
    wait_ready(pool, 1);
    cloche_sandbox *sb;
    assert_int_equal(cloche_pool_acquire(pool, &sb), 0);
    cloche_callback_def extra = CLOCHE_CALLBACK_DEF_INIT;
    extra.name = "secret.tool";
    extra.fn = echo;
    assert_int_equal(cloche_sandbox_add_callback(sb, &extra), 0);
    cloche_sandbox_limit(sb, CLOCHE_LIMIT_STDOUT, 10);
    test_expect_stdout(sb, "print('x')", "x\n");
    cloche_result_free(test_run_ok(
        sb, "secret = 42\nopen('/data/f', 'w').write('mine')"));
    /* Hold the sandbox made to top the pool up, so the next ready one can
     * only be `sb`, recycled by the pool's thread. */
    wait_ready(pool, 1);
    cloche_sandbox *other, *again;
    assert_int_equal(cloche_pool_acquire(pool, &other), 0);
    cloche_pool_release(pool, sb);
    /* Top-ups may race the recycling: hold them (so `sb` finds room in
     * the ready list) until `sb` comes back. */
    cloche_sandbox *held[16];
    size_t nheld = 0;
    for (;;) {
        wait_ready(pool, 1);
        assert_int_equal(cloche_pool_acquire(pool, &again), 0);
        if (again == sb)
            break;
        assert_true(nheld < 16);
        held[nheld++] = again;
    }
    for (size_t i = 0; i < nheld; i++)
        cloche_pool_release(pool, held[i]);
    cloche_pool_release(pool, other);
    test_expect_stdout(
        again,
        "import os\nprint('secret' in globals(), os.listdir('/data'))\n"
        "print(sorted(c['name'] for c in list_callbacks()))\n"
        "print(await tools.echo(a=1))\nprint('y' * 20)",
        "False []\n['tools.echo']\n{'a': 1}\nyyyyyyyyyyyyyyyyyyyy\n");
    cloche_pool_release(pool, again);
    cloche_pool_free(pool);
}

static void *worker(void *arg) {
    cloche_pool *pool = arg;
    for (int i = 0; i < 25; i++) {
        cloche_sandbox *sb;
        if (cloche_pool_acquire(pool, &sb) != 0)
            return (void *)1;
        cloche_result *r;
        int rc = cloche_run(&r, sb, "x = 6 * 7\nx", 11);
        int ok = rc == 0 && strcmp(cloche_result_value_repr(r), "42") == 0;
        if (rc == 0)
            cloche_result_free(r);
        cloche_pool_release(pool, sb);
        if (!ok)
            return (void *)1;
    }
    return NULL;
}

static void test_concurrent_checkouts(void **state) {
    (void)state;
    cloche_pool *pool = make_pool(3, NULL, 0);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 16u << 20); /* the guest needs 5 MiB */
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], &attr, worker, pool), 0);
    for (int i = 0; i < 4; i++) {
        void *bad;
        pthread_join(t[i], &bad);
        assert_null(bad);
    }
    pthread_attr_destroy(&attr);
    /* A sandbox still checked out when the pool goes stays usable. */
    cloche_sandbox *sb;
    assert_int_equal(cloche_pool_acquire(pool, &sb), 0);
    cloche_pool_free(pool);
    test_expect_stdout(sb, "print('after')", "after\n");
    cloche_sandbox_free(sb);
}

/* New sandboxes wait while others are checked out (so a refill does not
 * slow their runs), but not for ever: a sandbox kept out, never returned,
 * is replaced once the deferral runs out. */
static void test_refill_while_checked_out(void **state) {
    (void)state;
    cloche_pool *pool = make_pool(2, NULL, 0);
    wait_ready(pool, 2);
    cloche_sandbox *kept, *freed;
    assert_int_equal(cloche_pool_acquire(pool, &kept), 0);
    assert_int_equal(cloche_pool_acquire(pool, &freed), 0);
    cloche_sandbox_free(freed); /* never comes back */
    wait_ready(pool, 2);
    cloche_result_free(test_run_ok(kept, "1 + 1"));
    cloche_pool_release(pool, kept);
    cloche_pool_free(pool);
}

/* cloche_sandbox_warm, the pool's warm-up, on a sandbox of one's own. */
static void test_warm_leaves_no_trace(void **state) {
    (void)state;
    cloche_sandbox *sb = test_sandbox(NULL);
    assert_int_equal(cloche_sandbox_warm(sb), 0);
    size_t n;
    cloche_result *r = test_run(sb, "print(sorted(k for k in globals() "
                                    "if not k.startswith('__')))\nx = 1\n1/0");
    assert_string_equal(cloche_result_stdout(r, &n), "[]\n");
    assert_non_null(strstr(cloche_result_traceback(r), "<cloche:1>"));
    cloche_result_free(r);
    /* After user code it does nothing: globals and run numbers stay. */
    assert_int_equal(cloche_sandbox_warm(sb), 0);
    r = test_run(sb, "print(x)\n1/0");
    assert_string_equal(cloche_result_stdout(r, &n), "1\n");
    assert_non_null(strstr(cloche_result_traceback(r), "<cloche:2>"));
    cloche_result_free(r);
    /* Not while a run waits on the embedder. */
    cloche_callback_def d = CLOCHE_CALLBACK_DEF_INIT;
    d.name = "later";
    assert_int_equal(cloche_sandbox_add_callback(sb, &d), 0);
    cloche_step step;
    const char *waits = "await later()";
    assert_int_equal(cloche_start(&step, sb, waits, strlen(waits)), 0);
    assert_int_equal(step, CLOCHE_STEP_PENDING);
    assert_int_equal(cloche_sandbox_warm(sb), CLOCHE_ESTATE);
    assert_int_equal(cloche_sandbox_warm(NULL), CLOCHE_EINVAL);
    cloche_sandbox_free(sb);
}

static void test_bad_options(void **state) {
    (void)state;
    cloche_pool *pool;
    cloche_pool_options o = CLOCHE_POOL_OPTIONS_INIT;
    o.version = 99;
    assert_int_equal(cloche_pool_new(&pool, test_engine(), &o), CLOCHE_EINVAL);
    cloche_callback_def bad = CLOCHE_CALLBACK_DEF_INIT;
    bad.name = "not a name";
    bad.fn = echo;
    o = (cloche_pool_options)CLOCHE_POOL_OPTIONS_INIT;
    o.callbacks = &bad;
    o.callback_count = 1;
    assert_int_equal(cloche_pool_new(&pool, test_engine(), &o), CLOCHE_EINVAL);
    assert_int_equal(cloche_pool_acquire(NULL, NULL), CLOCHE_EINVAL);
    cloche_pool_release(NULL, NULL);
    cloche_pool_free(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_fills_and_runs),
        cmocka_unit_test(test_nothing_leaks_to_the_next_user),
        cmocka_unit_test(test_concurrent_checkouts),
        cmocka_unit_test(test_refill_while_checked_out),
        cmocka_unit_test(test_warm_leaves_no_trace),
        cmocka_unit_test(test_bad_options),
    };
    return cmocka_run_group_tests(tests, test_engine_setup,
                                  test_engine_teardown);
}
