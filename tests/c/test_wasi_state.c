/*
 * test_wasi_state.c - cloche__wasi_save / cloche__wasi_load: round trips
 * checked through the WASI calls, forks, the monotonic clock, quotas,
 * allocation failures, and hostile blobs (prefixes, byte changes, random
 * mutations, crafted records). A failed load must leave the target as it
 * was: checked by saving the target before and after and comparing bytes.
 *
 * With CLOCHE_STATE_SEED_DIR set, the round-trip blobs are also written
 * there as seeds for fuzz/fuzz_wasi_state.
 */
#include "test_wasi_util.h"

#include <stdio.h>

#include "wasi/wasi_types.h"

#define W(t) (t)->w, (t)->m
#define EQ assert_int_equal
#define PROBE_LEN 4096u
#define RIGHTS_DIR CLOCHE__WASI_RIGHTS_DIR

/* ---- boxes: a second fresh context + VFS, like the fixture's ---------- */

static tw *box_new(uint64_t max_bytes, uint64_t max_nodes, uint64_t now)
{
    tw *b = calloc(1, sizeof(*b));
    assert_non_null(b);
    b->m = (cloche__mem){b->mem, MEM_SIZE};
    b->now = now;
    tw_make_vfs(b, max_bytes, max_nodes);
    tw_default_cfg(b);
    EQ(cloche__wasi_new(&b->w, &b->cfg), 0);
    return b;
}

static void box_free(tw *b)
{
    cloche__wasi_free(b->w);
    cloche__vfs_free(b->vfs);
    free(b);
}

typedef struct blob {
    uint8_t *p;
    size_t n;
} blob;

static blob save(tw *t)
{
    blob b = {NULL, 0};
    EQ(cloche__wasi_save(t->w, &b.p, &b.n), 0);
    return b;
}

static void blob_free(blob *b)
{
    free(b->p);
    b->p = NULL;
    b->n = 0;
}

static void seed(const char *name, const blob *b)
{
    const char *dir = getenv("CLOCHE_STATE_SEED_DIR");
    char path[512];
    if (!dir || snprintf(path, sizeof(path), "%s/%s", dir, name) >= 512)
        return;
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(b->p, 1, b->n, f);
        fclose(f);
    }
}

/* Load into b (with the allocation number `fail` failing, -1: none) and
 * require either success, or failure with b exactly as it was (same saved
 * bytes, same usage, no leak). */
static int load_check(tw *b, const uint8_t *p, size_t n, long fail)
{
    blob before = save(b);
    uint64_t bytes0, nodes0, bytes1, nodes1;
    cloche__vfs_usage(b->vfs, &bytes0, &nodes0);
    long live = cloche__alloc_live();
    cloche__alloc_fail_after(fail);
    int rc = cloche__wasi_load(b->w, p, n);
    cloche__alloc_fail_after(-1);
    if (rc) {
        EQ(cloche__alloc_live(), live);
        cloche__vfs_usage(b->vfs, &bytes1, &nodes1);
        EQ(bytes0, bytes1);
        EQ(nodes0, nodes1);
        blob after = save(b);
        EQ(before.n, after.n);
        assert_memory_equal(before.p, after.p, before.n);
        blob_free(&after);
    }
    blob_free(&before);
    return rc;
}

static int load_or_untouched(tw *b, const uint8_t *p, size_t n)
{
    return load_check(b, p, n, -1);
}

/* ---- probes: run the same call in two boxes, compare results ----------- */

typedef int32_t (*probe_fn)(tw *x, uint32_t fd);

