/*
 * test_wasi_mount.c - confinement of host mounts through the WASI calls:
 * a table of escape attempts (.., absolute paths, symbolic links as last
 * and middle components, O_CREAT through links, renames out of the mount,
 * link creation, the FIFO), a directory swapped for a symlink between two
 * opens and under a concurrent swapper thread, and read-only enforcement.
 * Every test checks that the host tree outside the mount is unchanged.
 */
#include "test_wasi_mount_util.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/syscall.h>

#define EQ assert_int_equal

enum op {
    OPEN_R,        /* path_open, read rights */
    OPEN_W,        /* path_open, read+write rights */
    OPEN_CREAT,    /* O_CREAT, read+write */
    OPEN_CREAT_TR, /* O_CREAT|O_TRUNC, read+write */
    OPEN_EXCL,     /* O_CREAT|O_EXCL, read+write */
    OPEN_TRUNC_RO, /* O_TRUNC with read rights only */
    OPEN_DIR,      /* O_DIRECTORY */
    STAT,          /* path_filestat_get with SYMLINK_FOLLOW */
    LSTAT,         /* path_filestat_get without */
    MKDIR,
    RMDIR,
    UNLINK,
    RENAME,   /* a -> b, both relative to the base fd */
    READLINK, /* ENOTSUP for links, EINVAL for anything else */
    SYMLINK,  /* path_symlink(a, b) */
    LINK,     /* path_link(a, b) */
    SETTIMES, /* path_filestat_set_times without SYMLINK_FOLLOW */
    SETTIMES_F
};

typedef struct row {
    int line;
    enum op op;
    int base; /* 0: fd 3 ("/"), 1: /mnt/m, 2: /mnt/m/sub */
    const char *a, *b;
    int32_t want;
} row;

#define R(op, base, a, b, want) {__LINE__, op, base, a, b, CLOCHE__WASI_##want}

/* "@" at the start of a path stands for the host tree's absolute path. */
static const char *expand(char *buf, size_t cap, const char *p)
{
    if (!p || p[0] != '@')
        return p;
    snprintf(buf, cap, "%s%s", g_top, p + 1);
    return buf;
}

static int32_t run_row(tw *t, const row *r, const uint32_t *bases)
{
    char ea[512], eb[512];
    const char *a = expand(ea, sizeof(ea), r->a);
    const char *b = expand(eb, sizeof(eb), r->b);
    uint32_t base = bases[r->base], fd = 0, n;
    int32_t e;
    switch (r->op) {
    case OPEN_R: e = tw_open(t, base, a, 0, RIGHTS_RO, 0, &fd); break;
    case OPEN_W: e = tw_open(t, base, a, 0, RIGHTS_RW, 0, &fd); break;
    case OPEN_CREAT:
        e = tw_open(t, base, a, CLOCHE__WASI_O_CREAT, RIGHTS_RW, 0, &fd);
        break;
    case OPEN_CREAT_TR:
        e = tw_open(t, base, a, CLOCHE__WASI_O_CREAT | CLOCHE__WASI_O_TRUNC,
                    RIGHTS_RW, 0, &fd);
        break;
    case OPEN_EXCL:
        e = tw_open(t, base, a, CLOCHE__WASI_O_CREAT | CLOCHE__WASI_O_EXCL,
                    RIGHTS_RW, 0, &fd);
        break;
    case OPEN_TRUNC_RO:
        e = tw_open(t, base, a, CLOCHE__WASI_O_TRUNC, RIGHTS_RO, 0, &fd);
        break;
    case OPEN_DIR:
        e = tw_open(t, base, a, CLOCHE__WASI_O_DIRECTORY, RIGHTS_RO, 0, &fd);
        break;
    case STAT: e = tw_stat(t, base, a); break;
    case LSTAT: e = tm_lstat(t, base, a); break;
    case MKDIR: e = tw_mkdir(t, base, a); break;
    case RMDIR: e = tw_rmdir(t, base, a); break;
    case UNLINK: e = tw_unlink(t, base, a); break;
    case RENAME: e = tm_rename_at(t, base, a, b); break;
    case READLINK: e = tm_readlink(t, base, a); break;
    case SYMLINK: e = tm_symlink_call(t, base, a, b); break;
    case LINK: e = tm_link_call(t, base, a, b); break;
    case SETTIMES: e = tm_set_times(t, base, 0, a); break;
    case SETTIMES_F: e = tm_set_times(t, base, 1, a); break;
    default: e = -1;
    }
    if (e == 0 && r->op <= OPEN_DIR)
        EQ(cloche__wasi_fd_close(TM_W(t), fd), 0);
    if (r->op == READLINK) /* nothing of a link target is ever written */
        for (n = 0; n < 256; n++)
            EQ(t->mem[A_BUF + n], 0);
    return e;
}

