/*
 * wasi_fd.c - data calls on fds: fd_read, fd_write, fd_pread, fd_pwrite,
 * fd_seek, fd_tell, fd_readdir, fd_allocate, fd_filestat_set_size.
 *
 * Order of checks in every call: the fd must be open (EBADF), then every
 * guest pointer argument in argument order (EFAULT, EINVAL for too many
 * iovecs), then what the call means for the fd's kind and rights. Nothing
 * is changed before all checks pass, and a file write is all or nothing.
 * One call moves at most CLOCHE__WASI_IO_MAX bytes (a short count, as a
 * host kernel would return). Files in host mounts go to the host on every
 * call: their writes may be short (the count says so) and errors come
 * back as the host's.
 */
#include "wasi/wasi_int.h"

/* Checks shared by the four read/write calls; *f is the open fd. */
static int32_t io_prologue(cloche__wasi_fd **f, cloche__abi_iovs *v,
                           cloche__wasi *w, cloche__mem m, uint32_t fd,
                           uint32_t iovs, uint32_t iovs_len, uint32_t n_out)
{
    int32_t e;
    if (!(*f = cloche__wasi_fd_get(w, fd)))
        return CLOCHE__WASI_EBADF;
    if ((e = (int32_t)cloche__abi_iovs_init(v, m, iovs, iovs_len)) != 0)
        return e;
    return cloche__abi_check(m, n_out, 4);
}

static int32_t file_read(const cloche__vfs_node *n, uint64_t off,
                         const cloche__abi_iovs *v, uint64_t *done)
{
    *done = 0;
    for (uint32_t i = 0; i < v->n && *done < CLOCHE__WASI_IO_MAX; i++) {
        size_t len, k;
        uint8_t *dst = cloche__abi_iov(v, i, &len);
        if (!dst)
            return *done ? 0 : CLOCHE__WASI_EFAULT;
        if (len > CLOCHE__WASI_IO_MAX - *done)
            len = (size_t)(CLOCHE__WASI_IO_MAX - *done);
        int rc = cloche__vfs_file_pread(&k, n, off + *done, dst, len);
        if (rc)
            return *done ? 0 : cloche__wasi_errno(rc);
        *done += k;
        if (k < len)
            break;
    }
    return 0;
}

/* A host file: each iovec straight to the host; stops at a short write
 * (and reports an error only when nothing was written). */
static int32_t host_write(cloche__vfs_node *n, uint64_t off,
                          const cloche__abi_iovs *v, uint64_t total,
                          uint64_t *done)
{
    for (uint32_t i = 0; i < v->n && *done < total; i++) {
        size_t len, k;
        const uint8_t *src = cloche__abi_iov(v, i, &len);
        if (!src)
            return *done ? 0 : CLOCHE__WASI_EFAULT;
        if (len > total - *done)
            len = (size_t)(total - *done);
        int rc = cloche__vfs_file_pwrite(&k, n, off + *done, src, len);
        *done += k;
        if (rc)
            return *done ? 0 : cloche__wasi_errno(rc);
        if (k < len)
            break;
    }
    return 0;
}

/* Grow the file to its final size first: after that no step can fail. */
static int32_t file_write(cloche__vfs_node *n, uint64_t off,
                          const cloche__abi_iovs *v, uint64_t *done)
{
    uint64_t total = v->total < CLOCHE__WASI_IO_MAX ? v->total
                                                    : CLOCHE__WASI_IO_MAX;
    *done = 0;
    if (total == 0)
        return 0;
    if (off > (uint64_t)INT64_MAX - total)
        return CLOCHE__WASI_EFBIG;
    if (cloche__vfs_node_is_host(n))
        return host_write(n, off, v, total, done);
    if (off + total > cloche__vfs_file_size(n)) {
        int rc = cloche__vfs_file_resize(n, off + total);
        if (rc)
            return cloche__wasi_errno(rc);
    }
    for (uint32_t i = 0; i < v->n && *done < total; i++) {
        size_t len;
        const uint8_t *src = cloche__abi_iov(v, i, &len);
        if (!src)
            return *done ? 0 : CLOCHE__WASI_EFAULT;
        if (len > total - *done)
            len = (size_t)(total - *done);
        int rc = cloche__vfs_file_write(n, off + *done, src, len);
        if (rc)
            return cloche__wasi_errno(rc);
        *done += len;
    }
    return 0;
}

int32_t cloche__wasi_fd_read(cloche__wasi *w, cloche__mem m, uint32_t fd,
                             uint32_t iovs, uint32_t iovs_len,
                             uint32_t nread_out)
{
    cloche__wasi_fd *f;
    cloche__abi_iovs v;
    uint64_t n = 0;
    int32_t e = io_prologue(&f, &v, w, m, fd, iovs, iovs_len, nread_out);
    if (e)
        return e;
    if (f->kind != CLOCHE__FD_STDIN) { /* stdin: always at end of file */
        e = cloche__wasi_fd_file(&f, w, fd, CLOCHE__WASI_R_FD_READ,
                                 CLOCHE__WASI_EBADF, CLOCHE__WASI_EISDIR);
        if (e == 0 && (e = file_read(f->node, f->pos, &v, &n)) == 0)
            f->pos += n;
    }
    return e ? e : cloche__abi_store_u32(m, nread_out, (uint32_t)n);
}

