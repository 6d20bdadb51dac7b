/*
 * test_wasi_mount_state.c - snapshots (cloche__wasi_save/load) with host
 * mounts: a mount is saved by guest path and read-only flag only, fds on
 * mount objects are re-opened by their path below the mount, and a target
 * whose mounts or host files do not match is refused and left untouched.
 */
#include "test_wasi_mount_util.h"

#define EQ assert_int_equal

enum {
    T_SAME = 0,      /* the fixture's mounts */
    T_NONE = 1,      /* no mounts */
    T_ELSEWHERE = 2, /* TOP/m mounted at another guest path */
    T_RO = 3,        /* TOP/m mounted read-only */
    T_EXTRA = 4      /* one more mount */
};

typedef struct target {
    cloche__vfs *vfs;
    cloche__wasi *w;
} target;

static void target_new(tw *t, target *x, int kind)
{
    cloche__vfs_limits lim = {1u << 20, 64, 0};
    char p[512];
    EQ(cloche__vfs_new(&x->vfs, &lim), 0);
    EQ(cloche__vfs_mkdir_p(x->vfs, "/tmp", 0), 0);
    EQ(cloche__vfs_add_file_ro(x->vfs, "/lib/a.txt", LIB_A, 11), 0);
    EQ(cloche__vfs_set_readonly(x->vfs, "/", 1), 0);
    if (kind == T_SAME || kind == T_EXTRA)
        EQ(tm_mount_all(x->vfs, 0), 0);
    if (kind == T_RO)
        EQ(tm_mount_all(x->vfs, 1), 0);
    if (kind == T_EXTRA) {
        tm_path(p, sizeof(p), "outside");
        EQ(cloche__vfs_mount(x->vfs, "/mnt/extra", p, 1), 0);
    }
    if (kind == T_ELSEWHERE) {
        tm_path(p, sizeof(p), "m");
        EQ(cloche__vfs_mount(x->vfs, "/mnt/x", p, 0), 0);
        tm_path(p, sizeof(p), "other");
        EQ(cloche__vfs_mount(x->vfs, "/mnt/other", p, 0), 0);
        tm_path(p, sizeof(p), "single.txt");
        EQ(cloche__vfs_mount(x->vfs, "/etc/single.txt", p, 1), 0);
    }
    cloche__wasi_config cfg = t->cfg;
    cfg.root = x->vfs;
    EQ(cloche__wasi_new(&x->w, &cfg), 0);
}

static void target_free(target *x)
{
    cloche__wasi_free(x->w);
    cloche__vfs_free(x->vfs);
}

static uint8_t *save(tw *t, size_t *len)
{
    uint8_t *blob = NULL;
    *len = 0;
    EQ(cloche__wasi_save(t->w, &blob, len), 0);
    return blob;
}

/* Load into x; on failure check that x is exactly as before. */
static int load_checked(target *x, const uint8_t *blob, size_t len)
{
    uint8_t *b0 = NULL, *b1 = NULL;
    size_t l0 = 0, l1 = 0;
    EQ(cloche__wasi_save(x->w, &b0, &l0), 0);
    int rc = cloche__wasi_load(x->w, blob, len);
    if (rc) {
        EQ(cloche__wasi_save(x->w, &b1, &l1), 0);
        EQ(l0, l1);
        assert_memory_equal(b0, b1, l0);
    }
    free(b0);
    free(b1);
    return rc;
}

