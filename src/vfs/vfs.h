/*
 * vfs.h - cloche's in-memory file tree (internal API).
 *
 * The VFS is what the guest sees as its whole file system: one tree of
 * directories and regular files held in host memory. File data is either
 * borrowed (const bytes the embedder keeps alive, e.g. the stdlib image:
 * zero copy, always read-only) or owned (a growable buffer charged to the
 * byte quota).
 * The embedder may also mount host directories and files into the tree
 * (cloche__vfs_mount): their contents stay on the host, confined to what
 * was mounted, and are not charged.
 *
 * Two kinds of callers:
 *   - the embedder (trusted): path-based helpers that take absolute or
 *     root-relative C strings and ignore read-only marks;
 *   - the WASI layer (acting for the untrusted guest): node handles plus
 *     guest path operations that resolve (ptr, len) paths relative to a
 *     directory node, never climb above the root and obey read-only marks.
 *
 * Path rules (both kinds of callers): see cloche__vfs_lookup and
 * docs/wasi.md. Errors are 0 or negative CLOCHE__E... (vfs_errors.h).
 *
 * Threads: a VFS and its nodes are used by one thread at a time (the thread
 * that drives the sandbox owning it).
 */
#ifndef CLOCHE_VFS_H
#define CLOCHE_VFS_H

#include <stddef.h>
#include <stdint.h>

#include "vfs/vfs_errors.h"

#define CLOCHE__VFS_PATH_MAX 4096 /* bytes in one path */
#define CLOCHE__VFS_NAME_MAX 255  /* bytes in one component */
#define CLOCHE__VFS_DEPTH_MAX 256 /* components in one path */

/* Default quotas when cloche__vfs_new gets NULL limits. */
#define CLOCHE__VFS_DEFAULT_MAX_BYTES (64u * 1024u * 1024u)
#define CLOCHE__VFS_DEFAULT_MAX_NODES 16384u

/* Fixed timestamp (ns since the Unix epoch) of 2000-01-01T00:00:00Z; the
 * default VFS clock and the WASI fixed-epoch realtime base. */
#define CLOCHE__EPOCH_2000_NS 946684800000000000ull

typedef struct cloche__vfs cloche__vfs;
typedef struct cloche__vfs_node cloche__vfs_node;

/* Node types. Values are stable; new kinds get new values and every switch
 * over them has a default branch. SYMLINK and SPECIAL exist only inside
 * host mounts: they can be listed, stat'ed, unlinked and renamed, never
 * followed or opened (docs/wasi.md, "Host mounts"). */
enum cloche__vfs_type {
    CLOCHE__VFS_DIR = 1,
    CLOCHE__VFS_FILE = 2,
    CLOCHE__VFS_SYMLINK = 3, /* a host symbolic link */
    CLOCHE__VFS_SPECIAL = 4  /* a host FIFO, socket or device */
};

/** Quotas on writable data (UINT64_MAX means unlimited) and on the host
 *  descriptors that files opened through mounts hold. */
typedef struct cloche__vfs_limits {
    uint64_t max_bytes; /* owned file bytes; exceeding -> CLOCHE__ENOSPC */
    uint64_t max_nodes; /* writable nodes; exceeding -> CLOCHE__EDQUOT */
    /* host files open at once (each holds a host descriptor); beyond ->
     * CLOCHE__EMFILE. 0: CLOCHE__VFS_DEFAULT_HOST_FDS; at most
     * CLOCHE__VFS_MAX_HOST_NODES. */
    uint32_t max_host_fds;
} cloche__vfs_limits;

typedef struct cloche__vfs_stat {
    uint64_t dev, ino;
    int type; /* enum cloche__vfs_type */
    uint64_t nlink, size, atim, mtim, ctim;
    int readonly;
} cloche__vfs_stat;

