/*
 * io.c - send, recv, flush, shutdown, close and poll on open connections.
 *
 * Owns the byte path between the guest and a transport (TCP or TLS):
 *
 *   guest -> send: charge max_bytes_out -> out stream -> outq -> transport
 *   transport -> in stream (value->placeholder, every secret) -> inq ->
 *            recv: charge max_bytes_in -> guest
 *
 * On a connection that carries a secret, the HTTP parser of http.c (heads
 * checked and substituted in header values) replaces the out stream, and
 * the one of http_resp.c (framing undone, then scrubbed) the in stream;
 * other connections pass their bytes out unchanged.
 *
 * Caps count what the guest sees (its own bytes out, scrubbed bytes in).
 * Every wait is bounded by min(deadline, now + io timeout) (poll: by its
 * deadline alone). A fatal read or transport error makes the connection
 * "broken": every later call reports it again, though bytes already
 * scrubbed and queued for the guest are delivered first. A fatal write
 * error ends only the write side (wr_err): the peer may still have sent a
 * response worth reading.
 *
 * The receive side never hands the guest a prefix of a secret value of
 * CLOCHE__NET_RELEASE_MAX bytes or more: such a tail waits for more data,
 * and at EOF it is masked. A shorter held tail is released once the peer
 * has been quiet for CLOCHE__NET_RELEASE_GRACE_MS, so that a response whose
 * last byte happens to begin a secret never stalls the guest.
 */
#define _DEFAULT_SOURCE

#include "net/net_int.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#define CLOSE_LINGER_MS 1000u

static int t_send(cloche__net_conn *c, const uint8_t *p, size_t len, size_t *k)
{
    return c->tls ? cloche__net_tls_send(c->tls, p, len, k)
                  : cloche__net_tcp_send(c->fd, p, len, k);
}

static int t_recv(cloche__net_conn *c, uint8_t *p, size_t cap, size_t *k)
{
    return c->tls ? cloche__net_tls_recv(c->tls, p, cap, k)
                  : cloche__net_tcp_recv(c->fd, p, cap, k);
}

static int is_want(int rc)
{
    return rc == CLOCHE__NET_WANT_READ || rc == CLOCHE__NET_WANT_WRITE;
}

static short want_events(int rc)
{
    return rc == CLOCHE__NET_WANT_READ ? POLLIN : POLLOUT;
}

static int set_broken(cloche__net_conn *c, int rc)
{
    if (!c->broken) {
        c->broken = 1;
        c->broken_code = rc;
    }
    return rc;
}

/* A failed write ends the write side only: the peer may still have sent
 * us a response (an HTTP server that answers before reading the body). */
static int set_wr_err(cloche__net_conn *c, int rc)
{
    if (!c->wr_err)
        c->wr_err = rc;
    return rc;
}

static int can_write(const cloche__net_conn *c)
{
    return !c->broken && !c->wr_err && !c->wr_shut;
}

static size_t outq_pending(const cloche__net_conn *c)
{
    return c->outq.len - c->outq_off;
}

static int lookup_fail(cloche__net *n, int h)
{
    if (!n)
        return CLOCHE__NET_EBADF;
    return cloche__net_set_error(n, CLOCHE__NET_EBADF,
                                 "handle %d is not an open connection", h);
}

/* Write outq until empty or the deadline. 0, ETIMEDOUT or a fatal status. */
static int drain(cloche__net_conn *c, uint64_t dl)
{
    while (outq_pending(c)) {
        size_t k = 0;
        int rc = t_send(c, c->outq.p + c->outq_off, outq_pending(c), &k);
        if (rc == 0) {
            c->outq_off += k;
            continue;
        }
        if (!is_want(rc))
            return set_wr_err(c, rc);
        int ev = cloche__net_wait_fd(c->fd, want_events(rc), dl);
        if (ev == 0)
            return CLOCHE__NET_ETIMEDOUT;
        if (ev < 0)
            return set_wr_err(c, ev);
    }
    cloche__net_buf_consume(&c->outq, c->outq.len);
    c->outq_off = 0;
    return 0;
}

