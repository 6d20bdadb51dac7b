/*
 * fuzz_http.c - the HTTP/1.x framing of connections that carry a secret
 * (src/net/http.c, http_resp.c), against an oracle. See fuzz/README.md.
 *
 * Input: 4 bytes of settings, then a byte stream in which 0x01 stands for
 * the secret (its value on the response side, its placeholder on the
 * request side), 0x02 k for the first k bytes of it and 0x03 k for the
 * rest from k, so the fuzzer can place and cut a secret with a byte or
 * two. Settings: [0] requests queued before the responses (low 6 bits) and
 * the side (bit 7: request side); [1] which of them are HEAD (bit i); [2]
 * seed of the piece sizes the stream is fed in; [3] bit 0: lulls (the
 * short held tail released as after 20 ms), bit 1: no EOF at the end.
 *
 * Response side, checked: whatever the parser accepts, each part the guest
 * can take out of what it passed on - a head, a body with its chunked
 * framing removed, a trailer section - holds no copy of the value (a value
 * spread over several parts is a server transforming it: not caught, by
 * design). Request side: the value reaches the wire only inside header
 * values of request heads, as an independent parse of the wire finds them.
 * Both: no crash, no sanitizer report, every allocation freed.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/net_int.h"

#define VALUE "sk-FUZZ-secret-0123456789"
#define PH "CLOCHE_FUZZ_placeholder_0"
#define MAX_OUT (64u << 20)

static void check(int ok)
{
    if (!ok)
        abort();
}

static const uint8_t *find(const uint8_t *p, size_t len, const char *s,
                           size_t sl)
{
    if (sl == 0 || len < sl)
        return NULL;
    for (size_t i = 0; i + sl <= len; i++)
        if (p[i] == (uint8_t)s[0] && memcmp(p + i, s, sl) == 0)
            return p + i;
    return NULL;
}

static int has(const uint8_t *p, size_t len, const char *s)
{
    return find(p, len, s, strlen(s)) != NULL;
}

/* Expand the input's secret codes into buf. */
static void expand(cloche__net_buf *buf, const uint8_t *in, size_t len,
                   const char *secret)
{
    size_t sl = strlen(secret);
    for (size_t i = 0; i < len; i++) {
        const char *p = (const char *)&in[i];
        size_t n = 1;
        if (in[i] == 1) {
            p = secret;
            n = sl;
        } else if ((in[i] == 2 || in[i] == 3) && i + 1 < len) {
            size_t k = in[++i] % sl;
            p = in[i - 1] == 2 ? secret : secret + k;
            n = in[i - 1] == 2 ? k : sl - k;
        }
        check(cloche__net_buf_append(buf, (const uint8_t *)p, n) == 0);
    }
}

/* ---- an independent reader of what the guest gets ------------------------ */

typedef struct cursor {
    const uint8_t *p;
    size_t len, at;
} cursor;

/* The next line (without CRLF/LF); 0 if there is none. */
static int line(cursor *c, const uint8_t **l, size_t *n)
{
    const uint8_t *lf = c->at < c->len
                            ? memchr(c->p + c->at, '\n', c->len - c->at)
                            : NULL;
    if (!lf)
        return 0;
    *l = c->p + c->at;
    *n = (size_t)(lf - *l);
    c->at += *n + 1;
    if (*n && (*l)[*n - 1] == '\r')
        (*n)--;
    return 1;
}

static int ieq(const uint8_t *p, size_t n, const char *s)
{
    size_t sl = strlen(s);
    if (n < sl)
        return 0;
    for (size_t i = 0; i < sl; i++) {
        uint8_t a = p[i] >= 'A' && p[i] <= 'Z' ? (uint8_t)(p[i] + 32) : p[i];
        if (a != (uint8_t)s[i])
            return 0;
    }
    return 1;
}

static uint64_t number(const uint8_t *p, size_t n, int base)
{
    uint64_t v = 0;
    /* as many digits as cloche reads: 18 decimal (Content-Length), 15 hex */
    size_t most = base == 10 ? 18 : 15;
    for (size_t i = 0; i < n && i < most; i++) {
        int d = p[i] >= '0' && p[i] <= '9'   ? p[i] - '0'
                : base == 16 && p[i] >= 'a' && p[i] <= 'f' ? p[i] - 'a' + 10
                : base == 16 && p[i] >= 'A' && p[i] <= 'F' ? p[i] - 'A' + 10
                                                           : -1;
        if (d < 0)
            break;
        v = v * (uint64_t)base + (uint64_t)d;
    }
    return v;
}