static void run_table(tw *t, const row *rows, size_t n, const uint32_t *bases)
{
    for (size_t i = 0; i < n; i++) {
        int32_t e = run_row(t, &rows[i], bases);
        if (e != rows[i].want)
            fail_msg("line %d: %s -> got %d, want %d", rows[i].line,
                     rows[i].a, e, rows[i].want);
    }
}

static void open_bases(tw *t, uint32_t *bases)
{
    bases[0] = 3;
    bases[1] = tm_opendir(t, 3, "mnt/m");
    bases[2] = tm_opendir(t, 3, "mnt/m/sub");
}

/* ---- escapes (read-write mount: the strictest case) ---------------------- */

static const row escapes[] = {
    /* ".." never leaves the VFS; at the mount root it goes to /mnt */
    R(OPEN_R, 1, "../secret", NULL, ENOENT),
    R(OPEN_R, 1, "sub/../../secret", NULL, ENOENT),
    R(OPEN_R, 2, "../../secret", NULL, ENOENT),
    R(OPEN_R, 2, "../../../../../../../secret", NULL, ENOENT),
    R(OPEN_R, 0, "mnt/m/../secret", NULL, ENOENT),
    R(OPEN_R, 0, "/mnt/m/../../secret", NULL, ENOENT),
    R(OPEN_R, 1, "sub/deeper/../../../outside/secret", NULL, ENOENT),
    R(OPEN_R, 1, "nope/../f.txt", NULL, ENOENT),
    R(OPEN_R, 1, "f.txt/../f.txt", NULL, ENOTDIR),
    R(OPEN_CREAT, 1, "../new", NULL, EROFS),
    R(MKDIR, 1, "../x", NULL, EROFS),
    /* absolute paths start at the VFS root, never the host's */
    R(OPEN_R, 1, "@/secret", NULL, ENOENT),
    R(OPEN_R, 1, "@/outside/secret", NULL, ENOENT),
    R(OPEN_R, 2, "@/m/f.txt", NULL, ENOENT),
    R(OPEN_CREAT, 1, "@/outside/created", NULL, ENOENT),
    R(STAT, 1, "/etc/passwd", NULL, ENOENT),
    /* symbolic links as the last component: never followed */
    R(OPEN_R, 1, "link_passwd", NULL, ELOOP),
    R(OPEN_R, 1, "link_secret", NULL, ELOOP),
    R(OPEN_R, 1, "link_in", NULL, ELOOP),
    R(OPEN_W, 1, "link_in", NULL, ELOOP),
    R(OPEN_DIR, 1, "link_up", NULL, ELOOP),
    R(OPEN_DIR, 1, "link_out", NULL, ELOOP),
    R(STAT, 1, "link_passwd", NULL, ELOOP),
    R(STAT, 1, "link_in", NULL, ELOOP),
    R(LSTAT, 1, "link_passwd", NULL, ESUCCESS),
    R(LSTAT, 1, "link_dangling", NULL, ESUCCESS),
    R(READLINK, 1, "link_passwd", NULL, ENOTSUP),
    R(READLINK, 1, "link_secret", NULL, ENOTSUP),
    R(READLINK, 1, "f.txt", NULL, EINVAL),
    R(READLINK, 1, "sub", NULL, EINVAL),
    R(SETTIMES, 1, "link_secret", NULL, ELOOP),
    R(SETTIMES_F, 1, "link_passwd", NULL, ELOOP),
    /* ... and as a middle component */
    R(OPEN_R, 1, "link_up/secret", NULL, ELOOP),
    R(OPEN_R, 1, "link_out/secret", NULL, ELOOP),
    R(OPEN_R, 1, "link_up/m/f.txt", NULL, ELOOP),
    R(OPEN_R, 1, "link_out/../m/f.txt", NULL, ELOOP),
    R(OPEN_R, 2, "../link_out/secret", NULL, ELOOP),
    R(OPEN_DIR, 1, "link_up/", NULL, ELOOP),
    R(STAT, 1, "link_up/secret", NULL, ELOOP),
    R(LSTAT, 1, "link_out/secret", NULL, ELOOP),
    R(MKDIR, 1, "link_out/x", NULL, ELOOP),
    R(UNLINK, 1, "link_out/secret", NULL, ELOOP),
    R(RMDIR, 1, "link_up/m", NULL, ELOOP),
    R(SETTIMES, 1, "link_out/secret", NULL, ELOOP),
    /* O_CREAT through a link never creates or truncates its target */
    R(OPEN_CREAT, 1, "link_dangling", NULL, ELOOP),
    R(OPEN_CREAT, 1, "link_secret", NULL, ELOOP),
    R(OPEN_CREAT_TR, 1, "link_secret", NULL, ELOOP),
    R(OPEN_EXCL, 1, "link_dangling", NULL, EEXIST),
    R(OPEN_CREAT, 1, "link_out/created", NULL, ELOOP),
    R(OPEN_CREAT_TR, 1, "link_up/secret", NULL, ELOOP),
    R(MKDIR, 1, "link_dangling", NULL, EEXIST),
    R(RMDIR, 1, "link_up", NULL, ENOTDIR),
    R(RMDIR, 1, "link_out/", NULL, ENOTDIR),
    /* renames: out of the mount is EXDEV, through links ELOOP */
    R(RENAME, 1, "f.txt", "../f.txt", EXDEV),
    R(RENAME, 1, "f.txt", "/tmp/f.txt", EXDEV),
    R(RENAME, 1, "f.txt", "../other/f.txt", EXDEV),
    R(RENAME, 1, "f.txt", "link_out/f.txt", ELOOP),
    R(RENAME, 1, "f.txt", "link_up/f.txt", ELOOP),
    R(RENAME, 1, "f.txt", "@/outside/f.txt", ENOENT),
    R(RENAME, 1, "sub", "/tmp/sub", EXDEV),
    R(RENAME, 1, "sub", "../sub", EXDEV),
    R(RENAME, 1, "sub", "../other/sub", EXDEV),
    R(RENAME, 1, "link_out/secret", "stolen", ELOOP),
    R(RENAME, 1, "../other/o.txt", "o.txt", EXDEV),
    R(RENAME, 0, "tmp", "mnt/m/tmp", EXDEV),
    R(RENAME, 0, "lib/a.txt", "mnt/m/a.txt", EXDEV),
    R(RENAME, 0, "mnt/m", "tmp/m", EBUSY),
    R(RENAME, 0, "tmp", "mnt/m", EBUSY),
    R(RENAME, 0, "mnt", "tmp/mnt", EBUSY),
    R(RENAME, 0, "etc/single.txt", "tmp/s", EBUSY),
    R(RENAME, 1, "f.txt", "/etc/single.txt", EXDEV),
    R(RMDIR, 0, "mnt/m", NULL, EBUSY),
    R(RMDIR, 0, "mnt/m/", NULL, EBUSY),
    R(UNLINK, 0, "etc/single.txt", NULL, EBUSY),
    /* links can never be created, in a writable mount or anywhere */
    R(SYMLINK, 1, "/etc/passwd", "newlink", ENOTSUP),
    R(SYMLINK, 1, "../secret", "sub/newlink", ENOTSUP),
    R(SYMLINK, 0, "/etc/passwd", "tmp/newlink", ENOTSUP),
    R(LINK, 1, "f.txt", "hl", ENOTSUP),
    R(LINK, 1, "link_secret", "hl2", ENOTSUP),
    R(LINK, 1, "../../lib/a.txt", "hl3", ENOTSUP),
    /* the FIFO is never opened (and so never blocks) */
    R(OPEN_R, 1, "fifo", NULL, EACCES),
    R(OPEN_W, 1, "fifo", NULL, EACCES),
    R(OPEN_CREAT_TR, 1, "fifo", NULL, EACCES),
    R(OPEN_DIR, 1, "fifo", NULL, ENOTDIR),
    R(OPEN_R, 1, "fifo/x", NULL, ENOTDIR),
    R(SETTIMES, 1, "fifo", NULL, EACCES),
    R(LSTAT, 1, "fifo", NULL, ESUCCESS),
};

