/*
 * vfs_state.h - the byte writer and reader of state blobs, and the VFS half
 * of cloche__wasi_save / cloche__wasi_load (vfs_state.c).
 *
 * Private to src/vfs/vfs_state.c and src/wasi/wasi_state.c. The format is
 * described in docs/wasi.md ("Snapshots of the host state"): little-endian,
 * integers as LEB128 varints (unsigned, at most 10 bytes) unless stated,
 * explicit lengths, no padding.
 *
 * The reader is the only code that touches blob bytes. Its errors are
 * sticky: after the first short or malformed read every later read returns
 * 0 and r->err stays CLOCHE__EINVAL, so a caller may read a whole record and
 * check once, but must check before it sizes an allocation or trusts a
 * value.
 */
#ifndef CLOCHE_VFS_STATE_H
#define CLOCHE_VFS_STATE_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vfs/vfs.h"
#include "vfs/vfs_alloc.h"

/* Hard cap of a blob being written (an overflow guard: the real bound is
 * the VFS byte quota plus a few bytes per node and fd). */
#define CLOCHE__STATE_MAX (SIZE_MAX / 2)

/* ---- writer ------------------------------------------------------------- */

/** Appends to buf[0..len) (cap bytes from malloc/realloc: the blob is
 * handed to the caller, who frees it with free()). err is 0 or
 * CLOCHE__ENOMEM; once set, writes do nothing. */
typedef struct cloche__wbuf {
    uint8_t *buf;
    size_t len, cap;
    int err;
} cloche__wbuf;

static inline int cloche__wb_reserve(cloche__wbuf *wb, size_t more)
{
    if (wb->err || more <= wb->cap - wb->len)
        return wb->err;
    if (more > CLOCHE__STATE_MAX - wb->len)
        return wb->err = CLOCHE__ENOMEM;
    size_t need = wb->len + more;
    size_t cap = wb->cap < 64 ? 64 : wb->cap;
    while (cap < need)
        cap = cap > CLOCHE__STATE_MAX / 2 ? CLOCHE__STATE_MAX : cap * 2;
    uint8_t *p = realloc(wb->buf, cap);
    if (!p)
        return wb->err = CLOCHE__ENOMEM;
    wb->buf = p;
    wb->cap = cap;
    return 0;
}

static inline void cloche__wb_bytes(cloche__wbuf *wb, const void *p, size_t n)
{
    if (n && cloche__wb_reserve(wb, n) == 0) {
        memcpy(wb->buf + wb->len, p, n);
        wb->len += n;
    }
}

static inline void cloche__wb_u8(cloche__wbuf *wb, uint8_t v)
{
    cloche__wb_bytes(wb, &v, 1);
}

static inline void cloche__wb_var(cloche__wbuf *wb, uint64_t v)
{
    uint8_t b[10];
    size_t n = 0;
    do {
        b[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            b[n] |= 0x80;
        n++;
    } while (v);
    cloche__wb_bytes(wb, b, n);
}

static inline void cloche__wb_u64(cloche__wbuf *wb, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    cloche__wb_bytes(wb, b, 8);
}

/** A timestamp as the zigzag varint of its (wrapping) difference from a
 * base: a few bytes for times close to it, either side. */
static inline void cloche__wb_time(cloche__wbuf *wb, uint64_t t, uint64_t base)
{
    uint64_t d = t - base;
    cloche__wb_var(wb, (d << 1) ^ (0u - (d >> 63)));
}

/* ---- reader ------------------------------------------------------------- */

/** Reads p[off..len). err is 0 or CLOCHE__EINVAL (sticky). */
typedef struct cloche__rbuf {
    const uint8_t *p;
    size_t len, off;
    int err;
} cloche__rbuf;

static inline size_t cloche__rb_left(const cloche__rbuf *r)
{
    return r->err ? 0 : r->len - r->off;
}

/** n bytes (borrowed, into the blob), or NULL (and err) when short. */
static inline const uint8_t *cloche__rb_bytes(cloche__rbuf *r, uint64_t n)
{
    if (r->err || n > r->len - r->off) {
        r->err = CLOCHE__EINVAL;
        return NULL;
    }
    const uint8_t *p = r->p + r->off;
    r->off += (size_t)n;
    return p;
}

static inline uint8_t cloche__rb_u8(cloche__rbuf *r)
{
    const uint8_t *p = cloche__rb_bytes(r, 1);
    return p ? p[0] : 0;
}

/** A varint; more than 64 bits of value is an error. Non-minimal
 * encodings are accepted. */
static inline uint64_t cloche__rb_var(cloche__rbuf *r)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        uint8_t b = cloche__rb_u8(r);
        if (r->err || (shift == 63 && b > 1)) {
            r->err = CLOCHE__EINVAL;
            return 0;
        }
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    return 0; /* not reached: shift 63 either ends or fails */
}

