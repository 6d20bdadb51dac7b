/*
 * Host functions the guest imports, defined once on the engine's linker:
 * every wasi_snapshot_preview1 function (one trampoline that forwards to
 * the engine-agnostic WASI layer in src/wasi/) and cloche's own imports.
 *
 * Invariants: the guest memory view is fetched afresh for every call
 * (memory.grow may move it); a stop requested by the WASI layer (output
 * cap, proc_exit, interrupted sleep) is recorded on the sandbox before the
 * trap, so run.c can classify it without parsing trap messages.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MAX_WASI_PARAMS CLOCHE__WASI_MAX_PARAMS

cloche_sandbox *cloche__caller_sandbox(wasmtime_caller_t *caller) {
    return wasmtime_context_get_data(wasmtime_caller_context(caller));
}

/* Trap so the run stops; sb->stop says why (set by whoever asked). */
static wasm_trap_t *stop_trap(void) {
    return wasmtime_trap_new("cloche: stopped", 15);
}

static wasm_trap_t *stop_guest(cloche_sandbox *sb, int trap, uint32_t code) {
    switch (trap) {
    case CLOCHE__WASI_TRAP_OUTPUT_LIMIT:
        sb->stop = CLOCHE__STOP_OUTPUT;
        return wasmtime_trap_new("cloche: output limit", 20);
    case CLOCHE__WASI_TRAP_EXIT:
        sb->stop = CLOCHE__STOP_EXIT;
        sb->stop_exit_code = code;
        return wasmtime_trap_new("cloche: proc_exit", 17);
    default: /* an interrupted sleep: hook_sleep recorded why */
        if (sb->stop == CLOCHE__STOP_NONE)
            sb->stop = CLOCHE__STOP_TIMEOUT;
        return stop_trap();
    }
}

static wasm_trap_t *wasi_trampoline(void *env, wasmtime_caller_t *caller,
                                    wasmtime_val_raw_t *vals, size_t nvals) {
    size_t index = (size_t)(uintptr_t)env;
    const cloche__wasi_import *imp = &cloche__wasi_imports[index];
    cloche_sandbox *sb = cloche__caller_sandbox(caller);
    uint64_t args[MAX_WASI_PARAMS] = {0};
    size_t nparams = strlen(imp->params);
    for (size_t i = 0; i < nparams && i < nvals; i++)
        args[i] = imp->params[i] == 'I' ? (uint64_t)vals[i].i64
                                        : (uint64_t)(uint32_t)vals[i].i32;
    int32_t rc = cloche__wasi_dispatch(sb->wasi, cloche__sandbox_mem(sb),
                                       index, args);
    if (imp->results[0] != '\0')
        vals[0].i32 = rc;
    uint32_t exit_code = 0;
    int trap = cloche__wasi_take_trap(sb->wasi, &exit_code);
    return trap == CLOCHE__WASI_TRAP_NONE ? NULL
                                          : stop_guest(sb, trap, exit_code);
}

/* cloche.memory_denied(bytes): the guest's sbrk saw memory.grow fail. */
static wasm_trap_t *memory_denied(void *env, wasmtime_caller_t *caller,
                                  wasmtime_val_raw_t *vals, size_t nvals) {
    (void)env;
    (void)vals;
    (void)nvals;
    cloche__caller_sandbox(caller)->memory_denied = 1;
    return NULL;
}

uint8_t *cloche__guest_range(cloche_sandbox *sb, uint32_t ptr, uint32_t len) {
    cloche__mem m = cloche__sandbox_mem(sb);
    return (uint64_t)ptr + len > m.size ? NULL : m.base + ptr;
}

/* cloche.call(name, name_len, args, args_len) -> (kind << 32) | reply_len */
static wasm_trap_t *host_call(void *env, wasmtime_caller_t *caller,
                              wasmtime_val_raw_t *vals, size_t nvals) {
    (void)env;
    cloche_sandbox *sb = cloche__caller_sandbox(caller);
    if (nvals < 4)
        return wasmtime_trap_new("cloche.call: bad arity", 22);
    uint32_t name_len = (uint32_t)vals[1].i32, args_len = (uint32_t)vals[3].i32;
    const uint8_t *name = cloche__guest_range(sb, (uint32_t)vals[0].i32, name_len);
    const uint8_t *args = cloche__guest_range(sb, (uint32_t)vals[2].i32, args_len);
    if (!name || !args)
        return wasmtime_trap_new("cloche.call: out of bounds", 26);
    uint64_t r = cloche__sync_call(sb, (const char *)name, name_len, args,
                                   args_len);
    if (sb->stop != CLOCHE__STOP_NONE)
        return stop_trap();
    vals[0].i64 = (int64_t)r;
    return NULL;
}

/* cloche.reply(buf, len): copy the last sync reply into guest memory. */
static wasm_trap_t *host_reply(void *env, wasmtime_caller_t *caller,
                               wasmtime_val_raw_t *vals, size_t nvals) {
    (void)env;
    cloche_sandbox *sb = cloche__caller_sandbox(caller);
    if (nvals < 2)
        return wasmtime_trap_new("cloche.reply: bad arity", 23);
    uint32_t len = (uint32_t)vals[1].i32;
    uint8_t *dst = cloche__guest_range(sb, (uint32_t)vals[0].i32, len);
    if (!dst)
        return wasmtime_trap_new("cloche.reply: out of bounds", 27);
    size_t n = len < sb->sync_reply_len ? len : sb->sync_reply_len;
    if (n)
        memcpy(dst, sb->sync_reply, n);
    free(sb->sync_reply);
    sb->sync_reply = NULL;
    sb->sync_reply_len = 0;
    return NULL;
}

