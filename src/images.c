/*
 * Images of a result (figures as results): the guest's images field read,
 * each image checked and copied under the caps, and rendered as base64
 * JSON.
 *
 * The field comes from the guest, which is hostile: its framing is walked
 * once with every length checked against what remains before anything is
 * copied, and each image is checked as a PNG (chunk by chunk, within its
 * own bounds) before it is kept. What fails or does not fit is counted,
 * never fatal: only a field whose framing is broken fails the record.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "cloche/result.h"
#include "images.h"

static const uint8_t png_signature[8] = {0x89, 'P',  'N',  'G',
                                         '\r', '\n', 0x1a, '\n'};

/* Lengths in the images field are little-endian, like the record's;
 * PNG's own are big-endian. */
static uint32_t load_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint32_t load_be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

static int chunk_type_ok(const uint8_t *t) {
    for (int i = 0; i < 4; i++) {
        uint8_t c = t[i] | 0x20; /* letters only, either case */
        if (c < 'a' || c > 'z')
            return 0;
    }
    return 1;
}

/* IHDR: 13 bytes, width and height in 1..2^31-1 (the PNG spec's range). */
static int ihdr_ok(const uint8_t *chunk, uint32_t n) {
    if (n != 13 || memcmp(chunk + 4, "IHDR", 4) != 0)
        return 0;
    uint32_t w = load_be32(chunk + 8), h = load_be32(chunk + 12);
    return w > 0 && h > 0 && w <= INT32_MAX && h <= INT32_MAX;
}

int cloche__png_valid(const uint8_t *p, size_t len) {
    if (len < sizeof png_signature ||
        memcmp(p, png_signature, sizeof png_signature) != 0)
        return 0;
    size_t at = sizeof png_signature;
    /* Each chunk: u32 length, type, data, CRC (12 bytes + data). */
    while (len - at >= 12) {
        uint32_t n = load_be32(p + at);
        if (n > len - at - 12 || !chunk_type_ok(p + at + 4))
            return 0;
        if (at == sizeof png_signature && !ihdr_ok(p + at, n))
            return 0;
        int end = memcmp(p + at + 4, "IEND", 4) == 0;
        at += 12 + (size_t)n;
        if (end)
            return n == 0 && at == len && at > sizeof png_signature + 12;
    }
    return 0; /* ran out before IEND */
}

/* Walk the framing only: 0 if the entries fill the field exactly. */
static int frame_ok(const uint8_t *p, size_t len) {
    size_t at = 0;
    while (at < len) {
        if (len - at < 4)
            return -1;
        uint32_t n = load_le32(p + at);
        at += 4;
        if (n > len - at)
            return -1;
        at += n;
    }
    return 0;
}

static int keep(cloche__images *im, const uint8_t *p, size_t n,
                size_t max_count) {
    if (!im->items) {
        im->items = calloc(max_count, sizeof *im->items);
        if (!im->items)
            return -2;
    }
    uint8_t *copy = malloc(n);
    if (!copy)
        return -2;
    memcpy(copy, p, n);
    im->items[im->count].data = copy;
    im->items[im->count].len = n;
    im->count++;
    return 0;
}

int cloche__images_take(cloche__images *im, const uint8_t *p, size_t len,
                        size_t max_count, uint64_t byte_cap,
                        cloche__image_refuse_fn refuse, const void *ud,
                        uint64_t *cut) {
    if (frame_ok(p, len) != 0)
        return -1;
    uint64_t used = 0;
    for (size_t at = 0; at < len;) {
        size_t n = load_le32(p + at);
        const uint8_t *img = p + at + 4;
        at += 4 + n;
        size_t *dropped = NULL;
        if (im->count >= max_count || n > byte_cap - used)
            dropped = &im->over_cap;
        else if (!cloche__png_valid(img, n))
            dropped = &im->invalid;
        else if (refuse && refuse(ud, img, n))
            dropped = &im->secret;
        if (dropped) {
            (*dropped)++;
            *cut += n;
            continue;
        }
        if (keep(im, img, n, max_count) != 0)
            return -2;
        used += n;
    }
    return 0;
}

size_t cloche__images_dropped(const cloche__images *im) {
    return im->over_cap + im->invalid + im->secret;
}

size_t cloche__images_marker(const cloche__images *im, uint64_t byte_cap,
                             char *buf, size_t cap) {
    size_t at = 0;
    buf[0] = '\0';
    const struct {
        size_t n;
        const char *why;
    } lines[] = {{im->over_cap, "over the images cap"},
                 {im->invalid, "not a well-formed PNG"},
                 {im->secret, "held a secret's value"}};
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) {
        if (!lines[i].n || at >= cap)
            continue;
        int m = i == 0 ? snprintf(buf + at, cap - at,
                                  "[cloche: %zu images left out: %s of "
                                  "%llu bytes or %d images]\n",
                                  lines[i].n, lines[i].why,
                                  (unsigned long long)byte_cap,
                                  CLOCHE_MAX_IMAGES)
                       : snprintf(buf + at, cap - at,
                                  "[cloche: %zu images left out: %s]\n",
                                  lines[i].n, lines[i].why);
        at = m < 0 ? at : at + (size_t)m < cap ? at + (size_t)m : cap - 1;
    }
    return at;
}

/* Base64 of p[0..n): EVP_EncodeBlock takes an int, so whole 3-byte groups
 * go through in slices. NULL when out of memory. */
static char *base64(const uint8_t *p, size_t n) {
    const size_t slice = (size_t)3 << 20;
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t at = 0; at < n; at += slice) {
        size_t k = n - at < slice ? n - at : slice;
        o += (size_t)EVP_EncodeBlock((unsigned char *)out + o, p + at, (int)k);
    }
    out[o] = '\0';
    return out;
}

json_t *cloche__images_json(const cloche__images *im) {
    json_t *a = json_array();
    for (size_t i = 0; a && i < im->count; i++) {
        char *b64 = base64(im->items[i].data, im->items[i].len);
        json_t *o = b64 ? json_pack("{s:s, s:s}", "mime", "image/png",
                                    "base64", b64)
                        : NULL;
        free(b64);
        if (!o || json_array_append_new(a, o) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

void cloche__images_free(cloche__images *im) {
    for (size_t i = 0; i < im->count; i++)
        free(im->items[i].data);
    free(im->items);
    memset(im, 0, sizeof *im);
}
