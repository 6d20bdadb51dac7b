/*
 * test_net_tcp.c - plain TCP against servers started here on loopback:
 * round trips, EOF, refusals, every timeout, the byte and connection caps,
 * handles, shutdown, poll, and the "resolves to 127.0.0.1" rule with the
 * private check on and off.
 *
 * Names are mapped to loopback by a resolver hook (except "localhost",
 * which goes through getaddrinfo and /etc/hosts). Timing assertions use
 * generous upper bounds; nothing waits on a non-loopback address.
 */
#define _DEFAULT_SOURCE

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "net/net_int.h"
#include "servers.h"

#define EQ assert_int_equal
#define MS 1000000ull
#define SOON(ms) (cloche__net_now_ns() + (uint64_t)(ms) * MS)
#define NOW_MS() (cloche__net_now_ns() / MS)

typedef struct dns {
    const char *addrs[4];
    size_t n;
    int calls;
} dns;

static int dns_resolve(void *ud, const char *host, struct sockaddr_storage *out,
                       size_t max, size_t *n)
{
    (void)host;
    dns *d = ud;
    d->calls++;
    for (size_t i = 0; i < d->n && i < max; i++) {
        memset(&out[i], 0, sizeof out[i]);
        if (strchr(d->addrs[i], ':')) {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&out[i];
            a->sin6_family = AF_INET6;
            inet_pton(AF_INET6, d->addrs[i], &a->sin6_addr);
        } else {
            struct sockaddr_in *a = (struct sockaddr_in *)&out[i];
            a->sin_family = AF_INET;
            inet_pton(AF_INET, d->addrs[i], &a->sin_addr);
        }
    }
    *n = d->n;
    return 0;
}

static const cloche__net_rule ALLOW[] = {
    {"echo.test", 0}, {"localhost", 0}, {"127.0.0.1", 0}, {"::1", 0}};

typedef struct fx {
    dns d;
    cloche__net_policy p;
    cloche__net *n;
    srv *s;
    char err[256];
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->d = (dns){.addrs = {"127.0.0.1"}, .n = 1};
    f->p = (cloche__net_policy){.allow = ALLOW, .nallow = 4,
                                .allow_private = 1, .resolve = dns_resolve,
                                .resolve_ud = &f->d, .io_timeout_ms = 3000,
                                .connect_timeout_ms = 3000};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    cloche__net_free(f->n);
    srv_stop(f->s);
    free(f);
    cloche__net_alloc_fail_after(-1);
    /* a getaddrinfo helper thread drops its share of the lookup a moment
     * after handing the answer over: give it that moment */
    for (int i = 0; i < 1000 && cloche__net_alloc_live() != 0; i++)
        usleep(1000);
    assert_int_equal(cloche__net_alloc_live(), 0);
    return 0;
}

static void start(fx *f, srv_mode mode)
{
    srv_config c = {.mode = mode};
    assert_int_equal(srv_start(&f->s, &c), 0);
    assert_int_equal(cloche__net_new(&f->n, &f->p), 0);
}

static int dial(fx *f, const char *host, uint16_t port)
{
    return cloche__net_connect(f->n, host, port, 0, SOON(3000), f->err,
                               sizeof f->err);
}

static void send_all(cloche__net *n, int h, const void *p, size_t len)
{
    size_t sent = 0;
    assert_int_equal(cloche__net_send(n, h, p, len, SOON(3000), &sent), 0);
    assert_int_equal(sent, len);
}

/* The server accepts in its own thread: wait for it to count n. */
static size_t accepted(srv *s, size_t n)
{
    for (int i = 0; i < 1500 && srv_accepted(s) < n; i++)
        usleep(2000);
    return srv_accepted(s);
}

/* Receive exactly len bytes (or fail). */
static void recv_exact(cloche__net *n, int h, uint8_t *buf, size_t len)
{
    size_t have = 0;
    while (have < len) {
        size_t got = 0;
        int rc = cloche__net_recv(n, h, buf + have, len - have, SOON(3000),
                                  &got);
        if (rc != 0 || got == 0)
            fail_msg("recv: rc %d got %zu after %zu of %zu", rc, got, have,
                     len);
        have += got;
    }
}

