/*
 * vfs_host.c - the node calls on host objects: stat, file data, times,
 * sync and directory listings, for mount points and the host nodes below
 * them (vfs.c dispatches here when node->host is set), and the fallible
 * forms of the node calls (cloche__vfs_file_pread...) that work for
 * memory and host nodes alike.
 *
 * Owns the readdir buffers of host directories. Invariants:
 *   - a host file's data is never cached: every read, write, size and
 *     truncation is a system call on the node's own descriptor;
 *   - a host directory holds no descriptor; each call re-resolves its
 *     path from the mount (vfs_mount.c), so a directory swapped for a
 *     symbolic link is ELOOP from then on;
 *   - times are set without opening the object (futimens on an fd already
 *     open, else utimensat on a name in its parent with
 *     AT_SYMLINK_NOFOLLOW); links, special files and files with more than
 *     one hard link (their inode is shared with names outside the mount)
 *     are refused.
 * Mount contents are not charged to the VFS quotas. It never aborts.
 */
#define _GNU_SOURCE

#include "vfs/vfs_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vfs/vfs_alloc.h"

#define NS 1000000000ull
#define DCACHE_BYTES 4096u
#define DCACHE_STEPS 64 /* refills and skips one call may do */

/* One getdents64 buffer and the host offset it was read from. It serves
 * the next entries of a listing until the guest changes anything in a
 * mount of this VFS (gen), so the guest always sees its own changes, as
 * in the memory tree; other host processes' changes show at the next
 * read, as with any readdir buffer. */
struct cloche__vfs_dcache {
    uint64_t start, gen;
    uint32_t len; /* bytes of records; 0: empty (end, or not read yet) */
    int valid;
    uint8_t buf[DCACHE_BYTES];
};

static int fail(void)
{
    return cloche__vfs_host_errno(errno);
}

/* ---- stat ---------------------------------------------------------------- */

static uint64_t ts_ns(struct timespec t)
{
    if (t.tv_sec < 0)
        return 0;
    if ((uint64_t)t.tv_sec > (UINT64_MAX - (uint64_t)t.tv_nsec) / NS)
        return UINT64_MAX;
    return (uint64_t)t.tv_sec * NS + (uint64_t)t.tv_nsec;
}

/* The host stat of n: its fd, the mount's, or its path looked up again
 * (a directory must still be one: a link in its place is ELOOP). */
static int host_fstat(struct stat *st, const cloche__vfs_node *n)
{
    const cloche__vfs_host *h = n->host;
    int fd = h->fd >= 0 ? h->fd : h->rel_len == 0 ? h->mnt->fd : -1;
    if (fd >= 0)
        return fstat(fd, st) ? fail() : 0;
    int flags =
        O_PATH | (n->type == CLOCHE__VFS_DIR ? O_DIRECTORY : O_NOFOLLOW);
    fd = cloche__vfs_host_openat(h->mnt, h->mnt->fd, h->rel, flags, 0);
    if (fd < 0)
        return fd;
    int rc = fstat(fd, st) ? fail() : 0;
    close(fd);
    return rc;
}

int cloche__vfs_host_stat(cloche__vfs_stat *out, const cloche__vfs_node *n)
{
    struct stat st;
    int rc = host_fstat(&st, n);
    if (rc)
        return rc;
    const cloche__vfs_mnt *m = n->host->mnt;
    *out = (cloche__vfs_stat){
        .dev = CLOCHE__VFS_HOST_DEV0 + m->id,
        .ino = (uint64_t)st.st_ino,
        .type = cloche__vfs_host_type(st.st_mode),
        .nlink = (uint64_t)st.st_nlink,
        .size = st.st_size > 0 ? (uint64_t)st.st_size : 0,
        .atim = ts_ns(st.st_atim),
        .mtim = ts_ns(st.st_mtim),
        .ctim = ts_ns(st.st_ctim),
        .readonly = m->readonly};
    return 0;
}

int cloche__vfs_host_size(uint64_t *size, const cloche__vfs_node *n)
{
    struct stat st;
    int rc = host_fstat(&st, n);
    *size = rc == 0 && st.st_size > 0 ? (uint64_t)st.st_size : 0;
    return rc;
}

