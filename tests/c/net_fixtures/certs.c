/*
 * certs.c - TLS test material made at run time with OpenSSL's C API: keys,
 * a CA, leaves with chosen names and validity, server contexts. Nothing is
 * committed to the tree; the CA file lives under /tmp for one test run.
 */
#define _DEFAULT_SOURCE

#include "servers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

EVP_PKEY *cert_key(void)
{
    return EVP_EC_gen("P-256");
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!e)
        return -1;
    int ok = X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    return ok ? 0 : -1;
}

X509 *cert_make(EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
                const char *cn, const char *san, int is_ca, long from_days,
                long to_days)
{
    static long serial = 1;
    X509 *x = X509_new();
    if (!x)
        return NULL;
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
    X509_gmtime_adj(X509_getm_notBefore(x), from_days * 86400);
    X509_gmtime_adj(X509_getm_notAfter(x), to_days * 86400);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    X509 *iss = issuer ? issuer : x;
    int rc = add_ext(x, iss, NID_basic_constraints,
                     is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    if (rc == 0)
        rc = add_ext(x, iss, NID_key_usage,
                     is_ca ? "critical,keyCertSign,cRLSign"
                           : "critical,digitalSignature");
    if (rc == 0)
        rc = add_ext(x, iss, NID_subject_key_identifier, "hash");
    if (rc == 0 && issuer)
        rc = add_ext(x, iss, NID_authority_key_identifier, "keyid:always");
    if (rc == 0 && !is_ca)
        rc = add_ext(x, iss, NID_ext_key_usage, "serverAuth");
    if (rc == 0 && san)
        rc = add_ext(x, iss, NID_subject_alt_name, san);
    if (rc != 0 ||
        !X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256())) {
        X509_free(x);
        return NULL;
    }
    return x;
}

int cert_write_pem(X509 *x, char *path, size_t cap)
{
    if (cap < 32)
        return -1;
    snprintf(path, cap, "/tmp/cloche_net_ca_XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        return -1;
    }
    int ok = PEM_write_X509(f, x);
    fclose(f);
    return ok ? 0 : -1;
}

SSL_CTX *cert_server_ctx(X509 *leaf, EVP_PKEY *key, int max_version)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx)
        return NULL;
    if (max_version) {
        /* old protocol versions need security level 0 in OpenSSL 3 */
        SSL_CTX_set_security_level(ctx, 0);
        SSL_CTX_set_min_proto_version(ctx, 0);
        SSL_CTX_set_max_proto_version(ctx, max_version);
    }
    if (SSL_CTX_use_certificate(ctx, leaf) != 1 ||
        SSL_CTX_use_PrivateKey(ctx, key) != 1) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}