/* ---- round trips ------------------------------------------------------------------ */

static void test_echo_round_trip_and_eof(void **state)
{
    fx *f = *state;
    start(f, SRV_ECHO);
    int h = dial(f, "echo.test", srv_port(f->s));
    assert_true(h >= 0);
    EQ(f->d.calls, 1);
    send_all(f->n, h, "hello", 5);
    uint8_t buf[16];
    recv_exact(f->n, h, buf, 5);
    assert_memory_equal(buf, "hello", 5);
    /* half-close: the server sees EOF, finishes, closes: we read EOF */
    EQ(cloche__net_shutdown(f->n, h, SHUT_WR), 0);
    size_t got = 99;
    EQ(cloche__net_recv(f->n, h, buf, sizeof buf, SOON(3000), &got), 0);
    EQ(got, 0);
    EQ(cloche__net_recv(f->n, h, buf, sizeof buf, SOON(3000), &got), 0);
    EQ(got, 0); /* EOF stays EOF */
    size_t sent;
    EQ(cloche__net_send(f->n, h, (const uint8_t *)"x", 1, SOON(100), &sent), CLOCHE__NET_ECLOSED);
    EQ(cloche__net_close(f->n, h), 0);
    EQ(cloche__net_close(f->n, h), CLOCHE__NET_EBADF);
}

static void test_private_refused_unless_allowed(void **state)
{
    fx *f = *state;
    f->p.allow_private = 0;
    start(f, SRV_ECHO);
    EQ(dial(f, "echo.test", srv_port(f->s)), CLOCHE__NET_EPRIVATE);
    assert_non_null(strstr(f->err, "127.0.0.1"));
    assert_non_null(strstr(f->err, "loopback"));
    EQ(dial(f, "127.0.0.1", srv_port(f->s)), CLOCHE__NET_EPRIVATE);
    EQ(dial(f, "localhost", srv_port(f->s)), CLOCHE__NET_EPRIVATE);
    f->d = (dns){.addrs = {"8.8.8.8", "127.0.0.1"}, .n = 2};
    EQ(dial(f, "echo.test", srv_port(f->s)), CLOCHE__NET_EPRIVATE);
    usleep(100000);
    EQ(srv_accepted(f->s), 0); /* nothing ever reached the server */
    /* the same name with allow_private: connects to the test server */
    cloche__net_free(f->n);
    f->p.allow_private = 1;
    f->d = (dns){.addrs = {"127.0.0.1"}, .n = 1};
    assert_int_equal(cloche__net_new(&f->n, &f->p), 0);
    int h = dial(f, "echo.test", srv_port(f->s));
    assert_true(h >= 0);
    send_all(f->n, h, "ok", 2);
    uint8_t buf[2];
    recv_exact(f->n, h, buf, 2);
    EQ(accepted(f->s, 1), 1);
}

static void test_getaddrinfo_localhost(void **state)
{
    fx *f = *state;
    f->p.resolve = NULL; /* the real resolver: /etc/hosts */
    start(f, SRV_ECHO);
    int h = dial(f, "localhost", srv_port(f->s));
    if (h < 0)
        fail_msg("localhost: %s", f->err);
    send_all(f->n, h, "abc", 3);
    uint8_t buf[3];
    recv_exact(f->n, h, buf, 3);
    assert_memory_equal(buf, "abc", 3);
    h = dial(f, "LOCALHOST.", srv_port(f->s)); /* same host, normalized */
    assert_true(h >= 0);
}

static void test_ipv6_and_fallback(void **state)
{
    fx *f = *state;
    srv_config c6 = {.family = AF_INET6, .mode = SRV_ECHO};
    srv *s6 = NULL;
    if (srv_start(&s6, &c6) != 0)
        skip();
    start(f, SRV_ECHO);
    /* ::1 directly, as a literal */
    int h = dial(f, "::1", srv_port(s6));
    assert_true(h >= 0);
    send_all(f->n, h, "six", 3);
    uint8_t buf[3];
    recv_exact(f->n, h, buf, 3);
    /* [::1 (nobody listens on this port there), 127.0.0.1]: falls back */
    f->d = (dns){.addrs = {"::1", "127.0.0.1"}, .n = 2};
    h = dial(f, "echo.test", srv_port(f->s));
    assert_true(h >= 0);
    EQ(accepted(f->s, 1), 1);
    srv_stop(s6);
}

