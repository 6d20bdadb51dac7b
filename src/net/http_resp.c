/*
 * http_resp.c - the response side of HTTP/1.x on connections that carry a
 * secret (server -> guest); http.c has the request side and the why.
 *
 * The scrubber must see what the guest will reconstruct, so:
 *
 *   - a status line with its header fields (and a trailer section) is
 *     collected whole, then scrubbed as one piece;
 *   - a body is scrubbed as one stream from its first byte to its last:
 *     a chunked body is decoded first and the scrubbed content re-framed
 *     in chunks of cloche's own sizes, so a server's chunk boundaries can
 *     no longer cut a value in two; at the end of a body the stream is
 *     finished (a value cut off there is masked, as at EOF);
 *   - a body in any content coding but identity, or any transfer coding
 *     but chunked, is refused before a byte of its response reaches the
 *     guest (http.c asks for identity, so only a server that ignores that
 *     gets here); so is a protocol switch (101);
 *   - when a placeholder is not as long as its value, a Content-Length
 *     body of an HTTP/1.1 answer goes to the guest chunked (the head loses
 *     its Content-Length), since scrubbing may change its length;
 *   - what all that passes on goes through one more scrub stream as raw
 *     bytes, because the guest reads raw bytes: a body that ends in the
 *     first bytes of a value, followed by the rest, must not show it
 *     either (found by fuzz_http).
 *
 * Which responses have a body follows RFC 9112: none for 1xx, 204, 304 or
 * an answer to HEAD (the request side queues which requests were HEAD);
 * chunked wins over Content-Length; without either the body runs to EOF.
 * Messages never quote the server's bytes.
 */
#include "net/http_int.h"

#include <stdio.h>
#include <string.h>

#define SCRATCH_MAX (8u << 20)

typedef struct resp_info {
    int status, http11;
    int chunked, te_other, coded, has_length;
    uint64_t length;
} resp_info;

static int malformed(char *err, size_t errlen, const char *what)
{
    return cloche__net_fail(err, errlen, CLOCHE__NET_EIO,
                            "malformed HTTP response (%s) on a connection "
                            "that carries a secret",
                            what);
}

static int is_chunked_state(int rs)
{
    return rs == R_CHUNK_SIZE || rs == R_CHUNK_DATA || rs == R_CHUNK_END;
}

/* "HTTP/1.x SP 3DIGIT [SP reason]". The status, or -1. */
static int status_line(const http_line *l)
{
    const uint8_t *p = l->p;
    if (l->len < 12 || memcmp(p, "HTTP/1.", 7) != 0 ||
        (p[7] != '0' && p[7] != '1') || p[8] != ' ')
        return -1;
    int st = 0;
    for (size_t i = 9; i < 12; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        st = st * 10 + (p[i] - '0');
    }
    if (l->len > 12 && p[12] != ' ')
        return -1;
    for (size_t i = 12; i < l->len; i++)
        if ((p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f)
            return -1;
    return st < 100 ? -1 : st;
}

/* Content-Encoding: a list; only "identity" (or nothing) is plain. */
static int coded(const uint8_t *p, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t b = i;
        while (i < len && p[i] != ',')
            i++;
        size_t e = i++;
        while (b < e && (p[b] == ' ' || p[b] == '\t'))
            b++;
        while (e > b && (p[e - 1] == ' ' || p[e - 1] == '\t'))
            e--;
        if (e > b && !cloche__net_http_word(p + b, e - b, "identity"))
            return 1;
    }
    return 0;
}

static int resp_field(const http_field *f, resp_info *ri)
{
    if (cloche__net_http_is(f, "transfer-encoding")) {
        if (ri->chunked ||
            !cloche__net_http_word(f->value, f->value_len, "chunked"))
            ri->te_other = 1;
        ri->chunked = 1;
    } else if (cloche__net_http_is(f, "content-length")) {
        uint64_t v;
        if (cloche__net_http_length(f->value, f->value_len, &v) ||
            (ri->has_length && v != ri->length))
            return -1;
        ri->has_length = 1;
        ri->length = v;
    } else if (cloche__net_http_is(f, "content-encoding")) {
        ri->coded |= coded(f->value, f->value_len);
    }
    return 0;
}

static int parse_head(const cloche__net_buf *head, resp_info *ri, char *err,
                      size_t errlen)
{
    size_t pos = 0;
    http_line l;
    if (cloche__net_http_next_line(head, &pos, &l) ||
        (ri->status = status_line(&l)) < 0)
        return malformed(err, errlen, "not an HTTP/1.x status line");
    ri->http11 = l.p[7] == '1';
    for (;;) {
        if (cloche__net_http_next_line(head, &pos, &l))
            return malformed(err, errlen, "stray CR or NUL");
        if (l.len == 0)
            return 0;
        http_field f;
        if (cloche__net_http_field(&l, &f))
            return malformed(err, errlen, "bad or folded header field");
        if (resp_field(&f, ri))
            return malformed(err, errlen, "conflicting Content-Length");
    }
}

