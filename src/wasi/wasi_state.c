/*
 * wasi_state.c - cloche__wasi_save / cloche__wasi_load: a context's host
 * state as bytes, for image snapshots.
 *
 * Owns the blob's header, the monotonic clock and the fd table; the VFS
 * section is vfs_state.c's. Layout (docs/wasi.md, "Snapshots of the host
 * state"): magic "CLWS", version, monotonic elapsed ns, the VFS section,
 * the fd table, and nothing after it.
 *
 * Invariants of loading: the blob is untrusted. Everything is read and
 * checked into temporaries (staged nodes, a new fd array) before the
 * context or the VFS changes; the swap itself cannot fail. Nothing here
 * allocates from a size the blob gives without checking it against the
 * bytes left and the fixed limits first. argv/env, captured output, traps
 * and hooks are not part of the state: they belong to the new sandbox.
 */
#include "wasi/wasi_int.h"

#include <string.h>

#include "vfs/vfs_alloc.h"
#include "vfs/vfs_state.h"

static const uint8_t state_magic[4] = {'C', 'L', 'W', 'S'};
#define STATE_VERSION 1u
#define FD_PREOPEN 0x80u /* in an fd entry's kind byte */

static const char preopen_name[] = "/";
#define PREOPEN_NAME_LEN (sizeof(preopen_name) - 1)

/* ---- save -------------------------------------------------------------- */

/* The nodes the fd table holds, in fd order (with repeats). */
static size_t held_nodes(cloche__vfs_node **held, const cloche__wasi *w)
{
    size_t n = 0;
    for (uint32_t i = 0; i < w->nfds; i++)
        if (w->fds[i].node)
            held[n++] = w->fds[i].node;
    return n;
}

static void put_fd(cloche__wbuf *wb, const cloche__vfs_saved *map,
                   uint32_t fd, const cloche__wasi_fd *f)
{
    cloche__wb_var(wb, fd);
    cloche__wb_u8(wb, (uint8_t)(f->kind | (f->preopen ? FD_PREOPEN : 0)));
    cloche__wb_var(wb, f->flags);
    cloche__wb_var(wb, f->rights);
    cloche__wb_var(wb, f->rights_inheriting);
    if (f->node)
        cloche__wb_var(wb, cloche__vfs_saved_index(map, f->node));
    if (f->kind == CLOCHE__FD_FILE)
        cloche__wb_var(wb, f->pos);
    if (f->preopen) {
        cloche__wb_var(wb, PREOPEN_NAME_LEN);
        cloche__wb_bytes(wb, preopen_name, PREOPEN_NAME_LEN);
    }
}

static void put_fds(cloche__wbuf *wb, const cloche__vfs_saved *map,
                    const cloche__wasi *w)
{
    uint32_t open = 0;
    for (uint32_t i = 0; i < w->nfds; i++)
        open += w->fds[i].kind != CLOCHE__FD_FREE;
    cloche__wb_var(wb, w->nfds);
    cloche__wb_var(wb, open);
    for (uint32_t i = 0; i < w->nfds; i++)
        if (w->fds[i].kind != CLOCHE__FD_FREE)
            put_fd(wb, map, i, &w->fds[i]);
}

int cloche__wasi_save(const cloche__wasi *w, uint8_t **out, size_t *out_len)
{
    cloche__vfs_node *held[CLOCHE__WASI_MAX_FDS];
    cloche__vfs_saved map;
    if (!w->vfs)
        return CLOCHE__EINVAL;
    cloche__wbuf wb = {*out, *out_len, *out_len, 0};
    cloche__wb_bytes(&wb, state_magic, sizeof(state_magic));
    cloche__wb_u8(&wb, STATE_VERSION);
    cloche__wb_var(&wb, cloche__wasi_monotonic(w));
    size_t nheld = held_nodes(held, w);
    if (cloche__vfs_save_tree(&map, &wb, w->vfs, held, nheld) == 0) {
        put_fds(&wb, &map, w);
        cloche__vfs_saved_free(&map);
    }
    *out = wb.buf; /* may have moved even on failure */
    if (wb.err == 0)
        *out_len = wb.len;
    return wb.err;
}

/* ---- load -------------------------------------------------------------- */

/* Only a fresh context can be loaded into: nothing above fd 3 is open. */
static int check_fresh(const cloche__wasi *w)
{
    if (!w->vfs)
        return CLOCHE__EINVAL;
    for (uint32_t i = 4; i < w->nfds; i++)
        if (w->fds[i].kind != CLOCHE__FD_FREE)
            return CLOCHE__EBUSY;
    return 0;
}

static int read_header(cloche__rbuf *r, uint64_t *elapsed)
{
    const uint8_t *magic = cloche__rb_bytes(r, sizeof(state_magic));
    uint8_t version = cloche__rb_u8(r);
    *elapsed = cloche__rb_var(r);
    if (r->err || memcmp(magic, state_magic, sizeof(state_magic)) != 0 ||
        version != STATE_VERSION)
        return CLOCHE__EINVAL;
    return 0;
}

/* Rights an fd of this kind can have. */
static uint64_t kind_rights(uint8_t kind)
{
    switch (kind) {
    case CLOCHE__FD_STDIN: return CLOCHE__WASI_RIGHTS_STDIN;
    case CLOCHE__FD_STDOUT:
    case CLOCHE__FD_STDERR: return CLOCHE__WASI_RIGHTS_STDOUT;
    case CLOCHE__FD_FILE: return CLOCHE__WASI_RIGHTS_FILE;
    case CLOCHE__FD_DIR: return CLOCHE__WASI_RIGHTS_DIR;
    default: return 0;
    }
}

