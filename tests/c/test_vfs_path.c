/*
 * test_vfs_path.c - the VFS path resolver and the guest path operations,
 * as tables: ".." at the root, escapes, absolute paths, trailing slashes,
 * NUL bytes, empty components, over-long names and paths, deep paths.
 */
#include "test_wasi_util.h"

typedef struct pv {
    cloche__vfs *vfs;
    long live0;
} pv;

/* Tree: /a/b/c (dirs), /a/f (file "F"), /x (dir), /x/y (file). */
static int pv_setup(void **state)
{
    pv *p = calloc(1, sizeof(*p));
    p->live0 = cloche__alloc_live();
    assert_int_equal(cloche__vfs_new(&p->vfs, NULL), 0);
    assert_int_equal(cloche__vfs_mkdir_p(p->vfs, "/a/b/c", 0), 0);
    assert_int_equal(cloche__vfs_write_file(p->vfs, "/a/f", (const uint8_t *)"F", 1), 0);
    assert_int_equal(cloche__vfs_write_file(p->vfs, "/x/y", (const uint8_t *)"Y", 1), 0);
    *state = p;
    return 0;
}

static int pv_teardown(void **state)
{
    pv *p = *state;
    cloche__vfs_free(p->vfs);
    assert_int_equal(cloche__alloc_live(), p->live0);
    free(p);
    return 0;
}

/* The node at an absolute path (borrowed: the reference is dropped). */
static cloche__vfs_node *node_at(cloche__vfs *vfs, const char *path)
{
    cloche__vfs_node *n = NULL;
    assert_int_equal(cloche__vfs_lookup(&n, vfs, cloche__vfs_root(vfs), path,
                                        strlen(path)),
                     0);
    cloche__vfs_node_unref(n);
    return n;
}

typedef struct row {
    const char *base; /* directory the walk starts from */
    const char *path;
    size_t len;         /* 0: strlen(path) */
    int rc;             /* expected status */
    const char *expect; /* expected node when rc == 0 */
} row;

static const row TABLE[] = {
    {"/", "", 0, CLOCHE__ENOENT, NULL},
    {"/", ".", 0, 0, "/"},
    {"/", "/", 0, 0, "/"},
    {"/", "//", 0, 0, "/"},
    {"/", "..", 0, 0, "/"},
    {"/", "../../..", 0, 0, "/"},
    {"/", "/..", 0, 0, "/"},
    {"/", "../x", 0, 0, "/x"},
    {"/", "a/../../x", 0, 0, "/x"},
    {"/", "a/b/../../../../x/y", 0, 0, "/x/y"},
    {"/a/b", "..", 0, 0, "/a"},
    {"/a/b", "../..", 0, 0, "/"},
    {"/a/b", "../../../..", 0, 0, "/"},
    {"/a/b", "/x", 0, 0, "/x"},
    {"/a/b", "c", 0, 0, "/a/b/c"},
    {"/", "a//b///c", 0, 0, "/a/b/c"},
    {"/", "a/./b/./c/.", 0, 0, "/a/b/c"},
    {"/", "a/b/c/", 0, 0, "/a/b/c"},
    {"/", "a/b/c//", 0, 0, "/a/b/c"},
    {"/", "a/f", 0, 0, "/a/f"},
    {"/", "a/f/", 0, CLOCHE__ENOTDIR, NULL},
    {"/", "a/f/.", 0, CLOCHE__ENOTDIR, NULL},
    {"/", "a/f/..", 0, CLOCHE__ENOTDIR, NULL},
    {"/", "a/f/x", 0, CLOCHE__ENOTDIR, NULL},
    {"/", "a/nope", 0, CLOCHE__ENOENT, NULL},
    {"/", "a/nope/x", 0, CLOCHE__ENOENT, NULL},
    {"/", "a/nope/..", 0, CLOCHE__ENOENT, NULL},
    {"/", "a\0b", 3, CLOCHE__EINVAL, NULL},
    {"/", "a/b\0", 4, CLOCHE__EINVAL, NULL},
    {"/", "\0", 1, CLOCHE__EINVAL, NULL},
};

