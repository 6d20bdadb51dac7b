/*
 * vfs_state.c - the VFS half of snapshots, writing side: the tree as
 * records (vfs_state_load.c reads them back and swaps them in).
 *
 * Owns the record format of the tree (docs/wasi.md, "Snapshots of the host
 * state"). Records come breadth first: the root, then the children of each
 * directory in the order the directories were written, each child in
 * creation (readdir) order; then the nodes outside the tree that open fds
 * hold. A node's number is its position in that sequence.
 *
 * Invariants of saving: nothing is changed; a node's number is written
 * before any record refers to it (fds name nodes by number afterwards);
 * a mount point is saved as its entry and read-only flag only and an
 * object an fd holds inside a mount as its path below it, never host
 * contents or host paths (vfs_state_host.c). It never recurses.
 */
#include "vfs/vfs_state_int.h"

#include <stdlib.h>

/* ---- shared with vfs_state_load.c --------------------------------------- */

int cloche__vfs_state_grow(void **p, size_t *cap, size_t elem)
{
    size_t c = *cap ? *cap : 8;
    if (c > SIZE_MAX / 2 / elem)
        return CLOCHE__ENOMEM;
    void *q = cloche__realloc(*p, 2 * c * elem);
    if (!q)
        return CLOCHE__ENOMEM;
    *p = q;
    *cap = 2 * c;
    return 0;
}

/* ---- breadth-first walk --------------------------------------------- */

/* Append the children of dir to v in readdir order. */
static int push_children(item **v, size_t *n, size_t *cap,
                         const cloche__vfs_node *dir)
{
    uint64_t prev = 0;
    for (uint32_t k = 0; k < dir->u.dir.n; k++) {
        if (*n == *cap && cloche__vfs_state_grow((void **)v, cap, sizeof(**v)))
            return CLOCHE__ENOMEM;
        const cloche__vfs_dent *e = &dir->u.dir.ents[k];
        (*v)[(*n)++] = (item){e->node, e, e->seq - prev};
        prev = e->seq;
    }
    return 0;
}

int cloche__vfs_state_collect(item **out, size_t *nout, size_t *capout,
                              cloche__vfs_node *root)
{
    size_t n = 1, cap = 16;
    item *v = cloche__calloc(cap, sizeof(*v));
    if (!v)
        return CLOCHE__ENOMEM;
    v[0] = (item){root, NULL, 0};
    for (size_t i = 0; i < n; i++) {
        if (v[i].node->type == CLOCHE__VFS_DIR &&
            push_children(&v, &n, &cap, v[i].node)) {
            cloche__dealloc(v);
            return CLOCHE__ENOMEM;
        }
    }
    *out = v;
    *nout = n;
    *capout = cap;
    return 0;
}

/* ---- save -------------------------------------------------------------- */

static void put_entry_and_attrs(cloche__wbuf *wb, const item *it,
                                uint64_t base)
{
    const cloche__vfs_node *n = it->node;
    if (it->ent) {
        cloche__wb_var(wb, it->seq_delta);
        cloche__wb_var(wb, it->ent->name_len);
        cloche__wb_bytes(wb, it->ent->name, it->ent->name_len);
    }
    cloche__wb_var(wb, n->ino);
    cloche__wb_time(wb, n->atim, base);
    cloche__wb_time(wb, n->mtim, base);
    cloche__wb_time(wb, n->ctim, base);
}

/* One record. Out of the tree, a borrowed file has no path to be found by
 * and is written with its bytes (it loads as an owned read-only file). A
 * mount point is its entry and flag; an object in a mount is its path
 * below it (vfs_state_host.c). */
