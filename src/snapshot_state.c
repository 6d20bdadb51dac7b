/*
 * The sections of an image snapshot's payload: guest memory pages and the
 * host side of a session (WASI/VFS state, the pending run and its calls,
 * counters, limits). Parsing trusts nothing: every count, index and length
 * is checked before the sandbox is touched, and a failure leaves it as it
 * was (snapshot.c restores the previous instance).
 *
 *   MEM:  u64 memory size | u32 n | n x u32 page index (ascending) |
 *         n x 4096 bytes
 *   WASI: blob (cloche__wasi_save)
 *   RUN:  u32 state (0 idle, 1 pending) | u64 elapsed | u64 budget left |
 *         u64 wake-in (UINT64_MAX: none) | u32 calls made | u64 payload
 *         out | u64 payload in | u64 fuel left | u32 n | n x i64 limits |
 *         blob stdout | blob stderr | u32 calls | calls (cloche__hub_save)
 */
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "internal.h"
#include "memdiff.h"
#include "snapshot.h"

#define MAX_CALLS 100000u
#define NO_TIME UINT64_MAX

/* --- saving ----------------------------------------------------------------- */

int cloche__snap_write_memory(cloche__writer *w, cloche_sandbox *sb,
                              const uint8_t *image, uint64_t image_size) {
    cloche__mem m = cloche__sandbox_mem(sb);
    uint32_t *pages = NULL;
    size_t n = 0;
    int rc = cloche__memdiff(&pages, &n, m.base, m.size, image, image_size);
    if (rc != 0)
        return rc;
    cloche__put_u64(w, m.size);
    cloche__put_u32(w, (uint32_t)n);
    for (size_t i = 0; i < n; i++)
        cloche__put_u32(w, pages[i]);
    for (size_t i = 0; i < n; i++)
        cloche__put(w, m.base + (uint64_t)pages[i] * CLOCHE__PAGE,
                    CLOCHE__PAGE);
    free(pages);
    return 0;
}

static uint64_t until(uint64_t when, uint64_t now) {
    if (when == UINT64_MAX || when == 0)
        return NO_TIME;
    return when > now ? when - now : 0;
}

void cloche__snap_write_run(cloche__writer *w, cloche_sandbox *sb) {
    uint64_t now = cloche__now_ns();
    int pending = sb->run_state == CLOCHE__RUN_PENDING;
    uint64_t fuel = NO_TIME;
    if (sb->engine->fuel_enabled)
        wasmtime_context_get_fuel(sb->ctx, &fuel);
    cloche__put_u32(w, (uint32_t)pending);
    cloche__put_u64(w, pending ? now - sb->run_start_ns : 0);
    cloche__put_u64(w, pending ? until(sb->deadline_ns, now) : NO_TIME);
    cloche__put_u64(w, pending ? until(sb->wake_ns, now) : NO_TIME);
    cloche__put_u32(w, sb->calls_made);
    cloche__put_u64(w, sb->payload_out);
    cloche__put_u64(w, sb->payload_in);
    cloche__put_u64(w, fuel);
    cloche__put_u32(w, CLOCHE_LIMIT__COUNT);
    for (int i = 0; i < CLOCHE_LIMIT__COUNT; i++)
        cloche__put_u64(w, (uint64_t)sb->limits[i]);
    for (int fd = 1; fd <= 2; fd++) {
        size_t len = 0;
        const uint8_t *out = cloche__wasi_output(sb->wasi, fd, &len);
        cloche__put_blob(w, out, pending ? len : 0);
    }
    cloche__hub_save(sb->hub, w);
}

/* --- loading ------------------------------------------------------------------ */

int cloche__snap_read_memory(cloche__reader *r, cloche__snap_memory *m) {
    m->size = cloche__get_u64(r);
    m->count = cloche__get_u32(r);
    uint64_t max_pages = m->size / CLOCHE__PAGE;
    if (r->failed || m->size % 65536u != 0 || m->size > (4ull << 30) ||
        m->count > max_pages)
        return CLOCHE_ECORRUPT;
    m->indices = cloche__get(r, (size_t)m->count * 4u);
    m->pages = cloche__get(r, (size_t)m->count * CLOCHE__PAGE);
    if (!m->indices || !m->pages)
        return CLOCHE_ECORRUPT;
    uint64_t prev = 0;
    for (size_t i = 0; i < m->count; i++) {
        uint32_t page = cloche__load_u32(m->indices + 4 * i);
        if (page >= max_pages || (i > 0 && page <= prev))
            return CLOCHE_ECORRUPT;
        prev = page;
    }
    return 0;
}

