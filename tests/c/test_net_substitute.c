/*
 * test_net_substitute.c - secrets on the wire (plain TCP, with
 * secrets_allow_plaintext so the bytes are easy to inspect; test_net_tls
 * covers the TLS default). The attacker is the guest: it tries to get a
 * value sent to a host the secret is not bound to, or to read a value
 * back, whole or in pieces. A connection that carries a secret speaks
 * HTTP (test_net_http has its framing); the scrubbing of raw streams is
 * exercised here on connections that carry none ("wild.test": nothing is
 * bound to the apex), where a value could only come from the embedder.
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

#define VALUE "sk-proj-0123456789abcdefghij"
#define PH "CLOCHE_SECRET_API_KEY_00112233445566778899aabbccddeeff"
#define VALUE2 "ghp_SECONDSECRETvalue42"
#define PH2 "CLOCHE_SECRET_GH_ffeeddccbbaa99887766554433221100"
#define VALUE3 "wildcard-secret-xyz"
#define PH3 "CLOCHE_SECRET_WILD_0000111122223333444455556666777"

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

static const cloche__net_rule ALLOW[] = {{"bound.test", 0},
                                         {"other.test", 0},
                                         {"*.wild.test", 0},
                                         {"wild.test", 0},
                                         {"port.test", 0}};
static const cloche__net_rule API_HOSTS[] = {{"bound.test", 0},
                                             {"port.test", 8443}};
static const cloche__net_rule GH_HOSTS[] = {{"other.test", 0}};
static const cloche__net_rule WILD_HOSTS[] = {{"*.wild.test", 0}};
static const cloche__net_secret SECRETS[] = {
    {"API_KEY", VALUE, PH, API_HOSTS, 2},
    {"GH", VALUE2, PH2, GH_HOSTS, 1},
    {"WILD", VALUE3, PH3, WILD_HOSTS, 1},
};

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
        .allow = ALLOW, .nallow = 5, .allow_private = 1,
        .resolve = to_loopback, .secrets = SECRETS, .nsecrets = 3,
        .secrets_allow_plaintext = 1, .io_timeout_ms = 3000};
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

static void start_cfg(fx *f, const srv_config *c)
{
    assert_int_equal(srv_start(&f->s, c), 0);
    assert_int_equal(cloche__net_new(&f->n, &f->p), 0);
}

static void start(fx *f, srv_mode mode)
{
    srv_config c = {.mode = mode};
    start_cfg(f, &c);
}

static int dial(fx *f, const char *host)
{
    int h = cloche__net_connect(f->n, host, srv_port(f->s), 0, SOON(3000),
                                f->err, sizeof f->err);
    if (h < 0)
        fail_msg("connect %s: %s", host, f->err);
    return h;
}

static void send_all(cloche__net *n, int h, const void *p, size_t len)
{
    size_t sent = 0;
    assert_int_equal(cloche__net_send(n, h, p, len, SOON(3000), &sent), 0);
    assert_int_equal(sent, len);
}

/* Read until EOF (or max), into a NUL-terminated buffer. */
static size_t recv_all(cloche__net *n, int h, char *buf, size_t max)
{
    size_t have = 0;
    while (have + 1 < max) {
        size_t got = 0;
        int rc = cloche__net_recv(n, h, (uint8_t *)buf + have, max - 1 - have,
                                  SOON(3000), &got);
        if (rc != 0)
            fail_msg("recv: %s (%s)", cloche__net_errname(rc),
                     cloche__net_errmsg(n));
        if (got == 0)
            break;
        have += got;
    }
    buf[have] = '\0';
    return have;
}

/* What the server received on connection i, NUL-terminated. */
static size_t wire(fx *f, size_t i, char *buf, size_t cap)
{
    size_t n = srv_received(f->s, i, (uint8_t *)buf, cap - 1);
    buf[n < cap - 1 ? n : cap - 1] = '\0';
    return n;
}

