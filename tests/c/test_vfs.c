/*
 * test_vfs.c - the VFS tree: embedder helpers, borrowed and owned data,
 * quotas, read-only marks, directory cookies, unlink while open,
 * allocation failures, deep trees.
 */
#include "test_wasi_util.h"

#include <stdio.h>

static long g_live0;

static int leak_setup(void **state)
{
    (void)state;
    g_live0 = cloche__alloc_live();
    return 0;
}

static int leak_teardown(void **state)
{
    (void)state;
    cloche__alloc_fail_after(-1);
    assert_int_equal(cloche__alloc_live(), g_live0);
    return 0;
}

static cloche__vfs *new_vfs(uint64_t bytes, uint64_t nodes)
{
    cloche__vfs *v;
    cloche__vfs_limits lim = {bytes, nodes, 0};
    assert_int_equal(cloche__vfs_new(&v, &lim), 0);
    return v;
}

static cloche__vfs_node *get(cloche__vfs *v, const char *path)
{
    cloche__vfs_node *n = NULL;
    int rc = cloche__vfs_lookup(&n, v, cloche__vfs_root(v), path, strlen(path));
    assert_int_equal(rc, 0);
    return n; /* with a reference */
}

static void test_borrowed_zero_copy(void **state)
{
    (void)state;
    static const uint8_t img[] = "0123456789abcdef"; /* 16 bytes */
    cloche__vfs *v = new_vfs(0, 0); /* no quota at all: ro data is free */
    assert_int_equal(cloche__vfs_add_file_ro(v, "/usr/lib/py.zip", img, 16), 0);
    const uint8_t *data;
    size_t len;
    assert_int_equal(cloche__vfs_read_file(&data, &len, v, "usr/lib/py.zip"), 0);
    assert_ptr_equal(data, img);
    assert_int_equal(len, 16);
    assert_int_equal(cloche__vfs_add_file_ro(v, "/usr/lib/py.zip", img, 1),
                     CLOCHE__EEXIST);
    assert_int_equal(cloche__vfs_add_file_ro(v, "/usr/lib/py.zip/x", img, 1),
                     CLOCHE__ENOTDIR);
    assert_int_equal(cloche__vfs_add_file_ro(v, "/usr/lib/", img, 1),
                     CLOCHE__EINVAL);
    assert_int_equal(cloche__vfs_add_file_ro(v, "/usr/..", img, 1),
                     CLOCHE__EINVAL);
    uint64_t bytes, nodes;
    cloche__vfs_usage(v, &bytes, &nodes);
    assert_int_equal(bytes, 0);
    assert_int_equal(nodes, 0);
    /* the file and its created parents are read-only for the guest */
    cloche__vfs_node *f = get(v, "/usr/lib/py.zip");
    assert_int_equal(cloche__vfs_file_write(f, 0, img, 1), CLOCHE__EROFS);
    assert_int_equal(cloche__vfs_file_resize(f, 0), CLOCHE__EROFS);
    uint8_t buf[8];
    size_t n;
    cloche__vfs_file_read(&n, f, 14, buf, sizeof(buf));
    assert_int_equal(n, 2);
    assert_memory_equal(buf, "ef", 2);
    cloche__vfs_file_read(&n, f, 16, buf, sizeof(buf));
    assert_int_equal(n, 0);
    cloche__vfs_file_read(&n, f, UINT64_MAX, buf, sizeof(buf));
    assert_int_equal(n, 0);
    cloche__vfs_node_unref(f);
    cloche__vfs_node *root = cloche__vfs_root(v);
    assert_int_equal(cloche__vfs_mkdir(v, root, "usr/lib/d", 9), CLOCHE__EROFS);
    assert_int_equal(cloche__vfs_unlink(v, root, "usr/lib/py.zip", 14),
                     CLOCHE__EROFS);
    /* the embedder may still replace it: it becomes owned and writable */
    cloche__vfs_free(v);
}

