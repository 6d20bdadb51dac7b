/*
 * vfs.c - the in-memory tree: nodes, directories, file data, quotas.
 *
 * Owns every node of a VFS. Invariants:
 *   - a linked node has parent != NULL (or is the root) and holds one
 *     reference for its link; open handles add one each; a node is freed
 *     when it is unlinked and its last reference goes;
 *   - only directories have children; an unlinked directory is empty;
 *   - a directory's entries are in creation order (ascending seq) and
 *     by_name indexes them in name order (binary search);
 *   - bytes_used is the sum of the sizes of owned file data; nodes_used
 *     counts nodes flagged CHARGED; neither ever exceeds its limit through
 *     an operation of this file.
 *   - a node with a host part (a mount point, or a host object below one)
 *     has its data on the host: the node calls hand it to vfs_host.c, and
 *     it is never charged.
 * It never recurses over the tree (depth is guest-controlled) and never
 * aborts; allocation failures come back as CLOCHE__ENOMEM.
 */
#include "vfs/vfs_int.h"

#include <string.h>

#include "vfs/vfs_alloc.h"

/* ---- status names ------------------------------------------------------ */

const char *cloche__status_name(int status)
{
    if (status == 0)
        return "OK";
    switch (status) {
#define CLOCHE__X(name, value, msg)                                            \
    case value:                                                                \
        return #name;
        CLOCHE__ERRNO_LIST(CLOCHE__X)
#undef CLOCHE__X
    default:
        return "E?";
    }
}

const char *cloche__status_message(int status)
{
    if (status == 0)
        return "success";
    switch (status) {
#define CLOCHE__X(name, value, msg)                                            \
    case value:                                                                \
        return msg;
        CLOCHE__ERRNO_LIST(CLOCHE__X)
#undef CLOCHE__X
    default:
        return "unknown error";
    }
}

/* ---- lifecycle --------------------------------------------------------- */

int cloche__vfs_new(cloche__vfs **out, const cloche__vfs_limits *lim)
{
    *out = NULL;
    cloche__vfs *vfs = cloche__calloc(1, sizeof(*vfs));
    if (!vfs)
        return CLOCHE__ENOMEM;
    vfs->lim.max_bytes = lim ? lim->max_bytes : CLOCHE__VFS_DEFAULT_MAX_BYTES;
    vfs->lim.max_nodes = lim ? lim->max_nodes : CLOCHE__VFS_DEFAULT_MAX_NODES;
    uint32_t fds = lim ? lim->max_host_fds : 0;
    vfs->lim.max_host_fds = fds == 0 ? CLOCHE__VFS_DEFAULT_HOST_FDS
                            : fds > CLOCHE__VFS_MAX_HOST_NODES
                                ? CLOCHE__VFS_MAX_HOST_NODES
                                : fds;
    vfs->next_ino = 1;
    int rc = cloche__vfs_node_new(&vfs->root, vfs, CLOCHE__VFS_DIR, 0);
    if (rc) {
        cloche__dealloc(vfs);
        return rc;
    }
    vfs->root->refs = 1; /* held by the VFS itself */
    *out = vfs;
    return 0;
}

/* Tear the tree down leaf first, without recursion: go down the last child
 * until a leaf, free it, continue from its parent. */
void cloche__vfs_free(cloche__vfs *vfs)
{
    if (!vfs)
        return;
    cloche__vfs_node *cur = vfs->root;
    while (cur) {
        if (cur->type == CLOCHE__VFS_DIR && cur->u.dir.n > 0) {
            cloche__vfs_dent *e = &cur->u.dir.ents[--cur->u.dir.n];
            cloche__dealloc(e->name);
            cur = e->node;
            continue;
        }
        cloche__vfs_node *parent = cur->parent;
        cloche__vfs_node_destroy(cur);
        cur = parent;
    }
    cloche__vfs_mounts_free(vfs);
    cloche__dealloc(vfs);
}

static uint64_t fixed_epoch(void *ud)
{
    (void)ud;
    return CLOCHE__EPOCH_2000_NS;
}