static void expect_wire(fx *f, size_t i, const char *want)
{
    static char got[16384];
    if (srv_wait_received(f->s, i, strlen(want), 3000) != 0) {
        wire(f, i, got, sizeof got);
        fail_msg("server %zu got \"%s\", want \"%s\"", i, got, want);
    }
    usleep(20000); /* and nothing more */
    wire(f, i, got, sizeof got);
    assert_string_equal(got, want);
}

/* An HTTP request carrying `value` in a header, and how it goes out. */
static const char *req(const char *value)
{
    static char r[512];
    snprintf(r, sizeof r, "GET / HTTP/1.1\r\nX: %s\r\n\r\n", value);
    return r;
}

static const char *req_wire(const char *value)
{
    static char r[512];
    snprintf(r, sizeof r,
             "GET / HTTP/1.1\r\nX: %s\r\nAccept-Encoding: identity\r\n"
             "\r\n",
             value);
    return r;
}

static void test_bound_host_only(void **state)
{
    fx *f = *state;
    start(f, SRV_SILENT);
    const char *msg = "key=" PH " gh=" PH2 " wild=" PH3;
    /* bound.test: only API_KEY is bound there */
    int h = dial(f, "bound.test");
    send_all(f->n, h, req(msg), strlen(req(msg)));
    expect_wire(f, 0, req_wire("key=" VALUE " gh=" PH2 " wild=" PH3));
    /* other.test: only GH */
    h = dial(f, "other.test");
    send_all(f->n, h, req(msg), strlen(req(msg)));
    expect_wire(f, 1, req_wire("key=" PH " gh=" VALUE2 " wild=" PH3));
    /* a subdomain of wild.test: only WILD; the apex: none (raw) */
    h = dial(f, "api.WILD.test.");
    send_all(f->n, h, req(msg), strlen(req(msg)));
    expect_wire(f, 2, req_wire("key=" PH " gh=" PH2 " wild=" VALUE3));
    h = dial(f, "wild.test");
    send_all(f->n, h, req(msg), strlen(req(msg)));
    expect_wire(f, 3, req(msg));
    /* port.test is bound for port 8443 only; the server is elsewhere */
    h = dial(f, "port.test");
    send_all(f->n, h, req(msg), strlen(req(msg)));
    expect_wire(f, 4, req(msg));
}

static int answer_204(void *ud, const uint8_t *r, size_t len, srv_buf *out)
{
    (void)ud, (void)r, (void)len;
    srv_buf_printf(out, "HTTP/1.1 204 No Content\r\n\r\n");
    return 0;
}

/* Read one "204 No Content" answer (27 bytes). */
static void read_204(cloche__net *n, int h)
{
    char buf[32];
    size_t have = 0, got = 0;
    while (have < 27) {
        EQ(cloche__net_recv(n, h, (uint8_t *)buf + have, 27 - have,
                            SOON(3000), &got),
           0);
        assert_true(got > 0);
        have += got;
    }
    assert_memory_equal(buf, "HTTP/1.1 204 No Content\r\n\r\n", 27);
}

static void test_placeholder_split_across_sends(void **state)
{
    fx *f = *state;
    srv_config c = {.mode = SRV_HTTP, .http = answer_204};
    start_cfg(f, &c);
    int h = dial(f, "bound.test");
    const char *msg = "GET / HTTP/1.1\r\nAuthorization: Bearer " PH "\r\n\r\n";
    const char *out = "GET / HTTP/1.1\r\nAuthorization: Bearer " VALUE "\r\n"
                      "Accept-Encoding: identity\r\n\r\n";
    size_t ml = strlen(msg);
    static char want[32768];
    want[0] = '\0';
    for (size_t split = 1; split < ml; split++) {
        size_t sent = 0;
        EQ(cloche__net_send(f->n, h, (const uint8_t *)msg, split, SOON(3000), &sent), 0);
        EQ(sent, split); /* a held head counts as consumed */
        send_all(f->n, h, msg + split, ml - split);
        strcat(want, out);
        read_204(f->n, h);
    }
    /* one byte per send */
    for (size_t i = 0; i < ml; i++)
        send_all(f->n, h, msg + i, 1);
    strcat(want, out);
    read_204(f->n, h);
    expect_wire(f, 0, want);
    /* the budget counted the guest's bytes, not the substituted ones */
    EQ(f->n->used_out, (uint64_t)ml * ml);
}

