/*
 * wasi.c - the WASI context: creation, traps, captured output, fd table.
 *
 * Owns the context and its fd table. Invariants:
 *   - fds[0..2] start as stdin/stdout/stderr, fds[3] as the preopened VFS
 *     root (when there is one); new fds take the lowest free slot >= 4;
 *     the table never exceeds CLOCHE__WASI_MAX_FDS slots;
 *   - every FILE or DIR slot holds exactly one reference on its node;
 *   - at most one trap is pending; the first one set wins until taken.
 * It never touches guest memory (wasi_abi.c does) and never aborts.
 */
#include "wasi/wasi_int.h"

#include <string.h>

#include "vfs/vfs_alloc.h"

#define FIRST_FREE_FD 4u

/* ---- errors ------------------------------------------------------------ */

int32_t cloche__wasi_errno(int status)
{
    switch (status) {
    case 0: return CLOCHE__WASI_ESUCCESS;
    case CLOCHE__EPERM: return CLOCHE__WASI_EPERM;
    case CLOCHE__ENOENT: return CLOCHE__WASI_ENOENT;
    case CLOCHE__EBADF: return CLOCHE__WASI_EBADF;
    case CLOCHE__ENOMEM: return CLOCHE__WASI_ENOMEM;
    case CLOCHE__EACCES: return CLOCHE__WASI_EACCES;
    case CLOCHE__EBUSY: return CLOCHE__WASI_EBUSY;
    case CLOCHE__EEXIST: return CLOCHE__WASI_EEXIST;
    case CLOCHE__EXDEV: return CLOCHE__WASI_EXDEV;
    case CLOCHE__ENOTDIR: return CLOCHE__WASI_ENOTDIR;
    case CLOCHE__EISDIR: return CLOCHE__WASI_EISDIR;
    case CLOCHE__EINVAL: return CLOCHE__WASI_EINVAL;
    case CLOCHE__EMFILE: return CLOCHE__WASI_EMFILE;
    case CLOCHE__EFBIG: return CLOCHE__WASI_EFBIG;
    case CLOCHE__ENOSPC: return CLOCHE__WASI_ENOSPC;
    case CLOCHE__EROFS: return CLOCHE__WASI_EROFS;
    case CLOCHE__ENAMETOOLONG: return CLOCHE__WASI_ENAMETOOLONG;
    case CLOCHE__ENOTEMPTY: return CLOCHE__WASI_ENOTEMPTY;
    case CLOCHE__ELOOP: return CLOCHE__WASI_ELOOP;
    case CLOCHE__EOVERFLOW: return CLOCHE__WASI_EOVERFLOW;
    case CLOCHE__ENOTSUP: return CLOCHE__WASI_ENOTSUP;
    case CLOCHE__EDQUOT: return CLOCHE__WASI_EDQUOT;
    default: return CLOCHE__WASI_EIO;
    }
}

/* ---- lifecycle --------------------------------------------------------- */

static uint64_t vfs_clock(void *ud)
{
    return cloche__wasi_realtime(ud);
}

static int init_fds(cloche__wasi *w, cloche__vfs *root)
{
    w->fds_cap = 8;
    w->fds = cloche__calloc(w->fds_cap, sizeof(*w->fds));
    if (!w->fds)
        return CLOCHE__ENOMEM;
    w->fds[0] = (cloche__wasi_fd){.kind = CLOCHE__FD_STDIN,
                                  .rights = CLOCHE__WASI_RIGHTS_STDIN};
    w->fds[1] = (cloche__wasi_fd){.kind = CLOCHE__FD_STDOUT,
                                  .rights = CLOCHE__WASI_RIGHTS_STDOUT};
    w->fds[2] = (cloche__wasi_fd){.kind = CLOCHE__FD_STDERR,
                                  .rights = CLOCHE__WASI_RIGHTS_STDOUT};
    w->nfds = 3;
    if (root) {
        cloche__vfs_node *n = cloche__vfs_root(root);
        cloche__vfs_node_ref(n);
        w->fds[3] = (cloche__wasi_fd){.kind = CLOCHE__FD_DIR,
                                      .preopen = 1,
                                      .rights = CLOCHE__WASI_RIGHTS_DIR,
                                      .rights_inheriting =
                                          CLOCHE__WASI_RIGHTS_ALL,
                                      .node = n};
    }
    w->nfds = 4; /* slot 3 stays FREE without a root: fd 3 is never reused */
    return 0;
}

int cloche__wasi_new(cloche__wasi **out, const cloche__wasi_config *cfg)
{
    *out = NULL;
    cloche__wasi *w = cloche__calloc(1, sizeof(*w));
    if (!w)
        return CLOCHE__ENOMEM;
    int rc = cloche__wasi_strings_init(&w->args, cfg->argv, cfg->argc, 0);
    if (rc == 0)
        rc = cloche__wasi_strings_init(&w->env, cfg->env, cfg->envc, 1);
    if (rc == 0)
        rc = init_fds(w, cfg->root);
    if (rc) {
        cloche__wasi_free(w);
        return rc;
    }
    w->out[0].limit = cfg->stdout_cap;
    w->out[1].limit = cfg->stderr_cap;
    w->fixed_clock_ns = cfg->fixed_clock_ns;
    w->hook_ud = cfg->hook_ud;
    w->sleep_ns = cfg->sleep_ns;
    w->now_ns = cfg->now_ns;
    w->on_output = cfg->on_output;
    w->start_ns = w->now_ns ? w->now_ns(w->hook_ud)
                            : cloche__wasi_host_monotonic();
    w->vfs = cfg->root;
    if (w->vfs)
        cloche__vfs_set_clock(w->vfs, vfs_clock, w);
    *out = w;
    return 0;
}