static void test_round_trip(void **state)
{
    tw *t = *state;
    uint32_t a, b, c, d, e, n;
    EQ(tw_open(t, 3, "mnt/m/sub/g.txt", 0, RIGHTS_RO, 0, &a), 0);
    EQ(tw_read(t, a, 2, &n), 0);
    EQ(tw_open(t, 3, "mnt/m/new.txt", CLOCHE__WASI_O_CREAT, RIGHTS_RW, 0, &b),
       0);
    EQ(tw_write(t, b, "hello", &n), 0);
    c = tm_opendir(t, 3, "mnt/m/sub");
    EQ(tw_open(t, 3, "etc/single.txt", 0, RIGHTS_RO, 0, &d), 0);
    EQ(cloche__wasi_fd_seek(TM_W(t), d, 3, CLOCHE__WASI_WHENCE_SET, A_OUT), 0);
    e = tm_opendir(t, 3, "mnt/m");
    /* the guest renames the directory c names: the fd follows */
    EQ(tw_rename(t, "mnt/m/sub", "mnt/m/sub2"), 0);
    size_t len;
    uint8_t *blob = save(t, &len);
    /* no host contents and no host path in the blob */
    assert_null(memmem(blob, len, "hello", 5));
    assert_null(memmem(blob, len, "in sub", 6));
    assert_null(memmem(blob, len, "single file", 11));
    assert_null(memmem(blob, len, g_top, strlen(g_top)));
    target x;
    target_new(t, &x, T_SAME);
    EQ(load_checked(&x, blob, len), 0);
    cloche__wasi *w0 = t->w; /* the same fake memory, the restored context */
    t->w = x.w;
    EQ(tw_read(t, a, 10, &n), 0);
    EQ(n, 4);
    assert_memory_equal(t->mem + A_BUF, " sub", 4);
    EQ(tw_write(t, b, "!", &n), 0);
    assert_string_equal(tm_read("m/new.txt"), "hello!");
    assert_string_equal(tm_guest_read(t, c, "g.txt"), "in sub");
    EQ(tw_read(t, d, 20, &n), 0);
    assert_memory_equal(t->mem + A_BUF, "gle file", 8);
    EQ(cloche__wasi_fd_readdir(TM_W(t), e, A_BUF, 4096, 0, A_OUT), 0);
    assert_true(rd32(t, A_OUT) > 100);
    EQ(tw_stat(t, 3, "mnt/m/sub2/g.txt"), 0);
    EQ(tw_open(t, 3, "mnt/m/x", CLOCHE__WASI_O_CREAT, RIGHTS_RW, 0, &n), 0);
    assert_true(tm_exists("m/x"));
    t->w = w0;
    /* the source is unaffected and both keep working (own offsets) */
    EQ(tw_write(t, b, "?", &n), 0);
    assert_string_equal(tm_read("m/new.txt"), "hello?");
    target_free(&x);
    free(blob);
}

static void test_mismatched_targets(void **state)
{
    tw *t = *state;
    uint32_t a, n;
    size_t len;
    EQ(tw_open(t, 3, "mnt/m/f.txt", 0, RIGHTS_RO, 0, &a), 0);
    uint8_t *blob = save(t, &len);
    const int kinds[] = {T_NONE, T_ELSEWHERE, T_RO, T_EXTRA};
    for (size_t k = 0; k < 4; k++) {
        target x;
        target_new(t, &x, kinds[k]);
        EQ(load_checked(&x, blob, len), CLOCHE__EINVAL);
        target_free(&x);
    }
    /* the host file went away, or became a link, a FIFO or a directory */
    char p[512];
    tm_path(p, sizeof(p), "m/f.txt");
    const char *what[] = {"gone", "link", "fifo", "dir"};
    EQ(unlink(p), 0);
    for (size_t k = 0; k < 4; k++) {
        target x;
        if (k == 1)
            EQ(symlink("../secret", p), 0);
        if (k == 2)
            EQ(mkfifo(p, 0644), 0);
        if (k == 3)
            EQ(mkdir(p, 0755), 0);
        target_new(t, &x, T_SAME);
        if (load_checked(&x, blob, len) != CLOCHE__EINVAL)
            fail_msg("f.txt %s: loaded", what[k]);
        target_free(&x);
        if (k == 3)
            EQ(rmdir(p), 0);
        else if (k > 0)
            EQ(unlink(p), 0);
    }
    tm_write("m/f.txt", "back");
    target x;
    target_new(t, &x, T_SAME);
    EQ(load_checked(&x, blob, len), 0);
    cloche__wasi *w0 = t->w;
    t->w = x.w;
    EQ(tw_read(t, a, 10, &n), 0);
    assert_memory_equal(t->mem + A_BUF, "back", 4);
    t->w = w0;
    target_free(&x);
    free(blob);
}

/* Replace the saved relative path `from` in a blob by `to` (same length)
 * and check that loading refuses it. */
