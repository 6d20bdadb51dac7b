/*
 * test_wasi_mount_rw.c - host mounts doing their job: a read-write round
 * trip reflected on the host at once, fd calls on host files, readdir of
 * a host directory with cookies across small buffers, single-file mounts
 * (read-only and read-write), quotas not applying, the host descriptor
 * cap and descriptors closed with the fd table, allocation failures.
 */
#include "test_wasi_mount_util.h"

#define EQ assert_int_equal

static void test_rw_round_trip(void **state)
{
    tw *t = *state;
    uint32_t fd, fd2, n, m = tm_opendir(t, 3, "mnt/m");
    char *before = tm_digest_outside();
    EQ(tw_open(t, m, "new.txt", CLOCHE__WASI_O_CREAT | CLOCHE__WASI_O_EXCL,
               RIGHTS_RW, 0, &fd),
       0);
    EQ(tw_write(t, fd, "abc", &n), 0);
    EQ(n, 3);
    assert_string_equal(tm_read("m/new.txt"), "abc"); /* no caching */
    /* pwrite past the end zero-fills the gap */
    memcpy(t->mem + A_DATA, "Z", 1);
    put_iov(t, A_IOV, A_DATA, 1);
    EQ(cloche__wasi_fd_pwrite(TM_W(t), fd, A_IOV, 1, 6, A_OUT), 0);
    EQ(cloche__wasi_fd_filestat_get(TM_W(t), fd, A_BUF), 0);
    EQ(FS_SIZE(t), 7);
    EQ(FS_TYPE(t), CLOCHE__WASI_FILETYPE_REGULAR_FILE);
    assert_memory_equal(tm_read("m/new.txt"), "abc\0\0\0Z", 7);
    /* seek, tell, read, pread */
    EQ(cloche__wasi_fd_seek(TM_W(t), fd, -2, CLOCHE__WASI_WHENCE_END, A_OUT),
       0);
    EQ(rd64(t, A_OUT), 5);
    EQ(tw_read(t, fd, 10, &n), 0);
    EQ(n, 2);
    assert_memory_equal(t->mem + A_BUF, "\0Z", 2);
    EQ(cloche__wasi_fd_tell(TM_W(t), fd, A_OUT), 0);
    EQ(rd64(t, A_OUT), 7);
    put_iov(t, A_IOV, A_BUF, 3);
    EQ(cloche__wasi_fd_pread(TM_W(t), fd, A_IOV, 1, 1, A_OUT), 0);
    EQ(rd32(t, A_OUT), 3);
    assert_memory_equal(t->mem + A_BUF, "bc\0", 3);
    /* append, size, times, sync, fdstat */
    EQ(tw_open(t, m, "new.txt", 0, RIGHTS_RW, CLOCHE__WASI_FDFLAG_APPEND,
               &fd2),
       0);
    EQ(tw_write(t, fd2, "++", &n), 0);
    assert_memory_equal(tm_read("m/new.txt"), "abc\0\0\0Z++", 9);
    EQ(cloche__wasi_fd_filestat_set_size(TM_W(t), fd, 2), 0);
    assert_string_equal(tm_read("m/new.txt"), "ab");
    EQ(cloche__wasi_fd_allocate(TM_W(t), fd, 0, 4), 0);
    EQ(cloche__wasi_fd_filestat_get(TM_W(t), fd, A_BUF), 0);
    EQ(FS_SIZE(t), 4);
    EQ(cloche__wasi_fd_filestat_set_times(
           TM_W(t), fd, 1000000000ull * 1234567, 1000000000ull * 7654321,
           CLOCHE__WASI_FST_ATIM | CLOCHE__WASI_FST_MTIM),
       0);
    struct stat st;
    char p[512];
    tm_path(p, sizeof(p), "m/new.txt");
    EQ(stat(p, &st), 0);
    EQ(st.st_mtim.tv_sec, 7654321);
    EQ(st.st_atim.tv_sec, 1234567);
    EQ(cloche__wasi_fd_filestat_get(TM_W(t), fd, A_BUF), 0);
    EQ(FS_MTIM(t), 1000000000ull * 7654321);
    EQ(FS_INO(t), st.st_ino);
    EQ(cloche__wasi_fd_sync(TM_W(t), fd), 0);
    EQ(cloche__wasi_fd_datasync(TM_W(t), fd), 0);
    EQ(cloche__wasi_fd_fdstat_get(TM_W(t), m, A_BUF), 0);
    EQ(t->mem[A_BUF], CLOCHE__WASI_FILETYPE_DIRECTORY);
    /* O_TRUNC on an existing host file */
    EQ(tw_open(t, m, "f.txt", CLOCHE__WASI_O_TRUNC, RIGHTS_RW, 0, &fd2), 0);
    assert_string_equal(tm_read("m/f.txt"), "");
    /* directories, rename, unlink, rmdir */
    EQ(tw_mkdir(t, m, "d1"), 0);
    EQ(tw_mkdir(t, m, "d1/d2/"), 0);
    EQ(tw_mkdir(t, m, "d1"), CLOCHE__WASI_EEXIST);
    EQ(tm_rename_at(t, m, "new.txt", "d1/renamed.txt"), 0);
    assert_false(tm_exists("m/new.txt"));
    assert_memory_equal(tm_read("m/d1/renamed.txt"), "ab\0\0", 4);
    EQ(tw_write(t, fd, "!", &n), 0); /* the fd still writes the same file */
    EQ(tw_rmdir(t, m, "d1"), CLOCHE__WASI_ENOTEMPTY);
    EQ(tm_rename_at(t, m, "d1", "d1/d2/x"), CLOCHE__WASI_EINVAL);
    EQ(tm_rename_at(t, m, "d1/renamed.txt", "d1/d2"), CLOCHE__WASI_EISDIR);
    EQ(tm_rename_at(t, m, "d1/d2", "f.txt"), CLOCHE__WASI_ENOTDIR);
    EQ(tm_rename_at(t, m, "f.txt", "f.txt/"), CLOCHE__WASI_ENOTDIR);
    EQ(tm_rename_at(t, m, "d1", "d3"), 0);
    assert_true(tm_exists("m/d3/d2"));
    EQ(tw_unlink(t, m, "d3/renamed.txt/"), CLOCHE__WASI_ENOTDIR);
    EQ(tw_unlink(t, m, "d3/d2"), CLOCHE__WASI_EISDIR);
    EQ(tw_unlink(t, m, "d3/renamed.txt"), 0);
    EQ(tw_unlink(t, m, "d3/renamed.txt"), CLOCHE__WASI_ENOENT);
    EQ(tw_rmdir(t, m, "d3/d2"), 0);
    EQ(tw_rmdir(t, m, "d3"), 0);
    EQ(tw_rmdir(t, m, "."), CLOCHE__WASI_EINVAL);
    EQ(tw_rmdir(t, m, ".."), CLOCHE__WASI_ENOTEMPTY);
    assert_false(tm_exists("m/d3"));
    /* the unlinked file stays usable through its fd */
    put_iov(t, A_IOV, A_BUF, 3);
    EQ(cloche__wasi_fd_pread(TM_W(t), fd, A_IOV, 1, 0, A_OUT), 0);
    EQ(rd32(t, A_OUT), 3);
    EQ(tw_open(t, m, "sub/", CLOCHE__WASI_O_CREAT, RIGHTS_RW, 0, &fd2),
       CLOCHE__WASI_EISDIR);
    EQ(tw_open(t, m, "nodir/", CLOCHE__WASI_O_CREAT, RIGHTS_RW, 0, &fd2),
       CLOCHE__WASI_EISDIR);
    EQ(tw_open(t, m, "sub", 0, RIGHTS_RW, 0, &fd2), CLOCHE__WASI_EISDIR);
    EQ(tw_open(t, m, "f.txt", CLOCHE__WASI_O_DIRECTORY, RIGHTS_RO, 0, &fd2),
       CLOCHE__WASI_ENOTDIR);
    EQ(tw_open(t, m, "f.txt/", 0, RIGHTS_RO, 0, &fd2), CLOCHE__WASI_ENOTDIR);
    EQ(tw_open(t, m, ".", CLOCHE__WASI_O_CREAT | CLOCHE__WASI_O_EXCL,
               RIGHTS_RW, 0, &fd2),
       CLOCHE__WASI_EEXIST);
    /* times of a host directory by path (set through its parent) */
    EQ(tm_set_times(t, m, 0, "sub"), 0);
    tm_path(p, sizeof(p), "m/sub");
    EQ(stat(p, &st), 0);
    EQ(st.st_mtim.tv_sec, 0);
    EQ(st.st_mtim.tv_nsec, 6);
    EQ(tm_set_times(t, m, 0, "nope"), CLOCHE__WASI_ENOENT);
    /* renumbering over a host file fd releases its host descriptor */
    int fds = tm_count_fds();
    EQ(cloche__wasi_fd_renumber(TM_W(t), m, fd), 0);
    EQ(tm_count_fds(), fds - 1);
    EQ(cloche__wasi_fd_readdir(TM_W(t), fd, A_BUF, 512, 0, A_OUT), 0);
    char *after = tm_digest_outside();
    assert_string_equal(before, after);
    free(before);
    free(after);
}

