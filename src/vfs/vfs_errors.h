/*
 * vfs_errors.h - internal status codes shared by src/vfs and src/wasi.
 *
 * Until include/cloche.h defines the public CLOCHE_E... list, the VFS and the
 * WASI context report failures with these private codes: 0 or a negative
 * value equal to the negated Linux errno of the same name, so that a reader
 * (and a debugger) recognises them at once. The public API maps them to
 * CLOCHE_E... codes; the WASI layer maps them to WASI errno values
 * (cloche__wasi_errno_from_status). Nothing here is visible to the guest.
 */
#ifndef CLOCHE_VFS_ERRORS_H
#define CLOCHE_VFS_ERRORS_H

/* X(name, value, message) */
#define CLOCHE__ERRNO_LIST(X)                                                  \
    X(EPERM, -1, "operation not permitted")                                    \
    X(ENOENT, -2, "no such file or directory")                                 \
    X(EIO, -5, "input/output error")                                           \
    X(EBADF, -9, "bad file descriptor")                                        \
    X(ENOMEM, -12, "out of memory")                                            \
    X(EACCES, -13, "permission denied")                                        \
    X(EBUSY, -16, "resource busy")                                             \
    X(EEXIST, -17, "file exists")                                              \
    X(EXDEV, -18, "cross-device link")                                         \
    X(ENOTDIR, -20, "not a directory")                                         \
    X(EISDIR, -21, "is a directory")                                           \
    X(EINVAL, -22, "invalid argument")                                         \
    X(EMFILE, -24, "too many open files")                                      \
    X(EFBIG, -27, "file too large")                                            \
    X(ENOSPC, -28, "no space left (VFS byte quota)")                           \
    X(EROFS, -30, "read-only file system")                                     \
    X(ENAMETOOLONG, -36, "file name too long")                                 \
    X(ENOTEMPTY, -39, "directory not empty")                                   \
    X(ELOOP, -40, "too many levels of symbolic links")                         \
    X(EOVERFLOW, -75, "value too large")                                       \
    X(ENOTSUP, -95, "operation not supported")                                 \
    X(EDQUOT, -122, "quota exceeded (VFS node quota)")

enum cloche__errno {
#define CLOCHE__X(name, value, msg) CLOCHE__##name = (value),
    CLOCHE__ERRNO_LIST(CLOCHE__X)
#undef CLOCHE__X
};

/**
 * Name of an internal status code ("ENOENT"), "OK" for 0, "E?" if unknown.
 * Returns a static string. Thread-safe.
 */
const char *cloche__status_name(int status);

/** One-line message for an internal status code. Static string. */
const char *cloche__status_message(int status);

#endif
