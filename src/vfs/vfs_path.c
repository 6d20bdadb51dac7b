/*
 * vfs_path.c - path resolution and the guest's path operations.
 *
 * Owns the component walk. Invariants:
 *   - a path is checked in full (length, NUL bytes, component sizes, depth)
 *     before any node is touched;
 *   - the walk only moves to a child found in the current directory or to
 *     the current directory's parent, and ".." at the root stays at the
 *     root: no path can name anything outside the tree;
 *   - every operation either completes or leaves the tree unchanged;
 *   - inside a directory mount the walk is a position (mount, path below
 *     its root) handled lexically: ".." pops a component after checking
 *     through the host that it is a directory, and ".." at the mount root
 *     leads to the mount point's VFS parent, never to the host's. The
 *     operation itself is vfs_host_path.c's; mount points are never
 *     removed, renamed or replaced (EBUSY), and a rename never crosses a
 *     mount boundary (EXDEV).
 * It never follows symlinks and never recurses.
 */
#include "vfs/vfs_int.h"

#include <string.h>

#include "vfs/vfs_alloc.h"

int cloche__vfs_is_dots(const char *name, size_t len)
{
    return (len == 1 && name[0] == '.') ||
           (len == 2 && name[0] == '.' && name[1] == '.');
}

int cloche__vfs_check_path(const char *path, size_t len)
{
    if (len == 0)
        return CLOCHE__ENOENT;
    if (len > CLOCHE__VFS_PATH_MAX)
        return CLOCHE__ENAMETOOLONG;
    if (memchr(path, '\0', len))
        return CLOCHE__EINVAL;
    size_t depth = 0, i = 0;
    while (i < len) {
        size_t start = i;
        while (i < len && path[i] != '/')
            i++;
        size_t clen = i - start;
        if (clen > CLOCHE__VFS_NAME_MAX)
            return CLOCHE__ENAMETOOLONG;
        if (clen > 0 && ++depth > CLOCHE__VFS_DEPTH_MAX)
            return CLOCHE__ENAMETOOLONG;
        i++; /* skip the '/' */
    }
    return 0;
}

int cloche__vfs_step(cloche__vfs_node **out, cloche__vfs_node *cur,
                     const char *name, size_t len)
{
    if (cur->type != CLOCHE__VFS_DIR)
        return CLOCHE__ENOTDIR;
    if (len == 0 || (len == 1 && name[0] == '.')) {
        *out = cur;
        return 0;
    }
    if (len == 2 && name[0] == '.' && name[1] == '.') {
        /* The root is its own parent; an unlinked directory has none. */
        if (cur == cur->vfs->root)
            *out = cur;
        else if (cur->parent)
            *out = cur->parent;
        else
            return CLOCHE__ENOENT;
        return 0;
    }
    if (cur->host) /* a directory mount: only cloche__vfs_leaf_step enters */
        return CLOCHE__EXDEV;
    cloche__vfs_node *n = cloche__vfs_dir_find(cur, name, len);
    if (!n)
        return CLOCHE__ENOENT;
    *out = n;
    return 0;
}

/* A step inside a mount. */
static int host_step(cloche__vfs_leaf *w, const char *name, size_t len)
{
    if (len == 0 || (len == 1 && name[0] == '.'))
        return 0;
    if (len == 2 && name[0] == '.' && name[1] == '.') {
        if (w->rel_len == 0) { /* out of the mount, into the VFS */
            cloche__vfs_node *point = w->mnt->root.node;
            w->dir = point->parent ? point->parent : point->vfs->root;
            w->mnt = NULL;
            return 0;
        }
        int fd, rc = cloche__vfs_host_dirfd(&fd, w->mnt, w->rel);
        if (rc)
            return rc; /* ENOENT, ENOTDIR, ELOOP: as a real walk would */
        cloche__vfs_host_dirfd_close(w->mnt, fd);
        while (w->rel_len > 0 && w->rel[w->rel_len - 1] != '/')
            w->rel_len--;
        w->rel_len -= w->rel_len > 0;
        w->rel[w->rel_len] = '\0';
        return 0;
    }
    return cloche__vfs_host_join(w->rel, &w->rel_len, w->rel, w->rel_len,
                                 name, len);
}

