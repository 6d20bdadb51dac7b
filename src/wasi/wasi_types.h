/*
 * wasi_types.h - wasi_snapshot_preview1 ABI constants (values from the
 * witx definitions) and the byte layouts cloche reads and writes.
 * Only constants: no code, no guest memory access.
 */
#ifndef CLOCHE_WASI_TYPES_H
#define CLOCHE_WASI_TYPES_H

#include <stdint.h>

/* errno: X(name, value) */
#define CLOCHE__WASI_ERRNO_LIST(X)                                             \
    X(ESUCCESS, 0) X(E2BIG, 1) X(EACCES, 2) X(EADDRINUSE, 3)                   \
    X(EADDRNOTAVAIL, 4) X(EAFNOSUPPORT, 5) X(EAGAIN, 6) X(EALREADY, 7)         \
    X(EBADF, 8) X(EBADMSG, 9) X(EBUSY, 10) X(ECANCELED, 11) X(ECHILD, 12)      \
    X(ECONNABORTED, 13) X(ECONNREFUSED, 14) X(ECONNRESET, 15)                  \
    X(EDEADLK, 16) X(EDESTADDRREQ, 17) X(EDOM, 18) X(EDQUOT, 19)               \
    X(EEXIST, 20) X(EFAULT, 21) X(EFBIG, 22) X(EHOSTUNREACH, 23) X(EIDRM, 24)  \
    X(EILSEQ, 25) X(EINPROGRESS, 26) X(EINTR, 27) X(EINVAL, 28) X(EIO, 29)     \
    X(EISCONN, 30) X(EISDIR, 31) X(ELOOP, 32) X(EMFILE, 33) X(EMLINK, 34)      \
    X(EMSGSIZE, 35) X(EMULTIHOP, 36) X(ENAMETOOLONG, 37) X(ENETDOWN, 38)       \
    X(ENETRESET, 39) X(ENETUNREACH, 40) X(ENFILE, 41) X(ENOBUFS, 42)           \
    X(ENODEV, 43) X(ENOENT, 44) X(ENOEXEC, 45) X(ENOLCK, 46) X(ENOLINK, 47)    \
    X(ENOMEM, 48) X(ENOMSG, 49) X(ENOPROTOOPT, 50) X(ENOSPC, 51)               \
    X(ENOSYS, 52) X(ENOTCONN, 53) X(ENOTDIR, 54) X(ENOTEMPTY, 55)              \
    X(ENOTRECOVERABLE, 56) X(ENOTSOCK, 57) X(ENOTSUP, 58) X(ENOTTY, 59)        \
    X(ENXIO, 60) X(EOVERFLOW, 61) X(EOWNERDEAD, 62) X(EPERM, 63) X(EPIPE, 64)  \
    X(EPROTO, 65) X(EPROTONOSUPPORT, 66) X(EPROTOTYPE, 67) X(ERANGE, 68)       \
    X(EROFS, 69) X(ESPIPE, 70) X(ESRCH, 71) X(ESTALE, 72) X(ETIMEDOUT, 73)     \
    X(ETXTBSY, 74) X(EXDEV, 75) X(ENOTCAPABLE, 76)

enum cloche__wasi_errno {
#define CLOCHE__X(name, value) CLOCHE__WASI_##name = value,
    CLOCHE__WASI_ERRNO_LIST(CLOCHE__X)
#undef CLOCHE__X
};

/* filetype */
enum {
    CLOCHE__WASI_FILETYPE_UNKNOWN = 0,
    CLOCHE__WASI_FILETYPE_CHARACTER_DEVICE = 2,
    CLOCHE__WASI_FILETYPE_DIRECTORY = 3,
    CLOCHE__WASI_FILETYPE_REGULAR_FILE = 4,
    CLOCHE__WASI_FILETYPE_SYMBOLIC_LINK = 7
};

/* clockid */
enum {
    CLOCHE__WASI_CLOCK_REALTIME = 0,
    CLOCHE__WASI_CLOCK_MONOTONIC = 1,
    CLOCHE__WASI_CLOCK_PROCESS_CPUTIME = 2,
    CLOCHE__WASI_CLOCK_THREAD_CPUTIME = 3
};

/* whence */
enum {
    CLOCHE__WASI_WHENCE_SET = 0,
    CLOCHE__WASI_WHENCE_CUR = 1,
    CLOCHE__WASI_WHENCE_END = 2
};

