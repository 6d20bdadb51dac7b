/*
 * test_wasi_misc.c - context creation and teardown, args/environ round
 * trips, random_get, proc_exit traps, proc_raise/sched_yield/sock_*, a
 * context without a VFS, a zero output cap, allocation failures.
 */
#include "test_wasi_util.h"

#define W(t) (t)->w, (t)->m
#define EQ assert_int_equal

static void test_args_roundtrip(void **state)
{
    tw *t = *state;
    EQ(cloche__wasi_args_sizes_get(W(t), A_OUT, A_OUT2), 0);
    EQ(rd32(t, A_OUT), 2);
    EQ(rd32(t, A_OUT2), 13); /* "prog\0arg one\0" */
    memset(t->mem + A_BUF, 0xEE, 32);
    EQ(cloche__wasi_args_get(W(t), A_IOV, A_BUF), 0);
    EQ(rd32(t, A_IOV), A_BUF);
    EQ(rd32(t, A_IOV + 4), A_BUF + 5);
    assert_memory_equal(t->mem + A_BUF, "prog\0arg one\0", 13);
    EQ(t->mem[A_BUF + 13], 0xEE);
    EQ(cloche__wasi_environ_sizes_get(W(t), A_OUT, A_OUT2), 0);
    EQ(rd32(t, A_OUT), 2);
    EQ(rd32(t, A_OUT2), 14); /* "A=1\0HOME=/tmp\0" */
    EQ(cloche__wasi_environ_get(W(t), A_IOV, A_BUF), 0);
    EQ(rd32(t, A_IOV), A_BUF);
    EQ(rd32(t, A_IOV + 4), A_BUF + 4);
    assert_memory_equal(t->mem + A_BUF, "A=1\0HOME=/tmp\0", 14);
    /* a failing call writes nothing at all */
    memset(t->mem + A_IOV, 0xEE, 8);
    EQ(cloche__wasi_args_get(W(t), A_IOV, MEM_SIZE - 12), CLOCHE__WASI_EFAULT);
    EQ(rd32(t, A_IOV), 0xEEEEEEEEu);
    EQ(cloche__wasi_args_sizes_get(W(t), A_OUT, MEM_SIZE - 2),
       CLOCHE__WASI_EFAULT);
    /* the strings end exactly at the end of memory */
    EQ(cloche__wasi_args_get(W(t), A_IOV, MEM_SIZE - 13), 0);
    EQ(rd32(t, A_IOV + 4), MEM_SIZE - 8);
}

static void test_args_empty_and_invalid(void **state)
{
    tw *t = *state;
    cloche__wasi *w;
    cloche__wasi_config cfg = t->cfg;
    cfg.argc = cfg.envc = 0;
    cfg.argv = cfg.env = NULL;
    EQ(cloche__wasi_new(&w, &cfg), 0);
    EQ(cloche__wasi_args_sizes_get(w, t->m, A_OUT, A_OUT2), 0);
    EQ(rd32(t, A_OUT), 0);
    EQ(rd32(t, A_OUT2), 0);
    EQ(cloche__wasi_environ_get(w, t->m, MEM_SIZE, MEM_SIZE), 0);
    cloche__wasi_free(w);

    const char *const bad_env[] = {"NOEQUALS"};
    cfg = t->cfg;
    cfg.env = bad_env;
    cfg.envc = 1;
    EQ(cloche__wasi_new(&w, &cfg), CLOCHE__EINVAL);
    assert_null(w);
    const char *const null_arg[] = {"a", NULL};
    cfg = t->cfg;
    cfg.argv = null_arg;
    EQ(cloche__wasi_new(&w, &cfg), CLOCHE__EINVAL);
    cfg = t->cfg;
    cfg.argv = NULL;
    EQ(cloche__wasi_new(&w, &cfg), CLOCHE__EINVAL);
    /* argv larger than CLOCHE__WASI_ARGS_MAX */
    char *big = malloc(CLOCHE__WASI_ARGS_MAX + 1);
    assert_non_null(big);
    memset(big, 'x', CLOCHE__WASI_ARGS_MAX);
    big[CLOCHE__WASI_ARGS_MAX] = 0;
    const char *const big_arg[] = {big};
    cfg = t->cfg;
    cfg.argv = big_arg;
    cfg.argc = 1;
    EQ(cloche__wasi_new(&w, &cfg), CLOCHE__EINVAL);
    big[CLOCHE__WASI_ARGS_MAX - 1] = 0; /* exactly the limit with its NUL */
    EQ(cloche__wasi_new(&w, &cfg), 0);
    cloche__wasi_free(w);
    free(big);
    cloche__wasi_free(NULL);
}

