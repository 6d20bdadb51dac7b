/*
 * vfs_alloc.h - the one allocation path of src/vfs and src/wasi.
 *
 * Every allocation of the VFS and the WASI context goes through these four
 * functions so that (1) the library-wide allocator hook, when it lands, has a
 * single place to plug in, (2) tests can count live allocations and (3) tests
 * can inject failures to exercise every ENOMEM path.
 */
#ifndef CLOCHE_VFS_ALLOC_H
#define CLOCHE_VFS_ALLOC_H

#include <stddef.h>

/** malloc(n); n == 0 is treated as 1 so NULL always means failure. */
void *cloche__alloc(size_t n);
/** calloc(n, size) with overflow check; NULL on overflow or failure. */
void *cloche__calloc(size_t n, size_t size);
/** realloc(p, n), n > 0; on failure p is untouched and NULL returned. */
void *cloche__realloc(void *p, size_t n);
/** free(p); NULL is fine. */
void cloche__dealloc(void *p);

/** Test support: number of live blocks handed out by the functions above. */
long cloche__alloc_live(void);
/**
 * Test support: make the n-th following allocation fail (0 = the next one);
 * a negative n disables injection. Process-wide; tests only.
 */
void cloche__alloc_fail_after(long n);

#endif
