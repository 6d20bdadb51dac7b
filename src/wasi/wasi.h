/*
 * wasi.h - cloche's own WASI preview1 (wasi_snapshot_preview1), engine-free.
 *
 * This is the only door between the guest and the host. Each import of the
 * guest module is one function below; the engine glue (src/engine*) calls
 * it with a freshly fetched view of linear memory and then asks
 * cloche__wasi_take_trap() whether the guest must stop.
 *
 * How the glue calls an import
 * ----------------------------
 * The simplest way is generic: register every entry of cloche__wasi_imports
 * (module CLOCHE__WASI_MODULE, name, params, results) with one host callback
 * that carries the entry's index, and in that callback:
 *
 *     uint64_t a[CLOCHE__WASI_MAX_PARAMS];
 *     for each param i: a[i] = param is i32 ? (uint32_t)val.i32
 *                                           : (uint64_t)val.i64;
 *     cloche__mem m = { memory base, memory size in bytes };  // refetch now
 *     int32_t r = cloche__wasi_dispatch(w, m, index, a);
 *     if results is "i": return r as the i32 result
 *     uint32_t code;
 *     switch (cloche__wasi_take_trap(w, &code)) { ... stop the guest ... }
 *
 * proc_exit has no result ("" in the table): the glue ignores r and the
 * EXIT trap tells it to stop. Every errno is a WASI errno (wasi_types.h),
 * never a host errno.
 *
 * Ownership: the context copies argv/env at creation and borrows the VFS,
 * which must outlive it. Captured output is owned by the context.
 * Threads: a context is used by one thread at a time; the hooks are called
 * on that thread.
 */
#ifndef CLOCHE_WASI_H
#define CLOCHE_WASI_H

#include <stddef.h>
#include <stdint.h>

#include "vfs/vfs.h"
#include "wasi/wasi_types.h"

/** Guest linear memory view, refetched by the caller before every call. */
typedef struct cloche__mem {
    uint8_t *base;
    uint64_t size;
} cloche__mem;

typedef struct cloche__wasi cloche__wasi;

typedef struct cloche__wasi_config {
    const char *const *argv; /* copied */
    size_t argc;
    const char *const *env; /* "K=V", copied */
    size_t envc;
    size_t stdout_cap, stderr_cap; /* bytes kept; exceeding trips a trap */
    uint64_t fixed_clock_ns; /* 0: host realtime; else realtime = this
                                + monotonic elapsed (reproducible runs) */
    cloche__vfs *root; /* preopen fd 3 named "/" (borrowed); NULL: none */
    /* hooks from the engine glue; any may be NULL */
    void *hook_ud;
    /* block up to ns; 0, or nonzero if interrupted (deadline/cancel).
     * NULL: nanosleep (uninterruptible) */
    int (*sleep_ns)(void *ud, uint64_t ns);
    /* monotonic ns; NULL -> clock_gettime(CLOCK_MONOTONIC) */
    uint64_t (*now_ns)(void *ud);
    /* live streaming of fd 1/2 writes (the bytes kept), may be NULL */
    void (*on_output)(void *ud, int fd, const uint8_t *data, size_t len);
} cloche__wasi_config;

/* Traps reported by cloche__wasi_take_trap. */
enum {
    CLOCHE__WASI_TRAP_NONE = 0,
    CLOCHE__WASI_TRAP_OUTPUT_LIMIT = 1, /* stdout/stderr cap reached */
    CLOCHE__WASI_TRAP_EXIT = 2,         /* proc_exit; code in *exit_code */
    CLOCHE__WASI_TRAP_INTERRUPTED = 3   /* sleep_ns reported interruption */
};

#define CLOCHE__WASI_MODULE "wasi_snapshot_preview1"
#define CLOCHE__WASI_MAX_FDS 1024u      /* fd numbers 0..1023; then EMFILE */
#define CLOCHE__WASI_IOV_MAX 1024u      /* iovs_len above: EINVAL */
#define CLOCHE__WASI_IO_MAX 0x7ffff000u /* bytes moved by one call at most */
#define CLOCHE__WASI_POLL_MAX 4096u     /* nsubscriptions above: EINVAL */
#define CLOCHE__WASI_ARGS_MAX (1u << 20) /* argv (and env) bytes at most */
#define CLOCHE__WASI_MAX_PARAMS 9u

/**
 * Create a context: fds 0-2 are stdin (always EOF), stdout and stderr
 * (captured), fd 3 is cfg->root as preopen "/".
 * When cfg->root is set, the context also becomes the VFS's timestamp clock
 * (realtime per cfg->fixed_clock_ns) until it is freed.
 * @param out receives the context; free with cloche__wasi_free
 * @return 0, CLOCHE__ENOMEM, or CLOCHE__EINVAL (NULL strings, argv/env
 *         larger than CLOCHE__WASI_ARGS_MAX, an env entry without '=')
 */
