/*
 * test_wasi_mount_util.h - fixture for the host mount tests.
 *
 * Each test builds a fresh host tree under a mkdtemp directory TOP:
 *
 *   TOP/secret               "TOP SECRET"        (outside every mount)
 *   TOP/outside/secret       "OUTSIDE SECRET"    (outside every mount)
 *   TOP/outside/g.txt        "OUTSIDE G"
 *   TOP/m/                   mounted at /mnt/m (read-only or not)
 *     f.txt                  "hello host"
 *     sub/g.txt              "in sub"
 *     sub/deeper/
 *     link_passwd -> /etc/passwd     link_secret -> ../secret
 *     link_in     -> f.txt           link_up     -> ..
 *     link_out    -> ../outside      link_dangling -> ../outside/created
 *     fifo                   (a FIFO)
 *   TOP/other/o.txt          "other"             mounted at /mnt/other (rw)
 *   TOP/single.txt           "single file"       mounted at /etc/single.txt
 *
 * over the usual test VFS (test_wasi_util.h: root read-only, /tmp
 * writable, /lib/a.txt). Digests of host subtrees (lstat, never following
 * links, with file contents and link targets) prove that nothing changed
 * where it must not. Teardown checks for leaked allocations and leaked
 * host descriptors, then removes the tree.
 */
#ifndef CLOCHE_TEST_WASI_MOUNT_UTIL_H
#define CLOCHE_TEST_WASI_MOUNT_UTIL_H

#define _GNU_SOURCE

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_wasi_util.h"

#define TM_W(t) (t)->w, (t)->m

static char g_top[256];  /* the host tree of the running test */
static int g_fds0;       /* open process fds when the test started */
static int g_single_ro = 1;

static inline void tm_path(char *out, size_t cap, const char *rel)
{
    int n = snprintf(out, cap, "%s/%s", g_top, rel);
    assert_true(n > 0 && (size_t)n < cap);
}

static inline void tm_write(const char *rel, const char *data)
{
    char p[512];
    tm_path(p, sizeof(p), rel);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, strlen(data), f), strlen(data));
    assert_int_equal(fclose(f), 0);
}

/* Contents of a host file (static buffer, "" when missing). */
static inline const char *tm_read(const char *rel)
{
    static char buf[4096];
    char p[512];
    tm_path(p, sizeof(p), rel);
    buf[0] = 0;
    int fd = open(p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
        return buf;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    return buf;
}

static inline int tm_exists(const char *rel)
{
    char p[512];
    struct stat st;
    tm_path(p, sizeof(p), rel);
    return lstat(p, &st) == 0;
}

static inline void tm_mkdir(const char *rel)
{
    char p[512];
    tm_path(p, sizeof(p), rel);
    assert_int_equal(mkdir(p, 0755), 0);
}

static inline void tm_symlink(const char *target, const char *rel)
{
    char p[512];
    tm_path(p, sizeof(p), rel);
    assert_int_equal(symlink(target, p), 0);
}

static inline int tm_count_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    while (readdir(d))
        n++;
    closedir(d);
    return n - 3; /* ".", ".." and the DIR's own fd */
}

/* ---- digests ------------------------------------------------------------ */

typedef struct tm_digest {
    char *s;
    size_t len, cap;
} tm_digest;

static inline void tm_dput(tm_digest *d, const char *s, size_t n)
{
    if (d->len + n + 1 > d->cap) {
        d->cap = (d->len + n + 1) * 2;
        d->s = realloc(d->s, d->cap);
        assert_non_null(d->s);
    }
    memcpy(d->s + d->len, s, n);
    d->len += n;
    d->s[d->len] = 0;
}

