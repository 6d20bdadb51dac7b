/*
 * vfs_host_path.c - the guest's path operations on a leaf inside a
 * directory mount: open (with create, truncate), lookup, mkdir, rmdir,
 * unlink, rename. vfs_path.c parses the path and calls here when the
 * leaf's directory is inside a mount (leaf->mnt).
 *
 * Invariants:
 *   - the leaf's directory is opened from the mount descriptor
 *     (cloche__vfs_host_dirfd / _openat: no symlink, no "..", no other
 *     mount on the way) and the last name is a single component passed
 *     to one *at() call that does not follow it (mkdirat, unlinkat and
 *     renameat never follow a last component; opens add O_NOFOLLOW or
 *     rely on RESOLVE_NO_SYMLINKS; stats use AT_SYMLINK_NOFOLLOW);
 *   - nothing but a regular file or a directory is ever opened: an
 *     existing entry is first looked at with O_PATH (which opens nothing);
 *     a regular file is then opened through /proc/self/fd of that very
 *     descriptor (the inode checked, not a second lookup), or where /proc
 *     is missing by its path again with O_NONBLOCK | O_NOCTTY, and checked
 *     again with fstat; truncation happens only after that check;
 *   - a read-only mount answers EROFS before any host call that could
 *     change something; errors come in the memory VFS's order (ENOENT,
 *     ENOTDIR, EISDIR... before EROFS);
 *   - a file with more than one hard link is never opened for writing
 *     (EACCES, checked on the opened descriptor before any truncation):
 *     its other names may be outside the mount. Reading it is allowed -
 *     its content sits inside the folder the embedder granted.
 * It never creates links (the WASI layer refuses path_link/path_symlink).
 */
#define _GNU_SOURCE

#include "vfs/vfs_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h> /* renameat */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The guest changed something in m: readdir buffers are stale. */
static void changed(const cloche__vfs_mnt *m)
{
    m->root.node->vfs->host_gen++;
}

/* The leaf's last name as a C string. */
typedef struct name_buf {
    char s[CLOCHE__VFS_NAME_MAX + 1];
} name_buf;

static const char *leaf_name(name_buf *b, const cloche__vfs_leaf *l)
{
    memcpy(b->s, l->name, l->name_len); /* <= NAME_MAX: checked by parsing */
    b->s[l->name_len] = '\0';
    return b->s;
}

/* rel of the leaf's directory + its name. */
static int leaf_rel(char *out, size_t *len, const cloche__vfs_leaf *l)
{
    return cloche__vfs_host_join(out, len, l->rel, l->rel_len, l->name,
                                 l->name_len);
}

/* The type of the leaf's entry (ENOENT when absent), never followed. */
static int entry_type(int *type, int pfd, const char *name)
{
    struct stat st;
    if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return cloche__vfs_host_errno(errno);
    *type = cloche__vfs_host_type(st.st_mode);
    return 0;
}

/* ---- lookup -------------------------------------------------------------- */

int cloche__vfs_host_get(cloche__vfs_node **out, cloche__vfs_leaf *l)
{
    char rel[CLOCHE__VFS_PATH_MAX + 1];
    size_t len;
    *out = NULL;
    if (cloche__vfs_is_dots(l->name, l->name_len)) {
        /* "." or "..": the (possibly parent) directory itself, which may
         * be a VFS directory again. */
        int rc = cloche__vfs_leaf_step(l, l->name, l->name_len);
        if (rc)
            return rc;
        if (!l->mnt) {
            *out = l->dir;
            cloche__vfs_node_ref(*out);
            return 0;
        }
        int fd;
        if ((rc = cloche__vfs_host_dirfd(&fd, l->mnt, l->rel)) != 0)
            return rc;
        cloche__vfs_host_dirfd_close(l->mnt, fd);
        return cloche__vfs_host_node(out, l->mnt, l->rel, l->rel_len,
                                     CLOCHE__VFS_DIR, -1, 0);
    }
    int rc = leaf_rel(rel, &len, l);
    if (rc == 0)
        rc = cloche__vfs_host_lookup_rel(out, l->mnt, rel, len);
    if (rc == 0 && l->trailing_slash && (*out)->type != CLOCHE__VFS_DIR) {
        rc = (*out)->type == CLOCHE__VFS_SYMLINK ? CLOCHE__ELOOP
                                                 : CLOCHE__ENOTDIR;
        cloche__vfs_node_unref(*out);
        *out = NULL;
    }
    return rc;
}

