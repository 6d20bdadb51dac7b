/*
 * test_net_tls.c - the TLS client against OpenSSL servers started here,
 * with a CA and certificates generated at run time: what verifies, every
 * way verification must fail, SNI, IP literals, timeouts, bulk transfer,
 * and secrets substituted only inside TLS by default.
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
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "net/net_int.h"
#include "servers.h"

#define EQ assert_int_equal
#define MS 1000000ull
#define SOON(ms) (cloche__net_now_ns() + (uint64_t)(ms) * MS)

/* Material shared by all tests (group setup). */
static struct {
    EVP_PKEY *ca_key, *key;
    X509 *ca, *good, *wrong, *expired, *self;
    char ca_file[64];
    SSL_CTX *s_good, *s_wrong, *s_expired, *s_self, *s_old;
} M;

static int group_setup(void **state)
{
    (void)state;
    M.ca_key = cert_key();
    M.key = cert_key();
    M.ca = cert_make(M.ca_key, NULL, NULL, "cloche test CA", NULL, 1, -1, 30);
    M.good = cert_make(M.key, M.ca, M.ca_key, "localhost",
                       "DNS:localhost,IP:127.0.0.1,IP:::1", 0, -1, 30);
    M.wrong = cert_make(M.key, M.ca, M.ca_key, "wrong.example",
                        "DNS:wrong.example", 0, -1, 30);
    M.expired = cert_make(M.key, M.ca, M.ca_key, "localhost", "DNS:localhost",
                          0, -30, -1);
    M.self = cert_make(M.key, NULL, NULL, "localhost", "DNS:localhost", 0, -1,
                       30);
    if (!M.ca || !M.good || !M.wrong || !M.expired || !M.self ||
        cert_write_pem(M.ca, M.ca_file, sizeof M.ca_file) != 0)
        return -1;
    M.s_good = cert_server_ctx(M.good, M.key, 0);
    M.s_wrong = cert_server_ctx(M.wrong, M.key, 0);
    M.s_expired = cert_server_ctx(M.expired, M.key, 0);
    M.s_self = cert_server_ctx(M.self, M.key, 0);
    M.s_old = cert_server_ctx(M.good, M.key, TLS1_1_VERSION);
    return M.s_good && M.s_wrong && M.s_expired && M.s_self && M.s_old ? 0
                                                                       : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    unlink(M.ca_file);
    SSL_CTX_free(M.s_good);
    SSL_CTX_free(M.s_wrong);
    SSL_CTX_free(M.s_expired);
    SSL_CTX_free(M.s_self);
    SSL_CTX_free(M.s_old);
    X509_free(M.ca);
    X509_free(M.good);
    X509_free(M.wrong);
    X509_free(M.expired);
    X509_free(M.self);
    EVP_PKEY_free(M.ca_key);
    EVP_PKEY_free(M.key);
    return 0;
}

static int to_loopback(void *ud, const char *host, struct sockaddr_storage *out,
                       size_t max, size_t *n)
{
    (void)ud;
    (void)host;
    (void)max;
    memset(out, 0, sizeof *out);
    struct sockaddr_in *a = (struct sockaddr_in *)out;
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    *n = 1;
    return 0;
}

#define VALUE "tls-secret-value-0123456789"
#define PH "CLOCHE_SECRET_TOKEN_0123456789abcdef0123456789abcdef"

static const cloche__net_rule ALLOW[] = {
    {"localhost", 0}, {"other.test", 0}, {"127.0.0.1", 0}, {"::1", 0}};
static const cloche__net_rule BOUND[] = {{"localhost", 0}};
static const cloche__net_secret SECRETS[] = {{"TOKEN", VALUE, PH, BOUND, 1}};

typedef struct fx {
    cloche__net_policy p;
    cloche__net *n;
    srv *s;
    char err[256];
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->p = (cloche__net_policy){
        .allow = ALLOW, .nallow = 4, .allow_private = 1,
        .resolve = to_loopback, .extra_ca_file = M.ca_file,
        .connect_timeout_ms = 3000, .io_timeout_ms = 3000,
        .secrets = SECRETS, .nsecrets = 1};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    cloche__net_free(f->n);
    srv_stop(f->s);
    free(f);
    assert_int_equal(cloche__net_alloc_live(), 0);
    return 0;
}

static void start(fx *f, SSL_CTX *tls, srv_mode mode)
{
    srv_config c = {.mode = mode, .tls = tls};
    assert_int_equal(srv_start(&f->s, &c), 0);
    assert_int_equal(cloche__net_new(&f->n, &f->p), 0);
}

static int dial(fx *f, const char *host)
{
    return cloche__net_connect(f->n, host, srv_port(f->s), 1, SOON(3000),
                               f->err, sizeof f->err);
}

