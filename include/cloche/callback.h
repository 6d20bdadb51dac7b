/**
 * Host callbacks ("tools") that sandboxed Python can call, and the run
 * state machine that lets those calls overlap.
 *
 * In the guest, a callback named "get_weather" is a function in builtins;
 * "db.query" is `db.query`. From async code a call is awaitable and calls
 * made together (asyncio.gather) reach the host together; from sync code
 * the call blocks while the host runs it.
 *
 * Every invocation is a cloche_call that must be completed exactly once,
 * from any thread, with cloche_call_return or cloche_call_fail. A call
 * that outlives its callback timeout is completed by cloche with a
 * TimeoutError for the guest; a later completion is accepted and ignored.
 */
#ifndef CLOCHE_CALLBACK_H
#define CLOCHE_CALLBACK_H

#include <stddef.h>
#include <stdint.h>

#include "result.h"
#include "sandbox.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cloche_call cloche_call;

/**
 * A callback's implementation. Called on the thread driving the run (the
 * one inside cloche_run / cloche_start / cloche_resume), with the call's
 * arguments as a JSON object (borrowed, valid until the call is
 * completed). It may complete the call before returning or later from any
 * thread. It must return quickly: the calls of a gathered batch are started
 * one after another, so anything slow belongs on another thread (or use a
 * cloche_sync_callback_fn, which cloche runs on its worker pool).
 */
typedef void (*cloche_callback_fn)(cloche_call *call, const char *args_json,
                                   size_t args_len, void *userdata);

/**
 * Convenience for plain synchronous C functions, which may block: cloche
 * runs them on the engine's bounded worker pool (16 threads), so gathered
 * calls overlap and the callback timeout still applies. Return 0 and set
 * *result_json to malloc'd JSON text (NULL means null), or return nonzero
 * and set *error to a malloc'd message (NULL: "callback failed"). cloche
 * frees both.
 */
typedef int (*cloche_sync_callback_fn)(char **result_json, char **error,
                                       const char *args_json, void *userdata);

#define CLOCHE_CALLBACK_DEF_VERSION 1

/** Describes one callback; copied by cloche_sandbox_add_callback. */
typedef struct cloche_callback_def {
    unsigned version;        /**< CLOCHE_CALLBACK_DEF_VERSION */
    const char *name;        /**< dotted Python identifiers, e.g. "db.query" */
    const char *description; /**< shown by list_callbacks(); may be NULL */
    /** JSON schema of the parameters: an object schema whose "properties"
     *  order maps positional arguments; NULL: any keyword arguments. */
    const char *schema_json;
    cloche_callback_fn fn;           /**< async-capable implementation */
    cloche_sync_callback_fn sync_fn; /**< or a plain function (not both) */
    void *userdata;
    /** Milliseconds before the guest sees TimeoutError; 0: the sandbox's
     *  CLOCHE_LIMIT_CALLBACK_TIMEOUT. */
    uint64_t timeout_ms;
} cloche_callback_def;

#define CLOCHE_CALLBACK_DEF_INIT                                               \
    {CLOCHE_CALLBACK_DEF_VERSION, NULL, NULL, NULL, NULL, NULL, NULL, 0}

/**
 * Register a callback on a sandbox (visible from its next run). fn and
 * sync_fn may both be NULL: the callback then has no implementation in
 * cloche and must be answered through the state-machine API (it fails if
 * called from sync code or under cloche_run).
 * @return 0, CLOCHE_EINVAL (bad name or schema, both fn and sync_fn),
 *         CLOCHE_EBUSY, CLOCHE_ENOMEM. A name registered again replaces
 *         the previous definition.
 */
int cloche_sandbox_add_callback(cloche_sandbox *sb,
                                const cloche_callback_def *def);

/** Complete a call with a JSON result (NULL or len 0 means null). The JSON
 *  is checked here. Any thread; the first completion wins.
 *  @return 0, CLOCHE_EINVAL (not valid JSON: the call is then failed with
 *  that message), CLOCHE_ESTATE (already completed). */
int cloche_call_return(cloche_call *call, const char *json, size_t len);