typedef struct cloche__vfs_dirent {
    uint64_t next; /* cookie of the entry after this one */
    uint64_t ino;
    int type;         /* enum cloche__vfs_type */
    const char *name; /* borrowed, valid until the directory changes */
    size_t name_len;
} cloche__vfs_dirent;

/* Flags of cloche__vfs_open. */
#define CLOCHE__VFS_O_CREAT 0x1u
#define CLOCHE__VFS_O_EXCL 0x2u
#define CLOCHE__VFS_O_TRUNC 0x4u
#define CLOCHE__VFS_O_DIRECTORY 0x8u
#define CLOCHE__VFS_O_WRITE 0x10u /* the handle will write: EROFS checks */
#define CLOCHE__VFS_O_READ 0x20u  /* the handle will read (host files) */

/* Host mounts: at most this many per VFS (CLOCHE__EMFILE beyond), and at
 * most this many host objects open at once (CLOCHE__EMFILE beyond): every
 * WASI fd (CLOCHE__WASI_MAX_FDS) plus the few a single call holds. */
#define CLOCHE__VFS_MAX_MOUNTS 64u
#define CLOCHE__VFS_MAX_HOST_NODES 1056u
/* Default cap on host files open at once (cloche__vfs_limits), far below
 * a process's descriptor limit: one sandbox cannot starve its embedder. */
#define CLOCHE__VFS_DEFAULT_HOST_FDS 64u

/* Mask of cloche__vfs_set_times. */
#define CLOCHE__VFS_SET_ATIM 0x1u
#define CLOCHE__VFS_SET_MTIM 0x2u

/* ---- lifecycle ---------------------------------------------------------- */

/**
 * Create an empty VFS (a writable root directory, not charged to quotas).
 * @param out  receives the VFS; owned by the caller, free with cloche__vfs_free
 * @param lim  quotas (copied); NULL for the defaults above
 * @return 0 or CLOCHE__ENOMEM
 */
int cloche__vfs_new(cloche__vfs **out, const cloche__vfs_limits *lim);

/**
 * Free the VFS and every node. NULL is fine. Every WASI context using it
 * must have been freed first (open handles hold node references).
 */
void cloche__vfs_free(cloche__vfs *vfs);

/**
 * Set the clock used for timestamps (ns since the Unix epoch). NULL restores
 * the default, a fixed 2000-01-01T00:00:00Z.
 */
void cloche__vfs_set_clock(cloche__vfs *vfs, uint64_t (*now_ns)(void *ud),
                           void *ud);

/** The ud given to cloche__vfs_set_clock (NULL for the default clock). */
void *cloche__vfs_clock_ud(const cloche__vfs *vfs);

/** Current time by the VFS clock. */
uint64_t cloche__vfs_now(const cloche__vfs *vfs);

/** Quota usage so far (charged bytes and nodes). Either output may be NULL. */
void cloche__vfs_usage(const cloche__vfs *vfs, uint64_t *bytes,
                       uint64_t *nodes);

/* ---- embedder helpers (trusted, ignore read-only marks) ----------------- */

/**
 * Add a read-only file whose bytes are borrowed (zero copy): @p data must
 * stay valid and unchanged until the VFS is freed. Missing parents are
 * created as read-only directories. Neither is charged to the quotas.
 * @return 0, CLOCHE__EEXIST, CLOCHE__ENOTDIR, a path error or CLOCHE__ENOMEM
 */
int cloche__vfs_add_file_ro(cloche__vfs *vfs, const char *path,
                            const uint8_t *data, size_t len);

/** Called by cloche__zip_each_stored for one stored member; nonzero stops
 * the walk and is returned. @p name is not NUL-terminated. */
typedef int (*cloche__zip_visit)(void *ud, const char *name, size_t name_len,
                                 const uint8_t *data, size_t len);