void cloche__wasi_free(cloche__wasi *w)
{
    if (!w)
        return;
    for (uint32_t i = 0; i < w->nfds; i++)
        cloche__wasi_fd_release(&w->fds[i]);
    cloche__dealloc(w->fds);
    if (w->vfs && cloche__vfs_clock_ud(w->vfs) == w)
        cloche__vfs_set_clock(w->vfs, NULL, NULL);
    cloche__wasi_capture_free(&w->out[0]);
    cloche__wasi_capture_free(&w->out[1]);
    cloche__wasi_strings_free(&w->args);
    cloche__wasi_strings_free(&w->env);
    cloche__dealloc(w);
}

void cloche__wasi_set_output_caps(cloche__wasi *w, size_t stdout_cap,
                                  size_t stderr_cap)
{
    w->out[0].limit = stdout_cap;
    w->out[1].limit = stderr_cap;
}

int cloche__wasi_output_tripped(const cloche__wasi *w)
{
    return w->output_tripped;
}

void cloche__wasi_reset_output(cloche__wasi *w)
{
    w->output_tripped = 0;
    for (int i = 0; i < 2; i++) {
        size_t limit = w->out[i].limit;
        cloche__wasi_capture_free(&w->out[i]);
        w->out[i].limit = limit;
    }
}

const uint8_t *cloche__wasi_output(const cloche__wasi *w, int fd, size_t *len)
{
    static const uint8_t empty[1];
    *len = 0;
    if (fd != 1 && fd != 2)
        return NULL;
    const cloche__wasi_capture *c = &w->out[fd - 1];
    *len = c->len;
    return c->data ? c->data : empty;
}

void cloche__wasi_set_trap(cloche__wasi *w, int trap, uint32_t code)
{
    if (w->trap != CLOCHE__WASI_TRAP_NONE)
        return;
    w->trap = trap;
    w->exit_code = code;
}

int cloche__wasi_take_trap(cloche__wasi *w, uint32_t *exit_code)
{
    int trap = w->trap;
    if (exit_code)
        *exit_code = trap == CLOCHE__WASI_TRAP_EXIT ? w->exit_code : 0;
    w->trap = CLOCHE__WASI_TRAP_NONE;
    w->exit_code = 0;
    return trap;
}

/* ---- fd table ---------------------------------------------------------- */

cloche__wasi_fd *cloche__wasi_fd_get(cloche__wasi *w, uint32_t fd)
{
    if (fd >= w->nfds || w->fds[fd].kind == CLOCHE__FD_FREE)
        return NULL;
    return &w->fds[fd];
}

int32_t cloche__wasi_fd_file(cloche__wasi_fd **out, cloche__wasi *w,
                             uint32_t fd, uint64_t need, int32_t if_stdio,
                             int32_t if_dir)
{
    cloche__wasi_fd *f = cloche__wasi_fd_get(w, fd);
    *out = NULL;
    if (!f)
        return CLOCHE__WASI_EBADF;
    if (f->kind == CLOCHE__FD_DIR)
        return if_dir;
    if (f->kind != CLOCHE__FD_FILE)
        return if_stdio;
    if ((f->rights & need) != need)
        return CLOCHE__WASI_EBADF;
    *out = f;
    return 0;
}

int32_t cloche__wasi_fd_alloc(cloche__wasi *w, uint32_t *fd)
{
    for (uint32_t i = FIRST_FREE_FD; i < w->nfds; i++) {
        if (w->fds[i].kind == CLOCHE__FD_FREE) {
            *fd = i;
            return 0;
        }
    }
    if (w->nfds >= CLOCHE__WASI_MAX_FDS)
        return CLOCHE__WASI_EMFILE;
    if (w->nfds == w->fds_cap) {
        uint32_t cap = w->fds_cap * 2;
        if (cap > CLOCHE__WASI_MAX_FDS)
            cap = CLOCHE__WASI_MAX_FDS;
        cloche__wasi_fd *f = cloche__realloc(w->fds, cap * sizeof(*f));
        if (!f)
            return CLOCHE__WASI_ENOMEM;
        w->fds = f;
        w->fds_cap = cap;
    }
    *fd = w->nfds;
    w->fds[w->nfds++] = (cloche__wasi_fd){0};
    return 0;
}

void cloche__wasi_fd_release(cloche__wasi_fd *f)
{
    if (f->node)
        cloche__vfs_node_unref(f->node);
    *f = (cloche__wasi_fd){0};
}

uint8_t cloche__wasi_filetype(int vfs_type)
{
    switch (vfs_type) {
    case CLOCHE__VFS_DIR: return CLOCHE__WASI_FILETYPE_DIRECTORY;
    case CLOCHE__VFS_FILE: return CLOCHE__WASI_FILETYPE_REGULAR_FILE;
    case CLOCHE__VFS_SYMLINK: return CLOCHE__WASI_FILETYPE_SYMBOLIC_LINK;
    default: return CLOCHE__WASI_FILETYPE_UNKNOWN; /* FIFO, socket, device */
    }
}

/* The standard streams are captured buffers, not terminals: they report
 * UNKNOWN so that isatty() is false and nothing tries to seek them. */
uint8_t cloche__wasi_fd_filetype(const cloche__wasi_fd *f)
{
    if (f->node)
        return cloche__wasi_filetype(cloche__vfs_node_type(f->node));
    return CLOCHE__WASI_FILETYPE_UNKNOWN;
}
