/*
 * fuzz_record.c - the JSON boundary: the result record a run's guest hands
 * the host, read the way cloche_run reads it, and the result turned into
 * JSON. See fuzz/README.md.
 *
 * Input: byte 0 picks the caps (stdout/stderr limits of 0..255 bytes, or
 * large ones; the same cap for images); the rest is the record as the
 * guest writes it (u32 status, then per field a u32 length or absent, and
 * its bytes; the sixth field holds images). 0x01 in it stands
 * for a secret's value, which the sandbox must never let out. Checked:
 *   - the record is refused or taken; taken fields respect their caps
 *     (plus the cut marker);
 *   - cloche_result_to_json gives valid, ASCII-only JSON that parses back,
 *     with no copy of the secret anywhere - not even through the value's
 *     own JSON escapes (the host decodes that JSON);
 *   - images kept are sound PNGs within the count and byte caps, and
 *     none holds the secret's value;
 *   - nothing leaks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "images.h"
#include "internal.h"
#include "net/net.h"

#define VALUE "SECRETvalue0123456789"
#define PH "CLOCHE_placeholder_0x"

static void check(int ok)
{
    if (!ok)
        abort();
}

static cloche__net *g_net;

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    static const cloche__net_rule hosts[] = {{"api.example.com", 443}};
    static const cloche__net_secret secret = {"KEY", VALUE, PH, hosts, 1};
    cloche__net_policy p = {.allow = hosts, .nallow = 1, .secrets = &secret,
                            .nsecrets = 1};
    check(cloche__net_new(&g_net, &p) == 0);
    return 0;
}

static int has_value(const char *s, size_t len)
{
    size_t vl = strlen(VALUE);
    for (size_t i = 0; i + vl <= len; i++)
        if (memcmp(s + i, VALUE, vl) == 0)
            return 1;
    return 0;
}

/* Kept images: each a sound PNG, within the count and byte caps. */
static void images_within_caps(const cloche_result *r, int64_t cap)
{
    uint64_t total = 0;
    size_t n = cloche_result_image_count(r);
    check(n <= CLOCHE_MAX_IMAGES);
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        const uint8_t *p = cloche_result_image(r, i, &len, NULL);
        check(p != NULL && cloche__png_valid(p, len));
        check(!has_value((const char *)p, len));
        total += len;
    }
    check(total <= (uint64_t)cap);
}

/* Every string and key in j, decoded: none holds the value. */
static void no_value_inside(json_t *j)
{
    const char *key;
    json_t *v;
    size_t i;
    switch (json_typeof(j)) {
    case JSON_STRING:
        check(!has_value(json_string_value(j), json_string_length(j)));
        break;
    case JSON_OBJECT:
        json_object_foreach(j, key, v) {
            check(!has_value(key, strlen(key)));
            no_value_inside(v);
        }
        break;
    case JSON_ARRAY:
        json_array_foreach(j, i, v) no_value_inside(v);
        break;
    default:
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (!g_net)
        LLVMFuzzerInitialize(NULL, NULL);
    /* expand 0x01 into the value */
    size_t vl = strlen(VALUE), n = 0;
    uint8_t *rec = malloc((size - 1) * vl + 1);
    check(rec != NULL);
    for (size_t i = 1; i < size; i++) {
        if (data[i] == 1) {
            memcpy(rec + n, VALUE, vl);
            n += vl;
        } else {
            rec[n++] = data[i];
        }
    }
    static cloche_sandbox sb;
    memset(&sb, 0, sizeof sb);
    int64_t cap = data[0] & 0x80 ? (int64_t)1 << 30 : data[0] & 0x7f;
    sb.limits[CLOCHE_LIMIT_STDOUT] = cap;
    sb.limits[CLOCHE_LIMIT_STDERR] = cap;
    sb.limits[CLOCHE_LIMIT_IMAGES] = cap;
    sb.net = g_net;
    sb.net_has_secrets = 1;
    uint32_t status = 0;
    cloche__span f[CLOCHE__RECORD_FIELDS];
    cloche_result *r = cloche__result_new();
    check(r != NULL);
    if (cloche__record_split(rec, n, &status, f) == 0 &&
        cloche__result_fill(r, status, f, &sb) == 0) {
        check(cloche__result_scrub(r, &sb) == 0);
        images_within_caps(r, cap);
        char *text = cloche_result_to_json(r);
        check(text != NULL);
        for (const char *c = text; *c; c++)
            check((unsigned char)*c < 0x80);
        check(!has_value(text, strlen(text)));
        json_error_t err;
        json_t *j = json_loads(text, 0, &err);
        check(j != NULL);
        no_value_inside(j);
        json_decref(j);
        free(text);
    }
    cloche_result_free(r);
    free(rec);
    return 0;
}