static void test_escape_table(void **state)
{
    tw *t = *state;
    uint32_t bases[3];
    char *before = tm_digest_outside();
    char *mount_before = tm_digest_of("m");
    open_bases(t, bases);
    alarm(20); /* a blocking FIFO open would hang: fail instead */
    run_table(t, escapes, sizeof(escapes) / sizeof(escapes[0]), bases);
    alarm(0);
    char *after = tm_digest_outside();
    char *mount_after = tm_digest_of("m");
    assert_string_equal(before, after);
    assert_string_equal(mount_before, mount_after); /* nothing succeeded */
    assert_false(tm_exists("outside/created"));
    free(before);
    free(after);
    free(mount_before);
    free(mount_after);
}

/* What the guest sees of links, the FIFO and "..". */
static void test_link_and_dots_view(void **state)
{
    tw *t = *state;
    uint32_t bases[3];
    open_bases(t, bases);
    EQ(tm_lstat(t, bases[1], "link_passwd"), 0);
    EQ(FS_TYPE(t), CLOCHE__WASI_FILETYPE_SYMBOLIC_LINK);
    EQ(tm_lstat(t, bases[1], "fifo"), 0);
    EQ(FS_TYPE(t), CLOCHE__WASI_FILETYPE_UNKNOWN);
    /* ".." at the mount root is the VFS directory /mnt */
    EQ(tw_stat(t, 3, "mnt"), 0);
    uint64_t mnt_ino = FS_INO(t);
    EQ(tw_stat(t, bases[1], ".."), 0);
    EQ(FS_INO(t), mnt_ino);
    EQ(FS_TYPE(t), CLOCHE__WASI_FILETYPE_DIRECTORY);
    EQ(tw_stat(t, bases[2], "../.."), 0);
    EQ(FS_INO(t), mnt_ino);
    assert_string_equal(tm_guest_read(t, bases[1], "../m/f.txt"),
                        "hello host");
    assert_string_equal(tm_guest_read(t, bases[2], "../f.txt"), "hello host");
    assert_string_equal(tm_guest_read(t, bases[2], "deeper/../g.txt"),
                        "in sub");
    assert_string_equal(tm_guest_read(t, 3, "/mnt/m/sub/./g.txt"), "in sub");
    assert_string_equal(tm_guest_read(t, bases[1], "/mnt/other/o.txt"),
                        "other");
    /* a writable mount can remove a link (never its target) */
    char *before = tm_digest_outside();
    EQ(tw_unlink(t, bases[1], "link_secret"), 0);
    EQ(tw_unlink(t, bases[1], "link_passwd"), 0);
    EQ(tm_rename_at(t, bases[1], "link_out", "sub/moved_link"), 0);
    assert_true(tm_exists("m/sub/moved_link"));
    assert_false(tm_exists("m/link_out"));
    EQ(tw_unlink(t, bases[1], "fifo"), 0);
    char *after = tm_digest_outside();
    assert_string_equal(before, after);
    free(before);
    free(after);
}