static void test_write_read_replace(void **state)
{
    (void)state;
    cloche__vfs *v = new_vfs(100, 10);
    assert_int_equal(cloche__vfs_write_file(v, "/tmp/x/y.txt",
                                            (const uint8_t *)"abc", 3), 0);
    const uint8_t *data;
    size_t len;
    assert_int_equal(cloche__vfs_read_file(&data, &len, v, "/tmp/x/y.txt"), 0);
    assert_int_equal(len, 3);
    assert_memory_equal(data, "abc", 3);
    uint64_t bytes, nodes;
    cloche__vfs_usage(v, &bytes, &nodes);
    assert_int_equal(bytes, 3);
    assert_int_equal(nodes, 3); /* tmp, x, y.txt */
    assert_int_equal(cloche__vfs_write_file(v, "/tmp/x/y.txt",
                                            (const uint8_t *)"hello", 5), 0);
    cloche__vfs_usage(v, &bytes, &nodes);
    assert_int_equal(bytes, 5);
    assert_int_equal(nodes, 3);
    assert_int_equal(cloche__vfs_write_file(v, "/tmp/x", NULL, 0),
                     CLOCHE__EISDIR);
    assert_int_equal(cloche__vfs_read_file(&data, &len, v, "/tmp/x"),
                     CLOCHE__EISDIR);
    assert_int_equal(cloche__vfs_read_file(&data, &len, v, "/tmp/nope"),
                     CLOCHE__ENOENT);
    static const uint8_t ro[] = "RO";
    assert_int_equal(cloche__vfs_add_file_ro(v, "/tmp/ro", ro, 2), 0);
    assert_int_equal(cloche__vfs_write_file(v, "/tmp/ro",
                                            (const uint8_t *)"rw!", 3), 0);
    cloche__vfs_node *n = get(v, "/tmp/ro");
    assert_int_equal(cloche__vfs_node_readonly(n), 0);
    assert_int_equal(cloche__vfs_file_write(n, 3, (const uint8_t *)"?", 1), 0);
    cloche__vfs_node_unref(n);
    assert_int_equal(cloche__vfs_read_file(&data, &len, v, "/tmp/ro"), 0);
    assert_int_equal(len, 4);
    assert_memory_equal(data, "rw!?", 4);
    assert_int_equal(cloche__vfs_remove(v, "/tmp/x"), CLOCHE__ENOTEMPTY);
    assert_int_equal(cloche__vfs_remove(v, "/tmp/x/y.txt/"), CLOCHE__ENOTDIR);
    assert_int_equal(cloche__vfs_remove(v, "/tmp/x/y.txt"), 0);
    assert_int_equal(cloche__vfs_remove(v, "/tmp/x"), 0);
    assert_int_equal(cloche__vfs_remove(v, "/tmp/ro"), 0);
    assert_int_equal(cloche__vfs_remove(v, "/"), CLOCHE__EBUSY);
    assert_int_equal(cloche__vfs_remove(v, "/tmp/nope"), CLOCHE__ENOENT);
    cloche__vfs_usage(v, &bytes, &nodes);
    assert_int_equal(bytes, 0);
    assert_int_equal(nodes, 1);
    cloche__vfs_free(v);
}

