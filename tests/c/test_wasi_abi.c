/*
 * test_wasi_abi.c - the guest memory boundary: range checks at the edges
 * and near 2^32 and 2^64, iovec validation, path copies, and the exact
 * byte layout of every structure written to the guest.
 */
#include "test_wasi_util.h"

#include "wasi/wasi_abi.h"

#define EQ assert_int_equal

static uint8_t g_mem[4096];
static const cloche__mem M = {g_mem, sizeof(g_mem)};

static void test_check_edges(void **state)
{
    (void)state;
    EQ(cloche__abi_check(M, 0, 0), 0);
    EQ(cloche__abi_check(M, 4096, 0), 0);
    EQ(cloche__abi_check(M, 4095, 1), 0);
    EQ(cloche__abi_check(M, 0, 4096), 0);
    EQ(cloche__abi_check(M, 4096, 1), CLOCHE__WASI_EFAULT);
    EQ(cloche__abi_check(M, 4097, 0), CLOCHE__WASI_EFAULT);
    EQ(cloche__abi_check(M, 0, 4097), CLOCHE__WASI_EFAULT);
    EQ(cloche__abi_check(M, 1, 4096), CLOCHE__WASI_EFAULT);
    EQ(cloche__abi_check(M, UINT32_MAX, 2), CLOCHE__WASI_EFAULT);
    EQ(cloche__abi_check(M, UINT64_MAX, 1), CLOCHE__WASI_EFAULT);
    EQ(cloche__abi_check(M, 1ull << 63, 1ull << 63), CLOCHE__WASI_EFAULT);
    EQ(cloche__abi_check(M, 2, UINT64_MAX - 1), CLOCHE__WASI_EFAULT);
    /* a full 4 GiB memory: the last byte is addressable, nothing past */
    cloche__mem four_gib = {NULL, 1ull << 32};
    EQ(cloche__abi_check(four_gib, UINT32_MAX, 1), 0);
    EQ(cloche__abi_check(four_gib, UINT32_MAX, 2), CLOCHE__WASI_EFAULT);
    EQ(cloche__abi_check(four_gib, 0, 1ull << 32), 0);
    assert_null(cloche__abi_span(four_gib, 0, 1)); /* no base: no pointer */
    cloche__mem empty = {NULL, 0};
    EQ(cloche__abi_check(empty, 0, 0), 0);
    assert_null(cloche__abi_span(empty, 0, 0));
    assert_ptr_equal(cloche__abi_span(M, 4096, 0), g_mem + 4096);
    assert_null(cloche__abi_span(M, 4096, 1));
}

static void test_stores(void **state)
{
    (void)state;
    memset(g_mem, 0, sizeof(g_mem));
    EQ(cloche__abi_store_u32(M, 1, 0x11223344u), 0); /* unaligned is fine */
    assert_memory_equal(g_mem + 1, "\x44\x33\x22\x11", 4);
    EQ(cloche__abi_store_u64(M, 4088, 0x0102030405060708ull), 0);
    assert_memory_equal(g_mem + 4088, "\x08\x07\x06\x05\x04\x03\x02\x01", 8);
    EQ(cloche__abi_store_u64(M, 4089, 1), CLOCHE__WASI_EFAULT);
    EQ(cloche__abi_store_u32(M, 4093, 1), CLOCHE__WASI_EFAULT);
    EQ(cloche__abi_store_bytes(M, 4096, "x", 0), 0);
    EQ(cloche__abi_store_bytes(M, 4096, "x", 1), CLOCHE__WASI_EFAULT);
    assert_memory_equal(g_mem + 4088, "\x08\x07\x06\x05\x04\x03\x02\x01", 8);
}

static void test_load_path(void **state)
{
    (void)state;
    char buf[CLOCHE__VFS_PATH_MAX];
    size_t len = 99;
    memcpy(g_mem + 10, "a/b", 3);
    EQ(cloche__abi_load_path(buf, &len, M, 10, 3), 0);
    EQ(len, 3);
    assert_memory_equal(buf, "a/b", 3);
    EQ(cloche__abi_load_path(buf, &len, M, 0, 4096), 0);
    EQ(len, 4096);
    static uint8_t big[8192];
    cloche__mem bm = {big, sizeof(big)};
    EQ(cloche__abi_load_path(buf, &len, bm, 0, 4097),
       CLOCHE__WASI_ENAMETOOLONG);
    EQ(len, 0);
    EQ(cloche__abi_load_path(buf, &len, M, 4095, 2), CLOCHE__WASI_EFAULT);
    EQ(cloche__abi_load_path(buf, &len, M, 0, UINT32_MAX), CLOCHE__WASI_EFAULT);
}

static void put_iovec(uint32_t at, uint32_t buf, uint32_t len)
{
    cloche__abi_put_u32(g_mem + at, buf);
    cloche__abi_put_u32(g_mem + at + 4, len);
}