static int32_t p_fdstat(tw *x, uint32_t fd)
{
    return cloche__wasi_fd_fdstat_get(W(x), fd, A_BUF);
}
static int32_t p_filestat(tw *x, uint32_t fd)
{
    return cloche__wasi_fd_filestat_get(W(x), fd, A_BUF);
}
static int32_t p_tell(tw *x, uint32_t fd)
{
    return cloche__wasi_fd_tell(W(x), fd, A_BUF);
}
static int32_t p_prestat(tw *x, uint32_t fd)
{
    return cloche__wasi_fd_prestat_get(W(x), fd, A_BUF);
}
static int32_t p_readdir(tw *x, uint32_t fd)
{
    return cloche__wasi_fd_readdir(W(x), fd, A_BUF, 2048, 0, A_BUF + 2048);
}
static int32_t p_pread(tw *x, uint32_t fd)
{
    put_iov(x, A_IOV, A_BUF, 2048);
    return cloche__wasi_fd_pread(W(x), fd, A_IOV, 1, 0, A_BUF + 2048);
}
static int32_t p_read4(tw *x, uint32_t fd)
{
    return tw_read(x, fd, 4, NULL);
}

static const probe_fn probes[] = {p_fdstat, p_filestat, p_tell, p_prestat,
                                  p_readdir, p_pread, p_read4};

static void same(tw *a, tw *b, probe_fn f, uint32_t fd)
{
    memset(a->mem + A_BUF, 0, PROBE_LEN);
    memset(b->mem + A_BUF, 0, PROBE_LEN);
    EQ(f(a, fd), f(b, fd));
    assert_memory_equal(a->mem + A_BUF, b->mem + A_BUF, PROBE_LEN);
}

static void same_path(tw *a, tw *b, const char *path)
{
    memset(a->mem + A_BUF, 0, 64);
    memset(b->mem + A_BUF, 0, 64);
    EQ(tw_stat(a, 3, path), tw_stat(b, 3, path));
    assert_memory_equal(a->mem + A_BUF, b->mem + A_BUF, 64);
}

