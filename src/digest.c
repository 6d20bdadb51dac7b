/* Digests for snapshots, from OpenSSL's libcrypto (never hand-rolled). */
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "digest.h"

int cloche__digest(uint8_t out[CLOCHE__DIGEST_LEN], const uint8_t *key,
                   size_t key_len, const uint8_t *data, size_t len) {
    size_t out_len = 0;
    if (key_len == 0) {
        unsigned int n = 0;
        int ok = EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
        return ok && n == CLOCHE__DIGEST_LEN ? 0 : -1;
    }
    if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, key_len, data,
                   len, out, CLOCHE__DIGEST_LEN, &out_len))
        return -1;
    return out_len == CLOCHE__DIGEST_LEN ? 0 : -1;
}

int cloche__digest_equal(const uint8_t a[CLOCHE__DIGEST_LEN],
                         const uint8_t b[CLOCHE__DIGEST_LEN]) {
    return CRYPTO_memcmp(a, b, CLOCHE__DIGEST_LEN) == 0;
}