/* ---- failures and timeouts ------------------------------------------------------------ */

static uint16_t closed_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof a;
    assert_int_equal(bind(s, (struct sockaddr *)&a, l), 0);
    getsockname(s, (struct sockaddr *)&a, &l);
    close(s);
    return ntohs(a.sin_port);
}

static void test_connect_refused(void **state)
{
    fx *f = *state;
    start(f, SRV_ECHO);
    EQ(dial(f, "echo.test", closed_port()), CLOCHE__NET_ECONNREFUSED);
    assert_non_null(strstr(f->err, "refused"));
    EQ(f->n->used_connections, 1);
}

/*
 * A listener with backlog 0 that never accepts: once its queue holds one
 * connection, the kernel drops further SYNs, so a connect stays pending.
 * Fills the queue; returns the listener (and the fillers) or skips.
 */
static int full_listener(uint16_t *port, int *fillers, size_t *nfill)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    assert_int_equal(bind(l, (struct sockaddr *)&a, len), 0);
    assert_int_equal(listen(l, 0), 0);
    getsockname(l, (struct sockaddr *)&a, &len);
    *port = ntohs(a.sin_port);
    *nfill = 0;
    for (int i = 0; i < 8; i++) {
        int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        (void)connect(c, (struct sockaddr *)&a, len);
        fillers[(*nfill)++] = c;
        struct pollfd p = {.fd = c, .events = POLLOUT, .revents = 0};
        if (poll(&p, 1, 300) == 0)
            return l; /* this one hangs: the queue is full */
    }
    return -1;
}

static void test_connect_timeout(void **state)
{
    fx *f = *state;
    start(f, SRV_ECHO);
    uint16_t port;
    int fill[8];
    size_t nfill;
    int l = full_listener(&port, fill, &nfill);
    if (l < 0) {
        for (size_t i = 0; i < nfill; i++)
            close(fill[i]);
        skip();
    }
    /* the caller's deadline */
    uint64_t t0 = NOW_MS();
    int rc = cloche__net_connect(f->n, "echo.test", port, 0, SOON(200), f->err,
                                 sizeof f->err);
    uint64_t dt = NOW_MS() - t0;
    EQ(rc, CLOCHE__NET_ETIMEDOUT);
    assert_true(dt >= 150 && dt < 2000);
    /* the policy's connect timeout, with no caller deadline */
    cloche__net_free(f->n);
    f->p.connect_timeout_ms = 150;
    assert_int_equal(cloche__net_new(&f->n, &f->p), 0);
    t0 = NOW_MS();
    rc = cloche__net_connect(f->n, "echo.test", port, 0,
                             CLOCHE__NET_NO_DEADLINE, f->err, sizeof f->err);
    dt = NOW_MS() - t0;
    EQ(rc, CLOCHE__NET_ETIMEDOUT);
    assert_true(dt >= 100 && dt < 2000);
    for (size_t i = 0; i < nfill; i++)
        close(fill[i]);
    close(l);
}

