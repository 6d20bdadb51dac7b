/*
 * vfs_embed.c - path helpers for the embedder (trusted side).
 *
 * Owns nothing of its own: it builds and inspects the tree with the same
 * resolver as the guest (the same length, NUL and depth rules, ".." never
 * above the root), but ignores read-only marks, which are guest policy.
 * Writable data created here is charged to the quotas like the guest's.
 * Paths are NUL-terminated C strings, relative to the root with or without
 * a leading '/'. Paths at or below a mount point are refused (EXDEV; a
 * removal EBUSY): a mount's contents are the host's, not the tree's.
 * cloche__vfs_mount lives here too (the guest-path half; vfs_mount.c
 * opens the host side).
 */
#include "vfs/vfs_int.h"

#include <string.h>

#include "vfs/vfs_alloc.h"

/* Split a path into its parent part [0, *parent_len) and its last name. */
static int split_last(size_t *parent_len, const char **name, size_t *name_len,
                      const char *path, size_t len)
{
    int rc = cloche__vfs_check_path(path, len);
    if (rc)
        return rc;
    if (path[len - 1] == '/')
        return CLOCHE__EINVAL; /* a file path must not end with '/' */
    size_t last = len;
    while (last > 0 && path[last - 1] != '/')
        last--;
    *parent_len = last;
    *name = path + last;
    *name_len = len - last;
    return cloche__vfs_is_dots(*name, *name_len) ? CLOCHE__EINVAL : 0;
}

/* Walk [path, path+len) from the root creating missing directories with
 * node flags dflags; *out is the last directory. len 0 is the root. */
static int make_dirs(cloche__vfs_node **out, cloche__vfs *vfs,
                     const char *path, size_t len, unsigned dflags)
{
    cloche__vfs_node *cur = vfs->root;
    size_t i = 0;
    while (i < len) {
        size_t start = i;
        while (i < len && path[i] != '/')
            i++;
        const char *name = path + start;
        size_t nlen = i - start;
        i++;
        cloche__vfs_node *next;
        int rc = cloche__vfs_step(&next, cur, name, nlen);
        if (rc == CLOCHE__ENOENT) {
            if ((rc = cloche__vfs_node_new(&next, vfs, CLOCHE__VFS_DIR,
                                           dflags)) != 0)
                return rc;
            if ((rc = cloche__vfs_dir_insert(cur, name, nlen, next)) != 0) {
                cloche__vfs_node_destroy(next);
                return rc;
            }
        } else if (rc) {
            return rc;
        }
        cur = next;
    }
    if (cur->type != CLOCHE__VFS_DIR)
        return CLOCHE__ENOTDIR;
    if (cur->host)
        return CLOCHE__EXDEV;
    *out = cur;
    return 0;
}

int cloche__vfs_mkdir_p(cloche__vfs *vfs, const char *path, int readonly)
{
    size_t len = strlen(path);
    cloche__vfs_node *dir;
    int rc = cloche__vfs_check_path(path, len);
    if (rc)
        return rc;
    unsigned dflags = readonly ? CLOCHE__VFS_F_RO : CLOCHE__VFS_F_CHARGED;
    if ((rc = make_dirs(&dir, vfs, path, len, dflags)) != 0)
        return rc;
    if (readonly)
        dir->flags |= CLOCHE__VFS_F_RO;
    return 0;
}

/* Parent directory and leaf name of a file path, creating parents. */
static int file_parent(cloche__vfs_node **dir, const char **name,
                       size_t *name_len, cloche__vfs *vfs, const char *path,
                       unsigned dflags)
{
    size_t plen;
    int rc = split_last(&plen, name, name_len, path, strlen(path));
    return rc ? rc : make_dirs(dir, vfs, path, plen, dflags);
}