static void test_byte_quota(void **state)
{
    (void)state;
    cloche__vfs *v = new_vfs(10, 10);
    uint8_t big[16] = {0};
    assert_int_equal(cloche__vfs_write_file(v, "/a", big, 11), CLOCHE__ENOSPC);
    assert_int_equal(cloche__vfs_write_file(v, "/a", big, 10), 0);
    assert_int_equal(cloche__vfs_write_file(v, "/b", big, 1), CLOCHE__ENOSPC);
    assert_int_equal(cloche__vfs_write_file(v, "/b", big, 0), 0);
    cloche__vfs_node *b = get(v, "/b"), *a = get(v, "/a");
    assert_int_equal(cloche__vfs_file_write(b, 0, big, 1), CLOCHE__ENOSPC);
    assert_int_equal(cloche__vfs_file_resize(b, 1), CLOCHE__ENOSPC);
    assert_int_equal(cloche__vfs_file_resize(a, 4), 0);
    assert_int_equal(cloche__vfs_file_write(b, 0, big, 6), 0);
    assert_int_equal(cloche__vfs_file_write(b, 6, big, 1), CLOCHE__ENOSPC);
    assert_int_equal(cloche__vfs_file_size(b), 6);
    /* overwriting inside the file costs nothing */
    assert_int_equal(cloche__vfs_file_write(b, 2, big, 4), 0);
    assert_int_equal(cloche__vfs_file_write(b, UINT64_MAX - 1, big, 4),
                     CLOCHE__EFBIG);
    assert_int_equal(cloche__vfs_file_resize(b, UINT64_MAX), CLOCHE__EFBIG);
    uint64_t bytes;
    cloche__vfs_usage(v, &bytes, NULL);
    assert_int_equal(bytes, 10);
    /* an unlinked but open file still holds its bytes */
    assert_int_equal(cloche__vfs_remove(v, "/b"), 0);
    cloche__vfs_usage(v, &bytes, NULL);
    assert_int_equal(bytes, 10);
    cloche__vfs_node_unref(b);
    cloche__vfs_usage(v, &bytes, NULL);
    assert_int_equal(bytes, 4);
    cloche__vfs_node_unref(a);
    cloche__vfs_free(v);
}

static void test_node_quota(void **state)
{
    (void)state;
    cloche__vfs *v = new_vfs(100, 2);
    cloche__vfs_node *root = cloche__vfs_root(v), *n;
    assert_int_equal(cloche__vfs_mkdir(v, root, "d", 1), 0);
    assert_int_equal(cloche__vfs_open(&n, v, root, "d/f", 3, CLOCHE__VFS_O_CREAT),
                     0);
    cloche__vfs_node_unref(n);
    assert_int_equal(cloche__vfs_mkdir(v, root, "e", 1), CLOCHE__EDQUOT);
    assert_int_equal(cloche__vfs_open(&n, v, root, "g", 1, CLOCHE__VFS_O_CREAT),
                     CLOCHE__EDQUOT);
    assert_int_equal(cloche__vfs_mkdir_p(v, "/p/q", 0), CLOCHE__EDQUOT);
    /* read-only structure is not charged */
    assert_int_equal(cloche__vfs_mkdir_p(v, "/ro/dir", 1), 0);
    assert_int_equal(cloche__vfs_unlink(v, root, "d/f", 3), 0);
    assert_int_equal(cloche__vfs_mkdir(v, root, "e", 1), 0);
    uint64_t nodes;
    cloche__vfs_usage(v, NULL, &nodes);
    assert_int_equal(nodes, 2);
    cloche__vfs_free(v);
}