void cloche__vfs_set_clock(cloche__vfs *vfs, uint64_t (*now_ns)(void *ud),
                           void *ud)
{
    vfs->now_ns = now_ns;
    vfs->now_ud = ud;
}

void *cloche__vfs_clock_ud(const cloche__vfs *vfs)
{
    return vfs->now_ns ? vfs->now_ud : NULL;
}

uint64_t cloche__vfs_now(const cloche__vfs *vfs)
{
    return vfs->now_ns ? vfs->now_ns(vfs->now_ud) : fixed_epoch(NULL);
}

void cloche__vfs_usage(const cloche__vfs *vfs, uint64_t *bytes,
                       uint64_t *nodes)
{
    if (bytes)
        *bytes = vfs->bytes_used;
    if (nodes)
        *nodes = vfs->nodes_used;
}

/* ---- nodes ------------------------------------------------------------- */

int cloche__vfs_node_new(cloche__vfs_node **out, cloche__vfs *vfs, int type,
                         unsigned flags)
{
    *out = NULL;
    int charged = (flags & CLOCHE__VFS_F_CHARGED) != 0;
    if (charged && vfs->nodes_used >= vfs->lim.max_nodes)
        return CLOCHE__EDQUOT;
    cloche__vfs_node *n = cloche__calloc(1, sizeof(*n));
    if (!n)
        return CLOCHE__ENOMEM;
    n->vfs = vfs;
    n->type = (uint8_t)type;
    n->flags = (uint8_t)flags;
    n->ino = vfs->next_ino++;
    n->atim = n->mtim = n->ctim = cloche__vfs_now(vfs);
    if (charged)
        vfs->nodes_used++;
    *out = n;
    return 0;
}

void cloche__vfs_node_destroy(cloche__vfs_node *n)
{
    cloche__vfs *vfs = n->vfs;
    if (n->host && !(n->flags & CLOCHE__VFS_F_MOUNT)) {
        cloche__vfs_host_release(n->host); /* no data, never charged */
        cloche__dealloc(n);
        return;
    }
    if (n->flags & CLOCHE__VFS_F_CHARGED)
        vfs->nodes_used--;
    if (n->type == CLOCHE__VFS_DIR) {
        cloche__dealloc(n->u.dir.ents);
        cloche__dealloc(n->u.dir.by_name);
    } else if (n->type == CLOCHE__VFS_FILE) {
        cloche__vfs_file_clear(n);
    }
    cloche__dealloc(n);
}

cloche__vfs_node *cloche__vfs_root(const cloche__vfs *vfs)
{
    return vfs->root;
}

void cloche__vfs_node_ref(cloche__vfs_node *n)
{
    n->refs++;
}

void cloche__vfs_node_unref(cloche__vfs_node *n)
{
    if (!n)
        return;
    if (--n->refs == 0)
        cloche__vfs_node_destroy(n);
}

int cloche__vfs_node_type(const cloche__vfs_node *n)
{
    return n->type;
}

int cloche__vfs_node_readonly(const cloche__vfs_node *n)
{
    return (n->flags & CLOCHE__VFS_F_RO) != 0;
}

int cloche__vfs_is_linked(const cloche__vfs_node *n)
{
    return n->parent != NULL || n == n->vfs->root;
}

void cloche__vfs_node_stat(cloche__vfs_stat *out, const cloche__vfs_node *n)
{
    if (n->host && cloche__vfs_host_stat(out, n) == 0)
        return;
    memset(out, 0, sizeof(*out));
    if (n->host) { /* the host object is gone: what the node knows */
        out->type = n->type;
        out->readonly = cloche__vfs_node_readonly(n);
        return;
    }
    out->dev = 1;
    out->ino = n->ino;
    out->type = n->type;
    if (n->type == CLOCHE__VFS_DIR)
        out->nlink = cloche__vfs_is_linked(n) ? 2u + n->u.dir.nsubdirs : 0;
    else
        out->nlink = cloche__vfs_is_linked(n) ? 1 : 0;
    out->size = cloche__vfs_file_size(n);
    out->atim = n->atim;
    out->mtim = n->mtim;
    out->ctim = n->ctim;
    out->readonly = cloche__vfs_node_readonly(n);
}

