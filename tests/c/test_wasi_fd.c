/*
 * test_wasi_fd.c - fd calls: stdio capture, file I/O, seek/tell,
 * pread/pwrite, readdir records and cookies, fdstat/filestat, prestat,
 * renumber, exhaustion, read-only enforcement, quotas.
 */
#include "test_wasi_util.h"

#include <stdio.h>

#define W(t) (t)->w, (t)->m
#define EQ assert_int_equal

/* A single fd_write subscription on fd at A_IOV. */
static void put_fdsub_write(tw *t, uint32_t fd)
{
    memset(t->mem + A_IOV, 0, CLOCHE__WASI_SUBSCRIPTION_SIZE);
    t->mem[A_IOV + 8] = CLOCHE__WASI_EVENT_FD_WRITE;
    put32(t, A_IOV + 16, fd);
}

static void test_stdout_capture(void **state)
{
    tw *t = *state;
    uint32_t n;
    size_t len;
    EQ(tw_write(t, 1, "hello ", &n), 0);
    EQ(n, 6);
    /* two iovecs in one call */
    put_str(t, A_DATA, "wor");
    put_str(t, A_DATA + 16, "ld\n");
    put_iov(t, A_IOV, A_DATA, 3);
    put_iov(t, A_IOV + 8, A_DATA + 16, 3);
    EQ(cloche__wasi_fd_write(W(t), 1, A_IOV, 2, A_OUT), 0);
    EQ(rd32(t, A_OUT), 6);
    const uint8_t *out = cloche__wasi_output(t->w, 1, &len);
    EQ(len, 12);
    assert_memory_equal(out, "hello world\n", 12);
    EQ(tw_write(t, 2, "err", &n), 0);
    out = cloche__wasi_output(t->w, 2, &len);
    EQ(len, 3);
    assert_memory_equal(out, "err", 3);
    EQ(t->out_calls, 4);
    EQ(t->out_log_len, 19);
    assert_memory_equal(t->out_log, "1hello 1wor1ld\n2err", 19);
    assert_null(cloche__wasi_output(t->w, 0, &len));
    EQ(len, 0);
    assert_null(cloche__wasi_output(t->w, 3, &len));
    EQ(cloche__wasi_take_trap(t->w, NULL), CLOCHE__WASI_TRAP_NONE);
    cloche__wasi_reset_output(t->w);
    out = cloche__wasi_output(t->w, 1, &len);
    EQ(len, 0);
    assert_non_null(out);
    EQ(tw_write(t, 1, "again", &n), 0);
    out = cloche__wasi_output(t->w, 1, &len);
    EQ(len, 5);
    assert_memory_equal(out, "again", 5);
}

/* stderr cap is 16: a write past it keeps what fits, succeeds for those
 * bytes and sets the OUTPUT_LIMIT trap. */
static void test_output_cap(void **state)
{
    tw *t = *state;
    uint32_t n, code = 99;
    size_t len;
    EQ(tw_write(t, 2, "0123456789", &n), 0);
    EQ(n, 10);
    EQ(tw_write(t, 2, "abcdefghij", &n), 0);
    EQ(n, 6);
    const uint8_t *out = cloche__wasi_output(t->w, 2, &len);
    EQ(len, 16);
    assert_memory_equal(out, "0123456789abcdef", 16);
    EQ(cloche__wasi_output_tripped(t->w), 2);
    EQ(cloche__wasi_take_trap(t->w, &code), CLOCHE__WASI_TRAP_OUTPUT_LIMIT);
    EQ(code, 0);
    EQ(cloche__wasi_output_tripped(t->w), 2); /* survives take_trap */
    EQ(cloche__wasi_take_trap(t->w, &code), CLOCHE__WASI_TRAP_NONE);
    EQ(tw_write(t, 2, "x", &n), 0);
    EQ(n, 0);
    EQ(cloche__wasi_take_trap(t->w, NULL), CLOCHE__WASI_TRAP_OUTPUT_LIMIT);
    /* an empty write is not over the cap */
    EQ(tw_write(t, 2, "", &n), 0);
    EQ(n, 0);
    EQ(cloche__wasi_take_trap(t->w, NULL), CLOCHE__WASI_TRAP_NONE);
    /* the last on_output call carried only the kept bytes */
    assert_memory_equal(t->out_log + t->out_log_len - 7, "2abcdef", 7);
    /* stdout over its cap later: the first stream to trip is reported */
    EQ(cloche__wasi_output_tripped(t->w), 2);
    cloche__wasi_reset_output(t->w);
    EQ(cloche__wasi_output_tripped(t->w), 0);
    /* lowering a cap below what is captured keeps the bytes, takes no more */
    EQ(tw_write(t, 1, "0123456789", &n), 0);
    cloche__wasi_set_output_caps(t->w, 4, 100);
    EQ(tw_write(t, 1, "x", &n), 0);
    EQ(n, 0);
    EQ(cloche__wasi_output_tripped(t->w), 1);
    EQ(cloche__wasi_take_trap(t->w, NULL), CLOCHE__WASI_TRAP_OUTPUT_LIMIT);
    cloche__wasi_output(t->w, 1, &len);
    EQ(len, 10);
    put_fdsub_write(t, 1);
    EQ(cloche__wasi_poll_oneoff(t->w, t->m, A_IOV, A_BUF, 1, A_OUT), 0);
    EQ(rd64(t, A_BUF + 16), 0); /* no room left */
    EQ(tw_write(t, 2, "0123456789abcdefXYZ", &n), 0); /* cap now 100 */
    EQ(n, 19);
    cloche__wasi_output(t->w, 2, &len);
    EQ(len, 19);
}

