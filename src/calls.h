/*
 * Host-call bookkeeping for one sandbox: the "hub" that callback threads
 * complete calls into, and the cloche_call objects themselves.
 *
 * Lifetimes: a hub is reference-counted and shared by its sandbox and every
 * call it created, so a callback that completes after its sandbox was reset
 * or freed touches only the hub, never the sandbox. A call holds one
 * reference for the sandbox (dropped when delivered or abandoned) and one
 * for its implementation (dropped by the completion).
 */
#ifndef CLOCHE_CALLS_H
#define CLOCHE_CALLS_H

#include <stddef.h>
#include <stdint.h>

#include "bytes.h"
#include "cloche.h"

/* Reply kinds, shared with the guest (guest/cloche_guest/callbacks.py). */
enum cloche__reply {
    CLOCHE__REPLY_OK = 0,
    CLOCHE__REPLY_FAILED = 1,
    CLOCHE__REPLY_TIMED_OUT = 2,
    CLOCHE__REPLY_NOT_FOUND = 3,
    CLOCHE__REPLY_TOO_LARGE = 4,
};

typedef struct cloche__hub cloche__hub;

int cloche__hub_new(cloche__hub **out);
/* The sandbox lets go: calls still running keep the hub alive. */
void cloche__hub_detach(cloche__hub *hub);

/* Create a call holding one reference for the sandbox. Listed calls
 * (async style) join the outstanding list that replies are batched from;
 * unlisted ones (sync style) are waited for one by one. */
int cloche__hub_add(cloche_call **out, cloche__hub *hub, int listed,
                    uint32_t id, const char *name, size_t name_len,
                    const uint8_t *args, size_t args_len,
                    uint64_t deadline_ns);
/* An implementation (fn/sync_fn) will complete this call: it holds a
 * reference until then. */
void cloche__call_hold_for_impl(cloche_call *call);
/* Complete a call with a reply made by cloche itself (not found, too
 * large, timed out). Drops no reference. */
void cloche__call_resolve(cloche_call *call, int kind, const char *msg);
/* The callback deadline (monotonic ns), set once the callback is known. */
void cloche__call_set_deadline(cloche_call *call, uint64_t deadline_ns);
uint64_t cloche__call_deadline(const cloche_call *call);
/* Drop one reference. */
void cloche__call_unref(cloche_call *call);

/* Outstanding (not yet delivered) calls. */
size_t cloche__hub_count(cloche__hub *hub);
cloche_call *cloche__hub_at(cloche__hub *hub, size_t i);
/* Fail every call whose deadline has passed with TIMED_OUT. */
void cloche__hub_expire(cloche__hub *hub, uint64_t now_ns);
/* Earliest callback deadline among pending calls (UINT64_MAX if none). */
uint64_t cloche__hub_next_deadline(cloche__hub *hub);

/*
 * Block until a call completes (or `only` completes, if non-NULL), the hub
 * is cancelled, or until_ns (monotonic) passes. Returns 1 if something
 * completed, 0 on timeout, -1 if cancelled.
 */
int cloche__hub_wait(cloche__hub *hub, const cloche_call *only,
                     uint64_t until_ns);
/* Sleep until until_ns unless cancelled: 0 slept, -1 cancelled. */
int cloche__hub_sleep(cloche__hub *hub, uint64_t until_ns);

/* Cancellation flag for the current run. */
void cloche__hub_cancel(cloche__hub *hub);
void cloche__hub_clear_cancel(cloche__hub *hub);
int cloche__hub_cancelled(cloche__hub *hub);

/*
 * Move completed calls out of the outstanding list into a reply batch for
 * the guest: u32 count, then per call u32 id, u32 kind, u32 len, bytes.
 * Replies whose bytes would push *payload past payload_cap become
 * TOO_LARGE. Returns 0 (batch in *out, malloc'd) or CLOCHE_ENOMEM.
 */
int cloche__hub_take_replies(uint8_t **out, size_t *out_len,
                             cloche__hub *hub, uint64_t *payload,
                             uint64_t payload_cap);
/* Drop every outstanding call (a run ended while calls were pending). */
void cloche__hub_abandon(cloche__hub *hub);

/* For a sync-style call: take its reply (kind, malloc'd bytes). */
int cloche__call_take_reply(const cloche_call *call, uint8_t **bytes,
                            size_t *len);
int cloche__call_done(const cloche_call *call);

/* Snapshots: write every outstanding call (id, name, args, reply if any). */
void cloche__hub_save(cloche__hub *hub, cloche__writer *w);
/* Read one call written by cloche__hub_save into the hub's list. Returns
 * 0, CLOCHE_ECORRUPT or CLOCHE_ENOMEM. */
int cloche__hub_load_call(cloche_call **out, cloche__hub *hub,
                          cloche__reader *r);

#endif