/* ---- readdir ---------------------------------------------------------------- */

typedef struct seen {
    char names[128][64];
    uint8_t types[128];
    uint64_t inos[128];
    int n;
} seen;

/* List fd with fd_readdir and buffers of buf_len bytes, resuming from the
 * last complete record as wasi-libc does; fails on a repeated name. */
static void list_dir(tw *t, uint32_t fd, uint32_t buf_len, seen *s)
{
    uint64_t cookie = 0;
    s->n = 0;
    for (int round = 0; round < 10000; round++) {
        EQ(cloche__wasi_fd_readdir(TM_W(t), fd, A_BUF, buf_len, cookie,
                                   A_OUT),
           0);
        uint32_t used = rd32(t, A_OUT), off = 0;
        int complete = 0;
        while (off + 24 <= used) {
            uint32_t nl = rd32(t, A_BUF + off + 16);
            if (off + 24 + nl > used)
                break;
            assert_true(nl < 64 && s->n < 128);
            memcpy(s->names[s->n], t->mem + A_BUF + off + 24, nl);
            s->names[s->n][nl] = 0;
            s->types[s->n] = t->mem[A_BUF + off + 20];
            s->inos[s->n] = rd64(t, A_BUF + off + 8);
            for (int k = 0; k < s->n; k++)
                assert_string_not_equal(s->names[k], s->names[s->n]);
            s->n++;
            cookie = rd64(t, A_BUF + off);
            off += 24 + nl;
            complete++;
        }
        if (used < buf_len)
            return;
        assert_true(complete > 0); /* the buffer holds one record at least */
    }
    fail_msg("readdir did not end");
}

