/*
 * vfs_state_load.c - the VFS half of snapshots, reading side: records read
 * back into private staging nodes, checked, then swapped in
 * (cloche__vfs_stage_*; the format and the writer are vfs_state.c's).
 *
 * Invariants of loading:
 *   - the target VFS is not touched before cloche__vfs_stage_commit: staged
 *     nodes are private allocations, all reachable from stage->v, freed by
 *     the discard path without touching any counter (objects re-opened in
 *     host mounts are host nodes: discarding closes them);
 *   - commit cannot fail (everything was allocated and checked before);
 *   - every count, length and size read from the blob is checked against
 *     the bytes left before it sizes an allocation, and against the quota
 *     room the VFS will have once its current tree is gone;
 *   - borrowed data is never created from blob bytes: a borrowed file is
 *     matched by its path in the target's current tree (same size), and an
 *     uncharged directory likewise, so read-only structure cannot be used
 *     to dodge the node quota; a mount point likewise must be the target's
 *     mount at that path with the same flag, and every target mount must
 *     be matched.
 * Nothing here recurses: trees may be deeper than any stack.
 */
#include "vfs/vfs_state_int.h"

#include <stdlib.h>

/* ---- load: staging ----------------------------------------------------- */

typedef struct st_node {
    cloche__vfs_node *n;     /* staged node (number 0: a stand-in root) */
    cloche__vfs_node *match; /* the target's node at the same path */
    uint64_t left;           /* children still to read (directories) */
    uint64_t uses;           /* fds naming it */
} st_node;

struct cloche__vfs_stage {
    cloche__vfs *vfs;
    st_node *v;
    size_t n, cap, ntree;
    uint64_t next_ino, base;
    uint64_t pending; /* children announced, not read yet */
    uint32_t mounts;  /* mount points staged (each matched a mount) */
    uint64_t nodes_new, bytes_new;   /* charged by the staged nodes */
    uint64_t nodes_room, bytes_room; /* quota left once the tree is gone */
};

/* Free one staged node and what it owns; no counter is touched. */
static void free_staged(cloche__vfs_node *n)
{
    if (n->host && !(n->flags & CLOCHE__VFS_F_MOUNT)) {
        cloche__vfs_node_destroy(n); /* closes its host descriptor */
        return;
    }
    if (n->type == CLOCHE__VFS_DIR) {
        for (uint32_t k = 0; k < n->u.dir.n; k++)
            cloche__dealloc(n->u.dir.ents[k].name);
        cloche__dealloc(n->u.dir.ents);
        cloche__dealloc(n->u.dir.by_name);
    } else if (!(n->flags & CLOCHE__VFS_F_BORROWED)) {
        cloche__dealloc(n->u.file.buf);
    }
    cloche__dealloc(n);
}

void cloche__vfs_stage_free(cloche__vfs_stage *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        free_staged(s->v[i].n);
    cloche__dealloc(s->v);
    cloche__dealloc(s);
}

static uint64_t room(uint64_t max, uint64_t used)
{
    return used > max ? 0 : max - used;
}

/* Quota room after the swap: what the current tree's nodes free when they
 * go (nodes still held elsewhere stay charged). */
static int compute_room(cloche__vfs_stage *s)
{
    item *v;
    size_t n, cap;
    cloche__vfs *vfs = s->vfs;
    int rc = cloche__vfs_state_collect(&v, &n, &cap, vfs->root);
    if (rc)
        return rc;
    uint64_t nodes = vfs->nodes_used, bytes = vfs->bytes_used;
    for (size_t i = 1; i < n; i++) {
        const cloche__vfs_node *x = v[i].node;
        if (x->refs != 1)
            continue;
        if (x->flags & CLOCHE__VFS_F_CHARGED)
            nodes--;
        if (x->type == CLOCHE__VFS_FILE && !(x->flags & CLOCHE__VFS_F_BORROWED))
            bytes -= x->u.file.size;
    }
    cloche__dealloc(v);
    s->nodes_room = room(vfs->lim.max_nodes, nodes);
    s->bytes_room = room(vfs->lim.max_bytes, bytes);
    return 0;
}