static inline uint64_t cloche__rb_u64(cloche__rbuf *r)
{
    const uint8_t *p = cloche__rb_bytes(r, 8);
    uint64_t v = 0;
    for (int i = 7; p && i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/** The inverse of cloche__wb_time. */
static inline uint64_t cloche__rb_time(cloche__rbuf *r, uint64_t base)
{
    uint64_t z = cloche__rb_var(r);
    return base + ((z >> 1) ^ (0u - (z & 1)));
}

/* ---- the VFS tree: save ------------------------------------------------- */

typedef struct cloche__vfs_idx {
    const cloche__vfs_node *node;
    uint64_t index;
} cloche__vfs_idx;

/** Node numbers of a saved tree (sorted by node address). */
typedef struct cloche__vfs_saved {
    cloche__vfs_idx *map;
    size_t n;
} cloche__vfs_saved;

/**
 * Write the VFS section: the whole tree of @p vfs, then every node of
 * @p held (the nodes open fds refer to) that is not in the tree (unlinked
 * while open), once each. @p out then numbers every written node.
 * @return 0, CLOCHE__ENOMEM (also left in wb->err)
 */
int cloche__vfs_save_tree(cloche__vfs_saved *out, cloche__wbuf *wb,
                          const cloche__vfs *vfs,
                          cloche__vfs_node *const *held, size_t nheld);
/** Number of a written node (UINT64_MAX if it was not written). */
uint64_t cloche__vfs_saved_index(const cloche__vfs_saved *s,
                                 const cloche__vfs_node *n);
void cloche__vfs_saved_free(cloche__vfs_saved *s);

/* ---- the VFS tree: load ------------------------------------------------- */

/* A tree read from a blob, not yet visible in the VFS. */
typedef struct cloche__vfs_stage cloche__vfs_stage;

/**
 * Read the VFS section into private staging nodes, checking everything
 * (structure, names, read-only references against the current tree of
 * @p vfs, quotas as they will be after the swap). The VFS is not changed.
 * @return 0, CLOCHE__EINVAL (malformed or not matching the VFS's read-only
 *         entries), CLOCHE__ENOSPC, CLOCHE__EDQUOT, CLOCHE__ENOMEM
 */
int cloche__vfs_stage_read(cloche__vfs_stage **out, cloche__vfs *vfs,
                           cloche__rbuf *r);
/**
 * Staged node number @p index if it has type @p type (enum
 * cloche__vfs_type), else NULL. Number 0 is the VFS root. Counts one use
 * (an fd); no reference is taken.
 */
cloche__vfs_node *cloche__vfs_stage_node(cloche__vfs_stage *s, uint64_t index,
                                         int type);
/** CLOCHE__EINVAL if a node outside the tree was given no use. */
int cloche__vfs_stage_check(const cloche__vfs_stage *s);
/**
 * Replace the VFS's tree with the staged one and free @p s. Cannot fail.
 * Nodes outside the tree are left with no reference: the caller must take
 * one per use right away (cloche__vfs_node_ref).
 */
void cloche__vfs_stage_commit(cloche__vfs_stage *s);
/** Discard a stage (the VFS stays as it was). NULL is fine. */
void cloche__vfs_stage_free(cloche__vfs_stage *s);

/* ---- host mounts (vfs_state_host.c) ------------------------------------ */

struct cloche__vfs_mnt;

/** The body of a host object's record: its mount point's node number,
 * the access it was opened with and its path below the mount. */
void cloche__vfs_state_put_host(cloche__wbuf *wb, const cloche__vfs_node *n,
                                uint64_t mount_index);
/**
 * Read that body (after the mount number) and open the object again below
 * @p m; it must exist with @p type (enum cloche__vfs_type).
 * @param out a new host node, refs 1, owned by the caller
 * @return 0, CLOCHE__EINVAL (malformed, or not matching the host),
 *         CLOCHE__ENOMEM, CLOCHE__EMFILE
 */
int cloche__vfs_state_read_host(cloche__vfs_node **out, cloche__rbuf *r,
                                struct cloche__vfs_mnt *m, int type);

#endif