static void test_stdio_kinds(void **state)
{
    tw *t = *state;
    uint32_t n = 7;
    EQ(tw_read(t, 0, 10, &n), 0);
    EQ(n, 0); /* stdin: EOF */
    EQ(tw_read(t, 1, 10, &n), CLOCHE__WASI_EBADF);
    EQ(tw_write(t, 0, "x", &n), CLOCHE__WASI_EBADF);
    EQ(cloche__wasi_fd_seek(W(t), 1, 0, 0, A_OUT), CLOCHE__WASI_ESPIPE);
    EQ(cloche__wasi_fd_tell(W(t), 0, A_OUT), CLOCHE__WASI_ESPIPE);
    put_iov(t, A_IOV, A_BUF, 4);
    EQ(cloche__wasi_fd_pread(W(t), 0, A_IOV, 1, 0, A_OUT), CLOCHE__WASI_ESPIPE);
    EQ(cloche__wasi_fd_pwrite(W(t), 1, A_IOV, 1, 0, A_OUT), CLOCHE__WASI_ESPIPE);
    EQ(cloche__wasi_fd_readdir(W(t), 1, A_BUF, 64, 0, A_OUT),
       CLOCHE__WASI_ENOTDIR);
    EQ(cloche__wasi_fd_filestat_set_size(W(t), 1, 0), CLOCHE__WASI_EINVAL);
    EQ(cloche__wasi_fd_allocate(W(t), 1, 0, 1), CLOCHE__WASI_ESPIPE);
    EQ(cloche__wasi_fd_advise(W(t), 1, 0, 0, 0), CLOCHE__WASI_ESPIPE);
    EQ(cloche__wasi_fd_sync(W(t), 1), 0);
    EQ(cloche__wasi_fd_datasync(W(t), 2), 0);
    /* fdstat: not a terminal (UNKNOWN, no seek/tell rights) */
    EQ(cloche__wasi_fd_fdstat_get(W(t), 1, A_BUF), 0);
    EQ(t->mem[A_BUF], CLOCHE__WASI_FILETYPE_UNKNOWN);
    EQ(rd16(t, A_BUF + 2), 0);
    EQ(rd64(t, A_BUF + 8), CLOCHE__WASI_RIGHTS_STDOUT);
    EQ(rd64(t, A_BUF + 16), 0);
    EQ(cloche__wasi_fd_fdstat_get(W(t), 0, A_BUF), 0);
    EQ(rd64(t, A_BUF + 8), CLOCHE__WASI_RIGHTS_STDIN);
    memset(t->mem + A_BUF, 0xAA, 64);
    EQ(cloche__wasi_fd_filestat_get(W(t), 2, A_BUF), 0);
    EQ(rd64(t, A_BUF), 0);
    EQ(FS_INO(t), 0);
    EQ(FS_TYPE(t), CLOCHE__WASI_FILETYPE_UNKNOWN);
    EQ(FS_NLINK(t), 1);
    EQ(FS_SIZE(t), 0);
    EQ(FS_MTIM(t), 0);
    EQ(cloche__wasi_fd_filestat_set_times(W(t), 1, 0, 0,
                                          CLOCHE__WASI_FST_MTIM_NOW),
       0);
}