/* A new staged node, appended to s->v (charged: counted, EDQUOT). */
static int stage_new(cloche__vfs_stage *s, int type, unsigned flags)
{
    if ((flags & CLOCHE__VFS_F_CHARGED) && s->nodes_new >= s->nodes_room)
        return CLOCHE__EDQUOT;
    if (s->n == s->cap && cloche__vfs_state_grow((void **)&s->v, &s->cap, sizeof(*s->v)))
        return CLOCHE__ENOMEM;
    cloche__vfs_node *n = cloche__calloc(1, sizeof(*n));
    if (!n)
        return CLOCHE__ENOMEM;
    n->vfs = s->vfs;
    n->type = (uint8_t)type;
    n->flags = (uint8_t)flags;
    s->v[s->n++] = (st_node){n, NULL, 0, 0};
    if (flags & CLOCHE__VFS_F_CHARGED)
        s->nodes_new++;
    return 0;
}

/* ino and times of the last staged node. */
static void read_attrs(cloche__vfs_stage *s, cloche__rbuf *r)
{
    cloche__vfs_node *n = s->v[s->n - 1].n;
    n->ino = cloche__rb_var(r);
    n->atim = cloche__rb_time(r, s->base);
    n->mtim = cloche__rb_time(r, s->base);
    n->ctim = cloche__rb_time(r, s->base);
}

/* Directory body: next_seq and the child count (children come later).
 * All children announced and not read yet must fit in the bytes left, so
 * that the entry arrays allocated ahead stay proportional to the blob. */
static int read_dir(cloche__vfs_stage *s, cloche__rbuf *r, int orphan)
{
    st_node *st = &s->v[s->n - 1];
    st->n->u.dir.next_seq = cloche__rb_var(r);
    uint64_t count = cloche__rb_var(r);
    uint64_t fit = cloche__rb_left(r) / MIN_CHILD;
    if (r->err || (orphan && count) || count > UINT32_MAX ||
        s->pending > fit || count > fit - s->pending ||
        st->n->u.dir.next_seq > (uint64_t)INT64_MAX)
        return CLOCHE__EINVAL;
    if (count &&
        !(st->n->u.dir.ents = cloche__calloc((size_t)count,
                                             sizeof(cloche__vfs_dent))))
        return CLOCHE__ENOMEM;
    st->n->u.dir.cap = (uint32_t)count;
    st->left = count;
    s->pending += count;
    return 0;
}

/* Owned file body: size and bytes, charged to the byte quota. */
static int read_file(cloche__vfs_stage *s, cloche__rbuf *r)
{
    cloche__vfs_node *n = s->v[s->n - 1].n;
    uint64_t size = cloche__rb_var(r);
    const uint8_t *data = cloche__rb_bytes(r, size);
    if (!data || size > CLOCHE__VFS_FILE_MAX)
        return CLOCHE__EINVAL;
    if (size > s->bytes_room - s->bytes_new)
        return CLOCHE__ENOSPC;
    if (size && !(n->u.file.buf = cloche__alloc((size_t)size)))
        return CLOCHE__ENOMEM;
    if (size)
        memcpy(n->u.file.buf, data, (size_t)size);
    n->u.file.size = n->u.file.cap = size;
    s->bytes_new += size;
    return 0;
}

/* Borrowed file body: the target's file at the same path, same size. */
static int read_borrowed(cloche__vfs_stage *s, cloche__rbuf *r)
{
    st_node *st = &s->v[s->n - 1];
    uint64_t size = cloche__rb_var(r);
    if (r->err || size != st->match->u.file.size)
        return CLOCHE__EINVAL;
    st->n->u.file.ro = st->match->u.file.ro;
    st->n->u.file.size = size;
    return 0;
}

/* Flags of a node from its tag and the target's node at its path; EINVAL
 * when the tag names read-only structure the target lacks. */
static int node_flags(unsigned *flags, unsigned tag,
                      const cloche__vfs_node *match)
{
    unsigned kind = tag & K_MASK, ro = (tag & T_RO) ? CLOCHE__VFS_F_RO : 0;
    if ((tag & ~T_ALL) || kind == 0 || ((tag & T_UNCHARGED) && kind != K_DIR))
        return CLOCHE__EINVAL;
    if (match && (match->flags & CLOCHE__VFS_F_MOUNT) && !(tag & T_MOUNT))
        return CLOCHE__EINVAL; /* a mount point is only ever a mount */
    if (tag & T_MOUNT) { /* the target's mount at this path, same flag */
        int type = kind == K_DIR ? CLOCHE__VFS_DIR : CLOCHE__VFS_FILE;
        if ((tag & T_UNCHARGED) || kind == K_BORROWED || !match ||
            !(match->flags & CLOCHE__VFS_F_MOUNT) || match->type != type ||
            !ro != !(match->flags & CLOCHE__VFS_F_RO))
            return CLOCHE__EINVAL;
        *flags = match->flags & (CLOCHE__VFS_F_RO | CLOCHE__VFS_F_MOUNT);
        return 0;
    }
    if (kind == K_BORROWED) {
        if (!match || match->type != CLOCHE__VFS_FILE ||
            !(match->flags & CLOCHE__VFS_F_BORROWED))
            return CLOCHE__EINVAL;
        *flags = match->flags & (CLOCHE__VFS_F_RO | CLOCHE__VFS_F_BORROWED);
    } else if (tag & T_UNCHARGED) {
        if (!match || match->type != CLOCHE__VFS_DIR ||
            (match->flags & CLOCHE__VFS_F_CHARGED))
            return CLOCHE__EINVAL;
        *flags = match->flags & CLOCHE__VFS_F_RO;
    } else {
        *flags = CLOCHE__VFS_F_CHARGED | ro;
    }
    return 0;
}

