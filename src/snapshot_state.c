/*
 * The sections of an image snapshot's payload: guest memory pages and the
 * host side of a session (WASI/VFS state, the pending run and its calls,
 * counters). Parsing trusts nothing: every count, index and length is
 * checked before the sandbox is touched, fields that cannot describe a
 * real sandbox (a pending run waiting on nothing, time left beyond the
 * timeout) are refused, and a failure leaves the sandbox as it was
 * (snapshot.c restores the previous instance).
 *
 * Limits are never restored: the snapshot records its own only to check
 * its other fields against them. A restored pending run gets the
 * restoring sandbox's timeout and fuel, counted from the restore.
 *
 *   MEM:  u64 memory size | u32 n | n x u32 page index (ascending) |
 *         n x 4096 bytes, each page XORed with the image's bytes there
 *         (zeros past the image's end): the bytes a session left alone
 *         become zeros, which zstd squeezes to almost nothing (an agent
 *         session's snapshot: 334 KiB stored plainly)
 *   WASI: blob (cloche__wasi_save)
 *   RUN:  u32 state (0 idle, 1 pending) | u64 elapsed | u64 time left
 *         (at most the timeout) | u64 wake-in | u32 calls made | u64
 *         payload out | u64 payload in | u64 fuel left (at most the fuel
 *         limit) | u32 n | n x i64 limits (checks only) |
 *         blob stdout | blob stderr | u32 calls | calls (cloche__hub_save)
 *   Times are ns; UINT64_MAX means none (always, for an idle sandbox's
 *   time left, wake-in and fuel left).
 */
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "internal.h"
#include "memdiff.h"
#include "snapshot.h"

#define MAX_CALLS 100000u
#define MAX_LIMITS 64u
#define NO_TIME UINT64_MAX

/* --- saving ----------------------------------------------------------------- */

/* page ^= the image's bytes at off (nothing past the image's end). */
static void xor_image(uint8_t *page, const uint8_t *image, uint64_t image_size,
                      uint64_t off) {
    size_t in_image = off >= image_size ? 0
                      : image_size - off >= CLOCHE__PAGE
                          ? CLOCHE__PAGE
                          : (size_t)(image_size - off);
    for (size_t i = 0; i < in_image; i++)
        page[i] ^= image[off + i];
}

/* The pages go in as they are: the secrets check reads the payload before
 * cloche__snap_delta_pages turns them into deltas. */
int cloche__snap_write_memory(cloche__writer *w, cloche_sandbox *sb,
                              const uint8_t *image, uint64_t image_size,
                              cloche__snap_pages *where) {
    cloche__mem m = cloche__sandbox_mem(sb);
    uint32_t *pages = NULL;
    size_t n = 0;
    int rc = cloche__memdiff(&pages, &n, m.base, m.size, image, image_size);
    if (rc != 0)
        return rc;
    cloche__put_u64(w, m.size);
    cloche__put_u32(w, (uint32_t)n);
    where->index_off = w->len;
    for (size_t i = 0; i < n; i++)
        cloche__put_u32(w, pages[i]);
    where->pages_off = w->len;
    where->count = n;
    for (size_t i = 0; i < n; i++)
        cloche__put(w, m.base + (uint64_t)pages[i] * CLOCHE__PAGE,
                    CLOCHE__PAGE);
    free(pages);
    return 0;
}

void cloche__snap_delta_pages(uint8_t *payload, const cloche__snap_pages *where,
                              const uint8_t *image, uint64_t image_size) {
    for (size_t i = 0; i < where->count; i++) {
        uint64_t page = cloche__load_u32(payload + where->index_off + 4 * i);
        xor_image(payload + where->pages_off + i * CLOCHE__PAGE, image,
                  image_size, page * CLOCHE__PAGE);
    }
}

static uint64_t until(uint64_t when, uint64_t now) {
    if (when == UINT64_MAX || when == 0)
        return NO_TIME;
    return when > now ? when - now : 0;
}

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

/* A timeout limit (ms) in ns, saturating. */
static uint64_t timeout_ns(int64_t ms) {
    uint64_t v = ms > 0 ? (uint64_t)ms : 0;
    return v > (NO_TIME - 1) / 1000000u ? NO_TIME - 1 : v * 1000000u;
}

/* Fuel left in a pending run, never above the fuel limit (a limit
 * lowered while the run waited must not make the snapshot disagree with
 * itself); NO_TIME when idle or fuel is off. */
static uint64_t fuel_left(cloche_sandbox *sb, int pending) {
    uint64_t fuel = NO_TIME;
    if (!pending || !sb->engine->fuel_enabled)
        return NO_TIME;
    wasmtime_context_get_fuel(sb->ctx, &fuel);
    int64_t limit = sb->limits[CLOCHE_LIMIT_FUEL];
    return limit > 0 ? min_u64(fuel, (uint64_t)limit) : fuel;
}

void cloche__snap_write_run(cloche__writer *w, cloche_sandbox *sb) {
    uint64_t now = cloche__now_ns();
    int pending = sb->run_state == CLOCHE__RUN_PENDING;
    uint64_t left = min_u64(until(sb->deadline_ns, now),
                            timeout_ns(sb->limits[CLOCHE_LIMIT_TIMEOUT]));
    cloche__put_u32(w, (uint32_t)pending);
    cloche__put_u64(w, pending ? now - sb->run_start_ns : 0);
    cloche__put_u64(w, pending ? left : NO_TIME);
    cloche__put_u64(w, pending ? until(sb->wake_ns, now) : NO_TIME);
    cloche__put_u32(w, sb->calls_made);
    cloche__put_u64(w, sb->payload_out);
    cloche__put_u64(w, sb->payload_in);
    cloche__put_u64(w, fuel_left(sb, pending));
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

int cloche__snap_apply_memory(cloche_sandbox *sb, const cloche__snap_memory *m,
                              const uint8_t *image, uint64_t image_size) {
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
        xor_image(cur.base + off, image, image_size, off);
    }
    return 0;
}

