/*
 * wasi_int.h - the WASI context and the helpers shared by src/wasi files.
 * Nothing outside src/wasi includes this file.
 */
#ifndef CLOCHE_WASI_INT_H
#define CLOCHE_WASI_INT_H

#include "wasi/wasi.h"
#include "wasi/wasi_abi.h"

/* What an fd slot holds. */
enum {
    CLOCHE__FD_FREE = 0,
    CLOCHE__FD_STDIN,
    CLOCHE__FD_STDOUT,
    CLOCHE__FD_STDERR,
    CLOCHE__FD_FILE,
    CLOCHE__FD_DIR
};

typedef struct cloche__wasi_fd {
    uint8_t kind;    /* CLOCHE__FD_... */
    uint8_t preopen; /* nonzero: reported by fd_prestat_get as "/" */
    uint16_t flags;  /* fdflags */
    uint64_t rights, rights_inheriting;
    uint64_t pos;           /* file offset (files only) */
    cloche__vfs_node *node; /* one reference (files and directories) */
} cloche__wasi_fd;

/* A capture buffer with a hard cap. */
typedef struct cloche__wasi_capture {
    uint8_t *data;
    size_t len, cap, limit;
} cloche__wasi_capture;

/* argv or environ: the strings back to back, each NUL-terminated. */
typedef struct cloche__wasi_strings {
    char *blob;
    uint32_t blob_len;
    uint32_t count;
} cloche__wasi_strings;

struct cloche__wasi {
    cloche__vfs *vfs;
    cloche__wasi_fd *fds; /* fds[0 .. nfds) */
    uint32_t nfds, fds_cap;
    cloche__wasi_capture out[2]; /* fd 1, fd 2 */
    cloche__wasi_strings args, env;
    uint64_t fixed_clock_ns;
    uint64_t start_ns; /* now_ns at creation (or restore) */
    uint64_t mono_base; /* monotonic time at start_ns (a restored clock) */
    void *hook_ud;
    int (*sleep_ns)(void *ud, uint64_t ns);
    uint64_t (*now_ns)(void *ud);
    void (*on_output)(void *ud, int fd, const uint8_t *data, size_t len);
    int trap;
    uint32_t exit_code;
    int output_tripped; /* 0, 1 or 2: first stream over its cap */
};

/* ---- wasi.c: context, fd table, errors --------------------------------- */

/* Map an internal CLOCHE__E... status (vfs_errors.h) to a WASI errno. */
int32_t cloche__wasi_errno(int status);
/* Record a trap unless one is already pending. */
void cloche__wasi_set_trap(cloche__wasi *w, int trap, uint32_t code);
/* The slot of an open fd, or NULL. */
cloche__wasi_fd *cloche__wasi_fd_get(cloche__wasi *w, uint32_t fd);
/* The fd as an open regular file with the rights in `need` (EBADF when
 * missing). For the standard streams return if_stdio, for directories
 * if_dir: what each call reports for them differs (ESPIPE, EISDIR...). */
int32_t cloche__wasi_fd_file(cloche__wasi_fd **out, cloche__wasi *w,
                             uint32_t fd, uint64_t need, int32_t if_stdio,
                             int32_t if_dir);
/* Reserve the lowest free fd >= 4 (EMFILE, ENOMEM); the slot is FREE and
 * the caller fills it. */
int32_t cloche__wasi_fd_alloc(cloche__wasi *w, uint32_t *fd);
/* Drop what a slot holds and mark it FREE. */
void cloche__wasi_fd_release(cloche__wasi_fd *f);
/* WASI filetype of an fd slot. */
uint8_t cloche__wasi_fd_filetype(const cloche__wasi_fd *f);
/* WASI filetype of a VFS node type. */
uint8_t cloche__wasi_filetype(int vfs_type);

/* ---- wasi_fdstat.c ----------------------------------------------------- */

/* filestat of a node (a host object may fail: the WASI errno). */
int32_t cloche__wasi_node_filestat(cloche__abi_filestat *out,
                                   const cloche__vfs_node *n);
/* fd/path_filestat_set_times on node n (NULL: a stream, no-op). */
int32_t cloche__wasi_set_times(cloche__wasi *w, cloche__vfs_node *n,
                               uint64_t atim, uint64_t mtim, uint32_t fst);

/* ---- wasi_stdio.c ------------------------------------------------------ */

/* Append to the capture of fd 1 or 2, trap when the cap is reached. */
int32_t cloche__wasi_stdio_write(cloche__wasi *w, cloche__wasi_fd *f,
                                 const cloche__abi_iovs *v, uint64_t *n);
void cloche__wasi_capture_free(cloche__wasi_capture *c);
/* Bytes a capture can still take (0 when a lowered cap is below len). */
size_t cloche__wasi_capture_room(const cloche__wasi_capture *c);

/* ---- wasi_clock.c ------------------------------------------------------ */

/* ns since the context was created. */
uint64_t cloche__wasi_monotonic(const cloche__wasi *w);
/* ns since the Unix epoch, per the fixed_clock_ns policy. */
uint64_t cloche__wasi_realtime(const cloche__wasi *w);
/* Time of a WASI clock (EINVAL for an unknown id). */
int32_t cloche__wasi_clock_now(const cloche__wasi *w, uint32_t id,
                               uint64_t *out);
/* The host's monotonic clock (ns). */
uint64_t cloche__wasi_host_monotonic(void);

/* ---- wasi_args.c ------------------------------------------------------- */

int cloche__wasi_strings_init(cloche__wasi_strings *s, const char *const *v,
                              size_t n, int need_eq);
void cloche__wasi_strings_free(cloche__wasi_strings *s);

#endif