/* Stand at directory n: a mount point or host directory is a position. */
static void walk_at(cloche__vfs_leaf *w, cloche__vfs_node *n)
{
    if (n->host && n->type == CLOCHE__VFS_DIR) {
        w->mnt = n->host->mnt;
        w->rel_len = n->host->rel_len;
        memcpy(w->rel, n->host->rel, w->rel_len + 1);
        w->dir = NULL;
    } else {
        w->mnt = NULL;
        w->dir = n;
    }
}

int cloche__vfs_leaf_step(cloche__vfs_leaf *w, const char *name, size_t len)
{
    cloche__vfs_node *next;
    if (w->mnt)
        return host_step(w, name, len);
    int rc = cloche__vfs_step(&next, w->dir, name, len);
    if (rc == 0)
        walk_at(w, next);
    return rc;
}

int cloche__vfs_resolve_leaf(cloche__vfs_leaf *out, cloche__vfs *vfs,
                             cloche__vfs_node *base, const char *path,
                             size_t len)
{
    out->dir = NULL;
    out->name = NULL;
    out->name_len = 0;
    out->trailing_slash = 0;
    out->mnt = NULL;
    out->rel_len = 0;
    out->rel[0] = '\0';
    int rc = cloche__vfs_check_path(path, len);
    if (rc)
        return rc;
    walk_at(out, path[0] == '/' ? vfs->root : base);
    size_t end = len;
    while (end > 0 && path[end - 1] == '/')
        end--;
    out->trailing_slash = end < len;
    if (end == 0) { /* "/", "//": the root itself */
        walk_at(out, vfs->root);
        return 0;
    }
    size_t last = end;
    while (last > 0 && path[last - 1] != '/')
        last--;
    size_t i = 0;
    while (i < last) {
        size_t start = i;
        while (i < last && path[i] != '/')
            i++;
        if ((rc = cloche__vfs_leaf_step(out, path + start, i - start)) != 0)
            return rc;
        i++;
    }
    if (!out->mnt && out->dir->type != CLOCHE__VFS_DIR)
        return CLOCHE__ENOTDIR;
    out->name = path + last;
    out->name_len = end - last;
    return 0;
}

/* The node a parsed path names, or an error (ENOENT when absent). */
static int leaf_node(cloche__vfs_node **out, const cloche__vfs_leaf *l)
{
    if (!l->name) {
        *out = l->dir;
        return 0;
    }
    int rc = cloche__vfs_step(out, l->dir, l->name, l->name_len);
    if (rc == 0 && l->trailing_slash && (*out)->type != CLOCHE__VFS_DIR)
        return CLOCHE__ENOTDIR;
    return rc;
}

int cloche__vfs_resolve(cloche__vfs_node **out, cloche__vfs *vfs,
                        cloche__vfs_node *base, const char *path, size_t len)
{
    cloche__vfs_leaf l;
    *out = NULL;
    int rc = cloche__vfs_resolve_leaf(&l, vfs, base, path, len);
    if (rc == 0 && l.mnt)
        rc = CLOCHE__EXDEV;
    if (rc == 0 && (rc = leaf_node(out, &l)) != 0)
        *out = NULL;
    return rc;
}

int cloche__vfs_lookup(cloche__vfs_node **out, cloche__vfs *vfs,
                       cloche__vfs_node *base, const char *path, size_t len)
{
    cloche__vfs_leaf l;
    *out = NULL;
    int rc = cloche__vfs_resolve_leaf(&l, vfs, base, path, len);
    if (rc)
        return rc;
    if (l.mnt)
        return cloche__vfs_host_get(out, &l);
    if ((rc = leaf_node(out, &l)) != 0) {
        *out = NULL;
        return rc;
    }
    cloche__vfs_node_ref(*out);
    return 0;
}