int cloche__vfs_add_file_ro(cloche__vfs *vfs, const char *path,
                            const uint8_t *data, size_t len)
{
    cloche__vfs_node *dir, *n;
    const char *name;
    size_t nlen;
    int rc = file_parent(&dir, &name, &nlen, vfs, path, CLOCHE__VFS_F_RO);
    if (rc)
        return rc;
    if (cloche__vfs_dir_find(dir, name, nlen))
        return CLOCHE__EEXIST;
    rc = cloche__vfs_node_new(&n, vfs, CLOCHE__VFS_FILE,
                              CLOCHE__VFS_F_RO | CLOCHE__VFS_F_BORROWED);
    if (rc)
        return rc;
    n->u.file.ro = data;
    n->u.file.size = len;
    if ((rc = cloche__vfs_dir_insert(dir, name, nlen, n)) != 0)
        cloche__vfs_node_destroy(n);
    return rc;
}

/* Replace the data of file n with an owned copy of (data, len). */
static int replace_data(cloche__vfs_node *n, const uint8_t *data, size_t len)
{
    cloche__vfs *vfs = n->vfs;
    uint64_t old = (n->flags & CLOCHE__VFS_F_BORROWED) ? 0 : n->u.file.size;
    if (len > vfs->lim.max_bytes - (vfs->bytes_used - old))
        return CLOCHE__ENOSPC;
    uint8_t *copy = NULL;
    if (len) {
        if (!(copy = cloche__alloc(len)))
            return CLOCHE__ENOMEM;
        memcpy(copy, data, len);
    }
    cloche__vfs_file_clear(n);
    n->u.file.buf = copy;
    n->u.file.size = n->u.file.cap = len;
    vfs->bytes_used += len;
    n->flags &= (uint8_t)~CLOCHE__VFS_F_RO;
    n->mtim = n->ctim = cloche__vfs_now(vfs);
    return 0;
}

int cloche__vfs_write_file(cloche__vfs *vfs, const char *path,
                           const uint8_t *data, size_t len)
{
    cloche__vfs_node *dir, *n;
    const char *name;
    size_t nlen;
    int rc = file_parent(&dir, &name, &nlen, vfs, path, CLOCHE__VFS_F_CHARGED);
    if (rc)
        return rc;
    n = cloche__vfs_dir_find(dir, name, nlen);
    if (n && n->host)
        return CLOCHE__EXDEV;
    if (n)
        return n->type == CLOCHE__VFS_FILE ? replace_data(n, data, len)
                                           : CLOCHE__EISDIR;
    rc = cloche__vfs_node_new(&n, vfs, CLOCHE__VFS_FILE, CLOCHE__VFS_F_CHARGED);
    if (rc)
        return rc;
    if ((rc = replace_data(n, data, len)) == 0 &&
        (rc = cloche__vfs_dir_insert(dir, name, nlen, n)) == 0)
        return 0;
    cloche__vfs_node_destroy(n);
    return rc;
}

/* Resolve a C-string path from the root; borrowed result. */
static int embed_resolve(cloche__vfs_node **out, const cloche__vfs *vfs,
                         const char *path)
{
    /* The resolver does not modify the tree; it takes non-const pointers
     * only because guest operations share it. */
    cloche__vfs *v = (cloche__vfs *)(uintptr_t)vfs;
    return cloche__vfs_resolve(out, v, v->root, path, strlen(path));
}

int cloche__vfs_read_file(const uint8_t **data, size_t *len,
                          const cloche__vfs *vfs, const char *path)
{
    cloche__vfs_node *n;
    *data = NULL;
    *len = 0;
    int rc = embed_resolve(&n, vfs, path);
    if (rc)
        return rc;
    if (n->host)
        return CLOCHE__EXDEV;
    if (n->type != CLOCHE__VFS_FILE)
        return CLOCHE__EISDIR;
    *data = (n->flags & CLOCHE__VFS_F_BORROWED) ? n->u.file.ro : n->u.file.buf;
    *len = (size_t)n->u.file.size;
    return 0;
}

int cloche__vfs_set_readonly(cloche__vfs *vfs, const char *path, int readonly)
{
    cloche__vfs_node *n;
    int rc = embed_resolve(&n, vfs, path);
    if (rc)
        return rc;
    if (n->host) /* a mount's mark is its readonly flag */
        return CLOCHE__EXDEV;
    if (readonly)
        n->flags |= CLOCHE__VFS_F_RO;
    else
        n->flags &= (uint8_t)~CLOCHE__VFS_F_RO;
    return 0;
}