static int find(const seen *s, const char *name)
{
    for (int k = 0; k < s->n; k++)
        if (strcmp(s->names[k], name) == 0)
            return k;
    return -1;
}

static void test_readdir(void **state)
{
    tw *t = *state;
    seen s;
    char name[64];
    tm_mkdir("m/many");
    for (int i = 0; i < 60; i++) {
        snprintf(name, sizeof(name), "m/many/entry_%03d_abcdefgh", i);
        tm_write(name, "x");
    }
    uint32_t many = tm_opendir(t, 3, "mnt/m/many");
    const uint32_t sizes[] = {64, 100, 333, 4096};
    for (size_t z = 0; z < 4; z++) {
        list_dir(t, many, sizes[z], &s);
        EQ(s.n, 62);
        assert_string_equal(s.names[0], ".");
        assert_string_equal(s.names[1], "..");
        for (int i = 0; i < 60; i++) {
            snprintf(name, sizeof(name), "entry_%03d_abcdefgh", i);
            int k = find(&s, name);
            assert_true(k >= 2);
            EQ(s.types[k], CLOCHE__WASI_FILETYPE_REGULAR_FILE);
        }
    }
    /* entry types and inodes of the mount root */
    uint32_t m = tm_opendir(t, 3, "mnt/m");
    list_dir(t, m, 128, &s);
    EQ(s.n, 2 + 10); /* 9 entries of the fixture and many/ */
    EQ(s.types[find(&s, "link_passwd")], CLOCHE__WASI_FILETYPE_SYMBOLIC_LINK);
    EQ(s.types[find(&s, "link_up")], CLOCHE__WASI_FILETYPE_SYMBOLIC_LINK);
    EQ(s.types[find(&s, "fifo")], CLOCHE__WASI_FILETYPE_UNKNOWN);
    EQ(s.types[find(&s, "sub")], CLOCHE__WASI_FILETYPE_DIRECTORY);
    EQ(s.types[find(&s, "f.txt")], CLOCHE__WASI_FILETYPE_REGULAR_FILE);
    EQ(tw_stat(t, m, "f.txt"), 0);
    EQ(s.inos[find(&s, "f.txt")], FS_INO(t));
    EQ(tw_stat(t, 3, "mnt"), 0);
    EQ(s.inos[1], FS_INO(t)); /* ".." of the mount root is /mnt */
    /* the mount point as listed by its (memory) parent */
    uint32_t mnt = tm_opendir(t, 3, "mnt");
    list_dir(t, mnt, 4096, &s);
    EQ(s.n, 4);
    EQ(s.types[find(&s, "m")], CLOCHE__WASI_FILETYPE_DIRECTORY);
    /* a listing interleaved with an unlink: survivors exactly once, the
     * removed entry not at all (".", ".." and one 18-byte name fill 93) */
    list_dir(t, many, 4096, &s);
    EQ(cloche__wasi_fd_readdir(TM_W(t), many, A_BUF, 93, 0, A_OUT), 0);
    EQ(rd32(t, A_OUT), 93);
    char first[64] = {0};
    memcpy(first, t->mem + A_BUF + 51 + 24, 18);
    uint64_t cookie = rd64(t, A_BUF + 51);
    const char *victim = strcmp(s.names[s.n - 1], first) ? s.names[s.n - 1]
                                                          : s.names[s.n - 2];
    EQ(tw_unlink(t, many, victim), 0);
    seen rest;
    rest.n = 0;
    EQ(cloche__wasi_fd_readdir(TM_W(t), many, A_BUF, 60000 - A_BUF, cookie,
                               A_OUT),
       0);
    for (uint32_t off = 0; off < rd32(t, A_OUT);) {
        uint32_t nl = rd32(t, A_BUF + off + 16);
        memcpy(rest.names[rest.n], t->mem + A_BUF + off + 24, nl);
        rest.names[rest.n++][nl] = 0;
        off += 24 + nl;
    }
    EQ(rest.n, 58);
    assert_true(find(&rest, first) < 0);
    assert_true(find(&rest, victim) < 0);
    /* cookies past the end, and garbage cookies, end the listing */
    EQ(cloche__wasi_fd_readdir(TM_W(t), many, A_BUF, 512, UINT64_MAX, A_OUT),
       0);
    EQ(rd32(t, A_OUT), 0);
    EQ(cloche__wasi_fd_readdir(TM_W(t), many, A_BUF, 512, UINT64_MAX - 1,
                               A_OUT),
       0);
    /* a removed directory */
    EQ(tw_mkdir(t, m, "gone"), 0);
    uint32_t gone = tm_opendir(t, m, "gone");
    EQ(tw_rmdir(t, m, "gone"), 0);
    EQ(cloche__wasi_fd_readdir(TM_W(t), gone, A_BUF, 512, 0, A_OUT),
       CLOCHE__WASI_ENOENT);
}

