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

/* --- trace ---------------------------------------------------------------
 * The guest sends lines "K line run name" (K: L, C, R or E). Each run may
 * send at most CLOCHE_LIMIT_TRACE bytes; past it everything is dropped and
 * counted, and cloche__trace_end_run reports the count. Lines are read in
 * place (bounds-checked), so a huge batch costs no host copy; a name keeps
 * at most CLOCHE_TRACE_NAME_MAX bytes and is scrubbed like all output. */

#define TRACE_BATCH_MAX 256 /* events per on_trace call */
#define TRACE_HEAD_MAX 48   /* "K line run " */

typedef struct trace_batch {
    cloche_trace_event ev[TRACE_BATCH_MAX];
    char *names[TRACE_BATCH_MAX];
    size_t n;
} trace_batch;

static void batch_flush(cloche_sandbox *sb, trace_batch *b) {
    if (b->n)
        sb->on_trace(sb->trace_ud, b->ev, b->n);
    for (size_t i = 0; i < b->n; i++)
        free(b->names[i]);
    b->n = 0;
}

static int leading_digit(const char *s) { return *s >= '0' && *s <= '9'; }

/* Parse "K line run " from line[0..len): the name's offset, or 0 if the
 * line is malformed. */
static size_t parse_head(const uint8_t *line, size_t len,
                         cloche_trace_event *ev) {
    static const char kinds[] = "LCRE";
    char head[TRACE_HEAD_MAX + 1];
    size_t n = len < TRACE_HEAD_MAX ? len : TRACE_HEAD_MAX;
    memcpy(head, line, n);
    head[n] = '\0';
    const char *k = head[0] ? strchr(kinds, head[0]) : NULL;
    if (!k || head[1] != ' ' || !leading_digit(head + 2))
        return 0;
    char *end;
    unsigned long ln = strtoul(head + 2, &end, 10);
    if (*end != ' ' || !leading_digit(end + 1))
        return 0;
    unsigned long run = strtoul(end + 1, &end, 10);
    size_t at = (size_t)(end - head);
    if (*end != ' ' && at != len) /* a name follows, or the line ends */
        return 0;
    ev->kind = (cloche_trace_kind)(k - kinds);
    ev->line = ln > UINT32_MAX ? UINT32_MAX : (uint32_t)ln;
    ev->run = run > UINT32_MAX ? UINT32_MAX : (uint32_t)run;
    return at < len ? at + 1 : len;
}

/* The name scrubbed and cut to CLOCHE_TRACE_NAME_MAX (malloc'd). */
static char *trace_name(const cloche_sandbox *sb, const uint8_t *p,
                        size_t len) {
    size_t keep = cloche__utf8_keep(p, len, CLOCHE_TRACE_NAME_MAX), n;
    char *text = NULL;
    if (keep == len)
        return cloche__scrub_copy(sb, p, len, &text, &n) == 0 ? text : NULL;
    if (!(text = cloche__scrub_cut(sb, p, keep, &n)))
        return NULL;
    char mark[64];
    int m = snprintf(mark, sizeof mark, "[cloche: %zu more bytes cut]",
                     len - keep);
    char *t = realloc(text, n + (size_t)m + 1);
    if (!t) {
        free(text);
        return NULL;
    }
    memcpy(t + n, mark, (size_t)m + 1);
    return t;
}

static void add_event(cloche_sandbox *sb, trace_batch *b, const uint8_t *line,
                      size_t len) {
    cloche_trace_event *ev = &b->ev[b->n];
    size_t at = parse_head(line, len, ev);
    if (at == 0)
        return; /* malformed: skipped (its bytes still count) */
    if (!(b->names[b->n] = trace_name(sb, line + at, len - at)))
        return;
    ev->name = b->names[b->n++];
    if (b->n == TRACE_BATCH_MAX)
        batch_flush(sb, b);
}

static uint64_t trace_cap(const cloche_sandbox *sb) {
    int64_t v = sb->limits[CLOCHE_LIMIT_TRACE];
    return v > 0 ? (uint64_t)v : 0;
}

/* Deliver the lines of p[0..len) that fit this run's trace cap. */
static void take_trace(cloche_sandbox *sb, const uint8_t *p, size_t len) {
    trace_batch *b = malloc(sizeof *b);
    size_t at = 0;
    if (b) {
        b->n = 0;
        while (at < len && !sb->trace_dropped) {
            uint64_t cap = trace_cap(sb);
            uint64_t room = cap > sb->trace_bytes ? cap - sb->trace_bytes : 0;
            size_t scan = len - at < room ? len - at : (size_t)room;
            const uint8_t *nl = memchr(p + at, '\n', scan);
            size_t l = nl ? (size_t)(nl - (p + at)) : len - at;
            if (l + 1 > room) /* never scans past the cap */
                break;
            sb->trace_bytes += l + 1;
            add_event(sb, b, p + at, l);
            at += l + (nl ? 1 : 0);
        }
        batch_flush(sb, b);
        free(b);
    }
    sb->trace_dropped += len - at;
}

void cloche__trace_end_run(cloche_sandbox *sb) {
    if (!sb->on_trace || !sb->trace_dropped)
        return;
    char name[160];
    snprintf(name, sizeof name,
             "%llu bytes of trace events dropped: over the trace cap of "
             "%llu bytes",
             (unsigned long long)sb->trace_dropped,
             (unsigned long long)trace_cap(sb));
    cloche_trace_event ev = {CLOCHE_TRACE_CUT, 0, 0, name};
    sb->on_trace(sb->trace_ud, &ev, 1);
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
    if (sb->on_trace && len > 0)
        take_trace(sb, p, len);
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
