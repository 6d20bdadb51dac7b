/*
 * Host calls: the hub a sandbox's callbacks complete into, and cloche_call.
 *
 * Invariants: every field of a call and of its hub is guarded by the hub's
 * lock, except the immutable id/name/args; a call is in the hub's list from
 * creation until its reply is delivered to the guest or the run abandons
 * it; the first completion wins and later ones are ignored.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "bytes.h"
#include "calls.h"
#include "internal.h"

struct cloche_call {
    cloche__hub *hub;
    int refs;
    int has_impl;  /* an implementation holds a reference until it completes */
    int impl_done; /* the implementation has completed (its ref dropped) */
    uint32_t id;
    char *name, *args;
    size_t args_len;
    uint64_t deadline_ns;
    int done, kind;
    uint8_t *reply;
    size_t reply_len;
};

struct cloche__hub {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int refs;
    int cancelled;
    cloche_call **list;
    size_t count, cap;
};

int cloche__hub_new(cloche__hub **out) {
    cloche__hub *h = calloc(1, sizeof *h);
    if (!h)
        return CLOCHE_ENOMEM;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&h->changed, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&h->lock, NULL);
    h->refs = 1;
    *out = h;
    return 0;
}

/* Called with the lock held; returns 1 if the hub must be destroyed. */
static int hub_release_locked(cloche__hub *h) { return --h->refs == 0; }

static void hub_destroy(cloche__hub *h) {
    pthread_cond_destroy(&h->changed);
    pthread_mutex_destroy(&h->lock);
    free(h->list);
    free(h);
}

static void call_free(cloche_call *c) {
    free(c->name);
    free(c->args);
    free(c->reply);
    free(c);
}

/* Drop a call reference with the hub lock held; may free call and hub
 * (then returns 1 and the caller must not unlock). */
static int call_unref_locked(cloche_call *c) {
    if (--c->refs > 0)
        return 0;
    cloche__hub *h = c->hub;
    call_free(c);
    if (!hub_release_locked(h))
        return 0;
    pthread_mutex_unlock(&h->lock);
    hub_destroy(h);
    return 1;
}

void cloche__call_unref(cloche_call *c) {
    cloche__hub *h = c->hub;
    pthread_mutex_lock(&h->lock);
    if (!call_unref_locked(c))
        pthread_mutex_unlock(&h->lock);
}

void cloche__hub_detach(cloche__hub *h) {
    if (!h)
        return;
    cloche__hub_abandon(h);
    pthread_mutex_lock(&h->lock);
    if (hub_release_locked(h)) {
        pthread_mutex_unlock(&h->lock);
        hub_destroy(h);
        return;
    }
    pthread_mutex_unlock(&h->lock);
}

