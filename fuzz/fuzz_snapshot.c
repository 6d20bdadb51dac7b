/*
 * fuzz_snapshot.c - the image snapshot reader (cloche_snapshot_restore),
 * structure-aware. See fuzz/README.md.
 *
 * An input is a snapshot's payload before compression: the MEM section
 * (u64 memory size, u32 n, n page indices, n pages), the WASI blob and the
 * RUN section. The harness seals it as cloche_snapshot_save would (zstd,
 * header with this build's id, SHA-256), so every input reaches the
 * section parsers rather than the checksum, and restores it into a live
 * sandbox. Seeds are real snapshots (LLVMFuzzerInitialize makes one from a
 * sandbox that ran code and suspended on a host call; fuzz/run.sh writes
 * them out with CLOCHE_FUZZ_SEED_DIR: an idle session and a run pending
 * on a host call). The custom mutator works on fields:
 * it sets a length, count, page index, time, counter or limit to an edge
 * value, or mutates the WASI and RUN bytes, and leaves page contents
 * alone. A corpus file "REAL" followed by (field, kind) byte pairs stands
 * for the live snapshot with those edits, so small files replay real cases.
 *
 * Checked: a restore returns 0 or a documented code; after a failure the
 * sandbox runs code as before; after a success, whatever the restored
 * state does when driven or run, a reset gives a sandbox that runs code.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "cloche.h"
#include "digest.h"
#include "internal.h"
#include "snapshot.h"

#define HEADER_SIGNED 64
#define HEADER_LEN 96
#define PAGE 4096u

static cloche_engine *g_engine;
static cloche_sandbox *g_sb;
static uint8_t *g_real; /* the payload of a live snapshot */
static size_t g_real_len;