/* ---- file data ----------------------------------------------------------- */

/* The I/O descriptor of a host file (EBADF for a node looked up only). */
static int io_fd(const cloche__vfs_node *n)
{
    return n->type == CLOCHE__VFS_FILE && n->host->fd >= 0 ? n->host->fd
                                                           : -1;
}

int cloche__vfs_host_read(size_t *nread, const cloche__vfs_node *n,
                          uint64_t off, uint8_t *dst, size_t len)
{
    int fd = io_fd(n);
    *nread = 0;
    if (fd < 0)
        return CLOCHE__EBADF;
    if (off > (uint64_t)INT64_MAX)
        return 0;
    if (len > (uint64_t)INT64_MAX - off)
        len = (size_t)((uint64_t)INT64_MAX - off);
    while (*nread < len) {
        ssize_t k = pread(fd, dst + *nread, len - *nread,
                          (off_t)(off + *nread));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return *nread ? 0 : fail();
        if (k == 0)
            break;
        *nread += (size_t)k;
    }
    return 0;
}

int cloche__vfs_host_write(size_t *nwritten, cloche__vfs_node *n,
                           uint64_t off, const uint8_t *src, size_t len)
{
    int fd = io_fd(n);
    *nwritten = 0;
    if (fd < 0)
        return CLOCHE__EBADF;
    if (off > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX - off)
        return CLOCHE__EFBIG;
    while (*nwritten < len) {
        ssize_t k = pwrite(fd, src + *nwritten, len - *nwritten,
                           (off_t)(off + *nwritten));
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return *nwritten ? 0 : k < 0 ? fail() : CLOCHE__EIO;
        *nwritten += (size_t)k;
    }
    return 0;
}

int cloche__vfs_host_resize(cloche__vfs_node *n, uint64_t size)
{
    int fd = io_fd(n);
    if (fd < 0)
        return CLOCHE__EBADF;
    if (size > (uint64_t)INT64_MAX)
        return CLOCHE__EFBIG;
    while (ftruncate(fd, (off_t)size) != 0)
        if (errno != EINTR)
            return errno == EINVAL ? CLOCHE__EBADF : fail();
    return 0;
}

int cloche__vfs_host_sync(cloche__vfs_node *n, int data_only)
{
    int fd = io_fd(n);
    if (fd < 0)
        return 0;
    return (data_only ? fdatasync(fd) : fsync(fd)) ? fail() : 0;
}

/* ---- times --------------------------------------------------------------- */

static struct timespec to_ts(uint64_t ns, int set)
{
    struct timespec t = {0, UTIME_OMIT};
    if (set) {
        t.tv_sec = (time_t)(ns / NS);
        t.tv_nsec = (long)(ns % NS);
    }
    return t;
}

int cloche__vfs_host_set_times(cloche__vfs_node *n, uint64_t atim,
                               uint64_t mtim, unsigned mask)
{
    const cloche__vfs_host *h = n->host;
    struct timespec ts[2] = {to_ts(atim, (mask & CLOCHE__VFS_SET_ATIM) != 0),
                             to_ts(mtim, (mask & CLOCHE__VFS_SET_MTIM) != 0)};
    if (n->type == CLOCHE__VFS_SYMLINK)
        return CLOCHE__ELOOP;
    if (n->type == CLOCHE__VFS_SPECIAL)
        return CLOCHE__EACCES;
    if (n->type == CLOCHE__VFS_FILE && h->rel_len) {
        /* a hard link's inode is shared with names outside the mount */
        struct stat st;
        int rc = host_fstat(&st, n);
        if (rc)
            return rc;
        if (st.st_nlink > 1)
            return CLOCHE__EACCES;
    }
    if (h->fd >= 0)
        return futimens(h->fd, ts) ? fail() : 0;
    if (h->rel_len == 0)
        return utimensat(h->mnt->fd, ".", ts, 0) ? fail() : 0;
    /* The parent directory, then the last name, never followed. */
    char parent[CLOCHE__VFS_PATH_MAX + 1];
    const char *slash = strrchr(h->rel, '/');
    size_t plen = slash ? (size_t)(slash - h->rel) : 0;
    memcpy(parent, h->rel, plen);
    parent[plen] = '\0';
    int pfd, rc = cloche__vfs_host_dirfd(&pfd, h->mnt, parent);
    if (rc)
        return rc;
    if (utimensat(pfd, slash ? slash + 1 : h->rel, ts, AT_SYMLINK_NOFOLLOW))
        rc = fail();
    cloche__vfs_host_dirfd_close(h->mnt, pfd);
    return rc;
}