/* 1 if scrubbing may change a body's length (a placeholder is not as
 * long as its value). */
static int changes_length(const cloche__net_patset *ps)
{
    for (size_t i = 0; i < ps->npats; i++)
        if (((ps->mask >> i) & 1u) &&
            ps->pats[i].from_len != ps->pats[i].to_len)
            return 1;
    return 0;
}

/* Where the response goes after its head; refusals before any output. */
static int plan_body(cloche__net_http *h, const cloche__net_patset *ps,
                     const resp_info *ri, char *err, size_t errlen)
{
    if (ri->status == 101)
        return cloche__net_fail(err, errlen, CLOCHE__NET_EDENIED,
                                "response refused: a protocol switch (101) "
                                "on a connection that carries a secret");
    if (ri->status < 200)
        return R_HEAD; /* interim: the final answer follows */
    int head_req = cloche__net_http_pop(h);
    if (head_req || ri->status == 204 || ri->status == 304)
        return R_HEAD;
    if (ri->te_other || ri->coded)
        return cloche__net_fail(err, errlen, CLOCHE__NET_EDENIED,
                                "response refused: its body is compressed "
                                "or otherwise encoded, which would hide a "
                                "secret from scrubbing (cloche asked for "
                                "Accept-Encoding: identity)");
    if (ri->chunked)
        return R_CHUNK_SIZE;
    if (ri->has_length) {
        h->r_left = ri->length;
        /* a length scrubbing may change would be wrong: re-frame */
        h->r_rechunk = ri->length && ri->http11 && changes_length(ps);
        return ri->length ? R_BODY : R_HEAD;
    }
    return R_CLOSE;
}

/* The head without Content-Length, with Transfer-Encoding: chunked. */
static int rewrite_framing(cloche__net_http *h)
{
    cloche__net_buf nb = {.max = CLOCHE__NET_HTTP_HEAD_MAX + 64};
    size_t pos = 0;
    http_line l;
    int rc = 0;
    for (int first = 1; rc == 0; first = 0) {
        (void)cloche__net_http_next_line(&h->rhead, &pos, &l); /* parsed */
        if (l.len == 0)
            break;
        http_field f;
        if (!first && cloche__net_http_field(&l, &f) == 0 &&
            cloche__net_http_is(&f, "content-length"))
            continue;
        rc = cloche__net_buf_append(&nb, l.p, l.len);
        if (rc == 0)
            rc = cloche__net_buf_append(&nb, (const uint8_t *)"\r\n", 2);
    }
    static const char TE[] = "Transfer-Encoding: chunked\r\n\r\n";
    if (rc == 0)
        rc = cloche__net_buf_append(&nb, (const uint8_t *)TE, sizeof TE - 1);
    if (rc) {
        cloche__net_buf_free(&nb);
        return rc;
    }
    cloche__net_buf_free(&h->rhead);
    h->rhead = nb;
    return 0;
}

/* Scrub a collected head or trailer section whole, hand it on. */
static int emit_block(cloche__net_http *h, const cloche__net_patset *ps,
                      cloche__net_buf *out)
{
    int rc = cloche__net_subst_into(ps, h->rhead.p, h->rhead.len,
                                    CLOCHE__NET_FEED_MASK, out);
    cloche__net_buf_consume(&h->rhead, h->rhead.len);
    h->r_line = 0;
    return rc;
}

static int head_done(cloche__net_http *h, const cloche__net_patset *ps,
                     cloche__net_buf *out, char *err, size_t errlen)
{
    resp_info ri = {0};
    int rc = parse_head(&h->rhead, &ri, err, errlen);
    int next = rc ? rc : plan_body(h, ps, &ri, err, errlen);
    if (next < 0)
        return next;
    h->rs = next;
    if (h->rs == R_BODY && h->r_rechunk && (rc = rewrite_framing(h)) != 0)
        return rc;
    return emit_block(h, ps, out);
}