static void send_all(cloche__net *n, int h, const void *p, size_t len)
{
    size_t sent = 0;
    assert_int_equal(cloche__net_send(n, h, p, len, SOON(3000), &sent), 0);
    assert_int_equal(sent, len);
}

static size_t recv_until(cloche__net *n, int h, uint8_t *buf, size_t len)
{
    size_t have = 0;
    while (have < len) {
        size_t got = 0;
        int rc = cloche__net_recv(n, h, buf + have, len - have, SOON(3000),
                                  &got);
        if (rc != 0)
            fail_msg("recv: %s (%s)", cloche__net_errname(rc),
                     cloche__net_errmsg(n));
        if (got == 0)
            break;
        have += got;
    }
    return have;
}

static void test_tls_round_trip(void **state)
{
    fx *f = *state;
    f->p.nsecrets = 0; /* raw bytes: no secret, no HTTP */
    start(f, M.s_good, SRV_ECHO);
    int h = dial(f, "localhost");
    if (h < 0)
        fail_msg("connect: %s", f->err);
    send_all(f->n, h, "hello tls", 9);
    uint8_t buf[16];
    EQ(recv_until(f->n, h, buf, 9), 9);
    assert_memory_equal(buf, "hello tls", 9);
    char sni[64];
    srv_sni(f->s, 0, sni, sizeof sni);
    assert_string_equal(sni, "localhost");
    /* close_notify + half-close; the server finishes; we read EOF */
    EQ(cloche__net_shutdown(f->n, h, SHUT_WR), 0);
    EQ(recv_until(f->n, h, buf, sizeof buf), 0);
    EQ(cloche__net_close(f->n, h), 0);
    /* same name with different case and a trailing dot: same SNI */
    h = dial(f, "LocalHost.");
    assert_true(h >= 0);
    send_all(f->n, h, "x", 1);
    EQ(recv_until(f->n, h, buf, 1), 1); /* the server has finished too */
    srv_sni(f->s, 1, sni, sizeof sni);
    assert_string_equal(sni, "localhost");
}

static void expect_tls_failure(fx *f, SSL_CTX *server, const char *host,
                               const char *why)
{
    start(f, server, SRV_ECHO);
    EQ(dial(f, host), CLOCHE__NET_ETLS);
    if (why && !strstr(f->err, why))
        fail_msg("message \"%s\" lacks \"%s\"", f->err, why);
}

static void test_tls_no_ca(void **state)
{
    fx *f = *state;
    f->p.extra_ca_file = NULL; /* the system store does not know our CA */
    expect_tls_failure(f, M.s_good, "localhost", "verify");
}

static void test_tls_wrong_name_on_cert(void **state)
{
    expect_tls_failure(*state, M.s_wrong, "localhost", "verify");
}

static void test_tls_wrong_host_for_cert(void **state)
{
    /* allowed and resolving to the server, but the cert is for localhost */
    expect_tls_failure(*state, M.s_good, "other.test", "verify");
}

static void test_tls_expired(void **state)
{
    expect_tls_failure(*state, M.s_expired, "localhost", "expired");
}

static void test_tls_self_signed(void **state)
{
    expect_tls_failure(*state, M.s_self, "localhost", "verify");
}

static void test_tls_old_protocol(void **state)
{
    expect_tls_failure(*state, M.s_old, "localhost", NULL);
}

static void test_tls_to_plain_server(void **state)
{
    expect_tls_failure(*state, NULL, "localhost", NULL);
}

static void test_tls_bad_ca_file(void **state)
{
    fx *f = *state;
    f->p.extra_ca_file = "/nonexistent/ca.pem";
    expect_tls_failure(f, M.s_good, "localhost", "extra_ca_file");
}

static void test_tls_handshake_timeout(void **state)
{
    fx *f = *state;
    f->p.connect_timeout_ms = 200;
    start(f, NULL, SRV_SILENT); /* plain, never answers the ClientHello */
    uint64_t t0 = cloche__net_now_ns();
    EQ(cloche__net_connect(f->n, "localhost", srv_port(f->s), 1,
                           CLOCHE__NET_NO_DEADLINE, f->err, sizeof f->err),
       CLOCHE__NET_ETIMEDOUT);
    uint64_t dt = (cloche__net_now_ns() - t0) / MS;
    assert_true(dt >= 150 && dt < 3000);
    EQ(f->n->used_connections, 1);
}