static void test_unbound_split_stays_placeholder(void **state)
{
    fx *f = *state;
    start(f, SRV_SILENT);
    int h = dial(f, "wild.test"); /* nothing is bound here */
    const char *msg = "x=" PH ";";
    size_t ml = strlen(msg);
    for (size_t split = 1; split < ml; split++) {
        send_all(f->n, h, msg, split);
        send_all(f->n, h, msg + split, ml - split);
    }
    char want[8192] = "";
    for (size_t split = 1; split < ml; split++)
        strcat(want, msg);
    expect_wire(f, 0, want);
}

/* An unfinished request head must not stall the peer: recv, poll, flush
 * and close release it unchanged (the rest of that head follows as it
 * comes, unsubstituted). */
static void test_held_tail_released(void **state)
{
    fx *f = *state;
    start(f, SRV_SILENT);
    int h = dial(f, "bound.test");
    const char *a = "GET / HTTP/1.1\r\nA: CLOCHE_SECRET_AP";
    send_all(f->n, h, a, strlen(a));
    uint8_t buf[64];
    size_t got = 0;
    EQ(cloche__net_recv(f->n, h, buf, sizeof buf, SOON(50), &got),
       CLOCHE__NET_ETIMEDOUT); /* released, though nothing comes back */
    expect_wire(f, 0, a);
    /* flush does too */
    send_all(f->n, h, "I_KEY_", 6);
    EQ(cloche__net_flush(f->n, h, SOON(3000)), 0);
    EQ(srv_wait_received(f->s, 0, strlen(a) + 6, 3000), 0);
    /* and so does poll */
    send_all(f->n, h, "0011", 4);
    cloche__net_pollfd p = {h, CLOCHE__NET_POLLIN, 0};
    size_t nready;
    EQ(cloche__net_poll(f->n, &p, 1, SOON(50), &nready), 0);
    EQ(srv_wait_received(f->s, 0, strlen(a) + 10, 3000), 0);
    /* and close, of a second connection */
    int h2 = dial(f, "bound.test");
    const char *b = "GET / HTTP/1.1\r\nB: " PH;
    send_all(f->n, h2, b, strlen(b));
    EQ(cloche__net_close(f->n, h2), 0);
    EQ(srv_wait_received(f->s, 1, strlen(b), 3000), 0);
    char w[256];
    wire(f, 1, w, sizeof w);
    assert_string_equal(w, b);
}

/* A value that reaches a connection (here the guest sends it raw, as if
 * an embedder had handed it over) comes back as the placeholder. */
static void test_reflected_secret_scrubbed(void **state)
{
    fx *f = *state;
    start(f, SRV_ECHO);
    int h = dial(f, "wild.test");
    const char *msg = "echo: " VALUE " and " VALUE2 "\n";
    send_all(f->n, h, msg, strlen(msg));
    EQ(cloche__net_shutdown(f->n, h, SHUT_WR), 0);
    char buf[512];
    recv_all(f->n, h, buf, sizeof buf);
    assert_string_equal(buf, "echo: " PH " and " PH2 "\n");
}

/* The server sends a value in two writes, `delay_ms` apart, split at k. */
static void reflect_split(fx *f, size_t k, unsigned delay_ms, char *out,
                          size_t cap)
{
    static char part1[128], part2[128];
    snprintf(part1, sizeof part1, "hdr: %.*s", (int)k, VALUE);
    snprintf(part2, sizeof part2, "%s\r\n", VALUE + k);
    srv_step steps[] = {{part1, strlen(part1), 0},
                        {part2, strlen(part2), delay_ms}};
    srv_config c = {.mode = SRV_SCRIPT, .script = steps, .nscript = 2,
                    .close_after_script = 1};
    srv_stop(f->s);
    cloche__net_free(f->n);
    start_cfg(f, &c);
    int h = dial(f, "wild.test");
    recv_all(f->n, h, out, cap);
}