/**
 * Walk a zip image's central directory and call @p visit for every member
 * stored uncompressed (method 0; directories skipped) with a pointer to its
 * bytes inside @p zip. tools/make_stdlib_zip.py stores exactly the members
 * that must also be served as files (vfs_zip.c says why).
 * @return 0, CLOCHE__EINVAL for a malformed image, or what @p visit returned
 */
int cloche__zip_each_stored(const uint8_t *zip, size_t len,
                            cloche__zip_visit visit, void *ud);

/**
 * mkdir -p. Directories created here get the read-only mark when @p readonly
 * is nonzero (then they are not charged), and so does the last component
 * even when it already existed.
 * @return 0, CLOCHE__ENOTDIR, CLOCHE__EDQUOT, a path error or CLOCHE__ENOMEM
 */
int cloche__vfs_mkdir_p(cloche__vfs *vfs, const char *path, int readonly);

/**
 * Create or replace a writable file with a copy of @p data (charged).
 * Missing parents are created as writable directories.
 * @return 0, CLOCHE__EISDIR, CLOCHE__ENOSPC, CLOCHE__EDQUOT, path errors
 */
int cloche__vfs_write_file(cloche__vfs *vfs, const char *path,
                           const uint8_t *data, size_t len);

/**
 * Borrow a file's bytes. *data stays valid until the next change to the
 * VFS; it may be NULL when *len is 0.
 * @return 0, CLOCHE__ENOENT, CLOCHE__EISDIR or a path error
 */
int cloche__vfs_read_file(const uint8_t **data, size_t *len,
                          const cloche__vfs *vfs, const char *path);

/** Set or clear the read-only mark of one node (not recursive). */
int cloche__vfs_set_readonly(cloche__vfs *vfs, const char *path, int readonly);

/** Remove a file or an empty directory. */
int cloche__vfs_remove(cloche__vfs *vfs, const char *path);

/**
 * Mount a host directory or a single host file at @p guest_path.
 *
 * The host path is resolved once, here, by the host's own rules (it is the
 * embedder's, trusted): a directory is kept as an O_PATH descriptor, a
 * regular file as a descriptor opened read-only (@p readonly) or
 * read-write. Anything else (FIFO, socket, device) is refused. Later guest
 * accesses never use a host path: they resolve from that descriptor with
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
 * RESOLVE_NO_XDEV), one single-component *at() call at a time for
 * mkdir/unlink/rename, never follow a symbolic link and never open a
 * non-regular file, so nothing outside the mount is ever reached, even
 * while another host process changes the tree.
 *
 * Guest side: missing parents of @p guest_path are created as read-only
 * directories; the last component must not exist, except that a directory
 * may be mounted over an empty memory directory no fd holds (it becomes
 * the mount point). With @p readonly nonzero every guest write is
 * CLOCHE__EROFS. Mount contents are not charged to the quotas (a mount is
 * the embedder's deliberate grant of host storage). The embedder helpers
 * above refuse paths at or below a mount point (CLOCHE__EXDEV; remove:
 * CLOCHE__EBUSY). Snapshots save a mount by guest path and @p readonly
 * only. Mounts last as long as the VFS (there is no unmount). Linux only
 * (O_PATH, openat2 from 5.6, with a component-walk fallback before it).
 *
 * @param guest_path absolute or root-relative, not the root
 * @param host_path  NUL-terminated host path (borrowed)
 * @return 0; CLOCHE__ENOENT (host path missing), CLOCHE__ENOTDIR,
 *         CLOCHE__EACCES, CLOCHE__ELOOP (host lookup errors);
 *         CLOCHE__EINVAL (NULL or empty host path, guest path "/", with
 *         "." or ".." components or a trailing '/', host object neither a
 *         directory nor a regular file); CLOCHE__EEXIST
 *         (guest path taken); CLOCHE__EBUSY (that directory is open);
 *         CLOCHE__EXDEV (guest path inside a mount);
 *         CLOCHE__EMFILE (too many mounts, or no host descriptor left);
 *         CLOCHE__ENOMEM; guest path errors as for cloche__vfs_mkdir_p.
 *         On failure no mount was added (missing parents may have been
 *         created).
 */
