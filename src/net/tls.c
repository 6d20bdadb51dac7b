/*
 * tls.c - the OpenSSL client: one SSL_CTX per cloche__net, one SSL per
 * connection, over a socket BIO of our own.
 *
 * Owns the TLS settings, which are not negotiable by the guest: TLS 1.2 or
 * later, peer verification always on (system store plus the policy's extra
 * CA file), hostname verification against the name the allow-list checked
 * (or IP verification for an IP literal, which gets no SNI), no partial
 * wildcards, no compression, no renegotiation. A peer that closes without
 * close_notify reads as EOF (like Python's suppress_ragged_eofs default).
 *
 * The BIO is ours because OpenSSL's socket BIO writes with write(2), which
 * raises SIGPIPE in the embedding process when the peer has gone; ours uses
 * send(MSG_NOSIGNAL). The socket stays non-blocking: every call here makes
 * one attempt and reports CLOCHE__NET_WANT_READ/WRITE; the waiting (with
 * deadlines) happens in the caller, except during the handshake.
 *
 * OpenSSL's error queue is per thread: it is cleared before every call and
 * after reading it, so nothing leaks into the embedder's own OpenSSL use.
 */
#define _DEFAULT_SOURCE

#include "net/net_int.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

struct cloche__net_tls_ctx {
    SSL_CTX *ctx;
    BIO_METHOD *meth;
};

struct cloche__net_tls {
    SSL *ssl;
};

/* ---- the socket BIO ------------------------------------------------------- */

static int bio_fd(BIO *b)
{
    return (int)(intptr_t)BIO_get_data(b);
}

static int bio_write(BIO *b, const char *buf, int len)
{
    BIO_clear_retry_flags(b);
    for (;;) {
        ssize_t w = send(bio_fd(b), buf, (size_t)len, MSG_NOSIGNAL);
        if (w >= 0)
            return (int)w;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            BIO_set_retry_write(b);
        return -1;
    }
}

static int bio_read(BIO *b, char *buf, int len)
{
    BIO_clear_retry_flags(b);
    for (;;) {
        ssize_t r = recv(bio_fd(b), buf, (size_t)len, 0);
        if (r >= 0)
            return (int)r;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            BIO_set_retry_read(b);
        return -1;
    }
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b;
    (void)num;
    (void)ptr;
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

/* ---- context -------------------------------------------------------------- */

static int ssl_error_text(char *err, size_t errlen, int code, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[200] = "unknown error";
    if (e)
        ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    return cloche__net_fail(err, errlen, code, "%s: %s", what, buf);
}

static int make_method(cloche__net_tls_ctx *c)
{
    c->meth = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
                           "cloche socket");
    return c->meth && BIO_meth_set_write(c->meth, bio_write) &&
           BIO_meth_set_read(c->meth, bio_read) &&
           BIO_meth_set_ctrl(c->meth, bio_ctrl) &&
           BIO_meth_set_create(c->meth, bio_create);
}

int cloche__net_tls_ctx_new(cloche__net_tls_ctx **out, const char *extra_ca,
                            char *err, size_t errlen)
{
    *out = NULL;
    ERR_clear_error();
    cloche__net_tls_ctx *c = cloche__net_calloc(1, sizeof *c);
    if (!c)
        return cloche__net_fail(err, errlen, CLOCHE__NET_ENOMEM, "no memory");
    int rc = 0;
    c->ctx = SSL_CTX_new(TLS_client_method());
    if (!c->ctx || !make_method(c) ||
        !SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION))
        rc = ssl_error_text(err, errlen, CLOCHE__NET_ETLS, "TLS setup");
    if (rc == 0) {
        SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
        SSL_CTX_set_options(c->ctx, SSL_OP_NO_COMPRESSION |
                                        SSL_OP_NO_RENEGOTIATION |
                                        SSL_OP_IGNORE_UNEXPECTED_EOF);
        SSL_CTX_set_mode(c->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                                     SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
        if (SSL_CTX_set_default_verify_paths(c->ctx) != 1)
            rc = ssl_error_text(err, errlen, CLOCHE__NET_ETLS,
                                "loading the system CA store");
    }
    if (rc == 0 && extra_ca &&
        SSL_CTX_load_verify_locations(c->ctx, extra_ca, NULL) != 1)
        rc = ssl_error_text(err, errlen, CLOCHE__NET_ETLS,
                            "loading extra_ca_file");
    if (rc) {
        cloche__net_tls_ctx_free(c);
        return rc;
    }
    ERR_clear_error();
    *out = c;
    return 0;
}

void cloche__net_tls_ctx_free(cloche__net_tls_ctx *c)
{
    if (!c)
        return;
    SSL_CTX_free(c->ctx);
    BIO_meth_free(c->meth);
    cloche__net_dealloc(c);
}

/* ---- connections ------------------------------------------------------------ */

/* Map the SSL_get_error value e of a failed call to a status. */
static int io_status(int e)
{
    int code;
    switch (e) {
    case SSL_ERROR_WANT_READ:
        code = CLOCHE__NET_WANT_READ;
        break;
    case SSL_ERROR_WANT_WRITE:
        code = CLOCHE__NET_WANT_WRITE;
        break;
    case SSL_ERROR_ZERO_RETURN:
        code = CLOCHE__NET_ECLOSED;
        break;
    case SSL_ERROR_SYSCALL:
        code = errno ? cloche__net_errno_status(errno) : CLOCHE__NET_ECLOSED;
        break;
    default:
        code = CLOCHE__NET_ETLS;
    }
    ERR_clear_error();
    return code;
}

