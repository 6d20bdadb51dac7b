/*
 * secrets.c - placeholder/value substitution over byte streams.
 *
 * One engine serves both directions: a stream replaces every occurrence of
 * a pattern's `from` by its `to`, leftmost first and, at one position, the
 * longest pattern first. Send streams map placeholders to values (only the
 * secrets bound to the connection's host); receive streams and scrubbing
 * map values to placeholders (every secret).
 *
 * Streams see their input in pieces. A tail that is a proper prefix of a
 * pattern is held back (it may complete in the next piece) - including when
 * a shorter pattern already matches there, since the longer one would win.
 * A held tail leaves only by a later feed or by a FINAL feed, which
 * processes it as if the stream ended. With MASK (value -> placeholder
 * streams only), a tail of RELEASE_MAX or more bytes that begins a value -
 * a secret cut off by EOF or by an output cap - becomes the placeholder
 * too. When the receive side releases a short held tail because the peer
 * went quiet (io.c), the released bytes are kept as `lit`: if the next
 * piece completes a value that began in them, the value is still replaced
 * (the guest then holds at most the first RELEASE_MAX - 1 bytes of it).
 *
 * Invariants: pend = [0, lit) delivered-but-watched || [lit, len) held; the
 * held part is shorter than the longest `from`; no complete pattern lies
 * inside [0, lit). Every buffer that may hold a value is wiped on release.
 * This file never does I/O.
 */
#define _DEFAULT_SOURCE

#include "net/net_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define OUT_PER_FEED (256u << 10) /* rough bound on one feed's output */
#define MAX_CHUNK (64u << 10)
#define PEND_MAX (1u << 20)

void cloche__net_patset_init(cloche__net_patset *ps, const cloche__net_pat *pats,
                             size_t npats, uint64_t mask)
{
    memset(ps, 0, sizeof *ps);
    ps->pats = pats;
    ps->npats = npats > 64 ? 64 : npats;
    ps->mask = mask;
    for (size_t i = 0; i < ps->npats; i++) {
        const cloche__net_pat *p = &pats[i];
        if (!((mask >> i) & 1u) || p->from_len == 0) {
            ps->mask &= ~((uint64_t)1 << i);
            continue;
        }
        ps->first[p->from[0] >> 3] |= (uint8_t)(1u << (p->from[0] & 7));
        if (p->from_len > ps->max_from)
            ps->max_from = p->from_len;
        if (ps->min_from == 0 || p->from_len < ps->min_from)
            ps->min_from = p->from_len;
        if (p->to_len > ps->max_to)
            ps->max_to = p->to_len;
    }
}

static int first_ok(const cloche__net_patset *ps, uint8_t b)
{
    return (ps->first[b >> 3] >> (b & 7)) & 1;
}

/* Index of the longest applying pattern matching at p in full, or -1. */
static int full_match(const cloche__net_patset *ps, const uint8_t *p,
                      size_t avail)
{
    int best = -1;
    size_t best_len = 0;
    for (size_t i = 0; i < ps->npats; i++) {
        const cloche__net_pat *t = &ps->pats[i];
        if (!((ps->mask >> i) & 1u) || t->from_len > avail ||
            t->from_len <= best_len)
            continue;
        if (memcmp(p, t->from, t->from_len) == 0) {
            best = (int)i;
            best_len = t->from_len;
        }
    }
    return best;
}

/* An applying pattern of which p[0..avail) is a proper prefix, or -1. */
static int partial_match(const cloche__net_patset *ps, const uint8_t *p,
                         size_t avail)
{
    for (size_t i = 0; i < ps->npats; i++) {
        const cloche__net_pat *t = &ps->pats[i];
        if (((ps->mask >> i) & 1u) && avail < t->from_len &&
            memcmp(p, t->from, avail) == 0)
            return (int)i;
    }
    return -1;
}

/* Output: a growable buffer, or (scrub) counting then filling. */
typedef struct sink {
    cloche__net_buf *buf;
    uint8_t *dst; /* NULL with buf NULL: count only */
    size_t len;
    int rc;
} sink;

static void put(sink *s, const uint8_t *p, size_t n)
{
    if (s->rc || n == 0)
        return;
    if (s->buf)
        s->rc = cloche__net_buf_append(s->buf, p, n);
    else if (n > SIZE_MAX - s->len)
        s->rc = CLOCHE__NET_EINVAL;
    else if (s->dst)
        memcpy(s->dst + s->len, p, n);
    s->len += n;
}

typedef struct scan_result {
    size_t stop;     /* first byte not processed (held), len if none */
    size_t lit_from; /* first byte after the last replacement */
} scan_result;

/*
 * Process w[0..len); bytes before `skip` were delivered already: they are
 * never emitted, but a replacement may start in them and end after them.
 */
