/*
 * The run state machine: cloche_start, cloche_resume, cloche_finish.
 *
 * A step enters the guest (run or resume export) under the run's limits
 * and ends in one of three ways: the guest finished (result record), the
 * guest returned PENDING with a batch of host calls (no wasm frame stays
 * live), or a trap (limit, cancel, crash). Every length the guest hands
 * back is checked against the current memory size before the host reads.
 *
 * A trap leaves CPython in an unknown state, so the sandbox is marked for
 * reset; a memory-limit MemoryError or an abandoned PENDING run does not:
 * the interpreter is consistent and the next run cancels the old task.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define STATUS_PENDING 2u

void cloche__run_arm_budget(cloche_sandbox *sb, uint64_t start) {
    sb->stop = CLOCHE__STOP_NONE;
    sb->memory_denied = 0;
    sb->trace_bytes = sb->trace_dropped = 0;
    uint64_t ms = (uint64_t)sb->limits[CLOCHE_LIMIT_TIMEOUT];
    uint64_t ns = ms > (UINT64_MAX - start) / 1000000u ? UINT64_MAX - start
                                                        : ms * 1000000u;
    sb->deadline_ns = start + ns;
    if (sb->engine->fuel_enabled) {
        int64_t fuel = sb->limits[CLOCHE_LIMIT_FUEL];
        wasmtime_context_set_fuel(sb->ctx, fuel > 0 ? (uint64_t)fuel
                                                    : UINT64_MAX);
    }
}

static void arm_limits(cloche_sandbox *sb, uint64_t start) {
    sb->calls_made = 0;
    sb->payload_out = sb->payload_in = 0;
    sb->wake_ns = UINT64_MAX;
    cloche__run_arm_budget(sb, start);
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

static void set_limit(cloche_sandbox *sb, cloche_limit which,
                      const char *what) {
    char detail[160];
    snprintf(detail, sizeof detail, "%s (limit %lld)", what,
             (long long)sb->limits[which]);
    cloche__result_set_limit(sb->run_result, which, detail);
}

/* Classify a trap: a limit the host stopped, a cancel, fuel, or a crash. */
static void trapped(cloche_sandbox *sb, int code, const char *msg) {
    cloche_result *r = sb->run_result;
    sb->needs_reset = 1;
    switch (sb->stop) {
    case CLOCHE__STOP_TIMEOUT:
        set_limit(sb, CLOCHE_LIMIT_TIMEOUT, "timeout, in ms");
        return;
    case CLOCHE__STOP_OUTPUT:
        if (cloche__wasi_output_tripped(sb->wasi) == 2)
            set_limit(sb, CLOCHE_LIMIT_STDERR, "stderr exceeded its cap");
        else
            set_limit(sb, CLOCHE_LIMIT_STDOUT, "stdout exceeded its cap");
        return;
    case CLOCHE__STOP_CANCELLED:
        cloche__result_set_cancelled(r);
        return;
    case CLOCHE__STOP_CALLBACKS:
        set_limit(sb, CLOCHE_LIMIT_CALLBACKS, "too many callback calls");
        return;
    case CLOCHE__STOP_EXIT:
        if (sb->stop_exit_code != 0) {
            char detail[64];
            snprintf(detail, sizeof detail, "os._exit(%u)", sb->stop_exit_code);
            cloche__result_set_exception(r, "SystemExit", detail);
        }
        return;
    case CLOCHE__STOP_NONE:
        break;
    }
    if (code == WASMTIME_TRAP_CODE_OUT_OF_FUEL)
        set_limit(sb, CLOCHE_LIMIT_FUEL, "fuel exhausted");
    else if (sb->memory_denied)
        set_limit(sb, CLOCHE_LIMIT_MEMORY, "memory limit reached, in bytes");
    else
        cloche__result_set_crash(r, msg);
}