int cloche__vfs_set_times(cloche__vfs_node *n, uint64_t atim, uint64_t mtim,
                          unsigned mask, int guest)
{
    if (guest && (n->flags & CLOCHE__VFS_F_RO))
        return CLOCHE__EROFS;
    if (n->host)
        return cloche__vfs_host_set_times(n, atim, mtim, mask);
    if (mask & CLOCHE__VFS_SET_ATIM)
        n->atim = atim;
    if (mask & CLOCHE__VFS_SET_MTIM)
        n->mtim = mtim;
    n->ctim = cloche__vfs_now(n->vfs);
    return 0;
}

int cloche__vfs_is_ancestor(const cloche__vfs_node *dir,
                            const cloche__vfs_node *n)
{
    for (; n; n = n->parent)
        if (n == dir)
            return 1;
    return 0;
}

static void touch(cloche__vfs_node *n)
{
    n->mtim = n->ctim = cloche__vfs_now(n->vfs);
}

/* ---- directories ------------------------------------------------------- */

static int name_cmp(const char *a, size_t alen, const cloche__vfs_dent *e)
{
    size_t m = alen < e->name_len ? alen : e->name_len;
    int c = memcmp(a, e->name, m);
    if (c)
        return c;
    return alen < e->name_len ? -1 : alen > e->name_len ? 1 : 0;
}

