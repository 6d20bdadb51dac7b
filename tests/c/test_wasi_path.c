/*
 * test_wasi_path.c - path calls through the WASI layer: path_open flags,
 * escapes, NUL bytes and long paths from guest memory, mkdir/rmdir/unlink/
 * rename, filestat and times, readlink, the unsupported link/symlink.
 */
#include "test_wasi_util.h"

#define W(t) (t)->w, (t)->m
#define EQ assert_int_equal

static void test_open_flags(void **state)
{
    tw *t = *state;
    uint32_t fd, n, p = put_str(t, A_PATH, "tmp/x");
    EQ(cloche__wasi_path_open(W(t), 3, 2, A_PATH, p, CLOCHE__WASI_O_CREAT,
                              RIGHTS_RW, RIGHTS_RW, 0, A_OUT),
       CLOCHE__WASI_EINVAL); /* unknown lookup flag */
    EQ(cloche__wasi_path_open(W(t), 3, 0, A_PATH, p, 0x10, RIGHTS_RW,
                              RIGHTS_RW, 0, A_OUT),
       CLOCHE__WASI_EINVAL); /* unknown oflag */
    EQ(cloche__wasi_path_open(W(t), 3, 0, A_PATH, p, CLOCHE__WASI_O_CREAT,
                              RIGHTS_RW, RIGHTS_RW, 0x20, A_OUT),
       CLOCHE__WASI_EINVAL); /* unknown fdflag */
    EQ(tw_open(t, 3, "tmp/x", 0, RIGHTS_RO, 0, &fd), CLOCHE__WASI_ENOENT);
    EQ(tw_open(t, 3, "tmp/x", CLOCHE__WASI_O_CREAT | CLOCHE__WASI_O_EXCL,
               RIGHTS_RW, 0, &fd),
       0);
    EQ(tw_write(t, fd, "data", &n), 0);
    EQ(tw_open(t, 3, "tmp/x", CLOCHE__WASI_O_CREAT | CLOCHE__WASI_O_EXCL,
               RIGHTS_RW, 0, &fd),
       CLOCHE__WASI_EEXIST);
    EQ(tw_open(t, 3, "tmp/x", CLOCHE__WASI_O_DIRECTORY, RIGHTS_RO, 0, &fd),
       CLOCHE__WASI_ENOTDIR);
    EQ(tw_open(t, 3, "tmp/x/", 0, RIGHTS_RO, 0, &fd), CLOCHE__WASI_ENOTDIR);
    EQ(tw_open(t, 3, "tmp", 0, RIGHTS_RW, 0, &fd), CLOCHE__WASI_EISDIR);
    EQ(tw_open(t, 3, "tmp/y",
               CLOCHE__WASI_O_CREAT | CLOCHE__WASI_O_DIRECTORY, RIGHTS_RW, 0,
               &fd),
       CLOCHE__WASI_EINVAL);
    EQ(tw_open(t, 3, "tmp/x", CLOCHE__WASI_O_TRUNC, RIGHTS_RW, 0, &fd), 0);
    EQ(cloche__wasi_fd_filestat_get(W(t), fd, A_BUF), 0);
    EQ(FS_SIZE(t), 0);
    /* opening the preopen itself, and a directory without O_DIRECTORY */
    EQ(tw_open(t, 3, ".", 0, RIGHTS_RO, 0, &fd), 0);
    EQ(cloche__wasi_fd_fdstat_get(W(t), fd, A_BUF), 0);
    EQ(t->mem[A_BUF], CLOCHE__WASI_FILETYPE_DIRECTORY);
    /* fd_out out of range: nothing is opened or created */
    p = put_str(t, A_PATH, "tmp/z");
    EQ(cloche__wasi_path_open(W(t), 3, 0, A_PATH, p, CLOCHE__WASI_O_CREAT,
                              RIGHTS_RW, RIGHTS_RW, 0, MEM_SIZE - 3),
       CLOCHE__WASI_EFAULT);
    EQ(tw_stat(t, 3, "tmp/z"), CLOCHE__WASI_ENOENT);
}