/* R_HEAD and R_TRAILER: collect lines up to the empty one. */
static int take_head(cloche__net_http *h, const cloche__net_patset *ps,
                     const uint8_t *in, size_t len, size_t *used,
                     cloche__net_buf *out, char *err, size_t errlen)
{
    int t = cloche__net_http_take_line(&h->rhead, CLOCHE__NET_HTTP_HEAD_MAX,
                                       in, len, used);
    if (t == TAKE_TOO_LONG)
        return malformed(err, errlen, "head larger than 64 KiB");
    if (t != TAKE_LINE)
        return t; /* 0: more to come, or ENOMEM */
    size_t ll = h->rhead.len - h->r_line;
    if (!(ll == 1 || (ll == 2 && h->rhead.p[h->r_line] == '\r'))) {
        h->r_line = h->rhead.len;
        return 0;
    }
    if (h->rs == R_TRAILER) {
        h->rs = R_HEAD;
        return emit_block(h, ps, out);
    }
    if (h->r_line == 0) /* an empty line before a status line */
        return emit_block(h, ps, out);
    return head_done(h, ps, out, err, errlen);
}

/* Scrub body bytes; a chunked body's output is framed as chunks again. */
static int body_feed(cloche__net_http *h, const cloche__net_patset *ps,
                     const uint8_t *in, size_t len, int flags,
                     cloche__net_buf *out)
{
    if (!is_chunked_state(h->rs) && !(h->rs == R_BODY && h->r_rechunk))
        return cloche__net_stream_feed(ps, &h->body, in, len, flags, out);
    h->scratch.max = SCRATCH_MAX;
    int rc = cloche__net_stream_feed(ps, &h->body, in, len, flags,
                                     &h->scratch);
    if (rc == 0 && h->scratch.len) {
        char size[24];
        int n = snprintf(size, sizeof size, "%zx\r\n", h->scratch.len);
        rc = cloche__net_buf_append(out, (const uint8_t *)size, (size_t)n);
        if (rc == 0)
            rc = cloche__net_buf_append(out, h->scratch.p, h->scratch.len);
        if (rc == 0)
            rc = cloche__net_buf_append(out, (const uint8_t *)"\r\n", 2);
    }
    cloche__net_buf_consume(&h->scratch, h->scratch.len);
    return rc;
}

/* The body ends (complete: its framing says so; else EOF cut it): finish
 * its stream, a cut-off value masked - in a Content-Length body that
 * keeps its length, by as many bytes of the placeholder. */
static int body_end(cloche__net_http *h, const cloche__net_patset *ps,
                    cloche__net_buf *out, int complete)
{
    int flags = CLOCHE__NET_FEED_FINAL | CLOCHE__NET_FEED_MASK;
    int rechunked = h->rs == R_BODY && h->r_rechunk;
    if (h->rs == R_BODY && !rechunked)
        flags |= CLOCHE__NET_FEED_KEEP_LEN;
    int rc = body_feed(h, ps, NULL, 0, flags, out);
    if (rc == 0 && rechunked && complete)
        rc = cloche__net_buf_append(out, (const uint8_t *)"0\r\n\r\n", 5);
    h->r_rechunk = 0;
    return rc;
}

static int chunk_size(cloche__net_http *h, const cloche__net_patset *ps,
                      const uint8_t *in, size_t len, size_t *used,
                      cloche__net_buf *out, char *err, size_t errlen)
{
    int t = cloche__net_http_take_line(&h->rline, CLOCHE__NET_HTTP_LINE_MAX,
                                       in, len, used);
    if (t < 0)
        return t;
    if (t == TAKE_MORE)
        return 0;
    size_t pos = 0;
    http_line l;
    uint64_t size = 0;
    int bad = t == TAKE_TOO_LONG ||
              cloche__net_http_next_line(&h->rline, &pos, &l) ||
              cloche__net_http_chunk_size(l.p, l.len, &size);
    cloche__net_buf_consume(&h->rline, h->rline.len);
    if (bad)
        return malformed(err, errlen, "bad chunk size");
    if (size) {
        h->rs = R_CHUNK_DATA;
        h->r_left = size;
        return 0;
    }
    int rc = body_end(h, ps, out, 1); /* chunk extensions are dropped */
    if (rc == 0)
        rc = cloche__net_buf_append(out, (const uint8_t *)"0\r\n", 3);
    h->rs = R_TRAILER;
    return rc;
}

static int recv_step(cloche__net_http *h, const cloche__net_patset *ps,
                     const uint8_t *in, size_t len, size_t *used,
                     cloche__net_buf *out, char *err, size_t errlen)
{
    int rc = 0;
    switch (h->rs) {
    case R_HEAD:
    case R_TRAILER:
        return take_head(h, ps, in, len, used, out, err, errlen);
    case R_CHUNK_SIZE:
        return chunk_size(h, ps, in, len, used, out, err, errlen);
    case R_BODY:
    case R_CHUNK_DATA:
        *used = len < h->r_left ? len : (size_t)h->r_left;
        h->r_left -= *used;
        rc = body_feed(h, ps, in, *used, 0, out);
        if (rc == 0 && h->r_left == 0 && h->rs == R_BODY) {
            rc = body_end(h, ps, out, 1);
            h->rs = R_HEAD;
        } else if (h->r_left == 0) {
            h->rs = R_CHUNK_END;
        }
        return rc;
    case R_CLOSE:
        *used = len;
        return body_feed(h, ps, in, len, 0, out);
    case R_CHUNK_END:
        *used = 1;
        if (in[0] == '\r' && !h->r_crlf) {
            h->r_crlf = 1;
            return 0;
        }
        h->r_crlf = 0;
        h->rs = R_CHUNK_SIZE;
        return in[0] == '\n' ? 0 : malformed(err, errlen, "bad chunk end");
    default: /* R_DONE: nothing follows EOF */
        *used = len;
        return 0;
    }
}

