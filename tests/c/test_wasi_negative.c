/*
 * test_wasi_negative.c - negative tables for every import, called through
 * cloche__wasi_dispatch exactly as the engine glue would: closed fds
 * (EBADF), out-of-range pointers and lengths near 2^32 (EFAULT), bad
 * values (EINVAL), unsupported calls (ENOTSUP, ENOSYS). Every import of
 * the table must appear at least once.
 */
#include "test_wasi_util.h"

#include <stdio.h>

#define EQ assert_int_equal
#define BAD 0xFFFFFFF0u  /* pointer far past the 64 KiB memory */
#define HUGE 0xFFFFFFFFu /* length or count near 2^32 */
#define END MEM_SIZE     /* one past the last byte */
#define P A_PATH         /* "tmp/f" */
#define P2 A_PATH2       /* "tmp/g" */
#define IOV_OOB 0x300u   /* one iovec whose buffer runs past the end */
#define IOV_HUGE 0x310u  /* one iovec of length 0xFFFFFFFF */
#define IOVS_1025 0x400u /* 1025 valid empty iovecs */
#define RW RIGHTS_RW
#define SX 0xFFFFFFFF00000000ull /* sign-extension garbage above an i32 */

typedef struct nrow {
    const char *name;
    uint64_t a[9];
    int32_t want;
} nrow;

#define E_BADF CLOCHE__WASI_EBADF
#define E_FAULT CLOCHE__WASI_EFAULT
#define E_INVAL CLOCHE__WASI_EINVAL

