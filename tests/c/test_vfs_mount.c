/*
 * test_vfs_mount.c - cloche__vfs_mount itself and the VFS API over mounts:
 * argument and host errors, where a mount may go, the embedder helpers
 * refusing mount paths, node calls on host objects, allocation failures.
 */
#include "test_wasi_mount_util.h"

#define EQ assert_int_equal

typedef struct tv {
    cloche__vfs *vfs;
    long live0;
} tv;

static int setup(void **state)
{
    tv *v = calloc(1, sizeof(*v));
    g_fds0 = tm_count_fds();
    tm_build_tree();
    v->live0 = cloche__alloc_live();
    EQ(cloche__vfs_new(&v->vfs, NULL), 0);
    EQ(cloche__vfs_mkdir_p(v->vfs, "/tmp", 0), 0);
    *state = v;
    return 0;
}

static int teardown(void **state)
{
    tv *v = *state;
    cloche__alloc_fail_after(-1);
    cloche__vfs_free(v->vfs);
    EQ(cloche__alloc_live(), v->live0);
    free(v);
    tm_remove_tree();
    EQ(tm_count_fds(), g_fds0);
    return 0;
}

static void test_mount_errors(void **state)
{
    tv *v = *state;
    char p[512], q[512];
    tm_path(p, sizeof(p), "m");
    EQ(cloche__vfs_mount(v->vfs, NULL, p, 0), CLOCHE__EINVAL);
    EQ(cloche__vfs_mount(v->vfs, "/x", NULL, 0), CLOCHE__EINVAL);
    EQ(cloche__vfs_mount(v->vfs, "/x", "", 0), CLOCHE__EINVAL);
    EQ(cloche__vfs_mount(v->vfs, "/", p, 0), CLOCHE__EINVAL);
    EQ(cloche__vfs_mount(v->vfs, "", p, 0), CLOCHE__ENOENT);
    EQ(cloche__vfs_mount(v->vfs, "/a/../b", p, 0), CLOCHE__EINVAL);
    EQ(cloche__vfs_mount(v->vfs, "/x/", p, 0), CLOCHE__EINVAL);
    tm_path(q, sizeof(q), "missing");
    EQ(cloche__vfs_mount(v->vfs, "/x", q, 0), CLOCHE__ENOENT);
    tm_path(q, sizeof(q), "m/f.txt/x");
    EQ(cloche__vfs_mount(v->vfs, "/x", q, 0), CLOCHE__ENOTDIR);
    tm_path(q, sizeof(q), "m/fifo");
    alarm(10);
    EQ(cloche__vfs_mount(v->vfs, "/x", q, 0), CLOCHE__EINVAL);
    alarm(0);
    EQ(cloche__vfs_mount(v->vfs, "/x", "/dev/null", 0), CLOCHE__EINVAL);
    /* the guest path */
    EQ(cloche__vfs_write_file(v->vfs, "/tmp/file", (const uint8_t *)"x", 1),
       0);
    EQ(cloche__vfs_mount(v->vfs, "/tmp/file", p, 0), CLOCHE__EEXIST);
    EQ(cloche__vfs_mount(v->vfs, "/tmp/file/x", p, 0), CLOCHE__ENOTDIR);
    EQ(cloche__vfs_mkdir_p(v->vfs, "/tmp/full/x", 0), 0);
    EQ(cloche__vfs_mount(v->vfs, "/tmp/full", p, 0), CLOCHE__EEXIST);
    EQ(cloche__vfs_mount(v->vfs, "/tmp/full/x", p, 0), 0); /* empty dir */
    EQ(cloche__vfs_mount(v->vfs, "/tmp/full/x", p, 0), CLOCHE__EEXIST);
    EQ(cloche__vfs_mount(v->vfs, "/tmp/full/x/sub", p, 0), CLOCHE__EXDEV);
    tm_path(q, sizeof(q), "single.txt");
    EQ(cloche__vfs_mount(v->vfs, "/tmp/full", q, 0), CLOCHE__EEXIST);
    EQ(cloche__vfs_mount(v->vfs, "/s/single", q, 1), 0);
    EQ(cloche__vfs_mount(v->vfs, "/s/single/x", p, 1), CLOCHE__ENOTDIR);
    /* a directory held open cannot become a mount point */
    cloche__vfs_node *held;
    EQ(cloche__vfs_mkdir_p(v->vfs, "/tmp/held", 0), 0);
    EQ(cloche__vfs_lookup(&held, v->vfs, cloche__vfs_root(v->vfs), "tmp/held",
                          8),
       0);
    EQ(cloche__vfs_mount(v->vfs, "/tmp/held", p, 0), CLOCHE__EBUSY);
    cloche__vfs_node_unref(held);
    /* the mount limit */
    char g[64];
    int rc = 0, i;
    for (i = 0; i < 100 && rc == 0; i++) {
        snprintf(g, sizeof(g), "/many/%d", i);
        rc = cloche__vfs_mount(v->vfs, g, p, 1);
    }
    EQ(rc, CLOCHE__EMFILE);
    EQ(i - 1 + 2, CLOCHE__VFS_MAX_MOUNTS);
}