static scan_result scan(const cloche__net_patset *ps, const uint8_t *w,
                        size_t len, size_t skip, int flags, sink *out)
{
    int final = flags & CLOCHE__NET_FEED_FINAL;
    scan_result r = {len, 0};
    size_t i = 0, run = skip; /* [run, i): literal bytes not yet emitted */
    while (i < len) {
        if (!first_ok(ps, w[i])) {
            i++;
            continue;
        }
        size_t avail = len - i;
        int partial = avail < ps->max_from ? partial_match(ps, w + i, avail)
                                           : -1;
        if (!final && partial >= 0) {
            r.stop = i;
            break;
        }
        int m = full_match(ps, w + i, avail), masked = 0;
        if (m < 0 && partial >= 0 && (flags & CLOCHE__NET_FEED_MASK) &&
            avail >= CLOCHE__NET_RELEASE_MAX) {
            m = partial; /* a value cut off by the end: mask what is there */
            masked = 1;
        }
        if (m >= 0 && i + ps->pats[m].from_len > skip) {
            size_t to_len = ps->pats[m].to_len;
            if (masked && (flags & CLOCHE__NET_FEED_KEEP_LEN) && avail < to_len)
                to_len = avail; /* a framed body keeps its length */
            if (i > run)
                put(out, w + run, i - run);
            put(out, ps->pats[m].to, to_len);
            i = masked ? len : i + ps->pats[m].from_len;
            run = i;
            r.lit_from = i;
            continue;
        }
        i++;
    }
    if (r.stop > run)
        put(out, w + run, r.stop - run);
    return r;
}

int cloche__net_stream_feed(const cloche__net_patset *ps, cloche__net_stream *s,
                            const uint8_t *in, size_t len, int flags,
                            cloche__net_buf *out)
{
    if (s->pend.max == 0)
        s->pend.max = PEND_MAX;
    int rc = cloche__net_buf_append(&s->pend, in, len);
    if (rc)
        return rc;
    const uint8_t *w = s->pend.p;
    size_t wl = s->pend.len;
    if (ps->max_from == 0) { /* nothing to replace: pass through */
        rc = cloche__net_buf_append(out, w + s->lit, wl - s->lit);
        if (rc == 0) {
            cloche__net_buf_consume(&s->pend, wl);
            s->lit = 0;
        }
        return rc;
    }
    sink k = {.buf = out};
    scan_result r = scan(ps, w, wl, s->lit, flags, &k);
    if (k.rc)
        return k.rc;
    size_t drop, lit;
    if (!(flags & CLOCHE__NET_FEED_FINAL)) {
        drop = r.stop;
        lit = r.stop < s->lit ? s->lit - r.stop : 0;
    } else if (flags & CLOCHE__NET_FEED_CARRY) {
        /* keep the released literal tail: a value may continue from it */
        drop = r.lit_from;
        if (wl - drop >= CLOCHE__NET_RELEASE_MAX)
            drop = wl - (CLOCHE__NET_RELEASE_MAX - 1);
        lit = wl - drop;
    } else {
        drop = wl;
        lit = 0;
    }
    cloche__net_buf_consume(&s->pend, drop);
    s->lit = lit;
    return 0;
}

size_t cloche__net_stream_held(const cloche__net_stream *s)
{
    return s->pend.len - s->lit;
}

size_t cloche__net_stream_pending(const cloche__net_stream *s)
{
    return s->pend.len;
}

void cloche__net_stream_free(cloche__net_stream *s)
{
    cloche__net_buf_free(&s->pend);
    s->lit = 0;
}

size_t cloche__net_chunk(const cloche__net_patset *ps)
{
    if (ps->max_from == 0 || ps->max_to <= ps->min_from)
        return MAX_CHUNK;
    size_t ratio = (ps->max_to + ps->min_from - 1) / ps->min_from;
    size_t c = OUT_PER_FEED / ratio;
    return c < 256 ? 256 : c > MAX_CHUNK ? MAX_CHUNK : c;
}

int cloche__net_scrub_with(const cloche__net_patset *ps, const uint8_t *in,
                           size_t len, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    sink count = {0};
    int flags = CLOCHE__NET_FEED_FINAL | CLOCHE__NET_FEED_MASK;
    if (ps->max_from)
        (void)scan(ps, in, len, 0, flags, &count);
    else
        count.len = len;
    if (count.rc)
        return count.rc;
    uint8_t *dst = malloc(count.len ? count.len : 1);
    if (!dst)
        return CLOCHE__NET_ENOMEM;
    if (ps->max_from) {
        sink fill = {.dst = dst};
        (void)scan(ps, in, len, 0, flags, &fill);
    } else if (len) {
        memcpy(dst, in, len);
    }
    *out = dst;
    *out_len = count.len;
    return 0;
}