#define TRACE_BATCH_MAX 1024

/* Parse one "K line run name" event; 0 on success. */
static int parse_event(char *line, cloche_trace_event *ev) {
    static const char kinds[] = "LCRE";
    char *sp = strchr(kinds, line[0]);
    if (!line[0] || !sp || line[1] != ' ')
        return -1;
    char *end;
    unsigned long ln = strtoul(line + 2, &end, 10);
    if (*end != ' ')
        return -1;
    unsigned long run = strtoul(end + 1, &end, 10);
    if (*end != ' ' && *end != '\0')
        return -1;
    ev->kind = (cloche_trace_kind)(sp - kinds);
    ev->line = (uint32_t)ln;
    ev->run = (uint32_t)run;
    ev->name = *end ? end + 1 : "";
    return 0;
}

/* cloche.trace(ptr, len): a batch of trace lines for the embedder. */
static wasm_trap_t *host_trace(void *env, wasmtime_caller_t *caller,
                               wasmtime_val_raw_t *vals, size_t nvals) {
    (void)env;
    cloche_sandbox *sb = cloche__caller_sandbox(caller);
    if (nvals < 2)
        return wasmtime_trap_new("cloche.trace: bad arity", 23);
    uint32_t len = (uint32_t)vals[1].i32;
    const uint8_t *p = cloche__guest_range(sb, (uint32_t)vals[0].i32, len);
    if (!p)
        return wasmtime_trap_new("cloche.trace: out of bounds", 27);
    if (!sb->on_trace || len == 0)
        return NULL;
    char *text = malloc((size_t)len + 1);
    cloche_trace_event *evs = malloc(TRACE_BATCH_MAX * sizeof *evs);
    size_t n = 0;
    if (text && evs) {
        memcpy(text, p, len); /* copy: the guest's memory is untrusted */
        text[len] = '\0';
        for (char *save, *line = strtok_r(text, "\n", &save);
             line && n < TRACE_BATCH_MAX; line = strtok_r(NULL, "\n", &save))
            if (parse_event(line, &evs[n]) == 0)
                n++;
        if (n)
            sb->on_trace(sb->trace_ud, evs, n);
    }
    free(text);
    free(evs);
    return NULL;
}

static wasm_valtype_vec_t valtypes(const char *spec) {
    wasm_valtype_vec_t vec;
    size_t n = strlen(spec);
    wasm_valtype_vec_new_uninitialized(&vec, n);
    for (size_t i = 0; i < n; i++)
        vec.data[i] = wasm_valtype_new(spec[i] == 'I' ? WASM_I64 : WASM_I32);
    return vec;
}

static int define(wasmtime_linker_t *linker, const char *module,
                  const char *name, const char *params, const char *results,
                  wasmtime_func_unchecked_callback_t cb, void *env, char *err,
                  size_t len) {
    wasm_valtype_vec_t p = valtypes(params), r = valtypes(results);
    wasm_functype_t *ty = wasm_functype_new(&p, &r); /* takes p and r */
    wasmtime_error_t *e = wasmtime_linker_define_func_unchecked(
        linker, module, strlen(module), name, strlen(name), ty, cb, env, NULL);
    wasm_functype_delete(ty);
    if (e) {
        cloche__take_wasmtime_error(e, err, len);
        return CLOCHE_EENGINE;
    }
    return 0;
}

int cloche__define_import(wasmtime_linker_t *linker, const char *name,
                          const char *params, const char *results,
                          wasmtime_func_unchecked_callback_t cb, char *err,
                          size_t len) {
    return define(linker, "cloche", name, params, results, cb, NULL, err, len);
}

int cloche__define_imports(wasmtime_linker_t *linker, char *err, size_t len) {
    for (size_t i = 0; i < cloche__wasi_import_count; i++) {
        const cloche__wasi_import *imp = &cloche__wasi_imports[i];
        if (strlen(imp->params) > MAX_WASI_PARAMS) {
            snprintf(err, len, "WASI import %s has too many params", imp->name);
            return CLOCHE_EENGINE;
        }
        int rc = define(linker, "wasi_snapshot_preview1", imp->name,
                        imp->params, imp->results, wasi_trampoline,
                        (void *)(uintptr_t)i, err, len);
        if (rc != 0)
            return rc;
    }
    int rc = define(linker, "cloche", "memory_denied", "i", "", memory_denied,
                    NULL, err, len);
    if (rc == 0)
        rc = define(linker, "cloche", "call", "iiii", "I", host_call, NULL, err,
                    len);
    if (rc == 0)
        rc = define(linker, "cloche", "reply", "ii", "", host_reply, NULL, err,
                    len);
    if (rc == 0)
        rc = define(linker, "cloche", "trace", "ii", "", host_trace, NULL, err,
                    len);
    if (rc == 0)
        rc = cloche__define_net_imports(linker, err, len);
    return rc;
}
