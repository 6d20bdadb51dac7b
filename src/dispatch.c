/*
 * Calls the guest makes, in both styles: admitting them (invocation cap,
 * payload cap, name lookup) and handing them to their implementation. A
 * batch of async-style calls comes from a PENDING record; a sync-style call
 * comes through the cloche.call import while the guest waits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static uint64_t call_deadline(const cloche_sandbox *sb,
                              const cloche__callback *cb) {
    uint64_t ms = cb && cb->timeout_ms
                      ? cb->timeout_ms
                      : (uint64_t)sb->limits[CLOCHE_LIMIT_CALLBACK_TIMEOUT];
    return cloche__now_ns() + ms * 1000000u;
}

int cloche__admit_call(cloche_sandbox *sb, cloche_call *call,
                       const cloche__callback **out_cb) {
    char msg[256];
    *out_cb = NULL;
    if (sb->calls_made >= (uint64_t)sb->limits[CLOCHE_LIMIT_CALLBACKS]) {
        sb->stop = CLOCHE__STOP_CALLBACKS;
        cloche__call_resolve(call, CLOCHE__REPLY_FAILED, "invocation limit");
        return CLOCHE__REPLY_FAILED;
    }
    sb->calls_made++;
    size_t args_len;
    cloche_call_args(call, &args_len);
    uint64_t cap = (uint64_t)sb->limits[CLOCHE_LIMIT_CALLBACK_PAYLOAD];
    if (args_len > cap - (sb->payload_out < cap ? sb->payload_out : cap)) {
        snprintf(msg, sizeof msg,
                 "arguments exceed the callback payload limit (%llu bytes "
                 "per run)",
                 (unsigned long long)cap);
        cloche__call_resolve(call, CLOCHE__REPLY_TOO_LARGE, msg);
        return CLOCHE__REPLY_TOO_LARGE;
    }
    sb->payload_out += args_len;
    const cloche__callback *cb =
        cloche__callbacks_find(&sb->callbacks, cloche_call_name(call));
    if (!cb) {
        cloche__call_resolve(call, CLOCHE__REPLY_NOT_FOUND, "not found");
        return CLOCHE__REPLY_NOT_FOUND;
    }
    *out_cb = cb;
    return 0;
}

/*
 * Start an admitted call. An async-capable fn is called right here: its
 * contract is to return quickly (completing now or later from any thread),
 * and skipping a thread hand-off is what makes a round trip cost
 * microseconds. A plain sync_fn may block, so it goes to the worker pool,
 * where it cannot hold up the run or the other calls of a batch.
 */
static void start_call(cloche_sandbox *sb, cloche_call *call,
                       const cloche__callback *cb, int sync_style) {
    if (cb->fn) {
        size_t len;
        const char *args = cloche_call_args(call, &len);
        cloche__call_hold_for_impl(call);
        cb->fn(call, args, len, cb->userdata);
        return;
    }
    if (cb->sync_fn) {
        cloche__callback_dispatch(sb->engine->pool, cb, call);
        return;
    }
    if (sync_style || sb->blocking_driver) {
        char msg[256];
        snprintf(msg, sizeof msg,
                 "callback %s has no host implementation for this caller%s",
                 cb->name, sync_style ? " (await it instead)" : "");
        cloche__call_resolve(call, CLOCHE__REPLY_FAILED, msg);
    }
    /* else: the embedder answers it through cloche_pending_call */
}

int cloche__add_async_call(cloche_sandbox *sb, uint32_t id, const char *name,
                           size_t name_len, const uint8_t *args,
                           size_t args_len) {
    cloche_call *call;
    int rc = cloche__hub_add(&call, sb->hub, 1, id, name, name_len, args,
                             args_len, UINT64_MAX);
    if (rc != 0)
        return rc;
    const cloche__callback *cb;
    if (cloche__admit_call(sb, call, &cb) != 0)
        return 0;
    cloche__call_set_deadline(call, call_deadline(sb, cb));
    start_call(sb, call, cb, 0);
    return 0;
}

/* Wait for a sync-style call; 0 when it has a reply (maybe a timeout). */
static int wait_sync(cloche_sandbox *sb, cloche_call *call) {
    uint64_t call_deadline_ns = cloche__call_deadline(call);
    for (;;) {
        uint64_t until = call_deadline_ns < sb->deadline_ns
                             ? call_deadline_ns
                             : sb->deadline_ns;
        int got = cloche__hub_wait(sb->hub, call, until);
        if (got == 1)
            return 0;
        if (got < 0) {
            sb->stop = CLOCHE__STOP_CANCELLED;
            return -1;
        }
        uint64_t now = cloche__now_ns();
        if (now >= sb->deadline_ns) {
            sb->stop = CLOCHE__STOP_TIMEOUT;
            return -1;
        }
        if (now >= call_deadline_ns) {
            cloche__call_resolve(call, CLOCHE__REPLY_TIMED_OUT,
                                 "no reply within the callback timeout");
            return 0;
        }
    }
}

uint64_t cloche__sync_call(cloche_sandbox *sb, const char *name, size_t nlen,
                           const uint8_t *args, size_t alen) {
    cloche_call *call;
    if (cloche__hub_add(&call, sb->hub, 0, 0, name, nlen, args, alen,
                        UINT64_MAX) != 0) {
        sb->stop = CLOCHE__STOP_CALLBACKS; /* out of host memory: stop */
        return 0;
    }
    const cloche__callback *cb;
    if (cloche__admit_call(sb, call, &cb) == 0) {
        cloche__call_set_deadline(call, call_deadline(sb, cb));
        start_call(sb, call, cb, 1);
    }
    uint64_t packed = 0;
    if (sb->stop == CLOCHE__STOP_NONE && wait_sync(sb, call) == 0) {
        free(sb->sync_reply);
        int kind = cloche__call_take_reply(call, &sb->sync_reply,
                                           &sb->sync_reply_len);
        uint64_t cap = (uint64_t)sb->limits[CLOCHE_LIMIT_CALLBACK_PAYLOAD];
        if (kind == CLOCHE__REPLY_OK &&
            sb->sync_reply_len > cap - (sb->payload_in < cap ? sb->payload_in
                                                             : cap)) {
            static const char msg[] = "callback result exceeds the payload "
                                      "limit";
            free(sb->sync_reply);
            sb->sync_reply = (uint8_t *)strdup(msg);
            sb->sync_reply_len = sb->sync_reply ? sizeof msg - 1 : 0;
            kind = CLOCHE__REPLY_TOO_LARGE;
        } else if (kind == CLOCHE__REPLY_OK) {
            sb->payload_in += sb->sync_reply_len;
        }
        packed = ((uint64_t)(uint32_t)kind << 32) | sb->sync_reply_len;
    }
    cloche__call_unref(call);
    return packed;
}

void cloche__restart_call(cloche_sandbox *sb, cloche_call *call) {
    const cloche__callback *cb =
        cloche__callbacks_find(&sb->callbacks, cloche_call_name(call));
    cloche__call_set_deadline(call, call_deadline(sb, cb));
    if (!cb)
        cloche__call_resolve(call, CLOCHE__REPLY_NOT_FOUND, "not found");
    else
        start_call(sb, call, cb, 0);
}