static void test_random(void **state)
{
    tw *t = *state;
    uint8_t zero[64] = {0};
    memset(t->mem + A_BUF, 0, 64);
    EQ(cloche__wasi_random_get(W(t), A_BUF, 64), 0);
    assert_memory_not_equal(t->mem + A_BUF, zero, 64);
    EQ(cloche__wasi_random_get(W(t), MEM_SIZE, 0), 0);
    EQ(cloche__wasi_random_get(W(t), 0, MEM_SIZE), 0);
    EQ(cloche__wasi_random_get(W(t), 1, MEM_SIZE), CLOCHE__WASI_EFAULT);
}

static void test_proc_and_sockets(void **state)
{
    tw *t = *state;
    uint32_t code = 99;
    cloche__wasi_proc_exit(W(t), 3);
    cloche__wasi_proc_exit(W(t), 4); /* the first trap wins */
    EQ(cloche__wasi_take_trap(t->w, &code), CLOCHE__WASI_TRAP_EXIT);
    EQ(code, 3);
    EQ(cloche__wasi_take_trap(t->w, &code), CLOCHE__WASI_TRAP_NONE);
    EQ(code, 0);
    cloche__wasi_proc_exit(W(t), 0);
    EQ(cloche__wasi_take_trap(t->w, NULL), CLOCHE__WASI_TRAP_EXIT);
    EQ(cloche__wasi_proc_raise(W(t), 2), CLOCHE__WASI_ENOSYS);
    EQ(cloche__wasi_sched_yield(W(t)), 0);
    EQ(cloche__wasi_sock_accept(W(t), 3, 0, A_OUT), CLOCHE__WASI_ENOTSUP);
    EQ(cloche__wasi_sock_shutdown(W(t), 9, 0), CLOCHE__WASI_EBADF);
    EQ(cloche__wasi_sock_send(W(t), 1, A_IOV, 1, 0, A_OUT),
       CLOCHE__WASI_ENOTSUP);
    EQ(cloche__wasi_sock_recv(W(t), 0, A_IOV, 1, 0, A_OUT, A_OUT2),
       CLOCHE__WASI_ENOTSUP);
}

static void test_no_root(void **state)
{
    tw *t = *state;
    cloche__wasi *w;
    uint32_t n;
    cloche__wasi_config cfg = t->cfg;
    cfg.root = NULL;
    EQ(cloche__wasi_new(&w, &cfg), 0);
    EQ(cloche__wasi_fd_prestat_get(w, t->m, 3, A_OUT), CLOCHE__WASI_EBADF);
    uint32_t p = put_str(t, A_PATH, "tmp");
    EQ(cloche__wasi_path_open(w, t->m, 3, 0, A_PATH, p, 0, RIGHTS_RO, 0, 0,
                              A_OUT),
       CLOCHE__WASI_EBADF);
    put_iov(t, A_IOV, A_DATA, 2);
    EQ(cloche__wasi_fd_write(w, t->m, 1, A_IOV, 1, A_OUT), 0);
    n = rd32(t, A_OUT);
    EQ(n, 2);
    EQ(cloche__wasi_fd_renumber(w, t->m, 1, 3), CLOCHE__WASI_EBADF);
    cloche__wasi_free(w);
}

