/*
 * test_net_http.c - secrets over HTTP (issue 10, finding 4). A connection
 * that carries a secret speaks HTTP/1.x under the host's eye: placeholders
 * are replaced inside request header values only, responses are scrubbed
 * after their chunked framing is decoded, and coded bodies are refused.
 *
 * The attacker is the guest, talking to an echo server the secret is bound
 * to: it asks for gzip/deflate, pads its request so the server's chunks cut
 * the value at every offset, pipelines and mixes requests on one
 * keep-alive connection, and sends requests the host must not pass. Plain
 * TCP with secrets_allow_plaintext, so the wire is easy to inspect.
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

/* Same length, as cloche's own placeholders for values of 16..256 bytes. */
#define VALUE "sk-live-0123456789abcdef"
#define PH "CLOCHE_API_KEY_0a1b2c3d4"

static int to_loopback(void *ud, const char *host, struct sockaddr_storage *out,
                       size_t max, size_t *n)
{
    (void)ud, (void)host, (void)max;
    memset(out, 0, sizeof *out);
    struct sockaddr_in *a = (struct sockaddr_in *)out;
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    *n = 1;
    return 0;
}

static const cloche__net_rule ALLOW[] = {{"bound.test", 0}, {"free.test", 0}};
static const cloche__net_rule BOUND[] = {{"bound.test", 0}};
static const cloche__net_secret SECRETS[] = {{"API_KEY", VALUE, PH, BOUND, 1}};

/* ---- the echo server: answers with the request as it arrived ----------- */

/*
 * Path decides the answer: /cl (Content-Length body), /chunk?N (chunked,
 * N-byte chunks), /head-ish for HEAD (length, no body), /204, /100 (an
 * interim 100 first), /close (body up to EOF), /enc?HEADER (that header
 * line added, e.g. Content-Encoding: gzip), /101, /cut (a body that ends
 * in the first 8 bytes of the value, as a broken server might send).
 */