/* ---- races ----------------------------------------------------------------- */

/* Between two opens, a host process moves sub out of the mount and plants a
 * symlink to the outside in its place. */
static void test_swap_between_opens(void **state)
{
    tw *t = *state;
    char a[512], b[512];
    uint32_t fd, dfd = tm_opendir(t, 3, "mnt/m/sub");
    char *before = tm_digest_outside();
    assert_string_equal(tm_guest_read(t, 3, "mnt/m/sub/g.txt"), "in sub");
    assert_string_equal(tm_guest_read(t, dfd, "g.txt"), "in sub");
    tm_path(a, sizeof(a), "m/sub");
    tm_path(b, sizeof(b), "sub_away");
    EQ(rename(a, b), 0);
    tm_symlink("../outside", "m/sub");
    EQ(tw_open(t, 3, "mnt/m/sub/g.txt", 0, RIGHTS_RO, 0, &fd),
       CLOCHE__WASI_ELOOP);
    EQ(tw_open(t, 3, "mnt/m/sub/secret", 0, RIGHTS_RO, 0, &fd),
       CLOCHE__WASI_ELOOP);
    /* the directory fd follows its path, never the moved directory */
    EQ(tw_open(t, dfd, "g.txt", 0, RIGHTS_RO, 0, &fd), CLOCHE__WASI_ELOOP);
    EQ(tw_open(t, dfd, "secret", 0, RIGHTS_RO, 0, &fd), CLOCHE__WASI_ELOOP);
    EQ(tw_open(t, dfd, "new", CLOCHE__WASI_O_CREAT, RIGHTS_RW, 0, &fd),
       CLOCHE__WASI_ELOOP);
    EQ(tw_mkdir(t, dfd, "d"), CLOCHE__WASI_ELOOP);
    EQ(tw_unlink(t, dfd, "secret"), CLOCHE__WASI_ELOOP);
    EQ(cloche__wasi_fd_readdir(TM_W(t), dfd, A_BUF, 512, 0, A_OUT),
       CLOCHE__WASI_ELOOP);
    assert_int_not_equal(cloche__wasi_fd_filestat_get(TM_W(t), dfd, A_BUF), 0);
    /* even "..": the fd's path names a link now */
    EQ(tw_stat(t, dfd, ".."), CLOCHE__WASI_ELOOP);
    EQ(tw_stat(t, 3, "mnt/m/sub/.."), CLOCHE__WASI_ELOOP);
    char *after = tm_digest_outside();
    assert_string_equal(before, after);
    assert_false(tm_exists("outside/new"));
    assert_false(tm_exists("outside/d"));
    free(before);
    free(after);
}