/*
 * Guest bytes towards outq: through the HTTP request parser on a
 * connection that carries a secret, else through the substitution stream.
 * release: let a held tail (or partial request head) go unchanged. A
 * refused request ends the write side, with the reason on n.
 */
static int feed_out(cloche__net *n, cloche__net_conn *c, const uint8_t *p,
                    size_t k, int release)
{
    char msg[sizeof n->errmsg] = "";
    int rc = c->http ? cloche__net_http_send(c->http, &c->out_ps, p, k,
                                             release, &c->outq, msg,
                                             sizeof msg)
         : cloche__net_stream_feed(&c->out_ps, &c->out_st, p, k,
                                   release ? CLOCHE__NET_FEED_FINAL : 0,
                                   &c->outq);
    if (rc == 0)
        return 0;
    if (msg[0])
        cloche__net_set_error(n, rc, "%s", msg);
    else
        cloche__net_set_error(n, rc, "%s", cloche__net_strerror(rc));
    return set_wr_err(c, rc);
}

static size_t send_held(const cloche__net_conn *c)
{
    return c->http ? cloche__net_http_send_held(c->http)
                   : cloche__net_stream_held(&c->out_st);
}

/* Move the held send tail (unchanged: it never completed) into outq. */
static int release_send_tail(cloche__net *n, cloche__net_conn *c)
{
    return send_held(c) ? feed_out(n, c, NULL, 0, 1) : 0;
}

int cloche__net_send(cloche__net *n, int h, const uint8_t *data, size_t len,
                     uint64_t deadline_ns, size_t *sent)
{
    if (!sent || (!data && len))
        return CLOCHE__NET_EINVAL;
    *sent = 0;
    cloche__net_conn *c = cloche__net_lookup(n, h);
    if (!c)
        return lookup_fail(n, h);
    if (c->broken)
        return c->broken_code;
    if (c->wr_err)
        return c->wr_err;
    if (c->wr_shut)
        return cloche__net_set_error(n, CLOCHE__NET_ECLOSED,
                                     "connection is shut for writing");
    if (len == 0)
        return 0;
    if (n->used_out >= n->max_bytes_out)
        return cloche__net_set_error(n, CLOCHE__NET_ELIMIT,
                                     "outgoing byte limit (%llu per run)",
                                     (unsigned long long)n->max_bytes_out);
    if (len > n->max_bytes_out - n->used_out)
        len = (size_t)(n->max_bytes_out - n->used_out);
    uint64_t dl = cloche__net_deadline(deadline_ns, n->io_timeout_ms);
    size_t done = 0;
    int rc = 0;
    while (done < len && rc == 0) {
        rc = drain(c, dl); /* at most one chunk is ever queued */
        if (rc)
            break;
        size_t k = len - done < c->out_chunk ? len - done : c->out_chunk;
        rc = feed_out(n, c, data + done, k, 0);
        if (rc)
            return rc;
        done += k;
        n->used_out += k;
    }
    if (rc == 0)
        rc = drain(c, dl);
    if (rc == CLOCHE__NET_ETIMEDOUT && done > 0)
        rc = 0; /* consumed; the rest of outq goes first next time */
    *sent = done;
    if (rc == CLOCHE__NET_ETIMEDOUT)
        cloche__net_set_error(n, rc, "send timed out");
    return rc;
}

/* Copy scrubbed bytes to the guest within max_bytes_in. */
static int deliver(cloche__net *n, cloche__net_conn *c, uint8_t *buf,
                   size_t cap, size_t *got)
{
    size_t avail = c->inq.len - c->inq_off;
    if (n->used_in >= n->max_bytes_in)
        return cloche__net_set_error(n, CLOCHE__NET_ELIMIT,
                                     "incoming byte limit (%llu per run)",
                                     (unsigned long long)n->max_bytes_in);
    size_t k = avail < cap ? avail : cap;
    if (k > n->max_bytes_in - n->used_in)
        k = (size_t)(n->max_bytes_in - n->used_in);
    memcpy(buf, c->inq.p + c->inq_off, k);
    c->inq_off += k;
    if (c->inq_off == c->inq.len) {
        cloche__net_buf_consume(&c->inq, c->inq.len);
        c->inq_off = 0;
    }
    n->used_in += k;
    *got = k;
    return 0;
}

