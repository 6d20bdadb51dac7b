/**
 * @file cloche/pool.h
 * A warm pool of sandboxes: checking one out costs a mutex and a list pop.
 *
 * A pool keeps up to `size` sandboxes ready: instantiated from the image and
 * warmed (one empty run done, so the first real run pays no first-run
 * costs: page faults on the image, reseeding, reading env/argv). A sandbox
 * given back is reset to the image *off the caller's thread* by the pool's
 * own thread, restored to the pool's options (limits and callbacks), warmed
 * and made ready again — so no state, file, callback or limit change leaks
 * from one user of a pooled sandbox to the next.
 *
 * Making a new sandbox slows runs on other cores (mmap lock, TLB flushes),
 * so while sandboxes are checked out the pool makes new ones only when none
 * is ready or 10 ms after the last checkout; a returned sandbox is recycled
 * at once.
 *
 * Thread-safety: every function may be called from any thread, concurrently.
 * A checked-out sandbox follows the usual rule (one thread at a time).
 */
#ifndef CLOCHE_PUBLIC_POOL_H
#define CLOCHE_PUBLIC_POOL_H

#include <stddef.h>

#include "cloche/callback.h"
#include "cloche/engine.h"
#include "cloche/sandbox.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CLOCHE_POOL_OPTIONS_VERSION 1
#define CLOCHE_POOL_DEFAULT_SIZE 4

typedef struct cloche_pool cloche_pool;

/** Pool options. Initialize with CLOCHE_POOL_OPTIONS_INIT. The struct is
 *  copied, but what it points to (the sandbox options and everything they
 *  point to, the callback definitions) is borrowed: it must stay valid
 *  until cloche_pool_free, since the pool makes sandboxes from it. */
typedef struct cloche_pool_options {
    unsigned version; /**< CLOCHE_POOL_OPTIONS_VERSION */
    /** Ready sandboxes kept; 0: CLOCHE_POOL_DEFAULT_SIZE. Returned
     *  sandboxes beyond it are freed. */
    size_t size;
    /** Options of every sandbox (NULL: defaults); borrowed. */
    const cloche_sandbox_options *sandbox;
    /** Host callbacks every sandbox gets (borrowed); the pool puts exactly
     *  these back on a returned sandbox. */
    const cloche_callback_def *callbacks;
    size_t callback_count;
} cloche_pool_options;

#define CLOCHE_POOL_OPTIONS_INIT {CLOCHE_POOL_OPTIONS_VERSION, 0, NULL, NULL, 0}

/**
 * Create a pool and start filling it in the background.
 * @param out     receives the pool (owned; cloche_pool_free)
 * @param engine  borrowed; must outlive the pool
 * @return 0, CLOCHE_EINVAL (bad options: the first sandbox is made now, so
 *         bad sandbox options or callbacks fail here), CLOCHE_ENOMEM or
 *         CLOCHE_EENGINE; detail in cloche_sandbox_errmsg(NULL).
 */
int cloche_pool_new(cloche_pool **out, cloche_engine *engine,
                    const cloche_pool_options *options);

/**
 * Check out a ready sandbox; if none is ready, one is made (and warmed) on
 * the calling thread. The sandbox belongs to the caller until
 * cloche_pool_release (or cloche_sandbox_free, which drops it from the pool).
 * @return 0, CLOCHE_EINVAL, CLOCHE_ENOMEM or CLOCHE_EENGINE.
 */
int cloche_pool_acquire(cloche_pool *pool, cloche_sandbox **out);

/**
 * Give a sandbox back (NULL accepted). It must have come from this pool and
 * have no run in progress (a pending run is abandoned by the reset). Never
 * blocks on the reset: the pool's thread does it.
 */
void cloche_pool_release(cloche_pool *pool, cloche_sandbox *sb);

/** Sandboxes ready right now (for tests and monitoring). */
size_t cloche_pool_ready(cloche_pool *pool);

/**
 * Stop the pool's thread and free the ready and returned sandboxes. Checked
 * out sandboxes stay valid and are the caller's to free. NULL accepted.
 */
void cloche_pool_free(cloche_pool *pool);

#ifdef __cplusplus
}
#endif

#endif
