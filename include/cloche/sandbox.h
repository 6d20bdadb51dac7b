/** A sandbox: one isolated Python interpreter and its limits. */
#ifndef CLOCHE_SANDBOX_H
#define CLOCHE_SANDBOX_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "result.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cloche_sandbox cloche_sandbox;

#define CLOCHE_SANDBOX_OPTIONS_VERSION 1

/** Defaults applied when an option is 0. */
#define CLOCHE_DEFAULT_TIMEOUT_MS 30000u
#define CLOCHE_DEFAULT_MEMORY_LIMIT (256u * 1024u * 1024u)
#define CLOCHE_DEFAULT_OUTPUT_LIMIT (1u * 1024u * 1024u)
#define CLOCHE_DEFAULT_CALLBACKS 10000u
#define CLOCHE_DEFAULT_CALLBACK_TIMEOUT_MS 30000u
#define CLOCHE_DEFAULT_CALLBACK_PAYLOAD (16u * 1024u * 1024u)

/** Sandbox options. Initialize with CLOCHE_SANDBOX_OPTIONS_INIT. Copied (with
 *  every string they point to) by cloche_sandbox_new. */
typedef struct cloche_sandbox_options {
    unsigned version;      /**< CLOCHE_SANDBOX_OPTIONS_VERSION */
    uint64_t timeout_ms;   /**< per run; 0: CLOCHE_DEFAULT_TIMEOUT_MS */
    uint64_t fuel;         /**< per run; 0: unlimited (needs enable_fuel) */
    uint64_t memory_limit; /**< bytes; 0: CLOCHE_DEFAULT_MEMORY_LIMIT */
    uint64_t stdout_limit; /**< bytes per run; 0: CLOCHE_DEFAULT_OUTPUT_LIMIT */
    uint64_t stderr_limit; /**< bytes per run; 0: CLOCHE_DEFAULT_OUTPUT_LIMIT */
    /** Nonzero grants the host's real-time clock. Otherwise time.time()
     *  starts at 2000-01-01T00:00:00Z and advances with elapsed time. */
    int wall_clock;
    const char *const *env; /**< "NAME=VALUE" strings seen by the guest */
    size_t env_count;
    const char *const *argv; /**< sys.argv; empty by default */
    size_t argc;
} cloche_sandbox_options;

#define CLOCHE_SANDBOX_OPTIONS_INIT                                            \
    {CLOCHE_SANDBOX_OPTIONS_VERSION, 0, 0, 0, 0, 0, 0, NULL, 0, NULL, 0}

/**
 * Create a sandbox from the engine's pre-initialized image. Its interpreter
 * is already running: the first run pays no start-up.
 *
 * @param out     receives the sandbox (owned; cloche_sandbox_free)
 * @param engine  borrowed; must outlive the sandbox
 * @param options NULL for defaults; copied
 * @return 0, CLOCHE_EINVAL (bad option, e.g. fuel without enable_fuel),
 *         CLOCHE_ENOMEM or CLOCHE_EENGINE.
 * Thread-safety: any thread; the engine may be shared.
 */
int cloche_sandbox_new(cloche_sandbox **out, cloche_engine *engine,
                       const cloche_sandbox_options *options);

/** Free a sandbox. NULL accepted. Must not race with a call on it. */
void cloche_sandbox_free(cloche_sandbox *sb);

/**
 * Run Python source in the sandbox. Top-level `await` is allowed; the value
 * of a trailing expression is returned in the result. Globals persist
 * between runs of the same sandbox until cloche_sandbox_reset.
 *
 * A limit, exception or trap is an outcome in *out, not an error. After a
 * LIMIT (other than stdout/stderr) or CRASH outcome the interpreter state
 * cannot be trusted, so the sandbox resets itself to the image before its
 * next run; its globals are gone.
 *
 * @param out  receives the result (owned; cloche_result_free); NULL on error
 * @param sb   the sandbox
 * @param code UTF-8 source, need not be NUL-terminated (invalid UTF-8 is an
 *             exception outcome, not an error)
 * @param len  bytes of code
 * @return 0, CLOCHE_EINVAL, CLOCHE_EBUSY (another thread is using sb),
 *         CLOCHE_ENOMEM, CLOCHE_ETOOBIG (code larger than guest memory
 *         allows), CLOCHE_EENGINE or CLOCHE_EGUEST (detail in
 *         cloche_sandbox_errmsg).
 */
int cloche_run(cloche_result **out, cloche_sandbox *sb, const char *code,
               size_t len);

/**
 * Return the sandbox to the pre-initialized image: a fresh interpreter with
 * no user globals. Costs a re-instantiation from the copy-on-write image.
 * @return 0, CLOCHE_EBUSY, CLOCHE_ENOMEM or CLOCHE_EENGINE.
 */
int cloche_sandbox_reset(cloche_sandbox *sb);

/**
 * Read and optionally change a limit (SQLite-style): returns the previous
 * value; a negative new_value only reads. Takes effect from the next run
 * (the memory limit immediately). Returns -1 for an unknown limit, or for
 * CLOCHE_LIMIT_FUEL > 0 when the engine was created without enable_fuel.
 * Same thread rules as cloche_run.
 */
int64_t cloche_sandbox_limit(cloche_sandbox *sb, cloche_limit which,
                             int64_t new_value);

/** Message describing the last error returned for this sandbox. Borrowed;
 *  valid until the next call on the sandbox. Never NULL. */
const char *cloche_sandbox_errmsg(const cloche_sandbox *sb);

#ifdef __cplusplus
}
#endif
#endif