static int echo(void *ud, const uint8_t *req, size_t len, srv_buf *r)
{
    (void)ud;
    char path[256] = "", method[16] = "";
    sscanf((const char *)req, "%15s %255s", method, path);
    int head = strcmp(method, "HEAD") == 0;
    if (strncmp(path, "/chunk?", 7) == 0) {
        size_t c = strtoul(path + 7, NULL, 10);
        srv_buf_printf(r, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                          "\r\n");
        for (size_t off = 0; off < len; off += c) {
            size_t k = len - off < c ? len - off : c;
            srv_buf_printf(r, "%zx;ext=1\r\n", k);
            srv_buf_add(r, req + off, k);
            srv_buf_add(r, "\r\n", 2);
        }
        srv_buf_printf(r, "0\r\nX-Trailer: done\r\n\r\n");
        return 0;
    }
    if (strcmp(path, "/204") == 0) {
        srv_buf_printf(r, "HTTP/1.1 204 No Content\r\n\r\n");
        return 0;
    }
    if (strcmp(path, "/101") == 0) {
        srv_buf_printf(r, "HTTP/1.1 101 Switching Protocols\r\n\r\n");
        srv_buf_add(r, req, len);
        return 1;
    }
    if (strcmp(path, "/cut") == 0) {
        srv_buf_printf(r, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"
                          "xx%.8s", VALUE);
        return 0;
    }
    if (strcmp(path, "/100") == 0)
        srv_buf_printf(r, "HTTP/1.1 100 Continue\r\n\r\n");
    if (strcmp(path, "/close") == 0) {
        srv_buf_printf(r, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
        srv_buf_add(r, req, len);
        return 1;
    }
    srv_buf_printf(r, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n", len);
    if (strncmp(path, "/enc?", 5) == 0)
        srv_buf_printf(r, "%s\r\n", path + 5);
    srv_buf_printf(r, "X-Seen: %zu\r\n\r\n", len);
    if (!head)
        srv_buf_add(r, req, len);
    return 0;
}

/* ---- fixture --------------------------------------------------------------- */

typedef struct fx {
    cloche__net_policy p;
    cloche__net *n;
    srv *s;
    char err[256];
    /* the guest's reader: bytes received, not yet parsed */
    uint8_t in[1 << 17];
    size_t in_len;
    size_t recv_cap; /* bytes per recv call (small: every boundary) */
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->p = (cloche__net_policy){
        .allow = ALLOW, .nallow = 2, .allow_private = 1,
        .resolve = to_loopback, .secrets = SECRETS, .nsecrets = 1,
        .secrets_allow_plaintext = 1, .io_timeout_ms = 3000};
    f->recv_cap = 5;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    cloche__net_free(f->n);
    srv_stop(f->s);
    free(f);
    EQ(cloche__net_alloc_live(), 0);
    return 0;
}

static void start(fx *f, size_t piece, unsigned piece_ms)
{
    srv_config c = {.mode = SRV_HTTP, .http = echo, .piece = piece,
                    .piece_ms = piece_ms};
    EQ(srv_start(&f->s, &c), 0);
    EQ(cloche__net_new(&f->n, &f->p), 0);
}

static int dial(fx *f, const char *host)
{
    int h = cloche__net_connect(f->n, host, srv_port(f->s), 0, SOON(3000),
                                f->err, sizeof f->err);
    if (h < 0)
        fail_msg("connect %s: %s", host, f->err);
    f->in_len = 0;
    return h;
}

static void send_str(fx *f, int h, const char *s)
{
    size_t sent = 0, len = strlen(s);
    int rc = cloche__net_send(f->n, h, (const uint8_t *)s, len, SOON(3000),
                              &sent);
    if (rc != 0)
        fail_msg("send: %s (%s)", cloche__net_errname(rc),
                 cloche__net_errmsg(f->n));
    EQ(sent, len);
}

/* Read more into f->in; 0, or the status (EOF: 1). */
static int more(fx *f, int h)
{
    size_t got = 0, room = sizeof f->in - f->in_len;
    size_t cap = room < f->recv_cap ? room : f->recv_cap;
    int rc = cloche__net_recv(f->n, h, f->in + f->in_len, cap, SOON(3000),
                              &got);
    if (rc)
        return rc;
    f->in_len += got;
    return got ? 0 : 1;
}

static const uint8_t *mem_find(const uint8_t *p, size_t len, const char *s)
{
    size_t sl = strlen(s);
    for (size_t i = 0; i + sl <= len; i++)
        if (memcmp(p + i, s, sl) == 0)
            return p + i;
    return NULL;
}

static void drop(fx *f, size_t n)
{
    memmove(f->in, f->in + n, f->in_len - n);
    f->in_len -= n;
}

/* A CRLF-terminated line from the reader into line (NUL-terminated). */
static void read_line(fx *f, int h, char *line, size_t cap)
{
    const uint8_t *e;
    while (!(e = mem_find(f->in, f->in_len, "\r\n")))
        if (more(f, h))
            fail_msg("EOF or error inside a line");
    size_t n = (size_t)(e - f->in);
    assert_true(n < cap);
    memcpy(line, f->in, n);
    line[n] = '\0';
    drop(f, n + 2);
}

static void read_exact(fx *f, int h, srv_buf *out, size_t n)
{
    while (f->in_len < n)
        if (more(f, h))
            fail_msg("EOF or error inside a body");
    srv_buf_add(out, f->in, n);
    drop(f, n);
}

typedef struct response {
    int status;
    srv_buf head, body; /* head: every line received; body: decoded */
} response;

/*
 * Read one response as a client would (the guest's view): interim ones are
 * skipped, chunked bodies decoded, bodies of HEAD answers, 204 and 304 are
 * empty. Asserts that what the guest got is valid HTTP framing.
 */
static void read_response_raw(fx *f, int h, int head_req, response *r)
{
    char line[70000];
    memset(r, 0, sizeof *r);
    long length = -1;
    int chunked = 0;
    do {
        read_line(f, h, line, sizeof line);
        assert_int_equal(sscanf(line, "HTTP/1.1 %d", &r->status), 1);
        for (;;) {
            srv_buf_printf(&r->head, "%s\n", line);
            read_line(f, h, line, sizeof line);
            if (!line[0])
                break;
            if (strncasecmp(line, "content-length:", 15) == 0)
                length = atol(line + 15);
            if (strcasecmp(line, "transfer-encoding: chunked") == 0)
                chunked = 1;
        }
    } while (r->status < 200);
    if (head_req || r->status == 204 || r->status == 304)
        return;
    if (chunked) {
        for (;;) {
            read_line(f, h, line, sizeof line);
            size_t n = strtoul(line, NULL, 16);
            if (n == 0)
                break;
            read_exact(f, h, &r->body, n);
            read_line(f, h, line, sizeof line);
            EQ(line[0], '\0');
        }
        do { /* trailers */
            read_line(f, h, line, sizeof line);
            srv_buf_printf(&r->head, "%s\n", line);
        } while (line[0]);
    } else if (length >= 0) {
        read_exact(f, h, &r->body, (size_t)length);
    } else {
        while (more(f, h) == 0) {
        }
        srv_buf_add(&r->body, f->in, f->in_len);
        drop(f, f->in_len);
    }
}

static void read_response(fx *f, int h, int head_req, response *r)
{
    read_response_raw(f, h, head_req, r);
    srv_buf_add(&r->head, "", 1); /* NUL-terminated for strstr */
    r->head.len--;
}

static void response_free(response *r)
{
    free(r->head.p);
    free(r->body.p);
}

static size_t count(const uint8_t *p, size_t len, const char *s)
{
    size_t k = 0;
    const uint8_t *q;
    while ((q = mem_find(p, len, s))) {
        k++;
        len -= (size_t)(q - p) + 1;
        p = q + 1;
    }
    return k;
}

/* What server connection i received, in a static NUL-terminated buffer. */
static const char *wire(fx *f, size_t i)
{
    static char w[1 << 20];
    size_t n = srv_received(f->s, i, (uint8_t *)w, sizeof w - 1);
    w[n < sizeof w - 1 ? n : sizeof w - 1] = '\0';
    return w;
}

/* ---- tests ------------------------------------------------------------------ */

/* Placeholders become values inside header values and nowhere else; the
 * guest's Accept-Encoding is replaced by identity. */
static void test_header_values_only(void **state)
{
    fx *f = *state;
    start(f, 0, 0);
    int h = dial(f, "bound.test");
    send_str(f, h,
             "POST /cl?key=" PH " HTTP/1.1\r\n"
             "Host: bound.test\r\n"
             "Authorization: Bearer " PH "\r\n"
             "X-" PH ":\t" PH " and " PH " \r\n"
             "Accept-Encoding: gzip, deflate, br\r\n"
             "Content-Length: 33\r\n"
             "\r\n"
             "body=" PH "....");
    response r;
    read_response(f, h, 0, &r);
    EQ(r.status, 200);
    assert_string_equal(wire(f, 0),
                        "POST /cl?key=" PH " HTTP/1.1\r\n"
                        "Host: bound.test\r\n"
                        "Authorization: Bearer " VALUE "\r\n"
                        "X-" PH ":\t" VALUE " and " VALUE " \r\n"
                        "Content-Length: 33\r\n"
                        "Accept-Encoding: identity\r\n"
                        "\r\n"
                        "body=" PH "....");
    /* the echo comes back scrubbed, at its announced length */
    EQ(r.body.len, strlen(wire(f, 0)));
    EQ(count(r.body.p, r.body.len, VALUE), 0);
    EQ(count(r.body.p, r.body.len, PH), 6);
    response_free(&r);
    /* bare LF line ends are accepted and sent as CRLF; an absent
     * Accept-Encoding is added */
    send_str(f, h, "GET /cl HTTP/1.0\nAuthorization: " PH "\n\n");
    read_response(f, h, 0, &r);
    response_free(&r);
    const char *w = strstr(wire(f, 0), "GET /cl");
    assert_non_null(w);
    assert_string_equal(w, "GET /cl HTTP/1.0\r\nAuthorization: " VALUE "\r\n"
                           "Accept-Encoding: identity\r\n\r\n");
}

/* A server that compresses anyway: the response is refused before any of
 * it reaches the guest; identity passes; HEAD answers carry no body. */
static void test_coded_responses_refused(void **state)
{
    static const char *const refused[] = {
        "Content-Encoding:gzip",          "Content-Encoding:deflate",
        "Content-Encoding:br",            "Content-Encoding:zstd",
        "Content-Encoding:identity,gzip", "Content-Encoding:x-gzip",
        "Content-Encoding:GZIP",          "Transfer-Encoding:gzip",
        "Transfer-Encoding:gzip,chunked",
    };
    static const char *const passed[] = {
        "Content-Encoding:identity", "Content-Encoding:", "X-Other:gzip"};
    fx *f = *state;
    start(f, 0, 0);
    char req[512];
    uint8_t buf[256];
    size_t got;
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        int h = dial(f, "bound.test");
        snprintf(req, sizeof req,
                 "GET /enc?%s HTTP/1.1\r\nAuthorization: " PH "\r\n\r\n",
                 refused[i]);
        send_str(f, h, req);
        got = 99;
        int rc = cloche__net_recv(f->n, h, buf, sizeof buf, SOON(3000), &got);
        if (rc != CLOCHE__NET_EDENIED)
            fail_msg("%s: %s", refused[i], cloche__net_errname(rc));
        EQ(got, 0);
        assert_non_null(strstr(cloche__net_errmsg(f->n), "encoded"));
        /* broken for good */
        EQ(cloche__net_recv(f->n, h, buf, sizeof buf, SOON(100), &got),
           CLOCHE__NET_EDENIED);
        EQ(cloche__net_close(f->n, h), 0);
    }
    int h = dial(f, "bound.test");
    for (size_t i = 0; i < sizeof passed / sizeof *passed; i++) {
        snprintf(req, sizeof req,
                 "GET /enc?%s HTTP/1.1\r\nAuthorization: " PH "\r\n\r\n",
                 passed[i]);
        send_str(f, h, req);
        response r;
        read_response(f, h, 0, &r);
        EQ(r.status, 200);
        EQ(count(r.body.p, r.body.len, PH), 1);
        response_free(&r);
    }
    /* a HEAD answer may name a coding: it has no body to hide anything */
    send_str(f, h, "HEAD /enc?Content-Encoding:gzip HTTP/1.1\r\n\r\n");
    response r;
    read_response(f, h, 1, &r);
    EQ(r.status, 200);
    response_free(&r);
    send_str(f, h, "GET /cl HTTP/1.1\r\n\r\n");
    read_response(f, h, 0, &r);
    EQ(r.status, 200);
    response_free(&r);
}

/*
 * The echo comes back in chunks of c bytes; the guest pads its request by
 * k bytes so the value straddles a chunk boundary at every offset. The
 * guest decodes the chunks (as any client would) and must never find the
 * value - on one keep-alive connection per chunk size.
 */
static void chunk_offsets(fx *f, size_t c)
{
    int h = dial(f, "bound.test");
    char req[1024], pad[300];
    size_t vl = strlen(VALUE);
    for (size_t k = 0; k <= c + vl; k++) {
        memset(pad, 'a', k);
        pad[k] = '\0';
        snprintf(req, sizeof req,
                 "GET /chunk?%zu HTTP/1.1\r\nX-Pad: %s\r\n"
                 "Authorization: Bearer " PH "\r\n\r\n",
                 c, pad);
        send_str(f, h, req);
        response r;
        read_response(f, h, 0, &r);
        EQ(r.status, 200);
        if (count(r.body.p, r.body.len, VALUE) != 0 ||
            count(r.body.p, r.body.len, PH) != 1)
            fail_msg("chunk %zu, pad %zu: the value leaked", c, k);
        assert_non_null(strstr((char *)r.head.p, "X-Trailer: done"));
        response_free(&r);
    }
    EQ(cloche__net_close(f->n, h), 0);
}

static void test_chunk_alignment_every_offset(void **state)
{
    fx *f = *state;
    start(f, 0, 0);
    static const size_t sizes[] = {1, 2, 3, 7, 16, 23, 24, 25, 64};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        chunk_offsets(f, sizes[i]);
    /* the server saw the value in every request */
    size_t reqs = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        reqs += sizes[i] + strlen(VALUE) + 1;
    size_t seen = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        const char *w = wire(f, i);
        seen += count((const uint8_t *)w, strlen(w), VALUE);
    }
    EQ(seen, reqs);
}

