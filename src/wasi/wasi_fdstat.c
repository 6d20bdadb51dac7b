/*
 * wasi_fdstat.c - fd bookkeeping calls: fd_close, fd_renumber, fd_advise,
 * fd_datasync, fd_sync, fd_fdstat_get, fd_fdstat_set_flags,
 * fd_fdstat_set_rights, fd_filestat_get, fd_filestat_set_times,
 * fd_prestat_get, fd_prestat_dir_name.
 *
 * Check order as in wasi_fd.c: EBADF, then guest pointers (EFAULT), then
 * argument values (EINVAL), then meaning. Rights can only shrink; flags are
 * stored (APPEND is honoured by fd_write; the sync flags and NONBLOCK have
 * no effect on in-memory files). Only fds that were preopened answer
 * fd_prestat_get, so wasi-libc's preopen scan stops at the first other fd.
 */
#include "wasi/wasi_int.h"

/* The name the preopened root is reported under. */
static const char preopen_name[] = "/";
#define PREOPEN_NAME_LEN ((uint32_t)(sizeof(preopen_name) - 1))

int32_t cloche__wasi_fd_close(cloche__wasi *w, cloche__mem m, uint32_t fd)
{
    cloche__wasi_fd *f = cloche__wasi_fd_get(w, fd);
    (void)m;
    if (!f)
        return CLOCHE__WASI_EBADF;
    cloche__wasi_fd_release(f);
    return 0;
}

int32_t cloche__wasi_fd_renumber(cloche__wasi *w, cloche__mem m, uint32_t fd,
                                 uint32_t to)
{
    cloche__wasi_fd *from = cloche__wasi_fd_get(w, fd);
    cloche__wasi_fd *dst = cloche__wasi_fd_get(w, to);
    (void)m;
    if (!from || !dst)
        return CLOCHE__WASI_EBADF;
    if (from == dst)
        return 0;
    cloche__wasi_fd_release(dst);
    *dst = *from;
    *from = (cloche__wasi_fd){0}; /* the node reference moved to dst */
    return 0;
}

int32_t cloche__wasi_fd_advise(cloche__wasi *w, cloche__mem m, uint32_t fd,
                               uint64_t offset, uint64_t len, uint32_t advice)
{
    cloche__wasi_fd *f = cloche__wasi_fd_get(w, fd);
    (void)m;
    if (!f)
        return CLOCHE__WASI_EBADF;
    if (advice > CLOCHE__WASI_ADVICE_MAX || len > UINT64_MAX - offset)
        return CLOCHE__WASI_EINVAL;
    if (f->kind != CLOCHE__FD_FILE && f->kind != CLOCHE__FD_DIR)
        return CLOCHE__WASI_ESPIPE;
    return 0; /* advice means nothing for memory-backed files */
}

/* Memory files have nothing to flush; host files are synced. */
static int32_t sync_fd(cloche__wasi *w, uint32_t fd, int data_only)
{
    cloche__wasi_fd *f = cloche__wasi_fd_get(w, fd);
    if (!f)
        return CLOCHE__WASI_EBADF;
    if (f->kind != CLOCHE__FD_FILE)
        return 0;
    return cloche__wasi_errno(cloche__vfs_node_sync(f->node, data_only));
}

int32_t cloche__wasi_fd_datasync(cloche__wasi *w, cloche__mem m, uint32_t fd)
{
    (void)m;
    return sync_fd(w, fd, 1);
}

int32_t cloche__wasi_fd_sync(cloche__wasi *w, cloche__mem m, uint32_t fd)
{
    (void)m;
    return sync_fd(w, fd, 0);
}

int32_t cloche__wasi_fd_fdstat_get(cloche__wasi *w, cloche__mem m,
                                   uint32_t fd, uint32_t stat_out)
{
    cloche__wasi_fd *f = cloche__wasi_fd_get(w, fd);
    if (!f)
        return CLOCHE__WASI_EBADF;
    cloche__abi_fdstat s = {cloche__wasi_fd_filetype(f), f->flags, f->rights,
                            f->rights_inheriting};
    return cloche__abi_store_fdstat(m, stat_out, &s);
}

int32_t cloche__wasi_fd_fdstat_set_flags(cloche__wasi *w, cloche__mem m,
                                         uint32_t fd, uint32_t flags)
{
    cloche__wasi_fd *f = cloche__wasi_fd_get(w, fd);
    (void)m;
    if (!f)
        return CLOCHE__WASI_EBADF;
    if (flags & ~CLOCHE__WASI_FDFLAGS_ALL)
        return CLOCHE__WASI_EINVAL;
    f->flags = (uint16_t)flags;
    return 0;
}

