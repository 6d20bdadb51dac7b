/*
 * wasi_abi.h - the guest memory boundary of the WASI layer.
 *
 * Every read or write of guest linear memory goes through these functions.
 * They check each (ptr, len) in 64-bit arithmetic against the current
 * memory size and encode/decode the little-endian WASI structures, so the
 * rest of src/wasi works on host values and on spans already checked here.
 * All int results are WASI errno values (0 or CLOCHE__WASI_E...).
 */
#ifndef CLOCHE_WASI_ABI_H
#define CLOCHE_WASI_ABI_H

#include <stddef.h>
#include <stdint.h>

#include "wasi/wasi.h"

/** 0 when [ptr, ptr+len) lies inside memory, else CLOCHE__WASI_EFAULT. */
int cloche__abi_check(cloche__mem m, uint64_t ptr, uint64_t len);
/** Host pointer to a checked span, or NULL when out of bounds. */
uint8_t *cloche__abi_span(cloche__mem m, uint64_t ptr, uint64_t len);

int cloche__abi_store_u32(cloche__mem m, uint32_t ptr, uint32_t v);
int cloche__abi_store_u64(cloche__mem m, uint32_t ptr, uint64_t v);
int cloche__abi_store_bytes(cloche__mem m, uint32_t ptr, const void *src,
                            size_t len);

/** Host-side little-endian encoders (no bounds: the span is the caller's). */
void cloche__abi_put_u16(uint8_t *p, uint16_t v);
void cloche__abi_put_u32(uint8_t *p, uint32_t v);
void cloche__abi_put_u64(uint8_t *p, uint64_t v);

/**
 * Copy a guest path into @p dst (CLOCHE__VFS_PATH_MAX bytes). EFAULT when
 * out of bounds, ENAMETOOLONG when longer than CLOCHE__VFS_PATH_MAX.
 * The copy guards against the guest changing the bytes during the walk.
 */
int cloche__abi_load_path(char *dst, size_t *len, cloche__mem m, uint32_t ptr,
                          uint32_t path_len);

/* An array of (c)iovecs, validated as a whole before use. */
typedef struct cloche__abi_iovs {
    cloche__mem m;
    uint32_t at, n;
    uint64_t total; /* sum of the lengths */
} cloche__abi_iovs;

/**
 * Validate @p n iovecs at @p at: the array and every buffer must be in
 * bounds (EFAULT, checked first), n at most CLOCHE__WASI_IOV_MAX (EINVAL).
 */
int cloche__abi_iovs_init(cloche__abi_iovs *out, cloche__mem m, uint32_t at,
                          uint32_t n);
/** Buffer of iovec i (checked again; NULL if it no longer fits). */
uint8_t *cloche__abi_iov(const cloche__abi_iovs *v, uint32_t i, size_t *len);

typedef struct cloche__abi_filestat {
    uint64_t dev, ino;
    uint8_t filetype;
    uint64_t nlink, size, atim, mtim, ctim;
} cloche__abi_filestat;

typedef struct cloche__abi_fdstat {
    uint8_t filetype;
    uint16_t flags;
    uint64_t rights_base, rights_inheriting;
} cloche__abi_fdstat;

typedef struct cloche__abi_subscription {
    uint64_t userdata;
    uint8_t tag;       /* CLOCHE__WASI_EVENT_... */
    uint32_t id_or_fd; /* clock id, or fd for fd_read/fd_write */
    uint64_t timeout, precision;
    uint16_t flags;
} cloche__abi_subscription;

typedef struct cloche__abi_event {
    uint64_t userdata;
    uint16_t error;
    uint8_t type;
    uint64_t nbytes;
    uint16_t flags;
} cloche__abi_event;

int cloche__abi_store_filestat(cloche__mem m, uint32_t ptr,
                               const cloche__abi_filestat *s);
int cloche__abi_store_fdstat(cloche__mem m, uint32_t ptr,
                             const cloche__abi_fdstat *s);
int cloche__abi_store_prestat_dir(cloche__mem m, uint32_t ptr,
                                  uint32_t name_len);
/** Subscription i of the array at @p at (the array was checked). */
int cloche__abi_load_subscription(cloche__abi_subscription *out, cloche__mem m,
                                  uint32_t at, uint32_t i);
int cloche__abi_store_event(cloche__mem m, uint32_t at, uint32_t i,
                            const cloche__abi_event *e);
/** Encode a dirent header into a host buffer of CLOCHE__WASI_DIRENT_SIZE. */
void cloche__abi_dirent_header(uint8_t *out, uint64_t next, uint64_t ino,
                               uint32_t name_len, uint8_t type);

#endif
