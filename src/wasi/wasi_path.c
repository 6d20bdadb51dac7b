/*
 * wasi_path.c - path calls: path_open, path_create_directory,
 * path_filestat_get, path_filestat_set_times, path_readlink,
 * path_remove_directory, path_rename, path_unlink_file, and the
 * unsupported path_link / path_symlink.
 *
 * Every path is copied out of guest memory (wasi_abi.c) before it is
 * resolved, and resolved by the VFS relative to the directory fd: the walk
 * never leaves the VFS (".." at the root stays at the root; a leading '/'
 * starts at the root). Check order: EBADF, then guest pointers in
 * argument order (EFAULT, ENAMETOOLONG), then ENOTDIR for a non-directory
 * fd, then flag values (EINVAL), then the VFS's own answer.
 *
 * Symbolic links exist only inside host mounts and are never followed:
 * LOOKUP_SYMLINK_FOLLOW on one is ELOOP, opening one is ELOOP, and
 * path_readlink answers ENOTSUP without revealing the target. No call
 * creates a link of either kind (path_link, path_symlink: ENOTSUP).
 */
#include "wasi/wasi_int.h"

/* A guest path copied to the host. */
typedef struct path_buf {
    char s[CLOCHE__VFS_PATH_MAX];
    size_t len;
} path_buf;

static int32_t load(path_buf *p, cloche__mem m, uint32_t ptr, uint32_t len)
{
    return (int32_t)cloche__abi_load_path(p->s, &p->len, m, ptr, len);
}

/* The directory node of an fd already known to be open. */
static int32_t dir_of(cloche__vfs_node **out, cloche__wasi *w, uint32_t fd)
{
    cloche__wasi_fd *f = cloche__wasi_fd_get(w, fd);
    *out = NULL;
    if (!f)
        return CLOCHE__WASI_EBADF;
    if (f->kind != CLOCHE__FD_DIR)
        return CLOCHE__WASI_ENOTDIR;
    *out = f->node;
    return 0;
}

/* EBADF, path, ENOTDIR: the common start of the single-path calls. */
static int32_t start(cloche__vfs_node **dir, path_buf *p, cloche__wasi *w,
                     cloche__mem m, uint32_t fd, uint32_t path,
                     uint32_t path_len)
{
    int32_t e;
    if (!cloche__wasi_fd_get(w, fd))
        return CLOCHE__WASI_EBADF;
    if ((e = load(p, m, path, path_len)) != 0)
        return e;
    return dir_of(dir, w, fd);
}

static unsigned vfs_open_flags(uint32_t oflags, uint64_t rights)
{
    unsigned f = 0;
    if (oflags & CLOCHE__WASI_O_CREAT)
        f |= CLOCHE__VFS_O_CREAT;
    if (oflags & CLOCHE__WASI_O_EXCL)
        f |= CLOCHE__VFS_O_EXCL;
    if (oflags & CLOCHE__WASI_O_TRUNC)
        f |= CLOCHE__VFS_O_TRUNC;
    if (oflags & CLOCHE__WASI_O_DIRECTORY)
        f |= CLOCHE__VFS_O_DIRECTORY;
    if (rights & CLOCHE__WASI_R_FD_WRITE)
        f |= CLOCHE__VFS_O_WRITE;
    if (rights & CLOCHE__WASI_R_FD_READ)
        f |= CLOCHE__VFS_O_READ;
    return f;
}