/* The receive stream whose short held tail a lull may release. */
/* Bytes from the transport towards inq, scrubbed (through the HTTP
 * response parser on a connection that carries a secret). flags: 0,
 * FINAL|MASK (EOF) or FINAL|CARRY (a lull). */
static int feed_in(cloche__net *n, cloche__net_conn *c, const uint8_t *p,
                   size_t k, int flags)
{
    char msg[sizeof n->errmsg] = "";
    int rc = c->http ? cloche__net_http_recv(c->http, &n->scrub_ps, p, k,
                                             flags, &c->inq, msg, sizeof msg)
                     : cloche__net_stream_feed(&n->scrub_ps, &c->in_st, p, k,
                                               flags, &c->inq);
    if (rc) {
        cloche__net_set_error(n, rc, "%s",
                              msg[0] ? msg : cloche__net_strerror(rc));
        return set_broken(c, rc);
    }
    int held = c->http ? cloche__net_http_holding(c->http)
                       : cloche__net_stream_held(&c->in_st) != 0;
    c->hold_since = held ? cloche__net_now_ns() : 0;
    return 0;
}

/* When a short held tail may be released (0: it may not). */
static uint64_t release_at(const cloche__net_conn *c)
{
    int can = c->http ? cloche__net_http_releasable(c->http)
                      : cloche__net_stream_held(&c->in_st) &&
                            cloche__net_stream_pending(&c->in_st) <
                                CLOCHE__NET_RELEASE_MAX;
    return can ? c->hold_since + CLOCHE__NET_RELEASE_GRACE_MS * 1000000ull
               : 0;
}

/* One step of reading: 0 if progress was made, ETIMEDOUT, or a status. */
static int read_step(cloche__net *n, cloche__net_conn *c, uint64_t dl)
{
    uint8_t tmp[16384];
    size_t cap = c->in_chunk < sizeof tmp ? c->in_chunk : sizeof tmp, k = 0;
    if (c->rd_eof) { /* the held tail goes out (masked), then EOF */
        int rc = feed_in(n, c, NULL, 0,
                         CLOCHE__NET_FEED_FINAL | CLOCHE__NET_FEED_MASK);
        c->rd_done = rc == 0;
        return rc;
    }
    int rc = t_recv(c, tmp, cap, &k);
    if (rc == 0) {
        c->rd_eof = k == 0;
        rc = k ? feed_in(n, c, tmp, k, 0) : 0;
        cloche__net_wipe(tmp, k);
        return rc;
    }
    if (!is_want(rc))
        return set_broken(c, rc);
    uint64_t rel = release_at(c), wdl = rel && rel < dl ? rel : dl;
    short ev = want_events(rc);
    if (outq_pending(c) && can_write(c))
        ev |= POLLOUT;
    int r = rel && cloche__net_now_ns() >= rel
                ? 0
                : cloche__net_wait_fd(c->fd, ev, wdl);
    if (r < 0)
        return set_broken(c, r);
    if (r > 0) {
        if ((r & POLLOUT) && outq_pending(c) && can_write(c))
            (void)drain(c, 0); /* errors surface on the next send */
        return 0;
    }
    if (rel && cloche__net_now_ns() >= rel) /* the peer went quiet */
        return feed_in(n, c, NULL, 0,
                       CLOCHE__NET_FEED_FINAL | CLOCHE__NET_FEED_CARRY);
    return CLOCHE__NET_ETIMEDOUT;
}

