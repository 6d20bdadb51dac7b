/*
 * The engine: wasmtime engine + config, the compiled guest module, a linker
 * with every import the guest may call, the instance_pre that makes
 * instantiation cheap, and the epoch ticker. Immutable after creation, so
 * it is shared by all threads without locks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/*
 * Native stack the guest may use. The guest's C-recursion budget
 * (GUEST_C_RECURSION_LIMIT in guest/glue.c) is sized to fit in it with a
 * margin for the hungriest C path (tests/c/test_recursion.c); a smaller
 * stack would turn deep recursion into a trap instead of a RecursionError.
 * The thread calling cloche_run needs this much stack free, plus its own
 * (docs/threading.md).
 */
#define GUEST_MAX_WASM_STACK (4u * 1024u * 1024u)

/* Worker threads for callback implementations, shared by all sandboxes. */
#define CALLBACK_WORKERS 16u

static void set_err(char *buf, size_t len, const char *msg) {
    if (buf && len)
        snprintf(buf, len, "%s", msg);
}

static wasm_config_t *make_config(const cloche_engine_options *o) {
    wasm_config_t *config = wasm_config_new();
    if (!config)
        return NULL;
    wasmtime_config_epoch_interruption_set(config, true);
    wasmtime_config_consume_fuel_set(config, o->enable_fuel != 0);
    /* wasmtime insists on max_wasm_stack <= async_stack_size (2 MiB by
     * default) even with async support off, as it is here. */
    wasmtime_config_async_stack_size_set(config, GUEST_MAX_WASM_STACK);
    wasmtime_config_max_wasm_stack_set(config, GUEST_MAX_WASM_STACK);
    wasmtime_config_parallel_compilation_set(config, true);
    wasmtime_config_cranelift_opt_level_set(config, WASMTIME_OPT_LEVEL_SPEED);
    wasmtime_config_memory_init_cow_set(config, true);
    /* Profiling the guest (docs/performance.md): perf then names its
     * functions. Off unless asked for: it writes /tmp/perf-<pid>.map. */
    const char *perfmap = getenv("CLOCHE_PERFMAP");
    if (perfmap && strcmp(perfmap, "1") == 0)
        wasmtime_config_profiler_set(config, WASMTIME_PROFILING_STRATEGY_PERFMAP);
    return config;
}

static int build_pre(cloche_engine *e, char *err, size_t len) {
    e->linker = wasmtime_linker_new(e->wasm);
    if (!e->linker)
        return CLOCHE_ENOMEM;
    int rc = cloche__define_imports(e->linker, err, len);
    if (rc != 0)
        return rc;
    wasmtime_error_t *werr =
        wasmtime_linker_instantiate_pre(e->linker, e->module, &e->pre);
    if (werr) {
        cloche__take_wasmtime_error(werr, err, len);
        return CLOCHE_EENGINE;
    }
    return 0;
}

int cloche_engine_new(cloche_engine **out, const cloche_engine_options *options,
                      char *err, size_t len) {
    if (!out)
        return CLOCHE_EINVAL;
    *out = NULL;
    cloche_engine_options defaults = CLOCHE_ENGINE_OPTIONS_INIT;
    const cloche_engine_options *o = options ? options : &defaults;
    if (o->version != CLOCHE_ENGINE_OPTIONS_VERSION) {
        set_err(err, len, "unsupported cloche_engine_options version");
        return CLOCHE_EINVAL;
    }
    cloche_engine *e = calloc(1, sizeof *e);
    wasm_config_t *config = e ? make_config(o) : NULL;
    if (!config) {
        free(e);
        return CLOCHE_ENOMEM;
    }
    e->fuel_enabled = o->enable_fuel != 0;
    pthread_mutex_init(&e->pristine_lock, NULL);
    e->wasm = wasm_engine_new_with_config(config); /* takes config */
    int rc = e->wasm ? 0 : CLOCHE_EENGINE;
    if (rc == 0)
        rc = cloche__load_guest_module(&e->module, e->wasm, o->code_cache_dir,
                                       e->fuel_enabled, err, len);
    if (rc == 0)
        rc = build_pre(e, err, len);
    if (rc == 0)
        rc = cloche__ticker_start(&e->ticker, e->wasm);
    if (rc == 0)
        rc = cloche__pool_new(&e->pool, CALLBACK_WORKERS);
    if (rc != 0) {
        cloche_engine_free(e);
        return rc;
    }
    *out = e;
    return 0;
}

void cloche_engine_free(cloche_engine *e) {
    if (!e)
        return;
    cloche__pool_free(e->pool);
    if (e->pristine)
        wasmtime_store_delete(e->pristine);
    pthread_mutex_destroy(&e->pristine_lock);
    cloche__ticker_stop(e->ticker);
    if (e->pre)
        wasmtime_instance_pre_delete(e->pre);
    if (e->linker)
        wasmtime_linker_delete(e->linker);
    if (e->module)
        wasmtime_module_delete(e->module);
    if (e->wasm)
        wasm_engine_delete(e->wasm);
    free(e);
}