static void test_escapes(void **state)
{
    tw *t = *state;
    uint32_t fd, dfd, n;
    EQ(tw_open(t, 3, "../../../tmp/e1", CLOCHE__WASI_O_CREAT, RIGHTS_RW, 0,
               &fd),
       0);
    EQ(tw_stat(t, 3, "tmp/e1"), 0);
    EQ(tw_open(t, 3, "/tmp/e2", CLOCHE__WASI_O_CREAT, RIGHTS_RW, 0, &fd), 0);
    EQ(tw_stat(t, 3, "tmp/e2"), 0);
    EQ(tw_mkdir(t, 3, "tmp/sub"), 0);
    EQ(tw_open(t, 3, "tmp/sub", CLOCHE__WASI_O_DIRECTORY, RIGHTS_RO, 0, &dfd),
       0);
    /* relative to a sub-directory fd, ".." moves inside the VFS */
    EQ(tw_open(t, dfd, "../e1", 0, RIGHTS_RO, 0, &fd), 0);
    EQ(tw_open(t, dfd, "../../../../lib/a.txt", 0, RIGHTS_RO, 0, &fd), 0);
    EQ(tw_read(t, fd, 5, &n), 0);
    assert_memory_equal(t->mem + A_BUF, "hello", 5);
    EQ(tw_open(t, dfd, "/lib/a.txt", 0, RIGHTS_RO, 0, &fd), 0);
    /* paths from guest memory: NUL bytes, length, bounds */
    memcpy(t->mem + A_PATH, "tmp\0e1", 6);
    EQ(cloche__wasi_path_filestat_get(W(t), 3, 0, A_PATH, 6, A_BUF),
       CLOCHE__WASI_EINVAL);
    EQ(cloche__wasi_path_filestat_get(W(t), 3, 0, A_PATH, 0, A_BUF),
       CLOCHE__WASI_ENOENT);
    memset(t->mem + A_DATA, '/', 4097);
    EQ(cloche__wasi_path_filestat_get(W(t), 3, 0, A_DATA, 4096, A_BUF), 0);
    EQ(cloche__wasi_path_filestat_get(W(t), 3, 0, A_DATA, 4097, A_BUF),
       CLOCHE__WASI_ENAMETOOLONG);
    EQ(cloche__wasi_path_filestat_get(W(t), 3, 0, MEM_SIZE - 2, 3, A_BUF),
       CLOCHE__WASI_EFAULT);
    EQ(cloche__wasi_path_filestat_get(W(t), 3, 0, A_PATH, UINT32_MAX, A_BUF),
       CLOCHE__WASI_EFAULT);
    memset(t->mem + A_DATA, 'n', 256);
    EQ(cloche__wasi_path_create_directory(W(t), dfd, A_DATA, 256),
       CLOCHE__WASI_ENAMETOOLONG);
    EQ(cloche__wasi_path_create_directory(W(t), dfd, A_DATA, 255), 0);
    /* a path call on a file fd */
    EQ(tw_mkdir(t, fd, "x"), CLOCHE__WASI_ENOTDIR);
    EQ(tw_mkdir(t, 1, "x"), CLOCHE__WASI_ENOTDIR);
    EQ(tw_mkdir(t, 99, "x"), CLOCHE__WASI_EBADF);
}

static void test_dirs_and_unlink(void **state)
{
    tw *t = *state;
    uint32_t fd;
    EQ(tw_mkdir(t, 3, "tmp/a"), 0);
    EQ(tw_mkdir(t, 3, "tmp/a"), CLOCHE__WASI_EEXIST);
    EQ(tw_mkdir(t, 3, "tmp/a/b/c"), CLOCHE__WASI_ENOENT);
    EQ(tw_mkdir(t, 3, "tmp/a/b/"), 0);
    EQ(tw_open(t, 3, "tmp/a/f", CLOCHE__WASI_O_CREAT, RIGHTS_RW, 0, &fd), 0);
    EQ(tw_rmdir(t, 3, "tmp/a"), CLOCHE__WASI_ENOTEMPTY);
    EQ(tw_rmdir(t, 3, "tmp/a/f"), CLOCHE__WASI_ENOTDIR);
    EQ(tw_unlink(t, 3, "tmp/a/b"), CLOCHE__WASI_EISDIR);
    EQ(tw_unlink(t, 3, "tmp/a/f/"), CLOCHE__WASI_ENOTDIR);
    EQ(tw_unlink(t, 3, "tmp/a/f"), 0);
    EQ(tw_unlink(t, 3, "tmp/a/f"), CLOCHE__WASI_ENOENT);
    EQ(tw_rmdir(t, 3, "tmp/a/b"), 0);
    EQ(tw_rmdir(t, 3, "tmp/a"), 0);
    EQ(tw_rmdir(t, 3, "."), CLOCHE__WASI_EINVAL);
    EQ(tw_rmdir(t, 3, "/"), CLOCHE__WASI_EBUSY);
    EQ(tw_stat(t, 3, "tmp"), 0);
    EQ(FS_NLINK(t), 2);
}