/* Position in by_name of (name, len), or where it would go; *found set. */
static uint32_t by_name_pos(const cloche__vfs_node *dir, const char *name,
                            size_t len, int *found)
{
    uint32_t lo = 0, hi = dir->u.dir.n;
    *found = 0;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        const cloche__vfs_dent *e = &dir->u.dir.ents[dir->u.dir.by_name[mid]];
        int c = name_cmp(name, len, e);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

cloche__vfs_node *cloche__vfs_dir_find(const cloche__vfs_node *dir,
                                       const char *name, size_t len)
{
    int found;
    uint32_t k = by_name_pos(dir, name, len, &found);
    return found ? dir->u.dir.ents[dir->u.dir.by_name[k]].node : NULL;
}

static int dir_grow(cloche__vfs_node *dir)
{
    uint32_t cap = dir->u.dir.cap ? dir->u.dir.cap * 2 : 8;
    if (cap < dir->u.dir.cap || cap > UINT32_MAX / 2)
        return CLOCHE__EDQUOT;
    cloche__vfs_dent *e =
        cloche__realloc(dir->u.dir.ents, (size_t)cap * sizeof(*e));
    if (!e)
        return CLOCHE__ENOMEM;
    dir->u.dir.ents = e;
    uint32_t *o = cloche__realloc(dir->u.dir.by_name, (size_t)cap * sizeof(*o));
    if (!o)
        return CLOCHE__ENOMEM; /* ents grew; harmless, cap stays */
    dir->u.dir.by_name = o;
    dir->u.dir.cap = cap;
    return 0;
}

int cloche__vfs_dir_prepare(char **copy, cloche__vfs_node *dir,
                            const char *name, size_t len)
{
    *copy = NULL;
    if (dir->u.dir.n == dir->u.dir.cap) {
        int rc = dir_grow(dir);
        if (rc)
            return rc;
    }
    *copy = cloche__alloc(len);
    if (!*copy)
        return CLOCHE__ENOMEM;
    memcpy(*copy, name, len);
    return 0;
}

void cloche__vfs_dir_link(cloche__vfs_node *dir, char *copy, size_t len,
                          cloche__vfs_node *child)
{
    int found;
    uint32_t k = by_name_pos(dir, copy, len, &found);
    uint32_t i = dir->u.dir.n++;
    dir->u.dir.ents[i] = (cloche__vfs_dent){copy, (uint32_t)len,
                                            ++dir->u.dir.next_seq, child};
    uint32_t *o = dir->u.dir.by_name;
    memmove(&o[k + 1], &o[k], (size_t)(i - k) * sizeof(*o));
    o[k] = i;
    child->parent = dir;
    child->refs++;
    if (child->type == CLOCHE__VFS_DIR)
        dir->u.dir.nsubdirs++;
    touch(dir);
}

int cloche__vfs_dir_insert(cloche__vfs_node *dir, const char *name,
                           size_t len, cloche__vfs_node *child)
{
    char *copy;
    int rc = cloche__vfs_dir_prepare(&copy, dir, name, len);
    if (rc)
        return rc;
    cloche__vfs_dir_link(dir, copy, len, child);
    return 0;
}

cloche__vfs_node *cloche__vfs_dir_detach(cloche__vfs_node *dir,
                                         const char *name, size_t len)
{
    int found;
    uint32_t k = by_name_pos(dir, name, len, &found);
    if (!found)
        return NULL;
    uint32_t *o = dir->u.dir.by_name;
    uint32_t n = dir->u.dir.n;
    uint32_t i = o[k];
    cloche__vfs_dent *e = dir->u.dir.ents;
    cloche__vfs_node *child = e[i].node;
    cloche__dealloc(e[i].name);
    memmove(&e[i], &e[i + 1], (size_t)(n - i - 1) * sizeof(*e));
    memmove(&o[k], &o[k + 1], (size_t)(n - k - 1) * sizeof(*o));
    dir->u.dir.n = --n;
    for (uint32_t j = 0; j < n; j++)
        if (o[j] > i)
            o[j]--;
    child->parent = NULL;
    if (child->type == CLOCHE__VFS_DIR)
        dir->u.dir.nsubdirs--;
    touch(dir);
    return child;
}

/* First entry index with seq > after (entries are in ascending seq). */
static uint32_t first_after(const cloche__vfs_node *dir, uint64_t after)
{
    uint32_t lo = 0, hi = dir->u.dir.n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (dir->u.dir.ents[mid].seq <= after)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int cloche__vfs_dir_next(cloche__vfs_dirent *out, const cloche__vfs_node *dir,
                         uint64_t cookie)
{
    return cloche__vfs_dir_read(out, dir, cookie) > 0;
}

int cloche__vfs_dir_read(cloche__vfs_dirent *out, const cloche__vfs_node *dir,
                         uint64_t cookie)
{
    if (dir->host)
        return cloche__vfs_host_dir_read(out, dir, cookie);
    if (cookie < 2) {
        /* "." (cookie 0) and ".." (cookie 1): the name is the first 1 or 2
         * bytes of "..". The root and unlinked directories are their own
         * "..". */
        const cloche__vfs_node *n = dir;
        if (cookie == 1 && dir->parent)
            n = dir->parent;
        *out = (cloche__vfs_dirent){cookie + 1, n->ino, CLOCHE__VFS_DIR,
                                    "..", cookie + 1};
        return 1;
    }
    uint32_t i = first_after(dir, cookie - 2);
    if (i >= dir->u.dir.n)
        return 0;
    const cloche__vfs_dent *e = &dir->u.dir.ents[i];
    *out = (cloche__vfs_dirent){e->seq + 2, e->node->ino, e->node->type,
                                e->name, e->name_len};
    return 1;
}

/* ---- file data --------------------------------------------------------- */

static const uint8_t *file_bytes(const cloche__vfs_node *n)
{
    return (n->flags & CLOCHE__VFS_F_BORROWED) ? n->u.file.ro : n->u.file.buf;
}

uint64_t cloche__vfs_file_size(const cloche__vfs_node *n)
{
    uint64_t size = 0;
    if (n->type == CLOCHE__VFS_FILE && n->host)
        cloche__vfs_host_size(&size, n); /* 0 when the host cannot say */
    else if (n->type == CLOCHE__VFS_FILE)
        size = n->u.file.size;
    return size;
}

void cloche__vfs_file_clear(cloche__vfs_node *n)
{
    if (!(n->flags & CLOCHE__VFS_F_BORROWED)) {
        n->vfs->bytes_used -= n->u.file.size;
        cloche__dealloc(n->u.file.buf);
    }
    n->flags = (uint8_t)(n->flags & ~CLOCHE__VFS_F_BORROWED);
    n->u.file.buf = NULL;
    n->u.file.ro = NULL;
    n->u.file.size = n->u.file.cap = 0;
}

void cloche__vfs_file_read(size_t *nread, const cloche__vfs_node *n,
                           uint64_t off, uint8_t *dst, size_t len)
{
    *nread = 0;
    if (n->host) {
        cloche__vfs_host_read(nread, n, off, dst, len);
        return;
    }
    uint64_t size = cloche__vfs_file_size(n);
    if (off >= size || len == 0)
        return;
    uint64_t avail = size - off;
    size_t k = avail < len ? (size_t)avail : len;
    memcpy(dst, file_bytes(n) + off, k);
    *nread = k;
}

static int writable(const cloche__vfs_node *n)
{
    if (n->type != CLOCHE__VFS_FILE)
        return CLOCHE__EISDIR;
    if (n->flags & (CLOCHE__VFS_F_RO | CLOCHE__VFS_F_BORROWED))
        return CLOCHE__EROFS;
    return 0;
}

/* Make room for size bytes. The capacity grows geometrically but never so
 * far that the allocation would exceed what the byte quota still allows. */
static int reserve(cloche__vfs_node *n, uint64_t size)
{
    cloche__vfs *vfs = n->vfs;
    if (size <= n->u.file.cap)
        return 0;
    uint64_t growth = size - n->u.file.size;
    uint64_t room = vfs->lim.max_bytes - vfs->bytes_used - growth;
    uint64_t cap = n->u.file.cap * 2;
    if (cap < size)
        cap = size;
    if (cap - size > room)
        cap = size + room;
    if (cap > CLOCHE__VFS_FILE_MAX)
        cap = size;
    uint8_t *p = cloche__realloc(n->u.file.buf, (size_t)cap);
    if (!p)
        return CLOCHE__ENOMEM;
    n->u.file.buf = p;
    n->u.file.cap = cap;
    return 0;
}

/* Give memory back so that capacity stays within twice the charged size
 * (a truncated file must not pin its old allocation). */
static void shrink(cloche__vfs_node *n, uint64_t size)
{
    if (size == 0) {
        cloche__dealloc(n->u.file.buf);
        n->u.file.buf = NULL;
        n->u.file.cap = 0;
        return;
    }
    if (n->u.file.cap / 2 <= size)
        return;
    uint8_t *p = cloche__realloc(n->u.file.buf, (size_t)size);
    if (p) { /* a failed shrink keeps the larger, still valid block */
        n->u.file.buf = p;
        n->u.file.cap = size;
    }
}

int cloche__vfs_file_resize(cloche__vfs_node *n, uint64_t size)
{
    int rc = writable(n);
    if (rc)
        return rc;
    if (n->host)
        return cloche__vfs_host_resize(n, size);
    cloche__vfs *vfs = n->vfs;
    uint64_t old = n->u.file.size;
    if (size > CLOCHE__VFS_FILE_MAX)
        return CLOCHE__EFBIG;
    if (size > old) {
        if (size - old > vfs->lim.max_bytes - vfs->bytes_used)
            return CLOCHE__ENOSPC;
        if ((rc = reserve(n, size)) != 0)
            return rc;
        memset(n->u.file.buf + old, 0, (size_t)(size - old));
        vfs->bytes_used += size - old;
    } else {
        vfs->bytes_used -= old - size;
        shrink(n, size);
    }
    n->u.file.size = size;
    touch(n);
    return 0;
}

int cloche__vfs_file_write(cloche__vfs_node *n, uint64_t off,
                           const uint8_t *src, size_t len)
{
    int rc = writable(n);
    if (rc)
        return rc;
    if (n->host) { /* all of it, or an error (some bytes may be written) */
        size_t done;
        rc = cloche__vfs_host_write(&done, n, off, src, len);
        return rc ? rc : done < len ? CLOCHE__EIO : 0;
    }
    if (off > CLOCHE__VFS_FILE_MAX || len > CLOCHE__VFS_FILE_MAX - off)
        return CLOCHE__EFBIG;
    if (len == 0)
        return 0;
    uint64_t end = off + len;
    if (end > n->u.file.size && (rc = cloche__vfs_file_resize(n, end)) != 0)
        return rc;
    memcpy(n->u.file.buf + off, src, len);
    touch(n);
    return 0;
}
