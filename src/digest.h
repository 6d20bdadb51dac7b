/* SHA-256 and HMAC-SHA-256 (OpenSSL's libcrypto), for snapshot integrity. */
#ifndef CLOCHE_DIGEST_H
#define CLOCHE_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define CLOCHE__DIGEST_LEN 32

/* out = SHA-256(data), or HMAC-SHA-256(key, data) when key_len > 0.
 * Returns 0 or -1. */
int cloche__digest(uint8_t out[CLOCHE__DIGEST_LEN], const uint8_t *key,
                   size_t key_len, const uint8_t *data, size_t len);
/* The same over the concatenation a || b. */
int cloche__digest2(uint8_t out[CLOCHE__DIGEST_LEN], const uint8_t *key,
                    size_t key_len, const uint8_t *a, size_t alen,
                    const uint8_t *b, size_t blen);
/* Constant-time comparison of two digests: 1 if equal. */
int cloche__digest_equal(const uint8_t a[CLOCHE__DIGEST_LEN],
                         const uint8_t b[CLOCHE__DIGEST_LEN]);

#endif