/* EOF: whatever was collected goes out scrubbed, a cut value masked. */
static int recv_eof(cloche__net_http *h, const cloche__net_patset *ps,
                    cloche__net_buf *out)
{
    int rc = 0;
    if (h->rs == R_HEAD || h->rs == R_TRAILER)
        rc = emit_block(h, ps, out);
    else if (h->rs != R_DONE)
        rc = body_end(h, ps, out, 0);
    cloche__net_buf_consume(&h->rline, h->rline.len);
    h->rs = R_DONE;
    return rc;
}

/* The parser's work: everything but the raw pass. */
static int parse(cloche__net_http *h, const cloche__net_patset *ps,
                 const uint8_t *in, size_t len, int flags,
                 cloche__net_buf *out, char *err, size_t errlen)
{
    size_t pos = 0;
    while (pos < len) {
        size_t used = 0;
        int rc = recv_step(h, ps, in + pos, len - pos, &used, out, err,
                           errlen);
        if (rc)
            return rc;
        pos += used;
    }
    return flags & CLOCHE__NET_FEED_FINAL ? recv_eof(h, ps, out) : 0;
}

/* What the parser passed on, through the raw stream into out, in pieces
 * the stream can take; flags apply with the last piece. */
static int raw_pass(cloche__net_http *h, const cloche__net_patset *ps,
                    int flags, cloche__net_buf *out)
{
    size_t chunk = cloche__net_chunk(ps), off = 0;
    int rc = 0;
    do {
        size_t k = h->passed.len - off < chunk ? h->passed.len - off : chunk;
        int last = off + k == h->passed.len;
        const uint8_t *p = h->passed.len ? h->passed.p + off : NULL;
        rc = cloche__net_stream_feed(ps, &h->raw, p, k, last ? flags : 0,
                                     out);
        off += k;
    } while (rc == 0 && off < h->passed.len);
    cloche__net_buf_consume(&h->passed, h->passed.len);
    return rc;
}

static int short_tail(const cloche__net_stream *st)
{
    return cloche__net_stream_held(st) &&
           cloche__net_stream_pending(st) < CLOCHE__NET_RELEASE_MAX;
}

/* A lull releases a held tail only where it is short: a longer one (a
 * value's first RELEASE_MAX bytes or more) waits for data or EOF. */
static int lull(cloche__net_http *h, const cloche__net_patset *ps,
                cloche__net_buf *out)
{
    int carry = CLOCHE__NET_FEED_FINAL | CLOCHE__NET_FEED_CARRY, rc = 0;
    if (short_tail(&h->body))
        rc = body_feed(h, ps, NULL, 0, carry, &h->passed);
    if (rc == 0)
        rc = raw_pass(h, ps, 0, out);
    if (rc == 0 && short_tail(&h->raw))
        rc = raw_pass(h, ps, carry, out);
    return rc;
}

int cloche__net_http_recv(cloche__net_http *h, const cloche__net_patset *ps,
                          const uint8_t *in, size_t len, int flags,
                          cloche__net_buf *out, char *err, size_t errlen)
{
    h->passed.max = out->max;
    int carry = (flags & CLOCHE__NET_FEED_CARRY) != 0;
    int rc = parse(h, ps, in, len, carry ? 0 : flags, &h->passed, err,
                   errlen);
    if (rc) {
        cloche__net_buf_consume(&h->passed, h->passed.len);
        return rc;
    }
    return carry ? lull(h, ps, out) : raw_pass(h, ps, flags, out);
}

int cloche__net_http_holding(const cloche__net_http *h)
{
    return cloche__net_stream_held(&h->body) ||
           cloche__net_stream_held(&h->raw);
}

int cloche__net_http_releasable(const cloche__net_http *h)
{
    return short_tail(&h->body) || short_tail(&h->raw);
}

size_t cloche__net_http_recv_held(const cloche__net_http *h)
{
    return h->rhead.len + h->rline.len + cloche__net_stream_held(&h->body) +
           cloche__net_stream_held(&h->raw);
}