static void test_file_io(void **state)
{
    tw *t = *state;
    uint32_t fd, n;
    EQ(tw_open(t, 3, "tmp/f.txt", CLOCHE__WASI_O_CREAT, RIGHTS_RW, 0, &fd), 0);
    EQ(fd, 4);
    EQ(tw_write(t, fd, "hello world", &n), 0);
    EQ(n, 11);
    EQ(cloche__wasi_fd_tell(W(t), fd, A_OUT), 0);
    EQ(rd64(t, A_OUT), 11);
    EQ(cloche__wasi_fd_seek(W(t), fd, 6, CLOCHE__WASI_WHENCE_SET, A_OUT), 0);
    EQ(rd64(t, A_OUT), 6);
    EQ(tw_read(t, fd, 100, &n), 0);
    EQ(n, 5);
    assert_memory_equal(t->mem + A_BUF, "world", 5);
    EQ(tw_read(t, fd, 100, &n), 0);
    EQ(n, 0);
    /* pread/pwrite leave the position alone */
    put_iov(t, A_IOV, A_BUF, 5);
    EQ(cloche__wasi_fd_pread(W(t), fd, A_IOV, 1, 0, A_OUT), 0);
    EQ(rd32(t, A_OUT), 5);
    assert_memory_equal(t->mem + A_BUF, "hello", 5);
    put_str(t, A_DATA, "HE");
    put_iov(t, A_IOV, A_DATA, 2);
    EQ(cloche__wasi_fd_pwrite(W(t), fd, A_IOV, 1, 0, A_OUT), 0);
    EQ(rd32(t, A_OUT), 2);
    EQ(cloche__wasi_fd_tell(W(t), fd, A_OUT), 0);
    EQ(rd64(t, A_OUT), 11);
    /* pwrite past the end zero-fills the gap */
    put_iov(t, A_IOV, A_DATA, 2);
    EQ(cloche__wasi_fd_pwrite(W(t), fd, A_IOV, 1, 14, A_OUT), 0);
    put_iov(t, A_IOV, A_BUF, 32);
    EQ(cloche__wasi_fd_pread(W(t), fd, A_IOV, 1, 0, A_OUT), 0);
    EQ(rd32(t, A_OUT), 16);
    assert_memory_equal(t->mem + A_BUF, "HEllo world\0\0\0HE", 16);
    /* pread into two iovecs, the second partly filled */
    put_iov(t, A_IOV, A_BUF, 10);
    put_iov(t, A_IOV + 8, A_BUF + 100, 10);
    EQ(cloche__wasi_fd_pread(W(t), fd, A_IOV, 2, 4, A_OUT), 0);
    EQ(rd32(t, A_OUT), 12);
    assert_memory_equal(t->mem + A_BUF + 100, "HE", 2);
    EQ(cloche__wasi_fd_pread(W(t), fd, A_IOV, 1, UINT64_MAX, A_OUT),
       CLOCHE__WASI_EINVAL);
    EQ(cloche__wasi_fd_pwrite(W(t), fd, A_IOV, 1, (uint64_t)INT64_MAX + 1,
                              A_OUT),
       CLOCHE__WASI_EINVAL);
    EQ(cloche__wasi_fd_pwrite(W(t), fd, A_IOV, 1, (uint64_t)INT64_MAX - 3,
                              A_OUT),
       CLOCHE__WASI_EFBIG);
    /* filestat */
    EQ(cloche__wasi_fd_filestat_get(W(t), fd, A_BUF), 0);
    EQ(rd64(t, A_BUF), 1);
    EQ(FS_TYPE(t), CLOCHE__WASI_FILETYPE_REGULAR_FILE);
    EQ(FS_NLINK(t), 1);
    EQ(FS_SIZE(t), 16);
    EQ(FS_MTIM(t), CLOCHE__EPOCH_2000_NS); /* fake clock still at start */
    EQ(cloche__wasi_fd_close(W(t), fd), 0);
    EQ(cloche__wasi_fd_close(W(t), fd), CLOCHE__WASI_EBADF);
}

