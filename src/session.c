/*
 * Session operations that enter the guest outside a run, through its
 * control export: installing the callback table, clearing user globals,
 * and state snapshots (pickled globals) with their wrapper format:
 *
 *   "CLOCHEST" | u32 format (1) | u32 python (0x030D) | u64 payload length
 *   | SHA-256(payload) | payload (a pickle made by cloche_guest.state)
 *
 * The wrapper is checked completely before the guest sees the payload.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "digest.h"
#include "internal.h"

enum {
    OP_CONFIGURE = 1,
    OP_STATE_SAVE = 2,
    OP_STATE_LOAD = 3,
    OP_CLEAR = 4,
    OP_PATHS = 5,
    OP_TRACE = 6,
    OP_WARM = 7
};

#define STATE_MAGIC "CLOCHEST"
#define STATE_FORMAT 1u
#define STATE_PYTHON 0x030Du
#define STATE_HEADER (8 + 4 + 4 + 8 + CLOCHE__DIGEST_LEN)

/* What a control op answered. */
typedef struct control_reply {
    int raised;          /* the guest raised; exc_type/message set */
    char exc_type[64];
    char message[400];
    uint8_t *data;       /* first record field (malloc'd) or NULL */
    size_t len;
} control_reply;

static void copy_field(char *dst, size_t cap, const cloche__span *f) {
    size_t n = f->data ? (f->len < cap - 1 ? f->len : cap - 1) : 0;
    if (n)
        memcpy(dst, f->data, n);
    dst[n] = '\0';
}

static int read_reply(cloche_sandbox *sb, uint64_t packed, control_reply *r) {
    uint32_t status;
    cloche__span f[CLOCHE__RECORD_FIELDS];
    if (cloche__guest_record(sb, packed, &status, f) != 0 || status > 1) {
        sb->needs_reset = 1;
        return cloche__fail(sb, sb->memory_denied ? CLOCHE_ETOOBIG
                                                  : CLOCHE_EGUEST,
                            "malformed control reply");
    }
    if (status == 1) {
        r->raised = 1;
        copy_field(r->exc_type, sizeof r->exc_type, &f[2]);
        copy_field(r->message, sizeof r->message, &f[3]);
        return 0;
    }
    if (f[0].data) {
        if (!(r->data = malloc(f[0].len ? f[0].len : 1)))
            return cloche__fail(sb, CLOCHE_ENOMEM, "out of memory");
        memcpy(r->data, f[0].data, f[0].len);
        r->len = f[0].len;
    }
    return 0;
}

/* Run one control op under the sandbox's timeout and memory limit. */
static int control(cloche_sandbox *sb, uint8_t op, const void *data,
                   size_t len, control_reply *reply) {
    memset(reply, 0, sizeof *reply);
    uint8_t *msg = malloc(len + 1);
    if (!msg)
        return cloche__fail(sb, CLOCHE_ENOMEM, "out of memory");
    msg[0] = op;
    if (len)
        memcpy(msg + 1, data, len);
    sb->stop = CLOCHE__STOP_NONE;
    sb->memory_denied = 0;
    sb->deadline_ns = cloche__now_ns() +
                      (uint64_t)sb->limits[CLOCHE_LIMIT_TIMEOUT] * 1000000u;
    if (sb->engine->fuel_enabled)
        wasmtime_context_set_fuel(sb->ctx, UINT64_MAX);
    cloche__ticker_enter(sb->engine->ticker);
    wasmtime_context_set_epoch_deadline(sb->ctx, 1);
    uint32_t ptr = 0;
    int rc = cloche__guest_copy_in(sb, msg, len + 1, &ptr);
    wasmtime_val_t args[2] = {
        {.kind = WASMTIME_I32, .of.i32 = (int32_t)ptr},
        {.kind = WASMTIME_I32, .of.i32 = (int32_t)(len + 1)}};
    wasmtime_val_t res;
    char trap[256];
    int code;
    if (rc == 0 && cloche__guest_call(sb, &sb->fn_control, args, 2, &res,
                                      &code, trap, sizeof trap) != 0) {
        sb->needs_reset = 1;
        rc = cloche__fail(sb, CLOCHE_EGUEST, "guest operation stopped (%s): %s",
                          sb->stop == CLOCHE__STOP_TIMEOUT ? "timeout" : "trap",
                          trap);
    }
    cloche__ticker_leave(sb->engine->ticker);
    free(msg);
    if (rc == 0) {
        rc = read_reply(sb, (uint64_t)res.of.i64, reply);
        cloche__guest_free(sb, ptr);
    }
    return rc;
}

