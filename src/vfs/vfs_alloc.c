/*
 * vfs_alloc.c - allocation shim for src/vfs and src/wasi (see vfs_alloc.h).
 *
 * Owns two process-wide counters (live blocks, failure countdown), both
 * atomics so that sandboxes on different threads do not race. It never
 * aborts: a failed allocation is reported to the caller as NULL.
 */
#include "vfs/vfs_alloc.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

static atomic_long g_live;
static atomic_long g_fail_after = -1;

/* Returns 1 when the injected failure should fire for this allocation. */
static int should_fail(void)
{
    long n = atomic_load_explicit(&g_fail_after, memory_order_relaxed);
    if (n < 0)
        return 0;
    atomic_store_explicit(&g_fail_after, n - 1, memory_order_relaxed);
    return n == 0;
}

void *cloche__alloc(size_t n)
{
    if (should_fail())
        return NULL;
    void *p = malloc(n ? n : 1);
    if (p)
        atomic_fetch_add_explicit(&g_live, 1, memory_order_relaxed);
    return p;
}

void *cloche__calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    if (should_fail())
        return NULL;
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p)
        atomic_fetch_add_explicit(&g_live, 1, memory_order_relaxed);
    return p;
}

void *cloche__realloc(void *p, size_t n)
{
    if (!p)
        return cloche__alloc(n);
    if (should_fail())
        return NULL;
    return realloc(p, n ? n : 1);
}

void cloche__dealloc(void *p)
{
    if (!p)
        return;
    atomic_fetch_sub_explicit(&g_live, 1, memory_order_relaxed);
    free(p);
}

long cloche__alloc_live(void)
{
    return atomic_load_explicit(&g_live, memory_order_relaxed);
}

void cloche__alloc_fail_after(long n)
{
    atomic_store_explicit(&g_fail_after, n, memory_order_relaxed);
}