static void test_embedder_helpers(void **state)
{
    tv *v = *state;
    char p[512], q[512];
    const uint8_t *data;
    size_t len;
    tm_path(p, sizeof(p), "m");
    tm_path(q, sizeof(q), "single.txt");
    EQ(cloche__vfs_mount(v->vfs, "/mnt/m", p, 0), 0);
    EQ(cloche__vfs_mount(v->vfs, "/etc/single.txt", q, 0), 0);
    EQ(cloche__vfs_add_file_ro(v->vfs, "/mnt/m/x", (const uint8_t *)"x", 1),
       CLOCHE__EXDEV);
    EQ(cloche__vfs_add_file_ro(v->vfs, "/mnt/m/sub/x", (const uint8_t *)"x",
                               1),
       CLOCHE__EXDEV);
    EQ(cloche__vfs_write_file(v->vfs, "/mnt/m/f.txt", (const uint8_t *)"x",
                              1),
       CLOCHE__EXDEV);
    EQ(cloche__vfs_write_file(v->vfs, "/etc/single.txt",
                              (const uint8_t *)"x", 1),
       CLOCHE__EXDEV);
    EQ(cloche__vfs_mkdir_p(v->vfs, "/mnt/m/newdir", 0), CLOCHE__EXDEV);
    EQ(cloche__vfs_mkdir_p(v->vfs, "/mnt/m", 1), CLOCHE__EXDEV);
    EQ(cloche__vfs_read_file(&data, &len, v->vfs, "/etc/single.txt"),
       CLOCHE__EXDEV);
    EQ(cloche__vfs_read_file(&data, &len, v->vfs, "/mnt/m/f.txt"),
       CLOCHE__EXDEV);
    EQ(cloche__vfs_set_readonly(v->vfs, "/mnt/m", 1), CLOCHE__EXDEV);
    EQ(cloche__vfs_remove(v->vfs, "/mnt/m"), CLOCHE__EBUSY);
    EQ(cloche__vfs_remove(v->vfs, "/etc/single.txt"), CLOCHE__EBUSY);
    EQ(cloche__vfs_remove(v->vfs, "/mnt/m/f.txt"), CLOCHE__EXDEV);
    EQ(cloche__vfs_set_readonly(v->vfs, "/", 1), 0);
    assert_string_equal(tm_read("m/f.txt"), "hello host");
    assert_string_equal(tm_read("single.txt"), "single file");
    assert_false(tm_exists("m/newdir"));
    assert_false(tm_exists("m/x"));
}