int cloche__net_recv(cloche__net *n, int h, uint8_t *buf, size_t cap,
                     uint64_t deadline_ns, size_t *got)
{
    if (!got || (!buf && cap))
        return CLOCHE__NET_EINVAL;
    *got = 0;
    cloche__net_conn *c = cloche__net_lookup(n, h);
    if (!c)
        return lookup_fail(n, h);
    if (cap == 0)
        return 0;
    uint64_t dl = cloche__net_deadline(deadline_ns, n->io_timeout_ms);
    if (can_write(c) && release_send_tail(n, c) == 0)
        (void)drain(c, 0); /* the peer may be waiting for it */
    for (;;) {
        if (c->inq.len > c->inq_off)
            return deliver(n, c, buf, cap, got);
        if (c->rd_done)
            return 0;
        if (c->broken)
            return c->broken_code;
        if (n->used_in >= n->max_bytes_in) /* do not wait for what we refuse */
            return deliver(n, c, buf, cap, got);
        int rc = read_step(n, c, dl);
        if (rc == CLOCHE__NET_ETIMEDOUT)
            return cloche__net_set_error(n, rc, "recv timed out");
        if (rc)
            return rc;
    }
}

int cloche__net_flush(cloche__net *n, int h, uint64_t deadline_ns)
{
    cloche__net_conn *c = cloche__net_lookup(n, h);
    if (!c)
        return lookup_fail(n, h);
    if (c->broken)
        return c->broken_code;
    if (c->wr_err)
        return c->wr_err;
    if (c->wr_shut)
        return 0; /* flushed when it was shut */
    int rc = release_send_tail(n, c);
    if (rc == 0)
        rc = drain(c, cloche__net_deadline(deadline_ns, n->io_timeout_ms));
    return rc;
}

int cloche__net_shutdown(cloche__net *n, int h, int how)
{
    cloche__net_conn *c = cloche__net_lookup(n, h);
    if (!c)
        return lookup_fail(n, h);
    if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
        return CLOCHE__NET_EINVAL;
    int rc = 0;
    if (how != SHUT_WR && !c->rd_done) {
        c->rd_done = 1;
        cloche__net_buf_consume(&c->inq, c->inq.len);
        c->inq_off = 0;
        if (!c->tls)
            (void)shutdown(c->fd, SHUT_RD);
    }
    if (how != SHUT_RD && !c->wr_shut) {
        if (can_write(c)) {
            rc = release_send_tail(n, c);
            if (rc == 0)
                rc = drain(c, cloche__net_deadline(CLOCHE__NET_NO_DEADLINE,
                                                   n->io_timeout_ms));
            cloche__net_tls_close_notify(c->tls);
        }
        c->wr_shut = 1;
        cloche__net_buf_consume(&c->outq, c->outq.len);
        c->outq_off = 0;
        (void)shutdown(c->fd, SHUT_WR);
    }
    return rc;
}

int cloche__net_close(cloche__net *n, int h)
{
    cloche__net_conn *c = cloche__net_lookup(n, h);
    if (!c)
        return lookup_fail(n, h);
    if (can_write(c) && release_send_tail(n, c) == 0) {
        uint64_t t = n->io_timeout_ms < CLOSE_LINGER_MS ? n->io_timeout_ms
                                                        : CLOSE_LINGER_MS;
        (void)drain(c, cloche__net_deadline(CLOCHE__NET_NO_DEADLINE, t));
    }
    cloche__net_conn_remove(n, h);
    return 0;
}

/* ---- poll --------------------------------------------------------------------- */

/* What is ready without asking the kernel; *wake lowered to a release. */
static unsigned ready_now(cloche__net_conn *c, unsigned events,
                          uint64_t *wake)
{
    unsigned r = c->broken ? CLOCHE__NET_POLLERR : 0;
    if (events & CLOCHE__NET_POLLIN) {
        uint64_t rel = release_at(c);
        if (c->inq.len > c->inq_off || c->rd_eof || c->rd_done || c->broken ||
            (c->tls && cloche__net_tls_pending(c->tls) > 0))
            r |= CLOCHE__NET_POLLIN;
        else if (rel && rel <= cloche__net_now_ns())
            r |= CLOCHE__NET_POLLIN;
        else if (rel && rel < *wake)
            *wake = rel;
    }
    if ((events & CLOCHE__NET_POLLOUT) && !can_write(c))
        r |= CLOCHE__NET_POLLOUT; /* send fails at once: not a wait */
    return r;
}

