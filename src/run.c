/*
 * cloche_run: one run of user code. Copies the source into guest memory,
 * calls the guest's cloche_run export under the run's limits, then turns
 * what happened into a cloche_result.
 *
 * Every length the guest hands back is checked against the current memory
 * size before the host reads it. A trap leaves CPython in an unknown state,
 * so the sandbox is marked for reset; a memory-limit MemoryError does not
 * (CPython unwinds it cleanly) and the sandbox stays usable as it is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Call a guest export; returns 0, or -1 with a trap/error message. */
static int call_guest(cloche_sandbox *sb, const wasmtime_func_t *fn,
                      const wasmtime_val_t *args, size_t nargs,
                      wasmtime_val_t *result, int *trap_code, char *msg,
                      size_t msglen) {
    wasm_trap_t *trap = NULL;
    wasmtime_error_t *err = wasmtime_func_call(sb->ctx, fn, args, nargs,
                                               result, result ? 1 : 0, &trap);
    *trap_code = -1;
    if (err) {
        cloche__take_wasmtime_error(err, msg, msglen);
        return -1;
    }
    if (trap) {
        *trap_code = cloche__take_trap(trap, msg, msglen);
        return -1;
    }
    return 0;
}

static void arm_limits(cloche_sandbox *sb, uint64_t start) {
    sb->stop = CLOCHE__STOP_NONE;
    sb->memory_denied = 0;
    uint64_t timeout_ns = (uint64_t)sb->limits[CLOCHE_LIMIT_TIMEOUT] * 1000000u;
    sb->deadline_ns = start + timeout_ns;
    wasmtime_context_set_epoch_deadline(sb->ctx, 1);
    if (sb->engine->fuel_enabled) {
        int64_t fuel = sb->limits[CLOCHE_LIMIT_FUEL];
        wasmtime_context_set_fuel(sb->ctx, fuel > 0 ? (uint64_t)fuel
                                                    : UINT64_MAX);
    }
}

static uint64_t fuel_used(cloche_sandbox *sb) {
    if (!sb->engine->fuel_enabled)
        return 0;
    uint64_t left = 0;
    wasmtime_context_get_fuel(sb->ctx, &left);
    int64_t limit = sb->limits[CLOCHE_LIMIT_FUEL];
    uint64_t start = limit > 0 ? (uint64_t)limit : UINT64_MAX;
    return start - left;
}

/* Classify a trap: a limit the host stopped, fuel, or a crash. */
static void trapped(cloche_sandbox *sb, cloche_result *r, int code,
                    const char *msg) {
    char detail[160];
    sb->needs_reset = 1;
    switch (sb->stop) {
    case CLOCHE__STOP_TIMEOUT:
        snprintf(detail, sizeof detail, "timeout after %lld ms",
                 (long long)sb->limits[CLOCHE_LIMIT_TIMEOUT]);
        cloche__result_set_limit(r, CLOCHE_LIMIT_TIMEOUT, detail);
        return;
    case CLOCHE__STOP_OUTPUT: {
        int err = cloche__wasi_output_tripped(sb->wasi) == 2;
        cloche_limit which = err ? CLOCHE_LIMIT_STDERR : CLOCHE_LIMIT_STDOUT;
        snprintf(detail, sizeof detail, "%s exceeded %lld bytes",
                 err ? "stderr" : "stdout", (long long)sb->limits[which]);
        cloche__result_set_limit(r, which, detail);
        return;
    }
    case CLOCHE__STOP_EXIT:
        if (sb->stop_exit_code != 0) {
            snprintf(detail, sizeof detail, "os._exit(%u)", sb->stop_exit_code);
            cloche__result_set_exception(r, "SystemExit", detail);
        }
        return;
    case CLOCHE__STOP_NONE:
        break;
    }
    if (code == WASMTIME_TRAP_CODE_OUT_OF_FUEL) {
        snprintf(detail, sizeof detail, "fuel exhausted (%lld)",
                 (long long)sb->limits[CLOCHE_LIMIT_FUEL]);
        cloche__result_set_limit(r, CLOCHE_LIMIT_FUEL, detail);
    } else if (sb->memory_denied) {
        cloche__result_set_limit(r, CLOCHE_LIMIT_MEMORY,
                                 "memory limit reached");
    } else {
        cloche__result_set_crash(r, msg);
    }
}

/* Read the guest's result record; every byte is bounds-checked. */
static int read_record(cloche_sandbox *sb, cloche_result *r, uint64_t packed) {
    uint64_t ptr = packed & 0xFFFFFFFFu, len = packed >> 32;
    cloche__mem m = cloche__sandbox_mem(sb);
    if (packed == 0 || ptr > m.size || len > m.size - ptr)
        return -1;
    return cloche__result_parse(r, m.base + ptr, (size_t)len);
}

