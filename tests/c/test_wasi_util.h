/*
 * test_wasi_util.h - fixture and guest-memory helpers for the WASI tests.
 *
 * Each test gets a fresh VFS (root read-only, /tmp writable, /lib/a.txt a
 * borrowed read-only file), a context with fake clock and sleep hooks and a
 * 64 KiB fake linear memory. Teardown frees both and checks that no
 * allocation of src/wasi or src/vfs is left alive.
 */
#ifndef CLOCHE_TEST_WASI_UTIL_H
#define CLOCHE_TEST_WASI_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vfs/vfs_alloc.h"
#include "wasi/wasi.h"

#define MEM_SIZE 65536u

/* Fixed places in the fake guest memory. */
#define A_OUT 0x100u   /* scalar outputs */
#define A_OUT2 0x140u  /* second scalar output */
#define A_IOV 0x200u   /* iovec arrays */
#define A_PATH 0x1000u /* first path */
#define A_PATH2 0x1800u
#define A_DATA 0x2000u /* data to write */
#define A_BUF 0x4000u  /* read buffers */

#define RIGHTS_RW CLOCHE__WASI_RIGHTS_ALL
#define RIGHTS_RO                                                              \
    (CLOCHE__WASI_RIGHTS_ALL &                                                 \
     ~(CLOCHE__WASI_R_FD_WRITE | CLOCHE__WASI_R_FD_DATASYNC |                  \
       CLOCHE__WASI_R_FD_ALLOCATE | CLOCHE__WASI_R_FD_FILESTAT_SET_SIZE))

static const uint8_t LIB_A[] = "hello world"; /* 11 bytes + NUL */

typedef struct tw {
    uint8_t mem[MEM_SIZE];
    cloche__mem m;
    cloche__vfs *vfs;
    cloche__wasi *w;
    cloche__wasi_config cfg;
    uint64_t now;   /* fake monotonic clock */
    uint64_t slept; /* ns asked of the sleep hook */
    int sleeps;
    int interrupt; /* the next sleeps report an interruption */
    int no_advance; /* sleeping does not move the clock */
    int out_calls;
    char out_log[512];
    size_t out_log_len;
    long live0;
} tw;

static inline uint64_t tw_now(void *ud)
{
    return ((tw *)ud)->now;
}

static inline int tw_sleep(void *ud, uint64_t ns)
{
    tw *t = ud;
    t->sleeps++;
    t->slept += ns;
    if (t->interrupt)
        return 1;
    if (!t->no_advance)
        t->now += ns;
    return 0;
}

static inline void tw_output(void *ud, int fd, const uint8_t *data, size_t len)
{
    tw *t = ud;
    t->out_calls++;
    if (t->out_log_len + len + 2 < sizeof(t->out_log)) {
        t->out_log[t->out_log_len++] = (char)('0' + fd);
        memcpy(t->out_log + t->out_log_len, data, len);
        t->out_log_len += len;
    }
}

static const char *const TW_ARGV[] = {"prog", "arg one"};
static const char *const TW_ENV[] = {"A=1", "HOME=/tmp"};

static inline void tw_default_cfg(tw *t)
{
    memset(&t->cfg, 0, sizeof(t->cfg));
    t->cfg.argv = TW_ARGV;
    t->cfg.argc = 2;
    t->cfg.env = TW_ENV;
    t->cfg.envc = 2;
    t->cfg.stdout_cap = 64;
    t->cfg.stderr_cap = 16;
    t->cfg.root = t->vfs;
    t->cfg.fixed_clock_ns = CLOCHE__EPOCH_2000_NS; /* deterministic realtime */
    t->cfg.hook_ud = t;
    t->cfg.sleep_ns = tw_sleep;
    t->cfg.now_ns = tw_now;
    t->cfg.on_output = tw_output;
}

static inline void tw_make_vfs(tw *t, uint64_t max_bytes, uint64_t max_nodes)
{
    cloche__vfs_limits lim = {max_bytes, max_nodes, 0};
    assert_int_equal(cloche__vfs_new(&t->vfs, &lim), 0);
    assert_int_equal(cloche__vfs_mkdir_p(t->vfs, "/tmp", 0), 0);
    assert_int_equal(cloche__vfs_add_file_ro(t->vfs, "/lib/a.txt", LIB_A, 11),
                     0);
    assert_int_equal(cloche__vfs_set_readonly(t->vfs, "/", 1), 0);
}

static inline int tw_setup(void **state)
{
    tw *t = calloc(1, sizeof(*t));
    if (!t)
        return -1;
    t->live0 = cloche__alloc_live();
    t->m = (cloche__mem){t->mem, MEM_SIZE};
    t->now = 1000;
    tw_make_vfs(t, 1u << 20, 64);
    tw_default_cfg(t);
    assert_int_equal(cloche__wasi_new(&t->w, &t->cfg), 0);
    *state = t;
    return 0;
}