static void test_reflection_split_across_reads(void **state)
{
    fx *f = *state;
    start(f, SRV_SILENT);
    char buf[256];
    size_t vl = strlen(VALUE);
    for (size_t k = 1; k < vl; k++) {
        /* pauses longer than the release grace: the worst case */
        reflect_split(f, k, 60, buf, sizeof buf);
        assert_null(strstr(buf, VALUE));
        char want_whole[256], want_released[256];
        snprintf(want_whole, sizeof want_whole, "hdr: %s\r\n", PH);
        snprintf(want_released, sizeof want_released, "hdr: %.*s%s\r\n",
                 (int)k, VALUE, PH);
        if (k >= CLOCHE__NET_RELEASE_MAX)
            assert_string_equal(buf, want_whole); /* never released */
        else if (strcmp(buf, want_whole) != 0 &&
                 strcmp(buf, want_released) != 0)
            fail_msg("k=%zu: \"%s\"", k, buf);
    }
    /* without a pause: whole placeholder (timing permitting, at worst the
     * short release above) */
    reflect_split(f, 10, 0, buf, sizeof buf);
    assert_string_equal(buf, "hdr: " PH "\r\n");
}

static void test_reflection_cut_by_eof(void **state)
{
    fx *f = *state;
    srv_step steps[] = {{"x=sk-proj-0123", 14, 0}};
    srv_config c = {.mode = SRV_SCRIPT, .script = steps, .nscript = 1,
                    .close_after_script = 1};
    start_cfg(f, &c);
    int h = dial(f, "wild.test");
    char buf[256];
    recv_all(f->n, h, buf, sizeof buf);
    assert_string_equal(buf, "x=" PH); /* masked, not revealed */
    srv_stop(f->s);
    cloche__net_free(f->n);
    srv_step steps2[] = {{"x=sk-", 5, 0}};
    c.script = steps2;
    start_cfg(f, &c);
    h = dial(f, "wild.test");
    recv_all(f->n, h, buf, sizeof buf);
    assert_string_equal(buf, "x=sk-"); /* 3 bytes: could be anything */
}

/* Dribbled one byte at a time: the guest never reassembles the value. */
static void test_reflection_dribbled(void **state)
{
    fx *f = *state;
    static srv_step steps[64];
    size_t vl = strlen(VALUE);
    for (size_t i = 0; i < vl; i++)
        steps[i] = (srv_step){VALUE + i, 1, 2};
    steps[vl] = (srv_step){"\n", 1, 2};
    srv_config c = {.mode = SRV_SCRIPT, .script = steps, .nscript = vl + 1,
                    .close_after_script = 1};
    start_cfg(f, &c);
    int h = dial(f, "wild.test");
    char buf[256];
    size_t have = 0;
    /* tiny reads, so every boundary is exercised */
    while (have + 1 < sizeof buf) {
        size_t got = 0;
        EQ(cloche__net_recv(f->n, h, (uint8_t *)buf + have, 3, SOON(3000),
                            &got),
           0);
        if (got == 0)
            break;
        have += got;
    }
    buf[have] = '\0';
    assert_null(strstr(buf, "sk-p"));
    assert_non_null(strstr(buf, PH));
}

/* A short held tail is released after a lull - poll says so too; a tail of
 * RELEASE_MAX bytes or more never is, however long the peer stays quiet. */
