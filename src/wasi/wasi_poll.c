/*
 * wasi_poll.c - poll_oneoff.
 *
 * Model: every fd subscription is ready at once (memory files never block,
 * stdin is at EOF, the captures accept writes until the trap); clock
 * subscriptions fire when their deadline passes. When nothing is ready the
 * call sleeps once, through the sleep_ns hook, until the earliest deadline;
 * an interrupted sleep sets the INTERRUPTED trap and returns EINTR with no
 * events. Deadlines are computed against one reading of the clocks taken at
 * entry, so the two passes over the subscriptions agree. Subscriptions are
 * decoded from guest memory in each pass instead of being copied, so the
 * call allocates nothing.
 */
#define _POSIX_C_SOURCE 200809L

#include "wasi/wasi_int.h"

#include <time.h>

typedef struct poll_ctx {
    cloche__wasi *w;
    cloche__mem m;
    uint32_t in, out, n;
    uint64_t t0;         /* monotonic time at entry */
    uint64_t fire_until; /* clocks with deadline <= this fire */
} poll_ctx;

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return b > UINT64_MAX - a ? UINT64_MAX : a + b;
}

/* Monotonic deadline of a clock subscription; EINVAL for a bad clock. */
static int32_t deadline(const poll_ctx *c, const cloche__abi_subscription *s,
                        uint64_t *out)
{
    uint64_t now;
    int32_t e = cloche__wasi_clock_now(c->w, s->id_or_fd, &now);
    if (e)
        return e;
    if (!(s->flags & CLOCHE__WASI_SUBCLOCK_ABSTIME))
        *out = sat_add(c->t0, s->timeout);
    else if (s->timeout <= now)
        *out = c->t0;
    else
        *out = sat_add(c->t0, s->timeout - now);
    return 0;
}

/* Decode subscription i and reject what no event can describe. */
static int32_t load_sub(cloche__abi_subscription *s, const poll_ctx *c,
                        uint32_t i)
{
    int32_t e = (int32_t)cloche__abi_load_subscription(s, c->m, c->in, i);
    if (e)
        return e;
    if (s->tag > CLOCHE__WASI_EVENT_FD_WRITE)
        return CLOCHE__WASI_EINVAL;
    if (s->tag == CLOCHE__WASI_EVENT_CLOCK &&
        (s->flags & ~CLOCHE__WASI_SUBCLOCK_ABSTIME))
        return CLOCHE__WASI_EINVAL;
    return 0;
}

/* First pass: is anything ready now, and when is the earliest deadline? */
static int32_t survey(const poll_ctx *c, int *ready, uint64_t *earliest)
{
    *ready = 0;
    *earliest = UINT64_MAX;
    for (uint32_t i = 0; i < c->n; i++) {
        cloche__abi_subscription s;
        uint64_t d;
        int32_t e = load_sub(&s, c, i);
        if (e)
            return e;
        if (s.tag != CLOCHE__WASI_EVENT_CLOCK || deadline(c, &s, &d) != 0)
            *ready = 1; /* fd events and clock errors are immediate */
        else if (d <= c->t0)
            *ready = 1;
        else if (d < *earliest)
            *earliest = d;
    }
    return 0;
}

/* The event of an fd subscription (always ready). */
static void fd_event(cloche__abi_event *ev, cloche__wasi *w,
                     const cloche__abi_subscription *s)
{
    cloche__wasi_fd *f = cloche__wasi_fd_get(w, s->id_or_fd);
    if (!f) {
        ev->error = CLOCHE__WASI_EBADF;
        return;
    }
    if (s->tag == CLOCHE__WASI_EVENT_FD_READ) {
        if (f->kind == CLOCHE__FD_STDIN)
            ev->flags = CLOCHE__WASI_EVENTRW_HANGUP;
        else if (f->kind == CLOCHE__FD_FILE) {
            uint64_t size = cloche__vfs_file_size(f->node);
            ev->nbytes = size > f->pos ? size - f->pos : 0;
        }
    } else if (f->kind == CLOCHE__FD_STDOUT || f->kind == CLOCHE__FD_STDERR) {
        const cloche__wasi_capture *cap =
            &w->out[f->kind == CLOCHE__FD_STDOUT ? 0 : 1];
        ev->nbytes = cloche__wasi_capture_room(cap);
    }
}

/* Second pass: write the events of everything that fired. */
static int32_t report(const poll_ctx *c, uint32_t *nevents)
{
    *nevents = 0;
    for (uint32_t i = 0; i < c->n; i++) {
        cloche__abi_subscription s;
        uint64_t d = 0;
        int32_t e = load_sub(&s, c, i);
        if (e)
            return e;
        cloche__abi_event ev = {s.userdata, 0, s.tag, 0, 0};
        if (s.tag != CLOCHE__WASI_EVENT_CLOCK)
            fd_event(&ev, c->w, &s);
        else if ((e = deadline(c, &s, &d)) != 0)
            ev.error = (uint16_t)e;
        else if (d > c->fire_until)
            continue;
        cloche__abi_store_event(c->m, c->out, (*nevents)++, &ev);
    }
    return 0;
}

/* Sleep ns through the hook; nonzero when interrupted. */
static int do_sleep(cloche__wasi *w, uint64_t ns)
{
    if (w->sleep_ns)
        return w->sleep_ns(w->hook_ud, ns);
    struct timespec ts = {(time_t)(ns / 1000000000u),
                          (long)(ns % 1000000000u)};
    while (nanosleep(&ts, &ts) != 0) {
    }
    return 0;
}

int32_t cloche__wasi_poll_oneoff(cloche__wasi *w, cloche__mem m, uint32_t in,
                                 uint32_t out, uint32_t nsubscriptions,
                                 uint32_t nevents_out)
{
    uint64_t n = nsubscriptions;
    if (n == 0)
        return CLOCHE__WASI_EINVAL;
    if (cloche__abi_check(m, in, n * CLOCHE__WASI_SUBSCRIPTION_SIZE) ||
        cloche__abi_check(m, out, n * CLOCHE__WASI_EVENT_SIZE) ||
        cloche__abi_check(m, nevents_out, 4))
        return CLOCHE__WASI_EFAULT;
    if (n > CLOCHE__WASI_POLL_MAX)
        return CLOCHE__WASI_EINVAL;
    poll_ctx c = {w, m, in, out, nsubscriptions, cloche__wasi_monotonic(w), 0};
    int ready;
    uint64_t earliest;
    uint32_t nevents;
    int32_t e = survey(&c, &ready, &earliest);
    if (e)
        return e;
    c.fire_until = c.t0;
    if (!ready) {
        if (do_sleep(w, earliest - c.t0) != 0) {
            cloche__wasi_set_trap(w, CLOCHE__WASI_TRAP_INTERRUPTED, 0);
            cloche__abi_store_u32(m, nevents_out, 0);
            return CLOCHE__WASI_EINTR;
        }
        /* A hook that returns early without an interruption still counts
         * as having slept to the earliest deadline. */
        uint64_t now = cloche__wasi_monotonic(w);
        c.fire_until = now > earliest ? now : earliest;
    }
    if ((e = report(&c, &nevents)) != 0)
        return e;
    return cloche__abi_store_u32(m, nevents_out, nevents);
}