static char *dup_n(const void *p, size_t n) {
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

int cloche__hub_add(cloche_call **out, cloche__hub *h, int listed,
                    uint32_t id, const char *name, size_t name_len,
                    const uint8_t *args, size_t args_len,
                    uint64_t deadline_ns) {
    cloche_call *c = calloc(1, sizeof *c);
    if (!c || !(c->name = dup_n(name, name_len)) ||
        !(c->args = dup_n(args, args_len))) {
        if (c)
            call_free(c);
        return CLOCHE_ENOMEM;
    }
    c->hub = h;
    c->id = id;
    c->args_len = args_len;
    c->deadline_ns = deadline_ns;
    c->refs = 1;
    pthread_mutex_lock(&h->lock);
    if (listed && h->count == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 16;
        cloche_call **grown = realloc(h->list, cap * sizeof *grown);
        if (!grown) {
            pthread_mutex_unlock(&h->lock);
            call_free(c);
            return CLOCHE_ENOMEM;
        }
        h->list = grown;
        h->cap = cap;
    }
    if (listed)
        h->list[h->count++] = c;
    h->refs++;
    pthread_mutex_unlock(&h->lock);
    *out = c;
    return 0;
}

void cloche__call_hold_for_impl(cloche_call *c) {
    pthread_mutex_lock(&c->hub->lock);
    c->has_impl = 1;
    c->refs++;
    pthread_mutex_unlock(&c->hub->lock);
}

/* Set the reply if none yet (lock held); takes ownership of bytes. */
static void set_reply_locked(cloche_call *c, int kind, uint8_t *bytes,
                             size_t len) {
    if (c->done) {
        free(bytes);
        return;
    }
    c->done = 1;
    c->kind = kind;
    c->reply = bytes;
    c->reply_len = len;
    pthread_cond_broadcast(&c->hub->changed);
}

/* An implementation's completion: set the reply, drop its reference. */
static int complete(cloche_call *c, int kind, uint8_t *bytes, size_t len) {
    cloche__hub *h = c->hub;
    pthread_mutex_lock(&h->lock);
    int status = c->done ? CLOCHE_ESTATE : 0;
    set_reply_locked(c, kind, bytes, len);
    if (c->has_impl && !c->impl_done) {
        c->impl_done = 1;
        if (call_unref_locked(c))
            return status;
    }
    pthread_mutex_unlock(&h->lock);
    return status;
}

int cloche_call_return(cloche_call *c, const char *json, size_t len) {
    if (!c)
        return CLOCHE_EINVAL;
    if (!json || len == 0) {
        json = "null";
        len = 4;
    }
    json_error_t err;
    json_t *parsed = json_loadb(json, len, JSON_DECODE_ANY, &err);
    if (!parsed) {
        char msg[256];
        snprintf(msg, sizeof msg, "callback returned invalid JSON: %s",
                 err.text);
        cloche_call_fail(c, msg);
        return CLOCHE_EINVAL;
    }
    json_decref(parsed);
    uint8_t *copy = (uint8_t *)dup_n(json, len);
    if (!copy) {
        cloche_call_fail(c, "out of host memory");
        return CLOCHE_ENOMEM;
    }
    return complete(c, CLOCHE__REPLY_OK, copy, len);
}

int cloche_call_fail(cloche_call *c, const char *message) {
    if (!c)
        return CLOCHE_EINVAL;
    if (!message)
        message = "callback failed";
    size_t n = strlen(message);
    return complete(c, CLOCHE__REPLY_FAILED, (uint8_t *)dup_n(message, n),
                    n);
}

void cloche__call_resolve(cloche_call *c, int kind, const char *msg) {
    size_t n = strlen(msg);
    pthread_mutex_lock(&c->hub->lock);
    set_reply_locked(c, kind, (uint8_t *)dup_n(msg, n), n);
    pthread_mutex_unlock(&c->hub->lock);
}

void cloche__call_set_deadline(cloche_call *c, uint64_t deadline_ns) {
    pthread_mutex_lock(&c->hub->lock);
    c->deadline_ns = deadline_ns;
    pthread_mutex_unlock(&c->hub->lock);
}

uint64_t cloche__call_deadline(const cloche_call *c) {
    pthread_mutex_lock(&c->hub->lock);
    uint64_t d = c->deadline_ns;
    pthread_mutex_unlock(&c->hub->lock);
    return d;
}

const char *cloche_call_name(const cloche_call *c) { return c->name; }
uint32_t cloche_call_id(const cloche_call *c) { return c->id; }
const char *cloche_call_args(const cloche_call *c, size_t *len) {
    if (len)
        *len = c->args_len;
    return c->args;
}

int cloche__call_done(const cloche_call *c) {
    pthread_mutex_lock(&c->hub->lock);
    int done = c->done;
    pthread_mutex_unlock(&c->hub->lock);
    return done;
}

int cloche__call_take_reply(const cloche_call *c, uint8_t **bytes,
                            size_t *len) {
    pthread_mutex_lock(&c->hub->lock);
    int kind = c->kind;
    *len = c->reply_len;
    *bytes = (uint8_t *)dup_n(c->reply ? (const char *)c->reply : "",
                              c->reply_len);
    pthread_mutex_unlock(&c->hub->lock);
    return kind;
}

/* --- the outstanding list ------------------------------------------------ */

size_t cloche__hub_count(cloche__hub *h) {
    pthread_mutex_lock(&h->lock);
    size_t n = 0;
    for (size_t i = 0; i < h->count; i++)
        n += !h->list[i]->done;
    pthread_mutex_unlock(&h->lock);
    return n;
}

cloche_call *cloche__hub_at(cloche__hub *h, size_t index) {
    cloche_call *found = NULL;
    pthread_mutex_lock(&h->lock);
    for (size_t i = 0, k = 0; i < h->count && !found; i++)
        if (!h->list[i]->done && k++ == index)
            found = h->list[i];
    pthread_mutex_unlock(&h->lock);
    return found;
}

void cloche__hub_expire(cloche__hub *h, uint64_t now_ns) {
    static const char msg[] = "no reply within the callback timeout";
    pthread_mutex_lock(&h->lock);
    for (size_t i = 0; i < h->count; i++) {
        cloche_call *c = h->list[i];
        if (!c->done && c->deadline_ns <= now_ns)
            set_reply_locked(c, CLOCHE__REPLY_TIMED_OUT,
                             (uint8_t *)dup_n(msg, sizeof msg - 1),
                             sizeof msg - 1);
    }
    pthread_mutex_unlock(&h->lock);
}

uint64_t cloche__hub_next_deadline(cloche__hub *h) {
    uint64_t next = UINT64_MAX;
    pthread_mutex_lock(&h->lock);
    for (size_t i = 0; i < h->count; i++)
        if (!h->list[i]->done && h->list[i]->deadline_ns < next)
            next = h->list[i]->deadline_ns;
    pthread_mutex_unlock(&h->lock);
    return next;
}

/* --- waiting and cancellation -------------------------------------------- */

static struct timespec to_timespec(uint64_t ns) {
    struct timespec ts = {(time_t)(ns / 1000000000ull),
                          (long)(ns % 1000000000ull)};
    return ts;
}

static int any_done_locked(const cloche__hub *h) {
    for (size_t i = 0; i < h->count; i++)
        if (h->list[i]->done)
            return 1;
    return 0;
}

int cloche__hub_wait(cloche__hub *h, const cloche_call *only,
                     uint64_t until_ns) {
    struct timespec until = to_timespec(until_ns);
    int result = 0;
    pthread_mutex_lock(&h->lock);
    for (;;) {
        if (h->cancelled) {
            result = -1;
            break;
        }
        if (only ? only->done : any_done_locked(h)) {
            result = 1;
            break;
        }
        if (cloche__now_ns() >= until_ns ||
            pthread_cond_timedwait(&h->changed, &h->lock, &until) ==
                ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&h->lock);
    return result;
}

int cloche__hub_sleep(cloche__hub *h, uint64_t until_ns) {
    struct timespec until = to_timespec(until_ns);
    pthread_mutex_lock(&h->lock);
    while (!h->cancelled && cloche__now_ns() < until_ns &&
           pthread_cond_timedwait(&h->changed, &h->lock, &until) != ETIMEDOUT)
        ;
    int cancelled = h->cancelled;
    pthread_mutex_unlock(&h->lock);
    return cancelled ? -1 : 0;
}

void cloche__hub_cancel(cloche__hub *h) {
    pthread_mutex_lock(&h->lock);
    h->cancelled = 1;
    pthread_cond_broadcast(&h->changed);
    pthread_mutex_unlock(&h->lock);
}

void cloche__hub_clear_cancel(cloche__hub *h) {
    pthread_mutex_lock(&h->lock);
    h->cancelled = 0;
    pthread_mutex_unlock(&h->lock);
}

int cloche__hub_cancelled(cloche__hub *h) {
    pthread_mutex_lock(&h->lock);
    int c = h->cancelled;
    pthread_mutex_unlock(&h->lock);
    return c;
}

/* --- delivering replies to the guest ------------------------------------ */

static void put_u32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16),
    p[3] = (uint8_t)(v >> 24);
}

