/*
 * Soft interrupts: KeyboardInterrupt raised in the running Python code,
 * the way CPython delivers an asynchronous exception, so the session
 * survives (cloche_sandbox_interrupt; a cancel instead traps and resets).
 *
 * The host cannot call into the guest while it runs, but its epoch
 * callback (and its sleep import) runs on the same thread between wasm
 * instructions and may write guest memory. This export tells it, once per instance, where:
 * the current thread state, and in it `async_exc` (set to the
 * KeyboardInterrupt type) and `eval_breaker` (the async-exception bit
 * OR-ed in). The eval loop checks the breaker at its next back jump or
 * call, raises the exception and clears both, exactly as for
 * PyThreadState_SetAsyncExc. Exception types are immortal, so the loop's
 * DECREF of the type is harmless.
 */
#define Py_BUILD_CORE 1
#include <Python.h>

#include <stddef.h>
#include <stdint.h>

#include "internal/pycore_ceval.h"
#include "internal/pycore_pystate.h"

/* Layout shared with the host (src/interrupt.c): little-endian u32s. */
static struct {
    uint32_t version;        /* 1 */
    uint32_t tstate_holder;  /* address of the current-thread-state pointer */
    uint32_t off_eval_breaker;
    uint32_t off_async_exc;
    uint32_t exception;      /* the KeyboardInterrupt type object */
    uint32_t breaker_bit;
    uint32_t main_tstate;    /* while the GIL is released (a sleep), the
                                current pointer is NULL: the one thread's */
} info;

__attribute__((export_name("cloche_interrupt_info"))) uint32_t
cloche_interrupt_info(void) {
    info.version = 1;
    info.tstate_holder = (uint32_t)(uintptr_t)&_Py_tss_tstate;
    info.off_eval_breaker = (uint32_t)offsetof(PyThreadState, eval_breaker);
    info.off_async_exc = (uint32_t)offsetof(PyThreadState, async_exc);
    info.exception = (uint32_t)(uintptr_t)PyExc_KeyboardInterrupt;
    info.breaker_bit = _PY_ASYNC_EXCEPTION_BIT;
    info.main_tstate = (uint32_t)(uintptr_t)PyThreadState_GetUnchecked();
    return (uint32_t)(uintptr_t)&info;
}
