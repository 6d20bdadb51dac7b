/*
 * servers.h - loopback test servers (plain TCP or TLS) and TLS material
 * generated at run time, for the src/net unit tests.
 *
 * A server listens on 127.0.0.1 or ::1, port 0 (the kernel picks), accepts
 * at most SRV_MAX_CONNS connections, each served by its own thread, and
 * records every byte it receives per connection. Every wait is bounded
 * (SRV_LIFETIME_MS overall) so a broken test never hangs; srv_stop joins
 * everything. Nothing here touches a non-loopback address.
 */
#ifndef CLOCHE_TEST_NET_SERVERS_H
#define CLOCHE_TEST_NET_SERVERS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#define SRV_MAX_CONNS 32
#define SRV_LIFETIME_MS 20000u

typedef enum srv_mode {
    SRV_ECHO,   /* write back what arrives; close after the client's EOF */
    SRV_SILENT, /* read and record, never write */
    SRV_SCRIPT, /* play the script, then read and record until EOF */
    SRV_CLOSE,  /* close right after accepting (TLS: after the handshake) */
    SRV_HTTP,   /* HTTP/1.1: each complete request (Content-Length or
                   chunked body) is answered by cfg.http; keep-alive */
} srv_mode;

/** A growable byte buffer for SRV_HTTP answers (aborts on ENOMEM). */
typedef struct srv_buf {
    uint8_t *p;
    size_t len, cap;
} srv_buf;

void srv_buf_add(srv_buf *b, const void *p, size_t n);
void srv_buf_printf(srv_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/**
 * SRV_HTTP: answer one request (req: its head and body exactly as they
 * arrived) by appending the response to resp. Return 1 to close the
 * connection after writing it. Called on the connection's thread.
 */
typedef int (*srv_http_fn)(void *ud, const uint8_t *req, size_t len,
                           srv_buf *resp);

typedef struct srv_step {
    const void *data;
    size_t len;
    unsigned delay_ms; /* sleep before sending */
} srv_step;

typedef struct srv_config {
    int family; /* 0 or AF_INET: 127.0.0.1; AF_INET6: ::1 */
    srv_mode mode;
    SSL_CTX *tls; /* non-NULL: TLS server (borrowed; must outlive it) */
    const srv_step *script;
    size_t nscript;
    int close_after_script; /* SCRIPT: close instead of reading on */
    srv_http_fn http;       /* HTTP: the answers */
    void *http_ud;
    size_t piece;      /* HTTP: write answers in pieces this long (0: whole) */
    unsigned piece_ms; /* HTTP: pause between pieces */
} srv_config;

typedef struct srv srv;

/** Start a server; 0 or -1 (e.g. no IPv6 on this machine). */
int srv_start(srv **out, const srv_config *cfg);
uint16_t srv_port(const srv *s);
/** Connections accepted so far. */
size_t srv_accepted(srv *s);
/** Copy what connection i received; returns its total length. */
size_t srv_received(srv *s, size_t i, uint8_t *buf, size_t cap);
/** Wait until connection i received at least len bytes (or timeout_ms). */
int srv_wait_received(srv *s, size_t i, size_t len, unsigned timeout_ms);
/** SNI the client sent on connection i ("" if none). */
void srv_sni(srv *s, size_t i, char *out, size_t cap);
/** Stop, join and free. NULL is fine. */
void srv_stop(srv *s);

/* ---- TLS material (certs.c) ------------------------------------------- */

/** A fresh P-256 key. */
EVP_PKEY *cert_key(void);
/**
 * A certificate for key, signed by issuer/issuer_key (NULL: self-signed).
 * san: "DNS:localhost,IP:127.0.0.1" or NULL. Valid from now + from_days to
 * now + to_days (negative values lie in the past).
 */
X509 *cert_make(EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
                const char *cn, const char *san, int is_ca, long from_days,
                long to_days);
/** Write x as PEM to a new file under /tmp; path gets its name. 0 or -1. */
int cert_write_pem(X509 *x, char *path, size_t cap);
/** A server SSL_CTX with this leaf; max_version 0 = library default. */
SSL_CTX *cert_server_ctx(X509 *leaf, EVP_PKEY *key, int max_version);

#endif
