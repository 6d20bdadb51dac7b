/*
 * A bounded pool of worker threads that runs callback implementations, so
 * a slow callback never holds up the run that called it or other calls.
 * One pool per engine; threads start lazily, up to the cap.
 */
#ifndef CLOCHE_POOL_H
#define CLOCHE_POOL_H

#include <stddef.h>

typedef struct cloche__pool cloche__pool;
typedef void (*cloche__pool_fn)(void *arg);

int cloche__pool_new(cloche__pool **out, size_t max_threads);
/* Queue fn(arg). Returns 0 or CLOCHE_ENOMEM. */
int cloche__pool_submit(cloche__pool *p, cloche__pool_fn fn, void *arg);
/* Finish queued work, then join the threads. NULL accepted. */
void cloche__pool_free(cloche__pool *p);

#endif