static void from_kernel(cloche__net_conn *c, cloche__net_pollfd *f,
                        short kev)
{
    if (kev & POLLIN)
        f->revents |= f->events & CLOCHE__NET_POLLIN;
    if (kev & POLLHUP)
        f->revents |= CLOCHE__NET_POLLHUP | (f->events & CLOCHE__NET_POLLIN);
    if (kev & POLLERR)
        f->revents |= CLOCHE__NET_POLLERR;
    if ((kev & POLLOUT) && outq_pending(c) && can_write(c))
        (void)drain(c, 0);
    if ((kev & POLLOUT) && !outq_pending(c))
        f->revents |= f->events & CLOCHE__NET_POLLOUT;
}

static int poll_ms_until(uint64_t deadline_ns)
{
    if (deadline_ns == CLOCHE__NET_NO_DEADLINE)
        return 60000;
    uint64_t now = cloche__net_now_ns();
    if (deadline_ns <= now)
        return 0;
    uint64_t ms = (deadline_ns - now + 999999u) / 1000000u;
    return ms > 60000u ? 60000 : (int)ms;
}

/* One pass: fill pf, collect ready-now flags; returns how many are ready. */
static size_t poll_prepare(cloche__net *n, cloche__net_pollfd *fds,
                           size_t nfds, struct pollfd *pf, uint64_t *wake)
{
    size_t ready = 0;
    for (size_t i = 0; i < nfds; i++) {
        cloche__net_conn *c = cloche__net_lookup(n, fds[i].handle);
        pf[i].fd = -1;
        pf[i].events = pf[i].revents = 0;
        fds[i].revents = c ? ready_now(c, fds[i].events, wake)
                           : CLOCHE__NET_POLLNVAL;
        if (c && !c->broken) {
            pf[i].fd = c->fd;
            if ((fds[i].events & CLOCHE__NET_POLLIN) &&
                !(fds[i].revents & CLOCHE__NET_POLLIN))
                pf[i].events |= POLLIN;
            if (can_write(c) && ((fds[i].events & CLOCHE__NET_POLLOUT) ||
                                 outq_pending(c)))
                pf[i].events |= POLLOUT;
        }
        ready += fds[i].revents != 0;
    }
    return ready;
}

int cloche__net_poll(cloche__net *n, cloche__net_pollfd *fds, size_t nfds,
                     uint64_t deadline_ns, size_t *nready)
{
    if (!n || !nready || (!fds && nfds) || nfds > CLOCHE__NET_MAX_OPEN)
        return CLOCHE__NET_EINVAL;
    *nready = 0;
    struct pollfd pf[CLOCHE__NET_MAX_OPEN];
    for (size_t i = 0; i < nfds; i++) {
        cloche__net_conn *c = cloche__net_lookup(n, fds[i].handle);
        if (c && can_write(c) && release_send_tail(n, c) == 0)
            (void)drain(c, 0);
    }
    for (;;) {
        uint64_t wake = deadline_ns;
        size_t ready = poll_prepare(n, fds, nfds, pf, &wake);
        int ms = ready ? 0 : poll_ms_until(wake);
        int rc = poll(pf, (nfds_t)nfds, ms);
        if (rc < 0 && errno != EINTR)
            return CLOCHE__NET_EIO;
        for (size_t i = 0; rc > 0 && i < nfds; i++) {
            cloche__net_conn *c = cloche__net_lookup(n, fds[i].handle);
            if (c && pf[i].revents)
                from_kernel(c, &fds[i], pf[i].revents);
        }
        ready = 0;
        for (size_t i = 0; i < nfds; i++)
            ready += fds[i].revents != 0;
        if (ready || cloche__net_now_ns() >= deadline_ns) {
            *nready = ready;
            return 0;
        }
    }
}