/* ---- open -------------------------------------------------------------- */

static int create_file(cloche__vfs_node **out, const cloche__vfs_leaf *l)
{
    if (l->trailing_slash)
        return CLOCHE__EISDIR;
    if (!cloche__vfs_is_linked(l->dir)) /* removed while held */
        return CLOCHE__ENOENT;
    if (l->dir->flags & CLOCHE__VFS_F_RO)
        return CLOCHE__EROFS;
    cloche__vfs_node *n;
    int rc = cloche__vfs_node_new(&n, l->dir->vfs, CLOCHE__VFS_FILE,
                                  CLOCHE__VFS_F_CHARGED);
    if (rc)
        return rc;
    if ((rc = cloche__vfs_dir_insert(l->dir, l->name, l->name_len, n)) != 0) {
        cloche__vfs_node_destroy(n);
        return rc;
    }
    *out = n;
    return 0;
}

/* Checks on an existing node about to be opened with flags. */
static int open_existing(cloche__vfs_node *n, unsigned flags)
{
    int is_dir = n->type == CLOCHE__VFS_DIR;
    if ((flags & CLOCHE__VFS_O_CREAT) && (flags & CLOCHE__VFS_O_EXCL))
        return CLOCHE__EEXIST;
    if ((flags & CLOCHE__VFS_O_DIRECTORY) && !is_dir)
        return CLOCHE__ENOTDIR;
    unsigned mutating = CLOCHE__VFS_O_WRITE | CLOCHE__VFS_O_TRUNC;
    if (is_dir && (flags & (mutating | CLOCHE__VFS_O_CREAT)))
        return CLOCHE__EISDIR;
    if ((flags & mutating) &&
        (n->flags & (CLOCHE__VFS_F_RO | CLOCHE__VFS_F_BORROWED)))
        return CLOCHE__EROFS;
    if (flags & CLOCHE__VFS_O_TRUNC)
        return cloche__vfs_file_resize(n, 0);
    return 0;
}

int cloche__vfs_open(cloche__vfs_node **out, cloche__vfs *vfs,
                     cloche__vfs_node *base, const char *path, size_t len,
                     unsigned flags)
{
    cloche__vfs_leaf l;
    cloche__vfs_node *n = NULL;
    *out = NULL;
    if ((flags & CLOCHE__VFS_O_CREAT) && (flags & CLOCHE__VFS_O_DIRECTORY))
        return CLOCHE__EINVAL;
    int rc = cloche__vfs_resolve_leaf(&l, vfs, base, path, len);
    if (rc)
        return rc;
    if (l.mnt)
        return cloche__vfs_host_open(out, &l, flags);
    rc = leaf_node(&n, &l);
    if (rc == CLOCHE__ENOENT && (flags & CLOCHE__VFS_O_CREAT) && l.name &&
        !cloche__vfs_is_dots(l.name, l.name_len))
        rc = create_file(&n, &l);
    else if (rc == 0)
        rc = open_existing(n, flags);
    if (rc)
        return rc;
    cloche__vfs_node_ref(n);
    *out = n;
    return 0;
}

/* ---- mkdir, rmdir, unlink ---------------------------------------------- */