static atomic_int g_stop;

/* Swap m/sub (a directory) and m/sub_link (a symlink to ../outside) as
 * fast as possible with renameat2(RENAME_EXCHANGE). */
static void *swapper(void *arg)
{
    (void)arg;
    char a[512], b[512];
    tm_path(a, sizeof(a), "m/sub");
    tm_path(b, sizeof(b), "m/sub_link");
    while (!atomic_load(&g_stop))
        syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, 2 /* EXCHANGE */);
    return NULL;
}

static void test_concurrent_swapper(void **state)
{
    tw *t = *state;
    pthread_t th;
    int ok = 0, refused = 0;
    tm_symlink("../outside", "m/sub_link");
    char *before = tm_digest_outside();
    atomic_store(&g_stop, 0);
    EQ(pthread_create(&th, NULL, swapper, NULL), 0);
    for (int i = 0; i < 4000; i++) {
        uint32_t fd, n;
        const char *p = (i & 1) ? "mnt/m/sub/g.txt" : "mnt/m/sub_link/g.txt";
        int32_t e = tw_open(t, 3, p, 0, RIGHTS_RO, 0, &fd);
        if (e == 0) {
            EQ(tw_read(t, fd, 64, &n), 0);
            assert_memory_equal(t->mem + A_BUF, "in sub", 6);
            EQ(cloche__wasi_fd_close(TM_W(t), fd), 0);
            ok++;
        } else {
            assert_true(e == CLOCHE__WASI_ELOOP ||
                        e == CLOCHE__WASI_ENOENT);
            refused++;
        }
        e = tw_open(t, 3, (i & 1) ? "mnt/m/sub/new" : "mnt/m/sub_link/new",
                    CLOCHE__WASI_O_CREAT, RIGHTS_RW, 0, &fd);
        if (e == 0)
            EQ(cloche__wasi_fd_close(TM_W(t), fd), 0);
    }
    atomic_store(&g_stop, 1);
    EQ(pthread_join(th, NULL), 0);
    assert_true(ok + refused == 4000);
    char *after = tm_digest_outside();
    assert_string_equal(before, after);
    assert_false(tm_exists("outside/new"));
    free(before);
    free(after);
}

/* ---- read-only mount ---------------------------------------------------- */