static void test_readonly_marks(void **state)
{
    (void)state;
    cloche__vfs *v = new_vfs(100, 100);
    cloche__vfs_node *root = cloche__vfs_root(v), *n;
    assert_int_equal(cloche__vfs_mkdir_p(v, "/tmp", 0), 0);
    assert_int_equal(cloche__vfs_write_file(v, "/etc/conf", (const uint8_t *)"c", 1), 0);
    assert_int_equal(cloche__vfs_set_readonly(v, "/", 1), 0);
    assert_int_equal(cloche__vfs_set_readonly(v, "/etc", 1), 0);
    assert_int_equal(cloche__vfs_set_readonly(v, "/nope", 1), CLOCHE__ENOENT);
    assert_int_equal(cloche__vfs_mkdir(v, root, "x", 1), CLOCHE__EROFS);
    assert_int_equal(cloche__vfs_mkdir(v, root, "tmp", 3), CLOCHE__EEXIST);
    assert_int_equal(cloche__vfs_mkdir(v, root, "tmp/x", 5), 0);
    assert_int_equal(cloche__vfs_rmdir(v, root, "tmp", 3), CLOCHE__EROFS);
    assert_int_equal(cloche__vfs_rmdir(v, root, "tmp/x", 5), 0);
    assert_int_equal(cloche__vfs_open(&n, v, root, "new", 3, CLOCHE__VFS_O_CREAT),
                     CLOCHE__EROFS);
    /* the file itself is writable: its directory only guards its name */
    assert_int_equal(cloche__vfs_open(&n, v, root, "etc/conf", 8,
                                      CLOCHE__VFS_O_WRITE | CLOCHE__VFS_O_CREAT),
                     0);
    cloche__vfs_node_unref(n);
    assert_int_equal(cloche__vfs_unlink(v, root, "etc/conf", 8), CLOCHE__EROFS);
    assert_int_equal(cloche__vfs_rename(v, root, "etc/conf", 8, root, "tmp/c", 5),
                     CLOCHE__EROFS);
    assert_int_equal(cloche__vfs_set_readonly(v, "/etc/conf", 1), 0);
    assert_int_equal(cloche__vfs_open(&n, v, root, "etc/conf", 8,
                                      CLOCHE__VFS_O_WRITE),
                     CLOCHE__EROFS);
    assert_int_equal(cloche__vfs_open(&n, v, root, "etc/conf", 8,
                                      CLOCHE__VFS_O_TRUNC),
                     CLOCHE__EROFS);
    assert_int_equal(cloche__vfs_open(&n, v, root, "etc/conf", 8, 0), 0);
    assert_int_equal(cloche__vfs_node_readonly(n), 1);
    assert_int_equal(cloche__vfs_set_times(n, 1, 2, CLOCHE__VFS_SET_ATIM, 1),
                     CLOCHE__EROFS);
    assert_int_equal(cloche__vfs_set_times(n, 1, 2, CLOCHE__VFS_SET_ATIM, 0), 0);
    cloche__vfs_stat st;
    cloche__vfs_node_stat(&st, n);
    assert_int_equal(st.atim, 1);
    assert_int_equal(st.mtim, CLOCHE__EPOCH_2000_NS);
    assert_int_equal(st.readonly, 1);
    cloche__vfs_node_unref(n);
    /* mkdir_p marks an existing last component too */
    assert_int_equal(cloche__vfs_mkdir_p(v, "/tmp", 1), 0);
    assert_int_equal(cloche__vfs_mkdir(v, root, "tmp/y", 5), CLOCHE__EROFS);
    assert_int_equal(cloche__vfs_mkdir_p(v, "/etc/conf", 0), CLOCHE__ENOTDIR);
    cloche__vfs_free(v);
}

/* Cookies: 0 ".", 1 "..", then creation order; stable across changes. */
static void test_dir_cookies(void **state)
{
    (void)state;
    cloche__vfs *v = new_vfs(100, 100);
    cloche__vfs_node *root = cloche__vfs_root(v);
    assert_int_equal(cloche__vfs_mkdir(v, root, "d", 1), 0);
    cloche__vfs_node *d = get(v, "/d");
    const char *names[] = {"zeta", "alpha", "mid"};
    for (int i = 0; i < 3; i++) {
        char path[16];
        snprintf(path, sizeof(path), "d/%s", names[i]);
        assert_int_equal(cloche__vfs_mkdir(v, root, path, strlen(path)), 0);
    }
    cloche__vfs_dirent e;
    assert_int_equal(cloche__vfs_dir_next(&e, d, 0), 1);
    assert_int_equal(e.name_len, 1);
    assert_memory_equal(e.name, ".", 1);
    assert_int_equal(e.next, 1);
    cloche__vfs_stat ds;
    cloche__vfs_node_stat(&ds, d);
    assert_int_equal(e.ino, ds.ino);
    assert_int_equal(cloche__vfs_dir_next(&e, d, 1), 1);
    assert_int_equal(e.name_len, 2);
    assert_memory_equal(e.name, "..", 2);
    assert_int_equal(e.next, 2);
    cloche__vfs_stat rs;
    cloche__vfs_node_stat(&rs, root);
    assert_int_equal(e.ino, rs.ino);
    uint64_t c = 2;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(cloche__vfs_dir_next(&e, d, c), 1);
        assert_int_equal(e.name_len, strlen(names[i]));
        assert_memory_equal(e.name, names[i], e.name_len);
        assert_int_equal(e.type, CLOCHE__VFS_DIR);
        assert_int_equal(e.next, 3 + (uint64_t)i);
        c = e.next;
    }
    assert_int_equal(cloche__vfs_dir_next(&e, d, c), 0);
    assert_int_equal(cloche__vfs_dir_next(&e, d, UINT64_MAX), 0);
    /* remove the first, add one: the cookie after "zeta" still resumes
     * at "alpha", and the new entry comes last */
    assert_int_equal(cloche__vfs_rmdir(v, root, "d/zeta", 6), 0);
    assert_int_equal(cloche__vfs_mkdir(v, root, "d/new", 5), 0);
    assert_int_equal(cloche__vfs_dir_next(&e, d, 3), 1);
    assert_memory_equal(e.name, "alpha", 5);
    assert_int_equal(cloche__vfs_dir_next(&e, d, 2), 1);
    assert_memory_equal(e.name, "alpha", 5);
    assert_int_equal(cloche__vfs_dir_next(&e, d, 5), 1);
    assert_memory_equal(e.name, "new", 3);
    assert_int_equal(e.next, 6);
    cloche__vfs_stat st;
    cloche__vfs_node_stat(&st, d);
    assert_int_equal(st.nlink, 5); /* 2 + alpha, mid, new */
    cloche__vfs_node_unref(d);
    cloche__vfs_free(v);
}

