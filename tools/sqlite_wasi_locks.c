/* In-process file locking for SQLite on wasm32-wasip1.
 *
 * WASI preview1 has no advisory locks, so SQLite's WASI build defaults to
 * "unix-dotfile" locking, where every lock is exclusive: a second connection
 * to the same database, even a reader, gets "database is locked". Natively,
 * SQLite's "unix" VFS keeps per-file lock state for all connections of the
 * process (shared/reserved/pending/exclusive) and asks the kernel with
 * fcntl(F_SETLK) only to coordinate with *other processes*. A sandbox is a
 * single process whose files no other process can lock, so that kernel step
 * always succeeds here: this file makes "unix" the default VFS and gives it an
 * fcntl whose lock requests succeed, which yields native semantics between
 * connections of one sandbox. Compiled into libsqlite3.a by tools/sqlite.sh
 * and run by sqlite3_initialize() through -DSQLITE_EXTRA_INIT. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>

#include "sqlite3.h"

/* The values SQLite's os_unix.c assumes when wasi-libc does not define them. */
#ifndef F_RDLCK
#define F_RDLCK 0
#define F_WRLCK 1
#define F_UNLCK 2
#define F_GETLK 12
#define F_SETLK 13
#define F_SETLKW 14
#endif

static int cloche_sqlite_fcntl(int fd, int op, ...) {
    va_list ap;
    va_start(ap, op);
    intptr_t arg = va_arg(ap, intptr_t); /* int and pointer are both 32-bit */
    va_end(ap);
    if (op == F_SETLK || op == F_SETLKW)
        return 0; /* no other process can hold a lock on a sandbox file */
    if (op == F_GETLK) {
        ((struct flock *)arg)->l_type = F_UNLCK;
        return 0;
    }
    return fcntl(fd, op, arg);
}

int cloche_sqlite_init(const char *unused) {
    (void)unused;
    sqlite3_vfs *vfs = sqlite3_vfs_find("unix");
    if (!vfs || !vfs->xSetSystemCall)
        return SQLITE_ERROR;
    int rc = vfs->xSetSystemCall(vfs, "fcntl", (sqlite3_syscall_ptr)cloche_sqlite_fcntl);
    return rc == SQLITE_OK ? sqlite3_vfs_register(vfs, 1) : rc;
}