int32_t cloche__wasi_path_open(cloche__wasi *w, cloche__mem m, uint32_t fd,
                               uint32_t dirflags, uint32_t path,
                               uint32_t path_len, uint32_t oflags,
                               uint64_t rights_base, uint64_t rights_inheriting,
                               uint32_t fdflags, uint32_t fd_out)
{
    path_buf p;
    cloche__vfs_node *dir, *n;
    uint32_t nfd;
    int32_t e = start(&dir, &p, w, m, fd, path, path_len);
    if (e == 0 && cloche__abi_check(m, fd_out, 4))
        e = CLOCHE__WASI_EFAULT;
    if (e)
        return e;
    if ((dirflags & ~CLOCHE__WASI_LOOKUP_SYMLINK_FOLLOW) ||
        (oflags & ~CLOCHE__WASI_OFLAGS_ALL) ||
        (fdflags & ~CLOCHE__WASI_FDFLAGS_ALL))
        return CLOCHE__WASI_EINVAL;
    /* Rights never exceed what the directory lets its children have. */
    rights_base &= w->fds[fd].rights_inheriting;
    rights_inheriting &= w->fds[fd].rights_inheriting;
    /* Take the fd slot first so EMFILE cannot leave a created file. */
    if ((e = cloche__wasi_fd_alloc(w, &nfd)) != 0)
        return e;
    int rc = cloche__vfs_open(&n, w->vfs, dir, p.s, p.len,
                              vfs_open_flags(oflags, rights_base));
    if (rc)
        return cloche__wasi_errno(rc);
    int is_dir = cloche__vfs_node_type(n) == CLOCHE__VFS_DIR;
    w->fds[nfd] = (cloche__wasi_fd){
        .kind = is_dir ? CLOCHE__FD_DIR : CLOCHE__FD_FILE,
        .flags = (uint16_t)fdflags,
        .rights = rights_base &
                  (is_dir ? CLOCHE__WASI_RIGHTS_DIR : CLOCHE__WASI_RIGHTS_FILE),
        .rights_inheriting = rights_inheriting,
        .node = n};
    return cloche__abi_store_u32(m, fd_out, nfd);
}

int32_t cloche__wasi_path_create_directory(cloche__wasi *w, cloche__mem m,
                                           uint32_t fd, uint32_t path,
                                           uint32_t path_len)
{
    path_buf p;
    cloche__vfs_node *dir;
    int32_t e = start(&dir, &p, w, m, fd, path, path_len);
    return e ? e
             : cloche__wasi_errno(cloche__vfs_mkdir(w->vfs, dir, p.s, p.len));
}

int32_t cloche__wasi_path_filestat_get(cloche__wasi *w, cloche__mem m,
                                       uint32_t fd, uint32_t flags,
                                       uint32_t path, uint32_t path_len,
                                       uint32_t stat_out)
{
    path_buf p;
    cloche__vfs_node *dir, *n;
    cloche__abi_filestat s;
    int32_t e = start(&dir, &p, w, m, fd, path, path_len);
    if (e == 0 && cloche__abi_check(m, stat_out, CLOCHE__WASI_FILESTAT_SIZE))
        e = CLOCHE__WASI_EFAULT;
    if (e)
        return e;
    if (flags & ~CLOCHE__WASI_LOOKUP_SYMLINK_FOLLOW)
        return CLOCHE__WASI_EINVAL;
    int rc = cloche__vfs_lookup(&n, w->vfs, dir, p.s, p.len);
    if (rc)
        return cloche__wasi_errno(rc);
    if ((flags & CLOCHE__WASI_LOOKUP_SYMLINK_FOLLOW) &&
        cloche__vfs_node_type(n) == CLOCHE__VFS_SYMLINK)
        e = CLOCHE__WASI_ELOOP; /* a stat() that would follow it */
    else
        e = cloche__wasi_node_filestat(&s, n);
    cloche__vfs_node_unref(n);
    return e ? e : cloche__abi_store_filestat(m, stat_out, &s);
}

int32_t cloche__wasi_path_filestat_set_times(cloche__wasi *w, cloche__mem m,
                                             uint32_t fd, uint32_t flags,
                                             uint32_t path, uint32_t path_len,
                                             uint64_t atim, uint64_t mtim,
                                             uint32_t fst_flags)
{
    path_buf p;
    cloche__vfs_node *dir, *n;
    int32_t e = start(&dir, &p, w, m, fd, path, path_len);
    if (e)
        return e;
    if (flags & ~CLOCHE__WASI_LOOKUP_SYMLINK_FOLLOW)
        return CLOCHE__WASI_EINVAL;
    int rc = cloche__vfs_lookup(&n, w->vfs, dir, p.s, p.len);
    if (rc)
        return cloche__wasi_errno(rc);
    e = cloche__wasi_set_times(w, n, atim, mtim, fst_flags);
    cloche__vfs_node_unref(n);
    return e;
}