static void test_unlink_while_open(void **state)
{
    (void)state;
    cloche__vfs *v = new_vfs(100, 100);
    cloche__vfs_node *root = cloche__vfs_root(v), *f;
    assert_int_equal(cloche__vfs_open(&f, v, root, "f", 1,
                                      CLOCHE__VFS_O_CREAT | CLOCHE__VFS_O_WRITE),
                     0);
    assert_int_equal(cloche__vfs_file_write(f, 0, (const uint8_t *)"data", 4), 0);
    assert_int_equal(cloche__vfs_unlink(v, root, "f", 1), 0);
    cloche__vfs_stat st;
    cloche__vfs_node_stat(&st, f);
    assert_int_equal(st.nlink, 0);
    assert_int_equal(st.size, 4);
    uint8_t buf[4];
    size_t n;
    cloche__vfs_file_read(&n, f, 0, buf, 4);
    assert_int_equal(n, 4);
    assert_memory_equal(buf, "data", 4);
    assert_int_equal(cloche__vfs_file_write(f, 4, (const uint8_t *)"!", 1), 0);
    cloche__vfs_node *g;
    assert_int_equal(cloche__vfs_lookup(&g, v, root, "f", 1), CLOCHE__ENOENT);
    cloche__vfs_node_unref(f);
    cloche__vfs_free(v);
}

static void test_resize_and_shrink(void **state)
{
    (void)state;
    cloche__vfs *v = new_vfs(1u << 20, 100);
    cloche__vfs_node *root = cloche__vfs_root(v), *f;
    assert_int_equal(cloche__vfs_open(&f, v, root, "f", 1,
                                      CLOCHE__VFS_O_CREAT | CLOCHE__VFS_O_WRITE),
                     0);
    assert_int_equal(cloche__vfs_file_write(f, 5, (const uint8_t *)"x", 1), 0);
    uint8_t buf[8];
    size_t n;
    cloche__vfs_file_read(&n, f, 0, buf, sizeof(buf));
    assert_int_equal(n, 6);
    assert_memory_equal(buf, "\0\0\0\0\0x", 6);
    assert_int_equal(cloche__vfs_file_resize(f, 100000), 0);
    assert_int_equal(cloche__vfs_file_resize(f, 3), 0);
    assert_int_equal(cloche__vfs_file_size(f), 3);
    assert_int_equal(cloche__vfs_file_resize(f, 8), 0);
    cloche__vfs_file_read(&n, f, 0, buf, sizeof(buf));
    assert_int_equal(n, 8);
    assert_memory_equal(buf, "\0\0\0\0\0\0\0\0", 8);
    uint64_t bytes;
    cloche__vfs_usage(v, &bytes, NULL);
    assert_int_equal(bytes, 8);
    assert_int_equal(cloche__vfs_file_resize(f, 0), 0);
    cloche__vfs_node_unref(f);
    cloche__vfs_free(v);
}

