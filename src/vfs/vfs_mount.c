/*
 * vfs_mount.c - host mounts: the mount descriptors, the confined open that
 * every host access goes through, host nodes and their bookkeeping.
 *
 * Owns each mount's descriptor and every host node's host part.
 * Invariants:
 *   - the only host path ever resolved by the host's own rules is the one
 *     the embedder passes to cloche__vfs_mount; after that, every object
 *     is reached from a mount descriptor by cloche__vfs_host_openat
 *     (openat2 with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 *     RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV, or, where openat2 is
 *     missing, a walk one component at a time with O_NOFOLLOW that checks
 *     every step is a directory on the mount's device), or by a single
 *     component *at() call on a directory descriptor obtained that way;
 *   - paths handed to the host never contain "." or ".." components (the
 *     resolver handles ".." itself, lexically, so that ".." at a mount
 *     root leads to the VFS, never to the host parent);
 *   - every host node is in vfs->hosts and counted in vfs->nhosts
 *     (at most CLOCHE__VFS_MAX_HOST_NODES); those holding an fd are
 *     counted in vfs->nhost_fds too (at most lim.max_host_fds, so one
 *     sandbox cannot use up its embedder's descriptors); the fd is closed
 *     when the node goes.
 * It never follows a symbolic link inside a mount and never aborts.
 */
#define _GNU_SOURCE

#include "vfs/vfs_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vfs/vfs_alloc.h"

#ifndef SYS_openat2
#define SYS_openat2 437 /* the same number on every Linux architecture */
#endif

/* struct open_how and the RESOLVE_ flags of <linux/openat2.h> (Linux 5.6),
 * spelled out so that older kernel headers still build. */
struct cloche__open_how {
    uint64_t flags, mode, resolve;
};
#define RESOLVE_ALL                                                            \
    (0x01u /* NO_XDEV */ | 0x02u /* NO_MAGICLINKS */ |                         \
     0x04u /* NO_SYMLINKS */ | 0x08u /* BENEATH */)

/* 0: try openat2; 1: forced off (tests); 2: the kernel lacks it. */
static atomic_int g_no_openat2;

void cloche__vfs_mount_force_fallback(int on)
{
    atomic_store(&g_no_openat2, on ? 1 : 0);
}

int cloche__vfs_host_errno(int e)
{
    switch (e) {
    case EPERM: return CLOCHE__EPERM;
    case ENOENT: return CLOCHE__ENOENT;
    case EBADF: return CLOCHE__EBADF;
    case ENOMEM: return CLOCHE__ENOMEM;
    case EACCES:
    case ENXIO: /* a special file refusing to open */
    case ENODEV: return CLOCHE__EACCES;
    case EBUSY:
    case ETXTBSY: return CLOCHE__EBUSY;
    case EEXIST: return CLOCHE__EEXIST;
    case EXDEV: return CLOCHE__EXDEV;
    case ENOTDIR: return CLOCHE__ENOTDIR;
    case EISDIR: return CLOCHE__EISDIR;
    case EINVAL: return CLOCHE__EINVAL;
    case EMFILE:
    case ENFILE: return CLOCHE__EMFILE;
    case EFBIG: return CLOCHE__EFBIG;
    case ENOSPC: return CLOCHE__ENOSPC;
    case EROFS: return CLOCHE__EROFS;
    case ENAMETOOLONG: return CLOCHE__ENAMETOOLONG;
    case ENOTEMPTY: return CLOCHE__ENOTEMPTY;
    case ELOOP: return CLOCHE__ELOOP;
    case EOVERFLOW: return CLOCHE__EOVERFLOW;
    case ENOTSUP: return CLOCHE__ENOTSUP;
    case EDQUOT: return CLOCHE__EDQUOT;
    default: return CLOCHE__EIO;
    }
}

int cloche__vfs_host_type(unsigned mode)
{
    if (S_ISDIR(mode))
        return CLOCHE__VFS_DIR;
    if (S_ISREG(mode))
        return CLOCHE__VFS_FILE;
    if (S_ISLNK(mode))
        return CLOCHE__VFS_SYMLINK;
    return CLOCHE__VFS_SPECIAL;
}