static inline void tm_digest_path(tm_digest *d, const char *path)
{
    struct stat st;
    char line[1024];
    if (lstat(path, &st) != 0) {
        snprintf(line, sizeof(line), "%s missing\n", path);
        tm_dput(d, line, strlen(line));
        return;
    }
    snprintf(line, sizeof(line), "%s mode %o size %lld mtime %lld.%09ld ",
             path, (unsigned)st.st_mode, (long long)st.st_size,
             (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    tm_dput(d, line, strlen(line));
    if (S_ISLNK(st.st_mode)) {
        ssize_t n = readlink(path, line, sizeof(line) - 1);
        tm_dput(d, line, n > 0 ? (size_t)n : 0);
    } else if (S_ISREG(st.st_mode)) {
        int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
        ssize_t n = fd >= 0 ? read(fd, line, sizeof(line)) : -1;
        if (fd >= 0)
            close(fd);
        tm_dput(d, line, n > 0 ? (size_t)n : 0);
    }
    tm_dput(d, "\n", 1);
    if (!S_ISDIR(st.st_mode))
        return;
    struct dirent **names;
    int n = scandir(path, &names, NULL, alphasort);
    assert_true(n >= 0);
    for (int i = 0; i < n; i++) {
        const char *nm = names[i]->d_name;
        if (strcmp(nm, ".") && strcmp(nm, "..")) {
            char sub[1024];
            snprintf(sub, sizeof(sub), "%s/%s", path, nm);
            tm_digest_path(d, sub);
        }
        free(names[i]);
    }
    free(names);
}

/* Digest of TOP/rel (recursive, never following links); caller frees. */
static inline char *tm_digest_of(const char *rel)
{
    char p[512];
    tm_digest d = {0};
    tm_path(p, sizeof(p), rel);
    tm_digest_path(&d, p);
    return d.s;
}

/* Everything outside TOP/m, plus /etc/passwd's metadata. */
static inline char *tm_digest_outside(void)
{
    tm_digest d = {0};
    const char *parts[] = {"secret", "outside", "other", "single.txt"};
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        char *s = tm_digest_of(parts[i]);
        tm_dput(&d, s, strlen(s));
        free(s);
    }
    struct stat st;
    char line[128];
    if (stat("/etc/passwd", &st) == 0) {
        snprintf(line, sizeof(line), "passwd %lld %lld\n",
                 (long long)st.st_size, (long long)st.st_mtim.tv_sec);
        tm_dput(&d, line, strlen(line));
    }
    return d.s;
}

/* ---- setup -------------------------------------------------------------- */

static inline void tm_build_tree(void)
{
    strcpy(g_top, "/tmp/cloche_mnt_XXXXXX");
    assert_non_null(mkdtemp(g_top));
    tm_write("secret", "TOP SECRET");
    tm_mkdir("outside");
    tm_write("outside/secret", "OUTSIDE SECRET");
    tm_write("outside/g.txt", "OUTSIDE G");
    tm_mkdir("m");
    tm_write("m/f.txt", "hello host");
    tm_mkdir("m/sub");
    tm_write("m/sub/g.txt", "in sub");
    tm_mkdir("m/sub/deeper");
    tm_symlink("/etc/passwd", "m/link_passwd");
    tm_symlink("../secret", "m/link_secret");
    tm_symlink("f.txt", "m/link_in");
    tm_symlink("..", "m/link_up");
    tm_symlink("../outside", "m/link_out");
    tm_symlink("../outside/created", "m/link_dangling");
    char p[512];
    tm_path(p, sizeof(p), "m/fifo");
    assert_int_equal(mkfifo(p, 0644), 0);
    tm_mkdir("other");
    tm_write("other/o.txt", "other");
    tm_write("single.txt", "single file");
}

static inline int tm_rm(const char *p, const struct stat *st, int flag,
                        struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static inline void tm_remove_tree(void)
{
    if (g_top[0])
        nftw(g_top, tm_rm, 16, FTW_DEPTH | FTW_PHYS);
    g_top[0] = 0;
}

/* The mounts of the fixture (also used to build a second, matching VFS). */
static inline int tm_mount_all(cloche__vfs *vfs, int readonly)
{
    char p[512];
    int rc;
    tm_path(p, sizeof(p), "m");
    if ((rc = cloche__vfs_mount(vfs, "/mnt/m", p, readonly)) != 0)
        return rc;
    tm_path(p, sizeof(p), "other");
    if ((rc = cloche__vfs_mount(vfs, "/mnt/other", p, 0)) != 0)
        return rc;
    tm_path(p, sizeof(p), "single.txt");
    return cloche__vfs_mount(vfs, "/etc/single.txt", p, g_single_ro);
}

static inline int tm_setup_mode(void **state, int readonly)
{
    tw *t = calloc(1, sizeof(*t));
    if (!t)
        return -1;
    g_fds0 = tm_count_fds();
    tm_build_tree();
    t->live0 = cloche__alloc_live();
    t->m = (cloche__mem){t->mem, MEM_SIZE};
    t->now = 1000;
    tw_make_vfs(t, 1u << 20, 64);
    assert_int_equal(tm_mount_all(t->vfs, readonly), 0);
    tw_default_cfg(t);
    assert_int_equal(cloche__wasi_new(&t->w, &t->cfg), 0);
    *state = t;
    return 0;
}

static inline int tm_setup_rw(void **state)
{
    return tm_setup_mode(state, 0);
}

static inline int tm_setup_ro(void **state)
{
    return tm_setup_mode(state, 1);
}

static inline int tm_teardown(void **state)
{
    int rc = tw_teardown(state);
    int fds = tm_count_fds();
    tm_remove_tree();
    g_single_ro = 1;
    assert_int_equal(fds, g_fds0); /* every host descriptor was closed */
    return rc;
}

/* ---- WASI helpers --------------------------------------------------------- */

/* path_filestat_get without SYMLINK_FOLLOW (lstat) into A_BUF. */
static inline int32_t tm_lstat(tw *t, uint32_t fd, const char *path)
{
    uint32_t n = put_str(t, A_PATH, path);
    return cloche__wasi_path_filestat_get(t->w, t->m, fd, 0, A_PATH, n,
                                          A_BUF);
}

/* Open a directory (read rights, every right inheritable, as wasi-libc
 * does). */
static inline uint32_t tm_opendir(tw *t, uint32_t dirfd, const char *path)
{
    uint32_t n = put_str(t, A_PATH, path);
    assert_int_equal(cloche__wasi_path_open(t->w, t->m, dirfd, 0, A_PATH, n,
                                            CLOCHE__WASI_O_DIRECTORY,
                                            RIGHTS_RO, RIGHTS_RW, 0, A_OUT),
                     0);
    return rd32(t, A_OUT);
}

/* Open a file and read all of it (up to 4 KiB) into a static string. */
static inline const char *tm_guest_read(tw *t, uint32_t dirfd,
                                        const char *path)
{
    static char buf[4097];
    uint32_t fd, n;
    assert_int_equal(tw_open(t, dirfd, path, 0, RIGHTS_RO, 0, &fd), 0);
    assert_int_equal(tw_read(t, fd, 4096, &n), 0);
    memcpy(buf, t->mem + A_BUF, n);
    buf[n] = 0;
    assert_int_equal(cloche__wasi_fd_close(TM_W(t), fd), 0);
    return buf;
}

static inline int32_t tm_set_times(tw *t, uint32_t fd, uint32_t lookup,
                                   const char *path)
{
    uint32_t n = put_str(t, A_PATH, path);
    return cloche__wasi_path_filestat_set_times(
        t->w, t->m, fd, lookup, A_PATH, n, 5, 6,
        CLOCHE__WASI_FST_ATIM | CLOCHE__WASI_FST_MTIM);
}

static inline int32_t tm_symlink_call(tw *t, uint32_t fd, const char *target,
                                      const char *path)
{
    uint32_t a = put_str(t, A_PATH, target);
    uint32_t b = put_str(t, A_PATH2, path);
    return cloche__wasi_path_symlink(t->w, t->m, A_PATH, a, fd, A_PATH2, b);
}

static inline int32_t tm_link_call(tw *t, uint32_t fd, const char *from,
                                   const char *to)
{
    uint32_t a = put_str(t, A_PATH, from);
    uint32_t b = put_str(t, A_PATH2, to);
    return cloche__wasi_path_link(t->w, t->m, fd, 0, A_PATH, a, fd, A_PATH2,
                                  b);
}

static inline int32_t tm_rename_at(tw *t, uint32_t fd, const char *from,
                                   const char *to)
{
    uint32_t a = put_str(t, A_PATH, from);
    uint32_t b = put_str(t, A_PATH2, to);
    return cloche__wasi_path_rename(t->w, t->m, fd, A_PATH, a, fd, A_PATH2,
                                    b);
}

static inline int32_t tm_readlink(tw *t, uint32_t fd, const char *path)
{
    uint32_t n = put_str(t, A_PATH, path);
    memset(t->mem + A_BUF, 0, 256);
    return cloche__wasi_path_readlink(t->w, t->m, fd, A_PATH, n, A_BUF, 256,
                                      A_OUT);
}

#endif