/* Every allocation of a sequence fails in turn; each failure must come
 * back as ENOMEM and leave no leak and no half-made entry behind. */
static void test_enomem_everywhere(void **state)
{
    (void)state;
    int ok = 0;
    for (long k = 0; !ok && k < 100; k++) {
        cloche__vfs *v = NULL;
        cloche__alloc_fail_after(k);
        int rc = cloche__vfs_new(&v, NULL);
        if (rc == 0)
            rc = cloche__vfs_mkdir_p(v, "/a/b", 0);
        if (rc == 0)
            rc = cloche__vfs_write_file(v, "/a/b/f", (const uint8_t *)"xyz", 3);
        if (rc == 0)
            rc = cloche__vfs_add_file_ro(v, "/r/o", (const uint8_t *)"r", 1);
        if (rc == 0) {
            cloche__vfs_node *f;
            rc = cloche__vfs_open(&f, v, cloche__vfs_root(v), "a/g", 3,
                                  CLOCHE__VFS_O_CREAT | CLOCHE__VFS_O_WRITE);
            if (rc == 0) {
                rc = cloche__vfs_file_write(f, 0, (const uint8_t *)"q", 1);
                cloche__vfs_node_unref(f);
            }
        }
        if (rc == 0)
            rc = cloche__vfs_rename(v, cloche__vfs_root(v), "a/g", 3,
                                    cloche__vfs_root(v), "r2", 2);
        cloche__alloc_fail_after(-1);
        if (rc == 0) {
            ok = 1;
            const uint8_t *data;
            size_t len;
            assert_int_equal(cloche__vfs_read_file(&data, &len, v, "/r2"), 0);
            assert_int_equal(len, 1);
        } else {
            assert_int_equal(rc, CLOCHE__ENOMEM);
        }
        if (v) { /* the VFS stays consistent after any failure */
            uint64_t bytes;
            cloche__vfs_usage(v, &bytes, NULL);
            assert_true(bytes <= 4);
        }
        cloche__vfs_free(v);
    }
    assert_true(ok);
}

/* A 20000-level tree is built and freed without recursion. */
static void test_deep_tree(void **state)
{
    (void)state;
    cloche__vfs *v = new_vfs(UINT64_MAX, UINT64_MAX);
    cloche__vfs_node *cur = cloche__vfs_root(v);
    cloche__vfs_node_ref(cur);
    for (int i = 0; i < 20000; i++) {
        cloche__vfs_node *next;
        assert_int_equal(cloche__vfs_mkdir(v, cur, "d", 1), 0);
        assert_int_equal(cloche__vfs_lookup(&next, v, cur, "d", 1), 0);
        cloche__vfs_node_unref(cur);
        cur = next;
    }
    cloche__vfs_node *up;
    assert_int_equal(cloche__vfs_lookup(&up, v, cur, "../../..", 8), 0);
    cloche__vfs_node_unref(up);
    /* moving the root's child under its own descendant is refused */
    assert_int_equal(cloche__vfs_rename(v, cloche__vfs_root(v), "d", 1, cur,
                                        "x", 1),
                     CLOCHE__EINVAL);
    cloche__vfs_node_unref(cur);
    cloche__vfs_free(v);
}

static void test_status_names(void **state)
{
    (void)state;
    assert_string_equal(cloche__status_name(0), "OK");
    assert_string_equal(cloche__status_name(CLOCHE__ENOSPC), "ENOSPC");
    assert_string_equal(cloche__status_name(-9999), "E?");
    assert_string_equal(cloche__status_message(CLOCHE__EROFS),
                        "read-only file system");
    assert_string_equal(cloche__status_message(1), "unknown error");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, leak_setup, leak_teardown)
    const struct CMUnitTest tests[] = {
        T(test_borrowed_zero_copy), T(test_write_read_replace),
        T(test_byte_quota),         T(test_node_quota),
        T(test_readonly_marks),     T(test_dir_cookies),
        T(test_unlink_while_open),  T(test_resize_and_shrink),
        T(test_enomem_everywhere),  T(test_deep_tree),
        T(test_status_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