/* ---- open ---------------------------------------------------------------- */

/* open(2) access mode for the VFS flags: truncation needs write access. */
static int access_mode(unsigned flags, unsigned *acc)
{
    int w = (flags & (CLOCHE__VFS_O_WRITE | CLOCHE__VFS_O_TRUNC)) != 0;
    int r = (flags & CLOCHE__VFS_O_READ) != 0 || !w;
    *acc = (r ? CLOCHE__VFS_O_READ : 0) | (w ? CLOCHE__VFS_O_WRITE : 0);
    return w ? (r ? O_RDWR : O_WRONLY) : O_RDONLY;
}

/* Open the regular file at rel for I/O: the one `pinned` holds, or a new
 * one (creat). */
static int open_file(cloche__vfs_node **out, cloche__vfs_mnt *m,
                     const char *rel, size_t len, unsigned flags, int creat,
                     int pinned)
{
    struct stat st;
    unsigned acc;
    int fd, oflags = access_mode(flags, &acc) | O_NONBLOCK | O_NOCTTY;
    if (creat) /* O_EXCL: never through a link, always a new file */
        fd = cloche__vfs_host_openat(m, m->fd, rel,
                                     oflags | O_CREAT | O_EXCL, 0666);
    else
        fd = cloche__vfs_host_open_pinned(m, pinned, rel, oflags);
    if (fd < 0)
        return fd;
    int rc = fstat(fd, &st) ? cloche__vfs_host_errno(errno) : 0;
    if (rc == 0 && !S_ISREG(st.st_mode))
        rc = CLOCHE__EACCES; /* swapped for something else meanwhile */
    if (rc == 0 && !creat && (acc & CLOCHE__VFS_O_WRITE) && st.st_nlink > 1)
        rc = CLOCHE__EACCES; /* a hard link: its other names may lie
                                outside the mount */
    if (rc == 0 && (flags & CLOCHE__VFS_O_TRUNC) && !creat &&
        ftruncate(fd, 0) != 0)
        rc = cloche__vfs_host_errno(errno);
    if (rc) {
        close(fd);
        return rc;
    }
    if (creat || (flags & CLOCHE__VFS_O_TRUNC))
        changed(m);
    return cloche__vfs_host_node(out, m, rel, len, CLOCHE__VFS_FILE, fd, acc);
}

/* The checks of cloche__vfs_open on an existing entry of this type. */
static int open_existing(cloche__vfs_node **out, const cloche__vfs_leaf *l,
                         const char *rel, size_t len, int type,
                         unsigned flags, int pinned)
{
    unsigned mutating = CLOCHE__VFS_O_WRITE | CLOCHE__VFS_O_TRUNC;
    if ((flags & CLOCHE__VFS_O_CREAT) && (flags & CLOCHE__VFS_O_EXCL))
        return CLOCHE__EEXIST;
    if (type == CLOCHE__VFS_SYMLINK)
        return CLOCHE__ELOOP; /* never followed */
    if (type == CLOCHE__VFS_DIR) {
        if (flags & (mutating | CLOCHE__VFS_O_CREAT))
            return CLOCHE__EISDIR;
        return cloche__vfs_host_node(out, l->mnt, rel, len, CLOCHE__VFS_DIR,
                                     -1, 0);
    }
    if (l->trailing_slash || (flags & CLOCHE__VFS_O_DIRECTORY))
        return CLOCHE__ENOTDIR;
    if (type != CLOCHE__VFS_FILE)
        return CLOCHE__EACCES; /* FIFO, socket, device: never opened */
    if ((flags & mutating) && l->mnt->readonly)
        return CLOCHE__EROFS;
    return open_file(out, l->mnt, rel, len, flags, 0, pinned);
}

