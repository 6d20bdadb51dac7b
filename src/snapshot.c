/*
 * Image snapshots: the exact state of an idle or PENDING sandbox, written
 * as bytes and restored into a sandbox of the same guest build.
 *
 *   header (96 bytes, not compressed):
 *     "CLOCHEIM" | u32 format (1) | u32 flags (bit 0: HMAC) |
 *     build id (32 bytes, NUL-padded) | u64 payload length |
 *     u64 compressed length | digest (32): SHA-256, or HMAC-SHA-256 with
 *     the embedder's key, over the header's first 64 bytes and the
 *     compressed payload
 *   payload (zstd): MEM, WASI, RUN sections (snapshot_state.c)
 *
 * Restore checks, in order: size, magic/format, build, lengths, key,
 * digest, decompression, then each section — all before the sandbox is
 * changed; applying the sections happens on a fresh instance, and any
 * failure puts the previous instance back.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "digest.h"
#include "snapshot.h"

#define MAGIC "CLOCHEIM"
#define FLAG_HMAC 1u
#define BUILD_ID_LEN 32
#define HEADER_SIGNED 64 /* bytes of header covered by the digest */
#define HEADER_LEN (HEADER_SIGNED + CLOCHE__DIGEST_LEN)
#define DEFAULT_LEVEL 1 /* fastest: snapshots are taken on hot paths */
/* Beyond guest memory, the host state a payload may carry. */
#define PAYLOAD_SLACK (64ull << 20)

/* --- the engine's pristine image (for page comparison) --------------------- */

static int pristine_image(cloche_engine *e, const uint8_t **image,
                          uint64_t *size) {
    pthread_mutex_lock(&e->pristine_lock);
    if (!e->pristine) {
        wasmtime_store_t *store = wasmtime_store_new(e->wasm, NULL, NULL);
        wasmtime_context_t *ctx = store ? wasmtime_store_context(store) : NULL;
        wasmtime_instance_t inst;
        wasm_trap_t *trap = NULL;
        wasmtime_error_t *err =
            ctx ? wasmtime_instance_pre_instantiate(e->pre, ctx, &inst, &trap)
                : NULL;
        wasmtime_extern_t mem;
        if (ctx && !err && !trap &&
            wasmtime_instance_export_get(ctx, &inst, "memory", 6, &mem) &&
            mem.kind == WASMTIME_EXTERN_MEMORY) {
            e->pristine = store;
            e->image = wasmtime_memory_data(ctx, &mem.of.memory);
            e->image_size = (uint64_t)wasmtime_memory_data_size(ctx,
                                                                &mem.of.memory);
        } else {
            if (err)
                wasmtime_error_delete(err);
            if (trap)
                wasm_trap_delete(trap);
            if (store)
                wasmtime_store_delete(store);
        }
    }
    *image = e->image;
    *size = e->image_size;
    pthread_mutex_unlock(&e->pristine_lock);
    return *image ? 0 : CLOCHE_EENGINE;
}

/* --- header -------------------------------------------------------------------- */

static void build_id_field(uint8_t out[BUILD_ID_LEN]) {
    memset(out, 0, BUILD_ID_LEN);
    const char *id = cloche__guest_build_id();
    size_t n = strlen(id);
    memcpy(out, id, n < BUILD_ID_LEN ? n : BUILD_ID_LEN);
}

static void write_header(uint8_t *h, uint32_t flags, uint64_t raw_len,
                         uint64_t comp_len) {
    cloche__writer w;
    cloche__writer_init(&w, HEADER_SIGNED);
    uint8_t id[BUILD_ID_LEN];
    build_id_field(id);
    cloche__put(&w, MAGIC, 8);
    cloche__put_u32(&w, CLOCHE__IMAGE_FORMAT);
    cloche__put_u32(&w, flags);
    cloche__put(&w, id, BUILD_ID_LEN);
    cloche__put_u64(&w, raw_len);
    cloche__put_u64(&w, comp_len);
    memcpy(h, w.data, HEADER_SIGNED);
    free(w.data);
}

