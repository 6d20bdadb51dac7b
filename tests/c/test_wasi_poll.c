/*
 * test_wasi_poll.c - clocks and poll_oneoff with fake clock/sleep hooks.
 * The fixture's fake monotonic clock starts at 1000 ns; the context's
 * monotonic zero is that instant.
 */
#define _POSIX_C_SOURCE 200809L

#include "test_wasi_util.h"

#include <time.h>

#define W(t) (t)->w, (t)->m
#define EQ assert_int_equal
#define SUBS 0x800u   /* subscription array */
#define EVENTS 0xC00u /* event array */

static void test_clocks_fixed_epoch(void **state)
{
    tw *t = *state;
    t->now += 123456;
    EQ(cloche__wasi_clock_time_get(W(t), 0, 0, A_OUT), 0);
    EQ(rd64(t, A_OUT), CLOCHE__EPOCH_2000_NS + 123456);
    EQ(cloche__wasi_clock_time_get(W(t), 1, 0, A_OUT), 0);
    EQ(rd64(t, A_OUT), 123456);
    EQ(cloche__wasi_clock_time_get(W(t), 2, 0, A_OUT), 0);
    EQ(rd64(t, A_OUT), 123456);
    EQ(cloche__wasi_clock_time_get(W(t), 3, 1000, A_OUT), 0);
    EQ(rd64(t, A_OUT), 123456);
    EQ(cloche__wasi_clock_time_get(W(t), 4, 0, A_OUT), CLOCHE__WASI_EINVAL);
    EQ(cloche__wasi_clock_time_get(W(t), 1, 0, MEM_SIZE - 7),
       CLOCHE__WASI_EFAULT);
    for (uint32_t id = 0; id < 4; id++) {
        put64(t, A_OUT, 0);
        EQ(cloche__wasi_clock_res_get(W(t), id, A_OUT), 0);
        EQ(rd64(t, A_OUT), 1);
    }
    EQ(cloche__wasi_clock_res_get(W(t), 4, A_OUT), CLOCHE__WASI_EINVAL);
    EQ(cloche__wasi_clock_res_get(W(t), 0, MEM_SIZE), CLOCHE__WASI_EFAULT);
    /* a clock hook going backwards never yields negative time */
    t->now = 0;
    EQ(cloche__wasi_clock_time_get(W(t), 1, 0, A_OUT), 0);
    EQ(rd64(t, A_OUT), 0);
}

static void test_clock_wall(void **state)
{
    tw *t = *state;
    cloche__wasi *w;
    t->cfg.fixed_clock_ns = 0; /* host realtime */
    t->cfg.now_ns = NULL; /* host monotonic */
    EQ(cloche__wasi_new(&w, &t->cfg), 0);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t host = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    EQ(cloche__wasi_clock_time_get(w, t->m, 0, 0, A_OUT), 0);
    uint64_t got = rd64(t, A_OUT);
    assert_true(got + 5000000000u > host && got < host + 5000000000u);
    EQ(cloche__wasi_clock_time_get(w, t->m, 1, 0, A_OUT), 0);
    assert_true(rd64(t, A_OUT) < 5000000000u); /* since creation */
    /* file times follow the context's clock too */
    uint32_t p = put_str(t, A_PATH, "tmp/wall");
    EQ(cloche__wasi_path_create_directory(w, t->m, 3, A_PATH, p), 0);
    EQ(cloche__wasi_path_filestat_get(w, t->m, 3, 0, A_PATH, p, A_BUF), 0);
    assert_true(FS_MTIM(t) + 5000000000u > host);
    cloche__wasi_free(w);
}

static void put_clock(tw *t, uint32_t i, uint64_t ud, uint32_t id,
                      uint64_t timeout, uint16_t flags)
{
    uint32_t at = SUBS + i * CLOCHE__WASI_SUBSCRIPTION_SIZE;
    memset(t->mem + at, 0, CLOCHE__WASI_SUBSCRIPTION_SIZE);
    put64(t, at, ud);
    t->mem[at + 8] = CLOCHE__WASI_EVENT_CLOCK;
    put32(t, at + 16, id);
    put64(t, at + 24, timeout);
    put64(t, at + 32, 1000);
    t->mem[at + 40] = (uint8_t)flags;
}

static void put_fdsub(tw *t, uint32_t i, uint64_t ud, uint8_t tag, uint32_t fd)
{
    uint32_t at = SUBS + i * CLOCHE__WASI_SUBSCRIPTION_SIZE;
    memset(t->mem + at, 0, CLOCHE__WASI_SUBSCRIPTION_SIZE);
    put64(t, at, ud);
    t->mem[at + 8] = tag;
    put32(t, at + 16, fd);
}

