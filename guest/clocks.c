/*
 * Process clocks for the guest: clock(), times() and getrusage().
 *
 * wasi-libc's emulations (libwasi-emulated-process-clocks) subtract a start
 * time their constructors read once. That happened at build time inside
 * Wizer, under another host's monotonic clock, so after the image is taken
 * they return negative times (time.process_time(), os.times()). These
 * replacements, linked before that library so its members are never pulled
 * in, read cloche's PROCESS_CPUTIME clock, which counts from the sandbox's
 * creation: non-negative and non-decreasing. The guest has one thread, so
 * CPU time is the sandbox's elapsed time and system time is zero.
 */
#define _WASI_EMULATED_PROCESS_CLOCKS 1

#include <string.h>
#include <sys/resource.h>
#include <sys/times.h>
#include <time.h>
#include <wasi/api.h>

static __wasi_timestamp_t process_ns(void) {
    __wasi_timestamp_t t = 0;
    if (__wasi_clock_time_get(__WASI_CLOCKID_PROCESS_CPUTIME_ID, 1, &t) != 0)
        return 0;
    return t;
}

clock_t clock(void) {
    return (clock_t)(process_ns() / (1000000000u / CLOCKS_PER_SEC));
}

clock_t times(struct tms *buf) {
    clock_t ticks = clock();
    if (buf) {
        buf->tms_utime = ticks;
        buf->tms_stime = 0;
        buf->tms_cutime = 0;
        buf->tms_cstime = 0;
    }
    return ticks;
}

int getrusage(int who, struct rusage *usage) {
    (void)who; /* self and children alike: there are no children */
    __wasi_timestamp_t ns = process_ns();
    memset(usage, 0, sizeof *usage);
    usage->ru_utime.tv_sec = (time_t)(ns / 1000000000u);
    usage->ru_utime.tv_usec = (suseconds_t)(ns % 1000000000u / 1000u);
    return 0;
}