/* The same with the server writing in 7-byte pieces, 25 ms apart (longer
 * than the release grace) and in 1-byte pieces: read boundaries and chunk
 * boundaries everywhere; at most 3 bytes of the value's head may show. */
static void test_chunks_written_in_pieces(void **state)
{
    fx *f = *state;
    start(f, 7, 25);
    f->recv_cap = 7;
    int h = dial(f, "bound.test");
    char req[256];
    for (size_t k = 0; k < 4; k++) {
        snprintf(req, sizeof req,
                 "GET /chunk?5 HTTP/1.1\r\nX-Pad: %.*s\r\n"
                 "Authorization: " PH "\r\n\r\n",
                 (int)k, "aaaaaa");
        send_str(f, h, req);
        response r;
        read_response(f, h, 0, &r);
        EQ(count(r.body.p, r.body.len, "sk-l"), 0);
        EQ(count(r.body.p, r.body.len, PH), 1);
        response_free(&r);
    }
    srv_stop(f->s);
    cloche__net_free(f->n);
    f->s = NULL;
    f->n = NULL;
    start(f, 1, 0);
    h = dial(f, "bound.test");
    for (size_t k = 0; k < 3; k++) {
        snprintf(req, sizeof req,
                 "GET /chunk?%zu HTTP/1.1\r\nAuthorization: " PH "\r\n\r\n",
                 k + 4);
        send_str(f, h, req);
        response r;
        read_response(f, h, 0, &r);
        EQ(count(r.body.p, r.body.len, "sk-l"), 0);
        EQ(count(r.body.p, r.body.len, PH), 1);
        response_free(&r);
    }
}