/* fdflags */
#define CLOCHE__WASI_FDFLAG_APPEND 0x1u
#define CLOCHE__WASI_FDFLAG_DSYNC 0x2u
#define CLOCHE__WASI_FDFLAG_NONBLOCK 0x4u
#define CLOCHE__WASI_FDFLAG_RSYNC 0x8u
#define CLOCHE__WASI_FDFLAG_SYNC 0x10u
#define CLOCHE__WASI_FDFLAGS_ALL 0x1Fu

/* oflags */
#define CLOCHE__WASI_O_CREAT 0x1u
#define CLOCHE__WASI_O_DIRECTORY 0x2u
#define CLOCHE__WASI_O_EXCL 0x4u
#define CLOCHE__WASI_O_TRUNC 0x8u
#define CLOCHE__WASI_OFLAGS_ALL 0xFu

/* lookupflags */
#define CLOCHE__WASI_LOOKUP_SYMLINK_FOLLOW 0x1u

/* fstflags */
#define CLOCHE__WASI_FST_ATIM 0x1u
#define CLOCHE__WASI_FST_ATIM_NOW 0x2u
#define CLOCHE__WASI_FST_MTIM 0x4u
#define CLOCHE__WASI_FST_MTIM_NOW 0x8u
#define CLOCHE__WASI_FST_ALL 0xFu

/* advice: 0 normal .. 5 noreuse */
#define CLOCHE__WASI_ADVICE_MAX 5u

/* eventtype, subclockflags, eventrwflags */
enum {
    CLOCHE__WASI_EVENT_CLOCK = 0,
    CLOCHE__WASI_EVENT_FD_READ = 1,
    CLOCHE__WASI_EVENT_FD_WRITE = 2
};
#define CLOCHE__WASI_SUBCLOCK_ABSTIME 0x1u
#define CLOCHE__WASI_EVENTRW_HANGUP 0x1u

/* preopentype */
#define CLOCHE__WASI_PREOPEN_DIR 0u

/* rights */
#define CLOCHE__WASI_R_FD_DATASYNC (1ull << 0)
#define CLOCHE__WASI_R_FD_READ (1ull << 1)
#define CLOCHE__WASI_R_FD_SEEK (1ull << 2)
#define CLOCHE__WASI_R_FD_FDSTAT_SET_FLAGS (1ull << 3)
#define CLOCHE__WASI_R_FD_SYNC (1ull << 4)
#define CLOCHE__WASI_R_FD_TELL (1ull << 5)
#define CLOCHE__WASI_R_FD_WRITE (1ull << 6)
#define CLOCHE__WASI_R_FD_ADVISE (1ull << 7)
#define CLOCHE__WASI_R_FD_ALLOCATE (1ull << 8)
#define CLOCHE__WASI_R_PATH_CREATE_DIRECTORY (1ull << 9)
#define CLOCHE__WASI_R_PATH_CREATE_FILE (1ull << 10)
#define CLOCHE__WASI_R_PATH_LINK_SOURCE (1ull << 11)
#define CLOCHE__WASI_R_PATH_LINK_TARGET (1ull << 12)
#define CLOCHE__WASI_R_PATH_OPEN (1ull << 13)
#define CLOCHE__WASI_R_FD_READDIR (1ull << 14)
#define CLOCHE__WASI_R_PATH_READLINK (1ull << 15)
#define CLOCHE__WASI_R_PATH_RENAME_SOURCE (1ull << 16)
#define CLOCHE__WASI_R_PATH_RENAME_TARGET (1ull << 17)
#define CLOCHE__WASI_R_PATH_FILESTAT_GET (1ull << 18)
#define CLOCHE__WASI_R_PATH_FILESTAT_SET_SIZE (1ull << 19)
#define CLOCHE__WASI_R_PATH_FILESTAT_SET_TIMES (1ull << 20)
#define CLOCHE__WASI_R_FD_FILESTAT_GET (1ull << 21)
#define CLOCHE__WASI_R_FD_FILESTAT_SET_SIZE (1ull << 22)
#define CLOCHE__WASI_R_FD_FILESTAT_SET_TIMES (1ull << 23)
#define CLOCHE__WASI_R_PATH_SYMLINK (1ull << 24)
#define CLOCHE__WASI_R_PATH_REMOVE_DIRECTORY (1ull << 25)
#define CLOCHE__WASI_R_PATH_UNLINK_FILE (1ull << 26)
#define CLOCHE__WASI_R_POLL_FD_READWRITE (1ull << 27)
#define CLOCHE__WASI_R_SOCK_SHUTDOWN (1ull << 28)
#define CLOCHE__WASI_R_SOCK_ACCEPT (1ull << 29)
#define CLOCHE__WASI_RIGHTS_ALL ((1ull << 30) - 1)