static const nrow ROWS[] = {
    /* ---- EBADF: a closed fd (999), UINT32_MAX, sign-extended ------------ */
    {"fd_advise", {999, 0, 0, 0}, E_BADF},
    {"fd_allocate", {999, 0, 1}, E_BADF},
    {"fd_close", {999}, E_BADF},
    {"fd_close", {HUGE}, E_BADF},
    {"fd_close", {SX | 999}, E_BADF},
    {"fd_datasync", {999}, E_BADF},
    {"fd_fdstat_get", {999, A_OUT}, E_BADF},
    {"fd_fdstat_set_flags", {999, 0}, E_BADF},
    {"fd_fdstat_set_rights", {999, 0, 0}, E_BADF},
    {"fd_filestat_get", {999, A_BUF}, E_BADF},
    {"fd_filestat_set_size", {999, 0}, E_BADF},
    {"fd_filestat_set_times", {999, 0, 0, 0}, E_BADF},
    {"fd_pread", {999, A_IOV, 1, 0, A_OUT}, E_BADF},
    {"fd_prestat_get", {999, A_OUT}, E_BADF},
    {"fd_prestat_get", {1, A_OUT}, E_BADF},
    {"fd_prestat_dir_name", {999, A_BUF, 1}, E_BADF},
    {"fd_pwrite", {999, A_IOV, 1, 0, A_OUT}, E_BADF},
    {"fd_read", {999, A_IOV, 1, A_OUT}, E_BADF},
    {"fd_read", {999, BAD, HUGE, BAD}, E_BADF}, /* EBADF comes first */
    {"fd_readdir", {999, A_BUF, 64, 0, A_OUT}, E_BADF},
    {"fd_renumber", {999, 1}, E_BADF},
    {"fd_renumber", {1, 999}, E_BADF},
    {"fd_seek", {999, 0, 0, A_OUT}, E_BADF},
    {"fd_sync", {999}, E_BADF},
    {"fd_tell", {999, A_OUT}, E_BADF},
    {"fd_write", {999, A_IOV, 1, A_OUT}, E_BADF},
    {"fd_write", {0, A_IOV, 1, A_OUT}, E_BADF}, /* stdin */
    {"path_create_directory", {999, P, 5}, E_BADF},
    {"path_filestat_get", {999, 0, P, 5, A_BUF}, E_BADF},
    {"path_filestat_set_times", {999, 0, P, 5, 0, 0, 0}, E_BADF},
    {"path_link", {999, 0, P, 5, 3, P2, 5}, E_BADF},
    {"path_link", {3, 0, P, 5, 999, P2, 5}, E_BADF},
    {"path_open", {999, 0, P, 5, 0, RW, RW, 0, A_OUT}, E_BADF},
    {"path_readlink", {999, P, 5, A_BUF, 64, A_OUT}, E_BADF},
    {"path_remove_directory", {999, P, 5}, E_BADF},
    {"path_rename", {999, P, 5, 3, P2, 5}, E_BADF},
    {"path_rename", {3, P, 5, 999, P2, 5}, E_BADF},
    {"path_symlink", {P, 5, 999, P2, 5}, E_BADF},
    {"path_unlink_file", {999, P, 5}, E_BADF},
    {"sock_accept", {999, 0, A_OUT}, E_BADF},
    {"sock_recv", {999, A_IOV, 1, 0, A_OUT, A_OUT2}, E_BADF},
    {"sock_send", {999, A_IOV, 1, 0, A_OUT}, E_BADF},
    {"sock_shutdown", {999, 3}, E_BADF},
    /* ---- EFAULT: pointers out of range, lengths near 2^32 -------------- */
    {"args_get", {BAD, A_BUF}, E_FAULT},
    {"args_get", {A_OUT, END - 12}, E_FAULT}, /* 13 bytes of strings */
    {"args_sizes_get", {BAD, A_OUT}, E_FAULT},
    {"args_sizes_get", {A_OUT, END - 3}, E_FAULT},
    {"environ_get", {END - 7, A_BUF}, E_FAULT},
    {"environ_get", {A_OUT, BAD}, E_FAULT},
    {"environ_sizes_get", {A_OUT, HUGE}, E_FAULT},
    {"environ_sizes_get", {BAD, A_OUT}, E_FAULT},
    {"clock_res_get", {1, END - 7}, E_FAULT},
    {"clock_time_get", {1, 0, HUGE}, E_FAULT},
    {"fd_fdstat_get", {1, END - 23}, E_FAULT},
    {"fd_filestat_get", {4, END - 63}, E_FAULT},
    {"fd_pread", {4, BAD, 1, 0, A_OUT}, E_FAULT},
    {"fd_pread", {4, A_IOV, HUGE, 0, A_OUT}, E_FAULT},
    {"fd_pread", {4, IOV_OOB, 1, 0, A_OUT}, E_FAULT},
    {"fd_pread", {4, A_IOV, 1, 0, END - 3}, E_FAULT},
    {"fd_pwrite", {4, IOV_HUGE, 1, 0, A_OUT}, E_FAULT},
    {"fd_pwrite", {4, A_IOV, 0x20000000u, 0, A_OUT}, E_FAULT},
    {"fd_pwrite", {4, A_IOV, 1, 0, BAD}, E_FAULT},
    {"fd_read", {4, A_IOV, HUGE, A_OUT}, E_FAULT},
    {"fd_read", {4, END - 4, 1, A_OUT}, E_FAULT},
    {"fd_read", {4, IOV_HUGE, 1, A_OUT}, E_FAULT},
    {"fd_read", {0, A_IOV, 1, HUGE}, E_FAULT},
    {"fd_write", {1, IOV_OOB, 1, A_OUT}, E_FAULT},
    {"fd_write", {1, BAD, 1, A_OUT}, E_FAULT},
    {"fd_write", {1, A_IOV, HUGE, A_OUT}, E_FAULT},
    {"fd_write", {1, A_IOV, 1, END - 1}, E_FAULT},
    {"fd_prestat_get", {3, END - 7}, E_FAULT},
    {"fd_prestat_dir_name", {3, BAD, 1}, E_FAULT},
    {"fd_prestat_dir_name", {3, A_BUF, HUGE}, E_FAULT},
    {"fd_readdir", {3, BAD, 64, 0, A_OUT}, E_FAULT},
    {"fd_readdir", {3, A_BUF, HUGE, 0, A_OUT}, E_FAULT},
    {"fd_readdir", {3, A_BUF, 64, 0, END - 2}, E_FAULT},
    {"fd_seek", {4, 0, 0, END - 7}, E_FAULT},
    {"fd_tell", {4, HUGE}, E_FAULT},
    {"path_create_directory", {3, BAD, 5}, E_FAULT},
    {"path_create_directory", {3, P, HUGE}, E_FAULT},
    {"path_filestat_get", {3, 0, P, 5, END - 63}, E_FAULT},
    {"path_filestat_get", {3, 0, END - 2, 5, A_BUF}, E_FAULT},
    {"path_filestat_set_times", {3, 0, P, HUGE, 0, 0, 0}, E_FAULT},
    {"path_link", {3, 0, BAD, 5, 3, P2, 5}, E_FAULT},
    {"path_open", {3, 0, P, 5, 0, RW, RW, 0, END - 3}, E_FAULT},
    {"path_open", {3, 0, BAD, 5, 0, RW, RW, 0, A_OUT}, E_FAULT},
    {"path_open", {3, 0, P, HUGE, 0, RW, RW, 0, A_OUT}, E_FAULT},
    {"path_readlink", {3, P, 5, BAD, 64, A_OUT}, E_FAULT},
    {"path_readlink", {3, P, 5, A_BUF, HUGE, A_OUT}, E_FAULT},
    {"path_readlink", {3, P, 5, A_BUF, 64, END}, E_FAULT},
    {"path_remove_directory", {3, HUGE, 1}, E_FAULT},
    {"path_rename", {3, P, 5, 3, P2, HUGE}, E_FAULT},
    {"path_rename", {3, BAD, 5, 3, P2, 5}, E_FAULT},
    {"path_symlink", {P, HUGE, 3, P2, 5}, E_FAULT},
    {"path_unlink_file", {3, END, 1}, E_FAULT},
    {"poll_oneoff", {BAD, A_BUF, 1, A_OUT}, E_FAULT},
    {"poll_oneoff", {A_BUF, BAD, 1, A_OUT}, E_FAULT},
    {"poll_oneoff", {A_BUF, A_BUF, HUGE, A_OUT}, E_FAULT},
    {"poll_oneoff", {A_BUF, A_BUF, 1, END - 3}, E_FAULT},
    {"random_get", {BAD, 1}, E_FAULT},
    {"random_get", {0, HUGE}, E_FAULT},
    {"random_get", {END, 1}, E_FAULT},
    {"random_get", {1, END}, E_FAULT},
    /* ---- EINVAL and friends -------------------------------------------- */
    {"clock_res_get", {4, A_OUT}, E_INVAL},
    {"clock_time_get", {HUGE, 0, A_OUT}, E_INVAL},
    {"fd_read", {4, IOVS_1025, 1025, A_OUT}, E_INVAL},
    {"fd_write", {1, IOVS_1025, 1025, A_OUT}, E_INVAL},
    {"fd_seek", {4, 0, 3, A_OUT}, E_INVAL},
    {"fd_seek", {4, 0, 256, A_OUT}, E_INVAL}, /* whence is a u8 */
    {"fd_seek", {4, (uint64_t)-1, 0, A_OUT}, E_INVAL},
    {"fd_fdstat_set_flags", {4, 0x20}, E_INVAL},
    {"fd_advise", {4, 0, 0, 6}, E_INVAL},
    {"fd_filestat_set_times", {4, 0, 0, 0x3}, E_INVAL},
    {"fd_pread", {4, A_IOV, 1, 1ull << 63, A_OUT}, E_INVAL},
    {"path_open", {3, 2, P, 5, 0, RW, RW, 0, A_OUT}, E_INVAL},
    {"path_open", {3, 0, P, 5, 0x10, RW, RW, 0, A_OUT}, E_INVAL},
    {"path_open", {3, 0, P, 5, 0, RW, RW, 0x20, A_OUT}, E_INVAL},
    {"path_filestat_get", {3, 4, P, 5, A_BUF}, E_INVAL},
    {"path_readlink", {3, P, 5, A_BUF, 64, A_OUT}, E_INVAL},
    {"poll_oneoff", {A_BUF, A_BUF, 0, A_OUT}, E_INVAL},
    {"fd_fdstat_set_rights", {4, 1ull << 40, 0}, CLOCHE__WASI_ENOTCAPABLE},
    {"fd_readdir", {4, A_BUF, 64, 0, A_OUT}, CLOCHE__WASI_ENOTDIR},
    {"path_open", {4, 0, P, 5, 0, RW, RW, 0, A_OUT}, CLOCHE__WASI_ENOTDIR},
    {"fd_seek", {1, 0, 0, A_OUT}, CLOCHE__WASI_ESPIPE},
    {"fd_tell", {2, A_OUT}, CLOCHE__WASI_ESPIPE},
    {"path_symlink", {P, 5, 3, P2, 5}, CLOCHE__WASI_ENOTSUP},
    {"path_link", {3, 0, P, 5, 3, P2, 5}, CLOCHE__WASI_ENOTSUP},
    {"proc_raise", {9}, CLOCHE__WASI_ENOSYS},
    {"sock_accept", {3, 0, A_OUT}, CLOCHE__WASI_ENOTSUP},
    {"sock_recv", {1, A_IOV, 1, 0, A_OUT, A_OUT2}, CLOCHE__WASI_ENOTSUP},
    {"sock_send", {1, A_IOV, 1, 0, A_OUT}, CLOCHE__WASI_ENOTSUP},
    {"sock_shutdown", {1, 3}, CLOCHE__WASI_ENOTSUP},
    /* ---- successes that complete the coverage -------------------------- */
    {"sched_yield", {0}, 0},
    {"fd_datasync", {4}, 0},
    {"fd_sync", {3}, 0},
    {"fd_fdstat_set_flags", {SX | 4, SX | 0}, 0}, /* high bits ignored */
    {"fd_close", {4}, 0},
    {"proc_exit", {7}, 0},
};