static void test_append_and_sizes(void **state)
{
    tw *t = *state;
    uint32_t fd, n;
    EQ(tw_open(t, 3, "tmp/log", CLOCHE__WASI_O_CREAT, RIGHTS_RW,
               CLOCHE__WASI_FDFLAG_APPEND, &fd),
       0);
    EQ(tw_write(t, fd, "ab", &n), 0);
    EQ(cloche__wasi_fd_seek(W(t), fd, 0, CLOCHE__WASI_WHENCE_SET, A_OUT), 0);
    EQ(tw_write(t, fd, "cd", &n), 0);
    EQ(cloche__wasi_fd_tell(W(t), fd, A_OUT), 0);
    EQ(rd64(t, A_OUT), 4);
    EQ(cloche__wasi_fd_fdstat_get(W(t), fd, A_BUF), 0);
    EQ(t->mem[A_BUF], CLOCHE__WASI_FILETYPE_REGULAR_FILE);
    EQ(rd16(t, A_BUF + 2), CLOCHE__WASI_FDFLAG_APPEND);
    EQ(rd64(t, A_BUF + 8), CLOCHE__WASI_RIGHTS_FILE);
    EQ(cloche__wasi_fd_fdstat_set_flags(W(t), fd, 0), 0);
    EQ(cloche__wasi_fd_fdstat_set_flags(W(t), fd, 0x20), CLOCHE__WASI_EINVAL);
    EQ(cloche__wasi_fd_seek(W(t), fd, 0, CLOCHE__WASI_WHENCE_SET, A_OUT), 0);
    EQ(tw_write(t, fd, "A", &n), 0);
    EQ(cloche__wasi_fd_filestat_set_size(W(t), fd, 2), 0);
    EQ(cloche__wasi_fd_filestat_get(W(t), fd, A_BUF), 0);
    EQ(FS_SIZE(t), 2);
    EQ(cloche__wasi_fd_allocate(W(t), fd, 4, 6), 0);
    EQ(cloche__wasi_fd_filestat_get(W(t), fd, A_BUF), 0);
    EQ(FS_SIZE(t), 10);
    EQ(cloche__wasi_fd_allocate(W(t), fd, 0, 1), 0); /* never shrinks */
    EQ(cloche__wasi_fd_allocate(W(t), fd, 0, 0), CLOCHE__WASI_EINVAL);
    EQ(cloche__wasi_fd_allocate(W(t), fd, UINT64_MAX, 1), CLOCHE__WASI_EFBIG);
    EQ(cloche__wasi_fd_allocate(W(t), fd, 1, UINT64_MAX), CLOCHE__WASI_EFBIG);
    EQ(cloche__wasi_fd_filestat_set_size(W(t), fd, UINT64_MAX),
       CLOCHE__WASI_EFBIG);
    /* quota: 1 MiB in this fixture */
    EQ(cloche__wasi_fd_allocate(W(t), fd, 0, 2u << 20), CLOCHE__WASI_ENOSPC);
    EQ(cloche__wasi_fd_filestat_set_size(W(t), fd, 2u << 20),
       CLOCHE__WASI_ENOSPC);
    put_iov(t, A_IOV, A_DATA, 1);
    EQ(cloche__wasi_fd_pwrite(W(t), fd, A_IOV, 1, 2u << 20, A_OUT),
       CLOCHE__WASI_ENOSPC);
    EQ(cloche__wasi_fd_filestat_get(W(t), fd, A_BUF), 0);
    EQ(FS_SIZE(t), 10);
    EQ(cloche__wasi_fd_advise(W(t), fd, 0, 10, 5), 0);
    EQ(cloche__wasi_fd_advise(W(t), fd, 0, 10, 6), CLOCHE__WASI_EINVAL);
    EQ(cloche__wasi_fd_advise(W(t), fd, 2, UINT64_MAX, 0), CLOCHE__WASI_EINVAL);
}

static void test_seek_edges(void **state)
{
    tw *t = *state;
    uint32_t fd, n;
    EQ(tw_open(t, 3, "tmp/s", CLOCHE__WASI_O_CREAT, RIGHTS_RW, 0, &fd), 0);
    EQ(tw_write(t, fd, "0123456789", &n), 0);
    EQ(cloche__wasi_fd_seek(W(t), fd, -3, CLOCHE__WASI_WHENCE_END, A_OUT), 0);
    EQ(rd64(t, A_OUT), 7);
    EQ(cloche__wasi_fd_seek(W(t), fd, -2, CLOCHE__WASI_WHENCE_CUR, A_OUT), 0);
    EQ(rd64(t, A_OUT), 5);
    EQ(cloche__wasi_fd_seek(W(t), fd, -6, CLOCHE__WASI_WHENCE_CUR, A_OUT),
       CLOCHE__WASI_EINVAL);
    EQ(cloche__wasi_fd_seek(W(t), fd, -1, CLOCHE__WASI_WHENCE_SET, A_OUT),
       CLOCHE__WASI_EINVAL);
    EQ(cloche__wasi_fd_seek(W(t), fd, INT64_MIN, CLOCHE__WASI_WHENCE_END, A_OUT),
       CLOCHE__WASI_EINVAL);
    EQ(cloche__wasi_fd_seek(W(t), fd, INT64_MAX, CLOCHE__WASI_WHENCE_SET, A_OUT),
       0);
    EQ(rd64(t, A_OUT), (uint64_t)INT64_MAX);
    EQ(cloche__wasi_fd_seek(W(t), fd, 1, CLOCHE__WASI_WHENCE_CUR, A_OUT),
       CLOCHE__WASI_EOVERFLOW);
    EQ(cloche__wasi_fd_seek(W(t), fd, INT64_MAX, CLOCHE__WASI_WHENCE_END, A_OUT),
       CLOCHE__WASI_EOVERFLOW);
    /* a write at INT64_MAX cannot grow the file that far */
    EQ(tw_write(t, fd, "x", &n), CLOCHE__WASI_EFBIG);
    EQ(tw_read(t, fd, 4, &n), 0);
    EQ(n, 0);
    EQ(cloche__wasi_fd_seek(W(t), fd, 0, 3, A_OUT), CLOCHE__WASI_EINVAL);
    EQ(cloche__wasi_fd_seek(W(t), fd, 100, CLOCHE__WASI_WHENCE_SET, A_OUT), 0);
    EQ(cloche__wasi_fd_tell(W(t), fd, A_OUT), 0);
    EQ(rd64(t, A_OUT), 100);
    EQ(cloche__wasi_fd_seek(W(t), 3, 0, 0, A_OUT), CLOCHE__WASI_EBADF);
}