/* Digest over the signed header and the compressed payload. */
static int header_digest(uint8_t out[CLOCHE__DIGEST_LEN], const uint8_t *snap,
                         size_t comp_len, const cloche_snapshot_options *o) {
    int rc = cloche__digest2(out, o->key, o->key ? o->key_len : 0, snap,
                             HEADER_SIGNED, snap + HEADER_LEN, comp_len);
    return rc == 0 ? 0 : CLOCHE_ENOMEM;
}

/* --- saving -------------------------------------------------------------------- */

/* The payload with MEM's pages as they are (*where says where). */
static int build_payload(cloche__writer *w, cloche_sandbox *sb,
                         const uint8_t *image, uint64_t image_size,
                         cloche__snap_pages *where) {
    int rc = cloche__snap_write_memory(w, sb, image, image_size, where);
    uint8_t *wasi = NULL;
    size_t wasi_len = 0;
    if (rc == 0 && cloche__wasi_save(sb->wasi, &wasi, &wasi_len) != 0)
        rc = CLOCHE_ENOMEM;
    if (rc == 0) {
        cloche__put_blob(w, wasi, wasi_len);
        cloche__snap_write_run(w, sb);
    }
    free(wasi);
    return rc == 0 && w->failed ? CLOCHE_ENOMEM : rc;
}

static int compress_into(uint8_t **out, size_t *out_len, const cloche__writer *w,
                         const cloche_snapshot_options *o) {
    size_t bound = ZSTD_compressBound(w->len);
    uint8_t *snap = malloc(HEADER_LEN + bound);
    if (!snap)
        return CLOCHE_ENOMEM;
    size_t comp = ZSTD_compress(snap + HEADER_LEN, bound, w->data, w->len,
                                o->compression ? o->compression
                                               : DEFAULT_LEVEL);
    if (ZSTD_isError(comp)) {
        free(snap);
        return CLOCHE_ENOMEM;
    }
    write_header(snap, o->key ? FLAG_HMAC : 0, w->len, comp);
    if (header_digest(snap + HEADER_SIGNED, snap, comp, o) != 0) {
        free(snap);
        return CLOCHE_ENOMEM;
    }
    *out = snap;
    *out_len = HEADER_LEN + comp;
    return 0;
}

static int check_options(const cloche_snapshot_options *o) {
    return o->version == CLOCHE_SNAPSHOT_OPTIONS_VERSION &&
           (!o->key || o->key_len > 0) && o->compression >= 0 &&
           o->compression <= ZSTD_maxCLevel();
}

int cloche_snapshot_save(uint8_t **out, size_t *out_len, cloche_sandbox *sb,
                         const cloche_snapshot_options *options) {
    cloche_snapshot_options defaults = CLOCHE_SNAPSHOT_OPTIONS_INIT;
    const cloche_snapshot_options *o = options ? options : &defaults;
    if (!out || !out_len || !sb || !check_options(o))
        return cloche__fail(sb, CLOCHE_EINVAL, "bad arguments or options");
    *out = NULL;
    *out_len = 0;
    int rc = cloche__acquire(sb, -1);
    if (rc != 0)
        return rc;
    if (!sb->store || sb->needs_reset || sb->run_state == CLOCHE__RUN_DONE) {
        cloche__release(sb);
        return cloche__fail(sb, CLOCHE_ESTATE,
                            "nothing to snapshot: the sandbox must be idle or "
                            "pending (finish a done run first)");
    }
    cloche__writer w;
    cloche__writer_init(&w, SIZE_MAX / 2);
    const uint8_t *image = NULL;
    uint64_t image_size = 0;
    cloche__snap_pages where = {0, 0, 0};
    rc = pristine_image(sb->engine, &image, &image_size);
    if (rc == 0)
        rc = build_payload(&w, sb, image, image_size, &where);
    /* Secrets are looked for in the pages as they are, before they become
     * deltas that would hide them. */
    int leak = rc == 0 ? cloche__network_check_leak(sb, w.data, w.len) : 0;
    if (rc == 0 && leak == 0) {
        cloche__snap_delta_pages(w.data, &where, image, image_size);
        rc = compress_into(out, out_len, &w, o);
    }
    free(w.data);
    cloche__release(sb);
    if (leak) /* its own message */
        return leak;
    return rc ? cloche__fail(sb, rc, "writing the snapshot failed") : 0;
}

/* --- restoring ----------------------------------------------------------------- */