static void test_resolve_table(void **state)
{
    pv *p = *state;
    for (size_t i = 0; i < sizeof(TABLE) / sizeof(TABLE[0]); i++) {
        const row *r = &TABLE[i];
        cloche__vfs_node *base = node_at(p->vfs, r->base);
        cloche__vfs_node *n = NULL;
        size_t len = r->len ? r->len : strlen(r->path);
        int rc = cloche__vfs_lookup(&n, p->vfs, base, r->path, len);
        if (rc != r->rc)
            fail_msg("row %zu (%s from %s): got %s, want %s", i, r->path,
                     r->base, cloche__status_name(rc),
                     cloche__status_name(r->rc));
        if (rc == 0) {
            assert_ptr_equal(n, node_at(p->vfs, r->expect));
            cloche__vfs_node_unref(n);
        } else {
            assert_null(n);
        }
    }
}

/* Lengths: a name of 255 bytes is fine, 256 is not; a path of 4096 bytes is
 * fine, 4097 is not; 256 components are fine, 257 are not. */
static void test_limits(void **state)
{
    pv *p = *state;
    cloche__vfs_node *root = cloche__vfs_root(p->vfs), *n;
    char buf[CLOCHE__VFS_PATH_MAX + 8];
    memset(buf, 'n', sizeof(buf));
    assert_int_equal(cloche__vfs_lookup(&n, p->vfs, root, buf, 255),
                     CLOCHE__ENOENT);
    assert_int_equal(cloche__vfs_lookup(&n, p->vfs, root, buf, 256),
                     CLOCHE__ENAMETOOLONG);
    for (size_t i = 0; i < sizeof(buf); i += 2)
        buf[i] = '.', buf[i + 1] = '/'; /* "./././..." */
    assert_int_equal(cloche__vfs_lookup(&n, p->vfs, root, buf, 512), 0);
    cloche__vfs_node_unref(n);
    assert_int_equal(cloche__vfs_lookup(&n, p->vfs, root, buf, 514),
                     CLOCHE__ENAMETOOLONG); /* 257 components */
    memset(buf, '/', sizeof(buf));
    assert_int_equal(cloche__vfs_lookup(&n, p->vfs, root, buf, 4096), 0);
    cloche__vfs_node_unref(n);
    assert_int_equal(cloche__vfs_lookup(&n, p->vfs, root, buf, 4097),
                     CLOCHE__ENAMETOOLONG);
    /* "x/../" 51 times then "x/y": deep but within the component limit */
    size_t at = 0;
    for (int i = 0; i < 51; i++)
        memcpy(buf + at, "x/../", 5), at += 5;
    memcpy(buf + at, "x/y", 3);
    assert_int_equal(cloche__vfs_lookup(&n, p->vfs, root, buf, at + 3), 0);
    assert_ptr_equal(n, node_at(p->vfs, "/x/y"));
    cloche__vfs_node_unref(n);
}

/* A directory that was removed while held: "." works, ".." is gone. */
static void test_unlinked_base(void **state)
{
    pv *p = *state;
    cloche__vfs_node *root = cloche__vfs_root(p->vfs), *c, *n;
    assert_int_equal(cloche__vfs_lookup(&c, p->vfs, root, "a/b/c", 5), 0);
    assert_int_equal(cloche__vfs_rmdir(p->vfs, root, "a/b/c", 5), 0);
    assert_int_equal(cloche__vfs_lookup(&n, p->vfs, c, ".", 1), 0);
    assert_ptr_equal(n, c);
    cloche__vfs_node_unref(n);
    assert_int_equal(cloche__vfs_lookup(&n, p->vfs, c, "..", 2),
                     CLOCHE__ENOENT);
    /* nothing can be created in a removed directory */
    assert_int_equal(cloche__vfs_mkdir(p->vfs, c, "new", 3), CLOCHE__ENOENT);
    assert_int_equal(cloche__vfs_open(&n, p->vfs, c, "new", 3,
                                      CLOCHE__VFS_O_CREAT),
                     CLOCHE__ENOENT);
    assert_int_equal(cloche__vfs_rename(p->vfs, root, "x", 1, c, "x", 1),
                     CLOCHE__ENOENT);
    cloche__vfs_stat st;
    cloche__vfs_node_stat(&st, c);
    assert_int_equal(st.nlink, 0);
    cloche__vfs_node_unref(c);
}