/* Parse the records of a readdir buffer; returns how many were complete. */
typedef struct rec {
    uint64_t next, ino;
    uint32_t namlen;
    uint8_t type;
    char name[32];
} rec;

static int parse(const tw *t, uint32_t used, rec *out, int max)
{
    uint32_t at = 0;
    int k = 0;
    while (k < max && at + CLOCHE__WASI_DIRENT_SIZE <= used) {
        rec *r = &out[k];
        r->next = rd64(t, A_BUF + at);
        r->ino = rd64(t, A_BUF + at + 8);
        r->namlen = rd32(t, A_BUF + at + 16);
        r->type = t->mem[A_BUF + at + 20];
        at += CLOCHE__WASI_DIRENT_SIZE;
        if (at + r->namlen > used)
            break;
        memcpy(r->name, t->mem + A_BUF + at, r->namlen);
        r->name[r->namlen] = 0;
        at += r->namlen;
        k++;
    }
    return k;
}

static void test_readdir(void **state)
{
    tw *t = *state;
    uint32_t d, f;
    EQ(tw_mkdir(t, 3, "tmp/d"), 0);
    EQ(tw_open(t, 3, "tmp/d/bb", CLOCHE__WASI_O_CREAT, RIGHTS_RW, 0, &f), 0);
    EQ(tw_mkdir(t, 3, "tmp/d/a"), 0);
    EQ(tw_open(t, 3, "tmp/d", CLOCHE__WASI_O_DIRECTORY, RIGHTS_RO, 0, &d), 0);
    EQ(d, 5);
    EQ(cloche__wasi_fd_readdir(W(t), d, A_BUF, 1024, 0, A_OUT), 0);
    uint32_t used = rd32(t, A_OUT);
    EQ(used, 4 * 24 + 1 + 2 + 2 + 1);
    rec r[8];
    EQ(parse(t, used, r, 8), 4);
    assert_string_equal(r[0].name, ".");
    EQ(r[0].next, 1);
    EQ(r[0].type, CLOCHE__WASI_FILETYPE_DIRECTORY);
    assert_string_equal(r[1].name, "..");
    EQ(r[1].next, 2);
    assert_string_equal(r[2].name, "bb");
    EQ(r[2].type, CLOCHE__WASI_FILETYPE_REGULAR_FILE);
    EQ(r[2].next, 3);
    assert_string_equal(r[3].name, "a");
    EQ(r[3].type, CLOCHE__WASI_FILETYPE_DIRECTORY);
    EQ(r[3].next, 4);
    /* d_ino matches filestat */
    EQ(tw_stat(t, 3, "tmp/d/bb"), 0);
    EQ(r[2].ino, FS_INO(t));
    EQ(tw_stat(t, 3, "tmp"), 0);
    EQ(r[1].ino, FS_INO(t));
    /* resume after "..": from cookie 2 */
    EQ(cloche__wasi_fd_readdir(W(t), d, A_BUF, 1024, 2, A_OUT), 0);
    EQ(rd32(t, A_OUT), 24 + 2 + 24 + 1);
    EQ(parse(t, rd32(t, A_OUT), r, 8), 2);
    assert_string_equal(r[0].name, "bb");
    /* a small buffer: the last record is cut and bufused == buf_len */
    memset(t->mem + A_BUF, 0xEE, 64);
    EQ(cloche__wasi_fd_readdir(W(t), d, A_BUF, 30, 0, A_OUT), 0);
    EQ(rd32(t, A_OUT), 30);
    EQ(parse(t, 30, r, 8), 1);
    EQ(rd32(t, A_BUF + 25), 2); /* the cut header of "..": 5 bytes */
    EQ(t->mem[A_BUF + 29], 0);
    EQ(t->mem[A_BUF + 30], 0xEE); /* nothing past buf_len */
    EQ(cloche__wasi_fd_readdir(W(t), d, A_BUF, 10, 0, A_OUT), 0);
    EQ(rd32(t, A_OUT), 10);
    EQ(cloche__wasi_fd_readdir(W(t), d, A_BUF, 0, 0, A_OUT), 0);
    EQ(rd32(t, A_OUT), 0);
    EQ(cloche__wasi_fd_readdir(W(t), d, A_BUF, 100, 4, A_OUT), 0);
    EQ(rd32(t, A_OUT), 0); /* end */
    EQ(cloche__wasi_fd_readdir(W(t), d, A_BUF, 100, UINT64_MAX, A_OUT), 0);
    EQ(rd32(t, A_OUT), 0);
    /* entries removed between calls are skipped, new ones come last */
    EQ(tw_unlink(t, 3, "tmp/d/bb"), 0);
    EQ(tw_mkdir(t, 3, "tmp/d/c"), 0);
    EQ(cloche__wasi_fd_readdir(W(t), d, A_BUF, 1024, 2, A_OUT), 0);
    EQ(parse(t, rd32(t, A_OUT), r, 8), 2);
    assert_string_equal(r[0].name, "a");
    assert_string_equal(r[1].name, "c");
    EQ(r[1].next, 5);
    /* reading a directory fd, readdir on a file fd */
    EQ(tw_read(t, d, 4, NULL), CLOCHE__WASI_EISDIR);
    EQ(tw_write(t, d, "x", NULL), CLOCHE__WASI_EBADF);
    EQ(cloche__wasi_fd_readdir(W(t), f, A_BUF, 100, 0, A_OUT),
       CLOCHE__WASI_ENOTDIR);
    EQ(cloche__wasi_fd_tell(W(t), d, A_OUT), CLOCHE__WASI_EBADF);
    EQ(cloche__wasi_fd_filestat_set_size(W(t), d, 0), CLOCHE__WASI_EISDIR);
    EQ(cloche__wasi_fd_fdstat_get(W(t), d, A_BUF), 0);
    EQ(t->mem[A_BUF], CLOCHE__WASI_FILETYPE_DIRECTORY);
    EQ(rd64(t, A_BUF + 8), RIGHTS_RO & CLOCHE__WASI_RIGHTS_DIR);
    EQ(rd64(t, A_BUF + 16), RIGHTS_RO);
}