int32_t cloche__wasi_fd_pread(cloche__wasi *w, cloche__mem m, uint32_t fd,
                              uint32_t iovs, uint32_t iovs_len,
                              uint64_t offset, uint32_t nread_out)
{
    cloche__wasi_fd *f;
    cloche__abi_iovs v;
    uint64_t n = 0;
    int32_t e = io_prologue(&f, &v, w, m, fd, iovs, iovs_len, nread_out);
    if (e == 0)
        e = cloche__wasi_fd_file(&f, w, fd, CLOCHE__WASI_R_FD_READ,
                                 CLOCHE__WASI_ESPIPE, CLOCHE__WASI_EISDIR);
    if (e == 0 && offset > (uint64_t)INT64_MAX)
        e = CLOCHE__WASI_EINVAL;
    if (e == 0)
        e = file_read(f->node, offset, &v, &n);
    return e ? e : cloche__abi_store_u32(m, nread_out, (uint32_t)n);
}

int32_t cloche__wasi_fd_write(cloche__wasi *w, cloche__mem m, uint32_t fd,
                              uint32_t iovs, uint32_t iovs_len,
                              uint32_t nwritten_out)
{
    cloche__wasi_fd *f;
    cloche__abi_iovs v;
    uint64_t n = 0;
    int32_t e = io_prologue(&f, &v, w, m, fd, iovs, iovs_len, nwritten_out);
    if (e)
        return e;
    if (f->kind == CLOCHE__FD_STDOUT || f->kind == CLOCHE__FD_STDERR) {
        e = cloche__wasi_stdio_write(w, f, &v, &n);
    } else {
        e = cloche__wasi_fd_file(&f, w, fd, CLOCHE__WASI_R_FD_WRITE,
                                 CLOCHE__WASI_EBADF, CLOCHE__WASI_EBADF);
        if (e == 0 && (f->flags & CLOCHE__WASI_FDFLAG_APPEND))
            e = cloche__wasi_errno(cloche__vfs_file_getsize(&f->pos, f->node));
        if (e == 0 && (e = file_write(f->node, f->pos, &v, &n)) == 0)
            f->pos += n;
    }
    return e ? e : cloche__abi_store_u32(m, nwritten_out, (uint32_t)n);
}

int32_t cloche__wasi_fd_pwrite(cloche__wasi *w, cloche__mem m, uint32_t fd,
                               uint32_t iovs, uint32_t iovs_len,
                               uint64_t offset, uint32_t nwritten_out)
{
    cloche__wasi_fd *f;
    cloche__abi_iovs v;
    uint64_t n = 0;
    int32_t e = io_prologue(&f, &v, w, m, fd, iovs, iovs_len, nwritten_out);
    if (e == 0)
        e = cloche__wasi_fd_file(&f, w, fd, CLOCHE__WASI_R_FD_WRITE,
                                 CLOCHE__WASI_ESPIPE, CLOCHE__WASI_EBADF);
    if (e == 0 && offset > (uint64_t)INT64_MAX)
        e = CLOCHE__WASI_EINVAL;
    if (e == 0)
        e = file_write(f->node, offset, &v, &n);
    return e ? e : cloche__abi_store_u32(m, nwritten_out, (uint32_t)n);
}

/* ---- seek -------------------------------------------------------------- */

int32_t cloche__wasi_fd_seek(cloche__wasi *w, cloche__mem m, uint32_t fd,
                             int64_t offset, uint8_t whence,
                             uint32_t newoffset_out)
{
    cloche__wasi_fd *f;
    if (!cloche__wasi_fd_get(w, fd))
        return CLOCHE__WASI_EBADF;
    if (cloche__abi_check(m, newoffset_out, 8))
        return CLOCHE__WASI_EFAULT;
    int32_t e = cloche__wasi_fd_file(&f, w, fd, 0, CLOCHE__WASI_ESPIPE,
                                     CLOCHE__WASI_EBADF);
    if (e)
        return e;
    uint64_t base = 0; /* always <= INT64_MAX: positions and sizes are */
    switch (whence) {
    case CLOCHE__WASI_WHENCE_SET: break;
    case CLOCHE__WASI_WHENCE_CUR: base = f->pos; break;
    case CLOCHE__WASI_WHENCE_END:
        e = cloche__wasi_errno(cloche__vfs_file_getsize(&base, f->node));
        if (e)
            return e;
        break;
    default: return CLOCHE__WASI_EINVAL;
    }
    if (offset < 0 && (uint64_t)-(offset + 1) + 1 > base)
        return CLOCHE__WASI_EINVAL; /* before the start of the file */
    if (offset > 0 && (uint64_t)offset > (uint64_t)INT64_MAX - base)
        return CLOCHE__WASI_EOVERFLOW;
    uint64_t pos = offset < 0 ? base - ((uint64_t)-(offset + 1) + 1)
                              : base + (uint64_t)offset;
    f->pos = pos;
    return cloche__abi_store_u64(m, newoffset_out, pos);
}

