/*
 * wasi_clock.c - clocks: clock_res_get, clock_time_get and the time base
 * the rest of src/wasi (poll, file timestamps) uses.
 *
 * Policy: MONOTONIC counts ns since the context was created, from the
 * now_ns hook (or the host's CLOCK_MONOTONIC). PROCESS_CPUTIME and
 * THREAD_CPUTIME report the same value: the guest has one thread and no
 * separate CPU accounting, and it counts from the sandbox's creation, so
 * process time is never negative. REALTIME is the host's CLOCK_REALTIME
 * (the wall clock is granted by default), or, with fixed_clock_ns set, that
 * instant plus the monotonic time (no host time leaks into the box, and
 * runs are reproducible).
 * Resolution is reported as 1 ns for every clock.
 */
#define _POSIX_C_SOURCE 200809L

#include "wasi/wasi_int.h"

#include <time.h>

static uint64_t host_clock(clockid_t id)
{
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0 || ts.tv_sec < 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t cloche__wasi_host_monotonic(void)
{
    return host_clock(CLOCK_MONOTONIC);
}

uint64_t cloche__wasi_monotonic(const cloche__wasi *w)
{
    uint64_t now = w->now_ns ? w->now_ns(w->hook_ud)
                             : cloche__wasi_host_monotonic();
    return w->mono_base + (now > w->start_ns ? now - w->start_ns : 0);
}

uint64_t cloche__wasi_realtime(const cloche__wasi *w)
{
    if (!w->fixed_clock_ns)
        return host_clock(CLOCK_REALTIME);
    return w->fixed_clock_ns + cloche__wasi_monotonic(w);
}

int32_t cloche__wasi_clock_now(const cloche__wasi *w, uint32_t id,
                               uint64_t *out)
{
    switch (id) {
    case CLOCHE__WASI_CLOCK_REALTIME:
        *out = cloche__wasi_realtime(w);
        return 0;
    case CLOCHE__WASI_CLOCK_MONOTONIC:
    case CLOCHE__WASI_CLOCK_PROCESS_CPUTIME:
    case CLOCHE__WASI_CLOCK_THREAD_CPUTIME:
        *out = cloche__wasi_monotonic(w);
        return 0;
    default:
        *out = 0;
        return CLOCHE__WASI_EINVAL;
    }
}

int32_t cloche__wasi_clock_res_get(cloche__wasi *w, cloche__mem m,
                                   uint32_t id, uint32_t res_out)
{
    (void)w;
    if (id > CLOCHE__WASI_CLOCK_THREAD_CPUTIME)
        return CLOCHE__WASI_EINVAL;
    return cloche__abi_store_u64(m, res_out, 1);
}

int32_t cloche__wasi_clock_time_get(cloche__wasi *w, cloche__mem m,
                                    uint32_t id, uint64_t precision,
                                    uint32_t time_out)
{
    uint64_t t;
    (void)precision; /* every clock is read at full resolution */
    int32_t e = cloche__wasi_clock_now(w, id, &t);
    return e ? e : cloche__abi_store_u64(m, time_out, t);
}