static void test_io_timeouts(void **state)
{
    fx *f = *state;
    f->p.io_timeout_ms = 150;
    start(f, SRV_SILENT);
    int h = dial(f, "echo.test", srv_port(f->s));
    assert_true(h >= 0);
    uint8_t buf[8];
    size_t got = 7;
    /* the policy's I/O timeout */
    uint64_t t0 = NOW_MS();
    EQ(cloche__net_recv(f->n, h, buf, sizeof buf, CLOCHE__NET_NO_DEADLINE,
                        &got),
       CLOCHE__NET_ETIMEDOUT);
    uint64_t dt = NOW_MS() - t0;
    EQ(got, 0);
    assert_true(dt >= 100 && dt < 2000);
    /* a nearer caller deadline wins */
    cloche__net_free(f->n);
    f->p.io_timeout_ms = 5000;
    assert_int_equal(cloche__net_new(&f->n, &f->p), 0);
    h = dial(f, "echo.test", srv_port(f->s));
    t0 = NOW_MS();
    EQ(cloche__net_recv(f->n, h, buf, sizeof buf, SOON(60), &got),
       CLOCHE__NET_ETIMEDOUT);
    dt = NOW_MS() - t0;
    assert_true(dt >= 40 && dt < 2000);
    /* a past deadline is a non-blocking call */
    t0 = NOW_MS();
    EQ(cloche__net_recv(f->n, h, buf, sizeof buf, 0, &got),
       CLOCHE__NET_ETIMEDOUT);
    assert_true(NOW_MS() - t0 < 50);
    /* the connection is still fine after a timeout */
    send_all(f->n, h, "late", 4);
    EQ(srv_wait_received(f->s, 1, 4, 3000), 0);
}

/* A peer that stops reading: send blocks until its deadline, then reports
 * what was consumed. */
static void test_send_timeout(void **state)
{
    fx *f = *state;
    f->p.io_timeout_ms = 200;
    f->p.max_bytes_out = UINT64_MAX;
    start(f, SRV_SILENT); /* unused: the peer here is a raw listener */
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    assert_int_equal(bind(l, (struct sockaddr *)&a, len), 0);
    assert_int_equal(listen(l, 4), 0);
    getsockname(l, (struct sockaddr *)&a, &len);
    int h = dial(f, "echo.test", ntohs(a.sin_port));
    assert_true(h >= 0);
    int peer = accept(l, NULL, NULL); /* accepted, never read */
    static uint8_t chunk[1 << 16];
    size_t total = 0, sent = 0;
    int rc = 0;
    uint64_t t0 = NOW_MS();
    for (int i = 0; i < 2000 && rc == 0; i++) {
        rc = cloche__net_send(f->n, h, chunk, sizeof chunk, SOON(5000), &sent);
        total += sent;
    }
    EQ(rc, CLOCHE__NET_ETIMEDOUT);
    EQ(sent, 0);
    assert_true(total > 0);
    assert_true(NOW_MS() - t0 < 10000);
    close(peer);
    close(l);
}

static void test_peer_close(void **state)
{
    fx *f = *state;
    start(f, SRV_CLOSE);
    int h = dial(f, "echo.test", srv_port(f->s));
    assert_true(h >= 0);
    uint8_t buf[4];
    size_t got = 1;
    EQ(cloche__net_recv(f->n, h, buf, sizeof buf, SOON(3000), &got), 0);
    EQ(got, 0);
    /* writing to a closed peer: reset, reported as ECLOSED (no SIGPIPE) */
    int rc = 0;
    for (int i = 0; i < 50 && rc == 0; i++) {
        size_t sent;
        rc = cloche__net_send(f->n, h, (const uint8_t *)"data", 4, SOON(1000), &sent);
        usleep(2000);
    }
    EQ(rc, CLOCHE__NET_ECLOSED);
    size_t sent;
    EQ(cloche__net_send(f->n, h, (const uint8_t *)"data", 4, SOON(1000), &sent),
       CLOCHE__NET_ECLOSED);
}

/* ---- caps ------------------------------------------------------------------------- */