/* The value of a "Content-Length:" line, after optional whitespace. */
static uint64_t content_length(const uint8_t *l, size_t n)
{
    size_t k = 15;
    while (k < n && (l[k] == ' ' || l[k] == '\t'))
        k++;
    return number(l + k, n - k, 10);
}

/* One response; 0 when the output ends or cannot be read further. */
static int one_response(cursor *c, int head_req, cloche__net_buf *part)
{
    const uint8_t *l;
    size_t n, start = c->at;
    int status = 0, chunked = 0, has_len = 0;
    uint64_t length = 0;
    do {
        /* an interim (1xx) head's framing fields say nothing about the
         * final answer's body (found by fuzz_http: a 100 with
         * Content-Length made this reader mis-frame a 200 without one) */
        chunked = has_len = 0;
        length = 0;
        do { /* empty lines may come before a status line */
            if (!line(c, &l, &n))
                return 0;
            start = n ? start : c->at;
        } while (n == 0);
        status = n >= 12 ? (int)number(l + 9, 3, 10) : 0;
        while (line(c, &l, &n) && n) {
            if (ieq(l, n, "transfer-encoding:"))
                chunked = 1;
            if (ieq(l, n, "content-length:")) {
                has_len = 1;
                length = content_length(l, n);
            }
        }
        check(!has(c->p + start, c->at - start, VALUE)); /* the head */
        start = c->at;
    } while (status >= 100 && status < 200);
    if (head_req || status == 204 || status == 304)
        return 1;
    part->len = 0;
    if (chunked) {
        while (line(c, &l, &n)) {
            uint64_t size = number(l, n, 16);
            if (size == 0 || size > c->len - c->at)
                break;
            check(cloche__net_buf_append(part, c->p + c->at, size) == 0);
            c->at += size;
            if (!line(c, &l, &n))
                break;
        }
        size_t t = c->at;
        while (line(c, &l, &n) && n) {
        }
        check(!has(c->p + t, c->at - t, VALUE)); /* trailers */
    } else {
        size_t n2 = has_len && length < c->len - c->at ? (size_t)length
                                                        : c->len - c->at;
        check(cloche__net_buf_append(part, c->p + c->at, n2) == 0);
        c->at += n2;
    }
    check(!has(part->p, part->len, VALUE)); /* the body, as the guest sees it */
    return c->at < c->len;
}

/* ---- the two sides ------------------------------------------------------------ */

typedef struct ctx {
    cloche__net_pat pat;
    cloche__net_patset ps;
    cloche__net_http *h;
    cloche__net_buf out;
} ctx;

static uint32_t next(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 16;
}

static void queue_requests(ctx *x, unsigned nreq, unsigned heads)
{
    cloche__net_buf wire = {.max = MAX_OUT};
    for (unsigned i = 0; i < nreq; i++) {
        const char *r = (heads >> (i % 8)) & 1 ? "HEAD / HTTP/1.1\r\n\r\n"
                                              : "GET / HTTP/1.1\r\n\r\n";
        check(cloche__net_http_send(x->h, &x->ps, (const uint8_t *)r,
                                    strlen(r), 0, &wire, NULL, 0) == 0);
    }
    cloche__net_buf_free(&wire);
}

