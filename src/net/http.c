/*
 * http.c - HTTP/1.x framing on connections that carry a secret: the parts
 * both directions share, and the request side (guest -> server).
 *
 * Scrubbing raw bytes is not enough once a secret has gone to a server:
 * HTTP framing (chunk headers inside an echoed value) and content codings
 * (a gzip'd echo) hide the value from a byte matcher. So a connection with
 * secrets bound to it speaks HTTP/1.0 or 1.1 and nothing else, and the
 * host follows the exchange:
 *
 *   - each request head is held until it is complete, checked (a request
 *     line, valid fields, no Upgrade, no CONNECT, unambiguous body framing)
 *     and only then sent, with placeholders replaced inside header values
 *     and nowhere else, and `Accept-Encoding: identity` in place of the
 *     guest's; request lines, bodies and trailers pass unchanged but are
 *     parsed, so the next head is found where the server will find it;
 *   - responses are parsed in http_resp.c.
 *
 * Invariants: qhead holds one unfinished request head, of which the first
 * q_sent bytes have been released unchanged (then the rest of that head is
 * passed as it comes, without substitution); the queue holds, oldest
 * first, whether each request still awaiting its response was a HEAD (its
 * response has no body). Nothing here does I/O, and no message carries
 * bytes of the exchange.
 */
#include "net/http_int.h"

#include <stdio.h>
#include <string.h>

static const char ACCEPT_IDENTITY[] = "Accept-Encoding: identity\r\n";

/* ---- shared parsing -------------------------------------------------------- */

static int refuse(char *err, size_t errlen, int code, const char *what)
{
    return cloche__net_fail(err, errlen, code, "%s", what);
}

int cloche__net_http_take_line(cloche__net_buf *buf, size_t max,
                               const uint8_t *in, size_t len, size_t *used)
{
    const uint8_t *lf = memchr(in, '\n', len);
    size_t n = lf ? (size_t)(lf - in) + 1 : len;
    *used = n;
    if (buf->len > max || n > max - buf->len)
        return TAKE_TOO_LONG;
    buf->max = max;
    int rc = cloche__net_buf_append(buf, in, n);
    if (rc)
        return rc;
    return lf ? TAKE_LINE : TAKE_MORE;
}

int cloche__net_http_next_line(const cloche__net_buf *head, size_t *pos,
                               http_line *line)
{
    const uint8_t *p = head->p + *pos;
    size_t avail = head->len - *pos;
    const uint8_t *lf = avail ? memchr(p, '\n', avail) : NULL;
    if (!lf)
        return -1;
    size_t n = (size_t)(lf - p);
    *pos += n + 1;
    if (n && p[n - 1] == '\r')
        n--;
    if (memchr(p, '\r', n) || memchr(p, '\0', n))
        return -1; /* a lone CR: parsers disagree on it */
    line->p = p;
    line->len = n;
    return 0;
}

static int is_tchar(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int is_ows(uint8_t c)
{
    return c == ' ' || c == '\t';
}

int cloche__net_http_field(const http_line *line, http_field *f)
{
    const uint8_t *p = line->p;
    size_t n = line->len, i = 0;
    while (i < n && is_tchar(p[i]))
        i++;
    if (i == 0 || i == n || p[i] != ':')
        return -1; /* also obs-fold and whitespace before the colon */
    f->name = p;
    f->name_len = i;
    f->value_off = i + 1;
    size_t b = i + 1, e = n;
    for (size_t k = b; k < n; k++)
        if ((p[k] < 0x20 && p[k] != '\t') || p[k] == 0x7f)
            return -1;
    while (b < e && is_ows(p[b]))
        b++;
    while (e > b && is_ows(p[e - 1]))
        e--;
    f->value = p + b;
    f->value_len = e - b;
    return 0;
}

int cloche__net_http_word(const uint8_t *p, size_t len, const char *w)
{
    size_t wl = strlen(w);
    if (len != wl)
        return 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = p[i];
        if (c >= 'A' && c <= 'Z')
            c = (uint8_t)(c - 'A' + 'a');
        if (c != (uint8_t)w[i])
            return 0;
    }
    return 1;
}