/* ---- directories --------------------------------------------------------- */

/* One getdents64 record. */
typedef struct rec {
    uint64_t ino, off;
    uint8_t type;
    uint16_t reclen;
    const char *name;
    size_t name_len;
} rec;

static int rec_at(rec *r, const cloche__vfs_dcache *dc, uint32_t pos)
{
    const uint8_t *p = dc->buf + pos;
    if (pos > dc->len || dc->len - pos < 20)
        return 0;
    memcpy(&r->ino, p, 8);
    memcpy(&r->off, p + 8, 8);
    memcpy(&r->reclen, p + 16, 2);
    r->type = p[18];
    if (r->reclen < 20 || r->reclen > dc->len - pos)
        return 0;
    r->name = (const char *)p + 19;
    r->name_len = strnlen(r->name, r->reclen - 19u);
    return 1;
}

/* The record at host offset off in the buffer (the first one is at
 * dc->start, each next one at its predecessor's d_off). */
static int find(rec *out, const cloche__vfs_dcache *dc, uint64_t off,
                uint64_t gen)
{
    uint64_t at = dc->start;
    for (uint32_t pos = 0; dc->valid && dc->gen == gen && rec_at(out, dc, pos);
         pos += out->reclen) {
        if (at == off)
            return 1;
        at = out->off;
    }
    return 0;
}