/* Replace an over-cap reply (lock held). */
static void cap_reply_locked(cloche_call *c, uint64_t *payload, uint64_t cap) {
    static const char msg[] = "callback result exceeds the payload limit";
    if (c->kind != CLOCHE__REPLY_OK || c->reply_len <= cap - *payload) {
        *payload += c->reply_len;
        return;
    }
    free(c->reply);
    c->kind = CLOCHE__REPLY_TOO_LARGE;
    c->reply = (uint8_t *)dup_n(msg, sizeof msg - 1);
    c->reply_len = c->reply ? sizeof msg - 1 : 0;
}

int cloche__hub_take_replies(uint8_t **out, size_t *out_len, cloche__hub *h,
                             uint64_t *payload, uint64_t cap) {
    pthread_mutex_lock(&h->lock);
    size_t size = 4;
    for (size_t i = 0; i < h->count; i++) {
        cloche_call *c = h->list[i];
        if (!c->done)
            continue;
        cap_reply_locked(c, payload, cap);
        size += 12 + c->reply_len;
    }
    uint8_t *buf = malloc(size);
    if (!buf) {
        pthread_mutex_unlock(&h->lock);
        return CLOCHE_ENOMEM;
    }
    size_t at = 4, kept = 0;
    uint32_t n = 0;
    cloche_call **drop = h->list; /* reuse: compact the list in place */
    for (size_t i = 0; i < h->count; i++) {
        cloche_call *c = h->list[i];
        if (!c->done) {
            drop[kept++] = c;
            continue;
        }
        put_u32(buf + at, c->id);
        put_u32(buf + at + 4, (uint32_t)c->kind);
        put_u32(buf + at + 8, (uint32_t)c->reply_len);
        if (c->reply_len)
            memcpy(buf + at + 12, c->reply, c->reply_len);
        at += 12 + c->reply_len;
        n++;
        call_unref_locked(c); /* may free c; never the hub (sandbox ref) */
    }
    h->count = kept;
    put_u32(buf, n);
    pthread_mutex_unlock(&h->lock);
    *out = buf;
    *out_len = at;
    return 0;
}