size_t cloche__net_subst_count(const cloche__net_patset *ps,
                               const uint8_t *in, size_t len, int flags)
{
    if (ps->max_from == 0)
        return len;
    sink count = {0};
    (void)scan(ps, in, len, 0, flags | CLOCHE__NET_FEED_FINAL, &count);
    return count.rc ? SIZE_MAX : count.len;
}

int cloche__net_subst_into(const cloche__net_patset *ps, const uint8_t *in,
                           size_t len, int flags, cloche__net_buf *out)
{
    if (ps->max_from == 0)
        return cloche__net_buf_append(out, in, len);
    sink k = {.buf = out};
    (void)scan(ps, in, len, 0, flags | CLOCHE__NET_FEED_FINAL, &k);
    return k.rc;
}

int cloche__net_scrub(const cloche__net *n, const uint8_t *in, size_t len,
                      uint8_t **out, size_t *out_len)
{
    if (!out || !out_len || (!in && len))
        return CLOCHE__NET_EINVAL;
    cloche__net_patset none;
    cloche__net_patset_init(&none, NULL, 0, 0);
    return cloche__net_scrub_with(n ? &n->scrub_ps : &none, in, len, out,
                                  out_len);
}

/* ---- streaming scrubber --------------------------------------------------- */

struct cloche__net_scrubber {
    const cloche__net *n;
    cloche__net_stream st;
    cloche__net_buf out;
};

int cloche__net_scrubber_new(cloche__net_scrubber **out, const cloche__net *n)
{
    if (!out || !n)
        return CLOCHE__NET_EINVAL;
    *out = cloche__net_calloc(1, sizeof **out);
    if (!*out)
        return CLOCHE__NET_ENOMEM;
    (*out)->n = n;
    (*out)->out.max = SIZE_MAX / 2; /* bounded by the input it is fed */
    return 0;
}

int cloche__net_scrubber_feed(cloche__net_scrubber *s, const uint8_t *in,
                              size_t len, const uint8_t **out,
                              size_t *out_len)
{
    if (!s || !out || !out_len || (!in && len))
        return CLOCHE__NET_EINVAL;
    const cloche__net_patset *ps = &s->n->scrub_ps;
    size_t chunk = cloche__net_chunk(ps);
    cloche__net_buf_consume(&s->out, s->out.len);
    int rc = 0;
    for (size_t off = 0; off < len && rc == 0; off += chunk) {
        size_t c = len - off < chunk ? len - off : chunk;
        rc = cloche__net_stream_feed(ps, &s->st, in + off, c, 0, &s->out);
    }
    *out = s->out.p;
    *out_len = s->out.len;
    return rc;
}

int cloche__net_scrubber_finish(cloche__net_scrubber *s, const uint8_t **out,
                                size_t *out_len)
{
    if (!s || !out || !out_len)
        return CLOCHE__NET_EINVAL;
    cloche__net_buf_consume(&s->out, s->out.len);
    int rc = cloche__net_stream_feed(
        &s->n->scrub_ps, &s->st, NULL, 0,
        CLOCHE__NET_FEED_FINAL | CLOCHE__NET_FEED_MASK, &s->out);
    *out = s->out.p;
    *out_len = s->out.len;
    return rc;
}

void cloche__net_scrubber_free(cloche__net_scrubber *s)
{
    if (!s)
        return;
    cloche__net_stream_free(&s->st);
    cloche__net_buf_free(&s->out);
    cloche__net_dealloc(s);
}

/* ---- placeholders ------------------------------------------------------- */

int cloche__net_make_placeholder(char *out, size_t cap, const char *name)
{
    static const char PREFIX[] = "CLOCHE_SECRET_";
    static const char HEX[] = "0123456789abcdef";
    if (!out || !name)
        return CLOCHE__NET_EINVAL;
    size_t nl = strnlen(name, CLOCHE__NET_MAX_NAME + 1);
    if (nl == 0 || nl > CLOCHE__NET_MAX_NAME ||
        strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                     "0123456789_") != nl)
        return CLOCHE__NET_EINVAL;
    size_t need = sizeof PREFIX - 1 + nl + 1 + 32 + 1;
    if (cap < need)
        return CLOCHE__NET_EINVAL;
    uint8_t rnd[16];
    size_t got = 0;
    while (got < sizeof rnd) {
        ssize_t r = getrandom(rnd + got, sizeof rnd - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return CLOCHE__NET_EIO; /* never a weaker source */
        got += (size_t)r;
    }
    char *p = out;
    memcpy(p, PREFIX, sizeof PREFIX - 1);
    p += sizeof PREFIX - 1;
    memcpy(p, name, nl);
    p += nl;
    *p++ = '_';
    for (size_t i = 0; i < sizeof rnd; i++) {
        *p++ = HEX[rnd[i] >> 4];
        *p++ = HEX[rnd[i] & 15];
    }
    *p = '\0';
    cloche__net_wipe(rnd, sizeof rnd);
    return 0;
}
