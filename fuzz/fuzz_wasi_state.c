/*
 * fuzz_wasi_state.c - libFuzzer target for cloche__wasi_load (the snapshot
 * reader of the WASI/VFS host state). See fuzz/README.md.
 *
 * Each input is loaded into a fresh context over a fresh VFS laid out like
 * the unit tests' fixture (tests/c/test_wasi_util.h: a read-only root, a
 * writable /tmp, a borrowed /lib/a.txt; small quotas), so that the blobs
 * test_wasi_state writes as seeds load. Properties checked beyond "no crash, no sanitizer report":
 *   - a failed load returns a documented code and leaks nothing;
 *   - a successful load saves to a blob that loads into another fresh
 *     context and saves to the same bytes (save/load is a fixpoint);
 *   - after freeing everything no VFS/WASI allocation is left alive.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vfs/vfs_alloc.h"
#include "wasi/wasi.h"

static const uint8_t ro_data[] = "hello world";

/* A constant clock: loads restore the saved elapsed time exactly. */
static uint64_t fixed_now(void *ud)
{
    (void)ud;
    return UINT64_C(1) << 40;
}

typedef struct box {
    cloche__vfs *vfs;
    cloche__wasi *w;
} box;

static void check(int ok)
{
    if (!ok)
        abort();
}

static void box_new(box *b)
{
    cloche__vfs_limits lim = {1u << 16, 64, 0};
    cloche__wasi_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    check(cloche__vfs_new(&b->vfs, &lim) == 0);
    check(cloche__vfs_mkdir_p(b->vfs, "/tmp", 0) == 0);
    check(cloche__vfs_add_file_ro(b->vfs, "/lib/a.txt", ro_data,
                                  sizeof(ro_data) - 1) == 0);
    check(cloche__vfs_set_readonly(b->vfs, "/", 1) == 0);
    cfg.stdout_cap = cfg.stderr_cap = 64;
    cfg.root = b->vfs;
    cfg.now_ns = fixed_now;
    check(cloche__wasi_new(&b->w, &cfg) == 0);
}

static void box_free(box *b)
{
    cloche__wasi_free(b->w);
    cloche__vfs_free(b->vfs);
}

/* Save b, load that into a fresh box, save again: same bytes. */
static void check_fixpoint(const box *b)
{
    uint8_t *s1 = NULL, *s2 = NULL;
    size_t n1 = 0, n2 = 0;
    box c;
    check(cloche__wasi_save(b->w, &s1, &n1) == 0);
    box_new(&c);
    check(cloche__wasi_load(c.w, s1, n1) == 0);
    check(cloche__wasi_save(c.w, &s2, &n2) == 0);
    check(n1 == n2 && memcmp(s1, s2, n1) == 0);
    box_free(&c);
    free(s1);
    free(s2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    long live = cloche__alloc_live();
    box b;
    box_new(&b);
    long before = cloche__alloc_live();
    int rc = cloche__wasi_load(b.w, data, size);
    if (rc == 0)
        check_fixpoint(&b);
    else
        check((rc == CLOCHE__EINVAL || rc == CLOCHE__ENOSPC ||
               rc == CLOCHE__EDQUOT) &&
              cloche__alloc_live() == before);
    box_free(&b);
    check(cloche__alloc_live() == live);
    return 0;
}