/* ---- the confined open --------------------------------------------------- */

/* openat2 with every RESOLVE_ restriction: -errno on failure. EAGAIN means
 * the kernel saw a concurrent rename it could not rule out: try again. */
static int via_openat2(int dirfd, const char *rel, int flags, unsigned mode)
{
    struct cloche__open_how how = {
        (uint64_t)(unsigned)(flags | O_CLOEXEC),
        (flags & O_CREAT) ? mode : 0u, RESOLVE_ALL};
    for (int i = 0; i < 16; i++) {
        long fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
        if (fd >= 0)
            return (int)fd;
        if (errno != EINTR && errno != EAGAIN)
            return -errno;
    }
    return -EAGAIN;
}

/* fd's object must be on the mount's device (the fallback's stand-in for
 * RESOLVE_NO_XDEV) and, with need_dir, a directory; -errno otherwise. A
 * symbolic link is ELOOP unless the caller asked for links. */
static int check_step(int fd, uint64_t dev, int need_dir, int link_ok)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -errno;
    if (S_ISLNK(st.st_mode) && !link_ok)
        return -ELOOP;
    if (need_dir && !S_ISDIR(st.st_mode))
        return -ENOTDIR;
    if ((uint64_t)st.st_dev != dev)
        return -EXDEV;
    return 0;
}

