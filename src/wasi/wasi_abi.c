/*
 * wasi_abi.c - bounds-checked access to guest linear memory.
 *
 * The only file of src/wasi that dereferences guest memory (the others get
 * spans checked here). Invariants: a range is accepted only if
 * ptr + len <= size computed without overflow in 64 bits; memory is read
 * and written with memcpy byte order conversions, so unaligned guest
 * pointers are fine; nothing here trusts a length that came from the
 * guest before checking it. It never aborts and never allocates.
 */
#include "wasi/wasi_abi.h"

#include <string.h>

int cloche__abi_check(cloche__mem m, uint64_t ptr, uint64_t len)
{
    if (len > m.size || ptr > m.size - len)
        return CLOCHE__WASI_EFAULT;
    return 0;
}

uint8_t *cloche__abi_span(cloche__mem m, uint64_t ptr, uint64_t len)
{
    if (cloche__abi_check(m, ptr, len) || !m.base)
        return NULL;
    return m.base + ptr;
}

void cloche__abi_put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

void cloche__abi_put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void cloche__abi_put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const uint8_t *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

int cloche__abi_store_u32(cloche__mem m, uint32_t ptr, uint32_t v)
{
    uint8_t *p = cloche__abi_span(m, ptr, 4);
    if (!p)
        return CLOCHE__WASI_EFAULT;
    cloche__abi_put_u32(p, v);
    return 0;
}

int cloche__abi_store_u64(cloche__mem m, uint32_t ptr, uint64_t v)
{
    uint8_t *p = cloche__abi_span(m, ptr, 8);
    if (!p)
        return CLOCHE__WASI_EFAULT;
    cloche__abi_put_u64(p, v);
    return 0;
}

int cloche__abi_store_bytes(cloche__mem m, uint32_t ptr, const void *src,
                            size_t len)
{
    uint8_t *p = cloche__abi_span(m, ptr, len);
    if (!p)
        return CLOCHE__WASI_EFAULT;
    if (len)
        memcpy(p, src, len);
    return 0;
}

int cloche__abi_load_path(char *dst, size_t *len, cloche__mem m, uint32_t ptr,
                          uint32_t path_len)
{
    const uint8_t *p = cloche__abi_span(m, ptr, path_len);
    *len = 0;
    if (!p)
        return CLOCHE__WASI_EFAULT;
    if (path_len > CLOCHE__VFS_PATH_MAX)
        return CLOCHE__WASI_ENAMETOOLONG;
    if (path_len)
        memcpy(dst, p, path_len);
    *len = path_len;
    return 0;
}

/* ---- iovecs ------------------------------------------------------------ */

int cloche__abi_iovs_init(cloche__abi_iovs *out, cloche__mem m, uint32_t at,
                          uint32_t n)
{
    memset(out, 0, sizeof(*out));
    const uint8_t *arr =
        cloche__abi_span(m, at, (uint64_t)n * CLOCHE__WASI_IOVEC_SIZE);
    if (!arr)
        return CLOCHE__WASI_EFAULT;
    if (n > CLOCHE__WASI_IOV_MAX)
        return CLOCHE__WASI_EINVAL;
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = arr + (size_t)i * CLOCHE__WASI_IOVEC_SIZE;
        uint32_t len = get_u32(e + 4);
        if (cloche__abi_check(m, get_u32(e), len))
            return CLOCHE__WASI_EFAULT;
        total += len;
    }
    *out = (cloche__abi_iovs){m, at, n, total};
    return 0;
}

uint8_t *cloche__abi_iov(const cloche__abi_iovs *v, uint32_t i, size_t *len)
{
    *len = 0;
    const uint8_t *e = cloche__abi_span(
        v->m, (uint64_t)v->at + (uint64_t)i * CLOCHE__WASI_IOVEC_SIZE,
        CLOCHE__WASI_IOVEC_SIZE);
    if (!e || i >= v->n)
        return NULL;
    uint32_t n = get_u32(e + 4);
    uint8_t *p = cloche__abi_span(v->m, get_u32(e), n);
    if (p)
        *len = n;
    return p;
}