/* Rights that mean something on a regular file. */
#define CLOCHE__WASI_RIGHTS_FILE                                               \
    (CLOCHE__WASI_R_FD_DATASYNC | CLOCHE__WASI_R_FD_READ |                     \
     CLOCHE__WASI_R_FD_SEEK | CLOCHE__WASI_R_FD_FDSTAT_SET_FLAGS |             \
     CLOCHE__WASI_R_FD_SYNC | CLOCHE__WASI_R_FD_TELL |                         \
     CLOCHE__WASI_R_FD_WRITE | CLOCHE__WASI_R_FD_ADVISE |                      \
     CLOCHE__WASI_R_FD_ALLOCATE | CLOCHE__WASI_R_FD_FILESTAT_GET |             \
     CLOCHE__WASI_R_FD_FILESTAT_SET_SIZE |                                     \
     CLOCHE__WASI_R_FD_FILESTAT_SET_TIMES | CLOCHE__WASI_R_POLL_FD_READWRITE)

/* Rights that mean something on a directory. */
#define CLOCHE__WASI_RIGHTS_DIR                                                \
    (CLOCHE__WASI_R_FD_DATASYNC | CLOCHE__WASI_R_FD_FDSTAT_SET_FLAGS |         \
     CLOCHE__WASI_R_FD_SYNC | CLOCHE__WASI_R_FD_ADVISE |                       \
     CLOCHE__WASI_R_PATH_CREATE_DIRECTORY | CLOCHE__WASI_R_PATH_CREATE_FILE |  \
     CLOCHE__WASI_R_PATH_LINK_SOURCE | CLOCHE__WASI_R_PATH_LINK_TARGET |       \
     CLOCHE__WASI_R_PATH_OPEN | CLOCHE__WASI_R_FD_READDIR |                    \
     CLOCHE__WASI_R_PATH_READLINK | CLOCHE__WASI_R_PATH_RENAME_SOURCE |        \
     CLOCHE__WASI_R_PATH_RENAME_TARGET | CLOCHE__WASI_R_PATH_FILESTAT_GET |    \
     CLOCHE__WASI_R_PATH_FILESTAT_SET_SIZE |                                   \
     CLOCHE__WASI_R_PATH_FILESTAT_SET_TIMES | CLOCHE__WASI_R_FD_FILESTAT_GET | \
     CLOCHE__WASI_R_FD_FILESTAT_SET_TIMES | CLOCHE__WASI_R_PATH_SYMLINK |      \
     CLOCHE__WASI_R_PATH_REMOVE_DIRECTORY | CLOCHE__WASI_R_PATH_UNLINK_FILE)

/* Rights of the standard streams. */
#define CLOCHE__WASI_RIGHTS_STDIN                                              \
    (CLOCHE__WASI_R_FD_READ | CLOCHE__WASI_R_FD_FDSTAT_SET_FLAGS |             \
     CLOCHE__WASI_R_FD_FILESTAT_GET | CLOCHE__WASI_R_POLL_FD_READWRITE)
#define CLOCHE__WASI_RIGHTS_STDOUT                                             \
    (CLOCHE__WASI_R_FD_WRITE | CLOCHE__WASI_R_FD_FDSTAT_SET_FLAGS |            \
     CLOCHE__WASI_R_FD_FILESTAT_GET | CLOCHE__WASI_R_POLL_FD_READWRITE)

/* Sizes of the guest structures (little-endian, natural alignment). */
#define CLOCHE__WASI_IOVEC_SIZE 8        /* u32 buf @0, u32 len @4 */
#define CLOCHE__WASI_FDSTAT_SIZE 24      /* u8 @0, u16 @2, u64 @8, u64 @16 */
#define CLOCHE__WASI_FILESTAT_SIZE 64    /* dev ino type@16 nlink@24 size.. */
#define CLOCHE__WASI_PRESTAT_SIZE 8      /* u8 tag @0, u32 name_len @4 */
#define CLOCHE__WASI_DIRENT_SIZE 24      /* next@0 ino@8 namlen@16 type@20 */
#define CLOCHE__WASI_SUBSCRIPTION_SIZE 48 /* ud@0 tag@8 u@16 */
#define CLOCHE__WASI_EVENT_SIZE 32 /* ud@0 err@8 type@10 nbytes@16 flags@24 */

#endif