static void test_prestat(void **state)
{
    tw *t = *state;
    uint32_t fd;
    memset(t->mem + A_BUF, 0xEE, 16);
    EQ(cloche__wasi_fd_prestat_get(W(t), 3, A_BUF), 0);
    EQ(t->mem[A_BUF], 0); /* preopentype dir */
    EQ(t->mem[A_BUF + 1], 0);
    EQ(rd32(t, A_BUF + 4), 1);
    memset(t->mem + A_BUF, 0xEE, 16);
    EQ(cloche__wasi_fd_prestat_dir_name(W(t), 3, A_BUF, 1), 0);
    EQ(t->mem[A_BUF], '/');
    EQ(t->mem[A_BUF + 1], 0xEE);
    EQ(cloche__wasi_fd_prestat_dir_name(W(t), 3, A_BUF, 8), 0);
    EQ(t->mem[A_BUF + 1], 0xEE); /* no NUL */
    EQ(cloche__wasi_fd_prestat_dir_name(W(t), 3, A_BUF, 0),
       CLOCHE__WASI_ENAMETOOLONG);
    EQ(cloche__wasi_fd_prestat_dir_name(W(t), 3, MEM_SIZE, 1),
       CLOCHE__WASI_EFAULT);
    EQ(cloche__wasi_fd_prestat_get(W(t), 3, MEM_SIZE - 7), CLOCHE__WASI_EFAULT);
    EQ(cloche__wasi_fd_prestat_get(W(t), 0, A_BUF), CLOCHE__WASI_EBADF);
    EQ(cloche__wasi_fd_prestat_get(W(t), 4, A_BUF), CLOCHE__WASI_EBADF);
    /* an ordinary open directory is not a preopen */
    EQ(tw_open(t, 3, "tmp", CLOCHE__WASI_O_DIRECTORY, RIGHTS_RO, 0, &fd), 0);
    EQ(cloche__wasi_fd_prestat_get(W(t), fd, A_BUF), CLOCHE__WASI_EBADF);
    EQ(cloche__wasi_fd_prestat_dir_name(W(t), fd, A_BUF, 1),
       CLOCHE__WASI_EBADF);
    /* fd 3 as a directory */
    EQ(cloche__wasi_fd_fdstat_get(W(t), 3, A_BUF), 0);
    EQ(t->mem[A_BUF], CLOCHE__WASI_FILETYPE_DIRECTORY);
    EQ(rd64(t, A_BUF + 8), CLOCHE__WASI_RIGHTS_DIR);
    EQ(rd64(t, A_BUF + 16), CLOCHE__WASI_RIGHTS_ALL);
    EQ(cloche__wasi_fd_filestat_get(W(t), 3, A_BUF), 0);
    EQ(FS_TYPE(t), CLOCHE__WASI_FILETYPE_DIRECTORY);
    EQ(FS_INO(t), 1);
    EQ(FS_NLINK(t), 4); /* ., tmp, lib */
}