int cloche__vfs_mount(cloche__vfs *vfs, const char *guest_path,
                      const char *host_path, int readonly);

/**
 * Test support: resolve inside mounts with the component walk that stands
 * in for openat2 on kernels without it, and reopen files by path as when
 * /proc is missing (nonzero); or as normal again (0). Process-wide; tests
 * only.
 */
void cloche__vfs_mount_force_fallback(int on);

/* ---- nodes -------------------------------------------------------------- */

/** The root directory (borrowed; the VFS holds it). */
cloche__vfs_node *cloche__vfs_root(const cloche__vfs *vfs);
/** Take a reference (an open handle). */
void cloche__vfs_node_ref(cloche__vfs_node *n);
/** Drop a reference; a node that is unlinked and unreferenced is freed. */
void cloche__vfs_node_unref(cloche__vfs_node *n);
/** enum cloche__vfs_type of the node. */
int cloche__vfs_node_type(const cloche__vfs_node *n);
/** Nonzero when the node carries the read-only mark. */
int cloche__vfs_node_readonly(const cloche__vfs_node *n);
/** Fill @p out with the node's attributes (zeros but the type when a host
 * object cannot be stat'ed; cloche__vfs_node_getstat reports that). */
void cloche__vfs_node_stat(cloche__vfs_stat *out, const cloche__vfs_node *n);
/** cloche__vfs_node_stat with host errors: 0 or a negative CLOCHE__E... */
int cloche__vfs_node_getstat(cloche__vfs_stat *out, const cloche__vfs_node *n);
/** Nonzero for a mount point or an object inside a host mount. */
int cloche__vfs_node_is_host(const cloche__vfs_node *n);
/** fsync (fdatasync with @p data_only) a host file; 0 for anything else. */
int cloche__vfs_node_sync(cloche__vfs_node *n, int data_only);

/**
 * Set atim and/or mtim (per @p mask) and ctim = now.
 * @param guest nonzero: refuse with CLOCHE__EROFS on read-only nodes
 */
int cloche__vfs_set_times(cloche__vfs_node *n, uint64_t atim, uint64_t mtim,
                          unsigned mask, int guest);

/* ---- guest path operations (relative to @p base, obey read-only) -------- */

/**
 * Resolve @p path (not NUL-terminated, @p len bytes) from directory @p base.
 * Rules: len 0 -> ENOENT; longer than CLOCHE__VFS_PATH_MAX, a component
 * longer than CLOCHE__VFS_NAME_MAX or more than CLOCHE__VFS_DEPTH_MAX
 * components -> ENAMETOOLONG; a NUL byte -> EINVAL; a leading '/' starts
 * at the root; empty and "." components are skipped; ".." goes to the
 * parent and stays at the root when already there (the walk can never
 * leave the tree); a component under a file -> ENOTDIR; a trailing '/'
 * on a file -> ENOTDIR.
 * @param out receives the node with a new reference (caller unrefs)
 */
int cloche__vfs_lookup(cloche__vfs_node **out, cloche__vfs *vfs,
                       cloche__vfs_node *base, const char *path, size_t len);

/**
 * Open (and with CLOCHE__VFS_O_CREAT, create) a node; flags above.
 * Errors: EEXIST (CREAT|EXCL on an existing node), EISDIR (writing, or
 * CREAT without EXCL, on a directory), ENOTDIR (O_DIRECTORY on a file),
 * EINVAL (CREAT|DIRECTORY), EROFS, EDQUOT, plus the lookup errors.
 * @param out receives the node with a new reference (caller unrefs)
 */
int cloche__vfs_open(cloche__vfs_node **out, cloche__vfs *vfs,
                     cloche__vfs_node *base, const char *path, size_t len,
                     unsigned flags);

