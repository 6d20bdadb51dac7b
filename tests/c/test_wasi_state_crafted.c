/*
 * test_wasi_state_crafted.c - cloche__wasi_load against blobs built field
 * by field (a builder mirroring the format in docs/wasi.md): valid ones
 * load, and every malformed name, borrowed file, count, depth, structure
 * and fd entry is refused with the target left exactly as it was.
 */
#include "test_wasi_state_util.h"

/* A blob builder mirroring the format (docs/wasi.md). The fixture's fresh
 * VFS has: / (ino 1, read-only), /tmp (2, charged), /lib (3, read-only,
 * uncharged), /lib/a.txt (4, borrowed, 11 bytes); next inode 5. */
typedef struct bb {
    uint8_t b[1 << 17];
    size_t n;
} bb;

enum { DIR_ = 1, FILE_ = 2, BORROWED_ = 3, RO_ = 0x10, UNCH_ = 0x20 };

static void b_bytes(bb *b, const void *p, size_t n)
{
    assert_true(n <= sizeof(b->b) - b->n);
    memcpy(b->b + b->n, p, n);
    b->n += n;
}

static void b_u8(bb *b, uint8_t v)
{
    b_bytes(b, &v, 1);
}

static void b_var(bb *b, uint64_t v)
{
    do {
        b_u8(b, (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0)));
        v >>= 7;
    } while (v);
}

/* Header, then the root record with `children` children. */
static void b_begin(bb *b, uint64_t next_ino, uint64_t children)
{
    b->n = 0;
    b_bytes(b, "CLWS\1", 5);
    b_var(b, 0); /* elapsed */
    b_var(b, next_ino);
    for (int i = 0; i < 8; i++) /* base time */
        b_u8(b, (uint8_t)(CLOCHE__EPOCH_2000_NS >> (8 * i)));
    b_bytes(b, "\x31\x01\0\0\0", 5); /* DIR|RO|UNCH, ino 1, times */
    b_var(b, children);              /* next_seq */
    b_var(b, children);
}

/* A record's tag, entry (when name), ino and times. */
static void b_node(bb *b, unsigned tag, const char *name, size_t len,
                   uint64_t ino)
{
    b_u8(b, (uint8_t)tag);
    if (name) {
        b_var(b, 1); /* seq delta */
        b_var(b, len);
        b_bytes(b, name, len);
    }
    b_var(b, ino);
    b_bytes(b, "\0\0\0", 3);
}

static void b_dir(bb *b, const char *name, uint64_t ino, uint64_t children)
{
    b_node(b, DIR_, name, strlen(name), ino);
    b_var(b, children);
    b_var(b, children);
}

static void b_file(bb *b, const char *name, uint64_t ino, const char *data)
{
    b_node(b, FILE_, name, name ? strlen(name) : 0, ino);
    b_var(b, strlen(data));
    b_bytes(b, data, strlen(data));
}

/* Orphan count, then the fd table: nfds, count, the standard four, and
 * `extra` more entries the caller appends. */
static void b_fds(bb *b, uint64_t orphans, uint64_t nfds, uint64_t extra)
{
    if (orphans != UINT64_MAX)
        b_var(b, orphans);
    b_var(b, nfds);
    b_var(b, 4 + extra);
    for (uint8_t fd = 0; fd < 3; fd++) {
        b_var(b, fd);
        b_u8(b, (uint8_t)(fd + 1));
        b_var(b, 0);
        b_var(b, fd ? CLOCHE__WASI_RIGHTS_STDOUT : CLOCHE__WASI_RIGHTS_STDIN);
        b_var(b, 0);
    }
    b_bytes(b, "\x03\x85\x00", 3); /* fd 3, DIR|PREOPEN, flags */
    b_var(b, CLOCHE__WASI_RIGHTS_DIR);
    b_var(b, CLOCHE__WASI_RIGHTS_ALL);
    b_bytes(b, "\x00\x01/", 3); /* node 0, name "/" */
}

/* An fd entry for a file node. */
static void b_fd_file(bb *b, uint64_t fd, uint64_t node, uint64_t pos)
{
    b_var(b, fd);
    b_u8(b, 4);
    b_var(b, 0);
    b_var(b, CLOCHE__WASI_R_FD_READ);
    b_var(b, 0);
    b_var(b, node);
    b_var(b, pos);
}

static int crafted(bb *b)
{
    tw *x = box_new(1u << 20, 64, 0);
    int rc = load_or_untouched(x, b->b, b->n);
    if (rc == 0)
        check_consistent(x);
    box_free(x);
    return rc;
}

