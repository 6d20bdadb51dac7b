/*
 * cloche_result: the immutable outcome of a run, its accessors, the parser
 * for the guest's result record and the JSON rendering (jansson).
 *
 * The record parser trusts nothing: lengths are checked against the record
 * size, strings are copied and NUL-terminated, and a malformed record
 * fails as a whole. Only what fits the output caps is copied out of the
 * guest (the value under the stdout cap, the exception text under the
 * stderr cap, the exception type under NAME_CAP); a cut text ends in a
 * marker saying how much was cut, and a value JSON over the cap is
 * dropped whole (a cut JSON text would not parse). The sixth field, the
 * run's images, is images.c's to check and copy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "images.h"
#include "internal.h"
#include "net/net.h"

#define RECORD_FIELDS 5 /* the text fields; then the images field */
#define FIELD_ABSENT 0xFFFFFFFFu
#define NAME_CAP 256 /* bytes of an exception type's name */

struct cloche_result {
    cloche_outcome outcome;
    cloche_limit limit;
    char *out, *err; /* captured output, always non-NULL after set_output */
    size_t out_len, err_len;
    char *fields[RECORD_FIELDS]; /* value_repr, value_json, exc_type,
                                    exc_message, traceback */
    char *detail;
    uint64_t duration_ns, fuel, memory;
    uint64_t cut; /* bytes of the fields the caps left out */
    cloche__images images;
    uint64_t image_cap; /* CLOCHE_LIMIT_IMAGES when they were taken */
};

enum { F_REPR, F_JSON, F_EXC_TYPE, F_EXC_MSG, F_TRACEBACK, F_IMAGES };

cloche_result *cloche__result_new(void) {
    return calloc(1, sizeof(cloche_result));
}

void cloche_result_free(cloche_result *r) {
    if (!r)
        return;
    free(r->out);
    free(r->err);
    for (int i = 0; i < RECORD_FIELDS; i++)
        free(r->fields[i]);
    free(r->detail);
    cloche__images_free(&r->images);
    free(r);
}

void cloche_string_free(char *s) { free(s); }