typedef struct oprow {
    int op; /* 0 open, 1 mkdir, 2 rmdir, 3 unlink */
    const char *path;
    unsigned flags;
    int rc;
} oprow;

#define O_C CLOCHE__VFS_O_CREAT
#define O_X CLOCHE__VFS_O_EXCL
#define O_T CLOCHE__VFS_O_TRUNC
#define O_D CLOCHE__VFS_O_DIRECTORY
#define O_W CLOCHE__VFS_O_WRITE

static const oprow OPS[] = {
    {0, "a/f", 0, 0},
    {0, "a/f", O_D, CLOCHE__ENOTDIR},
    {0, "a/f/", 0, CLOCHE__ENOTDIR},
    {0, "a/f", O_C | O_X, CLOCHE__EEXIST},
    {0, "a", O_W, CLOCHE__EISDIR},
    {0, "a", O_C, CLOCHE__EISDIR},
    {0, "a", O_C | O_X, CLOCHE__EEXIST},
    {0, "a", O_T, CLOCHE__EISDIR},
    {0, "a", O_D, 0},
    {0, ".", O_D, 0},
    {0, "..", O_C, CLOCHE__EISDIR},
    {0, "new/", O_C, CLOCHE__EISDIR},
    {0, "new", O_C | O_D, CLOCHE__EINVAL},
    {0, "nope/new", O_C, CLOCHE__ENOENT},
    {0, "a/f/new", O_C, CLOCHE__ENOTDIR},
    {0, "", O_C, CLOCHE__ENOENT},
    {0, "/", O_C, CLOCHE__EISDIR},
    {0, "a/new", O_C | O_X | O_W, 0},
    {1, "a", 0, CLOCHE__EEXIST},
    {1, "a/f", 0, CLOCHE__EEXIST},
    {1, ".", 0, CLOCHE__EEXIST},
    {1, "..", 0, CLOCHE__EEXIST},
    {1, "/", 0, CLOCHE__EEXIST},
    {1, "a/f/d", 0, CLOCHE__ENOTDIR},
    {1, "nope/d", 0, CLOCHE__ENOENT},
    {1, "a/d/", 0, 0},
    {2, "/", 0, CLOCHE__EBUSY},
    {2, ".", 0, CLOCHE__EINVAL},
    {2, "a/..", 0, CLOCHE__ENOTEMPTY},
    {2, "a", 0, CLOCHE__ENOTEMPTY},
    {2, "a/f", 0, CLOCHE__ENOTDIR},
    {2, "a/nope", 0, CLOCHE__ENOENT},
    {2, "a/d/", 0, 0},
    {3, "a", 0, CLOCHE__EISDIR},
    {3, ".", 0, CLOCHE__EISDIR},
    {3, "/", 0, CLOCHE__EISDIR},
    {3, "a/f/", 0, CLOCHE__ENOTDIR},
    {3, "a/nope", 0, CLOCHE__ENOENT},
    {3, "a/new", 0, 0},
    {3, "a/new", 0, CLOCHE__ENOENT},
};