static void check(int ok)
{
    if (!ok)
        abort();
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Seal a payload into a snapshot this build restores (malloc'd). */
static uint8_t *seal(const uint8_t *raw, size_t len, size_t *out_len)
{
    size_t bound = ZSTD_compressBound(len);
    uint8_t *s = malloc(HEADER_LEN + bound);
    check(s != NULL);
    size_t comp = ZSTD_compress(s + HEADER_LEN, bound, raw, len, 1);
    check(!ZSTD_isError(comp));
    memset(s, 0, HEADER_LEN);
    memcpy(s, "CLOCHEIM", 8);
    put32(s + 8, CLOCHE__IMAGE_FORMAT);
    put32(s + 12, 0);
    const char *id = cloche__guest_build_id();
    memcpy(s + 16, id, strlen(id) < 32 ? strlen(id) : 32);
    put64(s + 48, len);
    put64(s + 56, comp);
    check(cloche__digest2(s + HEADER_SIGNED, NULL, 0, s, HEADER_SIGNED,
                          s + HEADER_LEN, comp) == 0);
    *out_len = HEADER_LEN + comp;
    return s;
}

/* The payload of a sealed snapshot (malloc'd), or NULL. */
static uint8_t *unseal(const uint8_t *s, size_t len, size_t *raw_len)
{
    if (len < HEADER_LEN)
        return NULL;
    *raw_len = (size_t)get(s + 48, 8);
    uint8_t *raw = malloc(*raw_len ? *raw_len : 1);
    check(raw != NULL);
    size_t got = ZSTD_decompress(raw, *raw_len, s + HEADER_LEN,
                                 len - HEADER_LEN);
    check(!ZSTD_isError(got) && got == *raw_len);
    return raw;
}

/* ---- fields of a payload --------------------------------------------------- */

typedef struct field {
    size_t at;
    int width; /* 4 or 8 */
} field;

typedef struct layout {
    field f[96];
    size_t n;
    size_t tail; /* where the WASI blob begins (after the pages) */
} layout;

static void add(layout *l, size_t at, int width, size_t len)
{
    if (l->n < 96 && at + (size_t)width <= len)
        l->f[l->n++] = (field){at, width};
}

/* Find the fields of a payload, as far as it parses. */
static void parse(layout *l, const uint8_t *p, size_t len)
{
    memset(l, 0, sizeof *l);
    if (len < 12)
        return;
    add(l, 0, 8, len); /* memory size */
    add(l, 8, 4, len); /* page count */
    uint64_t n = get(p + 8, 4);
    size_t at = 12;
    for (uint64_t i = 0; i < n && i < 24 && at + 4 <= len; i++)
        add(l, at + i * 4, 4, len); /* the first page indices */
    if (n > (len - 12) / (4 + PAGE))
        return;
    at = 12 + (size_t)n * (4 + PAGE);
    l->tail = at;
    add(l, at, 4, len); /* WASI blob length */
    if (at + 4 > len)
        return;
    uint64_t wl = get(p + at, 4);
    for (size_t k = 0; k < 8; k++)
        add(l, at + 4 + k * 4, 4, len); /* the WASI state's first words */
    if (wl > len - at - 4)
        return;
    at += 4 + (size_t)wl;
    static const int run[] = {4, 8, 8, 8, 4, 8, 8, 8, 4};
    for (size_t k = 0; k < sizeof run / sizeof *run; k++) {
        add(l, at, run[k], len);
        at += (size_t)run[k];
    }
    if (at > len)
        return;
    uint64_t nlimits = get(p + at - 4, 4);
    for (uint64_t k = 0; k < nlimits && k < 16 && at + 8 <= len; k++, at += 8)
        add(l, at, 8, len);
    for (int b = 0; b < 3 && at + 4 <= len; b++) { /* stdout, stderr, calls */
        add(l, at, 4, len);
        at += 4 + (b < 2 ? (size_t)get(p + at, 4) : 0);
    }
    for (size_t k = 0; k < 8; k++)
        add(l, at + k * 4, 4, len); /* the first call's header */
}

static uint64_t edge(uint64_t old, int kind, uint32_t rnd)
{
    switch (kind % 10) {
    case 0: return 0;
    case 1: return 1;
    case 2: return old + 1;
    case 3: return old - 1;
    case 4: return UINT64_MAX;
    case 5: return UINT32_MAX;
    case 6: return (uint64_t)1 << 31;
    case 7: return old * 2;
    case 8: return old + PAGE;
    default: return rnd;
    }
}

static void edit(uint8_t *p, size_t len, unsigned which, int kind,
                 uint32_t rnd)
{
    layout l;
    parse(&l, p, len);
    if (l.n == 0)
        return;
    field f = l.f[which % l.n];
    uint64_t v = edge(get(p + f.at, f.width), kind, rnd);
    if (f.width == 4)
        put32(p + f.at, (uint32_t)v);
    else
        put64(p + f.at, v);
}

/* ---- libFuzzer hooks -------------------------------------------------------- */

/* weak: only libFuzzer has it, and only libFuzzer calls the mutator */
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size)
    __attribute__((weak));
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size,
                               unsigned int seed);
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size,
                               unsigned int seed)
{
    srand(seed);
    layout l;
    parse(&l, data, size);
    if (l.n && rand() % 4 != 0) { /* a field to an edge value */
        for (int k = 1 + rand() % 3; k > 0; k--)
            edit(data, size, (unsigned)rand(), rand(), (uint32_t)rand());
        return size;
    }
    if (l.tail && l.tail < size) /* the WASI and RUN bytes, not the pages */
        return l.tail + LLVMFuzzerMutate(data + l.tail, size - l.tail,
                                         max_size - l.tail);
    return LLVMFuzzerMutate(data, size, max_size);
}

static void run_ok(const char *code)
{
    cloche_result *r = NULL;
    check(cloche_run(&r, g_sb, code, strlen(code)) == 0);
    check(cloche_result_outcome(r) == CLOCHE_OUTCOME_OK);
    cloche_result_free(r);
}

static void write_seed(const char *name, const uint8_t *p, size_t len)
{
    const char *dir = getenv("CLOCHE_FUZZ_SEED_DIR");
    char path[4096];
    if (!dir)
        return;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(p, 1, len, f);
        fclose(f);
    }
}

static uint8_t *payload_of(cloche_sandbox *sb, size_t *len)
{
    uint8_t *snap = NULL;
    size_t n = 0;
    check(cloche_snapshot_save(&snap, &n, sb, NULL) == 0);
    uint8_t *raw = unseal(snap, n, len);
    check(raw != NULL);
    cloche_buffer_free(snap);
    return raw;
}