int cloche__wasi_new(cloche__wasi **out, const cloche__wasi_config *cfg);

/** Close every fd and free the context. NULL is fine. */
void cloche__wasi_free(cloche__wasi *w);

/** Clear the captured stdout/stderr and the tripped stream for a new run
 * (keeps the caps). */
void cloche__wasi_reset_output(cloche__wasi *w);

/**
 * Change the output caps (bytes kept for fd 1 and fd 2). Bytes already
 * captured are kept even when a cap drops below them; later writes to that
 * stream then keep nothing and trip the trap.
 */
void cloche__wasi_set_output_caps(cloche__wasi *w, size_t stdout_cap,
                                  size_t stderr_cap);

/**
 * Which stream tripped the OUTPUT_LIMIT trap since the last
 * cloche__wasi_reset_output: 1 (stdout), 2 (stderr) or 0 (none). Not
 * cleared by cloche__wasi_take_trap, so the glue can ask after taking it.
 */
int cloche__wasi_output_tripped(const cloche__wasi *w);

/**
 * Captured bytes of fd 1 or 2 (borrowed, valid until the next write or
 * reset). Returns NULL with *len = 0 for any other fd.
 */
const uint8_t *cloche__wasi_output(const cloche__wasi *w, int fd,
                                   size_t *len);

/**
 * Return and clear the pending trap (CLOCHE__WASI_TRAP_...). The first trap
 * set since the last call wins. @p exit_code (may be NULL) receives the
 * proc_exit code for CLOCHE__WASI_TRAP_EXIT, 0 otherwise.
 */
/* Put back output a snapshot captured during a PENDING run (fd 1 or 2),
 * before the run resumes. Returns 0, CLOCHE__EINVAL or CLOCHE__ENOMEM. */
int cloche__wasi_prefill_output(cloche__wasi *w, int fd, const uint8_t *data,
                                size_t len);
int cloche__wasi_take_trap(cloche__wasi *w, uint32_t *exit_code);

/* ---- snapshots of the host state (wasi_state.c) ----------------------- */

/**
 * Serialize what a restored sandbox needs from this context and its VFS:
 * the VFS tree (directories, owned file bytes, read-only marks, timestamps,
 * inode numbers, readdir cookies; borrowed read-only files by path and
 * size only; host mounts by guest path and read-only flag only), nodes
 * that open fds hold outside the tree (unlinked while open; objects in
 * host mounts by their path below the mount, never their contents), the
 * fd table (numbers, gaps, kind, node, offset, fdflags, rights, preopen)
 * and the monotonic clock's elapsed time. Not included: argv/env,
 * captured output, pending traps, hooks (they come from the new sandbox).
 * Call only while no guest frame is live. Format: docs/wasi.md.
 * @param out     NULL or a malloc'd block, grown with realloc as needed;
 *                the caller owns it and frees it with free(). Updated even
 *                on failure (the block may have moved).
 * @param out_len bytes already in *out; the blob is appended after them.
 *                Unchanged on failure.
 * @return 0, CLOCHE__ENOMEM, or CLOCHE__EINVAL (context without a VFS)
 */
int cloche__wasi_save(const cloche__wasi *w, uint8_t **out, size_t *out_len);

/**
 * Restore a blob of cloche__wasi_save into a fresh context (no fd above 3
 * open) whose VFS holds the same read-only entries as the saved one (e.g.
 * the same cloche__vfs_add_file_ro calls) and exactly the same mounts
 * (cloche__vfs_mount at the same guest paths, same kind and flag); objects
 * fds held in mounts are opened again by path and must still exist. The VFS's tree is replaced by
 * the blob's, the fd table too, and the monotonic clock continues from the
 * saved elapsed time. The blob is untrusted: every length, count, index,
 * name and size is checked; borrowed files must exist in the VFS at the
 * same path with the same size (none is created from the blob); quotas
 * apply to the loaded tree. On failure nothing changed.
 * @param data borrowed, only read during the call
 * @return 0; CLOCHE__EINVAL (malformed, or not matching the VFS's
 *         read-only entries or mounts or the host objects in them, or a
 *         context without a VFS); CLOCHE__EMFILE; CLOCHE__ENOSPC
 *         (byte quota); CLOCHE__EDQUOT (node quota); CLOCHE__EBUSY (the
 *         context has fds above 3 open); CLOCHE__ENOMEM
 */
int cloche__wasi_load(cloche__wasi *w, const uint8_t *data, size_t len);

/* ---- generic calling ---------------------------------------------------- */