/* One keep-alive connection, every kind of exchange; the request framing
 * and the answers' framing stay in step with the server's. */
static void test_keep_alive_mixed(void **state)
{
    fx *f = *state;
    start(f, 0, 0);
    int h = dial(f, "bound.test");
    response r;
    /* 1. Content-Length answer */
    send_str(f, h, "GET /cl HTTP/1.1\r\nAuthorization: " PH "\r\n\r\n");
    read_response(f, h, 0, &r);
    EQ(r.status, 200);
    EQ(count(r.body.p, r.body.len, PH), 1);
    response_free(&r);
    /* 2. HEAD: a length but no body (must not eat the next answer) */
    send_str(f, h, "HEAD /cl HTTP/1.1\r\nAuthorization: " PH "\r\n\r\n");
    read_response(f, h, 1, &r);
    assert_non_null(strstr((char *)r.head.p, "Content-Length: "));
    response_free(&r);
    /* 3. chunked request body (placeholders in it stay), an interim 100 */
    send_str(f, h,
             "POST /100 HTTP/1.1\r\nAuthorization: " PH "\r\n"
             "Expect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n");
    send_str(f, h, "1d;x=y\r\nbody " PH);
    send_str(f, h, "\r\n5\r\n.....\r\n0\r\nX-T: " PH "\r\n\r\n");
    read_response(f, h, 0, &r);
    EQ(r.status, 200);
    EQ(count(r.body.p, r.body.len, PH), 3);
    EQ(count(r.body.p, r.body.len, VALUE), 0);
    response_free(&r);
    /* 4. 204 */
    send_str(f, h, "DELETE /204 HTTP/1.1\r\nAuthorization: " PH "\r\n\r\n");
    read_response(f, h, 0, &r);
    EQ(r.status, 204);
    response_free(&r);
    /* 5. two pipelined requests in one send, then a Content-Length body */
    send_str(f, h,
             "GET /chunk?4 HTTP/1.1\r\nAuthorization: " PH "\r\n\r\n"
             "HEAD /cl HTTP/1.1\r\nAuthorization: " PH "\r\n\r\n"
             "PUT /cl HTTP/1.1\r\nAuthorization: " PH
             "\r\nContent-Length: 43\r\n\r\nAuthorization: " PH "\r\n"
             "\r\n");
    read_response(f, h, 0, &r);
    EQ(count(r.body.p, r.body.len, PH), 1);
    response_free(&r);
    read_response(f, h, 1, &r);
    response_free(&r);
    read_response(f, h, 0, &r);
    EQ(count(r.body.p, r.body.len, PH), 2); /* header and body */
    response_free(&r);
    /* 6. a body that runs to EOF */
    send_str(f, h, "GET /close HTTP/1.1\r\nAuthorization: " PH "\r\n\r\n");
    read_response(f, h, 0, &r);
    EQ(count(r.body.p, r.body.len, PH), 1);
    response_free(&r);
    /* the wire: a value exactly where a header carried a placeholder */
    const char *w = wire(f, 0);
    EQ(count((const uint8_t *)w, strlen(w), "Authorization: " VALUE "\r\n"),
       8);
    EQ(count((const uint8_t *)w, strlen(w), VALUE), 8);
    EQ(count((const uint8_t *)w, strlen(w), PH), 3); /* in bodies */
}