static void test_byte_caps(void **state)
{
    fx *f = *state;
    f->p.max_bytes_out = 10;
    f->p.max_bytes_in = 6;
    start(f, SRV_ECHO);
    int h = dial(f, "echo.test", srv_port(f->s));
    assert_true(h >= 0);
    size_t sent = 0;
    EQ(cloche__net_send(f->n, h, (const uint8_t *)"0123456789abcde", 15, SOON(3000), &sent), 0);
    EQ(sent, 10); /* cut at the cap */
    EQ(cloche__net_send(f->n, h, (const uint8_t *)"x", 1, SOON(3000), &sent),
       CLOCHE__NET_ELIMIT);
    EQ(sent, 0);
    EQ(srv_wait_received(f->s, 0, 10, 3000), 0);
    uint8_t buf[32];
    size_t have = 0, got = 0;
    while (have < 6) {
        EQ(cloche__net_recv(f->n, h, buf + have, sizeof buf - have, SOON(3000),
                            &got),
           0);
        assert_true(got > 0);
        have += got;
    }
    EQ(have, 6);
    EQ(cloche__net_recv(f->n, h, buf, sizeof buf, SOON(3000), &got),
       CLOCHE__NET_ELIMIT);
    assert_non_null(strstr(cloche__net_errmsg(f->n), "limit"));
    /* a new run: fresh budgets, and the queued echo is still there */
    cloche__net_reset_counters(f->n);
    EQ(cloche__net_recv(f->n, h, buf, sizeof buf, SOON(3000), &got), 0);
    assert_true(got > 0 && got <= 4);
    EQ(cloche__net_send(f->n, h, (const uint8_t *)"x", 1, SOON(3000), &sent), 0);
    EQ(sent, 1);
}

static void test_connection_cap(void **state)
{
    fx *f = *state;
    f->p.max_connections = 2;
    start(f, SRV_ECHO);
    int a = dial(f, "echo.test", srv_port(f->s));
    int b = dial(f, "echo.test", srv_port(f->s));
    assert_true(a >= 0 && b >= 0 && a != b);
    EQ(dial(f, "echo.test", srv_port(f->s)), CLOCHE__NET_ELIMIT);
    EQ(cloche__net_close(f->n, a), 0);
    /* closing does not give the budget back: it is per run */
    EQ(dial(f, "echo.test", srv_port(f->s)), CLOCHE__NET_ELIMIT);
    EQ(f->d.calls, 2);
    cloche__net_reset_counters(f->n);
    int c = dial(f, "echo.test", srv_port(f->s));
    assert_true(c >= 0);
    cloche__net_close_all(f->n);
    size_t sent;
    EQ(cloche__net_send(f->n, b, (const uint8_t *)"x", 1, SOON(100), &sent), CLOCHE__NET_EBADF);
    EQ(cloche__net_send(f->n, c, (const uint8_t *)"x", 1, SOON(100), &sent), CLOCHE__NET_EBADF);
}

static void test_open_table_full(void **state)
{
    fx *f = *state;
    f->p.max_connections = UINT32_MAX;
    start(f, SRV_SILENT);
    /* a raw listener with a deep queue: connects complete without accept */
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    assert_int_equal(bind(l, (struct sockaddr *)&a, len), 0);
    assert_int_equal(listen(l, 1024), 0);
    getsockname(l, (struct sockaddr *)&a, &len);
    int last = -1;
    for (unsigned i = 0; i < CLOCHE__NET_MAX_OPEN; i++) {
        last = dial(f, "echo.test", ntohs(a.sin_port));
        if (last < 0)
            fail_msg("connection %u: %s", i, f->err);
    }
    EQ(dial(f, "echo.test", ntohs(a.sin_port)), CLOCHE__NET_ELIMIT);
    EQ(cloche__net_close(f->n, last), 0);
    assert_true(dial(f, "echo.test", ntohs(a.sin_port)) >= 0);
    cloche__net_close_all(f->n);
    close(l);
}

/* ---- handles -------------------------------------------------------------------- */