static int handshake_error(SSL *ssl, int r, char *err, size_t errlen)
{
    long v = SSL_get_verify_result(ssl);
    if (v != X509_V_OK) {
        ERR_clear_error();
        return cloche__net_fail(err, errlen, CLOCHE__NET_ETLS,
                                "certificate verify failed: %s",
                                X509_verify_cert_error_string(v));
    }
    if (SSL_get_error(ssl, r) == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
        int e = errno;
        ERR_clear_error();
        return cloche__net_fail(err, errlen, CLOCHE__NET_ETLS,
                                "TLS handshake: %s",
                                e ? strerror(e) : "connection closed by peer");
    }
    return ssl_error_text(err, errlen, CLOCHE__NET_ETLS, "TLS handshake");
}

static int setup_peer(SSL *ssl, const cloche__net_host *h)
{
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (h->kind == CLOCHE__NET_HOST_NAME)
        return SSL_set_tlsext_host_name(ssl, h->name) == 1 &&
               SSL_set1_host(ssl, h->name) == 1;
    /* RFC 6066: no SNI for an IP literal; verify the IP SAN instead */
    return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), h->name) == 1;
}

int cloche__net_tls_connect(cloche__net_tls **out, cloche__net_tls_ctx *c,
                            int fd, const cloche__net_host *h,
                            uint64_t deadline_ns, char *err, size_t errlen)
{
    *out = NULL;
    ERR_clear_error();
    cloche__net_tls *t = cloche__net_calloc(1, sizeof *t);
    if (!t)
        return cloche__net_fail(err, errlen, CLOCHE__NET_ENOMEM, "no memory");
    BIO *b = NULL;
    t->ssl = SSL_new(c->ctx);
    if (t->ssl)
        b = BIO_new(c->meth);
    if (!t->ssl || !b || !setup_peer(t->ssl, h)) {
        BIO_free(b);
        cloche__net_tls_free(t);
        return ssl_error_text(err, errlen, CLOCHE__NET_ETLS, "TLS setup");
    }
    BIO_set_data(b, (void *)(intptr_t)fd);
    SSL_set_bio(t->ssl, b, b);
    for (;;) {
        ERR_clear_error();
        errno = 0;
        int r = SSL_connect(t->ssl);
        if (r == 1)
            break;
        int e = SSL_get_error(t->ssl, r);
        short ev = e == SSL_ERROR_WANT_READ    ? POLLIN
                   : e == SSL_ERROR_WANT_WRITE ? POLLOUT
                                               : 0;
        int rc = ev ? cloche__net_wait_fd(fd, ev, deadline_ns) : 0;
        if (ev && rc > 0)
            continue;
        rc = !ev  ? handshake_error(t->ssl, r, err, errlen)
             : rc == 0 ? cloche__net_fail(err, errlen, CLOCHE__NET_ETIMEDOUT,
                                          "TLS handshake with %s timed out",
                                          h->name)
                       : cloche__net_fail(err, errlen, CLOCHE__NET_EIO,
                                          "poll failed");
        ERR_clear_error();
        cloche__net_tls_free(t);
        return rc;
    }
    ERR_clear_error();
    *out = t;
    return 0;
}

int cloche__net_tls_send(cloche__net_tls *t, const uint8_t *p, size_t len,
                         size_t *n)
{
    *n = 0;
    if (len == 0)
        return 0;
    ERR_clear_error();
    errno = 0;
    int r = SSL_write(t->ssl, p, len > INT_MAX ? INT_MAX : (int)len);
    if (r > 0) {
        *n = (size_t)r;
        return 0;
    }
    return io_status(SSL_get_error(t->ssl, r));
}

int cloche__net_tls_recv(cloche__net_tls *t, uint8_t *p, size_t cap,
                         size_t *n)
{
    *n = 0;
    ERR_clear_error();
    errno = 0;
    int r = SSL_read(t->ssl, p, cap > INT_MAX ? INT_MAX : (int)cap);
    if (r > 0) {
        *n = (size_t)r;
        return 0;
    }
    int e = SSL_get_error(t->ssl, r);
    if (e == SSL_ERROR_ZERO_RETURN ||
        (e == SSL_ERROR_SYSCALL && errno == 0 && ERR_peek_error() == 0)) {
        ERR_clear_error();
        return 0; /* close_notify, or EOF without it: EOF */
    }
    return io_status(e);
}

int cloche__net_tls_pending(const cloche__net_tls *t)
{
    return SSL_pending(t->ssl);
}

void cloche__net_tls_close_notify(cloche__net_tls *t)
{
    if (!t || !SSL_is_init_finished(t->ssl))
        return;
    ERR_clear_error();
    (void)SSL_shutdown(t->ssl); /* one attempt; the socket is non-blocking */
    ERR_clear_error();
}

void cloche__net_tls_free(cloche__net_tls *t)
{
    if (!t)
        return;
    SSL_free(t->ssl); /* frees the BIO too; the fd belongs to the caller */
    cloche__net_dealloc(t);
}