/* Run a control op that must simply succeed. */
static int simple_op(cloche_sandbox *sb, uint8_t op, const void *data,
                     size_t len, const char *what) {
    control_reply r;
    int rc = control(sb, op, data, len, &r);
    free(r.data);
    if (rc == 0 && r.raised)
        rc = cloche__fail(sb, CLOCHE_EGUEST, "%s: %s: %s", what, r.exc_type,
                          r.message);
    return rc;
}

static int install_callbacks(cloche_sandbox *sb) {
    char *table = cloche__callbacks_table(&sb->callbacks);
    if (!table)
        return cloche__fail(sb, CLOCHE_ENOMEM, "out of memory");
    int rc = simple_op(sb, OP_CONFIGURE, table, strlen(table),
                       "installing callbacks");
    free(table);
    if (rc == 0)
        sb->configured = sb->callbacks.generation;
    return rc;
}

static int install_paths(cloche_sandbox *sb) {
    cloche__writer w;
    cloche__writer_init(&w, 1u << 20);
    for (size_t i = sb->paths_installed; i < sb->npackages; i++) {
        cloche__put(&w, "/packages/", 10);
        cloche__put(&w, sb->packages[i].name, strlen(sb->packages[i].name));
        cloche__put(&w, "\n", 1);
    }
    int rc = w.failed ? cloche__fail(sb, CLOCHE_ENOMEM, "out of memory")
                      : simple_op(sb, OP_PATHS, w.data, w.len, "sys.path");
    free(w.data);
    if (rc == 0)
        sb->paths_installed = sb->npackages;
    return rc;
}

int cloche__configure_guest(cloche_sandbox *sb) {
    int rc = 0;
    if (sb->configured != sb->callbacks.generation)
        rc = install_callbacks(sb);
    if (rc == 0 && sb->paths_installed != sb->npackages)
        rc = install_paths(sb);
    int want_trace = sb->on_trace != NULL;
    if (rc == 0 && sb->tracing != want_trace) {
        uint8_t on = (uint8_t)want_trace;
        rc = simple_op(sb, OP_TRACE, &on, 1, "tracing");
        if (rc == 0)
            sb->tracing = want_trace;
    }
    return rc;
}

/* Enter for a session op: idle sandbox with a usable instance. */
static int enter(cloche_sandbox *sb) {
    if (!sb)
        return CLOCHE_EINVAL;
    int rc = cloche__acquire(sb, 0);
    if (rc != 0)
        return rc;
    if ((rc = cloche__ensure_instance(sb)) != 0)
        cloche__release(sb);
    return rc;
}

static int leave(cloche_sandbox *sb, int rc) {
    cloche__release(sb);
    return rc;
}

void cloche_buffer_free(void *buf) { free(buf); }

int cloche_sandbox_warm(cloche_sandbox *sb) {
    int rc = enter(sb);
    if (rc != 0)
        return rc;
    return leave(sb, simple_op(sb, OP_WARM, NULL, 0, "warm"));
}

int cloche_sandbox_clear(cloche_sandbox *sb) {
    int rc = enter(sb);
    if (rc != 0)
        return rc;
    control_reply r;
    rc = control(sb, OP_CLEAR, NULL, 0, &r);
    free(r.data);
    if (rc == 0 && r.raised)
        rc = cloche__fail(sb, CLOCHE_EGUEST, "clear: %s: %s", r.exc_type,
                          r.message);
    return leave(sb, rc);
}

/* Wrap a pickle: header + digest + payload. */
static int wrap_state(uint8_t **out, size_t *out_len, const uint8_t *pickle,
                      size_t len) {
    uint8_t digest[CLOCHE__DIGEST_LEN];
    if (cloche__digest(digest, NULL, 0, pickle, len) != 0)
        return CLOCHE_ENOMEM;
    cloche__writer w;
    cloche__writer_init(&w, STATE_HEADER + len);
    cloche__put(&w, STATE_MAGIC, 8);
    cloche__put_u32(&w, STATE_FORMAT);
    cloche__put_u32(&w, STATE_PYTHON);
    cloche__put_u64(&w, len);
    cloche__put(&w, digest, sizeof digest);
    cloche__put(&w, pickle, len);
    if (w.failed) {
        free(w.data);
        return CLOCHE_ENOMEM;
    }
    *out = w.data;
    *out_len = w.len;
    return 0;
}