typedef struct cloche__wasi_import {
    const char *name;    /* import name in CLOCHE__WASI_MODULE */
    const char *params;  /* one char per param: 'i' = i32, 'I' = i64 */
    const char *results; /* "i" (errno) or "" (proc_exit) */
} cloche__wasi_import;

/** Every wasi_snapshot_preview1 import, in alphabetical order. */
extern const cloche__wasi_import cloche__wasi_imports[];
extern const size_t cloche__wasi_import_count;

/**
 * Call import @p import_index with raw arguments (i32 zero- or
 * sign-extended: only the low 32 bits are used; i64 as bits).
 * @return the WASI errno; CLOCHE__WASI_ENOSYS for an unknown index; 0 for
 *         proc_exit
 */
int32_t cloche__wasi_dispatch(cloche__wasi *w, cloche__mem m,
                              size_t import_index, const uint64_t *args);

/** Index of the import called @p name, or -1. */
long cloche__wasi_import_index(const char *name);

/* ---- one function per import (WASI argument order, WASI errno) --------- */

int32_t cloche__wasi_args_get(cloche__wasi *w, cloche__mem m, uint32_t argv,
                              uint32_t argv_buf);
int32_t cloche__wasi_args_sizes_get(cloche__wasi *w, cloche__mem m,
                                    uint32_t argc_out, uint32_t size_out);
int32_t cloche__wasi_environ_get(cloche__wasi *w, cloche__mem m,
                                 uint32_t environ, uint32_t environ_buf);
int32_t cloche__wasi_environ_sizes_get(cloche__wasi *w, cloche__mem m,
                                       uint32_t count_out, uint32_t size_out);
int32_t cloche__wasi_clock_res_get(cloche__wasi *w, cloche__mem m,
                                   uint32_t id, uint32_t res_out);
int32_t cloche__wasi_clock_time_get(cloche__wasi *w, cloche__mem m,
                                    uint32_t id, uint64_t precision,
                                    uint32_t time_out);
int32_t cloche__wasi_fd_advise(cloche__wasi *w, cloche__mem m, uint32_t fd,
                               uint64_t offset, uint64_t len, uint32_t advice);
int32_t cloche__wasi_fd_allocate(cloche__wasi *w, cloche__mem m, uint32_t fd,
                                 uint64_t offset, uint64_t len);
int32_t cloche__wasi_fd_close(cloche__wasi *w, cloche__mem m, uint32_t fd);
int32_t cloche__wasi_fd_datasync(cloche__wasi *w, cloche__mem m, uint32_t fd);
int32_t cloche__wasi_fd_fdstat_get(cloche__wasi *w, cloche__mem m,
                                   uint32_t fd, uint32_t stat_out);
int32_t cloche__wasi_fd_fdstat_set_flags(cloche__wasi *w, cloche__mem m,
                                         uint32_t fd, uint32_t flags);
int32_t cloche__wasi_fd_fdstat_set_rights(cloche__wasi *w, cloche__mem m,
                                          uint32_t fd, uint64_t base,
                                          uint64_t inheriting);
int32_t cloche__wasi_fd_filestat_get(cloche__wasi *w, cloche__mem m,
                                     uint32_t fd, uint32_t stat_out);
int32_t cloche__wasi_fd_filestat_set_size(cloche__wasi *w, cloche__mem m,
                                          uint32_t fd, uint64_t size);
int32_t cloche__wasi_fd_filestat_set_times(cloche__wasi *w, cloche__mem m,
                                           uint32_t fd, uint64_t atim,
                                           uint64_t mtim, uint32_t fst_flags);
int32_t cloche__wasi_fd_pread(cloche__wasi *w, cloche__mem m, uint32_t fd,
                              uint32_t iovs, uint32_t iovs_len,
                              uint64_t offset, uint32_t nread_out);
int32_t cloche__wasi_fd_prestat_get(cloche__wasi *w, cloche__mem m,
                                    uint32_t fd, uint32_t prestat_out);
int32_t cloche__wasi_fd_prestat_dir_name(cloche__wasi *w, cloche__mem m,
                                         uint32_t fd, uint32_t path,
                                         uint32_t path_len);
int32_t cloche__wasi_fd_pwrite(cloche__wasi *w, cloche__mem m, uint32_t fd,
                               uint32_t iovs, uint32_t iovs_len,
                               uint64_t offset, uint32_t nwritten_out);
int32_t cloche__wasi_fd_read(cloche__wasi *w, cloche__mem m, uint32_t fd,
                             uint32_t iovs, uint32_t iovs_len,
                             uint32_t nread_out);
int32_t cloche__wasi_fd_readdir(cloche__wasi *w, cloche__mem m, uint32_t fd,
                                uint32_t buf, uint32_t buf_len,
                                uint64_t cookie, uint32_t bufused_out);
int32_t cloche__wasi_fd_renumber(cloche__wasi *w, cloche__mem m, uint32_t fd,
                                 uint32_t to);