/* A body cut inside the value keeps its length and does not show it. */
static void test_cut_body_masked(void **state)
{
    fx *f = *state;
    start(f, 0, 0);
    int h = dial(f, "bound.test");
    send_str(f, h, "GET /cut HTTP/1.1\r\n\r\n");
    response r;
    read_response(f, h, 0, &r);
    EQ(r.body.len, 10);
    assert_memory_equal(r.body.p, "xxCLOCHE_A", 10);
    response_free(&r);
    send_str(f, h, "GET /cl HTTP/1.1\r\n\r\n"); /* and the next is fine */
    read_response(f, h, 0, &r);
    EQ(r.status, 200);
    response_free(&r);
}

static void expect_refused(fx *f, const char *req, const char *why)
{
    int h = dial(f, "bound.test");
    size_t sent = 0;
    int rc = cloche__net_send(f->n, h, (const uint8_t *)req, strlen(req),
                              SOON(3000), &sent);
    if (rc != CLOCHE__NET_EDENIED)
        fail_msg("%s: %s", why, cloche__net_errname(rc));
    if (!strstr(cloche__net_errmsg(f->n), "request refused"))
        fail_msg("%s: message \"%s\"", why, cloche__net_errmsg(f->n));
    /* the write side is over; nothing of the request left */
    EQ(cloche__net_send(f->n, h, (const uint8_t *)"x", 1, SOON(100), &sent),
       CLOCHE__NET_EDENIED);
    EQ(cloche__net_close(f->n, h), 0);
}