#define EV_UD(t, i) rd64(t, EVENTS + (i) * 32)
#define EV_ERR(t, i) rd16(t, EVENTS + (i) * 32 + 8)
#define EV_TYPE(t, i) ((t)->mem[EVENTS + (i) * 32 + 10])
#define EV_NBYTES(t, i) rd64(t, EVENTS + (i) * 32 + 16)
#define EV_FLAGS(t, i) rd16(t, EVENTS + (i) * 32 + 24)

static int32_t poll(tw *t, uint32_t n)
{
    memset(t->mem + EVENTS, 0xEE, 32 * 4);
    put32(t, A_OUT, 0xFFFFFFFFu);
    return cloche__wasi_poll_oneoff(W(t), SUBS, EVENTS, n, A_OUT);
}

static void test_poll_relative(void **state)
{
    tw *t = *state;
    put_clock(t, 0, 0xABCDEF, CLOCHE__WASI_CLOCK_MONOTONIC, 5000, 0);
    EQ(poll(t, 1), 0);
    EQ(t->sleeps, 1);
    EQ(t->slept, 5000);
    EQ(rd32(t, A_OUT), 1);
    EQ(EV_UD(t, 0), 0xABCDEF);
    EQ(EV_ERR(t, 0), 0);
    EQ(EV_TYPE(t, 0), CLOCHE__WASI_EVENT_CLOCK);
    EQ(EV_NBYTES(t, 0), 0);
    EQ(EV_FLAGS(t, 0), 0);
    EQ(t->now, 6000);
    /* timeout 0: fires at once, no sleep */
    put_clock(t, 0, 1, CLOCHE__WASI_CLOCK_REALTIME, 0, 0);
    EQ(poll(t, 1), 0);
    EQ(t->sleeps, 1);
    EQ(rd32(t, A_OUT), 1);
    /* two clocks: only the earliest fires */
    put_clock(t, 0, 10, CLOCHE__WASI_CLOCK_MONOTONIC, 5000, 0);
    put_clock(t, 1, 11, CLOCHE__WASI_CLOCK_MONOTONIC, 1000, 0);
    EQ(poll(t, 2), 0);
    EQ(t->slept, 6000);
    EQ(rd32(t, A_OUT), 1);
    EQ(EV_UD(t, 0), 11);
    EQ(cloche__wasi_take_trap(t->w, NULL), CLOCHE__WASI_TRAP_NONE);
}

static void test_poll_absolute(void **state)
{
    tw *t = *state;
    t->now += 10000; /* monotonic 10000 */
    put_clock(t, 0, 7, CLOCHE__WASI_CLOCK_MONOTONIC, 13000,
              CLOCHE__WASI_SUBCLOCK_ABSTIME);
    EQ(poll(t, 1), 0);
    EQ(t->slept, 3000);
    EQ(rd32(t, A_OUT), 1);
    EQ(EV_UD(t, 0), 7);
    /* already in the past */
    put_clock(t, 0, 8, CLOCHE__WASI_CLOCK_MONOTONIC, 5,
              CLOCHE__WASI_SUBCLOCK_ABSTIME);
    EQ(poll(t, 1), 0);
    EQ(t->sleeps, 1);
    EQ(rd32(t, A_OUT), 1);
    /* realtime deadline in the fixed-epoch timeline: mono 13000 now */
    put_clock(t, 0, 9, CLOCHE__WASI_CLOCK_REALTIME,
              CLOCHE__EPOCH_2000_NS + 15000, CLOCHE__WASI_SUBCLOCK_ABSTIME);
    EQ(poll(t, 1), 0);
    EQ(t->slept, 5000);
    EQ(EV_UD(t, 0), 9);
    /* a hook that comes back early still reports the earliest deadline */
    t->no_advance = 1;
    put_clock(t, 0, 10, CLOCHE__WASI_CLOCK_MONOTONIC, 100, 0);
    put_clock(t, 1, 11, CLOCHE__WASI_CLOCK_MONOTONIC, 200, 0);
    EQ(poll(t, 2), 0);
    EQ(rd32(t, A_OUT), 1);
    EQ(EV_UD(t, 0), 10);
    /* huge timeouts saturate instead of wrapping */
    t->no_advance = 0;
    put_clock(t, 0, 12, CLOCHE__WASI_CLOCK_MONOTONIC, UINT64_MAX, 0);
    EQ(poll(t, 1), 0);
    EQ(rd32(t, A_OUT), 1);
}