static void same_everything(tw *a, tw *b, uint32_t maxfd)
{
    static const char *const paths[] = {
        "/",      "/tmp",       "/tmp/d",  "/tmp/d/f1",  "/tmp/d/sub",
        "/lib",   "/lib/a.txt", "/tmp/big", "/tmp/gone", "/tmp/app",
        "/tmp/e", "/tmp/d/a",   "/tmp/d/b", "/tmp/d/c"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        same_path(a, b, paths[i]);
    for (uint32_t fd = 0; fd <= maxfd; fd++)
        for (size_t k = 0; k < sizeof(probes) / sizeof(probes[0]); k++)
            same(a, b, probes[k], fd);
}

/* ---- the state the round-trip tests save -------------------------------- */

static uint32_t open_ok(tw *t, const char *path, uint32_t oflags,
                        uint64_t rights, uint32_t fdflags)
{
    uint32_t fd;
    EQ(tw_open(t, 3, path, oflags, rights, fdflags, &fd), 0);
    return fd;
}

static void seek_to(tw *t, uint32_t fd, uint64_t off)
{
    EQ(cloche__wasi_fd_seek(W(t), fd, (int64_t)off, 0, A_OUT), 0);
}

/* fds: 4 f1 at 5, (5 closed: a gap), 6 unlinked file at 3, 7 dir /tmp/d,
 * 8 f1 again read-only, 9 the borrowed /lib/a.txt at 6, 10 removed
 * directory, 11 append file. /tmp/d has a, c (b removed: cookie gap). */
static void build_state(tw *t)
{
    EQ(tw_mkdir(t, 3, "tmp/d"), 0);
    EQ(tw_mkdir(t, 3, "tmp/d/sub"), 0);
    EQ(tw_mkdir(t, 3, "tmp/e"), 0);
    uint32_t f1 = open_ok(t, "tmp/d/f1", CLOCHE__WASI_O_CREAT, RIGHTS_RW, 0);
    EQ(f1, 4);
    EQ(tw_write(t, f1, "hello world", NULL), 0);
    seek_to(t, f1, 5);
    EQ(open_ok(t, "tmp/big", CLOCHE__WASI_O_CREAT, RIGHTS_RW, 0), 5);
    for (uint32_t i = 0; i < 3000; i++)
        t->mem[A_DATA + i] = (uint8_t)(i * 7);
    put_iov(t, A_IOV, A_DATA, 3000);
    EQ(cloche__wasi_fd_write(W(t), 5, A_IOV, 1, A_OUT), 0);
    EQ(open_ok(t, "tmp/gone", CLOCHE__WASI_O_CREAT, RIGHTS_RW, 0), 6);
    EQ(tw_write(t, 6, "orphan data", NULL), 0);
    EQ(tw_unlink(t, 3, "tmp/gone"), 0);
    seek_to(t, 6, 3);
    EQ(open_ok(t, "tmp/d", CLOCHE__WASI_O_DIRECTORY, RIGHTS_DIR, 0), 7);
    EQ(open_ok(t, "tmp/d/f1", 0, RIGHTS_RO, 0), 8);
    EQ(open_ok(t, "lib/a.txt", 0, RIGHTS_RO, 0), 9);
    EQ(tw_read(t, 9, 6, NULL), 0);
    EQ(open_ok(t, "tmp/e", CLOCHE__WASI_O_DIRECTORY, RIGHTS_DIR, 0), 10);
    EQ(tw_rmdir(t, 3, "tmp/e"), 0);
    EQ(open_ok(t, "tmp/app", CLOCHE__WASI_O_CREAT, RIGHTS_RW,
               CLOCHE__WASI_FDFLAG_APPEND),
       11);
    EQ(tw_write(t, 11, "x", NULL), 0);
    EQ(cloche__wasi_fd_close(W(t), 5), 0);
    for (const char *const *n = (const char *const[]){"tmp/d/a", "tmp/d/b",
                                                      "tmp/d/c", NULL};
         *n; n++) {
        uint32_t fd = open_ok(t, *n, CLOCHE__WASI_O_CREAT, RIGHTS_RW, 0);
        EQ(cloche__wasi_fd_close(W(t), fd), 0);
    }
    EQ(tw_unlink(t, 3, "tmp/d/b"), 0);
    t->now += 12345;
}

/* ---- round trip ---------------------------------------------------------- */

static void test_round_trip(void **state)
{
    tw *t = *state;
    build_state(t);
    blob b = save(t);
    seed("round_trip", &b);
    tw *x = box_new(1u << 20, 64, 1000000);
    EQ(cloche__wasi_load(x->w, b.p, b.n), 0);
    /* saving the restored box gives the same bytes */
    blob b2 = save(x);
    EQ(b.n, b2.n);
    assert_memory_equal(b.p, b2.p, b.n);
    uint64_t u[4];
    cloche__vfs_usage(t->vfs, &u[0], &u[1]);
    cloche__vfs_usage(x->vfs, &u[2], &u[3]);
    EQ(u[0], u[2]);
    EQ(u[1], u[3]);
    same_everything(t, x, 16); /* reads advance offsets alike */
    same_everything(t, x, 16);
    /* one node behind fds 4 and 8: a write through 4 shows through 8 */
    EQ(tw_write(x, 4, "HELLO", NULL), 0);
    EQ(tw_write(t, 4, "HELLO", NULL), 0);
    same(t, x, p_pread, 8);
    /* the lowest free fd (the gap) and the next inode are the same */
    EQ(open_ok(x, "tmp/new", CLOCHE__WASI_O_CREAT, RIGHTS_RW, 0), 5);
    EQ(open_ok(t, "tmp/new", CLOCHE__WASI_O_CREAT, RIGHTS_RW, 0), 5);
    same(t, x, p_filestat, 5);
    /* the removed directory still refuses new names */
    EQ(tw_open(x, 10, "f", CLOCHE__WASI_O_CREAT, RIGHTS_RW, 0, NULL),
       CLOCHE__WASI_ENOENT);
    /* append still appends */
    EQ(tw_write(x, 11, "yz", NULL), 0);
    EQ(tw_write(t, 11, "yz", NULL), 0);
    same(t, x, p_pread, 11);
    same_everything(t, x, 16);
    blob_free(&b);
    blob_free(&b2);
    box_free(x);
}

/* Closing the last fd of a restored unlinked file frees it (and its
 * charge): the orphan holds exactly the fd's reference. */
static void test_orphan_released(void **state)
{
    tw *t = *state;
    build_state(t);
    blob b = save(t);
    tw *x = box_new(1u << 20, 64, 0);
    EQ(cloche__wasi_load(x->w, b.p, b.n), 0);
    uint64_t bytes0, nodes0, bytes1, nodes1;
    cloche__vfs_usage(x->vfs, &bytes0, &nodes0);
    EQ(cloche__wasi_fd_close(W(x), 6), 0);
    EQ(cloche__wasi_fd_close(W(x), 10), 0);
    cloche__vfs_usage(x->vfs, &bytes1, &nodes1);
    EQ(bytes1, bytes0 - 11);
    EQ(nodes1, nodes0 - 2);
    blob_free(&b);
    box_free(x);
}

static void test_fork(void **state)
{
    tw *t = *state;
    build_state(t);
    blob b = save(t);
    tw *x = box_new(1u << 20, 64, 0), *y = box_new(1u << 20, 64, 0);
    EQ(cloche__wasi_load(x->w, b.p, b.n), 0);
    EQ(cloche__wasi_load(y->w, b.p, b.n), 0);
    put_str(x, A_DATA, "XXXX");
    put_iov(x, A_IOV, A_DATA, 4);
    EQ(cloche__wasi_fd_pwrite(W(x), 4, A_IOV, 1, 0, A_OUT), 0);
    EQ(tw_unlink(x, 3, "tmp/d/a"), 0);
    EQ(tw_mkdir(x, 3, "tmp/only_x"), 0);
    EQ(cloche__wasi_fd_close(W(x), 6), 0);
    /* y still matches the original */
    same_everything(t, y, 16);
    EQ(tw_stat(y, 3, "tmp/only_x"), CLOCHE__WASI_ENOENT);
    memset(y->mem + A_BUF, 0, 16);
    EQ(p_pread(y, 4), 0);
    assert_memory_equal(y->mem + A_BUF, "hello world", 11);
    blob_free(&b);
    box_free(x);
    box_free(y);
}

static uint64_t mono(tw *t)
{
    EQ(cloche__wasi_clock_time_get(W(t), CLOCHE__WASI_CLOCK_MONOTONIC, 1,
                                   A_OUT),
       0);
    return rd64(t, A_OUT);
}

static void test_clock(void **state)
{
    tw *t = *state;
    t->now += 5000000000u;
    EQ(mono(t), 5000000000u);
    blob b = save(t);
    tw *x = box_new(1u << 20, 64, 77000000000000u);
    EQ(cloche__wasi_load(x->w, b.p, b.n), 0);
    EQ(mono(x), 5000000000u);
    x->now += 123;
    EQ(mono(x), 5000000123u);
    EQ(cloche__wasi_clock_time_get(W(x), CLOCHE__WASI_CLOCK_REALTIME, 1,
                                   A_OUT),
       0);
    EQ(rd64(x, A_OUT), CLOCHE__EPOCH_2000_NS + 5000000123u);
    /* files created after the restore are stamped by the continued clock */
    EQ(open_ok(x, "tmp/late", CLOCHE__WASI_O_CREAT, RIGHTS_RW, 0), 4);
    EQ(tw_stat(x, 3, "tmp/late"), 0);
    EQ(FS_MTIM(x), CLOCHE__EPOCH_2000_NS + 5000000123u);
    box_free(x);
    /* a host whose own clock reads less (it booted recently) still
     * continues the guest's clock from the saved time */
    x = box_new(1u << 20, 64, 1000);
    EQ(cloche__wasi_load(x->w, b.p, b.n), 0);
    EQ(mono(x), 5000000000u);
    x->now += 7;
    EQ(mono(x), 5000000007u);
    box_free(x);
    blob_free(&b);
}

/* ---- quotas ------------------------------------------------------------- */

static void test_quota(void **state)
{
    tw *t = *state;
    EQ(open_ok(t, "tmp/q", CLOCHE__WASI_O_CREAT, RIGHTS_RW, 0), 4);
    put_iov(t, A_IOV, A_DATA, 5000);
    EQ(cloche__wasi_fd_write(W(t), 4, A_IOV, 1, A_OUT), 0);
    for (int i = 0; i < 6; i++) {
        char name[16];
        snprintf(name, sizeof(name), "tmp/q%d", i);
        EQ(tw_mkdir(t, 3, name), 0);
    }
    uint64_t bytes, nodes;
    cloche__vfs_usage(t->vfs, &bytes, &nodes);
    EQ(bytes, 5000);
    EQ(nodes, 8); /* /tmp, q, q0..q5 */
    blob b = save(t);
    tw *x = box_new(bytes - 1, nodes, 0);
    EQ(load_or_untouched(x, b.p, b.n), CLOCHE__ENOSPC);
    box_free(x);
    x = box_new(bytes, nodes - 1, 0);
    EQ(load_or_untouched(x, b.p, b.n), CLOCHE__EDQUOT);
    box_free(x);
    x = box_new(bytes, nodes, 0);
    EQ(cloche__wasi_load(x->w, b.p, b.n), 0);
    /* full: one more byte or node is refused */
    EQ(tw_mkdir(x, 3, "tmp/more"), CLOCHE__WASI_EDQUOT);
    EQ(tw_write(x, 4, "z", NULL), CLOCHE__WASI_ENOSPC);
    box_free(x);
    blob_free(&b);
}

/* A node of the target's tree that another context holds survives the
 * swap (unlinked, still charged): the quota check counts it. */
static void test_other_holder(void **state)
{
    tw *t = *state;
    EQ(open_ok(t, "tmp/k", CLOCHE__WASI_O_CREAT, RIGHTS_RW, 0), 4);
    put_iov(t, A_IOV, A_DATA, 1000);
    EQ(cloche__wasi_fd_write(W(t), 4, A_IOV, 1, A_OUT), 0);
    blob b = save(t);
    for (uint64_t max = 1099; max <= 1100; max++) {
        tw *x = box_new(max, 64, 0);
        cloche__wasi *w2;
        cloche__wasi_config cfg = x->cfg;
        EQ(cloche__wasi_new(&w2, &cfg), 0);
        uint32_t n = put_str(x, A_PATH, "tmp/held");
        EQ(cloche__wasi_path_open(w2, x->m, 3, 0, A_PATH, n,
                                  CLOCHE__WASI_O_CREAT, RIGHTS_RW, RIGHTS_RW,
                                  0, A_OUT),
           0);
        put_iov(x, A_IOV, A_DATA, 100);
        EQ(cloche__wasi_fd_write(w2, x->m, 4, A_IOV, 1, A_OUT), 0);
        int rc = load_or_untouched(x, b.p, b.n);
        uint64_t bytes, nodes;
        cloche__vfs_usage(x->vfs, &bytes, &nodes);
        if (max == 1099) {
            EQ(rc, CLOCHE__ENOSPC);
        } else {
            EQ(rc, 0);
            EQ(bytes, 1100);
            EQ(nodes, 3); /* /tmp, /tmp/k, the held orphan */
            EQ(tw_stat(x, 3, "tmp/held"), CLOCHE__WASI_ENOENT);
        }
        cloche__wasi_free(w2); /* the orphan goes with its last fd */
        cloche__vfs_usage(x->vfs, &bytes, &nodes);
        EQ(bytes, rc ? 100 : 1000);
        box_free(x);
    }
    blob_free(&b);
}

/* ---- misuse and allocation failures --------------------------------- */

static void test_misuse(void **state)
{
    tw *t = *state;
    blob b = save(t);
    tw *x = box_new(1u << 20, 64, 0);
    EQ(open_ok(x, "tmp/busy", CLOCHE__WASI_O_CREAT, RIGHTS_RW, 0), 4);
    EQ(load_or_untouched(x, b.p, b.n), CLOCHE__EBUSY);
    EQ(cloche__wasi_fd_close(W(x), 4), 0);
    EQ(cloche__wasi_load(x->w, b.p, b.n), 0); /* closed again: fresh */
    EQ(cloche__wasi_load(x->w, b.p, b.n), 0); /* and again */
    EQ(cloche__wasi_load(x->w, NULL, 0), CLOCHE__EINVAL);
    box_free(x);
    /* a context without a VFS has no state to save or load */
    cloche__wasi *w;
    cloche__wasi_config cfg = t->cfg;
    cfg.root = NULL;
    EQ(cloche__wasi_new(&w, &cfg), 0);
    uint8_t *p = NULL;
    size_t n = 0;
    EQ(cloche__wasi_save(w, &p, &n), CLOCHE__EINVAL);
    EQ(cloche__wasi_load(w, b.p, b.n), CLOCHE__EINVAL);
    cloche__wasi_free(w);
    /* save appends after bytes already there */
    p = malloc(3);
    assert_non_null(p);
    memcpy(p, "abc", 3);
    n = 3;
    EQ(cloche__wasi_save(t->w, &p, &n), 0);
    EQ(n, 3 + b.n);
    assert_memory_equal(p, "abc", 3);
    assert_memory_equal(p + 3, b.p, b.n);
    free(p);
    blob_free(&b);
}

/* The blob of a fresh sandbox is small: header, four nodes, four fds. */
static void test_size(void **state)
{
    tw *t = *state;
    blob b = save(t);
    seed("fresh", &b);
    assert_true(b.n < 128);
    blob_free(&b);
}

static void test_enomem(void **state)
{
    tw *t = *state;
    build_state(t);
    blob b = save(t);
    int ok = 0;
    for (long k = 0; !ok; k++) {
        tw *x = box_new(1u << 20, 64, 0);
        int rc = load_check(x, b.p, b.n, k);
        if (rc)
            EQ(rc, CLOCHE__ENOMEM);
        ok = rc == 0;
        box_free(x);
    }
    ok = 0;
    for (long k = 0; !ok; k++) {
        uint8_t *p = NULL;
        size_t n = 0;
        cloche__alloc_fail_after(k);
        int rc = cloche__wasi_save(t->w, &p, &n);
        cloche__alloc_fail_after(-1);
        if (rc) {
            EQ(rc, CLOCHE__ENOMEM);
            EQ(n, 0);
        } else {
            EQ(n, b.n);
            ok = 1;
        }
        free(p);
    }
    blob_free(&b);
}

/* ---- hostile blobs: prefixes, byte changes, random mutations ----------- */

/* After a successful load of a hostile blob: the state saves, and that
 * blob loads into another fresh box and saves to the same bytes. */
static void check_consistent(tw *x)
{
    blob b1 = save(x);
    tw *y = box_new(1u << 20, 64, 0);
    EQ(cloche__wasi_load(y->w, b1.p, b1.n), 0);
    blob b2 = save(y);
    EQ(b1.n, b2.n);
    assert_memory_equal(b1.p, b2.p, b1.n);
    (void)p_readdir(y, 3);
    blob_free(&b1);
    blob_free(&b2);
    box_free(y);
}

/* Load a mutated blob: an error leaves the box untouched (and reusable),
 * success must be consistent (then the box is replaced). */
static void try_load(tw **x, const uint8_t *p, size_t n, int *loaded)
{
    int rc = load_or_untouched(*x, p, n);
    if (rc) {
        assert_true(rc == CLOCHE__EINVAL || rc == CLOCHE__ENOSPC ||
                    rc == CLOCHE__EDQUOT);
        return;
    }
    (*loaded)++;
    check_consistent(*x);
    box_free(*x);
    *x = box_new(1u << 20, 64, 0);
}

/* A state without the 3000-byte file, so that most bytes are structure. */
static blob small_state(tw *t)
{
    EQ(tw_mkdir(t, 3, "tmp/d"), 0);
    EQ(open_ok(t, "tmp/d/f", CLOCHE__WASI_O_CREAT, RIGHTS_RW, 0), 4);
    EQ(tw_write(t, 4, "abc", NULL), 0);
    EQ(open_ok(t, "tmp/g", CLOCHE__WASI_O_CREAT, RIGHTS_RW, 0), 5);
    EQ(tw_unlink(t, 3, "tmp/g"), 0);
    EQ(open_ok(t, "tmp/d", CLOCHE__WASI_O_DIRECTORY, RIGHTS_DIR, 0), 6);
    EQ(open_ok(t, "tmp/d/f", 0, RIGHTS_RO, 0), 7);
    EQ(open_ok(t, "lib/a.txt", 0, RIGHTS_RO, 0), 8);
    EQ(cloche__wasi_fd_close(W(t), 7), 0);
    return save(t);
}

static void test_prefixes(void **state)
{
    tw *t = *state;
    build_state(t);
    blob b = save(t);
    tw *x = box_new(1u << 20, 64, 0);
    for (size_t n = 0; n < b.n; n++)
        EQ(load_or_untouched(x, b.p, n), CLOCHE__EINVAL);
    box_free(x);
    blob_free(&b);
}

static void test_byte_changes(void **state)
{
    static const uint8_t xors[] = {0x01, 0x02, 0x40, 0x80, 0xff};
    tw *t = *state;
    blob b = small_state(t);
    seed("small", &b);
    uint8_t *m = malloc(b.n + 1);
    tw *x = box_new(1u << 20, 64, 0);
    int loaded = 0;
    for (size_t i = 0; i < b.n; i++) {
        for (size_t k = 0; k < sizeof(xors); k++) {
            memcpy(m, b.p, b.n);
            m[i] ^= xors[k];
            try_load(&x, m, b.n, &loaded);
        }
    }
    /* one extra byte anywhere at the end is refused */
    memcpy(m, b.p, b.n);
    m[b.n] = 0;
    EQ(load_or_untouched(x, m, b.n + 1), CLOCHE__EINVAL);
    assert_true(loaded > 0); /* e.g. changed times and file bytes */
    box_free(x);
    free(m);
    blob_free(&b);
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void test_random_mutations(void **state)
{
    tw *t = *state;
    blob b = small_state(t);
    uint8_t *m = malloc(b.n);
    uint64_t rng = 0x9e3779b97f4a7c15u;
    tw *x = box_new(1u << 20, 64, 0);
    int loaded = 0;
    for (int round = 0; round < 3000; round++) {
        memcpy(m, b.p, b.n);
        int changes = 1 + (int)(rng_next(&rng) % 4);
        for (int c = 0; c < changes; c++)
            m[rng_next(&rng) % b.n] = (uint8_t)rng_next(&rng);
        size_t n = rng_next(&rng) % 8 == 0 ? rng_next(&rng) % b.n : b.n;
        try_load(&x, m, n, &loaded);
    }
    box_free(x);
    free(m);
    blob_free(&b);
}

/* ---- crafted blobs ------------------------------------------------------ */

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
        T(test_round_trip),       T(test_orphan_released),
        T(test_fork),             T(test_clock),
        T(test_quota),            T(test_other_holder),
        T(test_misuse),
        T(test_size),             T(test_enomem),
        T(test_prefixes),         T(test_byte_changes),
        T(test_random_mutations), T(test_crafted_valid),
        T(test_crafted_names),    T(test_crafted_borrowed),
        T(test_crafted_counts),   T(test_crafted_deep),
        T(test_crafted_structure), T(test_crafted_fds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
