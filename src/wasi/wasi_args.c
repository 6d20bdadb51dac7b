/*
 * wasi_args.c - argv and environ: args_get, args_sizes_get, environ_get,
 * environ_sizes_get.
 *
 * Owns the copies of the strings taken at creation: one blob of
 * NUL-terminated strings per list, at most CLOCHE__WASI_ARGS_MAX bytes, so
 * every size and pointer written to the guest fits in 32 bits. The *_get
 * calls check both guest arrays before writing either.
 */
#include "wasi/wasi_int.h"

#include <string.h>

#include "vfs/vfs_alloc.h"

int cloche__wasi_strings_init(cloche__wasi_strings *s, const char *const *v,
                              size_t n, int need_eq)
{
    size_t total = 0;
    memset(s, 0, sizeof(*s));
    if (n && !v)
        return CLOCHE__EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!v[i] || (need_eq && !strchr(v[i], '=')))
            return CLOCHE__EINVAL;
        size_t len = strlen(v[i]) + 1;
        if (len > CLOCHE__WASI_ARGS_MAX - total)
            return CLOCHE__EINVAL;
        total += len;
    }
    if (total && !(s->blob = cloche__alloc(total)))
        return CLOCHE__ENOMEM;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(v[i]) + 1;
        memcpy(s->blob + at, v[i], len);
        at += len;
    }
    s->blob_len = (uint32_t)total;
    s->count = (uint32_t)n;
    return 0;
}

void cloche__wasi_strings_free(cloche__wasi_strings *s)
{
    cloche__dealloc(s->blob);
    memset(s, 0, sizeof(*s));
}

static int32_t sizes_get(const cloche__wasi_strings *s, cloche__mem m,
                         uint32_t count_out, uint32_t size_out)
{
    if (cloche__abi_check(m, count_out, 4) || cloche__abi_check(m, size_out, 4))
        return CLOCHE__WASI_EFAULT;
    cloche__abi_store_u32(m, count_out, s->count);
    return cloche__abi_store_u32(m, size_out, s->blob_len);
}

/* Write the pointer array at `ptrs` and the strings at `buf`. */
static int32_t strings_get(const cloche__wasi_strings *s, cloche__mem m,
                           uint32_t ptrs, uint32_t buf)
{
    if (cloche__abi_check(m, ptrs, (uint64_t)s->count * 4) ||
        cloche__abi_check(m, buf, s->blob_len))
        return CLOCHE__WASI_EFAULT;
    uint32_t off = 0;
    for (uint32_t i = 0; i < s->count; i++) {
        /* buf + off < memory size <= 2^32: the pointer fits in 32 bits */
        cloche__abi_store_u32(m, ptrs + 4 * i, buf + off);
        off += (uint32_t)strlen(s->blob + off) + 1;
    }
    return cloche__abi_store_bytes(m, buf, s->blob, s->blob_len);
}

int32_t cloche__wasi_args_get(cloche__wasi *w, cloche__mem m, uint32_t argv,
                              uint32_t argv_buf)
{
    return strings_get(&w->args, m, argv, argv_buf);
}

int32_t cloche__wasi_args_sizes_get(cloche__wasi *w, cloche__mem m,
                                    uint32_t argc_out, uint32_t size_out)
{
    return sizes_get(&w->args, m, argc_out, size_out);
}

int32_t cloche__wasi_environ_get(cloche__wasi *w, cloche__mem m,
                                 uint32_t environ, uint32_t environ_buf)
{
    return strings_get(&w->env, m, environ, environ_buf);
}

int32_t cloche__wasi_environ_sizes_get(cloche__wasi *w, cloche__mem m,
                                       uint32_t count_out, uint32_t size_out)
{
    return sizes_get(&w->env, m, count_out, size_out);
}