/* Create the node of a record whose tag was read, then its attributes and
 * body. */
static int read_node(cloche__vfs_stage *s, cloche__rbuf *r, unsigned tag,
                     cloche__vfs_node *match, int orphan)
{
    unsigned flags;
    int rc = node_flags(&flags, tag, match);
    if (rc)
        return rc;
    unsigned kind = tag & K_MASK;
    rc = stage_new(s, kind == K_DIR ? CLOCHE__VFS_DIR : CLOCHE__VFS_FILE,
                   flags);
    if (rc)
        return rc;
    s->v[s->n - 1].match = match;
    read_attrs(s, r);
    if (tag & T_MOUNT) { /* no body: the contents are the host's */
        s->v[s->n - 1].n->host = match->host;
        s->mounts++;
        return r->err ? CLOCHE__EINVAL : 0;
    }
    if (kind == K_DIR)
        return read_dir(s, r, orphan);
    return kind == K_FILE ? read_file(s, r) : read_borrowed(s, r);
}

/* A child name: 1..255 bytes, no '/', no NUL, not "." or "..". */
static int valid_name(const uint8_t *name, uint64_t len)
{
    if (!name || len == 0 || len > CLOCHE__VFS_NAME_MAX)
        return 0;
    if (memchr(name, '/', (size_t)len) || memchr(name, '\0', (size_t)len))
        return 0;
    return !cloche__vfs_is_dots((const char *)name, (size_t)len);
}

/* The next child of staged directory number p: entry, then node. Entry
 * seqs ascend strictly and stay within the directory's next_seq. */
static int read_child(cloche__vfs_stage *s, cloche__rbuf *r, size_t p)
{
    cloche__vfs_node *dir = s->v[p].n, *pm = s->v[p].match, *match = NULL;
    unsigned tag = cloche__rb_u8(r);
    uint64_t delta = cloche__rb_var(r);
    uint64_t len = cloche__rb_var(r);
    const uint8_t *name = cloche__rb_bytes(r, len);
    uint32_t k = dir->u.dir.n;
    uint64_t prev = k ? dir->u.dir.ents[k - 1].seq : 0;
    if (r->err || !valid_name(name, len) || delta == 0 ||
        delta > dir->u.dir.next_seq - prev)
        return CLOCHE__EINVAL;
    if (pm && pm->type == CLOCHE__VFS_DIR)
        match = cloche__vfs_dir_find(pm, (const char *)name, (size_t)len);
    int rc = read_node(s, r, tag, match, 0);
    if (rc)
        return rc;
    char *copy = cloche__alloc((size_t)len);
    if (!copy)
        return CLOCHE__ENOMEM;
    memcpy(copy, name, (size_t)len);
    cloche__vfs_node *child = s->v[s->n - 1].n;
    dir->u.dir.ents[dir->u.dir.n++] =
        (cloche__vfs_dent){copy, (uint32_t)len, prev + delta, child};
    child->parent = p == 0 ? s->vfs->root : dir;
    child->refs = 1;
    if (child->type == CLOCHE__VFS_DIR)
        dir->u.dir.nsubdirs++;
    return 0;
}

/* The root record (a directory; its marks are the target's own). */
static int read_root(cloche__vfs_stage *s, cloche__rbuf *r)
{
    unsigned tag = cloche__rb_u8(r);
    if (r->err || (tag & K_MASK) != K_DIR || (tag & ~T_ALL))
        return CLOCHE__EINVAL;
    int rc = stage_new(s, CLOCHE__VFS_DIR, 0);
    if (rc)
        return rc;
    s->v[0].match = s->vfs->root;
    read_attrs(s, r);
    return read_dir(s, r, 0);
}