static void test_node_calls(void **state)
{
    tv *v = *state;
    char p[512];
    cloche__vfs_node *root = cloche__vfs_root(v->vfs), *d, *f;
    cloche__vfs_stat st;
    cloche__vfs_dirent e;
    tm_path(p, sizeof(p), "m");
    EQ(cloche__vfs_mount(v->vfs, "/mnt/m", p, 0), 0);
    EQ(cloche__vfs_lookup(&d, v->vfs, root, "mnt/m", 5), 0);
    assert_true(cloche__vfs_node_is_host(d));
    EQ(cloche__vfs_node_type(d), CLOCHE__VFS_DIR);
    EQ(cloche__vfs_node_getstat(&st, d), 0);
    EQ(st.type, CLOCHE__VFS_DIR);
    assert_true(st.dev >= 2);
    EQ(cloche__vfs_dir_read(&e, d, 0), 1);
    EQ(e.name_len, 1);
    EQ(cloche__vfs_dir_read(&e, d, 1), 1);
    EQ(e.name_len, 2);
    EQ(cloche__vfs_open(&f, v->vfs, d, "sub/g.txt", 9, CLOCHE__VFS_O_READ),
       0);
    assert_true(cloche__vfs_node_is_host(f));
    EQ(cloche__vfs_node_type(f), CLOCHE__VFS_FILE);
    uint8_t buf[16];
    size_t n;
    EQ(cloche__vfs_file_pread(&n, f, 3, buf, sizeof(buf)), 0);
    EQ(n, 3);
    assert_memory_equal(buf, "sub", 3);
    uint64_t size;
    EQ(cloche__vfs_file_getsize(&size, f), 0);
    EQ(size, 6);
    EQ(cloche__vfs_file_size(f), 6);
    EQ(cloche__vfs_file_pwrite(&n, f, 0, (const uint8_t *)"x", 1),
       CLOCHE__EBADF); /* opened for reading only */
    cloche__vfs_node_unref(f);
    EQ(cloche__vfs_open(&f, v->vfs, root, "mnt/m/new", 9,
                        CLOCHE__VFS_O_CREAT | CLOCHE__VFS_O_WRITE),
       0);
    EQ(cloche__vfs_file_pwrite(&n, f, 2, (const uint8_t *)"yz", 2), 0);
    EQ(n, 2);
    EQ(cloche__vfs_file_write(f, 4, (const uint8_t *)"!", 1), 0);
    EQ(cloche__vfs_file_resize(f, 6), 0);
    assert_memory_equal(tm_read("m/new"), "\0\0yz!\0", 6);
    EQ(cloche__vfs_node_sync(f, 1), 0);
    EQ(cloche__vfs_set_times(f, 1, 2000000000, CLOCHE__VFS_SET_MTIM, 1), 0);
    cloche__vfs_node_stat(&st, f);
    EQ(st.mtim, 2000000000);
    EQ(st.size, 6);
    EQ(st.nlink, 1);
    cloche__vfs_node_unref(f);
    /* VFS path calls */
    EQ(cloche__vfs_mkdir(v->vfs, d, "nd", 2), 0);
    EQ(cloche__vfs_rename(v->vfs, d, "nd", 2, d, "nd2", 3), 0);
    EQ(cloche__vfs_rmdir(v->vfs, d, "nd2", 3), 0);
    EQ(cloche__vfs_unlink(v->vfs, d, "new", 3), 0);
    EQ(cloche__vfs_lookup(&f, v->vfs, d, "..", 2), 0);
    assert_false(cloche__vfs_node_is_host(f));
    cloche__vfs_node_unref(f);
    cloche__vfs_node_unref(d);
    assert_false(tm_exists("m/new"));
}

/* Allocation failures while mounting leave no mount and no descriptor. */
static void test_mount_alloc_failures(void **state)
{
    tv *v = *state;
    char p[512];
    int rc = CLOCHE__ENOMEM;
    tm_path(p, sizeof(p), "m");
    for (long k = 0; rc == CLOCHE__ENOMEM && k < 100; k++) {
        cloche__alloc_fail_after(k);
        rc = cloche__vfs_mount(v->vfs, "/deep/er/mnt", p, 0);
        cloche__alloc_fail_after(-1);
        if (rc == CLOCHE__ENOMEM)
            EQ(tm_count_fds(), g_fds0);
    }
    EQ(rc, 0);
    EQ(tm_count_fds(), g_fds0 + 1);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_mount_errors),
        T(test_embedder_helpers),
        T(test_node_calls),
        T(test_mount_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