/* Check the header and digest; decompress the payload (malloc'd). */
static int open_snapshot(cloche_sandbox *sb, const uint8_t *snap, size_t len,
                         const cloche_snapshot_options *o, uint8_t **payload,
                         size_t *payload_len) {
    if (!snap || len < HEADER_LEN)
        return cloche__fail(sb, CLOCHE_ETRUNCATED, "shorter than a header");
    cloche__reader r;
    cloche__reader_init(&r, snap, HEADER_LEN);
    const uint8_t *magic = cloche__get(&r, 8);
    uint32_t format = cloche__get_u32(&r), flags = cloche__get_u32(&r);
    const uint8_t *id = cloche__get(&r, BUILD_ID_LEN);
    uint64_t raw_len = cloche__get_u64(&r), comp_len = cloche__get_u64(&r);
    uint8_t want_id[BUILD_ID_LEN];
    build_id_field(want_id);
    if (memcmp(magic, MAGIC, 8) != 0 || format != CLOCHE__IMAGE_FORMAT ||
        flags > FLAG_HMAC)
        return cloche__fail(sb, CLOCHE_EFORMAT, "not an image snapshot");
    if (memcmp(id, want_id, BUILD_ID_LEN) != 0)
        return cloche__fail(sb, CLOCHE_EBUILD, "made by guest build %.32s",
                            (const char *)id);
    if (comp_len > len - HEADER_LEN)
        return cloche__fail(sb, CLOCHE_ETRUNCATED, "payload is cut short");
    if (comp_len < len - HEADER_LEN)
        return cloche__fail(sb, CLOCHE_ECORRUPT, "trailing bytes");
    uint64_t cap = (uint64_t)sb->limits[CLOCHE_LIMIT_MEMORY] + PAYLOAD_SLACK;
    if (raw_len > cap)
        return cloche__fail(sb, CLOCHE_ETOOBIG, "payload larger than allowed");
    if (!(flags & FLAG_HMAC) != !o->key)
        return cloche__fail(sb, CLOCHE_EAUTH,
                            o->key ? "snapshot is not signed"
                                   : "snapshot is signed: a key is needed");
    uint8_t digest[CLOCHE__DIGEST_LEN];
    if (header_digest(digest, snap, (size_t)comp_len, o) != 0)
        return cloche__fail(sb, CLOCHE_ENOMEM, "out of memory");
    if (!cloche__digest_equal(digest, snap + HEADER_SIGNED))
        return cloche__fail(sb, o->key ? CLOCHE_EAUTH : CLOCHE_ECORRUPT,
                            o->key ? "HMAC mismatch (wrong key or altered)"
                                   : "checksum mismatch");
    uint8_t *raw = malloc(raw_len ? (size_t)raw_len : 1);
    if (!raw)
        return cloche__fail(sb, CLOCHE_ENOMEM, "out of memory");
    size_t got = ZSTD_decompress(raw, (size_t)raw_len, snap + HEADER_LEN,
                                 (size_t)comp_len);
    if (ZSTD_isError(got) || got != raw_len) {
        free(raw);
        return cloche__fail(sb, CLOCHE_ECORRUPT, "payload does not inflate");
    }
    *payload = raw;
    *payload_len = (size_t)raw_len;
    return 0;
}

/* Apply a parsed payload to the sandbox's fresh instance. */
static int apply_payload(cloche_sandbox *sb, const cloche__snap_memory *mem,
                         const uint8_t *wasi, size_t wasi_len,
                         cloche__reader *run) {
    const uint8_t *image;
    uint64_t image_size;
    int rc = pristine_image(sb->engine, &image, &image_size);
    if (rc == 0)
        rc = cloche__snap_apply_memory(sb, mem, image, image_size);
    int werr = rc == 0 ? cloche__wasi_load(sb->wasi, wasi, wasi_len) : 0;
    if (werr == CLOCHE__ENOSPC || werr == CLOCHE__EDQUOT)
        rc = cloche__fail(sb, CLOCHE_ETOOBIG, "snapshot files exceed the "
                                              "filesystem quota");
    else if (werr == CLOCHE__ENOMEM)
        rc = cloche__fail(sb, CLOCHE_ENOMEM, "out of memory");
    else if (werr != 0)
        rc = cloche__fail(sb, CLOCHE_ECORRUPT, "bad filesystem state");
    if (rc == 0)
        rc = cloche__snap_apply_run(sb, run); /* sets its own message */
    if (rc == 0 && run->at != run->len)
        rc = cloche__fail(sb, CLOCHE_ECORRUPT, "trailing payload bytes");
    return rc;
}