static void test_crafted_valid(void **state)
{
    (void)state;
    static bb b;
    b_begin(&b, 5, 0); /* an empty root: /tmp and /lib go */
    b_fds(&b, 0, 4, 0);
    EQ(crafted(&b), 0);
    b_begin(&b, 9, 2);
    b_dir(&b, "tmp", 2, 1);
    b_node(&b, DIR_ | RO_ | UNCH_, "lib", 3, 3);
    b_bytes(&b, "\1\1", 2);
    b_file(&b, "x", 5, "data");
    b_node(&b, BORROWED_ | RO_, "a.txt", 5, 4);
    b_var(&b, 11);
    b_var(&b, 1);
    b_file(&b, NULL, 8, "gone");
    b_fds(&b, UINT64_MAX, 7, 2);
    b_fd_file(&b, 4, 5, 2);  /* the orphan */
    b_fd_file(&b, 6, 4, 20); /* a.txt, position past its end */
    EQ(crafted(&b), 0);
}

/* One bad child of the root (the fixture's tree otherwise empty). */
static int bad_child(const char *name, size_t len, unsigned tag)
{
    static bb b;
    b_begin(&b, 9, 1);
    b_node(&b, tag, name, len, 5);
    if ((tag & 3) == DIR_)
        b_bytes(&b, "\0\0", 2);
    else
        b_var(&b, 11);
    b_fds(&b, 0, 4, 0);
    return crafted(&b);
}

static void test_crafted_names(void **state)
{
    (void)state;
    char longname[CLOCHE__VFS_NAME_MAX + 1];
    memset(longname, 'n', sizeof(longname));
    EQ(bad_child("ok", 2, DIR_), 0);
    EQ(bad_child(longname, CLOCHE__VFS_NAME_MAX, DIR_), 0);
    EQ(bad_child(longname, CLOCHE__VFS_NAME_MAX + 1, DIR_), CLOCHE__EINVAL);
    EQ(bad_child("", 0, DIR_), CLOCHE__EINVAL);
    EQ(bad_child(".", 1, DIR_), CLOCHE__EINVAL);
    EQ(bad_child("..", 2, DIR_), CLOCHE__EINVAL);
    EQ(bad_child("a/b", 3, DIR_), CLOCHE__EINVAL);
    EQ(bad_child("/abs", 4, DIR_), CLOCHE__EINVAL);
    EQ(bad_child("a\0b", 3, DIR_), CLOCHE__EINVAL);
    EQ(bad_child("../tmp", 6, DIR_), CLOCHE__EINVAL);
    /* read-only structure the target lacks */
    EQ(bad_child("nope", 4, BORROWED_ | RO_), CLOCHE__EINVAL);
    EQ(bad_child("tmp", 3, BORROWED_ | RO_), CLOCHE__EINVAL); /* a dir */
    EQ(bad_child("nope", 4, DIR_ | UNCH_), CLOCHE__EINVAL);
    EQ(bad_child("tmp", 3, DIR_ | UNCH_), CLOCHE__EINVAL); /* charged */
    EQ(bad_child("x", 1, FILE_ | UNCH_), CLOCHE__EINVAL);
    EQ(bad_child("x", 1, 0), CLOCHE__EINVAL);
    EQ(bad_child("x", 1, 0x40 | DIR_), CLOCHE__EINVAL);
}

static void test_crafted_borrowed(void **state)
{
    (void)state;
    static bb b;
    for (uint64_t size = 10; size <= 12; size++) {
        b_begin(&b, 9, 1);
        b_node(&b, DIR_ | RO_ | UNCH_, "lib", 3, 3);
        b_bytes(&b, "\1\1", 2);
        b_node(&b, BORROWED_ | RO_, "a.txt", 5, 4);
        b_var(&b, size);
        b_fds(&b, 0, 4, 0);
        EQ(crafted(&b), size == 11 ? 0 : CLOCHE__EINVAL);
    }
    /* the same name under a charged directory of another path */
    b_begin(&b, 9, 1);
    b_dir(&b, "tmp", 2, 1);
    b_node(&b, BORROWED_ | RO_, "a.txt", 5, 4);
    b_var(&b, 11);
    b_fds(&b, 0, 4, 0);
    EQ(crafted(&b), CLOCHE__EINVAL);
    /* an orphan cannot be borrowed */
    b_begin(&b, 9, 0);
    b_var(&b, 1);
    b_node(&b, BORROWED_ | RO_, NULL, 0, 4);
    b_var(&b, 11);
    b_fds(&b, UINT64_MAX, 5, 1);
    b_fd_file(&b, 4, 1, 0);
    EQ(crafted(&b), CLOCHE__EINVAL);
}