static void test_release_after_lull(void **state)
{
    fx *f = *state;
    srv_step steps[] = {{"abc sk-", 7, 0}, {"pr", 2, 400}};
    srv_config c = {.mode = SRV_SCRIPT, .script = steps, .nscript = 2};
    start_cfg(f, &c);
    int h = dial(f, "wild.test");
    char buf[64];
    size_t got = 0;
    EQ(cloche__net_recv(f->n, h, (uint8_t *)buf, sizeof buf, SOON(3000),
                        &got),
       0);
    EQ(got, 4);
    assert_memory_equal(buf, "abc ", 4);
    cloche__net_pollfd p = {h, CLOCHE__NET_POLLIN, 0};
    size_t nready = 0;
    uint64_t t0 = cloche__net_now_ns();
    EQ(cloche__net_poll(f->n, &p, 1, SOON(300), &nready), 0);
    EQ(nready, 1);
    assert_true(cloche__net_now_ns() - t0 >= 15 * MS); /* the grace */
    EQ(cloche__net_recv(f->n, h, (uint8_t *)buf, sizeof buf, 0, &got), 0);
    EQ(got, 3);
    assert_memory_equal(buf, "sk-", 3);
    /* then "pr" arrives: "sk-pr" is 5 bytes of the value: held for good */
    EQ(cloche__net_recv(f->n, h, (uint8_t *)buf, sizeof buf, SOON(200), &got),
       CLOCHE__NET_ETIMEDOUT);
    usleep(400000); /* "pr" has arrived by now */
    EQ(cloche__net_poll(f->n, &p, 1, SOON(200), &nready), 0);
    EQ(cloche__net_recv(f->n, h, (uint8_t *)buf, sizeof buf, SOON(200), &got),
       CLOCHE__NET_ETIMEDOUT);
    EQ(got, 0);
    EQ(cloche__net_shutdown(f->n, h, SHUT_WR), 0); /* the server ends */
    size_t have = 0;
    for (;;) {
        EQ(cloche__net_recv(f->n, h, (uint8_t *)buf + have,
                            sizeof buf - have, SOON(3000), &got),
           0);
        if (got == 0)
            break;
        have += got;
    }
    EQ(have, strlen(PH)); /* masked at EOF (after the released "sk-") */
    assert_memory_equal(buf, PH, have);
}

static void test_byte_caps_count_guest_view(void **state)
{
    fx *f = *state;
    const char *msg = req("k=" PH);
    f->p.max_bytes_out = strlen(msg);
    f->p.max_bytes_in = strlen("k=" PH);
    srv_step steps[] = {{"k=" VALUE, strlen("k=" VALUE), 0}};
    srv_config c = {.mode = SRV_SCRIPT, .script = steps, .nscript = 1};
    start_cfg(f, &c);
    int h = dial(f, "bound.test");
    /* the head goes out longer (value, Accept-Encoding): still fits */
    send_all(f->n, h, msg, strlen(msg));
    size_t sent;
    EQ(cloche__net_send(f->n, h, (const uint8_t *)"x", 1, SOON(100), &sent), CLOCHE__NET_ELIMIT);
    int r = dial(f, "wild.test");
    char buf[256];
    size_t have = 0, got = 0;
    while (have < strlen("k=" PH)) {
        EQ(cloche__net_recv(f->n, r, (uint8_t *)buf + have,
                            sizeof buf - have, SOON(3000), &got),
           0);
        have += got;
    }
    EQ(have, strlen("k=" PH)); /* counted as the scrubbed (placeholder) size */
    assert_memory_equal(buf, "k=" PH, have);
    EQ(cloche__net_recv(f->n, r, (uint8_t *)buf, sizeof buf, SOON(100), &got),
       CLOCHE__NET_ELIMIT);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_bound_host_only),
        T(test_placeholder_split_across_sends),
        T(test_unbound_split_stays_placeholder),
        T(test_held_tail_released),
        T(test_reflected_secret_scrubbed),
        T(test_reflection_split_across_reads),
        T(test_reflection_cut_by_eof),
        T(test_reflection_dribbled),
        T(test_release_after_lull),
        T(test_byte_caps_count_guest_view),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