static uint64_t at_time(uint64_t in, uint64_t now) {
    return in == NO_TIME || in > NO_TIME - now ? UINT64_MAX : now + in;
}

/* RUN's fields as written, not yet trusted. The snapshot's own limits
 * are read only to check the fields against them: they never apply. */
typedef struct run_fields {
    uint32_t pending, calls_made, ncalls;
    uint64_t elapsed, budget, wake, payload_out, payload_in, fuel;
    uint64_t limits[CLOCHE_LIMIT__COUNT]; /* 0: not in the snapshot */
    int negative_limit;
    const uint8_t *out[2];
    size_t out_len[2];
} run_fields;

static int read_run_fields(cloche__reader *r, run_fields *f) {
    memset(f, 0, sizeof *f);
    f->pending = cloche__get_u32(r);
    f->elapsed = cloche__get_u64(r);
    f->budget = cloche__get_u64(r);
    f->wake = cloche__get_u64(r);
    f->calls_made = cloche__get_u32(r);
    f->payload_out = cloche__get_u64(r);
    f->payload_in = cloche__get_u64(r);
    f->fuel = cloche__get_u64(r);
    uint32_t nlimits = cloche__get_u32(r);
    if (r->failed || nlimits > MAX_LIMITS)
        return CLOCHE_ECORRUPT;
    for (uint32_t i = 0; i < nlimits; i++) {
        uint64_t v = cloche__get_u64(r);
        f->negative_limit |= v > INT64_MAX;
        if (i < CLOCHE_LIMIT__COUNT)
            f->limits[i] = v;
    }
    for (int i = 0; i < 2; i++)
        f->out[i] = cloche__get_blob(r, &f->out_len[i]);
    f->ncalls = cloche__get_u32(r);
    return r->failed || f->ncalls > MAX_CALLS ? CLOCHE_ECORRUPT : 0;
}

/* Why the fields cannot describe a real sandbox, or NULL if they can. A
 * restored run must never be left waiting on something that cannot
 * happen (a pending run with no host call to wait for). */
static const char *run_fields_mismatch(const run_fields *f) {
    if (f->pending > 1)
        return "unknown run state";
    if (f->negative_limit || f->limits[CLOCHE_LIMIT_TIMEOUT] == 0)
        return "limits out of range";
    if (!f->pending)
        return f->elapsed || f->budget != NO_TIME || f->wake != NO_TIME ||
                       f->out_len[0] || f->out_len[1]
                   ? "an idle sandbox with a pending run's timers or output"
                   : NULL;
    if (f->ncalls == 0)
        return "a pending run that waits on no host call";
    if (f->budget == NO_TIME ||
        f->budget > timeout_ns((int64_t)f->limits[CLOCHE_LIMIT_TIMEOUT]))
        return "time left beyond the snapshot's own timeout";
    if (f->fuel != NO_TIME && f->limits[CLOCHE_LIMIT_FUEL] > 0 &&
        f->fuel > f->limits[CLOCHE_LIMIT_FUEL])
        return "fuel left beyond the snapshot's own fuel limit";
    return NULL;
}

/* Put the run fields on the sandbox. Its own limits stay: a restored
 * pending run gets this sandbox's timeout and fuel from now on. */
static void apply_run_fields(cloche_sandbox *sb, const run_fields *f) {
    uint64_t now = cloche__now_ns();
    sb->calls_made = f->calls_made;
    sb->payload_out = f->payload_out;
    sb->payload_in = f->payload_in;
    sb->run_state = f->pending ? CLOCHE__RUN_PENDING : CLOCHE__RUN_IDLE;
    /* Another host's monotonic clock may be younger than the run. */
    sb->run_start_ns = now - min_u64(f->elapsed, now);
    sb->wake_ns = at_time(f->wake, now);
    sb->deadline_ns = UINT64_MAX;
    if (f->pending)
        cloche__run_arm_budget(sb, now);
}

int cloche__snap_apply_run(cloche_sandbox *sb, cloche__reader *r) {
    run_fields f;
    if (read_run_fields(r, &f) != 0)
        return cloche__fail(sb, CLOCHE_ECORRUPT, "bad run section");
    const char *why = run_fields_mismatch(&f);
    if (why)
        return cloche__fail(sb, CLOCHE_ECORRUPT, "bad run section: %s", why);
    int rc = 0;
    for (int fd = 1; fd <= 2 && rc == 0; fd++)
        if (cloche__wasi_prefill_output(sb->wasi, fd, f.out[fd - 1],
                                        f.out_len[fd - 1]) != 0)
            rc = cloche__fail(sb, CLOCHE_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < f.ncalls && rc == 0; i++) {
        cloche_call *call;
        if ((rc = cloche__hub_load_call(&call, sb->hub, r)) != 0)
            rc = cloche__fail(sb, rc, "bad host call in the run section");
    }
    if (rc != 0)
        return rc;
    apply_run_fields(sb, &f);
    if (f.pending && !(sb->run_result = cloche__result_new()))
        return cloche__fail(sb, CLOCHE_ENOMEM, "out of memory");
    return 0;
}