int32_t cloche__wasi_fd_seek(cloche__wasi *w, cloche__mem m, uint32_t fd,
                             int64_t offset, uint8_t whence,
                             uint32_t newoffset_out);
int32_t cloche__wasi_fd_sync(cloche__wasi *w, cloche__mem m, uint32_t fd);
int32_t cloche__wasi_fd_tell(cloche__wasi *w, cloche__mem m, uint32_t fd,
                             uint32_t offset_out);
int32_t cloche__wasi_fd_write(cloche__wasi *w, cloche__mem m, uint32_t fd,
                              uint32_t iovs, uint32_t iovs_len,
                              uint32_t nwritten_out);
int32_t cloche__wasi_path_create_directory(cloche__wasi *w, cloche__mem m,
                                           uint32_t fd, uint32_t path,
                                           uint32_t path_len);
int32_t cloche__wasi_path_filestat_get(cloche__wasi *w, cloche__mem m,
                                       uint32_t fd, uint32_t flags,
                                       uint32_t path, uint32_t path_len,
                                       uint32_t stat_out);
int32_t cloche__wasi_path_filestat_set_times(cloche__wasi *w, cloche__mem m,
                                             uint32_t fd, uint32_t flags,
                                             uint32_t path, uint32_t path_len,
                                             uint64_t atim, uint64_t mtim,
                                             uint32_t fst_flags);
int32_t cloche__wasi_path_link(cloche__wasi *w, cloche__mem m, uint32_t old_fd,
                               uint32_t old_flags, uint32_t old_path,
                               uint32_t old_path_len, uint32_t new_fd,
                               uint32_t new_path, uint32_t new_path_len);
int32_t cloche__wasi_path_open(cloche__wasi *w, cloche__mem m, uint32_t fd,
                               uint32_t dirflags, uint32_t path,
                               uint32_t path_len, uint32_t oflags,
                               uint64_t rights_base, uint64_t rights_inheriting,
                               uint32_t fdflags, uint32_t fd_out);
int32_t cloche__wasi_path_readlink(cloche__wasi *w, cloche__mem m, uint32_t fd,
                                   uint32_t path, uint32_t path_len,
                                   uint32_t buf, uint32_t buf_len,
                                   uint32_t bufused_out);
int32_t cloche__wasi_path_remove_directory(cloche__wasi *w, cloche__mem m,
                                           uint32_t fd, uint32_t path,
                                           uint32_t path_len);
int32_t cloche__wasi_path_rename(cloche__wasi *w, cloche__mem m, uint32_t fd,
                                 uint32_t old_path, uint32_t old_path_len,
                                 uint32_t new_fd, uint32_t new_path,
                                 uint32_t new_path_len);
int32_t cloche__wasi_path_symlink(cloche__wasi *w, cloche__mem m,
                                  uint32_t old_path, uint32_t old_path_len,
                                  uint32_t fd, uint32_t new_path,
                                  uint32_t new_path_len);
int32_t cloche__wasi_path_unlink_file(cloche__wasi *w, cloche__mem m,
                                      uint32_t fd, uint32_t path,
                                      uint32_t path_len);
int32_t cloche__wasi_poll_oneoff(cloche__wasi *w, cloche__mem m, uint32_t in,
                                 uint32_t out, uint32_t nsubscriptions,
                                 uint32_t nevents_out);
/** Sets the EXIT trap and returns (the glue then stops the guest). */
void cloche__wasi_proc_exit(cloche__wasi *w, cloche__mem m, uint32_t code);
int32_t cloche__wasi_proc_raise(cloche__wasi *w, cloche__mem m,
                                uint32_t sig);
int32_t cloche__wasi_random_get(cloche__wasi *w, cloche__mem m, uint32_t buf,
                                uint32_t buf_len);
int32_t cloche__wasi_sched_yield(cloche__wasi *w, cloche__mem m);
int32_t cloche__wasi_sock_accept(cloche__wasi *w, cloche__mem m, uint32_t fd,
                                 uint32_t flags, uint32_t fd_out);
int32_t cloche__wasi_sock_recv(cloche__wasi *w, cloche__mem m, uint32_t fd,
                               uint32_t ri_data, uint32_t ri_data_len,
                               uint32_t ri_flags, uint32_t ro_datalen_out,
                               uint32_t ro_flags_out);
int32_t cloche__wasi_sock_send(cloche__wasi *w, cloche__mem m, uint32_t fd,
                               uint32_t si_data, uint32_t si_data_len,
                               uint32_t si_flags, uint32_t so_datalen_out);
int32_t cloche__wasi_sock_shutdown(cloche__wasi *w, cloche__mem m,
                                   uint32_t fd, uint32_t how);

#endif