/* Register the calls of a PENDING batch: per call u32 id, name, args. */
static int take_batch(cloche_sandbox *sb, const cloche__span *batch,
                      const cloche__span *wake) {
    const uint8_t *p = batch->data;
    size_t len = batch->data ? batch->len : 0, at = 4;
    if (len < 4)
        return -1;
    uint32_t count = cloche__load_u32(p);
    for (uint32_t i = 0; i < count && sb->stop == CLOCHE__STOP_NONE; i++) {
        if (len - at < 8)
            return -1;
        uint32_t id = cloche__load_u32(p + at);
        uint32_t nlen = cloche__load_u32(p + at + 4);
        at += 8;
        if (nlen > len - at || len - at - nlen < 4)
            return -1;
        const char *name = (const char *)p + at;
        at += nlen;
        uint32_t alen = cloche__load_u32(p + at);
        at += 4;
        if (alen > len - at)
            return -1;
        if (cloche__add_async_call(sb, id, name, nlen, p + at, alen) != 0)
            return -1;
        at += alen;
    }
    if (wake->data && wake->len < 24) {
        char digits[24];
        memcpy(digits, wake->data, wake->len);
        digits[wake->len] = '\0';
        uint64_t ns = strtoull(digits, NULL, 10);
        uint64_t now = cloche__now_ns();
        sb->wake_ns = ns > UINT64_MAX - now ? UINT64_MAX : now + ns;
    }
    return 0;
}

static void finish_run(cloche_sandbox *sb) {
    cloche_result *r = sb->run_result;
    if (cloche__result_set_output(r, sb->wasi) != 0)
        cloche__result_set_crash(r, "out of host memory copying output");
    cloche__network_output_end(sb);
    cloche__trace_end_run(sb);
    if (cloche__result_scrub(r, sb) != 0)
        cloche__result_set_crash(r, "out of host memory scrubbing secrets");
    cloche__result_set_stats(r, cloche__now_ns() - sb->run_start_ns,
                             fuel_used(sb), cloche__sandbox_mem(sb).size);
    sb->run_state = CLOCHE__RUN_DONE;
}

/* Act on what a step returned: finished, pending or malformed. */
static int take_record(cloche_sandbox *sb, uint64_t packed) {
    uint32_t status = 0;
    cloche__span f[CLOCHE__RECORD_FIELDS];
    if (cloche__guest_record(sb, packed, &status, f) != 0) {
        if (sb->memory_denied) {
            set_limit(sb, CLOCHE_LIMIT_MEMORY, "memory limit reached");
            return 0;
        }
        sb->needs_reset = 1;
        return cloche__fail(sb, CLOCHE_EGUEST, "malformed result record");
    }
    if (status == STATUS_PENDING) {
        if (take_batch(sb, &f[0], &f[1]) != 0) {
            sb->needs_reset = 1;
            return cloche__fail(sb, CLOCHE_EGUEST, "malformed call batch");
        }
        if (sb->stop == CLOCHE__STOP_CALLBACKS) {
            sb->needs_reset = 1; /* the guest waits on calls we refused */
            set_limit(sb, CLOCHE_LIMIT_CALLBACKS, "too many callback calls");
            return 0;
        }
        sb->run_state = CLOCHE__RUN_PENDING;
        return 0;
    }
    if (cloche__result_fill(sb->run_result, status, f, sb) != 0) {
        sb->needs_reset = 1;
        return cloche__fail(sb, CLOCHE_EGUEST, "malformed result record");
    }
    if (sb->memory_denied &&
        cloche__result_is_exception(sb->run_result, "MemoryError"))
        set_limit(sb, CLOCHE_LIMIT_MEMORY, "memory limit reached, in bytes");
    return 0;
}

/* Host plumbing (copying the input in, freeing it) is not the run's
 * work: it runs on fuel of its own, so even a budget of 1 ends in the
 * fuel limit rather than a failed copy. Returns the run's fuel left. */