/* The last component in the fallback walk: -errno or the fd. */
static int walk_last(int cur, const char *name, int flags, unsigned mode,
                     uint64_t dev)
{
    int want_link = (flags & O_PATH) && (flags & O_NOFOLLOW);
    int need_dir = (flags & O_DIRECTORY) != 0;
    int fd, rc;
    if ((flags & O_PATH) || need_dir) {
        /* Look first (a link is ELOOP, not the ENOTDIR O_DIRECTORY gives),
         * then reopen the very object checked for reading if asked. */
        fd = openat(cur, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return -errno;
        if ((rc = check_step(fd, dev, need_dir, want_link)) != 0 ||
            (flags & O_PATH)) {
            if (rc)
                close(fd);
            return rc ? rc : fd;
        }
        int real = openat(fd, ".", flags | O_CLOEXEC);
        rc = real < 0 ? -errno : real;
        close(fd);
        return rc;
    }
    fd = openat(cur, name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0)
        return -errno;
    if ((rc = check_step(fd, dev, 0, 0)) != 0) {
        close(fd);
        return rc;
    }
    return fd;
}

/* Without openat2: one component at a time, never following a link. */
static int via_walk(int dirfd, const char *rel, int flags, unsigned mode,
                    uint64_t dev)
{
    char name[CLOCHE__VFS_NAME_MAX + 1];
    int cur = dirfd, rc = 0;
    for (;;) {
        const char *slash = strchr(rel, '/');
        size_t len = slash ? (size_t)(slash - rel) : strlen(rel);
        if (len == 0 || len > CLOCHE__VFS_NAME_MAX) {
            rc = -ENOENT;
            break;
        }
        memcpy(name, rel, len);
        name[len] = '\0';
        if (!slash) {
            rc = walk_last(cur, name, flags, mode, dev);
            break;
        }
        int next = openat(cur, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        rc = next < 0 ? -errno : check_step(next, dev, 1, 0);
        if (cur != dirfd)
            close(cur);
        cur = next;
        if (rc)
            break;
        rel = slash + 1;
    }
    if (cur != dirfd && cur >= 0)
        close(cur);
    return rc;
}

int cloche__vfs_host_openat(const cloche__vfs_mnt *m, int dirfd,
                            const char *rel, int flags, unsigned mode)
{
    int fd = -ENOSYS;
    if (rel[0] == '\0')
        rel = "."; /* the directory itself */
    if (atomic_load(&g_no_openat2) == 0) {
        fd = via_openat2(dirfd, rel, flags, mode);
        if (fd == -ENOSYS)
            atomic_store(&g_no_openat2, 2);
    }
    if (fd == -ENOSYS)
        fd = via_walk(dirfd, rel, flags, mode, m->dev);
    return fd >= 0 ? fd : cloche__vfs_host_errno(-fd);
}

int cloche__vfs_host_open_pinned(const cloche__vfs_mnt *m, int pinned,
                                 const char *rel, int flags)
{
    if (atomic_load(&g_no_openat2) != 1) { /* tests force the path below */
        char proc[48];
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pinned);
        int fd = open(proc, flags | O_CLOEXEC);
        if (fd >= 0)
            return fd;
    }
    /* No /proc (or not ours to use): by path; the caller checks with
     * fstat what it got. */
    return cloche__vfs_host_openat(m, m->fd, rel, flags, 0);
}

int cloche__vfs_host_dirfd(int *fd, const cloche__vfs_mnt *m,
                           const char *rel)
{
    if (rel[0] == '\0') {
        *fd = m->fd;
        return 0;
    }
    /* No O_NOFOLLOW: RESOLVE_NO_SYMLINKS makes a link ELOOP. */
    *fd = cloche__vfs_host_openat(m, m->fd, rel, O_PATH | O_DIRECTORY, 0);
    return *fd < 0 ? *fd : 0;
}

void cloche__vfs_host_dirfd_close(const cloche__vfs_mnt *m, int fd)
{
    if (fd >= 0 && fd != m->fd)
        close(fd);
}

int cloche__vfs_host_join(char *out, size_t *out_len, const char *rel,
                          size_t rel_len, const char *name, size_t name_len)
{
    size_t sep = rel_len && name_len ? 1 : 0;
    if (rel_len + sep + name_len > CLOCHE__VFS_PATH_MAX)
        return CLOCHE__ENAMETOOLONG;
    if (out != rel)
        memmove(out, rel, rel_len);
    if (sep)
        out[rel_len] = '/';
    memmove(out + rel_len + sep, name, name_len);
    *out_len = rel_len + sep + name_len;
    out[*out_len] = '\0';
    return 0;
}

/* ---- host nodes -------------------------------------------------------- */

static cloche__vfs *vfs_of(const cloche__vfs_mnt *m)
{
    return m->root.node->vfs;
}

int cloche__vfs_host_node(cloche__vfs_node **out, cloche__vfs_mnt *m,
                          const char *rel, size_t rel_len, int type, int fd,
                          unsigned acc)
{
    cloche__vfs *vfs = vfs_of(m);
    *out = NULL;
    if (rel_len == 0) { /* the mount root is the mount point itself */
        if (fd >= 0)
            close(fd);
        *out = m->root.node;
        cloche__vfs_node_ref(*out);
        return 0;
    }
    cloche__vfs_node *n = NULL;
    cloche__vfs_host *h = NULL;
    char *copy = NULL;
    int rc = vfs->nhosts >= CLOCHE__VFS_MAX_HOST_NODES ||
                     (fd >= 0 && vfs->nhost_fds >= vfs->lim.max_host_fds)
                 ? CLOCHE__EMFILE
                 : 0;
    if (rc == 0 && (!(n = cloche__calloc(1, sizeof(*n))) ||
                    !(h = cloche__calloc(1, sizeof(*h))) ||
                    !(copy = cloche__alloc(rel_len + 1))))
        rc = CLOCHE__ENOMEM;
    if (rc) {
        cloche__dealloc(n);
        cloche__dealloc(h);
        if (fd >= 0)
            close(fd);
        return rc;
    }
    memcpy(copy, rel, rel_len);
    copy[rel_len] = '\0';
    *h = (cloche__vfs_host){m, n, fd, acc, copy, rel_len, NULL, NULL,
                            vfs->hosts};
    if (vfs->hosts)
        vfs->hosts->prev = h;
    vfs->hosts = h;
    vfs->nhosts++;
    vfs->nhost_fds += fd >= 0;
    n->vfs = vfs;
    n->type = (uint8_t)type;
    n->flags = m->readonly ? CLOCHE__VFS_F_RO : 0;
    n->refs = 1;
    n->host = h;
    *out = n;
    return 0;
}

int cloche__vfs_host_lookup_rel(cloche__vfs_node **out, cloche__vfs_mnt *m,
                                const char *rel, size_t rel_len)
{
    struct stat st;
    *out = NULL;
    if (rel_len == 0)
        return cloche__vfs_host_node(out, m, rel, 0, CLOCHE__VFS_DIR, -1, 0);
    int fd = cloche__vfs_host_openat(m, m->fd, rel, O_PATH | O_NOFOLLOW, 0);
    if (fd < 0)
        return fd;
    int rc = fstat(fd, &st) ? cloche__vfs_host_errno(errno) : 0;
    close(fd);
    if (rc)
        return rc;
    return cloche__vfs_host_node(out, m, rel, rel_len,
                                 cloche__vfs_host_type(st.st_mode), -1, 0);
}

void cloche__vfs_host_release(cloche__vfs_host *h)
{
    cloche__vfs *vfs = h->node->vfs;
    if (h->fd >= 0) {
        close(h->fd);
        vfs->nhost_fds--;
    }
    if (h->prev)
        h->prev->next = h->next;
    else
        vfs->hosts = h->next;
    if (h->next)
        h->next->prev = h->prev;
    vfs->nhosts--;
    cloche__dealloc(h->rel);
    cloche__dealloc(h->dc);
    cloche__dealloc(h);
}

/* ---- mounts -------------------------------------------------------------- */

static char empty_rel[1];

void cloche__vfs_mount_discard(cloche__vfs_mnt *m)
{
    if (!m)
        return;
    if (m->fd >= 0)
        close(m->fd);
    cloche__dealloc(m->root.dc);
    cloche__dealloc(m);
}

void cloche__vfs_mounts_free(cloche__vfs *vfs)
{
    for (uint32_t i = 0; i < vfs->nmounts; i++)
        cloche__vfs_mount_discard(vfs->mounts[i]);
    cloche__dealloc(vfs->mounts);
    vfs->mounts = NULL;
    vfs->nmounts = 0;
}

int cloche__vfs_mount_reserve(cloche__vfs *vfs)
{
    if (vfs->nmounts >= CLOCHE__VFS_MAX_MOUNTS)
        return CLOCHE__EMFILE;
    cloche__vfs_mnt **v = cloche__realloc(
        vfs->mounts, (vfs->nmounts + 1) * sizeof(*vfs->mounts));
    if (!v)
        return CLOCHE__ENOMEM;
    vfs->mounts = v;
    return 0;
}

/* A regular file opened for I/O: the object the O_PATH descriptor holds
 * (through /proc), else by path again; either way it must still be the
 * object looked at. */
static int open_file_root(int *fd, int pathfd, const char *host_path,
                          int readonly, const struct stat *seen)
{
    struct stat st;
    char proc[48];
    int flags = (readonly ? O_RDONLY : O_RDWR) | O_NONBLOCK | O_NOCTTY |
                O_CLOEXEC;
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pathfd);
    if ((*fd = open(proc, flags)) < 0)
        *fd = open(host_path, flags);
    if (*fd < 0)
        return cloche__vfs_host_errno(errno);
    if (fstat(*fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        st.st_dev != seen->st_dev || st.st_ino != seen->st_ino) {
        close(*fd);
        *fd = -1;
        return CLOCHE__EINVAL;
    }
    return 0;
}

/* Some sandboxes (old container seccomp profiles) answer openat2 with
 * EPERM instead of ENOSYS: ask once, on the new mount's own directory. */
static void probe_openat2(int dirfd)
{
    if (atomic_load(&g_no_openat2) != 0)
        return;
    int fd = via_openat2(dirfd, ".", O_PATH | O_DIRECTORY, 0);
    if (fd >= 0)
        close(fd);
    else if (fd == -ENOSYS || fd == -EPERM)
        atomic_store(&g_no_openat2, 2);
}

int cloche__vfs_mount_open(cloche__vfs_mnt **out, const char *host_path,
                           int readonly)
{
    struct stat st;
    *out = NULL;
    cloche__vfs_mnt *m = cloche__calloc(1, sizeof(*m));
    if (!m)
        return CLOCHE__ENOMEM;
    /* O_PATH never opens the object itself: a FIFO or device cannot block
     * or react here. */
    int fd = open(host_path, O_PATH | O_CLOEXEC);
    int rc = fd < 0 ? cloche__vfs_host_errno(errno) : 0;
    if (rc == 0 && fstat(fd, &st) != 0)
        rc = cloche__vfs_host_errno(errno);
    m->fd = -1;
    if (rc == 0 && S_ISDIR(st.st_mode)) {
        m->fd = fd;
        m->is_dir = 1;
        fd = -1;
        probe_openat2(m->fd);
    } else if (rc == 0 && S_ISREG(st.st_mode)) {
        rc = open_file_root(&m->fd, fd, host_path, readonly, &st);
    } else if (rc == 0) {
        rc = CLOCHE__EINVAL; /* FIFO, socket, device */
    }
    if (fd >= 0)
        close(fd);
    if (rc) {
        cloche__vfs_mount_discard(m);
        return rc;
    }
    m->readonly = readonly != 0;
    m->dev = (uint64_t)st.st_dev;
    m->root = (cloche__vfs_host){
        m,  NULL, m->is_dir ? -1 : m->fd,
        m->readonly ? CLOCHE__VFS_O_READ
                    : CLOCHE__VFS_O_READ | CLOCHE__VFS_O_WRITE,
        empty_rel, 0, NULL, NULL, NULL};
    *out = m;
    return 0;
}

void cloche__vfs_mount_attach(cloche__vfs *vfs, cloche__vfs_mnt *m,
                              cloche__vfs_node *n)
{
    n->host = &m->root;
    n->flags = (uint8_t)(n->flags | CLOCHE__VFS_F_MOUNT |
                         (m->readonly ? CLOCHE__VFS_F_RO : 0));
    m->root.node = n;
    m->id = vfs->nmounts;
    vfs->mounts[vfs->nmounts++] = m;
}

/* ---- renames ------------------------------------------------------------- */

/* Nonzero when rel is from or lies below it. */
static int below(const cloche__vfs_host *h, const char *from, size_t len)
{
    return h->rel_len >= len && memcmp(h->rel, from, len) == 0 &&
           (h->rel_len == len || h->rel[len] == '/');
}

int cloche__vfs_host_rename_prepare(cloche__vfs_rel_fix *fx,
                                    const cloche__vfs_mnt *m,
                                    const char *from, size_t from_len,
                                    const char *to, size_t to_len)
{
    cloche__vfs *vfs = vfs_of(m);
    memset(fx, 0, sizeof(*fx));
    if (vfs->nhosts == 0)
        return 0;
    if (!(fx->rels = cloche__calloc(vfs->nhosts, sizeof(*fx->rels))))
        return CLOCHE__ENOMEM;
    fx->n = vfs->nhosts;
    uint32_t i = 0;
    for (cloche__vfs_host *h = vfs->hosts; h; h = h->next, i++) {
        if (h->mnt != m || !below(h, from, from_len))
            continue;
        size_t tail = h->rel_len - from_len, len = to_len + tail;
        char *s = len > CLOCHE__VFS_PATH_MAX ? NULL : cloche__alloc(len + 1);
        if (!s) {
            cloche__vfs_host_rename_abort(fx);
            return len > CLOCHE__VFS_PATH_MAX ? CLOCHE__ENAMETOOLONG
                                              : CLOCHE__ENOMEM;
        }
        memcpy(s, to, to_len);
        memcpy(s + to_len, h->rel + from_len, tail + 1);
        fx->rels[i] = s;
    }
    return 0;
}

void cloche__vfs_host_rename_commit(cloche__vfs_rel_fix *fx,
                                    const cloche__vfs_mnt *m)
{
    uint32_t i = 0;
    for (cloche__vfs_host *h = vfs_of(m)->hosts; h && i < fx->n;
         h = h->next, i++) {
        if (!fx->rels[i])
            continue;
        cloche__dealloc(h->rel);
        h->rel = fx->rels[i];
        h->rel_len = strlen(h->rel);
        fx->rels[i] = NULL;
    }
    cloche__vfs_host_rename_abort(fx);
}

void cloche__vfs_host_rename_abort(cloche__vfs_rel_fix *fx)
{
    for (uint32_t i = 0; i < fx->n; i++)
        cloche__dealloc(fx->rels[i]);
    cloche__dealloc(fx->rels);
    fx->rels = NULL;
    fx->n = 0;
}