static void test_bad_handles(void **state)
{
    fx *f = *state;
    start(f, SRV_ECHO);
    uint8_t buf[4];
    size_t k;
    static const int bad[] = {-1, -1000, 0, 1, 255, 256, 0x7fffffff};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        EQ(cloche__net_send(f->n, bad[i], (const uint8_t *)"x", 1, 0, &k), CLOCHE__NET_EBADF);
        EQ(cloche__net_recv(f->n, bad[i], buf, 4, 0, &k), CLOCHE__NET_EBADF);
        EQ(cloche__net_shutdown(f->n, bad[i], SHUT_RDWR), CLOCHE__NET_EBADF);
        EQ(cloche__net_flush(f->n, bad[i], 0), CLOCHE__NET_EBADF);
        EQ(cloche__net_close(f->n, bad[i]), CLOCHE__NET_EBADF);
    }
    /* a stale handle never reaches the connection now in its slot */
    int h1 = dial(f, "echo.test", srv_port(f->s));
    assert_true(h1 >= 0);
    EQ(cloche__net_close(f->n, h1), 0);
    int h2 = dial(f, "echo.test", srv_port(f->s));
    assert_true(h2 >= 0);
    assert_int_not_equal(h1, h2);
    EQ(h1 & 0xff, h2 & 0xff); /* same slot, new generation */
    EQ(cloche__net_send(f->n, h1, (const uint8_t *)"x", 1, 0, &k), CLOCHE__NET_EBADF);
    EQ(cloche__net_send(f->n, h2, (const uint8_t *)"x", 1, SOON(1000), &k), 0);
    /* argument errors */
    EQ(cloche__net_send(f->n, h2, NULL, 1, 0, &k), CLOCHE__NET_EINVAL);
    EQ(cloche__net_send(f->n, h2, (const uint8_t *)"x", 1, 0, NULL), CLOCHE__NET_EINVAL);
    EQ(cloche__net_recv(f->n, h2, NULL, 1, 0, &k), CLOCHE__NET_EINVAL);
    EQ(cloche__net_shutdown(f->n, h2, 7), CLOCHE__NET_EINVAL);
    EQ(cloche__net_recv(f->n, h2, buf, 0, 0, &k), 0); /* cap 0: nothing */
    EQ(k, 0);
    EQ(cloche__net_send(f->n, h2, (const uint8_t *)"", 0, 0, &k), 0);
    EQ(cloche__net_send(NULL, h2, (const uint8_t *)"x", 1, 0, &k), CLOCHE__NET_EBADF);
}

static void test_shutdown_read(void **state)
{
    fx *f = *state;
    start(f, SRV_ECHO);
    int h = dial(f, "echo.test", srv_port(f->s));
    send_all(f->n, h, "abc", 3);
    EQ(srv_wait_received(f->s, 0, 3, 3000), 0);
    EQ(cloche__net_shutdown(f->n, h, SHUT_RD), 0);
    uint8_t buf[8];
    size_t got = 5;
    EQ(cloche__net_recv(f->n, h, buf, sizeof buf, SOON(1000), &got), 0);
    EQ(got, 0);
    send_all(f->n, h, "def", 3); /* the write side still works */
    EQ(srv_wait_received(f->s, 0, 6, 3000), 0);
    EQ(cloche__net_shutdown(f->n, h, SHUT_RDWR), 0);
    size_t sent;
    EQ(cloche__net_send(f->n, h, (const uint8_t *)"x", 1, 0, &sent), CLOCHE__NET_ECLOSED);
}

/* ---- poll --------------------------------------------------------------------------- */