/* Start the implementations of restored calls that have no answer yet. */
static void restart_calls(cloche_sandbox *sb) {
    size_t n = cloche__hub_count(sb->hub);
    cloche_call **calls = malloc((n ? n : 1) * sizeof *calls);
    if (!calls)
        return; /* they stay pending for the embedder to answer */
    size_t got = 0;
    for (size_t i = 0; i < n; i++)
        if ((calls[got] = cloche__hub_at(sb->hub, i)))
            got++;
    for (size_t i = 0; i < got; i++) /* may complete calls: list first */
        cloche__restart_call(sb, calls[i]);
    free(calls);
}

/* Parse the payload's sections without touching the sandbox. */
static int parse_payload(cloche_sandbox *sb, const uint8_t *raw, size_t len,
                         cloche__snap_memory *mem, const uint8_t **wasi,
                         size_t *wasi_len, cloche__reader *run) {
    cloche__reader r;
    cloche__reader_init(&r, raw, len);
    if (cloche__snap_read_memory(&r, mem) != 0)
        return cloche__fail(sb, CLOCHE_ECORRUPT, "bad memory section");
    *wasi = cloche__get_blob(&r, wasi_len);
    if (r.failed)
        return cloche__fail(sb, CLOCHE_ECORRUPT, "bad filesystem section");
    cloche__reader_init(run, raw + r.at, len - r.at);
    return 0;
}

/* Build the snapshot's state on a fresh instance; on failure put the old
 * instance back exactly as it was. */
static int swap_in(cloche_sandbox *sb, const cloche__snap_memory *mem,
                   const uint8_t *wasi, size_t wasi_len, cloche__reader *run) {
    cloche_sandbox old = *sb; /* the instance and run fields we may restore */
    cloche__hub *hub = NULL;
    int rc = cloche__hub_new(&hub);
    if (rc != 0)
        return cloche__fail(sb, rc, "out of memory");
    sb->store = NULL;
    sb->wasi = NULL;
    sb->vfs = NULL;
    sb->hub = hub;
    sb->run_result = NULL;
    sb->run_state = CLOCHE__RUN_IDLE;
    sb->sync_reply = NULL;
    sb->sync_reply_len = 0;
    rc = cloche__sandbox_instantiate(sb);
    if (rc == 0)
        rc = apply_payload(sb, mem, wasi, wasi_len, run);
    if (rc != 0) {
        char msg[CLOCHE__ERRMSG_MAX];
        memcpy(msg, sb->errmsg, sizeof msg);
        cloche__sandbox_teardown(sb);
        cloche__hub_detach(sb->hub);
        *sb = old;
        memcpy(sb->errmsg, msg, sizeof msg);
        return rc;
    }
    sb->configured = ~0u; /* the image's table may differ: reinstall */
    cloche__sandbox_teardown(&old);
    cloche__hub_detach(old.hub);
    free(old.sync_reply);
    restart_calls(sb);
    return 0;
}

int cloche_snapshot_restore(cloche_sandbox *sb, const uint8_t *data,
                            size_t len, const cloche_snapshot_options *options) {
    cloche_snapshot_options defaults = CLOCHE_SNAPSHOT_OPTIONS_INIT;
    const cloche_snapshot_options *o = options ? options : &defaults;
    if (!sb || !check_options(o))
        return cloche__fail(sb, CLOCHE_EINVAL, "bad arguments or options");
    int rc = cloche__acquire(sb, -1);
    if (rc != 0)
        return rc;
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    rc = open_snapshot(sb, data, len, o, &raw, &raw_len);
    cloche__snap_memory mem;
    const uint8_t *wasi = NULL;
    size_t wasi_len = 0;
    cloche__reader run;
    if (rc == 0)
        rc = parse_payload(sb, raw, raw_len, &mem, &wasi, &wasi_len, &run);
    if (rc == 0)
        rc = swap_in(sb, &mem, wasi, wasi_len, &run);
    free(raw);
    cloche__release(sb);
    return rc;
}
