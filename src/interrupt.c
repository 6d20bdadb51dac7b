/*
 * Soft interrupts (cloche_sandbox_interrupt): KeyboardInterrupt raised in
 * the running Python code at its next bytecode boundary, the session kept.
 *
 * Owns: finding, once per instance, where the guest keeps its thread state
 * (the guest's cloche_interrupt_info export, guest/interrupt.c), and, from
 * the epoch callback (same thread as the guest, between instructions),
 * writing the asynchronous exception into it. Every address the guest gave
 * is checked against the memory size at the moment of the write; a guest
 * without the export, or with a bad answer, simply gets no soft interrupt.
 * Never traps the guest and never takes a lock: requesting one is a single
 * atomic store, safe from any thread and from a signal handler.
 */
#include <string.h>

#include "internal.h"

#define INFO_WORDS 7

static int in_bounds(cloche__mem m, uint32_t addr, uint32_t len) {
    return (uint64_t)addr + len <= m.size;
}

static void store_u32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16),
    p[3] = (uint8_t)(v >> 24);
}

void cloche__interrupt_bind(cloche_sandbox *sb, wasmtime_instance_t *inst) {
    wasmtime_extern_t ext;
    sb->intr_info = 0;
    if (!wasmtime_instance_export_get(sb->ctx, inst, "cloche_interrupt_info",
                                      strlen("cloche_interrupt_info"), &ext) ||
        ext.kind != WASMTIME_EXTERN_FUNC)
        return; /* an older guest: interrupts fall back to nothing */
    wasmtime_val_t res;
    char msg[128];
    int code;
    if (cloche__guest_call(sb, &ext.of.func, NULL, 0, &res, &code, msg,
                           sizeof msg) != 0 ||
        res.kind != WASMTIME_I32)
        return;
    uint32_t at = (uint32_t)res.of.i32;
    cloche__mem m = cloche__sandbox_mem(sb);
    if (in_bounds(m, at, 4 * INFO_WORDS) && cloche__load_u32(m.base + at) == 1)
        sb->intr_info = at;
}

void cloche__interrupt_deliver(cloche_sandbox *sb) {
    if (!sb->intr_info)
        return;
    cloche__mem m = cloche__sandbox_mem(sb);
    if (!in_bounds(m, sb->intr_info, 4 * INFO_WORDS))
        return;
    const uint8_t *info = m.base + sb->intr_info;
    uint32_t holder = cloche__load_u32(info + 4);
    uint32_t off_breaker = cloche__load_u32(info + 8);
    uint32_t off_exc = cloche__load_u32(info + 12);
    uint32_t exc = cloche__load_u32(info + 16);
    uint32_t bit = cloche__load_u32(info + 20);
    if (!in_bounds(m, holder, 4))
        return;
    uint32_t tstate = cloche__load_u32(m.base + holder);
    if (tstate == 0) /* the GIL is released (a sleep): the one thread's */
        tstate = cloche__load_u32(info + 24);
    if (tstate == 0 || off_breaker > UINT32_MAX - tstate ||
        off_exc > UINT32_MAX - tstate ||
        !in_bounds(m, tstate + off_breaker, 4) ||
        !in_bounds(m, tstate + off_exc, 4))
        return;
    uint8_t *slot = m.base + tstate + off_exc;
    if (cloche__load_u32(slot) == 0) /* one already pending stays */
        store_u32(slot, exc);
    uint8_t *breaker = m.base + tstate + off_breaker;
    store_u32(breaker, cloche__load_u32(breaker) | bit);
}

void cloche_sandbox_interrupt(cloche_sandbox *sb) {
    if (sb)
        atomic_store(&sb->intr_requested, 1);
}