static void test_ops_table(void **state)
{
    pv *p = *state;
    cloche__vfs_node *root = cloche__vfs_root(p->vfs), *n;
    for (size_t i = 0; i < sizeof(OPS) / sizeof(OPS[0]); i++) {
        const oprow *r = &OPS[i];
        size_t len = strlen(r->path);
        int rc;
        switch (r->op) {
        case 0:
            rc = cloche__vfs_open(&n, p->vfs, root, r->path, len, r->flags);
            if (rc == 0)
                cloche__vfs_node_unref(n);
            break;
        case 1: rc = cloche__vfs_mkdir(p->vfs, root, r->path, len); break;
        case 2: rc = cloche__vfs_rmdir(p->vfs, root, r->path, len); break;
        default: rc = cloche__vfs_unlink(p->vfs, root, r->path, len); break;
        }
        if (rc != r->rc)
            fail_msg("op row %zu (%d %s): got %s, want %s", i, r->op, r->path,
                     cloche__status_name(rc), cloche__status_name(r->rc));
    }
}

typedef struct rnrow {
    const char *from, *to;
    int rc;
} rnrow;

static const rnrow RENAMES[] = {
    {"/", "z", CLOCHE__EBUSY},
    {"a", "/", CLOCHE__EBUSY},
    {".", "z", CLOCHE__EINVAL},
    {"a", "..", CLOCHE__EINVAL},
    {"nope", "z", CLOCHE__ENOENT},
    {"a", "a/b/z", CLOCHE__EINVAL},      /* into itself */
    {"a", "a/z", CLOCHE__EINVAL},
    {"a/f", "x", CLOCHE__EISDIR},        /* file over directory */
    {"a/b", "x/y", CLOCHE__ENOTDIR},     /* directory over file */
    {"x", "a", CLOCHE__ENOTEMPTY},       /* over a non-empty directory */
    {"a/f/", "z", CLOCHE__ENOTDIR},
    {"a/f", "z/", CLOCHE__ENOTDIR},
    {"a/f", "a/f", 0},                   /* onto itself */
    {"a", "a", 0},
    {"a/f", "x/y", 0},                   /* replaces /x/y */
    {"a/b/c", "z", 0},
    {"z", "a/b/", 0},                    /* empty dir over empty dir */
};

static void test_rename_table(void **state)
{
    pv *p = *state;
    cloche__vfs_node *root = cloche__vfs_root(p->vfs);
    /* the last row moves /z (empty) onto /a/b, which is empty by then */
    for (size_t i = 0; i < sizeof(RENAMES) / sizeof(RENAMES[0]); i++) {
        const rnrow *r = &RENAMES[i];
        int rc = cloche__vfs_rename(p->vfs, root, r->from, strlen(r->from),
                                    root, r->to, strlen(r->to));
        if (rc != r->rc)
            fail_msg("rename row %zu (%s -> %s): got %s, want %s", i, r->from,
                     r->to, cloche__status_name(rc),
                     cloche__status_name(r->rc));
    }
    const uint8_t *data;
    size_t len;
    assert_int_equal(cloche__vfs_read_file(&data, &len, p->vfs, "/x/y"), 0);
    assert_int_equal(len, 1);
    assert_memory_equal(data, "F", 1);
    assert_int_equal(cloche__vfs_read_file(&data, &len, p->vfs, "/a/f"),
                     CLOCHE__ENOENT);
    cloche__vfs_node *n;
    assert_int_equal(cloche__vfs_lookup(&n, p->vfs, root, "z", 1),
                     CLOCHE__ENOENT);
    assert_int_equal(cloche__vfs_lookup(&n, p->vfs, root, "a/b", 3), 0);
    cloche__vfs_node_unref(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_resolve_table, pv_setup,
                                        pv_teardown),
        cmocka_unit_test_setup_teardown(test_limits, pv_setup, pv_teardown),
        cmocka_unit_test_setup_teardown(test_unlinked_base, pv_setup,
                                        pv_teardown),
        cmocka_unit_test_setup_teardown(test_ops_table, pv_setup, pv_teardown),
        cmocka_unit_test_setup_teardown(test_rename_table, pv_setup,
                                        pv_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