int32_t cloche__wasi_fd_fdstat_set_rights(cloche__wasi *w, cloche__mem m,
                                          uint32_t fd, uint64_t base,
                                          uint64_t inheriting)
{
    cloche__wasi_fd *f = cloche__wasi_fd_get(w, fd);
    (void)m;
    if (!f)
        return CLOCHE__WASI_EBADF;
    if ((base & ~f->rights) || (inheriting & ~f->rights_inheriting))
        return CLOCHE__WASI_ENOTCAPABLE;
    f->rights = base;
    f->rights_inheriting = inheriting;
    return 0;
}

int32_t cloche__wasi_node_filestat(cloche__abi_filestat *out,
                                   const cloche__vfs_node *n)
{
    cloche__vfs_stat st;
    int rc = cloche__vfs_node_getstat(&st, n);
    if (rc)
        return cloche__wasi_errno(rc);
    *out = (cloche__abi_filestat){st.dev,  st.ino,
                                  cloche__wasi_filetype(st.type),
                                  st.nlink, st.size,
                                  st.atim,  st.mtim,
                                  st.ctim};
    return 0;
}

int32_t cloche__wasi_fd_filestat_get(cloche__wasi *w, cloche__mem m,
                                     uint32_t fd, uint32_t stat_out)
{
    cloche__wasi_fd *f = cloche__wasi_fd_get(w, fd);
    cloche__abi_filestat s = {0};
    if (!f)
        return CLOCHE__WASI_EBADF;
    if (cloche__abi_check(m, stat_out, CLOCHE__WASI_FILESTAT_SIZE))
        return CLOCHE__WASI_EFAULT;
    int32_t e = 0;
    if (f->node)
        e = cloche__wasi_node_filestat(&s, f->node);
    else
        s.nlink = 1; /* a standard stream: no inode, no times */
    return e ? e : cloche__abi_store_filestat(m, stat_out, &s);
}

int32_t cloche__wasi_set_times(cloche__wasi *w, cloche__vfs_node *n,
                               uint64_t atim, uint64_t mtim, uint32_t fst)
{
    if ((fst & ~CLOCHE__WASI_FST_ALL) ||
        ((fst & CLOCHE__WASI_FST_ATIM) && (fst & CLOCHE__WASI_FST_ATIM_NOW)) ||
        ((fst & CLOCHE__WASI_FST_MTIM) && (fst & CLOCHE__WASI_FST_MTIM_NOW)))
        return CLOCHE__WASI_EINVAL;
    if (!n)
        return 0; /* standard streams have no times to set */
    uint64_t now = cloche__wasi_realtime(w);
    unsigned mask = 0;
    if (fst & CLOCHE__WASI_FST_ATIM_NOW)
        atim = now;
    if (fst & CLOCHE__WASI_FST_MTIM_NOW)
        mtim = now;
    if (fst & (CLOCHE__WASI_FST_ATIM | CLOCHE__WASI_FST_ATIM_NOW))
        mask |= CLOCHE__VFS_SET_ATIM;
    if (fst & (CLOCHE__WASI_FST_MTIM | CLOCHE__WASI_FST_MTIM_NOW))
        mask |= CLOCHE__VFS_SET_MTIM;
    return cloche__wasi_errno(cloche__vfs_set_times(n, atim, mtim, mask, 1));
}

int32_t cloche__wasi_fd_filestat_set_times(cloche__wasi *w, cloche__mem m,
                                           uint32_t fd, uint64_t atim,
                                           uint64_t mtim, uint32_t fst_flags)
{
    cloche__wasi_fd *f = cloche__wasi_fd_get(w, fd);
    (void)m;
    if (!f)
        return CLOCHE__WASI_EBADF;
    return cloche__wasi_set_times(w, f->node, atim, mtim, fst_flags);
}

int32_t cloche__wasi_fd_prestat_get(cloche__wasi *w, cloche__mem m,
                                    uint32_t fd, uint32_t prestat_out)
{
    cloche__wasi_fd *f = cloche__wasi_fd_get(w, fd);
    if (!f || !f->preopen)
        return CLOCHE__WASI_EBADF;
    return cloche__abi_store_prestat_dir(m, prestat_out, PREOPEN_NAME_LEN);
}

int32_t cloche__wasi_fd_prestat_dir_name(cloche__wasi *w, cloche__mem m,
                                         uint32_t fd, uint32_t path,
                                         uint32_t path_len)
{
    cloche__wasi_fd *f = cloche__wasi_fd_get(w, fd);
    if (!f || !f->preopen)
        return CLOCHE__WASI_EBADF;
    if (cloche__abi_check(m, path, path_len))
        return CLOCHE__WASI_EFAULT;
    if (path_len < PREOPEN_NAME_LEN)
        return CLOCHE__WASI_ENAMETOOLONG;
    /* Exactly the name's bytes, no NUL (wasi-libc adds its own). */
    return cloche__abi_store_bytes(m, path, preopen_name, PREOPEN_NAME_LEN);
}