static void test_tls_ip_literal(void **state)
{
    fx *f = *state;
    start(f, M.s_good, SRV_ECHO);
    int h = dial(f, "127.0.0.1");
    if (h < 0)
        fail_msg("connect: %s", f->err);
    send_all(f->n, h, "ip", 2);
    uint8_t buf[2];
    EQ(recv_until(f->n, h, buf, 2), 2);
    char sni[64] = "x";
    srv_sni(f->s, 0, sni, sizeof sni);
    assert_string_equal(sni, ""); /* no SNI for an IP literal */
}

static void test_tls_peer_close(void **state)
{
    fx *f = *state;
    f->p.nsecrets = 0; /* raw bytes: no secret, no HTTP */
    start(f, M.s_good, SRV_CLOSE);
    int h = dial(f, "localhost");
    assert_true(h >= 0);
    uint8_t buf[4];
    size_t got = 1;
    EQ(cloche__net_recv(f->n, h, buf, sizeof buf, SOON(3000), &got), 0);
    EQ(got, 0);
    /* writing on: an error code, never a SIGPIPE in this process */
    int rc = 0;
    for (int i = 0; i < 50 && rc == 0; i++) {
        size_t sent;
        rc = cloche__net_send(f->n, h, (const uint8_t *)"more", 4, SOON(1000),
                              &sent);
        usleep(2000);
    }
    assert_true(rc == CLOCHE__NET_ECLOSED || rc == CLOCHE__NET_ETLS);
}