static void test_crafted_counts(void **state)
{
    (void)state;
    static bb b;
    uint64_t huge[] = {1u << 20, (uint64_t)1 << 40, UINT64_MAX};
    for (size_t i = 0; i < 3; i++) {
        b_begin(&b, 9, huge[i]); /* root children */
        b_fds(&b, 0, 4, 0);
        EQ(crafted(&b), CLOCHE__EINVAL);
        b_begin(&b, 9, 0);
        b_fds(&b, huge[i], 4, 0); /* orphans */
        EQ(crafted(&b), CLOCHE__EINVAL);
        b_begin(&b, 9, 0);
        b_fds(&b, 0, huge[i], 0); /* nfds */
        EQ(crafted(&b), CLOCHE__EINVAL);
        b_begin(&b, 9, 0);
        b_fds(&b, 0, 4, huge[i] - 4); /* fd count */
        EQ(crafted(&b), CLOCHE__EINVAL);
        b_begin(&b, 9, 1); /* file size */
        b_node(&b, FILE_, "f", 1, 5);
        b_var(&b, huge[i]);
        b_fds(&b, 0, 4, 0);
        EQ(crafted(&b), CLOCHE__EINVAL);
        b_begin(&b, 9, 1); /* name length */
        b_u8(&b, DIR_);
        b_var(&b, 1);
        b_var(&b, huge[i]);
        b_fds(&b, 0, 4, 0);
        EQ(crafted(&b), CLOCHE__EINVAL);
    }
    /* a varint longer than 64 bits */
    b_begin(&b, 9, 0);
    b.n -= 2;
    b_bytes(&b, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f\x00", 11);
    b_fds(&b, 0, 4, 0);
    EQ(crafted(&b), CLOCHE__EINVAL);
    /* bad magic and version */
    b_begin(&b, 9, 0);
    b_fds(&b, 0, 4, 0);
    b.b[0] = 'X';
    EQ(crafted(&b), CLOCHE__EINVAL);
    b.b[0] = 'C';
    b.b[4] = 2;
    EQ(crafted(&b), CLOCHE__EINVAL);
}

/* A chain of n nested directories under the root. */
static void b_chain(bb *b, uint64_t n)
{
    b_begin(b, n + 2, 1);
    for (uint64_t i = 0; i < n; i++)
        b_dir(b, "d", i + 2, i + 1 < n);
    b_fds(b, 0, 4, 0);
}

static void test_crafted_deep(void **state)
{
    (void)state;
    static bb b;
    b_chain(&b, 5000);
    tw *x = box_new(1u << 20, 5000, 0);
    EQ(load_or_untouched(x, b.b, b.n), 0);
    uint64_t nodes;
    cloche__vfs_usage(x->vfs, NULL, &nodes);
    EQ(nodes, 5000);
    /* 200 levels down by path, then the rest through a directory fd */
    char path[512] = "";
    for (int i = 0; i < 200; i++)
        strcat(path, "d/");
    EQ(open_ok(x, path, CLOCHE__WASI_O_DIRECTORY, RIGHTS_DIR, 0), 4);
    box_free(x);
    x = box_new(1u << 20, 4999, 0);
    EQ(load_or_untouched(x, b.b, b.n), CLOCHE__EDQUOT);
    box_free(x);
}

static void test_crafted_structure(void **state)
{
    (void)state;
    static bb b;
    /* duplicate names */
    b_begin(&b, 9, 2);
    b_dir(&b, "x", 5, 0);
    b_file(&b, "x", 6, "");
    b_fds(&b, 0, 4, 0);
    EQ(crafted(&b), CLOCHE__EINVAL);
    /* duplicate inodes, inode 0, the root's inode, next_ino too low or
     * too high */
    uint64_t inos[][3] = {{5, 5, 9}, {0, 5, 9}, {1, 5, 9},
                          {5, 6, 6}, {5, 6, 1}, {5, 6, (uint64_t)1 << 63}};
    for (size_t i = 0; i < 6; i++) {
        b_begin(&b, inos[i][2], 2);
        b_dir(&b, "x", inos[i][0], 0);
        b_dir(&b, "y", inos[i][1], 0);
        b_fds(&b, 0, 4, 0);
        EQ(crafted(&b), CLOCHE__EINVAL);
    }
    /* seq delta 0, seq above the directory's next_seq */
    for (int k = 0; k < 2; k++) {
        b_begin(&b, 9, 1);
        b.b[b.n - 2] = 0; /* next_seq 0 */
        b_u8(&b, DIR_);
        b_var(&b, (uint64_t)k);
        b_bytes(&b, "\1x\5\0\0\0\0\0", 8);
        b_fds(&b, 0, 4, 0);
        EQ(crafted(&b), CLOCHE__EINVAL);
    }
    /* an orphan directory with children; an orphan no fd names */
    b_begin(&b, 9, 0);
    b_var(&b, 1);
    b_node(&b, DIR_, NULL, 0, 5);
    b_bytes(&b, "\1\1", 2);
    b_fds(&b, UINT64_MAX, 4, 0);
    EQ(crafted(&b), CLOCHE__EINVAL);
    b_begin(&b, 9, 0);
    b_var(&b, 1);
    b_file(&b, NULL, 5, "zz");
    b_fds(&b, UINT64_MAX, 4, 0);
    EQ(crafted(&b), CLOCHE__EINVAL);
    /* a root that is not a directory */
    b_begin(&b, 9, 0);
    b.b[5 + 1 + 1 + 8] = FILE_;
    b_fds(&b, 0, 4, 0);
    EQ(crafted(&b), CLOCHE__EINVAL);
}

/* fd tables: numbers, kinds, nodes, rights, positions, preopens. */
static int bad_fd(const uint8_t *entry, size_t len, uint64_t nfds)
{
    static bb b;
    b_begin(&b, 9, 1);
    b_file(&b, "f", 5, "abc");
    b_fds(&b, 0, nfds, 1);
    b_bytes(&b, entry, len);
    return crafted(&b);
}

static void test_crafted_fds(void **state)
{
    (void)state;
    /* fd 4 FILE node 1 pos 0 (rights FD_READ = 2) */
    EQ(bad_fd((const uint8_t *)"\x04\x04\0\x02\0\x01\0", 7, 5), 0);
    EQ(bad_fd((const uint8_t *)"\x03\x04\0\x02\0\x01\0", 7, 5),
       CLOCHE__EINVAL); /* duplicate fd 3 */
    EQ(bad_fd((const uint8_t *)"\x02\x04\0\x02\0\x01\0", 7, 5),
       CLOCHE__EINVAL); /* descending */
    EQ(bad_fd((const uint8_t *)"\x05\x04\0\x02\0\x01\0", 7, 5),
       CLOCHE__EINVAL); /* >= nfds */
    EQ(bad_fd((const uint8_t *)"\x04\x04\0\x02\0\x00\0", 7, 5),
       CLOCHE__EINVAL); /* FILE on the root directory */
    EQ(bad_fd((const uint8_t *)"\x04\x04\0\x02\0\x02\0", 7, 5),
       CLOCHE__EINVAL); /* node out of range */
    EQ(bad_fd((const uint8_t *)"\x04\x05\0\0\0\x01", 6, 5),
       CLOCHE__EINVAL); /* DIR on a file */
    EQ(bad_fd((const uint8_t *)"\x04\x84\0\x02\0\x01\0", 7, 5),
       CLOCHE__EINVAL); /* preopen on a file */
    EQ(bad_fd((const uint8_t *)"\x04\x85\0\0\0\x00\x01\x2f", 8, 5), 0);
    EQ(bad_fd((const uint8_t *)"\x04\x85\0\0\0\x00\x01\x2e", 8, 5),
       CLOCHE__EINVAL); /* preopen name "." */
    EQ(bad_fd((const uint8_t *)"\x04\x85\0\0\0\x00\x02//", 9, 5),
       CLOCHE__EINVAL);
    EQ(bad_fd((const uint8_t *)"\x04\x04\x20\x02\0\x01\0", 7, 5),
       CLOCHE__EINVAL); /* unknown fdflags */
    EQ(bad_fd((const uint8_t *)"\x04\x02\0\x80\x04\0", 6, 5),
       CLOCHE__EINVAL); /* stdout with a directory right */
    EQ(bad_fd((const uint8_t *)"\x04\x02\0\x40\0", 5, 5), 0); /* 2nd stdout */
    EQ(bad_fd((const uint8_t *)"\x04\x00\0\0\0", 5, 5), CLOCHE__EINVAL);
    EQ(bad_fd((const uint8_t *)"\x04\x06\0\0\0", 5, 5), CLOCHE__EINVAL);
    EQ(bad_fd((const uint8_t *)"\x04\x04\0\x02\x80\x80\x80\x80\x08\x01\0", 11,
              5),
       CLOCHE__EINVAL); /* inheriting bit 30 */
    static const uint8_t pos[] = {4, 4, 0, 2, 0, 1, 0x80, 0x80, 0x80, 0x80,
                                  0x80, 0x80, 0x80, 0x80, 0x80, 1};
    EQ(bad_fd(pos, sizeof(pos), 5), CLOCHE__EINVAL); /* pos 2^63 */
    EQ(bad_fd((const uint8_t *)"\x04\x04\0\x02\0\x01\0", 7, 3),
       CLOCHE__EINVAL); /* nfds below 4 */
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tw_setup, tw_teardown)
    const struct CMUnitTest tests[] = {
        T(test_crafted_valid),     T(test_crafted_names),
        T(test_crafted_borrowed),  T(test_crafted_counts),
        T(test_crafted_deep),      T(test_crafted_structure),
        T(test_crafted_fds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