static int fill(cloche__vfs_dcache *dc, const cloche__vfs_node *dir,
                uint64_t off)
{
    const cloche__vfs_host *h = dir->host;
    int fd = h->rel_len == 0
                 ? openat(h->mnt->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                 : cloche__vfs_host_openat(h->mnt, h->mnt->fd, h->rel,
                                           O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0)
        return h->rel_len == 0 ? fail() : fd;
    long k = 0; /* an offset the file system rejects ends the listing */
    if (off <= (uint64_t)INT64_MAX && lseek(fd, (off_t)off, SEEK_SET) >= 0)
        k = syscall(SYS_getdents64, fd, dc->buf, sizeof(dc->buf));
    int rc = k < 0 ? fail() : 0;
    close(fd);
    dc->start = off;
    dc->gen = dir->vfs->host_gen;
    dc->len = k > 0 ? (uint32_t)k : 0;
    dc->valid = rc == 0;
    return rc;
}

static int entry_type(const cloche__vfs_node *dir, const rec *r)
{
    switch (r->type) {
    case DT_DIR: return CLOCHE__VFS_DIR;
    case DT_REG: return CLOCHE__VFS_FILE;
    case DT_LNK: return CLOCHE__VFS_SYMLINK;
    case DT_UNKNOWN: break;
    default: return CLOCHE__VFS_SPECIAL;
    }
    /* The file system does not say: look (never following). */
    char rel[CLOCHE__VFS_PATH_MAX + 1];
    size_t len;
    cloche__vfs_node *n;
    const cloche__vfs_host *h = dir->host;
    int type = CLOCHE__VFS_SPECIAL;
    if (cloche__vfs_host_join(rel, &len, h->rel, h->rel_len, r->name,
                              r->name_len) == 0 &&
        cloche__vfs_host_lookup_rel(&n, h->mnt, rel, len) == 0) {
        type = n->type;
        cloche__vfs_node_unref(n);
    }
    return type;
}

/* "." and ".." (cookies 0 and 1); ".." of a mount root is its VFS parent. */
static int dots(cloche__vfs_dirent *out, const cloche__vfs_node *dir,
                uint64_t cookie)
{
    const cloche__vfs_host *h = dir->host;
    cloche__vfs_stat st;
    int rc = cloche__vfs_host_stat(&st, dir);
    if (rc)
        return rc;
    if (cookie == 1 && h->rel_len == 0) {
        const cloche__vfs_node *p = h->node->parent;
        st.ino = p ? p->ino : h->node->ino;
    } else if (cookie == 1) {
        char parent[CLOCHE__VFS_PATH_MAX + 1];
        const char *slash = strrchr(h->rel, '/');
        size_t plen = slash ? (size_t)(slash - h->rel) : 0;
        memcpy(parent, h->rel, plen);
        parent[plen] = '\0';
        cloche__vfs_node *pn;
        if (cloche__vfs_host_lookup_rel(&pn, h->mnt, parent, plen) == 0) {
            cloche__vfs_stat ps;
            if (cloche__vfs_node_getstat(&ps, pn) == 0)
                st.ino = ps.ino;
            cloche__vfs_node_unref(pn);
        }
    }
    *out = (cloche__vfs_dirent){cookie + 1, st.ino, CLOCHE__VFS_DIR, "..",
                                (size_t)cookie + 1};
    return 1;
}

int cloche__vfs_host_dir_read(cloche__vfs_dirent *out,
                              const cloche__vfs_node *dir, uint64_t cookie)
{
    cloche__vfs_host *h = dir->host;
    if (cookie < 2)
        return dots(out, dir, cookie);
    if (!h->dc && !(h->dc = cloche__calloc(1, sizeof(*h->dc))))
        return CLOCHE__ENOMEM;
    if (cookie == 2)
        h->dc->valid = 0; /* a new listing reads the directory afresh */
    uint64_t off = cookie - 2;
    rec r;
    for (int step = 0; step < DCACHE_STEPS; step++) {
        if (!find(&r, h->dc, off, dir->vfs->host_gen)) {
            int rc = fill(h->dc, dir, off);
            if (rc)
                return rc;
            if (h->dc->len == 0)
                return 0; /* the end */
            continue;
        }
        if (cloche__vfs_is_dots(r.name, r.name_len)) {
            off = r.off; /* the host's own "." and "..": ours came first */
            continue;
        }
        uint64_t next = r.off > UINT64_MAX - 2 ? UINT64_MAX : r.off + 2;
        *out = (cloche__vfs_dirent){next, r.ino, entry_type(dir, &r), r.name,
                                    r.name_len};
        return 1;
    }
    return CLOCHE__EIO;
}

/* ---- calls for memory and host nodes alike ------------------------------ */

int cloche__vfs_node_is_host(const cloche__vfs_node *n)
{
    return n->host != NULL;
}

int cloche__vfs_node_getstat(cloche__vfs_stat *out, const cloche__vfs_node *n)
{
    if (n->host)
        return cloche__vfs_host_stat(out, n);
    cloche__vfs_node_stat(out, n);
    return 0;
}

int cloche__vfs_node_sync(cloche__vfs_node *n, int data_only)
{
    return n->host ? cloche__vfs_host_sync(n, data_only) : 0;
}

int cloche__vfs_file_getsize(uint64_t *size, const cloche__vfs_node *n)
{
    if (n->type == CLOCHE__VFS_FILE && n->host)
        return cloche__vfs_host_size(size, n);
    *size = cloche__vfs_file_size(n);
    return 0;
}

int cloche__vfs_file_pread(size_t *nread, const cloche__vfs_node *n,
                           uint64_t off, uint8_t *dst, size_t len)
{
    if (n->host)
        return cloche__vfs_host_read(nread, n, off, dst, len);
    cloche__vfs_file_read(nread, n, off, dst, len);
    return 0;
}

int cloche__vfs_file_pwrite(size_t *nwritten, cloche__vfs_node *n,
                            uint64_t off, const uint8_t *src, size_t len)
{
    *nwritten = 0;
    if (!n->host) { /* all or nothing */
        int rc = cloche__vfs_file_write(n, off, src, len);
        *nwritten = rc ? 0 : len;
        return rc;
    }
    if (n->type != CLOCHE__VFS_FILE)
        return CLOCHE__EISDIR;
    if (n->flags & CLOCHE__VFS_F_RO)
        return CLOCHE__EROFS;
    return cloche__vfs_host_write(nwritten, n, off, src, len);
}