static const row ro_rows[] = {
    R(OPEN_CREAT, 1, "new", NULL, EROFS),
    R(OPEN_EXCL, 1, "new", NULL, EROFS),
    R(OPEN_W, 1, "f.txt", NULL, EROFS),
    R(OPEN_TRUNC_RO, 1, "f.txt", NULL, EROFS),
    R(OPEN_CREAT_TR, 1, "f.txt", NULL, EROFS),
    R(OPEN_EXCL, 1, "f.txt", NULL, EEXIST),
    R(OPEN_R, 1, "f.txt", NULL, ESUCCESS),
    R(OPEN_W, 2, "new/x", NULL, ENOENT),
    R(MKDIR, 1, "d", NULL, EROFS),
    R(MKDIR, 1, "sub", NULL, EEXIST),
    R(MKDIR, 2, "deeper/d", NULL, EROFS),
    R(RMDIR, 1, "sub/deeper", NULL, EROFS),
    R(RMDIR, 1, "nope", NULL, ENOENT),
    R(RMDIR, 1, "f.txt", NULL, ENOTDIR),
    R(UNLINK, 1, "f.txt", NULL, EROFS),
    R(UNLINK, 1, "link_secret", NULL, EROFS),
    R(UNLINK, 1, "fifo", NULL, EROFS),
    R(UNLINK, 1, "sub", NULL, EISDIR),
    R(UNLINK, 1, "nope", NULL, ENOENT),
    R(RENAME, 1, "f.txt", "g.txt", EROFS),
    R(RENAME, 1, "sub", "sub2", EROFS),
    R(RENAME, 1, "nope", "sub2", ENOENT),
    R(SETTIMES, 1, "f.txt", NULL, EROFS),
    R(SETTIMES, 1, "sub", NULL, EROFS),
    R(SETTIMES, 1, ".", NULL, EROFS),
    R(SYMLINK, 1, "f.txt", "l", ENOTSUP),
    R(LINK, 1, "f.txt", "l", ENOTSUP),
    R(OPEN_W, 0, "etc/single.txt", NULL, EROFS),
    R(OPEN_TRUNC_RO, 0, "etc/single.txt", NULL, EROFS),
    R(SETTIMES, 0, "etc/single.txt", NULL, EROFS),
};

static void test_readonly(void **state)
{
    tw *t = *state;
    uint32_t bases[3], fd, n;
    char *before = tm_digest_of("");
    open_bases(t, bases);
    run_table(t, ro_rows, sizeof(ro_rows) / sizeof(ro_rows[0]), bases);
    /* fd-level mutations on what a read-only mount lets the guest open */
    EQ(tw_open(t, bases[1], "f.txt", 0, RIGHTS_RO, 0, &fd), 0);
    EQ(tw_write(t, fd, "x", &n), CLOCHE__WASI_EBADF);
    EQ(cloche__wasi_fd_filestat_set_size(TM_W(t), fd, 0), CLOCHE__WASI_EBADF);
    EQ(cloche__wasi_fd_allocate(TM_W(t), fd, 0, 100), CLOCHE__WASI_EBADF);
    EQ(cloche__wasi_fd_filestat_set_times(TM_W(t), fd, 1, 2,
                                          CLOCHE__WASI_FST_MTIM),
       CLOCHE__WASI_EROFS);
    EQ(cloche__wasi_fd_fdstat_set_rights(TM_W(t), fd, RIGHTS_RW, 0),
       CLOCHE__WASI_ENOTCAPABLE);
    EQ(cloche__wasi_fd_filestat_set_times(TM_W(t), bases[1], 1, 2,
                                          CLOCHE__WASI_FST_MTIM_NOW),
       CLOCHE__WASI_EROFS);
    /* reading works */
    EQ(tw_read(t, fd, 64, &n), 0);
    EQ(n, 10);
    assert_memory_equal(t->mem + A_BUF, "hello host", 10);
    EQ(cloche__wasi_fd_readdir(TM_W(t), bases[1], A_BUF, 4096, 0, A_OUT), 0);
    assert_true(rd32(t, A_OUT) > 100);
    assert_string_equal(tm_guest_read(t, 3, "etc/single.txt"), "single file");
    char *after = tm_digest_of("");
    assert_string_equal(before, after);
    free(before);
    free(after);
}

/* The same tests again with the component walk that stands in for
 * openat2 on kernels before 5.6. */
static int fallback_on(void **state)
{
    (void)state;
    cloche__vfs_mount_force_fallback(1);
    return 0;
}

static int fallback_off(void **state)
{
    (void)state;
    cloche__vfs_mount_force_fallback(0);
    return 0;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
#define TRW(f) cmocka_unit_test_setup_teardown(f, tm_setup_rw, tm_teardown)
#define TRO(f) cmocka_unit_test_setup_teardown(f, tm_setup_ro, tm_teardown)
    const struct CMUnitTest tests[] = {
        TRW(test_escape_table),       TRW(test_link_and_dots_view),
        TRW(test_swap_between_opens), TRW(test_concurrent_swapper),
        TRO(test_readonly),
    };
    int failed = cmocka_run_group_tests_name("openat2", tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("component walk", tests,
                                          fallback_on, fallback_off);
    return failed;
}
