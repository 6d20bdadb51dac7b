/** The engine: one per process, owns the compiled guest and the ticker. */
#ifndef CLOCHE_ENGINE_H
#define CLOCHE_ENGINE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cloche_engine cloche_engine;

#define CLOCHE_ENGINE_OPTIONS_VERSION 1

/** Engine options. Initialize with CLOCHE_ENGINE_OPTIONS_INIT; copied by
 *  cloche_engine_new. */
typedef struct cloche_engine_options {
    unsigned version; /**< CLOCHE_ENGINE_OPTIONS_VERSION */
    /** Folder for compiled guest code. NULL: $CLOCHE_CODE_CACHE, else
     *  $XDG_CACHE_HOME/cloche/code, else ~/.cache/cloche/code. If the folder
     *  cannot be written the engine compiles in memory (slower start). */
    const char *code_cache_dir;
    /** Nonzero: compile with fuel metering so sandboxes can set
     *  CLOCHE_LIMIT_FUEL. Costs some speed; off by default. */
    int enable_fuel;
} cloche_engine_options;

#define CLOCHE_ENGINE_OPTIONS_INIT {CLOCHE_ENGINE_OPTIONS_VERSION, NULL, 0}

/**
 * Create an engine: load (or compile and cache) the embedded guest.
 *
 * @param out     receives the engine (owned by the caller; cloche_engine_free)
 * @param options NULL for defaults; copied
 * @param errbuf  optional buffer for a message on failure (may be NULL)
 * @param errlen  size of errbuf
 * @return 0, CLOCHE_EINVAL, CLOCHE_ENOMEM, CLOCHE_EENGINE or CLOCHE_EIO.
 *
 * With the environment variable CLOCHE_PERFMAP=1 the engine writes
 * /tmp/perf-<pid>.map, so that `perf` names the guest's functions
 * (docs/performance.md).
 *
 * Thread-safety: may be called from any thread. The returned engine may be
 * used by all threads at once.
 */
int cloche_engine_new(cloche_engine **out, const cloche_engine_options *options,
                      char *errbuf, size_t errlen);

/** Free an engine. Every sandbox created from it must be freed first.
 *  NULL is accepted. */
void cloche_engine_free(cloche_engine *engine);

/** Version string of the library ("0.1.0"); static. */
const char *cloche_version(void);

#ifdef __cplusplus
}
#endif
#endif
