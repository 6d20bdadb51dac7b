/*
 * wasi_table.c - the import table and the generic trampoline.
 *
 * One X-macro list gives, for each wasi_snapshot_preview1 import, its name,
 * its wasm signature and the call that decodes raw arguments into the typed
 * function, so the table and the dispatcher cannot drift apart. i32
 * arguments use only their low 32 bits; sub-32-bit WASI types (whence) are
 * range-checked here because the typed function takes the narrow type.
 */
#include "wasi/wasi_int.h"

#include <string.h>

#define U(i) ((uint32_t)a[i])
#define L(i) (a[i])

/* X(name, params, results, call) */
#define CLOCHE__WASI_IMPORTS(X)                                                \
    X(args_get, "ii", "i", cloche__wasi_args_get(w, m, U(0), U(1)))           \
    X(args_sizes_get, "ii", "i",                                               \
      cloche__wasi_args_sizes_get(w, m, U(0), U(1)))                           \
    X(clock_res_get, "ii", "i", cloche__wasi_clock_res_get(w, m, U(0), U(1)))  \
    X(clock_time_get, "iIi", "i",                                              \
      cloche__wasi_clock_time_get(w, m, U(0), L(1), U(2)))                     \
    X(environ_get, "ii", "i", cloche__wasi_environ_get(w, m, U(0), U(1)))     \
    X(environ_sizes_get, "ii", "i",                                            \
      cloche__wasi_environ_sizes_get(w, m, U(0), U(1)))                        \
    X(fd_advise, "iIIi", "i",                                                  \
      cloche__wasi_fd_advise(w, m, U(0), L(1), L(2), U(3)))                    \
    X(fd_allocate, "iII", "i",                                                 \
      cloche__wasi_fd_allocate(w, m, U(0), L(1), L(2)))                        \
    X(fd_close, "i", "i", cloche__wasi_fd_close(w, m, U(0)))                   \
    X(fd_datasync, "i", "i", cloche__wasi_fd_datasync(w, m, U(0)))             \
    X(fd_fdstat_get, "ii", "i", cloche__wasi_fd_fdstat_get(w, m, U(0), U(1)))  \
    X(fd_fdstat_set_flags, "ii", "i",                                          \
      cloche__wasi_fd_fdstat_set_flags(w, m, U(0), U(1)))                      \
    X(fd_fdstat_set_rights, "iII", "i",                                        \
      cloche__wasi_fd_fdstat_set_rights(w, m, U(0), L(1), L(2)))               \
    X(fd_filestat_get, "ii", "i",                                              \
      cloche__wasi_fd_filestat_get(w, m, U(0), U(1)))                          \
    X(fd_filestat_set_size, "iI", "i",                                         \
      cloche__wasi_fd_filestat_set_size(w, m, U(0), L(1)))                     \
    X(fd_filestat_set_times, "iIIi", "i",                                      \
      cloche__wasi_fd_filestat_set_times(w, m, U(0), L(1), L(2), U(3)))        \
    X(fd_pread, "iiiIi", "i",                                                  \
      cloche__wasi_fd_pread(w, m, U(0), U(1), U(2), L(3), U(4)))               \
    X(fd_prestat_dir_name, "iii", "i",                                         \
      cloche__wasi_fd_prestat_dir_name(w, m, U(0), U(1), U(2)))                \
    X(fd_prestat_get, "ii", "i",                                               \
      cloche__wasi_fd_prestat_get(w, m, U(0), U(1)))                           \
    X(fd_pwrite, "iiiIi", "i",                                                 \
      cloche__wasi_fd_pwrite(w, m, U(0), U(1), U(2), L(3), U(4)))              \
    X(fd_read, "iiii", "i",                                                    \
      cloche__wasi_fd_read(w, m, U(0), U(1), U(2), U(3)))                      \
    X(fd_readdir, "iiiIi", "i",                                                \
      cloche__wasi_fd_readdir(w, m, U(0), U(1), U(2), L(3), U(4)))             \
    X(fd_renumber, "ii", "i", cloche__wasi_fd_renumber(w, m, U(0), U(1)))      \
    X(fd_seek, "iIii", "i",                                                    \
      U(2) > UINT8_MAX ? CLOCHE__WASI_EINVAL                                   \
                       : cloche__wasi_fd_seek(w, m, U(0), (int64_t)L(1),       \
                                              (uint8_t)U(2), U(3)))            \
    X(fd_sync, "i", "i", cloche__wasi_fd_sync(w, m, U(0)))                     \
    X(fd_tell, "ii", "i", cloche__wasi_fd_tell(w, m, U(0), U(1)))              \
    X(fd_write, "iiii", "i",                                                   \
      cloche__wasi_fd_write(w, m, U(0), U(1), U(2), U(3)))                     \
    X(path_create_directory, "iii", "i",                                       \
      cloche__wasi_path_create_directory(w, m, U(0), U(1), U(2)))              \
    X(path_filestat_get, "iiiii", "i",                                         \
      cloche__wasi_path_filestat_get(w, m, U(0), U(1), U(2), U(3), U(4)))      \
    X(path_filestat_set_times, "iiiiIIi", "i",                                 \
      cloche__wasi_path_filestat_set_times(w, m, U(0), U(1), U(2), U(3), L(4), \
                                           L(5), U(6)))                        \
    X(path_link, "iiiiiii", "i",                                               \
      cloche__wasi_path_link(w, m, U(0), U(1), U(2), U(3), U(4), U(5), U(6)))  \
    X(path_open, "iiiiiIIii", "i",                                             \
      cloche__wasi_path_open(w, m, U(0), U(1), U(2), U(3), U(4), L(5), L(6),   \
                             U(7), U(8)))                                      \
    X(path_readlink, "iiiiii", "i",                                            \
      cloche__wasi_path_readlink(w, m, U(0), U(1), U(2), U(3), U(4), U(5)))    \
    X(path_remove_directory, "iii", "i",                                       \
      cloche__wasi_path_remove_directory(w, m, U(0), U(1), U(2)))              \
    X(path_rename, "iiiiii", "i",                                              \
      cloche__wasi_path_rename(w, m, U(0), U(1), U(2), U(3), U(4), U(5)))      \
    X(path_symlink, "iiiii", "i",                                              \
      cloche__wasi_path_symlink(w, m, U(0), U(1), U(2), U(3), U(4)))           \
    X(path_unlink_file, "iii", "i",                                            \
      cloche__wasi_path_unlink_file(w, m, U(0), U(1), U(2)))                   \
    X(poll_oneoff, "iiii", "i",                                                \
      cloche__wasi_poll_oneoff(w, m, U(0), U(1), U(2), U(3)))                  \
    X(proc_exit, "i", "", (cloche__wasi_proc_exit(w, m, U(0)), 0))             \
    X(proc_raise, "i", "i", cloche__wasi_proc_raise(w, m, U(0)))               \
    X(random_get, "ii", "i", cloche__wasi_random_get(w, m, U(0), U(1)))        \
    X(sched_yield, "", "i", cloche__wasi_sched_yield(w, m))                    \
    X(sock_accept, "iii", "i",                                                 \
      cloche__wasi_sock_accept(w, m, U(0), U(1), U(2)))                        \
    X(sock_recv, "iiiiii", "i",                                                \
      cloche__wasi_sock_recv(w, m, U(0), U(1), U(2), U(3), U(4), U(5)))        \
    X(sock_send, "iiiii", "i",                                                 \
      cloche__wasi_sock_send(w, m, U(0), U(1), U(2), U(3), U(4)))              \
    X(sock_shutdown, "ii", "i", cloche__wasi_sock_shutdown(w, m, U(0), U(1)))