int cloche__vfs_remove(cloche__vfs *vfs, const char *path)
{
    cloche__vfs_leaf l;
    int rc = cloche__vfs_resolve_leaf(&l, vfs, vfs->root, path, strlen(path));
    if (rc)
        return rc;
    if (!l.name)
        return CLOCHE__EBUSY;
    if (cloche__vfs_is_dots(l.name, l.name_len))
        return CLOCHE__EINVAL;
    if (l.mnt)
        return CLOCHE__EXDEV;
    cloche__vfs_node *n = cloche__vfs_dir_find(l.dir, l.name, l.name_len);
    if (!n)
        return CLOCHE__ENOENT;
    if (n->host)
        return CLOCHE__EBUSY;
    if (l.trailing_slash && n->type != CLOCHE__VFS_DIR)
        return CLOCHE__ENOTDIR;
    if (n->type == CLOCHE__VFS_DIR && n->u.dir.n > 0)
        return CLOCHE__ENOTEMPTY;
    cloche__vfs_node_unref(cloche__vfs_dir_detach(l.dir, l.name, l.name_len));
    return 0;
}

/* ---- mounts -------------------------------------------------------------- */

/* Nonzero when a component of path is "." or "..": a mount is found again
 * by its path (snapshots), so it must have one spelling. */
static int has_dots(const char *path, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t start = i;
        while (i < len && path[i] != '/')
            i++;
        if (cloche__vfs_is_dots(path + start, i - start))
            return 1;
        i++;
    }
    return 0;
}

/* The node that becomes the mount point: a new one, or (for a directory)
 * an existing empty directory nothing holds open, which stops being
 * charged. */
static int mount_point(cloche__vfs_node **out, cloche__vfs_node *dir,
                       const char *name, size_t nlen, int is_dir)
{
    cloche__vfs_node *n = cloche__vfs_dir_find(dir, name, nlen);
    if (n) {
        if (!is_dir || n->type != CLOCHE__VFS_DIR || n->host || n->u.dir.n)
            return CLOCHE__EEXIST;
        if (n->refs != 1)
            return CLOCHE__EBUSY;
        if (n->flags & CLOCHE__VFS_F_CHARGED) {
            n->vfs->nodes_used--;
            n->flags &= (uint8_t)~CLOCHE__VFS_F_CHARGED;
        }
        *out = n;
        return 0;
    }
    int rc = cloche__vfs_node_new(
        &n, dir->vfs, is_dir ? CLOCHE__VFS_DIR : CLOCHE__VFS_FILE, 0);
    if (rc)
        return rc;
    if ((rc = cloche__vfs_dir_insert(dir, name, nlen, n)) != 0) {
        cloche__vfs_node_destroy(n);
        return rc;
    }
    *out = n;
    return 0;
}

int cloche__vfs_mount(cloche__vfs *vfs, const char *guest_path,
                      const char *host_path, int readonly)
{
    cloche__vfs_node *dir, *n;
    cloche__vfs_mnt *m;
    const char *name;
    size_t plen, nlen;
    if (!guest_path || !host_path || !host_path[0])
        return CLOCHE__EINVAL;
    size_t len = strlen(guest_path);
    int rc = split_last(&plen, &name, &nlen, guest_path, len);
    if (rc == 0 && has_dots(guest_path, len))
        rc = CLOCHE__EINVAL;
    if (rc == 0)
        rc = cloche__vfs_mount_reserve(vfs);
    if (rc == 0)
        rc = cloche__vfs_mount_open(&m, host_path, readonly);
    if (rc)
        return rc;
    rc = make_dirs(&dir, vfs, guest_path, plen, CLOCHE__VFS_F_RO);
    if (rc == 0)
        rc = mount_point(&n, dir, name, nlen, m->is_dir);
    if (rc) {
        cloche__vfs_mount_discard(m);
        return rc;
    }
    cloche__vfs_mount_attach(vfs, m, n);
    return 0;
}