int32_t cloche__wasi_path_readlink(cloche__wasi *w, cloche__mem m, uint32_t fd,
                                   uint32_t path, uint32_t path_len,
                                   uint32_t buf, uint32_t buf_len,
                                   uint32_t bufused_out)
{
    path_buf p;
    cloche__vfs_node *dir, *n;
    int32_t e = start(&dir, &p, w, m, fd, path, path_len);
    if (e == 0 && (cloche__abi_check(m, buf, buf_len) ||
                   cloche__abi_check(m, bufused_out, 4)))
        e = CLOCHE__WASI_EFAULT;
    if (e)
        return e;
    int rc = cloche__vfs_lookup(&n, w->vfs, dir, p.s, p.len);
    if (rc)
        return cloche__wasi_errno(rc);
    int link = cloche__vfs_node_type(n) == CLOCHE__VFS_SYMLINK;
    cloche__vfs_node_unref(n);
    /* A link in a host mount is never read: its target may name anything
     * on the host. Anything else is not a link. */
    return link ? CLOCHE__WASI_ENOTSUP : CLOCHE__WASI_EINVAL;
}

int32_t cloche__wasi_path_remove_directory(cloche__wasi *w, cloche__mem m,
                                           uint32_t fd, uint32_t path,
                                           uint32_t path_len)
{
    path_buf p;
    cloche__vfs_node *dir;
    int32_t e = start(&dir, &p, w, m, fd, path, path_len);
    return e ? e
             : cloche__wasi_errno(cloche__vfs_rmdir(w->vfs, dir, p.s, p.len));
}

int32_t cloche__wasi_path_unlink_file(cloche__wasi *w, cloche__mem m,
                                      uint32_t fd, uint32_t path,
                                      uint32_t path_len)
{
    path_buf p;
    cloche__vfs_node *dir;
    int32_t e = start(&dir, &p, w, m, fd, path, path_len);
    return e ? e
             : cloche__wasi_errno(cloche__vfs_unlink(w->vfs, dir, p.s, p.len));
}

int32_t cloche__wasi_path_rename(cloche__wasi *w, cloche__mem m, uint32_t fd,
                                 uint32_t old_path, uint32_t old_path_len,
                                 uint32_t new_fd, uint32_t new_path,
                                 uint32_t new_path_len)
{
    path_buf from, to;
    cloche__vfs_node *from_dir, *to_dir;
    int32_t e = 0;
    if (!cloche__wasi_fd_get(w, fd) || !cloche__wasi_fd_get(w, new_fd))
        return CLOCHE__WASI_EBADF;
    if ((e = load(&from, m, old_path, old_path_len)) != 0 ||
        (e = load(&to, m, new_path, new_path_len)) != 0 ||
        (e = dir_of(&from_dir, w, fd)) != 0 ||
        (e = dir_of(&to_dir, w, new_fd)) != 0)
        return e;
    return cloche__wasi_errno(cloche__vfs_rename(w->vfs, from_dir, from.s,
                                                 from.len, to_dir, to.s,
                                                 to.len));
}

int32_t cloche__wasi_path_link(cloche__wasi *w, cloche__mem m, uint32_t old_fd,
                               uint32_t old_flags, uint32_t old_path,
                               uint32_t old_path_len, uint32_t new_fd,
                               uint32_t new_path, uint32_t new_path_len)
{
    (void)old_flags;
    if (!cloche__wasi_fd_get(w, old_fd) || !cloche__wasi_fd_get(w, new_fd))
        return CLOCHE__WASI_EBADF;
    if (cloche__abi_check(m, old_path, old_path_len) ||
        cloche__abi_check(m, new_path, new_path_len))
        return CLOCHE__WASI_EFAULT;
    return CLOCHE__WASI_ENOTSUP; /* never a hard link, in a mount or not */
}

int32_t cloche__wasi_path_symlink(cloche__wasi *w, cloche__mem m,
                                  uint32_t old_path, uint32_t old_path_len,
                                  uint32_t fd, uint32_t new_path,
                                  uint32_t new_path_len)
{
    if (!cloche__wasi_fd_get(w, fd))
        return CLOCHE__WASI_EBADF;
    if (cloche__abi_check(m, old_path, old_path_len) ||
        cloche__abi_check(m, new_path, new_path_len))
        return CLOCHE__WASI_EFAULT;
    return CLOCHE__WASI_ENOTSUP; /* the guest never creates a link */
}