/* ---- single-file mounts ------------------------------------------------------ */

static void test_single_file_ro(void **state)
{
    tw *t = *state;
    uint32_t fd, n;
    EQ(tw_stat(t, 3, "etc/single.txt"), 0);
    EQ(FS_TYPE(t), CLOCHE__WASI_FILETYPE_REGULAR_FILE);
    EQ(FS_SIZE(t), 11);
    assert_string_equal(tm_guest_read(t, 3, "etc/single.txt"), "single file");
    EQ(tw_open(t, 3, "etc/single.txt", 0, RIGHTS_RW, 0, &fd),
       CLOCHE__WASI_EROFS);
    EQ(tw_open(t, 3, "etc/single.txt", 0, RIGHTS_RO, 0, &fd), 0);
    EQ(tw_write(t, fd, "x", &n), CLOCHE__WASI_EBADF);
    EQ(cloche__wasi_fd_seek(TM_W(t), fd, 0, CLOCHE__WASI_WHENCE_END, A_OUT),
       0);
    EQ(rd64(t, A_OUT), 11);
    EQ(tw_open(t, 3, "etc/single.txt/", 0, RIGHTS_RO, 0, &fd),
       CLOCHE__WASI_ENOTDIR);
    EQ(tw_mkdir(t, 3, "etc/single.txt/x"), CLOCHE__WASI_ENOTDIR);
    EQ(tw_unlink(t, 3, "etc/single.txt"), CLOCHE__WASI_EBUSY);
    EQ(tw_rmdir(t, 3, "etc/single.txt"), CLOCHE__WASI_ENOTDIR);
    EQ(tw_rename(t, "etc/single.txt", "tmp/x"), CLOCHE__WASI_EBUSY);
    EQ(tw_rename(t, "lib/a.txt", "etc/single.txt"), CLOCHE__WASI_EBUSY);
    assert_string_equal(tm_read("single.txt"), "single file");
}