static void test_rename(void **state)
{
    tw *t = *state;
    uint32_t fd, n;
    EQ(tw_open(t, 3, "tmp/a", CLOCHE__WASI_O_CREAT, RIGHTS_RW, 0, &fd), 0);
    EQ(tw_write(t, fd, "AAA", &n), 0);
    EQ(tw_open(t, 3, "tmp/b", CLOCHE__WASI_O_CREAT, RIGHTS_RW, 0, &fd), 0);
    EQ(tw_mkdir(t, 3, "tmp/d"), 0);
    EQ(tw_rename(t, "tmp/a", "tmp/b"), 0);
    EQ(tw_stat(t, 3, "tmp/b"), 0);
    EQ(FS_SIZE(t), 3);
    EQ(tw_stat(t, 3, "tmp/a"), CLOCHE__WASI_ENOENT);
    EQ(tw_rename(t, "tmp/b", "tmp/d"), CLOCHE__WASI_EISDIR);
    EQ(tw_rename(t, "tmp/d", "tmp/b"), CLOCHE__WASI_ENOTDIR);
    EQ(tw_rename(t, "tmp/d", "tmp/d/e"), CLOCHE__WASI_EINVAL);
    EQ(tw_rename(t, "tmp/b", "tmp/d/b"), 0);
    EQ(tw_rename(t, "tmp/nope", "tmp/x"), CLOCHE__WASI_ENOENT);
    EQ(tw_rename(t, "tmp/d", "tmp/e"), 0);
    EQ(tw_stat(t, 3, "tmp/e/b"), 0);
    /* across two directory fds */
    uint32_t e;
    EQ(tw_open(t, 3, "tmp/e", CLOCHE__WASI_O_DIRECTORY, RIGHTS_RO, 0, &e), 0);
    uint32_t a = put_str(t, A_PATH, "b");
    uint32_t b = put_str(t, A_PATH2, "tmp/moved");
    EQ(cloche__wasi_path_rename(W(t), e, A_PATH, a, 3, A_PATH2, b), 0);
    EQ(tw_stat(t, 3, "tmp/moved"), 0);
    EQ(cloche__wasi_path_rename(W(t), e, A_PATH, a, 99, A_PATH2, b),
       CLOCHE__WASI_EBADF);
    EQ(cloche__wasi_path_rename(W(t), e, A_PATH, a, 3, MEM_SIZE, 1),
       CLOCHE__WASI_EFAULT);
    EQ(cloche__wasi_path_rename(W(t), 1, A_PATH, a, 3, A_PATH2, b),
       CLOCHE__WASI_ENOTDIR);
}