static void test_renumber(void **state)
{
    tw *t = *state;
    uint32_t a, b, n;
    EQ(tw_open(t, 3, "tmp/a", CLOCHE__WASI_O_CREAT, RIGHTS_RW, 0, &a), 0);
    EQ(tw_open(t, 3, "tmp/b", CLOCHE__WASI_O_CREAT, RIGHTS_RW, 0, &b), 0);
    EQ(a, 4);
    EQ(b, 5);
    EQ(tw_write(t, a, "A", &n), 0);
    EQ(cloche__wasi_fd_renumber(W(t), a, b), 0);
    EQ(tw_write(t, a, "x", &n), CLOCHE__WASI_EBADF);
    EQ(tw_write(t, b, "B", &n), 0); /* continues fd a's position */
    put_iov(t, A_IOV, A_BUF, 8);
    EQ(cloche__wasi_fd_pread(W(t), b, A_IOV, 1, 0, A_OUT), 0);
    EQ(rd32(t, A_OUT), 2);
    assert_memory_equal(t->mem + A_BUF, "AB", 2);
    EQ(cloche__wasi_fd_renumber(W(t), b, b), 0);
    EQ(cloche__wasi_fd_renumber(W(t), a, b), CLOCHE__WASI_EBADF);
    EQ(cloche__wasi_fd_renumber(W(t), b, 9), CLOCHE__WASI_EBADF);
    EQ(cloche__wasi_fd_renumber(W(t), b, UINT32_MAX), CLOCHE__WASI_EBADF);
    /* the lowest free fd >= 4 is reused */
    EQ(tw_open(t, 3, "tmp/c", CLOCHE__WASI_O_CREAT, RIGHTS_RW, 0, &a), 0);
    EQ(a, 4);
    /* renumber over stdout: fd 1 becomes the file */
    EQ(cloche__wasi_fd_renumber(W(t), a, 1), 0);
    EQ(tw_write(t, 1, "to file", &n), 0);
    size_t len;
    cloche__wasi_output(t->w, 1, &len);
    EQ(len, 0);
    /* closing fd 3 does not let fd 3 be reused */
    EQ(cloche__wasi_fd_close(W(t), 3), 0);
    EQ(tw_open(t, 5, "x", CLOCHE__WASI_O_CREAT, RIGHTS_RW, 0, &a),
       CLOCHE__WASI_ENOTDIR);
}

static void test_fd_exhaustion(void **state)
{
    tw *t = *state;
    uint32_t fd = 0;
    uint32_t opened = 0;
    while (tw_open(t, 3, "lib/a.txt", 0, RIGHTS_RO, 0, &fd) == 0)
        opened++;
    EQ(opened, CLOCHE__WASI_MAX_FDS - 4);
    EQ(tw_open(t, 3, "lib/a.txt", 0, RIGHTS_RO, 0, &fd), CLOCHE__WASI_EMFILE);
    /* EMFILE must not leave a created file behind */
    EQ(tw_open(t, 3, "tmp/new", CLOCHE__WASI_O_CREAT, RIGHTS_RW, 0, &fd),
       CLOCHE__WASI_EMFILE);
    EQ(tw_stat(t, 3, "tmp/new"), CLOCHE__WASI_ENOENT);
    EQ(cloche__wasi_fd_close(W(t), 700), 0);
    EQ(tw_open(t, 3, "lib/a.txt", 0, RIGHTS_RO, 0, &fd), 0);
    EQ(fd, 700);
}