/* Breadth first: each record goes to the first directory still owed
 * children. Parents always come before their children: no cycles. */
static int read_tree(cloche__vfs_stage *s, cloche__rbuf *r)
{
    size_t p = 0;
    for (;;) {
        while (p < s->n && s->v[p].left == 0)
            p++;
        if (p == s->n)
            break;
        s->v[p].left--;
        s->pending--;
        int rc = read_child(s, r, p);
        if (rc)
            return rc;
    }
    s->ntree = s->n;
    return 0;
}

static int dent_cmp(const void *pa, const void *pb)
{
    const cloche__vfs_dent *a = *(const cloche__vfs_dent *const *)pa;
    const cloche__vfs_dent *b = *(const cloche__vfs_dent *const *)pb;
    int c = memcmp(a->name, b->name,
                   a->name_len < b->name_len ? a->name_len : b->name_len);
    return c ? c : (a->name_len > b->name_len) - (a->name_len < b->name_len);
}

/* A directory's name index (by_name), built by sorting pointers to its
 * entries; duplicate names: EINVAL. */
static int index_dir(cloche__vfs_node *d)
{
    uint32_t n = d->u.dir.n;
    const cloche__vfs_dent **t = cloche__calloc(n, sizeof(*t));
    uint32_t *o = cloche__calloc(d->u.dir.cap, sizeof(*o));
    int rc = t && o ? 0 : CLOCHE__ENOMEM;
    for (uint32_t k = 0; rc == 0 && k < n; k++)
        t[k] = &d->u.dir.ents[k];
    if (rc == 0)
        qsort(t, n, sizeof(*t), dent_cmp);
    for (uint32_t k = 0; rc == 0 && k < n; k++) {
        o[k] = (uint32_t)(t[k] - d->u.dir.ents);
        if (k > 0 && dent_cmp(&t[k - 1], &t[k]) == 0)
            rc = CLOCHE__EINVAL;
    }
    cloche__dealloc(t);
    d->u.dir.by_name = o; /* freed with the node on failure */
    return rc;
}

static int index_dirs(cloche__vfs_stage *s)
{
    for (size_t i = 0; i < s->n; i++) {
        cloche__vfs_node *d = s->v[i].n;
        int rc = d->type == CLOCHE__VFS_DIR && d->u.dir.n ? index_dir(d) : 0;
        if (rc)
            return rc;
    }
    return 0;
}

/* An object in a directory mount, opened again by its path there. Like
 * the other out-of-tree nodes it has no reference until the fds take
 * theirs. */
static int read_host(cloche__vfs_stage *s, cloche__rbuf *r, unsigned tag)
{
    unsigned kind = tag & K_MASK;
    uint64_t index = cloche__rb_var(r);
    cloche__vfs_node *point, *n;
    if (r->err || (tag & ~(K_MASK | T_HOST)) ||
        (kind != K_DIR && kind != K_FILE) || index == 0 || index >= s->ntree)
        return CLOCHE__EINVAL;
    point = s->v[index].n;
    if (!(point->flags & CLOCHE__VFS_F_MOUNT) ||
        point->type != CLOCHE__VFS_DIR)
        return CLOCHE__EINVAL;
    if (s->n == s->cap && cloche__vfs_state_grow((void **)&s->v, &s->cap, sizeof(*s->v)))
        return CLOCHE__ENOMEM;
    int rc = cloche__vfs_state_read_host(
        &n, r, point->host->mnt,
        kind == K_DIR ? CLOCHE__VFS_DIR : CLOCHE__VFS_FILE);
    if (rc)
        return rc;
    n->refs = 0;
    s->v[s->n++] = (st_node){n, NULL, 0, 0};
    return 0;
}

/* Nodes outside the tree: files and empty directories, all charged, and
 * objects in mounts. */