static int copy_in(cloche_sandbox *sb, const char *code, size_t len,
                   uint32_t *guest_ptr) {
    if (len > UINT32_MAX - 1)
        return cloche__fail(sb, CLOCHE_ETOOBIG, "code is larger than 4 GiB");
    wasmtime_val_t arg = {.kind = WASMTIME_I32, .of.i32 = (int32_t)len};
    wasmtime_val_t res;
    char msg[256];
    int code_trap;
    if (call_guest(sb, &sb->fn_alloc, &arg, 1, &res, &code_trap, msg,
                   sizeof msg) != 0) {
        sb->needs_reset = 1;
        return cloche__fail(sb, CLOCHE_EGUEST, "guest alloc failed: %s", msg);
    }
    uint32_t p = (uint32_t)res.of.i32;
    cloche__mem m = cloche__sandbox_mem(sb);
    if (p == 0)
        return cloche__fail(sb, CLOCHE_ETOOBIG,
                            "no guest memory for %zu bytes of code", len);
    if ((uint64_t)p + len > m.size)
        return cloche__fail(sb, CLOCHE_EGUEST, "guest alloc out of bounds");
    memcpy(m.base + p, code, len);
    *guest_ptr = p;
    return 0;
}

/* Call the guest's run export and fill r from whatever happened. */
static int execute(cloche_sandbox *sb, cloche_result *r, uint32_t ptr,
                   size_t len) {
    wasmtime_val_t args[2] = {
        {.kind = WASMTIME_I32, .of.i32 = (int32_t)ptr},
        {.kind = WASMTIME_I32, .of.i32 = (int32_t)len},
    };
    wasmtime_val_t res;
    char msg[256];
    int code;
    if (call_guest(sb, &sb->fn_run, args, 2, &res, &code, msg, sizeof msg)) {
        trapped(sb, r, code, msg);
        return 0;
    }
    if (read_record(sb, r, (uint64_t)res.of.i64) != 0) {
        if (sb->memory_denied) {
            cloche__result_set_limit(r, CLOCHE_LIMIT_MEMORY,
                                     "memory limit reached");
            return 0;
        }
        sb->needs_reset = 1;
        return cloche__fail(sb, CLOCHE_EGUEST, "malformed result record");
    }
    if (sb->memory_denied && cloche__result_is_exception(r, "MemoryError"))
        cloche__result_set_limit(r, CLOCHE_LIMIT_MEMORY,
                                 "memory limit reached");
    /* Best effort: a failed free only leaks inside the guest. */
    wasmtime_val_t free_arg = {.kind = WASMTIME_I32, .of.i32 = (int32_t)ptr};
    if (call_guest(sb, &sb->fn_free, &free_arg, 1, NULL, &code, msg,
                   sizeof msg) != 0)
        sb->needs_reset = 1;
    return 0;
}

static int ensure_instance(cloche_sandbox *sb) {
    if (sb->store && !sb->needs_reset)
        return 0;
    cloche__sandbox_teardown(sb);
    return cloche__sandbox_instantiate(sb);
}

static int run_locked(cloche_result **out, cloche_sandbox *sb,
                      const char *code, size_t len) {
    int rc = ensure_instance(sb);
    if (rc != 0)
        return rc;
    cloche_result *r = cloche__result_new();
    if (!r)
        return cloche__fail(sb, CLOCHE_ENOMEM, "out of memory");
    uint64_t start = cloche__now_ns();
    arm_limits(sb, start);
    cloche__wasi_reset_output(sb->wasi);
    cloche__ticker_enter(sb->engine->ticker);
    uint32_t ptr = 0;
    rc = copy_in(sb, code, len, &ptr);
    if (rc == 0)
        rc = execute(sb, r, ptr, len);
    cloche__ticker_leave(sb->engine->ticker);
    if (rc == 0 && cloche__result_set_output(r, sb->wasi) != 0)
        rc = cloche__fail(sb, CLOCHE_ENOMEM, "out of memory");
    if (rc != 0) {
        cloche_result_free(r);
        return rc;
    }
    cloche__result_set_stats(r, cloche__now_ns() - start, fuel_used(sb),
                             cloche__sandbox_mem(sb).size);
    *out = r;
    return 0;
}

int cloche_run(cloche_result **out, cloche_sandbox *sb, const char *code,
               size_t len) {
    if (out)
        *out = NULL;
    if (!out || !sb || (!code && len))
        return cloche__fail(sb, CLOCHE_EINVAL, "NULL argument");
    if (atomic_exchange(&sb->busy, 1))
        return cloche__fail(sb, CLOCHE_EBUSY, "sandbox is busy");
    int rc = run_locked(out, sb, code ? code : "", len);
    atomic_store(&sb->busy, 0);
    return rc;
}