/* Requests cloche will not carry a secret in. */
static void test_refused_requests(void **state)
{
    fx *f = *state;
    start(f, 0, 0);
    static const char *const bad[][2] = {
        {"hello " PH "\r\n\r\n", "not HTTP"},
        {"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "HTTP/2"},
        {"GET / HTTP/1.1 \r\n\r\n", "extra space"},
        {"GET  / HTTP/1.1\r\n\r\n", "double space"},
        {"GET /\x01 HTTP/1.1\r\n\r\n", "control in target"},
        {"CONNECT bound.test:443 HTTP/1.1\r\n\r\n", "CONNECT"},
        {"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
         "Upgrade"},
        {"GET / HTTP/1.1\r\nupgrade: h2c\r\n\r\n", "Upgrade h2c"},
        {"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: "
         "chunked\r\n\r\n",
         "CL+TE"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", "TE gzip"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
         "Transfer-Encoding: chunked\r\n\r\n",
         "TE twice"},
        {"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
         "CL conflict"},
        {"POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\n", "CL sign"},
        {"POST / HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\n", "CL list"},
        {"GET / HTTP/1.1\r\nA: b\r\n folded: " PH "\r\n\r\n", "obs-fold"},
        {"GET / HTTP/1.1\r\nAuthorization : " PH "\r\n\r\n", "space before :"},
        {"GET / HTTP/1.1\r\nNoColon\r\n\r\n", "no colon"},
        {"GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", "lone CR"},
        {"GET / HTTP/1.1\r\nA: b\x7f\r\n\r\n", "DEL in value"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
         "bad chunk size"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab",
         "bad chunk end"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        expect_refused(f, bad[i][0], bad[i][1]);
    /* a head that never ends */
    static char big[70 << 10];
    memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
    memset(big + 19, 'a', sizeof big - 20);
    expect_refused(f, big, "head over 64 KiB");
    /* a head over 1 MiB once values are in: 16 KiB values, few bytes each */
    /* nothing refused ever reached the server, except the body framing
     * refusals, whose heads were fine */
    for (size_t i = 0; i + 2 < sizeof bad / sizeof *bad; i++)
        EQ(srv_received(f->s, i, NULL, 0), 0);
}

/* A partial head released (the guest flushes and waits) goes unchanged;
 * the rest of that head passes as it comes; the next one is substituted. */
static void test_released_partial_head(void **state)
{
    fx *f = *state;
    start(f, 0, 0);
    int h = dial(f, "bound.test");
    send_str(f, h, "GET /cl HTTP/1.1\r\nAuthorization: " PH);
    EQ(cloche__net_flush(f->n, h, SOON(3000)), 0);
    const char *part = "GET /cl HTTP/1.1\r\nAuthorization: " PH;
    EQ(srv_wait_received(f->s, 0, strlen(part), 3000), 0);
    assert_string_equal(wire(f, 0), part);
    send_str(f, h, "\r\nX: " PH "\r\n\r\n");
    response r;
    read_response(f, h, 0, &r);
    response_free(&r);
    send_str(f, h, "GET /cl HTTP/1.1\r\nAuthorization: " PH "\r\n\r\n");
    read_response(f, h, 0, &r);
    response_free(&r);
    const char *w = wire(f, 0);
    EQ(count((const uint8_t *)w, strlen(w), PH), 2);
    EQ(count((const uint8_t *)w, strlen(w), VALUE), 1);
}

/* Answers cloche will not pass, and the limits of the bookkeeping. */
static void test_refused_responses(void **state)
{
    fx *f = *state;
    start(f, 0, 0);
    int h = dial(f, "bound.test");
    send_str(f, h, "GET /101 HTTP/1.1\r\nAuthorization: " PH "\r\n\r\n");
    uint8_t buf[64];
    size_t got = 0;
    EQ(cloche__net_recv(f->n, h, buf, sizeof buf, SOON(3000), &got),
       CLOCHE__NET_EDENIED);
    EQ(got, 0);
    /* 64 requests may await answers, not 65 */
    h = dial(f, "bound.test");
    for (int i = 0; i < 64; i++)
        send_str(f, h, "HEAD /cl HTTP/1.1\r\n\r\n");
    size_t sent = 0;
    EQ(cloche__net_send(f->n, h, (const uint8_t *)"HEAD / HTTP/1.1\r\n\r\n",
                        19, SOON(3000), &sent),
       CLOCHE__NET_EDENIED);
    for (int i = 0; i < 64; i++) {
        response r;
        read_response(f, h, 1, &r);
        response_free(&r);
    }
}

/* A connection with no secret bound is not parsed: any protocol goes. */
static void test_unbound_connection_is_raw(void **state)
{
    fx *f = *state;
    srv_config c = {.mode = SRV_ECHO};
    EQ(srv_start(&f->s, &c), 0);
    EQ(cloche__net_new(&f->n, &f->p), 0);
    int h = dial(f, "free.test");
    send_str(f, h, "HELO " PH "\r\n");
    EQ(cloche__net_shutdown(f->n, h, SHUT_WR), 0);
    while (more(f, h) == 0) {
    }
    EQ(f->in_len, strlen("HELO " PH "\r\n"));
    assert_memory_equal(f->in, "HELO " PH "\r\n", f->in_len);
    /* and to the bound host, non-HTTP is refused */
    h = dial(f, "bound.test");
    size_t sent;
    EQ(cloche__net_send(f->n, h, (const uint8_t *)"HELO x\r\n\r\n", 10,
                        SOON(1000), &sent),
       CLOCHE__NET_EDENIED);
}

/* A placeholder longer than its value: a Content-Length answer that
 * reflects it would be mis-framed after scrubbing, so the host re-frames
 * it as chunked (HTTP/1.1). */
static void test_length_changing_placeholder(void **state)
{
    static const cloche__net_secret longer[] = {
        {"API_KEY", VALUE, "CLOCHE_SECRET_API_KEY_00112233445566778899aabb",
         BOUND, 1}};
    fx *f = *state;
    f->p.secrets = longer;
    start(f, 0, 0);
    int h = dial(f, "bound.test");
    for (int i = 0; i < 3; i++) {
        send_str(f, h, "GET /cl HTTP/1.1\r\nAuthorization: " PH "\r\n\r\n");
        response r;
        read_response(f, h, 0, &r);
        EQ(r.status, 200);
        assert_null(strstr((char *)r.head.p, "Content-Length"));
        assert_non_null(strstr((char *)r.head.p, "X-Seen: "));
        EQ(count(r.body.p, r.body.len, VALUE), 0);
        response_free(&r);
    }
    /* the wire carried the value (the guest wrote the short PH, which is
     * not this policy's placeholder: sent unchanged) */
    send_str(f, h, "GET /cl HTTP/1.1\r\nAuthorization: "
                   "CLOCHE_SECRET_API_KEY_00112233445566778899aabb\r\n\r\n");
    response r;
    read_response(f, h, 0, &r);
    EQ(count(r.body.p, r.body.len,
             "CLOCHE_SECRET_API_KEY_00112233445566778899aabb"), 1);
    response_free(&r);
    const char *w = wire(f, 0);
    EQ(count((const uint8_t *)w, strlen(w), VALUE), 1);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_header_values_only),
        T(test_coded_responses_refused),
        T(test_chunk_alignment_every_offset),
        T(test_chunks_written_in_pieces),
        T(test_keep_alive_mixed),
        T(test_cut_body_masked),
        T(test_refused_requests),
        T(test_released_partial_head),
        T(test_refused_responses),
        T(test_unbound_connection_is_raw),
        T(test_length_changing_placeholder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