static void test_poll_fds(void **state)
{
    tw *t = *state;
    uint32_t fd, n;
    EQ(tw_open(t, 3, "lib/a.txt", 0, RIGHTS_RO, 0, &fd), 0);
    EQ(tw_read(t, fd, 5, &n), 0);
    EQ(tw_write(t, 1, "0123456789", &n), 0);
    put_clock(t, 0, 1, CLOCHE__WASI_CLOCK_MONOTONIC, 5000, 0);
    put_fdsub(t, 1, 2, CLOCHE__WASI_EVENT_FD_READ, fd);
    put_fdsub(t, 2, 3, CLOCHE__WASI_EVENT_FD_WRITE, 1);
    put_fdsub(t, 3, 4, CLOCHE__WASI_EVENT_FD_READ, 0);
    EQ(poll(t, 4), 0);
    EQ(t->sleeps, 0); /* fds are ready: no sleep, the clock does not fire */
    EQ(rd32(t, A_OUT), 3);
    EQ(EV_UD(t, 0), 2);
    EQ(EV_TYPE(t, 0), CLOCHE__WASI_EVENT_FD_READ);
    EQ(EV_ERR(t, 0), 0);
    EQ(EV_NBYTES(t, 0), 6); /* 11 bytes, 5 read */
    EQ(EV_FLAGS(t, 0), 0);
    EQ(EV_UD(t, 1), 3);
    EQ(EV_TYPE(t, 1), CLOCHE__WASI_EVENT_FD_WRITE);
    EQ(EV_NBYTES(t, 1), 54); /* stdout cap 64, 10 used */
    EQ(EV_UD(t, 2), 4);
    EQ(EV_NBYTES(t, 2), 0);
    EQ(EV_FLAGS(t, 2), CLOCHE__WASI_EVENTRW_HANGUP);
    /* a closed fd reports EBADF in its event */
    put_fdsub(t, 0, 5, CLOCHE__WASI_EVENT_FD_READ, 42);
    EQ(poll(t, 1), 0);
    EQ(rd32(t, A_OUT), 1);
    EQ(EV_ERR(t, 0), CLOCHE__WASI_EBADF);
    EQ(EV_TYPE(t, 0), CLOCHE__WASI_EVENT_FD_READ);
    /* an unknown clock id reports EINVAL in its event, no sleep */
    put_clock(t, 0, 6, 9, 100, 0);
    EQ(poll(t, 1), 0);
    EQ(rd32(t, A_OUT), 1);
    EQ(EV_ERR(t, 0), CLOCHE__WASI_EINVAL);
    EQ(EV_UD(t, 0), 6);
    EQ(t->sleeps, 0);
}

static void test_poll_interrupted(void **state)
{
    tw *t = *state;
    uint32_t code = 5;
    t->interrupt = 1;
    put_clock(t, 0, 1, CLOCHE__WASI_CLOCK_MONOTONIC, 1000000000u, 0);
    EQ(poll(t, 1), CLOCHE__WASI_EINTR);
    EQ(rd32(t, A_OUT), 0);
    EQ(t->slept, 1000000000u);
    EQ(cloche__wasi_take_trap(t->w, &code), CLOCHE__WASI_TRAP_INTERRUPTED);
    EQ(code, 0);
}

static void test_poll_invalid(void **state)
{
    tw *t = *state;
    put_clock(t, 0, 1, CLOCHE__WASI_CLOCK_MONOTONIC, 1, 0);
    EQ(cloche__wasi_poll_oneoff(W(t), SUBS, EVENTS, 0, A_OUT),
       CLOCHE__WASI_EINVAL);
    EQ(cloche__wasi_poll_oneoff(W(t), MEM_SIZE - 47, EVENTS, 1, A_OUT),
       CLOCHE__WASI_EFAULT);
    EQ(cloche__wasi_poll_oneoff(W(t), SUBS, MEM_SIZE - 31, 1, A_OUT),
       CLOCHE__WASI_EFAULT);
    EQ(cloche__wasi_poll_oneoff(W(t), SUBS, EVENTS, 1, MEM_SIZE - 3),
       CLOCHE__WASI_EFAULT);
    EQ(cloche__wasi_poll_oneoff(W(t), SUBS, EVENTS, UINT32_MAX, A_OUT),
       CLOCHE__WASI_EFAULT);
    put_fdsub(t, 0, 1, 3, 0); /* unknown tag */
    EQ(poll(t, 1), CLOCHE__WASI_EINVAL);
    put_clock(t, 0, 1, CLOCHE__WASI_CLOCK_MONOTONIC, 1, 2); /* bad flags */
    EQ(poll(t, 1), CLOCHE__WASI_EINVAL);
    EQ(t->sleeps, 0);
    /* more subscriptions than CLOCHE__WASI_POLL_MAX in a big memory */
    uint32_t big = 1u << 20;
    cloche__mem m = {calloc(1, big), big};
    assert_non_null(m.base);
    EQ(cloche__wasi_poll_oneoff(t->w, m, 0, 4097 * 48, 4097, big - 4),
       CLOCHE__WASI_EINVAL);
    free(m.base);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tw_setup, tw_teardown)
    const struct CMUnitTest tests[] = {
        T(test_clocks_fixed_epoch), T(test_clock_wall),
        T(test_poll_relative),      T(test_poll_absolute),
        T(test_poll_fds),           T(test_poll_interrupted),
        T(test_poll_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