static uint64_t fuel_pause(cloche_sandbox *sb) {
    uint64_t left = 0;
    if (sb->engine->fuel_enabled) {
        wasmtime_context_get_fuel(sb->ctx, &left);
        wasmtime_context_set_fuel(sb->ctx, UINT64_MAX);
    }
    return left;
}

static void fuel_resume(cloche_sandbox *sb, uint64_t left) {
    if (sb->engine->fuel_enabled)
        wasmtime_context_set_fuel(sb->ctx, left);
}

/*
 * A run cancelled (or out of time) before its code began - while the
 * guest was being configured for it, or its input copied in - has that as
 * its outcome: the guest call that failed was stopped, not broken. Other
 * failures stay errors (rc).
 */
static int stopped_early(cloche_sandbox *sb, int rc) {
    if (sb->stop != CLOCHE__STOP_CANCELLED && sb->stop != CLOCHE__STOP_TIMEOUT)
        return rc;
    if (!sb->run_result && !(sb->run_result = cloche__result_new()))
        return cloche__fail(sb, CLOCHE_ENOMEM, "out of memory");
    if (!sb->run_start_ns)
        sb->run_start_ns = cloche__now_ns();
    sb->run_state = CLOCHE__RUN_DONE;
    trapped(sb, -1, "stopped");
    finish_run(sb);
    return 0;
}

/*
 * One step into the guest: copy `data` in, call `fn` with it, act on the
 * record. On return the run is DONE or PENDING, or an error is returned.
 */
static int step(cloche_sandbox *sb, const wasmtime_func_t *fn,
                const void *data, size_t len) {
    uint32_t ptr = 0;
    cloche__ticker_enter(sb->engine->ticker);
    wasmtime_context_set_epoch_deadline(sb->ctx, 1);
    uint64_t fuel = fuel_pause(sb);
    int rc = cloche__guest_copy_in(sb, data, len, &ptr);
    fuel_resume(sb, fuel);
    wasmtime_val_t res;
    char msg[256];
    int code = -1;
    int trap = 0;
    if (rc == 0) {
        wasmtime_val_t args[2] = {{.kind = WASMTIME_I32, .of.i32 = (int32_t)ptr},
                                  {.kind = WASMTIME_I32, .of.i32 = (int32_t)len}};
        trap = cloche__guest_call(sb, fn, args, 2, &res, &code, msg, sizeof msg);
    }
    cloche__ticker_leave(sb->engine->ticker);
    if (rc == CLOCHE_EGUEST)
        return stopped_early(sb, rc);
    if (rc == CLOCHE_ETOOBIG && sb->memory_denied) {
        /* The code (or the replies) cannot fit under the memory limit:
         * that is the limit tripping, not an error of the embedder. */
        char what[96];
        snprintf(what, sizeof what,
                 "memory limit reached: %zu bytes of input do not fit", len);
        sb->run_state = CLOCHE__RUN_DONE;
        set_limit(sb, CLOCHE_LIMIT_MEMORY, what);
        finish_run(sb);
        return 0;
    }
    if (rc != 0)
        return rc;
    sb->run_state = CLOCHE__RUN_DONE;
    if (trap) {
        trapped(sb, code, msg);
    } else {
        rc = take_record(sb, (uint64_t)res.of.i64);
        fuel = fuel_pause(sb);
        cloche__guest_free(sb, ptr); /* a failure only marks for reset */
        fuel_resume(sb, fuel);
    }
    if (rc == 0 && sb->run_state == CLOCHE__RUN_DONE)
        finish_run(sb);
    return rc;
}