static void forge(tw *t, const char *create, const char *to)
{
    char rel[64];
    uint32_t fd;
    size_t len;
    snprintf(rel, sizeof(rel), "m/%s", create);
    tm_write(rel, "forged");
    snprintf(rel, sizeof(rel), "mnt/m/%s", create);
    EQ(tw_open(t, 3, rel, 0, RIGHTS_RO, 0, &fd), 0);
    uint8_t *blob = save(t, &len);
    uint8_t *at = memmem(blob, len, create, strlen(create));
    assert_non_null(at);
    assert_true(strlen(to) == strlen(create));
    memcpy(at, to, strlen(to));
    target x;
    target_new(t, &x, T_SAME);
    if (load_checked(&x, blob, len) != CLOCHE__EINVAL)
        fail_msg("forged path %s loaded", to);
    target_free(&x);
    free(blob);
    EQ(cloche__wasi_fd_close(TM_W(t), fd), 0);
}

static void test_forged_paths(void **state)
{
    tw *t = *state;
    forge(t, "aaaaaaaaa", "../secret");
    forge(t, "aaaaaaaaa", "sub/../..");
    forge(t, "aaaaaaaaa", "/etc/pass");
    forge(t, "aaaaaaaaa", "sub//g.tx");
    forge(t, "aaaaaaaaa", "./f.txt/.");
    forge(t, "aaaaaaaaa", "f.txt/xyz");
    forge(t, "bbbbbbbbbbb", "link_secret");
    forge(t, "bbbbbbbbbbb", "link_out/se");
    forge(t, "cccc", "fifo");
    forge(t, "cccc", "sub/");
    forge(t, "ddd", "sub"); /* a file record naming a directory */
}

/* Every prefix, and every single byte changed, of a blob with mounts:
 * never a crash, a leak or a leaked descriptor. */
static void test_truncated_and_mutated(void **state)
{
    tw *t = *state;
    uint32_t fd;
    size_t len;
    EQ(tw_open(t, 3, "mnt/m/sub/g.txt", 0, RIGHTS_RO, 0, &fd), 0);
    EQ(tw_open(t, 3, "etc/single.txt", 0, RIGHTS_RO, 0, &fd), 0);
    fd = tm_opendir(t, 3, "mnt/other");
    uint8_t *blob = save(t, &len);
    target x;
    target_new(t, &x, T_SAME);
    for (size_t k = 0; k < len; k++)
        EQ(load_checked(&x, blob, k), CLOCHE__EINVAL);
    for (size_t k = 0; k < len; k++) {
        for (int bit = 0; bit < 8; bit += 3) {
            blob[k] ^= (uint8_t)(1u << bit);
            int rc = cloche__wasi_load(x.w, blob, len);
            blob[k] ^= (uint8_t)(1u << bit);
            if (rc == 0) { /* harmless change: start over on a fresh one */
                target_free(&x);
                target_new(t, &x, T_SAME);
            }
        }
    }
    EQ(cloche__wasi_load(x.w, blob, len), 0);
    target_free(&x);
    free(blob);
    EQ(tm_count_fds(), g_fds0 + 3 + 1); /* the mounts, the source's g.txt */
}

static void test_load_alloc_failures(void **state)
{
    tw *t = *state;
    uint32_t fd;
    size_t len;
    EQ(tw_open(t, 3, "mnt/m/sub/g.txt", 0, RIGHTS_RO, 0, &fd), 0);
    fd = tm_opendir(t, 3, "mnt/m/sub/deeper");
    uint8_t *blob = save(t, &len);
    target x;
    target_new(t, &x, T_SAME);
    int rc = CLOCHE__ENOMEM;
    for (long k = 0; rc == CLOCHE__ENOMEM && k < 500; k++) {
        cloche__alloc_fail_after(k);
        rc = cloche__wasi_load(x.w, blob, len);
        cloche__alloc_fail_after(-1);
    }
    EQ(rc, 0);
    target_free(&x);
    free(blob);
}

int main(void)
{
#define TRW(f) cmocka_unit_test_setup_teardown(f, tm_setup_rw, tm_teardown)
    const struct CMUnitTest tests[] = {
        TRW(test_round_trip),
        TRW(test_mismatched_targets),
        TRW(test_forged_paths),
        TRW(test_truncated_and_mutated),
        TRW(test_load_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