int cloche__vfs_host_open(cloche__vfs_node **out, cloche__vfs_leaf *l,
                          unsigned flags)
{
    char rel[CLOCHE__VFS_PATH_MAX + 1];
    size_t len;
    struct stat st;
    *out = NULL;
    if (cloche__vfs_is_dots(l->name, l->name_len)) {
        unsigned mutating = CLOCHE__VFS_O_WRITE | CLOCHE__VFS_O_TRUNC;
        int rc = cloche__vfs_host_get(out, l);
        if (rc == 0 && (flags & CLOCHE__VFS_O_CREAT) &&
            (flags & CLOCHE__VFS_O_EXCL))
            rc = CLOCHE__EEXIST;
        else if (rc == 0 && (flags & (mutating | CLOCHE__VFS_O_CREAT)))
            rc = CLOCHE__EISDIR;
        if (rc && *out) {
            cloche__vfs_node_unref(*out);
            *out = NULL;
        }
        return rc;
    }
    int rc = leaf_rel(rel, &len, l);
    for (int tries = 0; rc == 0 && tries < 8; tries++) {
        cloche__vfs_mnt *m = l->mnt;
        int fd = cloche__vfs_host_openat(m, m->fd, rel, O_PATH | O_NOFOLLOW, 0);
        if (fd >= 0) {
            rc = fstat(fd, &st) ? cloche__vfs_host_errno(errno) : 0;
            if (rc == 0)
                rc = open_existing(out, l, rel, len,
                                   cloche__vfs_host_type(st.st_mode), flags,
                                   fd);
            close(fd);
            return rc;
        }
        if (fd != CLOCHE__ENOENT || !(flags & CLOCHE__VFS_O_CREAT))
            return fd;
        if (l->trailing_slash)
            return CLOCHE__EISDIR;
        if (m->readonly)
            return CLOCHE__EROFS;
        rc = open_file(out, m, rel, len, flags, 1, -1);
        if (rc != CLOCHE__EEXIST)
            return rc;
        rc = 0; /* created by someone else meanwhile: look again */
    }
    return rc ? rc : CLOCHE__EIO;
}

int cloche__vfs_host_reopen(cloche__vfs_node **out, cloche__vfs_mnt *m,
                            const char *rel, size_t len, int type,
                            unsigned flags)
{
    struct stat st;
    *out = NULL;
    int fd = cloche__vfs_host_openat(m, m->fd, rel, O_PATH | O_NOFOLLOW, 0);
    if (fd < 0)
        return fd;
    int rc = fstat(fd, &st) ? cloche__vfs_host_errno(errno) : 0;
    if (rc == 0 && cloche__vfs_host_type(st.st_mode) != type)
        rc = CLOCHE__EINVAL;
    if (rc == 0 && type == CLOCHE__VFS_DIR)
        rc = cloche__vfs_host_node(out, m, rel, len, type, -1, 0);
    else if (rc == 0)
        rc = open_file(out, m, rel, len, flags & ~CLOCHE__VFS_O_TRUNC, 0, fd);
    close(fd);
    return rc;
}

/* ---- mkdir, rmdir, unlink ---------------------------------------------- */

int cloche__vfs_host_mkdir(const cloche__vfs_leaf *l)
{
    name_buf b;
    int pfd, type = 0, rc = cloche__vfs_host_dirfd(&pfd, l->mnt, l->rel);
    if (rc)
        return rc;
    const char *name = leaf_name(&b, l);
    if (l->mnt->readonly) {
        rc = entry_type(&type, pfd, name);
        rc = rc == 0 ? CLOCHE__EEXIST
                     : rc == CLOCHE__ENOENT ? CLOCHE__EROFS : rc;
    } else if (mkdirat(pfd, name, 0777) != 0) {
        rc = cloche__vfs_host_errno(errno);
    } else {
        changed(l->mnt);
    }
    cloche__vfs_host_dirfd_close(l->mnt, pfd);
    return rc;
}

