/*
 * test_wasi_state_util.h - shared by the state save/load tests
 * (test_wasi_state.c, test_wasi_state_crafted.c): fresh "boxes" (a context
 * and VFS like the fixture's), saving to blobs, and loads that must either
 * succeed consistently or leave the target exactly as it was.
 */
#ifndef CLOCHE_TEST_WASI_STATE_UTIL_H
#define CLOCHE_TEST_WASI_STATE_UTIL_H

#include "test_wasi_util.h"

#include <stdio.h>

#include "wasi/wasi_types.h"

#define W(t) (t)->w, (t)->m
#define EQ assert_int_equal
#define PROBE_LEN 4096u
#define RIGHTS_DIR CLOCHE__WASI_RIGHTS_DIR

/* ---- boxes: a second fresh context + VFS, like the fixture's ---------- */

static inline tw *box_new(uint64_t max_bytes, uint64_t max_nodes, uint64_t now)
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

static inline void box_free(tw *b)
{
    cloche__wasi_free(b->w);
    cloche__vfs_free(b->vfs);
    free(b);
}

typedef struct blob {
    uint8_t *p;
    size_t n;
} blob;

static inline blob save(tw *t)
{
    blob b = {NULL, 0};
    EQ(cloche__wasi_save(t->w, &b.p, &b.n), 0);
    return b;
}

static inline void blob_free(blob *b)
{
    free(b->p);
    b->p = NULL;
    b->n = 0;
}

static inline void seed(const char *name, const blob *b)
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
static inline int load_check(tw *b, const uint8_t *p, size_t n, long fail)
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

static inline int load_or_untouched(tw *b, const uint8_t *p, size_t n)
{
    return load_check(b, p, n, -1);
}

static inline uint32_t open_ok(tw *t, const char *path, uint32_t oflags,
                        uint64_t rights, uint32_t fdflags)
{
    uint32_t fd;
    EQ(tw_open(t, 3, path, oflags, rights, fdflags, &fd), 0);
    return fd;
}

/* After a successful load of a hostile blob: the state saves, and that
 * blob loads into another fresh box and saves to the same bytes. */
static inline void check_consistent(tw *x)
{
    blob b1 = save(x);
    tw *y = box_new(1u << 20, 64, 0);
    EQ(cloche__wasi_load(y->w, b1.p, b1.n), 0);
    blob b2 = save(y);
    EQ(b1.n, b2.n);
    assert_memory_equal(b1.p, b2.p, b1.n);
    (void)cloche__wasi_fd_readdir(W(y), 3, A_BUF, 2048, 0, A_BUF + 2048);
    blob_free(&b1);
    blob_free(&b2);
    box_free(y);
}

#endif