/* An echo over HTTP/1.1 (Content-Length), for the secret tests. */
static int echo_http(void *ud, const uint8_t *req, size_t len, srv_buf *r)
{
    (void)ud;
    srv_buf_printf(r, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", len);
    srv_buf_add(r, req, len);
    return 0;
}

static void start_http(srv **s, SSL_CTX *tls)
{
    srv_config c = {.mode = SRV_HTTP, .tls = tls, .http = echo_http};
    assert_int_equal(srv_start(s, &c), 0);
}

#define REQ "GET / HTTP/1.1\r\nAuthorization: Bearer " PH "\r\n\r\n"

/* Receive until the answer's end ("0\r\n\r\n": the host re-frames the
 * echo as chunked, PH being longer than VALUE), NUL-terminated. */
static void recv_answer(cloche__net *n, int h, char *buf, size_t cap)
{
    size_t have = 0;
    buf[0] = '\0';
    while (!strstr(buf, "0\r\n\r\n")) {
        size_t got = 0;
        assert_true(have + 1 < cap);
        EQ(cloche__net_recv(n, h, (uint8_t *)buf + have, cap - 1 - have,
                            SOON(3000), &got),
           0);
        assert_true(got > 0);
        have += got;
        buf[have] = '\0';
    }
}

/* What server s received on connection i, NUL-terminated (static). */
static const char *wire_of(srv *s, size_t i, size_t want)
{
    static char w[4096];
    EQ(srv_wait_received(s, i, want, 3000), 0);
    size_t n = srv_received(s, i, (uint8_t *)w, sizeof w - 1);
    w[n] = '\0';
    return w;
}

/* By default a secret is substituted only inside TLS. */
static void test_tls_secret_only_inside_tls(void **state)
{
    fx *f = *state;
    start_http(&f->s, M.s_good);
    assert_int_equal(cloche__net_new(&f->n, &f->p), 0);
    srv *plain = NULL;
    srv_config pc = {.mode = SRV_ECHO};
    assert_int_equal(srv_start(&plain, &pc), 0);
    size_t ml = strlen(REQ);
    /* TLS to the bound host: the server gets the value ... */
    int h = dial(f, "localhost");
    assert_true(h >= 0);
    send_all(f->n, h, REQ, ml);
    const char *wire = "GET / HTTP/1.1\r\nAuthorization: Bearer " VALUE "\r\n"
                       "Accept-Encoding: identity\r\n\r\n";
    assert_string_equal(wire_of(f->s, 0, strlen(wire)), wire);
    /* ... and its echo comes back as the placeholder */
    char back[1024];
    recv_answer(f->n, h, back, sizeof back);
    assert_non_null(strstr(back, "Transfer-Encoding: chunked\r\n"));
    assert_non_null(strstr(back, "Authorization: Bearer " PH "\r\n"));
    assert_null(strstr(back, VALUE));
    /* plain TCP to the same host: the placeholder goes out unchanged and
     * the connection is not parsed as HTTP */
    int p = cloche__net_connect(f->n, "localhost", srv_port(plain), 0,
                                SOON(3000), f->err, sizeof f->err);
    assert_true(p >= 0);
    const char *msg = "Authorization: Bearer " PH "\r\n";
    send_all(f->n, p, msg, strlen(msg));
    assert_string_equal(wire_of(plain, 0, strlen(msg)), msg);
    EQ(recv_until(f->n, p, (uint8_t *)back, strlen(msg)), strlen(msg));
    srv_stop(plain);
}

/* STARTTLS: a plain connection upgraded in place; secrets bound to the
 * host apply only from the upgrade on; a busy connection is refused. */
static void test_tls_starttls(void **state)
{
    fx *f = *state;
    start_http(&f->s, M.s_good);
    assert_int_equal(cloche__net_new(&f->n, &f->p), 0);
    int h = cloche__net_connect(f->n, "localhost", srv_port(f->s), 0,
                                SOON(3000), f->err, sizeof f->err);
    assert_true(h >= 0);
    EQ(cloche__net_starttls(f->n, h, SOON(3000)), 0);
    EQ(cloche__net_starttls(f->n, h, SOON(3000)), CLOCHE__NET_EINVAL);
    send_all(f->n, h, REQ, strlen(REQ));
    const char *wire = "GET / HTTP/1.1\r\nAuthorization: Bearer " VALUE "\r\n"
                       "Accept-Encoding: identity\r\n\r\n";
    assert_string_equal(wire_of(f->s, 0, strlen(wire)), wire);
    char answer[1024];
    recv_answer(f->n, h, answer, sizeof answer);
    assert_null(strstr(answer, VALUE));
    assert_non_null(strstr(answer, PH));
    uint8_t got[16];
    /* Not idle: plain bytes wait to be read. */
    srv *plain = NULL;
    srv_config pc = {.mode = SRV_ECHO};
    assert_int_equal(srv_start(&plain, &pc), 0);
    int p = cloche__net_connect(f->n, "localhost", srv_port(plain), 0,
                                SOON(3000), f->err, sizeof f->err);
    assert_true(p >= 0);
    send_all(f->n, p, "x", 1);
    cloche__net_pollfd pf = {p, CLOCHE__NET_POLLIN, 0};
    size_t nready = 0;
    EQ(cloche__net_poll(f->n, &pf, 1, SOON(3000), &nready), 0);
    EQ(cloche__net_starttls(f->n, p, SOON(3000)), CLOCHE__NET_EINVAL);
    /* A plain server: the handshake fails and the connection is broken. */
    EQ(recv_until(f->n, p, got, 1), 1);
    EQ(cloche__net_starttls(f->n, p, SOON(3000)), CLOCHE__NET_ETLS);
    size_t k = 0;
    assert_true(cloche__net_send(f->n, p, (const uint8_t *)"y", 1, SOON(100), &k) != 0);
    EQ(cloche__net_starttls(f->n, 12345, SOON(100)), CLOCHE__NET_EBADF);
    srv_stop(plain);
}

static void test_tls_bulk_with_poll(void **state)
{
    fx *f = *state;
    f->p.nsecrets = 0; /* raw bytes: no secret, no HTTP */
    start(f, M.s_good, SRV_ECHO);
    int h = dial(f, "localhost");
    assert_true(h >= 0);
    const size_t total = 1u << 20;
    uint8_t *out = malloc(total), *in = malloc(total);
    for (size_t i = 0; i < total; i++)
        out[i] = (uint8_t)(i * 13 + (i >> 11));
    size_t sent = 0, got = 0;
    uint64_t end = SOON(20000);
    while (got < total && cloche__net_now_ns() < end) {
        cloche__net_pollfd p = {h, CLOCHE__NET_POLLIN, 0};
        if (sent < total)
            p.events |= CLOCHE__NET_POLLOUT;
        size_t nready, k = 0;
        EQ(cloche__net_poll(f->n, &p, 1, SOON(2000), &nready), 0);
        if ((p.revents & CLOCHE__NET_POLLOUT) && sent < total) {
            int rc = cloche__net_send(f->n, h, out + sent, total - sent, 0, &k);
            assert_true(rc == 0 || rc == CLOCHE__NET_ETIMEDOUT);
            sent += k;
        }
        if (p.revents & CLOCHE__NET_POLLIN) {
            int rc = cloche__net_recv(f->n, h, in + got, total - got, 0, &k);
            assert_true(rc == 0 || rc == CLOCHE__NET_ETIMEDOUT);
            got += k;
        }
    }
    EQ(got, total);
    assert_memory_equal(in, out, total);
    free(out);
    free(in);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_tls_round_trip),
        T(test_tls_no_ca),
        T(test_tls_wrong_name_on_cert),
        T(test_tls_wrong_host_for_cert),
        T(test_tls_expired),
        T(test_tls_self_signed),
        T(test_tls_old_protocol),
        T(test_tls_to_plain_server),
        T(test_tls_bad_ca_file),
        T(test_tls_handshake_timeout),
        T(test_tls_ip_literal),
        T(test_tls_peer_close),
        T(test_tls_secret_only_inside_tls),
        T(test_tls_bulk_with_poll),
        T(test_tls_starttls),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