int cloche_state_save(uint8_t **out, size_t *out_len, cloche_sandbox *sb,
                      unsigned flags) {
    if (!out || !out_len)
        return CLOCHE_EINVAL;
    *out = NULL;
    *out_len = 0;
    int rc = enter(sb);
    if (rc != 0)
        return rc;
    uint8_t skip = (flags & CLOCHE_STATE_SKIP_UNPICKLABLE) ? 1 : 0;
    control_reply r;
    rc = control(sb, OP_STATE_SAVE, &skip, 1, &r);
    if (rc == 0 && r.raised)
        rc = cloche__fail(sb,
                          strcmp(r.exc_type, "UnpicklableGlobals") == 0
                              ? CLOCHE_EUNPICKLABLE
                              : CLOCHE_EGUEST,
                          "%s", r.message);
    else if (rc == 0 && (!r.data || r.len > CLOCHE_STATE_MAX_BYTES))
        rc = cloche__fail(sb, r.data ? CLOCHE_ETOOBIG : CLOCHE_EGUEST,
                          "state snapshot is %zu bytes (cap %u)", r.len,
                          CLOCHE_STATE_MAX_BYTES);
    else if (rc == 0 &&
             (rc = cloche__network_check_leak(sb, r.data, r.len)) == 0)
        rc = wrap_state(out, out_len, r.data, r.len);
    free(r.data);
    return leave(sb, rc);
}

/* Check a state snapshot's wrapper; on success *payload/len point into it. */
static int check_state(cloche_sandbox *sb, const uint8_t *data, size_t len,
                       const uint8_t **payload, size_t *payload_len) {
    if (!data || len < STATE_HEADER)
        return cloche__fail(sb, CLOCHE_ETRUNCATED, "shorter than a header");
    cloche__reader r;
    cloche__reader_init(&r, data, STATE_HEADER);
    const uint8_t *magic = cloche__get(&r, 8);
    uint32_t format = cloche__get_u32(&r), python = cloche__get_u32(&r);
    uint64_t n = cloche__get_u64(&r);
    if (memcmp(magic, STATE_MAGIC, 8) != 0 || format != STATE_FORMAT)
        return cloche__fail(sb, CLOCHE_EFORMAT, "not a state snapshot");
    if (python != STATE_PYTHON)
        return cloche__fail(sb, CLOCHE_EBUILD, "made by another Python");
    if (n > CLOCHE_STATE_MAX_BYTES)
        return cloche__fail(sb, CLOCHE_ETOOBIG, "payload over the cap");
    if (n > len - STATE_HEADER)
        return cloche__fail(sb, CLOCHE_ETRUNCATED, "payload is cut short");
    if (n < len - STATE_HEADER)
        return cloche__fail(sb, CLOCHE_ECORRUPT, "trailing bytes");
    uint8_t digest[CLOCHE__DIGEST_LEN];
    if (cloche__digest(digest, NULL, 0, data + STATE_HEADER, n) != 0 ||
        !cloche__digest_equal(digest, data + 24))
        return cloche__fail(sb, CLOCHE_ECORRUPT, "checksum mismatch");
    *payload = data + STATE_HEADER;
    *payload_len = (size_t)n;
    return 0;
}

int cloche_state_restore(cloche_sandbox *sb, const uint8_t *data,
                         size_t len) {
    const uint8_t *payload = NULL;
    size_t n = 0;
    int rc = sb ? check_state(sb, data, len, &payload, &n) : CLOCHE_EINVAL;
    if (rc != 0 || (rc = enter(sb)) != 0)
        return rc;
    control_reply r;
    rc = control(sb, OP_STATE_LOAD, payload, n, &r);
    free(r.data);
    if (rc == 0 && r.raised)
        rc = cloche__fail(sb, CLOCHE_ECORRUPT, "unpickling failed: %s: %s",
                          r.exc_type, r.message);
    return leave(sb, rc);
}