static void test_iovecs(void **state)
{
    (void)state;
    cloche__abi_iovs v;
    size_t len;
    memset(g_mem, 0, sizeof(g_mem));
    EQ(cloche__abi_iovs_init(&v, M, 0, 0), 0);
    EQ(v.total, 0);
    put_iovec(0, 100, 10);
    put_iovec(8, 4000, 96);
    put_iovec(16, 4096, 0);
    EQ(cloche__abi_iovs_init(&v, M, 0, 3), 0);
    EQ(v.total, 106);
    assert_ptr_equal(cloche__abi_iov(&v, 1, &len), g_mem + 4000);
    EQ(len, 96);
    assert_ptr_equal(cloche__abi_iov(&v, 2, &len), g_mem + 4096);
    EQ(len, 0);
    assert_null(cloche__abi_iov(&v, 3, &len)); /* past the array */
    EQ(len, 0);
    put_iovec(8, 4000, 97); /* one byte too long */
    EQ(cloche__abi_iovs_init(&v, M, 0, 3), CLOCHE__WASI_EFAULT);
    put_iovec(8, UINT32_MAX, UINT32_MAX);
    EQ(cloche__abi_iovs_init(&v, M, 0, 3), CLOCHE__WASI_EFAULT);
    put_iovec(8, 0, UINT32_MAX);
    EQ(cloche__abi_iovs_init(&v, M, 0, 3), CLOCHE__WASI_EFAULT);
    /* the array itself */
    EQ(cloche__abi_iovs_init(&v, M, 4090, 1), CLOCHE__WASI_EFAULT);
    EQ(cloche__abi_iovs_init(&v, M, 0, UINT32_MAX), CLOCHE__WASI_EFAULT);
    EQ(cloche__abi_iovs_init(&v, M, UINT32_MAX, 1), CLOCHE__WASI_EFAULT);
    /* in range but more than CLOCHE__WASI_IOV_MAX entries */
    memset(g_mem, 0, sizeof(g_mem));
    EQ(cloche__abi_iovs_init(&v, M, 0, 512), 0);
    static uint8_t big[16384];
    cloche__mem bm = {big, sizeof(big)};
    EQ(cloche__abi_iovs_init(&v, bm, 0, 1024), 0);
    EQ(cloche__abi_iovs_init(&v, bm, 0, 1025), CLOCHE__WASI_EINVAL);
}

static void test_struct_layouts(void **state)
{
    (void)state;
    memset(g_mem, 0xEE, sizeof(g_mem));
    cloche__abi_filestat fs = {0x0101010101010101ull, 0x0202020202020202ull, 4,
                               3, 0x0404040404040404ull, 5, 6, 7};
    EQ(cloche__abi_store_filestat(M, 100, &fs), 0);
    EQ(g_mem[100], 0x01);
    EQ(g_mem[108], 0x02);
    EQ(g_mem[116], 4);
    EQ(g_mem[117], 0); /* padding is zeroed */
    EQ(g_mem[124], 3);
    EQ(g_mem[132], 0x04);
    EQ(g_mem[140], 5);
    EQ(g_mem[148], 6);
    EQ(g_mem[156], 7);
    EQ(g_mem[164], 0xEE); /* 64 bytes exactly */
    EQ(cloche__abi_store_filestat(M, 4096 - 63, &fs), CLOCHE__WASI_EFAULT);

    cloche__abi_fdstat fd = {3, 0x0201, 0x1122334455667788ull, 9};
    EQ(cloche__abi_store_fdstat(M, 200, &fd), 0);
    assert_memory_equal(g_mem + 200, "\x03\x00\x01\x02\x00\x00\x00\x00", 8);
    EQ(g_mem[208], 0x88);
    EQ(g_mem[215], 0x11);
    EQ(g_mem[216], 9);
    EQ(g_mem[224], 0xEE);

    EQ(cloche__abi_store_prestat_dir(M, 300, 1), 0);
    assert_memory_equal(g_mem + 300, "\0\0\0\0\x01\0\0\0", 8);
    EQ(g_mem[308], 0xEE);

    cloche__abi_event ev = {0xAABBCCDDull, 0x1234, 2, 77, 1};
    EQ(cloche__abi_store_event(M, 400, 1, &ev), 0);
    EQ(g_mem[400], 0xEE); /* event 0 untouched */
    EQ(g_mem[432], 0xDD);
    EQ(g_mem[440], 0x34);
    EQ(g_mem[441], 0x12);
    EQ(g_mem[442], 2);
    EQ(g_mem[448], 77);
    EQ(g_mem[456], 1);
    EQ(g_mem[463], 0);
    EQ(g_mem[464], 0xEE);
    EQ(cloche__abi_store_event(M, 4096 - 64, 1, &ev), 0);
    EQ(cloche__abi_store_event(M, 4096 - 64, 2, &ev), CLOCHE__WASI_EFAULT);

    uint8_t hdr[24];
    cloche__abi_dirent_header(hdr, 5, 6, 7, 3);
    EQ(hdr[0], 5);
    EQ(hdr[8], 6);
    EQ(hdr[16], 7);
    EQ(hdr[20], 3);
    EQ(hdr[21], 0);

    memset(g_mem + 500, 0, 48);
    cloche__abi_put_u64(g_mem + 500, 42);
    g_mem[508] = 1;
    cloche__abi_put_u32(g_mem + 516, 7);
    cloche__abi_put_u64(g_mem + 524, 1000);
    cloche__abi_put_u64(g_mem + 532, 10);
    cloche__abi_put_u16(g_mem + 540, 1);
    cloche__abi_subscription s;
    EQ(cloche__abi_load_subscription(&s, M, 500, 0), 0);
    EQ(s.userdata, 42);
    EQ(s.tag, 1);
    EQ(s.id_or_fd, 7);
    EQ(s.timeout, 1000);
    EQ(s.precision, 10);
    EQ(s.flags, 1);
    EQ(cloche__abi_load_subscription(&s, M, 4096 - 47, 0), CLOCHE__WASI_EFAULT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_edges), cmocka_unit_test(test_stores),
        cmocka_unit_test(test_load_path),   cmocka_unit_test(test_iovecs),
        cmocka_unit_test(test_struct_layouts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
