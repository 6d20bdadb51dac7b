/* Demo host tools for `cloche run --demo-tools` (and the benchmarks). */
#ifndef CLOCHE_DEMO_TOOLS_H
#define CLOCHE_DEMO_TOOLS_H

#include "cloche.h"

/* Register echo, sleep and fail on sb. Returns 0 or a CLOCHE_E* code. */
int demo_tools_register(cloche_sandbox *sb);
/* Complete call with {"slept": seconds} after `seconds`, from the timer
 * thread. Returns 0 or -1. */
int demo_complete_later(cloche_call *call, double seconds);

#endif