/* The node (files and directories) and what follows it in the entry. */
static int read_fd_node(cloche__wasi_fd *f, cloche__rbuf *r,
                        cloche__vfs_stage *s)
{
    int dir = f->kind == CLOCHE__FD_DIR;
    uint64_t index = cloche__rb_var(r);
    uint64_t pos = dir ? 0 : cloche__rb_var(r);
    if (r->err || pos > (uint64_t)INT64_MAX || (f->preopen && index != 0))
        return CLOCHE__EINVAL;
    f->pos = pos;
    f->node = cloche__vfs_stage_node(
        s, index, dir ? CLOCHE__VFS_DIR : CLOCHE__VFS_FILE);
    if (!f->node)
        return CLOCHE__EINVAL;
    if (f->preopen) {
        uint64_t len = cloche__rb_var(r);
        const uint8_t *name = cloche__rb_bytes(r, len);
        if (!name || len != PREOPEN_NAME_LEN ||
            memcmp(name, preopen_name, PREOPEN_NAME_LEN) != 0)
            return CLOCHE__EINVAL;
    }
    return 0;
}

/* One fd entry after its number. No node reference is taken yet. */
static int read_fd(cloche__wasi_fd *f, cloche__rbuf *r, cloche__vfs_stage *s)
{
    uint8_t tag = cloche__rb_u8(r);
    uint8_t kind = (uint8_t)(tag & ~FD_PREOPEN);
    int preopen = (tag & FD_PREOPEN) != 0;
    uint64_t flags = cloche__rb_var(r);
    uint64_t rights = cloche__rb_var(r);
    uint64_t inheriting = cloche__rb_var(r);
    if (r->err || kind_rights(kind) == 0 ||
        flags > CLOCHE__WASI_FDFLAGS_ALL || (rights & ~kind_rights(kind)) ||
        (inheriting & ~CLOCHE__WASI_RIGHTS_ALL) ||
        (preopen && kind != CLOCHE__FD_DIR))
        return CLOCHE__EINVAL;
    *f = (cloche__wasi_fd){.kind = kind,
                           .preopen = (uint8_t)preopen,
                           .flags = (uint16_t)flags,
                           .rights = rights,
                           .rights_inheriting = inheriting};
    if (kind != CLOCHE__FD_FILE && kind != CLOCHE__FD_DIR)
        return 0;
    return read_fd_node(f, r, s);
}

typedef struct fd_table {
    cloche__wasi_fd *fds;
    uint32_t nfds, cap;
} fd_table;

/* The table size, then the open fds in strictly ascending order. */
static int read_fds(fd_table *t, cloche__rbuf *r, cloche__vfs_stage *s)
{
    uint64_t nfds = cloche__rb_var(r);
    uint64_t count = cloche__rb_var(r);
    if (r->err || nfds < 4 || nfds > CLOCHE__WASI_MAX_FDS || count > nfds)
        return CLOCHE__EINVAL;
    t->nfds = (uint32_t)nfds;
    t->cap = t->nfds < 8 ? 8 : t->nfds;
    if (!(t->fds = cloche__calloc(t->cap, sizeof(*t->fds))))
        return CLOCHE__ENOMEM;
    uint64_t next = 0; /* lowest number the next entry may have */
    for (uint64_t k = 0; k < count; k++) {
        uint64_t fd = cloche__rb_var(r);
        if (r->err || fd < next || fd >= nfds)
            return CLOCHE__EINVAL;
        int rc = read_fd(&t->fds[fd], r, s);
        if (rc)
            return rc;
        next = fd + 1;
    }
    return 0;
}

/* Replace the fd table (cannot fail): the new slots take their node
 * references, the old ones drop theirs. */
static void install_fds(cloche__wasi *w, fd_table *t)
{
    for (uint32_t i = 0; i < t->nfds; i++)
        if (t->fds[i].node)
            cloche__vfs_node_ref(t->fds[i].node);
    for (uint32_t i = 0; i < w->nfds; i++)
        cloche__wasi_fd_release(&w->fds[i]);
    cloche__dealloc(w->fds);
    w->fds = t->fds;
    w->nfds = t->nfds;
    w->fds_cap = t->cap;
}

/* Make the monotonic clock read `elapsed` now and count on from there,
 * whatever the new host's own monotonic clock reads (it may have booted
 * more recently than the guest's clock has run). */
static void set_elapsed(cloche__wasi *w, uint64_t elapsed)
{
    w->start_ns =
        w->now_ns ? w->now_ns(w->hook_ud) : cloche__wasi_host_monotonic();
    w->mono_base = elapsed;
}

int cloche__wasi_load(cloche__wasi *w, const uint8_t *data, size_t len)
{
    cloche__rbuf r = {data, data ? len : 0, 0, 0};
    cloche__vfs_stage *s = NULL;
    fd_table t = {0};
    uint64_t elapsed = 0;
    int rc = check_fresh(w);
    if (rc == 0)
        rc = read_header(&r, &elapsed);
    if (rc == 0)
        rc = cloche__vfs_stage_read(&s, w->vfs, &r);
    if (rc == 0)
        rc = read_fds(&t, &r, s);
    if (rc == 0 && r.off != r.len)
        rc = CLOCHE__EINVAL; /* trailing bytes */
    if (rc == 0)
        rc = cloche__vfs_stage_check(s);
    if (rc) {
        cloche__vfs_stage_free(s);
        cloche__dealloc(t.fds);
        return rc;
    }
    cloche__vfs_stage_commit(s);
    install_fds(w, &t);
    set_elapsed(w, elapsed);
    return 0;
}
