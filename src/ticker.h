/*
 * The engine-wide epoch ticker: one thread that advances the wasm engine's
 * epoch every CLOCHE__TICK_NS while at least one run is active, and sleeps
 * otherwise. Each store compares the epoch with its own deadline, so a
 * timeout in one sandbox never interrupts another.
 */
#ifndef CLOCHE_TICKER_H
#define CLOCHE_TICKER_H

#include <wasmtime.h>

#define CLOCHE__TICK_NS 1000000ull /* 1 ms: the timeout's granularity */

typedef struct cloche__ticker cloche__ticker;

/* Start the ticker thread. Returns 0 or CLOCHE_ENOMEM. */
int cloche__ticker_start(cloche__ticker **out, wasm_engine_t *engine);
/* Stop and join the thread. NULL accepted. */
void cloche__ticker_stop(cloche__ticker *t);
/* A run begins / ends: the ticker runs while the count is nonzero. */
void cloche__ticker_enter(cloche__ticker *t);
void cloche__ticker_leave(cloche__ticker *t);

#endif