static int start_locked(cloche_sandbox *sb, const char *code, size_t len) {
    cloche_result_free(sb->run_result);
    sb->run_result = NULL;
    sb->run_state = CLOCHE__RUN_IDLE;
    int rc = cloche__ensure_instance(sb);
    if (rc != 0)
        return rc;
    cloche__hub_clear_cancel(sb->hub); /* a cancel only hits its own run */
    atomic_store(&sb->intr_requested, 0); /* so does an interrupt */
    cloche__network_run_start(sb);
    sb->run_start_ns = 0;
    if ((rc = cloche__configure_guest(sb)) != 0)
        return stopped_early(sb, rc);
    if (!(sb->run_result = cloche__result_new()))
        return cloche__fail(sb, CLOCHE_ENOMEM, "out of memory");
    sb->run_start_ns = cloche__now_ns();
    arm_limits(sb, sb->run_start_ns);
    cloche__wasi_reset_output(sb->wasi);
    rc = step(sb, &sb->fn_run, code, len);
    return rc;
}

/* A PENDING run cannot go on: end it without entering the guest. */
static int end_pending(cloche_sandbox *sb) {
    if (cloche__hub_cancelled(sb->hub))
        cloche__result_set_cancelled(sb->run_result);
    else if (cloche__now_ns() >= sb->deadline_ns)
        set_limit(sb, CLOCHE_LIMIT_TIMEOUT, "timeout, in ms");
    else
        return 0;
    finish_run(sb);
    return 1;
}

static int resume_locked(cloche_sandbox *sb) {
    if (end_pending(sb))
        return 0;
    cloche__hub_expire(sb->hub, cloche__now_ns());
    uint8_t *replies;
    size_t len;
    if (cloche__hub_take_replies(&replies, &len, sb->hub, &sb->payload_in,
                                 (uint64_t)sb->limits
                                     [CLOCHE_LIMIT_CALLBACK_PAYLOAD]) != 0)
        return cloche__fail(sb, CLOCHE_ENOMEM, "out of memory");
    sb->wake_ns = UINT64_MAX;
    int rc = step(sb, &sb->fn_resume, replies, len);
    free(replies);
    return rc;
}

/* Wrap a locked operation: busy flag, step out, cleanup on error. */
static int finish_step(cloche_step *out, cloche_sandbox *sb, int rc) {
    if (rc != 0) {
        cloche_result_free(sb->run_result);
        sb->run_result = NULL;
        sb->run_state = CLOCHE__RUN_IDLE;
    } else if (out) {
        *out = sb->run_state == CLOCHE__RUN_PENDING ? CLOCHE_STEP_PENDING
                                                    : CLOCHE_STEP_DONE;
    }
    cloche__release(sb);
    return rc;
}

int cloche__start(cloche_step *out, cloche_sandbox *sb, const char *code,
                  size_t len, int blocking) {
    if (!out || !sb || (!code && len))
        return cloche__fail(sb, CLOCHE_EINVAL, "NULL argument");
    int rc = cloche__acquire(sb, 0);
    if (rc != 0)
        return rc;
    sb->blocking_driver = blocking;
    return finish_step(out, sb, start_locked(sb, code ? code : "", len));
}

int cloche_start(cloche_step *out, cloche_sandbox *sb, const char *code,
                 size_t len) {
    return cloche__start(out, sb, code, len, 0);
}

int cloche_resume(cloche_step *out, cloche_sandbox *sb) {
    if (!out || !sb)
        return cloche__fail(sb, CLOCHE_EINVAL, "NULL argument");
    int rc = cloche__acquire(sb, 1);
    if (rc != 0)
        return rc;
    return finish_step(out, sb, resume_locked(sb));
}

int cloche_finish(cloche_result **out, cloche_sandbox *sb) {
    if (!out || !sb)
        return cloche__fail(sb, CLOCHE_EINVAL, "NULL argument");
    int rc = cloche__acquire(sb, -1);
    if (rc != 0)
        return rc;
    if (sb->run_state != CLOCHE__RUN_DONE) {
        cloche__release(sb);
        return cloche__fail(sb, CLOCHE_ESTATE, "the run has not finished");
    }
    *out = sb->run_result;
    sb->run_result = NULL;
    sb->run_state = CLOCHE__RUN_IDLE;
    cloche__release(sb);
    return 0;
}