/** mkdir. EEXIST, EROFS, EDQUOT, lookup errors. */
int cloche__vfs_mkdir(cloche__vfs *vfs, cloche__vfs_node *base,
                      const char *path, size_t len);
/** rmdir. ENOTDIR, ENOTEMPTY, EBUSY (the root), EINVAL ("."), EROFS. */
int cloche__vfs_rmdir(cloche__vfs *vfs, cloche__vfs_node *base,
                      const char *path, size_t len);
/** unlink a file. EISDIR for directories, EROFS, lookup errors. */
int cloche__vfs_unlink(cloche__vfs *vfs, cloche__vfs_node *base,
                       const char *path, size_t len);
/**
 * rename with POSIX replace rules: file over file, directory over empty
 * directory. EISDIR/ENOTDIR on a type mismatch, ENOTEMPTY, EINVAL when a
 * directory would move into itself, EBUSY for the root, EROFS.
 */
int cloche__vfs_rename(cloche__vfs *vfs, cloche__vfs_node *old_base,
                       const char *old_path, size_t old_len,
                       cloche__vfs_node *new_base, const char *new_path,
                       size_t new_len);

/* ---- file data ---------------------------------------------------------- */

/** Size in bytes of a file (0 for directories). */
uint64_t cloche__vfs_file_size(const cloche__vfs_node *n);

/**
 * Copy up to @p len bytes at @p off into @p dst; *nread is 0 at or past EOF.
 */
void cloche__vfs_file_read(size_t *nread, const cloche__vfs_node *n,
                           uint64_t off, uint8_t *dst, size_t len);

/**
 * Write @p len bytes at @p off, zero-filling any gap and growing the file.
 * All or nothing. EROFS (read-only or borrowed), EFBIG, ENOSPC, ENOMEM.
 */
int cloche__vfs_file_write(cloche__vfs_node *n, uint64_t off,
                           const uint8_t *src, size_t len);

/** Truncate or zero-extend to @p size. EROFS, EFBIG, ENOSPC, ENOMEM. */
int cloche__vfs_file_resize(cloche__vfs_node *n, uint64_t size);

/* The calls above that cannot fail or are all-or-nothing hold for memory
 * files. Host files (mounts) go to the host on every call and can fail or
 * be short; the WASI layer uses these forms, which work for both. */

/** Read like cloche__vfs_file_read; host errors returned (EIO...). */
int cloche__vfs_file_pread(size_t *nread, const cloche__vfs_node *n,
                           uint64_t off, uint8_t *dst, size_t len);
/**
 * Write like cloche__vfs_file_write (memory: all or nothing); a host file
 * may take fewer bytes (*nwritten), an error only when it took none.
 */
int cloche__vfs_file_pwrite(size_t *nwritten, cloche__vfs_node *n,
                            uint64_t off, const uint8_t *src, size_t len);
/** Current size of a file (a host file is asked every time). */
int cloche__vfs_file_getsize(uint64_t *size, const cloche__vfs_node *n);

/* ---- directories -------------------------------------------------------- */

/**
 * Directory entry at @p cookie: 0 is ".", 1 is "..", then the children in
 * creation order; cookies stay valid while entries are added and removed
 * (a removed entry is skipped, a new one comes last).
 * @return 1 and fills @p out, or 0 at the end
 */
int cloche__vfs_dir_next(cloche__vfs_dirent *out, const cloche__vfs_node *dir,
                         uint64_t cookie);

/**
 * cloche__vfs_dir_next with errors (host directories): 1, 0 at the end, or
 * a negative CLOCHE__E.... In a host directory cookies 0 and 1 are "." and
 * "..", then the host's own directory offsets (telldir values) + 2, as
 * stable as the host file system keeps them; out->name is borrowed until
 * the next call on the directory.
 */
int cloche__vfs_dir_read(cloche__vfs_dirent *out, const cloche__vfs_node *dir,
                         uint64_t cookie);

#endif