void cloche__hub_abandon(cloche__hub *h) {
    pthread_mutex_lock(&h->lock);
    size_t n = h->count;
    cloche_call **list = h->list;
    h->count = 0;
    for (size_t i = 0; i < n; i++) {
        cloche_call *c = list[i];
        if (!c->done)
            set_reply_locked(c, CLOCHE__REPLY_FAILED, NULL, 0);
        call_unref_locked(c);
    }
    pthread_mutex_unlock(&h->lock);
}

/* --- snapshots ------------------------------------------------------------ */

void cloche__hub_save(cloche__hub *h, cloche__writer *w) {
    pthread_mutex_lock(&h->lock);
    cloche__put_u32(w, (uint32_t)h->count);
    for (size_t i = 0; i < h->count; i++) {
        const cloche_call *c = h->list[i];
        cloche__put_u32(w, c->id);
        cloche__put_blob(w, c->name, strlen(c->name));
        cloche__put_blob(w, c->args, c->args_len);
        cloche__put_u32(w, (uint32_t)c->done);
        cloche__put_u32(w, (uint32_t)c->kind);
        cloche__put_blob(w, c->reply, c->done ? c->reply_len : 0);
    }
    pthread_mutex_unlock(&h->lock);
}

int cloche__hub_load_call(cloche_call **out, cloche__hub *h,
                          cloche__reader *r) {
    uint32_t id = cloche__get_u32(r);
    size_t nlen, alen, rlen;
    const uint8_t *name = cloche__get_blob(r, &nlen);
    const uint8_t *args = cloche__get_blob(r, &alen);
    uint32_t done = cloche__get_u32(r), kind = cloche__get_u32(r);
    const uint8_t *reply = cloche__get_blob(r, &rlen);
    if (r->failed || done > 1 || kind > CLOCHE__REPLY_TOO_LARGE ||
        nlen > 1024 || memchr(name, '\0', nlen))
        return CLOCHE_ECORRUPT;
    int rc = cloche__hub_add(out, h, 1, id, (const char *)name, nlen, args,
                             alen, UINT64_MAX);
    if (rc != 0 || !done)
        return rc;
    uint8_t *copy = (uint8_t *)dup_n(reply ? (const char *)reply : "", rlen);
    if (!copy)
        return CLOCHE_ENOMEM;
    pthread_mutex_lock(&h->lock);
    set_reply_locked(*out, (int)kind, copy, rlen);
    pthread_mutex_unlock(&h->lock);
    return 0;
}