/** Complete a call with an error: the guest raises CallbackError(message).
 *  Any thread. @return 0 or CLOCHE_ESTATE (already completed). */
int cloche_call_fail(cloche_call *call, const char *message);

/** The callback name and call id (borrowed; valid until completion).
 *  The id is 0 for a call made from sync code (the guest is blocked inside
 *  it until it completes) and 1 or more for a call of an async batch (the
 *  run can go PENDING while it is outstanding; ids are unique among the
 *  run's outstanding calls). An embedder may use this to run a sync-style
 *  call inline and to queue or hand over async-style ones. */
const char *cloche_call_name(const cloche_call *call);
uint32_t cloche_call_id(const cloche_call *call);
const char *cloche_call_args(const cloche_call *call, size_t *len);

/* ---- the run state machine ------------------------------------------ */

/** Where a run stands after cloche_start / cloche_resume. */
typedef enum cloche_step {
    CLOCHE_STEP_DONE = 0,   /**< finished: take the result */
    CLOCHE_STEP_PENDING = 1 /**< every task waits; some on host calls */
} cloche_step;

/**
 * Start a run. Like cloche_run, but returns CLOCHE_STEP_PENDING instead of
 * blocking when every Python task waits on host callbacks. While PENDING
 * no wasm frame is live: the sandbox holds only data.
 * Callbacks with an implementation are started on the engine's workers
 * automatically; others are listed by cloche_pending_call for the caller
 * to complete.
 * @return 0, or an error as for cloche_run; CLOCHE_ESTATE if a run is
 *         already pending.
 */
int cloche_start(cloche_step *step, cloche_sandbox *sb, const char *code,
                 size_t len);

/** Number of calls of the pending run not yet completed. */
size_t cloche_pending_count(cloche_sandbox *sb);
/** The i-th such call (borrowed: valid until it is completed). */
cloche_call *cloche_pending_call(cloche_sandbox *sb, size_t i);

/**
 * Block until the pending run can make progress: a call completes, a call
 * times out, the guest's next timer is due, the run's deadline passes, or
 * the run is cancelled. Returns 0, or CLOCHE_ESTATE if nothing is pending.
 */
int cloche_wait(cloche_sandbox *sb);

/**
 * Continue a pending run with every completion that has arrived (possibly
 * none, when only a timer was due). Returns as cloche_start.
 */
int cloche_resume(cloche_step *step, cloche_sandbox *sb);

/**
 * Whether a run is PENDING on the sandbox: cloche_start or cloche_resume
 * returned CLOCHE_STEP_PENDING, or a PENDING image snapshot was restored,
 * and the run has not finished since. True also when every call of the
 * run has been answered but not yet resumed (then cloche_pending_count is
 * 0). Same thread rules as cloche_pending_count.
 * @return 1 or 0 (0 for NULL).
 */
int cloche_is_pending(const cloche_sandbox *sb);

/** Take the result of a finished (DONE) run: owned by the caller.
 *  @return 0 or CLOCHE_ESTATE. */
int cloche_finish(cloche_result **out, cloche_sandbox *sb);

/**
 * Cancel the sandbox's current run, from any thread: it stops at the next
 * epoch tick, host call or wait, with outcome CLOCHE_OUTCOME_CANCELLED.
 * No effect if no run is in progress. Other sandboxes are unaffected.
 */
void cloche_sandbox_cancel(cloche_sandbox *sb);

/**
 * Interrupt the sandbox's current run softly, from any thread (also from a
 * signal handler: it is one atomic store): KeyboardInterrupt is raised in
 * the running Python code at its next bytecode boundary, as Ctrl-C does in
 * python3, and the session keeps its globals. Code that is not executing
 * bytecode (a long C call, a sleep, a wait on host calls) sees it when it
 * returns; use cloche_sandbox_cancel to stop such a run at once (which
 * resets the interpreter). No effect if no run is in progress; a guest
 * image without the cloche_interrupt_info export ignores it.
 */
void cloche_sandbox_interrupt(cloche_sandbox *sb);

#ifdef __cplusplus
}
#endif
#endif
