/*
 * Status names and messages (generated from CLOCHE_STATUS_LIST) and the
 * helpers that keep an error's detail on the sandbox handle.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

const char *cloche_status_name(int status) {
    switch (status) {
#define CLOCHE__NAME_CASE(name, value, msg)                                    \
    case value:                                                                \
        return #name;
        CLOCHE_STATUS_LIST(CLOCHE__NAME_CASE)
#undef CLOCHE__NAME_CASE
    default:
        return "CLOCHE_E?";
    }
}

const char *cloche_strerror(int status) {
    switch (status) {
#define CLOCHE__MSG_CASE(name, value, msg)                                     \
    case value:                                                                \
        return msg;
        CLOCHE_STATUS_LIST(CLOCHE__MSG_CASE)
#undef CLOCHE__MSG_CASE
    default:
        return "unknown status";
    }
}

int cloche__fail(cloche_sandbox *sb, int status, const char *fmt, ...) {
    if (sb) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(sb->errmsg, sizeof sb->errmsg, fmt, ap);
        va_end(ap);
    }
    return status;
}

void cloche__take_wasmtime_error(wasmtime_error_t *err, char *buf,
                                 size_t len) {
    wasm_name_t msg;
    wasmtime_error_message(err, &msg);
    if (len > 0)
        snprintf(buf, len, "%.*s", (int)msg.size, msg.data);
    wasm_byte_vec_delete(&msg);
    wasmtime_error_delete(err);
}

int cloche__take_trap(wasm_trap_t *trap, char *buf, size_t len) {
    wasm_message_t msg;
    wasm_trap_message(trap, &msg);
    if (len > 0)
        snprintf(buf, len, "%.*s", (int)msg.size, msg.data);
    wasm_byte_vec_delete(&msg);
    wasmtime_trap_code_t code;
    int result = wasmtime_trap_code(trap, &code) ? (int)code : -1;
    wasm_trap_delete(trap);
    return result;
}

/* Why this thread's last cloche_sandbox_new failed (no handle to hold it). */
static _Thread_local char new_errmsg[CLOCHE__ERRMSG_MAX] = "no sandbox";

void cloche__keep_new_error(const cloche_sandbox *sb, int status) {
    snprintf(new_errmsg, sizeof new_errmsg, "%s",
             sb && sb->errmsg[0] ? sb->errmsg : cloche_strerror(status));
}

const char *cloche_sandbox_errmsg(const cloche_sandbox *sb) {
    return sb ? sb->errmsg : new_errmsg;
}