static void response_side(ctx *x, const uint8_t *s, size_t len,
                          const uint8_t cfg[4])
{
    /* the scrubbing direction: value -> placeholder */
    x->pat = (cloche__net_pat){(const uint8_t *)VALUE, strlen(VALUE),
                               (const uint8_t *)PH, strlen(PH)};
    cloche__net_patset_init(&x->ps, &x->pat, 1, 1);
    queue_requests(x, cfg[0] & 63u, cfg[1]);
    uint32_t seed = cfg[2];
    int rc = 0;
    for (size_t at = 0; at < len && rc == 0;) {
        size_t k = 1 + next(&seed) % 64;
        k = k < len - at ? k : len - at;
        rc = cloche__net_http_recv(x->h, &x->ps, s + at, k, 0, &x->out, NULL,
                                   0);
        at += k;
        if (rc == 0 && (cfg[3] & 1) && next(&seed) % 4 == 0 &&
            cloche__net_http_releasable(x->h)) /* as io.c after a lull */
            rc = cloche__net_http_recv(x->h, &x->ps, NULL, 0,
                                       CLOCHE__NET_FEED_FINAL |
                                           CLOCHE__NET_FEED_CARRY,
                                       &x->out, NULL, 0);
    }
    if (rc == 0 && !(cfg[3] & 2))
        rc = cloche__net_http_recv(x->h, &x->ps, NULL, 0,
                                   CLOCHE__NET_FEED_FINAL |
                                       CLOCHE__NET_FEED_MASK,
                                   &x->out, NULL, 0);
    check(rc == 0 || rc == CLOCHE__NET_EDENIED || rc == CLOCHE__NET_EIO ||
          rc == CLOCHE__NET_ENOMEM);
    check(!has(x->out.p, x->out.len, VALUE));
    cursor c = {x->out.p, x->out.len, 0};
    cloche__net_buf part = {.max = MAX_OUT};
    unsigned nreq = cfg[0] & 63u;
    for (unsigned i = 0; one_response(&c, i < nreq && ((cfg[1] >> (i % 8)) & 1),
                                      &part);
         i++) {
    }
    cloche__net_buf_free(&part);
}

/* The wire, read as requests: a value only inside a header value. */
static void check_wire(const uint8_t *p, size_t len)
{
    cursor c = {p, len, 0};
    const uint8_t *l;
    size_t n;
    while (line(&c, &l, &n)) {
        if (n == 0)
            continue; /* empty lines between requests */
        check(!has(l, n, VALUE)); /* the request line */
        int chunked = 0;
        uint64_t length = 0;
        while (line(&c, &l, &n) && n) {
            const uint8_t *colon = memchr(l, ':', n);
            if (!colon)
                return; /* a released head the parser refused: stop */
            check(!has(l, (size_t)(colon - l), VALUE)); /* the name */
            if (ieq(l, n, "transfer-encoding:"))
                chunked = 1;
            if (ieq(l, n, "content-length:"))
                length = content_length(l, n);
        }
        size_t body = c.at;
        if (chunked) {
            while (line(&c, &l, &n)) {
                uint64_t size = number(l, n, 16);
                if (size == 0 || size > c.len - c.at)
                    break;
                c.at += size;
                if (!line(&c, &l, &n))
                    break;
            }
            while (line(&c, &l, &n) && n) {
            }
        } else {
            c.at += length < c.len - c.at ? (size_t)length : c.len - c.at;
        }
        check(!has(p + body, c.at - body, VALUE)); /* the body */
    }
}

static void request_side(ctx *x, const uint8_t *s, size_t len,
                         const uint8_t cfg[4])
{
    /* the substitution direction: placeholder -> value */
    x->pat = (cloche__net_pat){(const uint8_t *)PH, strlen(PH),
                               (const uint8_t *)VALUE, strlen(VALUE)};
    cloche__net_patset_init(&x->ps, &x->pat, 1, 1);
    if (has(s, len, "sk-FUZZ"))
        return; /* the guest never knows the value */
    uint32_t seed = cfg[2];
    int rc = 0;
    for (size_t at = 0; at < len && rc == 0;) {
        size_t k = 1 + next(&seed) % 64;
        k = k < len - at ? k : len - at;
        int release = (cfg[3] & 1) && next(&seed) % 8 == 0;
        rc = cloche__net_http_send(x->h, &x->ps, s + at, k, release, &x->out,
                                   NULL, 0);
        at += k;
    }
    check(rc == 0 || rc == CLOCHE__NET_EDENIED || rc == CLOCHE__NET_ENOMEM);
    check_wire(x->out.p, x->out.len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    long live = cloche__net_alloc_live();
    ctx x = {.out = {.max = MAX_OUT}};
    cloche__net_buf stream = {.max = MAX_OUT};
    int req = (data[0] & 0x80) != 0;
    expand(&stream, data + 4, size - 4, req ? PH : VALUE);
    check(cloche__net_http_new(&x.h) == 0);
    if (req)
        request_side(&x, stream.p, stream.len, data);
    else
        response_side(&x, stream.p, stream.len, data);
    cloche__net_http_free(x.h);
    cloche__net_buf_free(&x.out);
    cloche__net_buf_free(&stream);
    check(cloche__net_alloc_live() == live);
    return 0;
}