int32_t cloche__wasi_fd_tell(cloche__wasi *w, cloche__mem m, uint32_t fd,
                             uint32_t offset_out)
{
    cloche__wasi_fd *f;
    if (!cloche__wasi_fd_get(w, fd))
        return CLOCHE__WASI_EBADF;
    if (cloche__abi_check(m, offset_out, 8))
        return CLOCHE__WASI_EFAULT;
    int32_t e = cloche__wasi_fd_file(&f, w, fd, 0, CLOCHE__WASI_ESPIPE,
                                     CLOCHE__WASI_EBADF);
    return e ? e : cloche__abi_store_u64(m, offset_out, f->pos);
}

/* ---- readdir ----------------------------------------------------------- */

/* Copy what fits of (src, len) to buf + *used, bounded by buf_len. */
static void put_clipped(cloche__mem m, uint32_t buf, uint32_t buf_len,
                        uint32_t *used, const void *src, size_t len)
{
    uint32_t room = buf_len - *used;
    uint32_t k = len < room ? (uint32_t)len : room;
    cloche__abi_store_bytes(m, buf + *used, src, k); /* range checked */
    *used += k;
}

int32_t cloche__wasi_fd_readdir(cloche__wasi *w, cloche__mem m, uint32_t fd,
                                uint32_t buf, uint32_t buf_len,
                                uint64_t cookie, uint32_t bufused_out)
{
    cloche__wasi_fd *f = cloche__wasi_fd_get(w, fd);
    if (!f)
        return CLOCHE__WASI_EBADF;
    if (cloche__abi_check(m, buf, buf_len) ||
        cloche__abi_check(m, bufused_out, 4))
        return CLOCHE__WASI_EFAULT;
    if (f->kind != CLOCHE__FD_DIR)
        return CLOCHE__WASI_ENOTDIR;
    /* Each entry adds at least one byte, so the loop ends; the last entry
     * is cut at buf_len as the spec asks (bufused == buf_len then). */
    uint32_t used = 0;
    cloche__vfs_dirent d;
    int more;
    while (used < buf_len &&
           (more = cloche__vfs_dir_read(&d, f->node, cookie)) != 0) {
        if (more < 0) /* a host directory that cannot be read */
            return cloche__wasi_errno(more);
        uint8_t hdr[CLOCHE__WASI_DIRENT_SIZE];
        cloche__abi_dirent_header(hdr, d.next, d.ino, (uint32_t)d.name_len,
                                  cloche__wasi_filetype(d.type));
        put_clipped(m, buf, buf_len, &used, hdr, sizeof(hdr));
        put_clipped(m, buf, buf_len, &used, d.name, d.name_len);
        cookie = d.next;
    }
    return cloche__abi_store_u32(m, bufused_out, used);
}

/* ---- size -------------------------------------------------------------- */

int32_t cloche__wasi_fd_allocate(cloche__wasi *w, cloche__mem m, uint32_t fd,
                                 uint64_t offset, uint64_t len)
{
    cloche__wasi_fd *f;
    (void)m;
    int32_t e = cloche__wasi_fd_file(&f, w, fd, CLOCHE__WASI_R_FD_WRITE,
                                     CLOCHE__WASI_ESPIPE, CLOCHE__WASI_EBADF);
    if (e)
        return e;
    if (len == 0)
        return CLOCHE__WASI_EINVAL;
    if (offset > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX - offset)
        return CLOCHE__WASI_EFBIG;
    uint64_t size;
    if ((e = cloche__wasi_errno(cloche__vfs_file_getsize(&size, f->node))))
        return e;
    if (offset + len <= size)
        return 0;
    return cloche__wasi_errno(cloche__vfs_file_resize(f->node, offset + len));
}

int32_t cloche__wasi_fd_filestat_set_size(cloche__wasi *w, cloche__mem m,
                                          uint32_t fd, uint64_t size)
{
    cloche__wasi_fd *f;
    (void)m;
    int32_t e = cloche__wasi_fd_file(&f, w, fd, CLOCHE__WASI_R_FD_WRITE,
                                     CLOCHE__WASI_EINVAL, CLOCHE__WASI_EISDIR);
    if (e)
        return e;
    if (size > (uint64_t)INT64_MAX)
        return CLOCHE__WASI_EFBIG;
    return cloche__wasi_errno(cloche__vfs_file_resize(f->node, size));
}