/* Live snapshots: a session with globals and a file (g_real), and the
 * same suspended on a host call nobody answers (a pending RUN section). */
static void make_real(void)
{
    cloche_sandbox *sb = NULL;
    cloche_sandbox_options o = CLOCHE_SANDBOX_OPTIONS_INIT;
    check(cloche_sandbox_new(&sb, g_engine, &o) == 0);
    cloche_callback_def def = CLOCHE_CALLBACK_DEF_INIT;
    def.name = "tool";
    check(cloche_sandbox_add_callback(sb, &def) == 0);
    cloche_result *r = NULL;
    const char *code = "import json\nkeep = {'a': [1, 2, 3]}\n"
                       "open('/tmp/f.txt', 'w').write('x' * 100)\n";
    check(cloche_run(&r, sb, code, strlen(code)) == 0);
    cloche_result_free(r);
    g_real = payload_of(sb, &g_real_len);
    write_seed("live-session", g_real, g_real_len);
    cloche_step step;
    const char *wait = "print('before')\nx = await tool(a=1)";
    check(cloche_start(&step, sb, wait, strlen(wait)) == 0 &&
          step == CLOCHE_STEP_PENDING);
    size_t len = 0;
    uint8_t *pending = payload_of(sb, &len);
    write_seed("live-pending", pending, len);
    free(pending);
    cloche_sandbox_free(sb);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    cloche_engine_options eo = CLOCHE_ENGINE_OPTIONS_INIT;
    eo.enable_fuel = 1;
    check(cloche_engine_new(&g_engine, &eo, NULL, 0) == 0);
    cloche_sandbox_options o = CLOCHE_SANDBOX_OPTIONS_INIT;
    o.timeout_ms = 2000;
    o.fuel = 200000000;
    check(cloche_sandbox_new(&g_sb, g_engine, &o) == 0);
    make_real();
    return 0;
}

/* "REAL" + (field, kind) pairs: the live payload with those edits. */
static uint8_t *expand_real(const uint8_t *data, size_t size, size_t *len)
{
    uint8_t *p = malloc(g_real_len);
    check(p != NULL);
    memcpy(p, g_real, g_real_len);
    for (size_t i = 4; i + 1 < size; i += 2)
        edit(p, g_real_len, data[i], data[i + 1], 0x5eed);
    *len = g_real_len;
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_engine)
        LLVMFuzzerInitialize(NULL, NULL);
    uint8_t *raw = NULL;
    if (size >= 4 && memcmp(data, "REAL", 4) == 0)
        data = raw = expand_real(data, size, &size);
    size_t len = 0;
    uint8_t *snap = seal(data, size, &len);
    int rc = cloche_snapshot_restore(g_sb, snap, len, NULL);
    free(snap);
    free(raw);
    check(rc == 0 || rc == CLOCHE_ETRUNCATED || rc == CLOCHE_EFORMAT ||
          rc == CLOCHE_ECORRUPT || rc == CLOCHE_ETOOBIG ||
          rc == CLOCHE_ENOMEM);
    if (rc != 0) {
        run_ok("1"); /* left as it was */
        return 0;
    }
    cloche_result *r = NULL;
    cloche_step step = CLOCHE_STEP_PENDING;
    for (int i = 0; i < 3 && cloche_is_pending(g_sb); i++) {
        /* answer what waits (an error), go on: whatever the restored
         * state then does, the host must take it */
        cloche_call *c;
        for (size_t k = 0; (c = cloche_pending_call(g_sb, k)); k++)
            (void)cloche_call_fail(c, "fuzz");
        if (cloche_resume(&step, g_sb) != 0)
            break;
    }
    if (!cloche_is_pending(g_sb) && step == CLOCHE_STEP_DONE &&
        cloche_finish(&r, g_sb) == 0)
        cloche_result_free(r);
    r = NULL;
    if (!cloche_is_pending(g_sb) && cloche_run(&r, g_sb, "keep", 4) == 0)
        cloche_result_free(r);
    check(cloche_sandbox_reset(g_sb) == 0);
    run_ok("1");
    return 0;
}
