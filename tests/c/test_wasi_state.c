/*
 * test_wasi_state.c - cloche__wasi_save / cloche__wasi_load: round trips
 * checked through the WASI calls, forks, the monotonic clock, quotas,
 * allocation failures, and hostile blobs (prefixes, byte changes, random
 * mutations; crafted records are in test_wasi_state_crafted.c). A failed load must leave the target as it
 * was: checked by saving the target before and after and comparing bytes.
 *
 * With CLOCHE_STATE_SEED_DIR set, the round-trip blobs are also written
 * there as seeds for fuzz/fuzz_wasi_state.
 */
#include "test_wasi_state_util.h"

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
        T(test_random_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