/* Lay out the guest memory the rows refer to; fd 4 is /tmp/f, "data". */
static void prepare(tw *t)
{
    uint32_t fd, n;
    EQ(tw_open(t, 3, "tmp/f", CLOCHE__WASI_O_CREAT, RIGHTS_RW, 0, &fd), 0);
    EQ(fd, 4);
    EQ(tw_write(t, fd, "data", &n), 0);
    put_str(t, P, "tmp/f");
    put_str(t, P2, "tmp/g");
    put_iov(t, A_IOV, A_BUF, 4);
    put_iov(t, IOV_OOB, MEM_SIZE - 1, 2);
    put_iov(t, IOV_HUGE, 0, HUGE);
    memset(t->mem + IOVS_1025, 0, 1025 * 8);
}

static void test_negative_table(void **state)
{
    tw *t = *state;
    int seen[64] = {0};
    prepare(t);
    assert_true(cloche__wasi_import_count <= 64);
    for (size_t i = 0; i < sizeof(ROWS) / sizeof(ROWS[0]); i++) {
        const nrow *r = &ROWS[i];
        long k = cloche__wasi_import_index(r->name);
        if (k < 0)
            fail_msg("row %zu: unknown import %s", i, r->name);
        seen[k] = 1;
        int32_t got = cloche__wasi_dispatch(t->w, t->m, (size_t)k, r->a);
        if (got != r->want)
            fail_msg("row %zu (%s): got %d, want %d", i, r->name, got,
                     r->want);
    }
    for (size_t k = 0; k < cloche__wasi_import_count; k++)
        if (!seen[k])
            fail_msg("import %s has no row", cloche__wasi_imports[k].name);
    uint32_t code;
    EQ(cloche__wasi_take_trap(t->w, &code), CLOCHE__WASI_TRAP_EXIT);
    EQ(code, 7);
    /* nothing above changed the file */
    EQ(tw_stat(t, 3, "tmp/f"), 0);
    EQ(FS_SIZE(t), 4);
    EQ(tw_stat(t, 3, "tmp/g"), CLOCHE__WASI_ENOENT);
}