int cloche__snap_apply_memory(cloche_sandbox *sb, const cloche__snap_memory *m) {
    cloche__mem cur = cloche__sandbox_mem(sb);
    if (m->size < cur.size)
        return cloche__fail(sb, CLOCHE_ECORRUPT, "memory smaller than image");
    if (m->size > cur.size) {
        uint64_t prev;
        wasmtime_error_t *e = wasmtime_memory_grow(
            sb->ctx, &sb->memory, (m->size - cur.size) / 65536u, &prev);
        if (e) {
            wasmtime_error_delete(e);
            return cloche__fail(sb, CLOCHE_ETOOBIG,
                                "snapshot memory (%llu bytes) exceeds the "
                                "memory limit",
                                (unsigned long long)m->size);
        }
        cur = cloche__sandbox_mem(sb);
    }
    for (size_t i = 0; i < m->count; i++) {
        uint64_t off = (uint64_t)cloche__load_u32(m->indices + 4 * i) *
                       CLOCHE__PAGE;
        memcpy(cur.base + off, m->pages + i * CLOCHE__PAGE, CLOCHE__PAGE);
    }
    return 0;
}

static uint64_t at_time(uint64_t in, uint64_t now) {
    return in == NO_TIME ? UINT64_MAX : now + in;
}

/* Read the fixed part of RUN; the calls follow in the reader. */
static int read_run_fields(cloche__reader *r, cloche_sandbox *sb,
                           uint64_t *fuel) {
    uint32_t pending = cloche__get_u32(r);
    uint64_t elapsed = cloche__get_u64(r), budget = cloche__get_u64(r);
    uint64_t wake = cloche__get_u64(r), now = cloche__now_ns();
    sb->calls_made = cloche__get_u32(r);
    sb->payload_out = cloche__get_u64(r);
    sb->payload_in = cloche__get_u64(r);
    *fuel = cloche__get_u64(r);
    uint32_t nlimits = cloche__get_u32(r);
    if (r->failed || pending > 1 || nlimits > 64 || elapsed > now)
        return CLOCHE_ECORRUPT;
    for (uint32_t i = 0; i < nlimits; i++) {
        int64_t v = (int64_t)cloche__get_u64(r);
        /* A snapshot can lower a limit, never raise one. */
        if (i < CLOCHE_LIMIT__COUNT && v > 0 && v < sb->limits[i])
            sb->limits[i] = v;
    }
    sb->run_state = pending ? CLOCHE__RUN_PENDING : CLOCHE__RUN_IDLE;
    sb->run_start_ns = now - elapsed;
    sb->deadline_ns = at_time(budget, now);
    sb->wake_ns = at_time(wake, now);
    return r->failed ? CLOCHE_ECORRUPT : 0;
}

int cloche__snap_apply_run(cloche_sandbox *sb, cloche__reader *r) {
    uint64_t fuel;
    int rc = read_run_fields(r, sb, &fuel);
    for (int fd = 1; fd <= 2 && rc == 0; fd++) {
        size_t n;
        const uint8_t *out = cloche__get_blob(r, &n);
        if (r->failed)
            return CLOCHE_ECORRUPT;
        rc = cloche__wasi_prefill_output(sb->wasi, fd, out, n);
    }
    if (rc != 0)
        return rc;
    if (sb->engine->fuel_enabled && fuel != NO_TIME)
        wasmtime_context_set_fuel(sb->ctx, fuel);
    uint32_t ncalls = cloche__get_u32(r);
    if (r->failed || ncalls > MAX_CALLS)
        return CLOCHE_ECORRUPT;
    for (uint32_t i = 0; i < ncalls && rc == 0; i++) {
        cloche_call *call;
        rc = cloche__hub_load_call(&call, sb->hub, r);
    }
    if (rc == 0 && sb->run_state == CLOCHE__RUN_PENDING &&
        !(sb->run_result = cloche__result_new()))
        rc = CLOCHE_ENOMEM;
    return rc;
}