static inline int tw_teardown(void **state)
{
    tw *t = *state;
    cloche__alloc_fail_after(-1);
    cloche__wasi_free(t->w);
    cloche__vfs_free(t->vfs);
    long live = cloche__alloc_live();
    long live0 = t->live0;
    free(t);
    assert_int_equal(live, live0);
    return 0;
}

/* ---- guest memory helpers ------------------------------------------------ */

static inline uint32_t put_str(tw *t, uint32_t at, const char *s)
{
    size_t n = strlen(s);
    memcpy(t->mem + at, s, n);
    return (uint32_t)n;
}

static inline void put32(tw *t, uint32_t at, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        t->mem[at + (uint32_t)i] = (uint8_t)(v >> (8 * i));
}

static inline void put64(tw *t, uint32_t at, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        t->mem[at + (uint32_t)i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t rd16(const tw *t, uint32_t at)
{
    return (uint16_t)(t->mem[at] | t->mem[at + 1] << 8);
}

static inline uint32_t rd32(const tw *t, uint32_t at)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = v << 8 | t->mem[at + (uint32_t)i];
    return v;
}

static inline uint64_t rd64(const tw *t, uint32_t at)
{
    return (uint64_t)rd32(t, at) | (uint64_t)rd32(t, at + 4) << 32;
}

static inline void put_iov(tw *t, uint32_t at, uint32_t buf, uint32_t len)
{
    put32(t, at, buf);
    put32(t, at + 4, len);
}

/* path_open of a C string relative to dirfd; the fd lands in *fd. */
static inline int32_t tw_open(tw *t, uint32_t dirfd, const char *path,
                       uint32_t oflags, uint64_t rights, uint32_t fdflags,
                       uint32_t *fd)
{
    uint32_t n = put_str(t, A_PATH, path);
    put32(t, A_OUT, 0xFFFFFFFFu);
    int32_t e = cloche__wasi_path_open(t->w, t->m, dirfd, 1, A_PATH, n,
                                       oflags, rights, rights, fdflags, A_OUT);
    if (fd)
        *fd = rd32(t, A_OUT);
    return e;
}

/* fd_write of a C string in one iovec; *n gets nwritten. */
static inline int32_t tw_write(tw *t, uint32_t fd, const char *s, uint32_t *n)
{
    uint32_t len = put_str(t, A_DATA, s);
    put_iov(t, A_IOV, A_DATA, len);
    int32_t e = cloche__wasi_fd_write(t->w, t->m, fd, A_IOV, 1, A_OUT);
    if (n)
        *n = rd32(t, A_OUT);
    return e;
}

/* fd_read of up to len bytes into A_BUF; *n gets nread. */
static inline int32_t tw_read(tw *t, uint32_t fd, uint32_t len, uint32_t *n)
{
    memset(t->mem + A_BUF, 0, len);
    put_iov(t, A_IOV, A_BUF, len);
    int32_t e = cloche__wasi_fd_read(t->w, t->m, fd, A_IOV, 1, A_OUT);
    if (n)
        *n = rd32(t, A_OUT);
    return e;
}

/* One-path call helpers. */
static inline int32_t tw_mkdir(tw *t, uint32_t fd, const char *path)
{
    uint32_t n = put_str(t, A_PATH, path);
    return cloche__wasi_path_create_directory(t->w, t->m, fd, A_PATH, n);
}

static inline int32_t tw_unlink(tw *t, uint32_t fd, const char *path)
{
    uint32_t n = put_str(t, A_PATH, path);
    return cloche__wasi_path_unlink_file(t->w, t->m, fd, A_PATH, n);
}

static inline int32_t tw_rmdir(tw *t, uint32_t fd, const char *path)
{
    uint32_t n = put_str(t, A_PATH, path);
    return cloche__wasi_path_remove_directory(t->w, t->m, fd, A_PATH, n);
}

static inline int32_t tw_rename(tw *t, const char *from, const char *to)
{
    uint32_t a = put_str(t, A_PATH, from);
    uint32_t b = put_str(t, A_PATH2, to);
    return cloche__wasi_path_rename(t->w, t->m, 3, A_PATH, a, 3, A_PATH2, b);
}

/* path_filestat_get into A_BUF. */
static inline int32_t tw_stat(tw *t, uint32_t fd, const char *path)
{
    uint32_t n = put_str(t, A_PATH, path);
    return cloche__wasi_path_filestat_get(t->w, t->m, fd, 1, A_PATH, n, A_BUF);
}

#define FS_INO(t) rd64(t, A_BUF + 8)
#define FS_TYPE(t) ((t)->mem[A_BUF + 16])
#define FS_NLINK(t) rd64(t, A_BUF + 24)
#define FS_SIZE(t) rd64(t, A_BUF + 32)
#define FS_ATIM(t) rd64(t, A_BUF + 40)
#define FS_MTIM(t) rd64(t, A_BUF + 48)
#define FS_CTIM(t) rd64(t, A_BUF + 56)

#endif