int cloche__net_http_is(const http_field *f, const char *name)
{
    return cloche__net_http_word(f->name, f->name_len, name);
}

int cloche__net_http_length(const uint8_t *p, size_t len, uint64_t *v)
{
    if (len == 0 || len > 18)
        return -1;
    uint64_t x = 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        x = x * 10 + (uint64_t)(p[i] - '0');
    }
    *v = x;
    return 0;
}

static int hex_digit(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int cloche__net_http_chunk_size(const uint8_t *p, size_t len, uint64_t *v)
{
    size_t i = 0;
    uint64_t x = 0;
    for (; i < len && hex_digit(p[i]) >= 0; i++) {
        if (i == 15)
            return -1; /* beyond any body this host would pass */
        x = x << 4 | (uint64_t)hex_digit(p[i]);
    }
    if (i == 0)
        return -1;
    while (i < len && is_ows(p[i]))
        i++;
    if (i < len && p[i] != ';')
        return -1;
    *v = x;
    return 0;
}

int cloche__net_http_pop(cloche__net_http *h)
{
    if (h->q_count == 0)
        return 0;
    int head = h->queue[h->q_first];
    h->q_first = (h->q_first + 1) % CLOCHE__NET_HTTP_QUEUE;
    h->q_count--;
    return head;
}

/* ---- lifetime ----------------------------------------------------------------- */

int cloche__net_http_new(cloche__net_http **out)
{
    *out = cloche__net_calloc(1, sizeof **out);
    return *out ? 0 : CLOCHE__NET_ENOMEM;
}

void cloche__net_http_free(cloche__net_http *h)
{
    if (!h)
        return;
    cloche__net_buf_free(&h->qhead);
    cloche__net_buf_free(&h->qline);
    cloche__net_buf_free(&h->rhead);
    cloche__net_buf_free(&h->rline);
    cloche__net_buf_free(&h->scratch);
    cloche__net_buf_free(&h->passed);
    cloche__net_stream_free(&h->body);
    cloche__net_stream_free(&h->raw);
    cloche__net_wipe(h, sizeof *h);
    cloche__net_dealloc(h);
}

size_t cloche__net_http_send_held(const cloche__net_http *h)
{
    return h->qhead.len - h->q_sent;
}

int cloche__net_http_idle(const cloche__net_http *h)
{
    return h->qs == Q_HEAD && h->qhead.len == 0 && h->q_count == 0 &&
           h->rs == R_HEAD && h->rhead.len == 0 &&
           cloche__net_stream_pending(&h->body) == 0 &&
           cloche__net_stream_pending(&h->raw) == 0;
}

/* ---- request heads ----------------------------------------------------------- */

typedef struct req_info {
    int is_head, chunked, has_length;
    uint64_t length;
} req_info;

/* "METHOD SP target SP HTTP/1.x" with a token method and a visible-ASCII
 * target; CONNECT would turn the connection into an opaque tunnel. */
static int request_line(const http_line *l, req_info *ri, char *err,
                        size_t errlen)
{
    const char *bad = "request refused: a connection that carries a secret "
                      "speaks HTTP/1.0 or HTTP/1.1 only (bad request line)";
    size_t i = 0, n = l->len;
    while (i < n && is_tchar(l->p[i]))
        i++;
    size_t mlen = i;
    if (mlen == 0 || i >= n || l->p[i++] != ' ')
        return refuse(err, errlen, CLOCHE__NET_EDENIED, bad);
    size_t t0 = i;
    while (i < n && l->p[i] > 0x20 && l->p[i] < 0x7f)
        i++;
    if (i == t0 || i >= n || l->p[i++] != ' ' || n - i != 8 ||
        (memcmp(l->p + i, "HTTP/1.1", 8) != 0 &&
         memcmp(l->p + i, "HTTP/1.0", 8) != 0))
        return refuse(err, errlen, CLOCHE__NET_EDENIED, bad);
    if (mlen == 7 && memcmp(l->p, "CONNECT", 7) == 0)
        return refuse(err, errlen, CLOCHE__NET_EDENIED,
                      "request refused: CONNECT is not allowed on a "
                      "connection that carries a secret");
    ri->is_head = mlen == 4 && memcmp(l->p, "HEAD", 4) == 0;
    return 0;
}

static int request_field(const http_field *f, req_info *ri, char *err,
                         size_t errlen)
{
    if (cloche__net_http_is(f, "upgrade"))
        return refuse(err, errlen, CLOCHE__NET_EDENIED,
                      "request refused: Upgrade is not allowed on a "
                      "connection that carries a secret");
    if (cloche__net_http_is(f, "transfer-encoding")) {
        if (ri->chunked ||
            !cloche__net_http_word(f->value, f->value_len, "chunked"))
            return refuse(err, errlen, CLOCHE__NET_EDENIED,
                          "request refused: the only transfer coding "
                          "allowed is a single 'chunked'");
        ri->chunked = 1;
    }
    if (cloche__net_http_is(f, "content-length")) {
        uint64_t v;
        if (cloche__net_http_length(f->value, f->value_len, &v) ||
            (ri->has_length && v != ri->length))
            return refuse(err, errlen, CLOCHE__NET_EDENIED,
                          "request refused: invalid or conflicting "
                          "Content-Length");
        ri->has_length = 1;
        ri->length = v;
    }
    return 0;
}

/* Pass 1 over a complete head: is it a request cloche will send? */
static int check_head(const cloche__net_http *h, req_info *ri, char *err,
                      size_t errlen)
{
    size_t pos = 0;
    http_line l;
    if (cloche__net_http_next_line(&h->qhead, &pos, &l))
        return refuse(err, errlen, CLOCHE__NET_EDENIED,
                      "request refused: stray CR or NUL in the head");
    int rc = request_line(&l, ri, err, errlen);
    if (rc)
        return rc;
    for (;;) {
        if (cloche__net_http_next_line(&h->qhead, &pos, &l))
            return refuse(err, errlen, CLOCHE__NET_EDENIED,
                          "request refused: stray CR or NUL in the head");
        if (l.len == 0)
            break;
        http_field f;
        if (cloche__net_http_field(&l, &f))
            return refuse(err, errlen, CLOCHE__NET_EDENIED,
                          "request refused: malformed header field "
                          "(folded, no colon, or space before it)");
        rc = request_field(&f, ri, err, errlen);
        if (rc)
            return rc;
    }
    if (ri->chunked && ri->has_length)
        return refuse(err, errlen, CLOCHE__NET_EDENIED,
                      "request refused: both Content-Length and "
                      "Transfer-Encoding");
    if (h->q_count >= CLOCHE__NET_HTTP_QUEUE)
        return refuse(err, errlen, CLOCHE__NET_EDENIED,
                      "request refused: 64 requests already await answers");
    return 0;
}

/*
 * Pass 2: the head as it goes out. count_only: return the length instead.
 * Lines end in CRLF; header values get placeholders replaced; the guest's
 * Accept-Encoding is replaced by identity (a coded response would hide an
 * echoed value from the scrubber, and is refused anyway).
 */
static size_t write_head(const cloche__net_http *h,
                         const cloche__net_patset *ps, cloche__net_buf *out,
                         int *rc)
{
    size_t pos = 0, total = 0;
    http_line l;
    (void)cloche__net_http_next_line(&h->qhead, &pos, &l); /* checked */
    for (int first = 1;; first = 0) {
        if (!first)
            (void)cloche__net_http_next_line(&h->qhead, &pos, &l);
        if (l.len == 0)
            break;
        http_field f;
        size_t raw = l.len;
        if (!first) {
            (void)cloche__net_http_field(&l, &f);
            if (cloche__net_http_is(&f, "accept-encoding"))
                continue;
            raw = f.value_off;
        }
        const uint8_t *v = l.p + raw;
        size_t vl = l.len - raw;
        size_t sub = cloche__net_subst_count(ps, v, vl, 0);
        if (sub == SIZE_MAX || total > SIZE_MAX / 2)
            return SIZE_MAX;
        total += raw + sub + 2;
        if (out && *rc == 0) {
            *rc = cloche__net_buf_append(out, l.p, raw);
            if (*rc == 0)
                *rc = cloche__net_subst_into(ps, v, vl, 0, out);
            if (*rc == 0)
                *rc = cloche__net_buf_append(out, (const uint8_t *)"\r\n", 2);
        }
    }
    total += sizeof ACCEPT_IDENTITY - 1 + 2;
    if (out && *rc == 0)
        *rc = cloche__net_buf_append(out, (const uint8_t *)ACCEPT_IDENTITY,
                                     sizeof ACCEPT_IDENTITY - 1);
    if (out && *rc == 0)
        *rc = cloche__net_buf_append(out, (const uint8_t *)"\r\n", 2);
    return total;
}

static int emit_head(const cloche__net_http *h, const cloche__net_patset *ps,
                     cloche__net_buf *out, char *err, size_t errlen)
{
    int rc = 0;
    if (write_head(h, ps, NULL, &rc) > CLOCHE__NET_HTTP_REQ_OUT_MAX)
        return refuse(err, errlen, CLOCHE__NET_EDENIED,
                      "request refused: the head would exceed 1 MiB with "
                      "the secrets filled in");
    size_t mark = out->len;
    (void)write_head(h, ps, out, &rc);
    if (rc) { /* never a partial head on the wire */
        cloche__net_wipe(out->p + mark, out->len - mark);
        out->len = mark;
    }
    return rc;
}

/* A complete head: check it, send it, and follow its body. */
static int head_done(cloche__net_http *h, const cloche__net_patset *ps,
                     cloche__net_buf *out, char *err, size_t errlen)
{
    req_info ri = {0};
    int rc = check_head(h, &ri, err, errlen);
    if (rc == 0 && h->q_sent == 0)
        rc = emit_head(h, ps, out, err, errlen);
    if (rc)
        return rc;
    unsigned tail = (h->q_first + h->q_count) % CLOCHE__NET_HTTP_QUEUE;
    h->queue[tail] = (uint8_t)ri.is_head;
    h->q_count++;
    h->qs = ri.chunked ? Q_CHUNK_SIZE
            : ri.has_length && ri.length ? Q_BODY
                                         : Q_HEAD;
    h->q_left = ri.length;
    cloche__net_buf_consume(&h->qhead, h->qhead.len);
    h->q_line = h->q_sent = 0;
    return 0;
}

static int req_head(cloche__net_http *h, const cloche__net_patset *ps,
                    const uint8_t *in, size_t len, size_t *used,
                    cloche__net_buf *out, char *err, size_t errlen)
{
    int t = cloche__net_http_take_line(&h->qhead, CLOCHE__NET_HTTP_HEAD_MAX,
                                       in, len, used);
    if (t == TAKE_TOO_LONG)
        return refuse(err, errlen, CLOCHE__NET_EDENIED,
                      "request refused: head larger than 64 KiB");
    if (t < 0)
        return t;
    if (h->q_sent) { /* released earlier: the rest goes as it comes */
        int rc = cloche__net_buf_append(out, in, *used);
        if (rc)
            return rc;
        h->q_sent = h->qhead.len;
    }
    if (t == TAKE_MORE)
        return 0;
    size_t ll = h->qhead.len - h->q_line;
    int empty = ll == 1 || (ll == 2 && h->qhead.p[h->q_line] == '\r');
    if (!empty) {
        h->q_line = h->qhead.len;
        return 0;
    }
    if (h->q_line == 0) { /* empty lines before a request pass through */
        int rc = h->q_sent ? 0
                           : cloche__net_buf_append(out, h->qhead.p,
                                                    h->qhead.len);
        cloche__net_buf_consume(&h->qhead, h->qhead.len);
        h->q_sent = 0;
        return rc;
    }
    return head_done(h, ps, out, err, errlen);
}

/* ---- request bodies (passed unchanged, parsed to find the next head) ------ */

static int req_chunk_line(cloche__net_http *h, const uint8_t *in, size_t len,
                          size_t *used, char *err, size_t errlen)
{
    size_t max = h->qs == Q_TRAILER ? CLOCHE__NET_HTTP_HEAD_MAX
                                    : CLOCHE__NET_HTTP_LINE_MAX;
    int t = cloche__net_http_take_line(&h->qline, max, in, len, used);
    if (t < 0)
        return t;
    if (t == TAKE_MORE)
        return 0;
    size_t pos = 0;
    http_line l;
    uint64_t size = 0;
    int bad = t == TAKE_TOO_LONG ||
              cloche__net_http_next_line(&h->qline, &pos, &l) ||
              (h->qs == Q_CHUNK_SIZE &&
               cloche__net_http_chunk_size(l.p, l.len, &size));
    cloche__net_buf_consume(&h->qline, h->qline.len);
    if (bad)
        return refuse(err, errlen, CLOCHE__NET_EDENIED,
                      "request refused: malformed chunked body");
    if (h->qs == Q_TRAILER)
        h->qs = l.len == 0 ? Q_HEAD : Q_TRAILER;
    else if (size == 0)
        h->qs = Q_TRAILER;
    else {
        h->qs = Q_CHUNK_DATA;
        h->q_left = size;
    }
    return 0;
}

static int req_chunk_end(cloche__net_http *h, uint8_t c, char *err,
                         size_t errlen)
{
    if (c == '\r' && !h->q_crlf) {
        h->q_crlf = 1;
        return 0;
    }
    h->q_crlf = 0;
    if (c != '\n')
        return refuse(err, errlen, CLOCHE__NET_EDENIED,
                      "request refused: malformed chunked body");
    h->qs = Q_CHUNK_SIZE;
    return 0;
}

/* One step of the request parser over in[0..len); *used: bytes taken. */
static int send_step(cloche__net_http *h, const cloche__net_patset *ps,
                     const uint8_t *in, size_t len, size_t *used,
                     cloche__net_buf *out, char *err, size_t errlen)
{
    int rc = 0;
    switch (h->qs) {
    case Q_HEAD:
        return req_head(h, ps, in, len, used, out, err, errlen);
    case Q_BODY:
    case Q_CHUNK_DATA:
        *used = len < h->q_left ? len : (size_t)h->q_left;
        h->q_left -= *used;
        if (h->q_left == 0)
            h->qs = h->qs == Q_BODY ? Q_HEAD : Q_CHUNK_END;
        break;
    case Q_CHUNK_SIZE:
    case Q_TRAILER:
        rc = req_chunk_line(h, in, len, used, err, errlen);
        break;
    default: /* Q_CHUNK_END */
        *used = 1;
        rc = req_chunk_end(h, in[0], err, errlen);
        break;
    }
    /* body bytes and their framing go out unchanged */
    return rc ? rc : cloche__net_buf_append(out, in, *used);
}

int cloche__net_http_send(cloche__net_http *h, const cloche__net_patset *ps,
                          const uint8_t *in, size_t len, int release,
                          cloche__net_buf *out, char *err, size_t errlen)
{
    size_t pos = 0;
    while (pos < len) {
        size_t used = 0;
        int rc = send_step(h, ps, in + pos, len - pos, &used, out, err,
                           errlen);
        if (rc)
            return rc;
        pos += used;
    }
    if (release && h->qs == Q_HEAD && h->qhead.len > h->q_sent) {
        int rc = cloche__net_buf_append(out, h->qhead.p + h->q_sent,
                                        h->qhead.len - h->q_sent);
        if (rc)
            return rc;
        h->q_sent = h->qhead.len;
    }
    return 0;
}