static int setup_single_rw(void **state)
{
    g_single_ro = 0;
    return tm_setup_rw(state);
}

static void test_single_file_rw(void **state)
{
    tw *t = *state;
    uint32_t fd, n;
    EQ(tw_open(t, 3, "etc/single.txt", 0, RIGHTS_RW, 0, &fd), 0);
    EQ(tw_write(t, fd, "SINGLE", &n), 0);
    assert_string_equal(tm_read("single.txt"), "SINGLE file");
    EQ(cloche__wasi_fd_filestat_set_size(TM_W(t), fd, 3), 0);
    assert_string_equal(tm_read("single.txt"), "SIN");
    EQ(tw_open(t, 3, "etc/single.txt", CLOCHE__WASI_O_TRUNC, RIGHTS_RW, 0,
               &fd),
       0);
    assert_string_equal(tm_read("single.txt"), "");
    uint32_t fd2;
    EQ(tw_open(t, 3, "etc/single.txt",
               CLOCHE__WASI_O_CREAT | CLOCHE__WASI_O_EXCL, RIGHTS_RW, 0, &fd2),
       CLOCHE__WASI_EEXIST);
    EQ(tw_unlink(t, 3, "etc/single.txt"), CLOCHE__WASI_EBUSY);
    EQ(cloche__wasi_fd_filestat_set_times(TM_W(t), fd, 0, 42000000000ull,
                                          CLOCHE__WASI_FST_MTIM),
       0);
    EQ(tw_stat(t, 3, "etc/single.txt"), 0);
    EQ(FS_MTIM(t), 42000000000ull);
}

/* ---- quotas, descriptors, allocation failures -------------------------------- */

static void test_quota_does_not_apply(void **state)
{
    tw *t = *state;
    uint32_t fd;
    uint64_t bytes0, nodes0, bytes1, nodes1;
    cloche__vfs_usage(t->vfs, &bytes0, &nodes0);
    /* 1.5 MiB into a VFS whose byte quota is 1 MiB, 100 files over a node
     * quota of 64 */
    EQ(tw_open(t, 3, "mnt/m/big", CLOCHE__WASI_O_CREAT, RIGHTS_RW, 0, &fd),
       0);
    memset(t->mem + A_DATA, 'b', 8192);
    put_iov(t, A_IOV, A_DATA, 8192);
    for (int i = 0; i < 192; i++) {
        EQ(cloche__wasi_fd_write(TM_W(t), fd, A_IOV, 1, A_OUT), 0);
        EQ(rd32(t, A_OUT), 8192);
    }
    char name[32];
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "mnt/m/f%d", i);
        EQ(tw_open(t, 3, name, CLOCHE__WASI_O_CREAT, RIGHTS_RW, 0, &fd), 0);
        EQ(cloche__wasi_fd_close(TM_W(t), fd), 0);
    }
    cloche__vfs_usage(t->vfs, &bytes1, &nodes1);
    EQ(bytes1, bytes0);
    EQ(nodes1, nodes0);
    char p[512];
    struct stat st;
    tm_path(p, sizeof(p), "m/big");
    EQ(stat(p, &st), 0);
    EQ(st.st_size, 192 * 8192);
}