#define CLOCHE__ENTRY(name, params, results, call) {#name, params, results},
const cloche__wasi_import cloche__wasi_imports[] = {
    CLOCHE__WASI_IMPORTS(CLOCHE__ENTRY)};
#undef CLOCHE__ENTRY

const size_t cloche__wasi_import_count =
    sizeof(cloche__wasi_imports) / sizeof(cloche__wasi_imports[0]);

typedef int32_t (*thunk_fn)(cloche__wasi *w, cloche__mem m,
                            const uint64_t *a);

#define CLOCHE__THUNK(name, params, results, call)                             \
    static int32_t thunk_##name(cloche__wasi *w, cloche__mem m,               \
                                const uint64_t *a)                             \
    {                                                                          \
        (void)a;                                                               \
        return call;                                                           \
    }
CLOCHE__WASI_IMPORTS(CLOCHE__THUNK)
#undef CLOCHE__THUNK

#define CLOCHE__PTR(name, params, results, call) thunk_##name,
static const thunk_fn thunks[] = {CLOCHE__WASI_IMPORTS(CLOCHE__PTR)};
#undef CLOCHE__PTR

int32_t cloche__wasi_dispatch(cloche__wasi *w, cloche__mem m,
                              size_t import_index, const uint64_t *args)
{
    if (import_index >= cloche__wasi_import_count)
        return CLOCHE__WASI_ENOSYS;
    return thunks[import_index](w, m, args);
}

long cloche__wasi_import_index(const char *name)
{
    for (size_t i = 0; i < cloche__wasi_import_count; i++)
        if (strcmp(cloche__wasi_imports[i].name, name) == 0)
            return (long)i;
    return -1;
}