static int read_orphans(cloche__vfs_stage *s, cloche__rbuf *r)
{
    uint64_t count = cloche__rb_var(r);
    if (r->err || count > cloche__rb_left(r) / MIN_ORPHAN)
        return CLOCHE__EINVAL;
    for (uint64_t i = 0; i < count; i++) {
        unsigned tag = cloche__rb_u8(r);
        int rc = r->err          ? CLOCHE__EINVAL
                 : (tag & T_HOST) ? read_host(s, r, tag)
                                  : read_node(s, r, tag, NULL, 1);
        if (rc)
            return rc;
    }
    return 0;
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Inode numbers: nonzero, distinct, not the root's, below next_ino (the
 * host's own for objects in mounts: not checked). */
static int check_inos(cloche__vfs_stage *s)
{
    uint64_t root = s->vfs->root->ino;
    size_t n = 0;
    if (s->next_ino <= root || s->next_ino > (uint64_t)INT64_MAX)
        return CLOCHE__EINVAL;
    uint64_t *v = cloche__calloc(s->n, sizeof(*v));
    if (!v)
        return CLOCHE__ENOMEM;
    for (size_t i = 1; i < s->n; i++) {
        const cloche__vfs_node *x = s->v[i].n;
        if (!x->host || (x->flags & CLOCHE__VFS_F_MOUNT))
            v[n++] = x->ino;
    }
    qsort(v, n, sizeof(*v), u64_cmp);
    int bad = n && (v[0] == 0 || v[n - 1] >= s->next_ino);
    for (size_t i = 0; i < n && !bad; i++)
        bad = v[i] == root || (i > 0 && v[i] == v[i - 1]);
    cloche__dealloc(v);
    return bad ? CLOCHE__EINVAL : 0;
}

int cloche__vfs_stage_read(cloche__vfs_stage **out, cloche__vfs *vfs,
                           cloche__rbuf *r)
{
    *out = NULL;
    cloche__vfs_stage *s = cloche__calloc(1, sizeof(*s));
    if (!s)
        return CLOCHE__ENOMEM;
    s->vfs = vfs;
    int rc = compute_room(s);
    if (rc == 0) {
        s->next_ino = cloche__rb_var(r);
        s->base = cloche__rb_u64(r);
        rc = r->err ? CLOCHE__EINVAL : read_root(s, r);
    }
    if (rc == 0 && (rc = read_tree(s, r)) == 0 &&
        (rc = index_dirs(s)) == 0 && (rc = read_orphans(s, r)) == 0)
        rc = check_inos(s);
    if (rc == 0 && s->mounts != vfs->nmounts)
        rc = CLOCHE__EINVAL; /* the target has mounts the blob lacks */
    if (rc) {
        cloche__vfs_stage_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

cloche__vfs_node *cloche__vfs_stage_node(cloche__vfs_stage *s, uint64_t index,
                                         int type)
{
    if (index >= s->n)
        return NULL;
    cloche__vfs_node *n = index == 0 ? s->vfs->root : s->v[index].n;
    if (n->type != type)
        return NULL;
    s->v[index].uses++;
    return n;
}

int cloche__vfs_stage_check(const cloche__vfs_stage *s)
{
    for (size_t i = s->ntree; i < s->n; i++)
        if (s->v[i].uses == 0)
            return CLOCHE__EINVAL;
    return 0;
}

/* ---- load: the swap ---------------------------------------------------- */

/* Unlink and release everything below top, leaf first, without recursion.
 * A node still held elsewhere survives unlinked (and emptied, as unlinked
 * directories always are). */
static void drop_children(cloche__vfs_node *top)
{
    cloche__vfs_node *cur = top;
    for (;;) {
        if (cur->type == CLOCHE__VFS_DIR && cur->u.dir.n > 0) {
            cloche__vfs_dent *e = &cur->u.dir.ents[--cur->u.dir.n];
            cloche__dealloc(e->name);
            if (e->node->type == CLOCHE__VFS_DIR)
                cur->u.dir.nsubdirs--;
            cur = e->node;
            continue;
        }
        if (cur == top)
            return;
        cloche__vfs_node *parent = cur->parent;
        cur->parent = NULL;
        cloche__vfs_node_unref(cur);
        cur = parent;
    }
}

void cloche__vfs_stage_commit(cloche__vfs_stage *s)
{
    cloche__vfs *vfs = s->vfs;
    cloche__vfs_node *root = vfs->root, *in = s->v[0].n;
    drop_children(root);
    cloche__dealloc(root->u.dir.ents);
    cloche__dealloc(root->u.dir.by_name);
    root->u.dir = in->u.dir; /* the stand-in's children are root's now */
    root->atim = in->atim;
    root->mtim = in->mtim;
    root->ctim = in->ctim;
    vfs->nodes_used += s->nodes_new;
    vfs->bytes_used += s->bytes_new;
    vfs->next_ino = s->next_ino;
    for (size_t i = 1; i < s->ntree; i++) /* mounts move to their new node */
        if (s->v[i].n->flags & CLOCHE__VFS_F_MOUNT)
            s->v[i].n->host->node = s->v[i].n;
    cloche__dealloc(in);
    cloche__dealloc(s->v);
    cloche__dealloc(s);
}
