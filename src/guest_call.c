/*
 * Calling into the guest: invoking an export with trap capture, copying
 * host bytes into a fresh guest buffer, and reading back a result record.
 * Every (ptr, len) the guest returns is checked against the memory size
 * as it is right now (the base moves when memory grows).
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* Call a guest export; returns 0, or -1 with a trap/error message. */
int cloche__guest_call(cloche_sandbox *sb, const wasmtime_func_t *fn,
                      const wasmtime_val_t *args, size_t nargs,
                      wasmtime_val_t *result, int *trap_code, char *msg,
                      size_t msglen) {
    wasm_trap_t *trap = NULL;
    wasmtime_error_t *err = wasmtime_func_call(sb->ctx, fn, args, nargs,
                                               result, result ? 1 : 0, &trap);
    *trap_code = -1;
    if (err) {
        cloche__take_wasmtime_error(err, msg, msglen);
        return -1;
    }
    if (trap) {
        *trap_code = cloche__take_trap(trap, msg, msglen);
        return -1;
    }
    return 0;
}

/* Copy bytes into a fresh guest buffer (cloche_alloc). */
int cloche__guest_copy_in(cloche_sandbox *sb, const void *data, size_t len,
                   uint32_t *guest_ptr) {
    if (len > UINT32_MAX - 1)
        return cloche__fail(sb, CLOCHE_ETOOBIG, "input is larger than 4 GiB");
    wasmtime_val_t arg = {.kind = WASMTIME_I32, .of.i32 = (int32_t)len};
    wasmtime_val_t res;
    char msg[256];
    int code;
    if (cloche__guest_call(sb, &sb->fn_alloc, &arg, 1, &res, &code, msg, sizeof msg)) {
        sb->needs_reset = 1;
        return cloche__fail(sb, CLOCHE_EGUEST, "guest alloc failed: %s", msg);
    }
    uint32_t p = (uint32_t)res.of.i32;
    cloche__mem m = cloche__sandbox_mem(sb);
    if (p == 0)
        return cloche__fail(sb, CLOCHE_ETOOBIG,
                            "no guest memory for %zu bytes of input", len);
    if ((uint64_t)p + len > m.size)
        return cloche__fail(sb, CLOCHE_EGUEST, "guest alloc out of bounds");
    if (len)
        memcpy(m.base + p, data, len);
    *guest_ptr = p;
    return 0;
}

int cloche__guest_free(cloche_sandbox *sb, uint32_t ptr) {
    wasmtime_val_t arg = {.kind = WASMTIME_I32, .of.i32 = (int32_t)ptr};
    char msg[128];
    int code;
    if (cloche__guest_call(sb, &sb->fn_free, &arg, 1, NULL, &code, msg,
                           sizeof msg) != 0) {
        sb->needs_reset = 1;
        return -1;
    }
    return 0;
}

int cloche__guest_record(cloche_sandbox *sb, uint64_t packed,
                         uint32_t *status,
                         cloche__span fields[CLOCHE__RECORD_FIELDS]) {
    uint64_t ptr = packed & 0xFFFFFFFFu, len = packed >> 32;
    cloche__mem m = cloche__sandbox_mem(sb);
    if (packed == 0 || ptr > m.size || len > m.size - ptr)
        return -1;
    return cloche__record_split(m.base + ptr, (size_t)len, status, fields);
}
