/*
 * Helpers shared by the sandbox network tests (test_network.c,
 * test_secrets.c): a test CA and server certificates made at run time,
 * sandboxes with a network grant, and running Python built with printf.
 */
#ifndef CLOCHE_TEST_NET_SANDBOX_H
#define CLOCHE_TEST_NET_SANDBOX_H

#define _DEFAULT_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "servers.h"

/* TLS material for every test of a program. */
typedef struct net_material {
    EVP_PKEY *ca_key, *key;
    X509 *ca, *good, *self;
    char ca_file[64];
    SSL_CTX *s_good, *s_self;
} net_material;

static net_material NM;

static inline int net_material_setup(void) {
    NM.ca_key = cert_key();
    NM.key = cert_key();
    NM.ca = cert_make(NM.ca_key, NULL, NULL, "cloche sandbox test CA", NULL, 1,
                      -1, 30);
    NM.good = cert_make(NM.key, NM.ca, NM.ca_key, "localhost",
                        "DNS:localhost,IP:127.0.0.1", 0, -1, 30);
    NM.self = cert_make(NM.key, NULL, NULL, "localhost", "DNS:localhost", 0,
                        -1, 30);
    if (!NM.ca || !NM.good || !NM.self ||
        cert_write_pem(NM.ca, NM.ca_file, sizeof NM.ca_file) != 0)
        return -1;
    NM.s_good = cert_server_ctx(NM.good, NM.key, 0);
    NM.s_self = cert_server_ctx(NM.self, NM.key, 0);
    return NM.s_good && NM.s_self ? 0 : -1;
}

static inline void net_material_free(void) {
    SSL_CTX_free(NM.s_good);
    SSL_CTX_free(NM.s_self);
    X509_free(NM.ca);
    X509_free(NM.good);
    X509_free(NM.self);
    EVP_PKEY_free(NM.ca_key);
    EVP_PKEY_free(NM.key);
    unlink(NM.ca_file);
}

static inline int group_setup(void **state) {
    return net_material_setup() != 0 ? -1 : test_engine_setup(state);
}

static inline int group_teardown(void **state) {
    net_material_free();
    return test_engine_teardown(state);
}

/* A sandbox whose network allows "localhost" on any port, loopback
 * included, trusting the test CA; n may add secrets and caps. */
static inline cloche_sandbox *net_sandbox(cloche_network_options *n) {
    static const cloche_net_rule localhost[] = {{"localhost", 0}};
    if (!n->allow) {
        n->allow = localhost;
        n->allow_count = 1;
    }
    n->extra_ca_file = NM.ca_file;
    cloche_sandbox_options o = CLOCHE_SANDBOX_OPTIONS_INIT;
    o.network = n;
    o.timeout_ms = 20000;
    return test_sandbox(&o);
}

static inline srv *start_server(srv_mode mode, SSL_CTX *tls,
                                const srv_step *script, size_t nscript) {
    srv_config c = {.mode = mode, .tls = tls, .script = script,
                    .nscript = nscript};
    srv *s = NULL;
    assert_int_equal(srv_start(&s, &c), 0);
    return s;
}

/* An HTTP/1.1 server (keep-alive) answering with fn. */
static inline srv *start_http_server(SSL_CTX *tls, srv_http_fn fn) {
    srv_config c = {.mode = SRV_HTTP, .tls = tls, .http = fn};
    srv *s = NULL;
    assert_int_equal(srv_start(&s, &c), 0);
    return s;
}

/* Python source from a printf format (static buffer). */
static inline const char *py(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static inline const char *py(const char *fmt, ...) {
    static char code[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(code, sizeof code, fmt, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t)n < sizeof code);
    return code;
}

/* What connection i of s received, as a string (static buffer). */
static inline const char *received(srv *s, size_t i, size_t at_least) {
    static char buf[16384];
    srv_wait_received(s, i, at_least, 5000);
    size_t n = srv_received(s, i, (uint8_t *)buf, sizeof buf - 1);
    buf[n < sizeof buf - 1 ? n : sizeof buf - 1] = '\0';
    return buf;
}

#endif