static void test_poll(void **state)
{
    fx *f = *state;
    start(f, SRV_ECHO);
    int h = dial(f, "echo.test", srv_port(f->s));
    assert_true(h >= 0);
    cloche__net_pollfd p[2] = {{h, CLOCHE__NET_POLLIN, 0},
                               {h + 1000, CLOCHE__NET_POLLIN, 0}};
    size_t nready = 9;
    EQ(cloche__net_poll(f->n, p, 1, 0, &nready), 0); /* only checks */
    EQ(nready, 0);
    EQ(p[0].revents, 0);
    uint64_t t0 = NOW_MS();
    EQ(cloche__net_poll(f->n, p, 1, SOON(80), &nready), 0);
    assert_true(NOW_MS() - t0 >= 60);
    EQ(nready, 0);
    send_all(f->n, h, "ping", 4);
    EQ(cloche__net_poll(f->n, p, 1, SOON(3000), &nready), 0);
    EQ(nready, 1);
    EQ(cloche__net_poll(f->n, p, 2, SOON(3000), &nready), 0);
    EQ(nready, 2);
    EQ(p[0].revents & CLOCHE__NET_POLLIN, CLOCHE__NET_POLLIN);
    EQ(p[1].revents, CLOCHE__NET_POLLNVAL);
    uint8_t buf[4];
    recv_exact(f->n, h, buf, 4);
    p[0].events = CLOCHE__NET_POLLOUT;
    EQ(cloche__net_poll(f->n, p, 1, SOON(3000), &nready), 0);
    EQ(nready, 1);
    EQ(p[0].revents, CLOCHE__NET_POLLOUT);
    /* after the peer's EOF: readable (recv returns 0 at once) */
    EQ(cloche__net_shutdown(f->n, h, SHUT_WR), 0);
    p[0].events = CLOCHE__NET_POLLIN;
    EQ(cloche__net_poll(f->n, p, 1, SOON(3000), &nready), 0);
    assert_true(p[0].revents & CLOCHE__NET_POLLIN);
    size_t got = 1;
    EQ(cloche__net_recv(f->n, h, buf, 4, SOON(3000), &got), 0);
    EQ(got, 0);
    EQ(cloche__net_poll(f->n, p, CLOCHE__NET_MAX_OPEN + 1, 0, &nready),
       CLOCHE__NET_EINVAL);
    EQ(cloche__net_poll(f->n, NULL, 1, 0, &nready), CLOCHE__NET_EINVAL);
}

/* 2 MiB through the echo server with non-blocking sends and receives driven
 * by poll: partial writes, queued output and reads all interleave. */
static void test_bulk_echo_with_poll(void **state)
{
    fx *f = *state;
    start(f, SRV_ECHO);
    int h = dial(f, "echo.test", srv_port(f->s));
    assert_true(h >= 0);
    const size_t total = 2u << 20;
    uint8_t *out = malloc(total), *in = malloc(total);
    for (size_t i = 0; i < total; i++)
        out[i] = (uint8_t)(i * 7 + (i >> 9));
    size_t sent = 0, got = 0;
    uint64_t end = SOON(15000);
    while (got < total && cloche__net_now_ns() < end) {
        cloche__net_pollfd p = {h, CLOCHE__NET_POLLIN, 0};
        if (sent < total)
            p.events |= CLOCHE__NET_POLLOUT;
        size_t nready;
        EQ(cloche__net_poll(f->n, &p, 1, SOON(2000), &nready), 0);
        size_t k = 0;
        if ((p.revents & CLOCHE__NET_POLLOUT) && sent < total) {
            int rc = cloche__net_send(f->n, h, out + sent, total - sent, 0, &k);
            assert_true(rc == 0 || rc == CLOCHE__NET_ETIMEDOUT);
            sent += k;
        }
        if (p.revents & CLOCHE__NET_POLLIN) {
            int rc = cloche__net_recv(f->n, h, in + got, total - got, 0, &k);
            assert_true(rc == 0 || rc == CLOCHE__NET_ETIMEDOUT);
            assert_true(rc != 0 || k > 0);
            got += k;
        }
    }
    EQ(got, total);
    assert_memory_equal(in, out, total);
    free(out);
    free(in);
}

static void test_connect_out_of_memory(void **state)
{
    fx *f = *state;
    start(f, SRV_ECHO);
    cloche__net_alloc_fail_after(0);
    EQ(dial(f, "echo.test", srv_port(f->s)), CLOCHE__NET_ENOMEM);
    cloche__net_alloc_fail_after(-1);
    int h = dial(f, "echo.test", srv_port(f->s));
    assert_true(h >= 0);
    send_all(f->n, h, "z", 1);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_echo_round_trip_and_eof),
        T(test_private_refused_unless_allowed),
        T(test_getaddrinfo_localhost),
        T(test_ipv6_and_fallback),
        T(test_connect_refused),
        T(test_connect_timeout),
        T(test_io_timeouts),
        T(test_send_timeout),
        T(test_peer_close),
        T(test_byte_caps),
        T(test_connection_cap),
        T(test_open_table_full),
        T(test_bad_handles),
        T(test_shutdown_read),
        T(test_poll),
        T(test_bulk_echo_with_poll),
        T(test_connect_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