static char *dup_bytes(const void *p, size_t n) {
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

int cloche__record_split(const uint8_t *rec, size_t len, uint32_t *status,
                         cloche__span fields[CLOCHE__RECORD_FIELDS]) {
    if (len < 4)
        return -1;
    *status = cloche__load_u32(rec);
    size_t at = 4;
    for (int i = 0; i < CLOCHE__RECORD_FIELDS; i++) {
        fields[i].data = NULL;
        fields[i].len = 0;
        if (len - at < 4)
            return -1;
        uint32_t n = cloche__load_u32(rec + at);
        at += 4;
        if (n == FIELD_ABSENT)
            continue;
        if (n > len - at)
            return -1;
        fields[i].data = rec + at;
        fields[i].len = n;
        at += n;
    }
    return at == len ? 0 : -1;
}

size_t cloche__utf8_keep(const uint8_t *p, size_t len, size_t cap) {
    if (len <= cap)
        return len;
    size_t k = cap;
    for (int i = 0; i < 3 && k > 0 && (p[k] & 0xC0) == 0x80; i++)
        k--;
    return k;
}

char *cloche__scrub_cut(const cloche_sandbox *sb, const uint8_t *p,
                       size_t keep, size_t *len) {
    *len = keep;
    if (!sb->net_has_secrets)
        return dup_bytes(p, keep);
    cloche__net_scrubber *s = NULL;
    const uint8_t *clean = NULL;
    char *out = NULL;
    if (cloche__net_scrubber_new(&s, sb->net) == 0 &&
        cloche__net_scrubber_feed(s, p, keep, &clean, len) == 0)
        out = dup_bytes(clean ? (const char *)clean : "", *len);
    cloche__net_scrubber_free(s);
    return out;
}

/* Append "[cloche: N more bytes cut: over the <cap> cap of C bytes]". */
static char *add_marker(char *text, size_t len, uint64_t cut,
                        const char *cap_name, uint64_t cap) {
    char mark[160];
    int m = snprintf(mark, sizeof mark,
                     "[cloche: %llu more bytes cut: over the %s cap of %llu "
                     "bytes]",
                     (unsigned long long)cut, cap_name,
                     (unsigned long long)cap);
    char *t = text ? realloc(text, len + (size_t)m + 1) : NULL;
    if (!t) {
        free(text);
        return NULL;
    }
    memcpy(t + len, mark, (size_t)m + 1);
    return t;
}

/* The cap on one record field, and what it is called in the marker. */
static uint64_t field_cap(const cloche_sandbox *sb, int field,
                          const char **name) {
    *name = field == F_EXC_TYPE ? "name"
            : field <= F_JSON   ? "stdout"
                                : "stderr";
    if (field == F_EXC_TYPE)
        return NAME_CAP;
    int64_t v = sb->limits[field <= F_JSON ? CLOCHE_LIMIT_STDOUT
                                           : CLOCHE_LIMIT_STDERR];
    return v > 0 ? (uint64_t)v : 0;
}

/* Copy one field out of the guest, at most its cap (see the top). */
static int take_field(cloche_result *r, const cloche_sandbox *sb, int i,
                      const cloche__span *f) {
    const char *cap_name;
    uint64_t cap = field_cap(sb, i, &cap_name);
    if (f->len <= cap)
        return (r->fields[i] = dup_bytes(f->data, f->len)) ? 0 : -1;
    if (i == F_JSON) {
        r->cut += f->len;
        return 0;
    }
    size_t keep = cloche__utf8_keep(f->data, f->len, (size_t)cap), n;
    char *text = cloche__scrub_cut(sb, f->data, keep, &n);
    r->fields[i] = add_marker(text, n, f->len - keep, cap_name, cap);
    r->cut += f->len - keep;
    return r->fields[i] ? 0 : -1;
}

/* An image holding a secret's value verbatim must not leave; a PNG
 * cannot be scrubbed in place (chunk lengths and CRCs), so it is dropped. */
static int image_holds_secret(const void *ud, const uint8_t *p, size_t n) {
    const cloche_sandbox *sb = ud;
    if (!sb->net_has_secrets)
        return 0;
    char *clean = NULL;
    size_t m = 0;
    if (cloche__scrub_copy(sb, p, n, &clean, &m) != 0)
        return 1; /* out of memory: refuse rather than risk it */
    int differs = m != n || memcmp(clean, p, n) != 0;
    free(clean);
    return differs;
}

static int take_images(cloche_result *r, const cloche_sandbox *sb,
                       const cloche__span *f) {
    int64_t cap = sb->limits[CLOCHE_LIMIT_IMAGES];
    r->image_cap = cap > 0 ? (uint64_t)cap : 0;
    if (!f->data)
        return 0;
    return cloche__images_take(&r->images, f->data, f->len, CLOCHE_MAX_IMAGES,
                               r->image_cap, image_holds_secret, sb,
                               &r->cut) == 0
               ? 0
               : -1;
}

int cloche__result_fill(cloche_result *r, uint32_t status,
                        const cloche__span f[CLOCHE__RECORD_FIELDS],
                        const cloche_sandbox *sb) {
    if (status > 1)
        return -1;
    for (int i = 0; i < RECORD_FIELDS; i++)
        if (f[i].data && take_field(r, sb, i, &f[i]) != 0)
            return -1;
    if (take_images(r, sb, &f[F_IMAGES]) != 0)
        return -1;
    r->outcome = status ? CLOCHE_OUTCOME_EXCEPTION : CLOCHE_OUTCOME_OK;
    return 0;
}

static void set_detail(cloche_result *r, const char *detail) {
    free(r->detail);
    r->detail = detail ? strdup(detail) : NULL;
}

void cloche__result_set_limit(cloche_result *r, cloche_limit limit,
                              const char *detail) {
    r->outcome = CLOCHE_OUTCOME_LIMIT;
    r->limit = limit;
    set_detail(r, detail);
}

void cloche__result_set_crash(cloche_result *r, const char *detail) {
    r->outcome = CLOCHE_OUTCOME_CRASH;
    set_detail(r, detail);
}

void cloche__result_set_cancelled(cloche_result *r) {
    r->outcome = CLOCHE_OUTCOME_CANCELLED;
    r->limit = CLOCHE_LIMIT_NONE;
    set_detail(r, "cancelled by the host");
}

void cloche__result_set_exception(cloche_result *r, const char *type,
                                  const char *message) {
    r->outcome = CLOCHE_OUTCOME_EXCEPTION;
    free(r->fields[F_EXC_TYPE]);
    free(r->fields[F_EXC_MSG]);
    r->fields[F_EXC_TYPE] = strdup(type);
    r->fields[F_EXC_MSG] = strdup(message);
}

/* stderr ends in a line per reason images were left out (images.c). */
static char *with_image_marker(const cloche_result *r, const uint8_t *p,
                               size_t n, size_t *len) {
    char mark[400];
    size_t m = cloche__images_marker(&r->images, r->image_cap, mark,
                                     sizeof mark);
    int newline = m && n && p[n - 1] != '\n';
    char *s = malloc(n + (size_t)newline + m + 1);
    if (s) {
        if (n)
            memcpy(s, p, n);
        if (newline)
            s[n] = '\n';
        memcpy(s + n + (size_t)newline, mark, m + 1);
    }
    *len = n + (size_t)newline + m;
    return s;
}

int cloche__result_set_output(cloche_result *r, const cloche__wasi *wasi) {
    size_t n;
    const uint8_t *p = cloche__wasi_output(wasi, 1, &n);
    r->out = dup_bytes(p ? (const void *)p : "", p ? n : 0);
    r->out_len = p ? n : 0;
    p = cloche__wasi_output(wasi, 2, &n);
    r->err = with_image_marker(r, p, p ? n : 0, &r->err_len);
    return (r->out && r->err) ? 0 : -1;
}

/* Scrub captured output; output the cap cut mid-way may end in the start
 * of a value, which a whole-text scrub would miss. */
static int scrub_output(const cloche_sandbox *sb, char **text, size_t *len,
                        int was_cut) {
    if (!was_cut || !sb->net_has_secrets)
        return cloche__scrub(sb, text, len);
    size_t n;
    char *clean = cloche__scrub_cut(sb, (const uint8_t *)*text, *len, &n);
    if (!clean)
        return CLOCHE_ENOMEM;
    OPENSSL_cleanse(*text, *len);
    free(*text);
    *text = clean;
    *len = n;
    return 0;
}

/* A string or key decoded, scrubbed, as a new JSON string (NULL: out of
 * memory; a placeholder that is not UTF-8 gives a marker string). */
static json_t *scrubbed_string(const cloche_sandbox *sb, const char *s,
                               size_t len) {
    char *clean = NULL;
    size_t n = 0;
    if (cloche__scrub_copy(sb, s, len, &clean, &n) != 0)
        return NULL;
    json_t *j = json_stringn(clean, n);
    OPENSSL_cleanse(clean, n);
    free(clean);
    return j ? j : json_string("<not valid UTF-8>");
}

/* Scrub every string and key of j as the embedder will decode it; returns
 * the new tree (a reference), NULL when out of memory. */
static json_t *scrub_tree(const cloche_sandbox *sb, json_t *j) {
    if (json_is_string(j))
        return scrubbed_string(sb, json_string_value(j), json_string_length(j));
    if (json_is_array(j)) {
        for (size_t i = 0; i < json_array_size(j); i++) {
            json_t *v = scrub_tree(sb, json_array_get(j, i));
            if (!v || json_array_set_new(j, i, v) != 0)
                return NULL;
        }
        return json_incref(j);
    }
    if (!json_is_object(j))
        return json_incref(j);
    json_t *o = json_object();
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v) {
        json_t *k = scrubbed_string(sb, key, strlen(key));
        json_t *sv = k ? scrub_tree(sb, v) : NULL;
        int bad = !sv || !o ||
                  json_object_set_new(o, json_string_value(k), sv) != 0;
        json_decref(k);
        if (bad) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

/*
 * The value's JSON is decoded by whoever reads it (cloche_result_to_json
 * too): a value could hide in its escapes (a letter written as a
 * backslash-u escape), which a scrub of the text would miss. So scrub the
 * decoded strings and keys and write the JSON again. Text that does not
 * parse is left to the plain scrub (nothing will decode it).
 */
static int scrub_json_field(const cloche_sandbox *sb, char **text) {
    if (!sb->net_has_secrets || !*text)
        return 0;
    json_t *j = json_loads(*text, JSON_DECODE_ANY, NULL);
    if (!j)
        return 0;
    json_t *clean = scrub_tree(sb, j);
    json_decref(j);
    char *out = clean ? json_dumps(clean, JSON_COMPACT | JSON_ENCODE_ANY |
                                              JSON_ENSURE_ASCII)
                      : NULL;
    json_decref(clean);
    if (!out)
        return CLOCHE_ENOMEM;
    OPENSSL_cleanse(*text, strlen(*text));
    free(*text);
    *text = out;
    return 0;
}

int cloche__result_scrub(cloche_result *r, const cloche_sandbox *sb) {
    int tripped = sb->wasi ? cloche__wasi_output_tripped(sb->wasi) : 0;
    int rc = scrub_output(sb, &r->out, &r->out_len, tripped == 1);
    if (rc == 0)
        rc = scrub_output(sb, &r->err, &r->err_len, tripped == 2);
    if (rc == 0)
        rc = scrub_json_field(sb, &r->fields[F_JSON]);
    for (int i = 0; rc == 0 && i < RECORD_FIELDS; i++) {
        size_t len = r->fields[i] ? strlen(r->fields[i]) : 0;
        rc = cloche__scrub(sb, &r->fields[i], &len);
    }
    return rc;
}

void cloche__result_set_stats(cloche_result *r, uint64_t duration_ns,
                              uint64_t fuel_used, uint64_t memory_bytes) {
    r->duration_ns = duration_ns;
    r->fuel = fuel_used;
    r->memory = memory_bytes;
}

int cloche__result_is_exception(const cloche_result *r, const char *type) {
    return r->outcome == CLOCHE_OUTCOME_EXCEPTION && r->fields[F_EXC_TYPE] &&
           strcmp(r->fields[F_EXC_TYPE], type) == 0;
}

/* --- accessors ----------------------------------------------------------- */

cloche_outcome cloche_result_outcome(const cloche_result *r) {
    return r->outcome;
}
cloche_limit cloche_result_limit(const cloche_result *r) { return r->limit; }

const char *cloche_result_stdout(const cloche_result *r, size_t *len) {
    if (len)
        *len = r->out_len;
    return r->out ? r->out : "";
}

const char *cloche_result_stderr(const cloche_result *r, size_t *len) {
    if (len)
        *len = r->err_len;
    return r->err ? r->err : "";
}

const char *cloche_result_value_repr(const cloche_result *r) {
    return r->fields[F_REPR];
}
const char *cloche_result_value_json(const cloche_result *r) {
    return r->fields[F_JSON];
}
const char *cloche_result_exception_type(const cloche_result *r) {
    return r->fields[F_EXC_TYPE];
}
const char *cloche_result_exception_message(const cloche_result *r) {
    return r->fields[F_EXC_MSG];
}
const char *cloche_result_traceback(const cloche_result *r) {
    return r->fields[F_TRACEBACK];
}
const char *cloche_result_detail(const cloche_result *r) { return r->detail; }
uint64_t cloche_result_duration_ns(const cloche_result *r) {
    return r->duration_ns;
}
uint64_t cloche_result_fuel_used(const cloche_result *r) { return r->fuel; }
uint64_t cloche_result_memory_bytes(const cloche_result *r) {
    return r->memory;
}
uint64_t cloche_result_bytes_cut(const cloche_result *r) { return r->cut; }

size_t cloche_result_image_count(const cloche_result *r) {
    return r->images.count;
}

const uint8_t *cloche_result_image(const cloche_result *r, size_t i,
                                   size_t *len, const char **mime) {
    int in = i < r->images.count;
    if (len)
        *len = in ? r->images.items[i].len : 0;
    if (mime)
        *mime = "image/png";
    return in ? r->images.items[i].data : NULL;
}

size_t cloche_result_images_dropped(const cloche_result *r) {
    return cloche__images_dropped(&r->images);
}

const char *cloche_outcome_name(cloche_outcome o) {
    static const char *const names[] = {"ok", "exception", "limit", "crash",
                                        "cancelled"};
    return (unsigned)o < 5 ? names[o] : "unknown";
}

const char *cloche_limit_name(cloche_limit l) {
    static const char *const names[] = {
        "none",   "timeout",   "fuel",     "memory",           "stdout",
        "stderr", "callbacks", "callback_timeout", "callback_payload",
        "trace",  "images"};
    return (unsigned)l < CLOCHE_LIMIT__COUNT ? names[l] : "unknown";
}

/* --- JSON ---------------------------------------------------------------- */

static json_t *bytes_str(const char *s, size_t n) {
    /* Guest-supplied bytes may be invalid UTF-8, which jansson rejects. */
    json_t *j = json_stringn(s, n);
    return j ? j : json_string("<not valid UTF-8>");
}

static json_t *str_or_null(const char *s) {
    return s ? bytes_str(s, strlen(s)) : json_null();
}

static json_t *value_json(const cloche_result *r) {
    if (!r->fields[F_JSON])
        return json_null();
    json_t *v = json_loads(r->fields[F_JSON], JSON_DECODE_ANY, NULL);
    return v ? v : json_null();
}

static json_t *exception_json(const cloche_result *r) {
    if (!r->fields[F_EXC_TYPE])
        return json_null();
    return json_pack("{s:o, s:o, s:o}", "type", str_or_null(r->fields[F_EXC_TYPE]),
                     "message", str_or_null(r->fields[F_EXC_MSG]),
                     "traceback", str_or_null(r->fields[F_TRACEBACK]));
}

char *cloche_result_to_json(const cloche_result *r) {
    json_t *o = json_pack(
        "{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:f, s:I, s:I, s:I, s:o, "
        "s:I}",
        "outcome",
        cloche_outcome_name(r->outcome), "stdout",
        bytes_str(cloche_result_stdout(r, NULL), r->out_len), "stderr",
        bytes_str(cloche_result_stderr(r, NULL), r->err_len), "value",
        value_json(r), "value_repr", str_or_null(r->fields[F_REPR]),
        "exception", exception_json(r), "limit",
        r->limit ? json_string(cloche_limit_name(r->limit)) : json_null(),
        "detail", str_or_null(r->detail), "duration_ms",
        (double)r->duration_ns / 1e6, "memory", (json_int_t)r->memory, "fuel",
        (json_int_t)r->fuel, "cut", (json_int_t)r->cut, "images",
        cloche__images_json(&r->images), "images_dropped",
        (json_int_t)cloche__images_dropped(&r->images));
    if (!o)
        return NULL;
    char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(o);
    return s;
}
