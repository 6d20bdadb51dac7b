/* Host monotonic time, the one clock the host library measures with. */
#include <time.h>

#include "internal.h"

uint64_t cloche__now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