static void test_fd_cap_and_close(void **state)
{
    tw *t = *state;
    uint32_t fd, opened = 0;
    int base = tm_count_fds();
    for (;;) {
        int32_t e = tw_open(t, 3, "mnt/m/f.txt", 0, RIGHTS_RO, 0, &fd);
        if (e) {
            EQ(e, CLOCHE__WASI_EMFILE);
            break;
        }
        opened++;
    }
    EQ(opened, CLOCHE__VFS_DEFAULT_HOST_FDS); /* far below the process's */
    EQ(tm_count_fds(), base + (int)opened);
    /* the cap counts host descriptors, not WASI fds: memory files and
     * directories of mounts still open */
    EQ(tw_open(t, 3, "tmp", 0, RIGHTS_RO, 0, &fd), 0);
    EQ(tw_open(t, 3, "mnt/m/sub", 0, RIGHTS_RO, 0, &fd), 0);
    /* directories hold no host descriptor; transient lookups free theirs */
    EQ(tw_stat(t, 3, "mnt/m/sub/g.txt"), 0);
    EQ(tm_count_fds(), base + (int)opened);
    for (uint32_t i = 4; i < 4 + CLOCHE__VFS_DEFAULT_HOST_FDS; i += 2)
        EQ(cloche__wasi_fd_close(TM_W(t), i), 0);
    EQ(tm_count_fds(), base + (int)CLOCHE__VFS_DEFAULT_HOST_FDS / 2);
    /* closing gives the descriptors back */
    EQ(tw_open(t, 3, "mnt/m/f.txt", 0, RIGHTS_RO, 0, &fd), 0);
    /* the rest go with the context (teardown checks the count) */
}

/* A VFS made with another cap on host descriptors. */
static void test_fd_cap_configured(void **state)
{
    (void)state;
    static const uint32_t caps[] = {1, 5, 2000};
    for (size_t i = 0; i < sizeof caps / sizeof *caps; i++) {
        cloche__vfs *vfs = NULL;
        cloche__vfs_limits lim = {1u << 20, 100, caps[i]};
        EQ(cloche__vfs_new(&vfs, &lim), 0);
        EQ(cloche__vfs_mkdir_p(vfs, "/mnt", 0), 0);
        char p[512];
        tm_path(p, sizeof p, "m");
        EQ(cloche__vfs_mount(vfs, "/mnt/m", p, 1), 0);
        cloche__vfs_node *held[CLOCHE__VFS_MAX_HOST_NODES + 1];
        uint32_t n = 0;
        for (;;) {
            int rc = cloche__vfs_open(&held[n], vfs, NULL, "/mnt/m/f.txt",
                                      12, CLOCHE__VFS_O_READ);
            if (rc) {
                EQ(rc, CLOCHE__EMFILE);
                break;
            }
            n++;
        }
        uint32_t want = caps[i] > CLOCHE__VFS_MAX_HOST_NODES
                            ? CLOCHE__VFS_MAX_HOST_NODES
                            : caps[i];
        assert_true(n == want || (want == CLOCHE__VFS_MAX_HOST_NODES &&
                                  n + 8 >= want)); /* + mount nodes */
        while (n)
            cloche__vfs_node_unref(held[--n]);
        cloche__vfs_free(vfs);
    }
}

/*
 * A host hard link inside a read-write mount may name a file outside it
 * (made by someone on the host; the guest cannot make links). It can be
 * read - its content sits in the granted folder - but never written,
 * truncated or re-timed; its name inside the mount may go or move.
 */