static void test_filestat_times(void **state)
{
    tw *t = *state;
    uint32_t fd, n;
    t->now += 5000; /* 5 us after the context started */
    EQ(tw_open(t, 3, "tmp/t", CLOCHE__WASI_O_CREAT, RIGHTS_RW, 0, &fd), 0);
    EQ(tw_stat(t, 3, "tmp/t"), 0);
    EQ(FS_TYPE(t), CLOCHE__WASI_FILETYPE_REGULAR_FILE);
    EQ(FS_MTIM(t), CLOCHE__EPOCH_2000_NS + 5000);
    EQ(FS_ATIM(t), CLOCHE__EPOCH_2000_NS + 5000);
    EQ(FS_CTIM(t), CLOCHE__EPOCH_2000_NS + 5000);
    t->now += 1000;
    EQ(tw_write(t, fd, "x", &n), 0);
    EQ(tw_stat(t, 3, "tmp/t"), 0);
    EQ(FS_MTIM(t), CLOCHE__EPOCH_2000_NS + 6000);
    EQ(FS_ATIM(t), CLOCHE__EPOCH_2000_NS + 5000);
    uint32_t p = put_str(t, A_PATH, "tmp/t");
    EQ(cloche__wasi_path_filestat_set_times(W(t), 3, 0, A_PATH, p, 111, 222,
                                            CLOCHE__WASI_FST_ATIM |
                                                CLOCHE__WASI_FST_MTIM),
       0);
    EQ(tw_stat(t, 3, "tmp/t"), 0);
    EQ(FS_ATIM(t), 111);
    EQ(FS_MTIM(t), 222);
    t->now += 1000;
    EQ(cloche__wasi_path_filestat_set_times(W(t), 3, 0, A_PATH, p, 0, 0,
                                            CLOCHE__WASI_FST_MTIM_NOW),
       0);
    EQ(tw_stat(t, 3, "tmp/t"), 0);
    EQ(FS_ATIM(t), 111);
    EQ(FS_MTIM(t), CLOCHE__EPOCH_2000_NS + 7000);
    EQ(FS_CTIM(t), CLOCHE__EPOCH_2000_NS + 7000);
    EQ(cloche__wasi_path_filestat_set_times(W(t), 3, 0, A_PATH, p, 0, 0,
                                            CLOCHE__WASI_FST_ATIM |
                                                CLOCHE__WASI_FST_ATIM_NOW),
       CLOCHE__WASI_EINVAL);
    EQ(cloche__wasi_path_filestat_set_times(W(t), 3, 0, A_PATH, p, 0, 0,
                                            CLOCHE__WASI_FST_MTIM |
                                                CLOCHE__WASI_FST_MTIM_NOW),
       CLOCHE__WASI_EINVAL);
    EQ(cloche__wasi_path_filestat_set_times(W(t), 3, 0, A_PATH, p, 0, 0, 0x10),
       CLOCHE__WASI_EINVAL);
    EQ(cloche__wasi_path_filestat_set_times(W(t), 3, 2, A_PATH, p, 0, 0, 0),
       CLOCHE__WASI_EINVAL);
    p = put_str(t, A_PATH, "lib/a.txt");
    EQ(cloche__wasi_path_filestat_set_times(W(t), 3, 0, A_PATH, p, 0, 0,
                                            CLOCHE__WASI_FST_ATIM_NOW),
       CLOCHE__WASI_EROFS);
    EQ(tw_stat(t, 3, "lib/a.txt"), 0);
    EQ(FS_SIZE(t), 11);
    EQ(FS_NLINK(t), 1);
    EQ(tw_stat(t, 3, "lib"), 0);
    EQ(FS_TYPE(t), CLOCHE__WASI_FILETYPE_DIRECTORY);
    EQ(FS_SIZE(t), 0);
    p = put_str(t, A_PATH, "tmp/t");
    EQ(cloche__wasi_path_filestat_get(W(t), 3, 2, A_PATH, p, A_BUF),
       CLOCHE__WASI_EINVAL);
    EQ(cloche__wasi_path_filestat_get(W(t), 3, 0, A_PATH, p, MEM_SIZE - 63),
       CLOCHE__WASI_EFAULT);
}

static void test_links_unsupported(void **state)
{
    tw *t = *state;
    uint32_t a = put_str(t, A_PATH, "lib/a.txt");
    uint32_t b = put_str(t, A_PATH2, "tmp/l");
    EQ(cloche__wasi_path_readlink(W(t), 3, A_PATH, a, A_BUF, 64, A_OUT),
       CLOCHE__WASI_EINVAL);
    EQ(cloche__wasi_path_readlink(W(t), 3, A_PATH2, b, A_BUF, 64, A_OUT),
       CLOCHE__WASI_ENOENT);
    EQ(cloche__wasi_path_readlink(W(t), 3, A_PATH, a, MEM_SIZE, 64, A_OUT),
       CLOCHE__WASI_EFAULT);
    EQ(cloche__wasi_path_symlink(W(t), A_PATH, a, 3, A_PATH2, b),
       CLOCHE__WASI_ENOTSUP);
    EQ(cloche__wasi_path_symlink(W(t), A_PATH, a, 77, A_PATH2, b),
       CLOCHE__WASI_EBADF);
    EQ(cloche__wasi_path_link(W(t), 3, 0, A_PATH, a, 3, A_PATH2, b),
       CLOCHE__WASI_ENOTSUP);
    EQ(cloche__wasi_path_link(W(t), 3, 0, A_PATH, a, 77, A_PATH2, b),
       CLOCHE__WASI_EBADF);
    EQ(tw_stat(t, 3, "tmp/l"), CLOCHE__WASI_ENOENT);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tw_setup, tw_teardown)
    const struct CMUnitTest tests[] = {
        T(test_open_flags), T(test_escapes),        T(test_dirs_and_unlink),
        T(test_rename),     T(test_filestat_times), T(test_links_unsupported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