static void put_record(cloche__wbuf *wb, const item *it, uint64_t base,
                       int orphan, const cloche__vfs_saved *map)
{
    const cloche__vfs_node *n = it->node;
    unsigned k = n->type == CLOCHE__VFS_DIR ? K_DIR : K_FILE;
    if (n->host && !(n->flags & CLOCHE__VFS_F_MOUNT)) {
        cloche__wb_u8(wb, (uint8_t)(k | T_HOST));
        cloche__vfs_state_put_host(
            wb, n, cloche__vfs_saved_index(map, n->host->mnt->root.node));
        return;
    }
    if (n->host) {
        cloche__wb_u8(wb, (uint8_t)(k | T_MOUNT |
                                    ((n->flags & CLOCHE__VFS_F_RO) ? T_RO : 0)));
        put_entry_and_attrs(wb, it, base);
        return;
    }
    int borrowed = (n->flags & CLOCHE__VFS_F_BORROWED) != 0;
    unsigned kind = n->type == CLOCHE__VFS_DIR ? K_DIR
                    : borrowed && !orphan      ? K_BORROWED
                                               : K_FILE;
    unsigned tag = kind;
    if (n->flags & CLOCHE__VFS_F_RO)
        tag |= T_RO;
    if (kind == K_DIR && !orphan && !(n->flags & CLOCHE__VFS_F_CHARGED))
        tag |= T_UNCHARGED;
    cloche__wb_u8(wb, (uint8_t)tag);
    put_entry_and_attrs(wb, it, base);
    if (n->type == CLOCHE__VFS_DIR) {
        cloche__wb_var(wb, n->u.dir.next_seq);
        cloche__wb_var(wb, orphan ? 0 : n->u.dir.n);
    } else {
        cloche__wb_var(wb, n->u.file.size);
        if (kind == K_FILE)
            cloche__wb_bytes(wb, borrowed ? n->u.file.ro : n->u.file.buf,
                             (size_t)n->u.file.size);
    }
}

static int idx_cmp(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const cloche__vfs_idx *)a)->node;
    uintptr_t y = (uintptr_t)((const cloche__vfs_idx *)b)->node;
    return x < y ? -1 : x > y;
}

/* Number the n items of v (sorted node -> index map). */
static int build_map(cloche__vfs_saved *s, const item *v, size_t n)
{
    if (!(s->map = cloche__calloc(n, sizeof(*s->map))))
        return CLOCHE__ENOMEM;
    for (size_t i = 0; i < n; i++)
        s->map[i] = (cloche__vfs_idx){v[i].node, i};
    qsort(s->map, n, sizeof(*s->map), idx_cmp);
    s->n = n;
    return 0;
}

uint64_t cloche__vfs_saved_index(const cloche__vfs_saved *s,
                                 const cloche__vfs_node *n)
{
    cloche__vfs_idx key = {n, 0};
    const cloche__vfs_idx *hit =
        s->n ? bsearch(&key, s->map, s->n, sizeof(key), idx_cmp) : NULL;
    return hit ? hit->index : UINT64_MAX;
}

void cloche__vfs_saved_free(cloche__vfs_saved *s)
{
    cloche__dealloc(s->map);
    s->map = NULL;
    s->n = 0;
}

/* Append the held nodes that are not in the tree, each once. Only files
 * and empty directories are ever unlinked. */
static int push_orphans(item **v, size_t *n, size_t *cap,
                        cloche__vfs_node *const *held, size_t nheld)
{
    size_t ntree = *n;
    for (size_t i = 0; i < nheld; i++) {
        int seen = cloche__vfs_is_linked(held[i]);
        for (size_t k = ntree; !seen && k < *n; k++)
            seen = (*v)[k].node == held[i];
        if (seen)
            continue;
        if (*n == *cap && cloche__vfs_state_grow((void **)v, cap, sizeof(**v)))
            return CLOCHE__ENOMEM;
        (*v)[(*n)++] = (item){held[i], NULL, 0};
    }
    return 0;
}

int cloche__vfs_save_tree(cloche__vfs_saved *out, cloche__wbuf *wb,
                          const cloche__vfs *vfs,
                          cloche__vfs_node *const *held, size_t nheld)
{
    item *v;
    size_t n, cap;
    memset(out, 0, sizeof(*out));
    int rc = cloche__vfs_state_collect(&v, &n, &cap, vfs->root);
    if (rc)
        return wb->err = rc;
    size_t ntree = n;
    if ((rc = push_orphans(&v, &n, &cap, held, nheld)) == 0)
        rc = build_map(out, v, n);
    if (rc == 0) {
        uint64_t base = vfs->root->mtim;
        cloche__wb_var(wb, vfs->next_ino);
        cloche__wb_u64(wb, base);
        for (size_t i = 0; i < ntree; i++)
            put_record(wb, &v[i], base, 0, out);
        cloche__wb_var(wb, n - ntree);
        for (size_t i = ntree; i < n; i++)
            put_record(wb, &v[i], base, 1, out);
        rc = wb->err;
    }
    cloche__dealloc(v);
    if (rc) {
        cloche__vfs_saved_free(out);
        wb->err = rc;
    }
    return rc;
}