static void test_zero_cap(void **state)
{
    tw *t = *state;
    cloche__wasi *w;
    size_t len;
    cloche__wasi_config cfg = t->cfg;
    cfg.stdout_cap = 0;
    cfg.on_output = NULL;
    EQ(cloche__wasi_new(&w, &cfg), 0);
    put_str(t, A_DATA, "x");
    put_iov(t, A_IOV, A_DATA, 1);
    EQ(cloche__wasi_fd_write(w, t->m, 1, A_IOV, 1, A_OUT), 0);
    EQ(rd32(t, A_OUT), 0);
    EQ(cloche__wasi_take_trap(w, NULL), CLOCHE__WASI_TRAP_OUTPUT_LIMIT);
    assert_non_null(cloche__wasi_output(w, 1, &len));
    EQ(len, 0);
    cloche__wasi_free(w);
}

/* A large write to a large cap: the buffer grows to exactly what is kept. */
static void test_large_capture(void **state)
{
    tw *t = *state;
    cloche__wasi *w;
    size_t len;
    cloche__wasi_config cfg = t->cfg;
    cfg.stdout_cap = 40000;
    cfg.on_output = NULL;
    EQ(cloche__wasi_new(&w, &cfg), 0);
    memset(t->mem + A_DATA, 'y', 30000);
    put_iov(t, A_IOV, A_DATA, 30000);
    EQ(cloche__wasi_fd_write(w, t->m, 1, A_IOV, 1, A_OUT), 0);
    EQ(rd32(t, A_OUT), 30000);
    EQ(cloche__wasi_fd_write(w, t->m, 1, A_IOV, 1, A_OUT), 0);
    EQ(rd32(t, A_OUT), 10000);
    const uint8_t *out = cloche__wasi_output(w, 1, &len);
    EQ(len, 40000);
    EQ(out[39999], 'y');
    EQ(cloche__wasi_take_trap(w, NULL), CLOCHE__WASI_TRAP_OUTPUT_LIMIT);
    cloche__wasi_free(w);
}

/* Each allocation of context creation and of a file write fails in turn:
 * ENOMEM comes back, nothing leaks, and the VFS clock hook is released. */
static void test_enomem(void **state)
{
    tw *t = *state;
    int ok = 0;
    for (long k = 0; !ok && k < 50; k++) {
        cloche__wasi *w = NULL;
        cloche__alloc_fail_after(k);
        int rc = cloche__wasi_new(&w, &t->cfg);
        int32_t e = -1;
        if (rc == 0) {
            uint32_t p = put_str(t, A_PATH, "tmp/nm");
            e = cloche__wasi_path_open(w, t->m, 3, 0, A_PATH, p,
                                       CLOCHE__WASI_O_CREAT, RIGHTS_RW,
                                       RIGHTS_RW, 0, A_OUT);
            if (e == 0) {
                put_iov(t, A_IOV, A_DATA, 100);
                e = cloche__wasi_fd_write(w, t->m, rd32(t, A_OUT), A_IOV, 1,
                                          A_OUT);
            }
            if (e == 0) {
                put_iov(t, A_IOV, A_DATA, 3);
                e = cloche__wasi_fd_write(w, t->m, 1, A_IOV, 1, A_OUT);
            }
        }
        cloche__alloc_fail_after(-1);
        if (rc)
            EQ(rc, CLOCHE__ENOMEM);
        else if (e)
            EQ(e, CLOCHE__WASI_ENOMEM);
        else
            ok = 1;
        cloche__wasi_free(w);
        cloche__vfs_remove(t->vfs, "/tmp/nm");
        void *ud = cloche__vfs_clock_ud(t->vfs); /* never a freed context */
        assert_true(ud == NULL || ud == t->w);
    }
    assert_true(ok);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tw_setup, tw_teardown)
    const struct CMUnitTest tests[] = {
        T(test_args_roundtrip),   T(test_args_empty_and_invalid),
        T(test_random),           T(test_proc_and_sockets),
        T(test_no_root),          T(test_zero_cap),
        T(test_large_capture),    T(test_enomem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
