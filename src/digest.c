/* Digests for snapshots, from OpenSSL's libcrypto (never hand-rolled). */
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "digest.h"

static int sha256_parts(uint8_t *out, const uint8_t *a, size_t alen,
                        const uint8_t *b, size_t blen) {
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int n = 0;
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
             EVP_DigestUpdate(ctx, a, alen) &&
             (blen == 0 || EVP_DigestUpdate(ctx, b, blen)) &&
             EVP_DigestFinal_ex(ctx, out, &n) && n == CLOCHE__DIGEST_LEN;
    EVP_MD_CTX_free(ctx);
    return ok ? 0 : -1;
}

static int hmac_parts(uint8_t *out, const uint8_t *key, size_t key_len,
                      const uint8_t *a, size_t alen, const uint8_t *b,
                      size_t blen) {
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
        OSSL_PARAM_construct_end()};
    size_t n = 0;
    int ok = ctx && EVP_MAC_init(ctx, key, key_len, params) &&
             EVP_MAC_update(ctx, a, alen) &&
             (blen == 0 || EVP_MAC_update(ctx, b, blen)) &&
             EVP_MAC_final(ctx, out, &n, CLOCHE__DIGEST_LEN) &&
             n == CLOCHE__DIGEST_LEN;
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    return ok ? 0 : -1;
}

int cloche__digest2(uint8_t out[CLOCHE__DIGEST_LEN], const uint8_t *key,
                    size_t key_len, const uint8_t *a, size_t alen,
                    const uint8_t *b, size_t blen) {
    if (key_len == 0)
        return sha256_parts(out, a, alen, b, blen);
    return hmac_parts(out, key, key_len, a, alen, b, blen);
}

int cloche__digest(uint8_t out[CLOCHE__DIGEST_LEN], const uint8_t *key,
                   size_t key_len, const uint8_t *data, size_t len) {
    return cloche__digest2(out, key, key_len, data, len, NULL, 0);
}

int cloche__digest_equal(const uint8_t a[CLOCHE__DIGEST_LEN],
                         const uint8_t b[CLOCHE__DIGEST_LEN]) {
    return CRYPTO_memcmp(a, b, CLOCHE__DIGEST_LEN) == 0;
}