/* Every import name, signature and result is well formed. */
static void test_import_table(void **state)
{
    (void)state;
    EQ(cloche__wasi_import_count, 46);
    for (size_t i = 0; i < cloche__wasi_import_count; i++) {
        const cloche__wasi_import *im = &cloche__wasi_imports[i];
        assert_true(strlen(im->params) <= CLOCHE__WASI_MAX_PARAMS);
        assert_int_equal(strspn(im->params, "iI"), strlen(im->params));
        if (strcmp(im->name, "proc_exit") == 0)
            assert_string_equal(im->results, "");
        else
            assert_string_equal(im->results, "i");
        if (i > 0)
            assert_true(strcmp(cloche__wasi_imports[i - 1].name, im->name) < 0);
        EQ(cloche__wasi_import_index(im->name), (long)i);
    }
    EQ(cloche__wasi_import_index("fd_write"),
       cloche__wasi_import_index("fd_write"));
    EQ(cloche__wasi_import_index("nope"), -1);
    long k = cloche__wasi_import_index("clock_time_get");
    assert_string_equal(cloche__wasi_imports[k].params, "iIi");
    k = cloche__wasi_import_index("path_open");
    assert_string_equal(cloche__wasi_imports[k].params, "iiiiiIIii");
    k = cloche__wasi_import_index("fd_seek");
    assert_string_equal(cloche__wasi_imports[k].params, "iIii");
}

static void test_dispatch_unknown(void **state)
{
    tw *t = *state;
    uint64_t a[9] = {0};
    EQ(cloche__wasi_dispatch(t->w, t->m, cloche__wasi_import_count, a),
       CLOCHE__WASI_ENOSYS);
    EQ(cloche__wasi_dispatch(t->w, t->m, (size_t)-1, a), CLOCHE__WASI_ENOSYS);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tw_setup, tw_teardown)
    const struct CMUnitTest tests[] = {
        T(test_negative_table),
        T(test_import_table),
        T(test_dispatch_unknown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