/* ---- structures -------------------------------------------------------- */

int cloche__abi_store_filestat(cloche__mem m, uint32_t ptr,
                               const cloche__abi_filestat *s)
{
    uint8_t b[CLOCHE__WASI_FILESTAT_SIZE] = {0};
    cloche__abi_put_u64(b + 0, s->dev);
    cloche__abi_put_u64(b + 8, s->ino);
    b[16] = s->filetype;
    cloche__abi_put_u64(b + 24, s->nlink);
    cloche__abi_put_u64(b + 32, s->size);
    cloche__abi_put_u64(b + 40, s->atim);
    cloche__abi_put_u64(b + 48, s->mtim);
    cloche__abi_put_u64(b + 56, s->ctim);
    return cloche__abi_store_bytes(m, ptr, b, sizeof(b));
}

int cloche__abi_store_fdstat(cloche__mem m, uint32_t ptr,
                             const cloche__abi_fdstat *s)
{
    uint8_t b[CLOCHE__WASI_FDSTAT_SIZE] = {0};
    b[0] = s->filetype;
    cloche__abi_put_u16(b + 2, s->flags);
    cloche__abi_put_u64(b + 8, s->rights_base);
    cloche__abi_put_u64(b + 16, s->rights_inheriting);
    return cloche__abi_store_bytes(m, ptr, b, sizeof(b));
}

int cloche__abi_store_prestat_dir(cloche__mem m, uint32_t ptr,
                                  uint32_t name_len)
{
    uint8_t b[CLOCHE__WASI_PRESTAT_SIZE] = {0};
    b[0] = CLOCHE__WASI_PREOPEN_DIR;
    cloche__abi_put_u32(b + 4, name_len);
    return cloche__abi_store_bytes(m, ptr, b, sizeof(b));
}

int cloche__abi_load_subscription(cloche__abi_subscription *out, cloche__mem m,
                                  uint32_t at, uint32_t i)
{
    const uint8_t *p = cloche__abi_span(
        m, (uint64_t)at + (uint64_t)i * CLOCHE__WASI_SUBSCRIPTION_SIZE,
        CLOCHE__WASI_SUBSCRIPTION_SIZE);
    memset(out, 0, sizeof(*out));
    if (!p)
        return CLOCHE__WASI_EFAULT;
    out->userdata = get_u64(p);
    out->tag = p[8];
    out->id_or_fd = get_u32(p + 16);
    out->timeout = get_u64(p + 24);
    out->precision = get_u64(p + 32);
    out->flags = get_u16(p + 40);
    return 0;
}

int cloche__abi_store_event(cloche__mem m, uint32_t at, uint32_t i,
                            const cloche__abi_event *e)
{
    uint8_t b[CLOCHE__WASI_EVENT_SIZE] = {0};
    cloche__abi_put_u64(b + 0, e->userdata);
    cloche__abi_put_u16(b + 8, e->error);
    b[10] = e->type;
    cloche__abi_put_u64(b + 16, e->nbytes);
    cloche__abi_put_u16(b + 24, e->flags);
    uint64_t ptr = (uint64_t)at + (uint64_t)i * CLOCHE__WASI_EVENT_SIZE;
    uint8_t *p = cloche__abi_span(m, ptr, sizeof(b));
    if (!p)
        return CLOCHE__WASI_EFAULT;
    memcpy(p, b, sizeof(b));
    return 0;
}

void cloche__abi_dirent_header(uint8_t *out, uint64_t next, uint64_t ino,
                               uint32_t name_len, uint8_t type)
{
    memset(out, 0, CLOCHE__WASI_DIRENT_SIZE);
    cloche__abi_put_u64(out + 0, next);
    cloche__abi_put_u64(out + 8, ino);
    cloche__abi_put_u32(out + 16, name_len);
    out[20] = type;
}