/* rmdir (dir nonzero) or unlink of the leaf. */
static int remove_entry(const cloche__vfs_leaf *l, int dir)
{
    name_buf b;
    int pfd, type = 0, rc = cloche__vfs_host_dirfd(&pfd, l->mnt, l->rel);
    if (rc)
        return rc;
    const char *name = leaf_name(&b, l);
    rc = entry_type(&type, pfd, name);
    if (rc == 0 && dir && type != CLOCHE__VFS_DIR)
        rc = CLOCHE__ENOTDIR;
    else if (rc == 0 && !dir && type == CLOCHE__VFS_DIR)
        rc = CLOCHE__EISDIR;
    else if (rc == 0 && !dir && l->trailing_slash)
        rc = CLOCHE__ENOTDIR;
    else if (rc == 0 && l->mnt->readonly)
        rc = CLOCHE__EROFS;
    if (rc == 0 && unlinkat(pfd, name, dir ? AT_REMOVEDIR : 0) != 0)
        rc = errno == EEXIST ? CLOCHE__ENOTEMPTY
                             : cloche__vfs_host_errno(errno);
    else if (rc == 0)
        changed(l->mnt);
    cloche__vfs_host_dirfd_close(l->mnt, pfd);
    return rc;
}

int cloche__vfs_host_rmdir(const cloche__vfs_leaf *l)
{
    return remove_entry(l, 1);
}

int cloche__vfs_host_unlink(const cloche__vfs_leaf *l)
{
    return remove_entry(l, 0);
}

/* ---- rename -------------------------------------------------------------- */

/* The part after the parent descriptors are open: checks, the open host
 * nodes' paths prepared, renameat, the paths updated. */
static int rename_at(const cloche__vfs_leaf *from, int fpfd,
                     const cloche__vfs_leaf *to, int tpfd)
{
    name_buf fb, tb;
    char frel[CLOCHE__VFS_PATH_MAX + 1], trel[CLOCHE__VFS_PATH_MAX + 1];
    size_t flen, tlen;
    cloche__vfs_rel_fix fx;
    const char *fname = leaf_name(&fb, from), *tname = leaf_name(&tb, to);
    int type = 0, rc = entry_type(&type, fpfd, fname);
    if (rc)
        return rc;
    if (type != CLOCHE__VFS_DIR && (from->trailing_slash || to->trailing_slash))
        return CLOCHE__ENOTDIR;
    if (from->mnt->readonly)
        return CLOCHE__EROFS;
    if ((rc = leaf_rel(frel, &flen, from)) != 0 ||
        (rc = leaf_rel(trel, &tlen, to)) != 0)
        return rc;
    rc = cloche__vfs_host_rename_prepare(&fx, from->mnt, frel, flen, trel,
                                         tlen);
    if (rc)
        return rc;
    if (renameat(fpfd, fname, tpfd, tname) != 0) {
        rc = errno == EEXIST ? CLOCHE__ENOTEMPTY
                             : cloche__vfs_host_errno(errno);
        cloche__vfs_host_rename_abort(&fx);
        return rc;
    }
    cloche__vfs_host_rename_commit(&fx, from->mnt);
    changed(from->mnt);
    return 0;
}

int cloche__vfs_host_rename(const cloche__vfs_leaf *from,
                            const cloche__vfs_leaf *to)
{
    int fpfd, tpfd = -1;
    int rc = cloche__vfs_host_dirfd(&fpfd, from->mnt, from->rel);
    if (rc)
        return rc;
    rc = cloche__vfs_host_dirfd(&tpfd, to->mnt, to->rel);
    if (rc == 0)
        rc = rename_at(from, fpfd, to, tpfd);
    cloche__vfs_host_dirfd_close(from->mnt, fpfd);
    cloche__vfs_host_dirfd_close(to->mnt, tpfd);
    return rc;
}