static void test_readonly_enforced(void **state)
{
    tw *t = *state;
    uint32_t fd, n;
    /* the stdlib-like file: read-only data */
    EQ(tw_open(t, 3, "lib/a.txt", 0, RIGHTS_RW, 0, &fd), CLOCHE__WASI_EROFS);
    EQ(tw_open(t, 3, "lib/a.txt", CLOCHE__WASI_O_TRUNC, RIGHTS_RO, 0, &fd),
       CLOCHE__WASI_EROFS);
    EQ(tw_open(t, 3, "lib/a.txt", 0, RIGHTS_RO, 0, &fd), 0);
    EQ(tw_read(t, fd, 64, &n), 0);
    EQ(n, 11);
    assert_memory_equal(t->mem + A_BUF, "hello world", 11);
    EQ(tw_write(t, fd, "x", &n), CLOCHE__WASI_EBADF);
    put_iov(t, A_IOV, A_DATA, 1);
    EQ(cloche__wasi_fd_pwrite(W(t), fd, A_IOV, 1, 0, A_OUT), CLOCHE__WASI_EBADF);
    EQ(cloche__wasi_fd_filestat_set_size(W(t), fd, 0), CLOCHE__WASI_EBADF);
    EQ(cloche__wasi_fd_allocate(W(t), fd, 0, 1), CLOCHE__WASI_EBADF);
    EQ(cloche__wasi_fd_filestat_set_times(W(t), fd, 1, 1,
                                          CLOCHE__WASI_FST_MTIM),
       CLOCHE__WASI_EROFS);
    EQ(cloche__wasi_fd_fdstat_get(W(t), fd, A_BUF), 0);
    EQ(rd64(t, A_BUF + 8), RIGHTS_RO & CLOCHE__WASI_RIGHTS_FILE);
    /* the read-only root: no new names */
    EQ(tw_open(t, 3, "newfile", CLOCHE__WASI_O_CREAT, RIGHTS_RW, 0, &fd),
       CLOCHE__WASI_EROFS);
    EQ(tw_mkdir(t, 3, "newdir"), CLOCHE__WASI_EROFS);
    EQ(tw_rmdir(t, 3, "tmp"), CLOCHE__WASI_EROFS);
    EQ(tw_unlink(t, 3, "lib/a.txt"), CLOCHE__WASI_EROFS);
    EQ(tw_rename(t, "lib/a.txt", "tmp/a.txt"), CLOCHE__WASI_EROFS);
    EQ(tw_rename(t, "tmp", "tmp2"), CLOCHE__WASI_EROFS);
    /* a file opened without FD_WRITE cannot be written */
    EQ(tw_open(t, 3, "tmp/w", CLOCHE__WASI_O_CREAT, RIGHTS_RO, 0, &fd), 0);
    EQ(tw_write(t, fd, "x", &n), CLOCHE__WASI_EBADF);
    /* rights only shrink */
    EQ(tw_open(t, 3, "tmp/w", 0, RIGHTS_RW, 0, &fd), 0);
    EQ(cloche__wasi_fd_fdstat_set_rights(W(t), fd, CLOCHE__WASI_R_FD_READ, 0),
       0);
    EQ(tw_write(t, fd, "x", &n), CLOCHE__WASI_EBADF);
    EQ(cloche__wasi_fd_fdstat_set_rights(W(t), fd, CLOCHE__WASI_R_FD_WRITE, 0),
       CLOCHE__WASI_ENOTCAPABLE);
    EQ(cloche__wasi_fd_fdstat_set_rights(W(t), fd, 0, 1),
       CLOCHE__WASI_ENOTCAPABLE);
    EQ(cloche__wasi_fd_fdstat_set_rights(W(t), fd, 0, 0), 0);
    EQ(tw_read(t, fd, 1, &n), CLOCHE__WASI_EBADF);
}

static void test_node_quota(void **state)
{
    tw *t = *state;
    char name[32];
    uint32_t fd;
    /* the fixture allows 64 charged nodes; /tmp is one of them */
    for (int i = 0; i < 63; i++) {
        snprintf(name, sizeof(name), "tmp/f%d", i);
        EQ(tw_open(t, 3, name, CLOCHE__WASI_O_CREAT, RIGHTS_RO, 0, &fd), 0);
        EQ(cloche__wasi_fd_close(W(t), fd), 0);
    }
    EQ(tw_open(t, 3, "tmp/one-more", CLOCHE__WASI_O_CREAT, RIGHTS_RO, 0, &fd),
       CLOCHE__WASI_EDQUOT);
    EQ(tw_mkdir(t, 3, "tmp/dir"), CLOCHE__WASI_EDQUOT);
    EQ(tw_unlink(t, 3, "tmp/f0"), 0);
    EQ(tw_mkdir(t, 3, "tmp/dir"), 0);
}

static void test_unlink_while_open(void **state)
{
    tw *t = *state;
    uint32_t fd, n;
    EQ(tw_open(t, 3, "tmp/u", CLOCHE__WASI_O_CREAT, RIGHTS_RW, 0, &fd), 0);
    EQ(tw_write(t, fd, "still here", &n), 0);
    EQ(tw_unlink(t, 3, "tmp/u"), 0);
    EQ(tw_stat(t, 3, "tmp/u"), CLOCHE__WASI_ENOENT);
    EQ(cloche__wasi_fd_seek(W(t), fd, 0, CLOCHE__WASI_WHENCE_SET, A_OUT), 0);
    EQ(tw_read(t, fd, 64, &n), 0);
    EQ(n, 10);
    assert_memory_equal(t->mem + A_BUF, "still here", 10);
    EQ(cloche__wasi_fd_filestat_get(W(t), fd, A_BUF), 0);
    EQ(FS_NLINK(t), 0);
    /* the fd stays open when the context is freed: teardown checks leaks */
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tw_setup, tw_teardown)
    const struct CMUnitTest tests[] = {
        T(test_stdout_capture),    T(test_output_cap),
        T(test_stdio_kinds),       T(test_file_io),
        T(test_append_and_sizes),  T(test_seek_edges),
        T(test_readdir),           T(test_prestat),
        T(test_renumber),          T(test_fd_exhaustion),
        T(test_readonly_enforced), T(test_node_quota),
        T(test_unlink_while_open),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