static void test_hard_links(void **state)
{
    tw *t = *state;
    char out[512], in[512];
    tm_path(out, sizeof out, "outside/secret");
    tm_path(in, sizeof in, "m/hard");
    EQ(link(out, in), 0);
    char *before = tm_digest_outside();
    uint32_t fd, n;
    assert_string_equal(tm_guest_read(t, 3, "mnt/m/hard"), "OUTSIDE SECRET");
    EQ(tw_open(t, 3, "mnt/m/hard", 0, RIGHTS_RW, 0, &fd), CLOCHE__WASI_EACCES);
    EQ(tw_open(t, 3, "mnt/m/hard", CLOCHE__WASI_O_TRUNC, RIGHTS_RW, 0, &fd),
       CLOCHE__WASI_EACCES);
    EQ(tw_open(t, 3, "mnt/m/hard", CLOCHE__WASI_O_CREAT, RIGHTS_RW, 0, &fd),
       CLOCHE__WASI_EACCES);
    EQ(tw_open(t, 3, "mnt/m/hard", 0, RIGHTS_RW, CLOCHE__WASI_FDFLAG_APPEND,
               &fd),
       CLOCHE__WASI_EACCES);
    EQ(tm_set_times(t, 3, 0, "mnt/m/hard"), CLOCHE__WASI_EACCES);
    /* opened for reading, its times cannot change through the fd either */
    EQ(tw_open(t, 3, "mnt/m/hard", 0, RIGHTS_RO, 0, &fd), 0);
    EQ(cloche__wasi_fd_filestat_set_times(TM_W(t), fd, 5, 6,
                                          CLOCHE__WASI_FST_ATIM |
                                              CLOCHE__WASI_FST_MTIM),
       CLOCHE__WASI_EACCES);
    EQ(tw_write(t, fd, "x", &n), CLOCHE__WASI_EBADF);
    EQ(cloche__wasi_fd_close(TM_W(t), fd), 0);
    EQ(tm_rename_at(t, 3, "mnt/m/hard", "mnt/m/hard2"), 0);
    EQ(tw_unlink(t, 3, "mnt/m/hard2"), 0);
    char *after = tm_digest_outside();
    assert_string_equal(after, before);
    assert_string_equal(tm_read("outside/secret"), "OUTSIDE SECRET");
    free(after);
    free(before);
    /* a file whose other link went is an ordinary file again */
    tm_path(in, sizeof in, "m/f.txt");
    tm_path(out, sizeof out, "m/f2.txt");
    EQ(link(in, out), 0);
    EQ(tw_open(t, 3, "mnt/m/f.txt", 0, RIGHTS_RW, 0, &fd),
       CLOCHE__WASI_EACCES);
    EQ(unlink(out), 0);
    EQ(tw_open(t, 3, "mnt/m/f.txt", 0, RIGHTS_RW, 0, &fd), 0);
    EQ(tw_write(t, fd, "ok", &n), 0);
}

static void test_alloc_failures(void **state)
{
    tw *t = *state;
    int done = 0;
    for (long k = 0; k < 200 && !done; k++) {
        uint32_t fd;
        cloche__alloc_fail_after(k);
        int32_t e = tw_open(t, 3, "mnt/m/sub/deeper/fresh",
                            CLOCHE__WASI_O_CREAT, RIGHTS_RW, 0, &fd);
        if (e == 0) {
            int32_t r = tm_rename_at(t, 3, "mnt/m/sub/deeper/fresh",
                                     "mnt/m/sub/deeper/moved");
            cloche__alloc_fail_after(-1);
            EQ(cloche__wasi_fd_close(TM_W(t), fd), 0);
            if (r == 0) {
                done = 1;
                break;
            }
            EQ(r, CLOCHE__WASI_ENOMEM);
            EQ(tw_unlink(t, 3, "mnt/m/sub/deeper/fresh"), 0);
            continue;
        }
        cloche__alloc_fail_after(-1);
        EQ(e, CLOCHE__WASI_ENOMEM);
        if (tm_exists("m/sub/deeper/fresh"))
            EQ(tw_unlink(t, 3, "mnt/m/sub/deeper/fresh"), 0);
    }
    assert_true(done);
    assert_true(tm_exists("m/sub/deeper/moved"));
    EQ(tm_count_fds(), g_fds0 + 3); /* the three mounts */
}

int main(void)
{
#define TRW(f) cmocka_unit_test_setup_teardown(f, tm_setup_rw, tm_teardown)
#define TRO(f) cmocka_unit_test_setup_teardown(f, tm_setup_ro, tm_teardown)
    const struct CMUnitTest tests[] = {
        TRW(test_rw_round_trip),
        TRW(test_hard_links),
        TRW(test_fd_cap_configured),
        TRW(test_readdir),
        TRO(test_single_file_ro),
        cmocka_unit_test_setup_teardown(test_single_file_rw, setup_single_rw,
                                        tm_teardown),
        TRW(test_quota_does_not_apply),
        TRW(test_fd_cap_and_close),
        TRW(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
