/*
 * alloc.c - the one allocation path of src/net, and its bounded buffer.
 *
 * Every allocation of the module goes through here so that the library's
 * allocator hook has one place to plug in, tests can count live blocks and
 * inject failures (each ENOMEM path is exercised), and memory that may
 * have held a secret is wiped before it is returned. The buffer never uses
 * realloc: a moved block would leave an unwiped copy behind. Counters are
 * process-wide atomics; nothing here aborts.
 */
#include "net/net_int.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

/* ---- allocation ------------------------------------------------------------ */

static atomic_long g_live;
static atomic_long g_fail_after = -1;

static int should_fail(void)
{
    long n = atomic_load(&g_fail_after);
    if (n < 0)
        return 0;
    atomic_store(&g_fail_after, n - 1);
    return n == 0;
}

void *cloche__net_alloc(size_t n)
{
    if (should_fail())
        return NULL;
    void *p = malloc(n ? n : 1);
    if (p)
        atomic_fetch_add(&g_live, 1);
    return p;
}

void *cloche__net_calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    if (should_fail())
        return NULL;
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p)
        atomic_fetch_add(&g_live, 1);
    return p;
}

void *cloche__net_realloc(void *p, size_t n)
{
    if (!p)
        return cloche__net_alloc(n);
    if (should_fail())
        return NULL;
    return realloc(p, n ? n : 1);
}

void cloche__net_dealloc(void *p)
{
    if (!p)
        return;
    atomic_fetch_sub(&g_live, 1);
    free(p);
}

void cloche__net_wipe(void *p, size_t n)
{
    if (p && n)
        OPENSSL_cleanse(p, n);
}

long cloche__net_alloc_live(void)
{
    return atomic_load(&g_live);
}

void cloche__net_alloc_fail_after(long n)
{
    atomic_store(&g_fail_after, n);
}

/* ---- bounded buffer (never realloc: old copies would keep secrets) -------- */

int cloche__net_buf_append(cloche__net_buf *b, const uint8_t *p, size_t n)
{
    if (n == 0)
        return 0;
    if (n > b->max || b->len > b->max - n)
        return CLOCHE__NET_ENOMEM;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap = cap > b->max / 2 ? b->max : cap * 2;
        uint8_t *q = cloche__net_alloc(cap);
        if (!q)
            return CLOCHE__NET_ENOMEM;
        if (b->len)
            memcpy(q, b->p, b->len);
        cloche__net_wipe(b->p, b->cap);
        cloche__net_dealloc(b->p);
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

void cloche__net_buf_consume(cloche__net_buf *b, size_t n)
{
    if (n >= b->len) {
        cloche__net_wipe(b->p, b->len);
        b->len = 0;
        return;
    }
    memmove(b->p, b->p + n, b->len - n);
    cloche__net_wipe(b->p + b->len - n, n);
    b->len -= n;
}

void cloche__net_buf_free(cloche__net_buf *b)
{
    cloche__net_wipe(b->p, b->cap);
    cloche__net_dealloc(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}