int cloche__vfs_mkdir(cloche__vfs *vfs, cloche__vfs_node *base,
                      const char *path, size_t len)
{
    cloche__vfs_leaf l;
    int rc = cloche__vfs_resolve_leaf(&l, vfs, base, path, len);
    if (rc)
        return rc;
    if (!l.name || cloche__vfs_is_dots(l.name, l.name_len))
        return CLOCHE__EEXIST;
    if (l.mnt)
        return cloche__vfs_host_mkdir(&l);
    if (cloche__vfs_dir_find(l.dir, l.name, l.name_len))
        return CLOCHE__EEXIST;
    if (!cloche__vfs_is_linked(l.dir)) /* removed while held */
        return CLOCHE__ENOENT;
    if (l.dir->flags & CLOCHE__VFS_F_RO)
        return CLOCHE__EROFS;
    cloche__vfs_node *n;
    rc = cloche__vfs_node_new(&n, vfs, CLOCHE__VFS_DIR, CLOCHE__VFS_F_CHARGED);
    if (rc)
        return rc;
    if ((rc = cloche__vfs_dir_insert(l.dir, l.name, l.name_len, n)) != 0)
        cloche__vfs_node_destroy(n);
    return rc;
}

/* Unlink the child named by l from its directory and drop the link. */
static void drop_entry(const cloche__vfs_leaf *l)
{
    cloche__vfs_node *n = cloche__vfs_dir_detach(l->dir, l->name, l->name_len);
    cloche__vfs_node_unref(n);
}

int cloche__vfs_rmdir(cloche__vfs *vfs, cloche__vfs_node *base,
                      const char *path, size_t len)
{
    cloche__vfs_leaf l;
    cloche__vfs_node *n;
    int rc = cloche__vfs_resolve_leaf(&l, vfs, base, path, len);
    if (rc)
        return rc;
    if (!l.name)
        return CLOCHE__EBUSY;
    if (l.name_len == 1 && l.name[0] == '.')
        return CLOCHE__EINVAL;
    if (l.name_len == 2 && l.name[0] == '.' && l.name[1] == '.')
        return CLOCHE__ENOTEMPTY;
    if (l.mnt)
        return cloche__vfs_host_rmdir(&l);
    if ((rc = leaf_node(&n, &l)) != 0)
        return rc;
    if (n->type != CLOCHE__VFS_DIR)
        return CLOCHE__ENOTDIR;
    if (n->host) /* a mount point */
        return CLOCHE__EBUSY;
    if (l.dir->flags & CLOCHE__VFS_F_RO)
        return CLOCHE__EROFS;
    if (n->u.dir.n > 0)
        return CLOCHE__ENOTEMPTY;
    drop_entry(&l);
    return 0;
}

int cloche__vfs_unlink(cloche__vfs *vfs, cloche__vfs_node *base,
                       const char *path, size_t len)
{
    cloche__vfs_leaf l;
    cloche__vfs_node *n;
    int rc = cloche__vfs_resolve_leaf(&l, vfs, base, path, len);
    if (rc)
        return rc;
    if (!l.name || cloche__vfs_is_dots(l.name, l.name_len))
        return CLOCHE__EISDIR;
    if (l.mnt)
        return cloche__vfs_host_unlink(&l);
    if ((rc = leaf_node(&n, &l)) != 0)
        return rc;
    if (n->type == CLOCHE__VFS_DIR)
        return CLOCHE__EISDIR;
    if (n->host) /* a file mount point */
        return CLOCHE__EBUSY;
    if (l.dir->flags & CLOCHE__VFS_F_RO)
        return CLOCHE__EROFS;
    drop_entry(&l);
    return 0;
}

/* ---- rename ------------------------------------------------------------ */

/* Parse one side of a rename: the root and "."/".." cannot be renamed. */
static int rename_side(cloche__vfs_leaf *l, cloche__vfs *vfs,
                       cloche__vfs_node *base, const char *path, size_t len)
{
    int rc = cloche__vfs_resolve_leaf(l, vfs, base, path, len);
    if (rc)
        return rc;
    if (!l->name)
        return CLOCHE__EBUSY;
    if (cloche__vfs_is_dots(l->name, l->name_len))
        return CLOCHE__EINVAL;
    return 0;
}

/* POSIX replace rules between the source and an existing target. */
static int rename_check(const cloche__vfs_node *src,
                        const cloche__vfs_leaf *to, const cloche__vfs_node *dst)
{
    int src_dir = src->type == CLOCHE__VFS_DIR;
    if (!src_dir && to->trailing_slash)
        return CLOCHE__ENOTDIR;
    if (src == dst) /* renaming onto itself: nothing to do */
        return 0;
    if (src_dir && cloche__vfs_is_ancestor(src, to->dir))
        return CLOCHE__EINVAL;
    if (!dst)
        return 0;
    if (src_dir && dst->type != CLOCHE__VFS_DIR)
        return CLOCHE__ENOTDIR;
    if (!src_dir && dst->type == CLOCHE__VFS_DIR)
        return CLOCHE__EISDIR;
    if (dst->type == CLOCHE__VFS_DIR && dst->u.dir.n > 0)
        return CLOCHE__ENOTEMPTY;
    return 0;
}

/* Nonzero when a mount point is dir or lies below it. */
static int holds_mount(const cloche__vfs *vfs, const cloche__vfs_node *dir)
{
    for (uint32_t i = 0; i < vfs->nmounts; i++)
        if (cloche__vfs_is_ancestor(dir, vfs->mounts[i]->root.node))
            return 1;
    return 0;
}

/* A rename with at least one side inside a mount: within one mount it is
 * the host's; otherwise the source must exist, and it cannot cross. */
static int rename_mounted(cloche__vfs_leaf *from, cloche__vfs_leaf *to)
{
    cloche__vfs_node *src;
    if (from->mnt && from->mnt == to->mnt)
        return cloche__vfs_host_rename(from, to);
    if (from->mnt) {
        int rc = cloche__vfs_host_get(&src, from);
        if (rc)
            return rc;
        cloche__vfs_node_unref(src);
        return CLOCHE__EXDEV;
    }
    int rc = leaf_node(&src, from);
    return rc ? rc : src->host ? CLOCHE__EBUSY : CLOCHE__EXDEV;
}

int cloche__vfs_rename(cloche__vfs *vfs, cloche__vfs_node *old_base,
                       const char *old_path, size_t old_len,
                       cloche__vfs_node *new_base, const char *new_path,
                       size_t new_len)
{
    cloche__vfs_leaf from, to;
    cloche__vfs_node *src, *dst;
    int rc = rename_side(&from, vfs, old_base, old_path, old_len);
    if (rc == 0)
        rc = rename_side(&to, vfs, new_base, new_path, new_len);
    if (rc == 0 && (from.mnt || to.mnt))
        return rename_mounted(&from, &to);
    if (rc == 0)
        rc = leaf_node(&src, &from);
    if (rc)
        return rc;
    dst = cloche__vfs_dir_find(to.dir, to.name, to.name_len);
    if (src->host || (dst && dst->host) ||
        (src->type == CLOCHE__VFS_DIR && holds_mount(vfs, src)))
        return CLOCHE__EBUSY; /* mount points stay where they are */
    if ((rc = rename_check(src, &to, dst)) != 0)
        return rc;
    if (src == dst)
        return 0;
    if (!cloche__vfs_is_linked(to.dir)) /* removed while held */
        return CLOCHE__ENOENT;
    if ((from.dir->flags | to.dir->flags) & CLOCHE__VFS_F_RO)
        return CLOCHE__EROFS;
    /* Make room in the target first: after this nothing can fail. */
    char *copy;
    if ((rc = cloche__vfs_dir_prepare(&copy, to.dir, to.name, to.name_len)))
        return rc;
    if (dst)
        cloche__vfs_node_unref(
            cloche__vfs_dir_detach(to.dir, to.name, to.name_len));
    cloche__vfs_dir_detach(from.dir, from.name, from.name_len);
    cloche__vfs_dir_link(to.dir, copy, to.name_len, src);
    src->refs--; /* the link moved; detach handed us its reference */
    src->ctim = cloche__vfs_now(vfs);
    return 0;
}
