/* Byte writer and reader; see bytes.h. */
#include <stdlib.h>
#include <string.h>

#include "bytes.h"

void cloche__writer_init(cloche__writer *w, size_t limit) {
    memset(w, 0, sizeof *w);
    w->limit = limit;
}

static int reserve(cloche__writer *w, size_t n) {
    if (w->failed || n > w->limit - w->len) {
        w->failed = 1;
        return -1;
    }
    if (w->len + n <= w->cap)
        return 0;
    size_t cap = w->cap ? w->cap : 4096;
    while (cap < w->len + n)
        cap = cap > w->limit / 2 ? w->limit : cap * 2;
    uint8_t *grown = realloc(w->data, cap);
    if (!grown) {
        w->failed = 1;
        return -1;
    }
    w->data = grown;
    w->cap = cap;
    return 0;
}

void cloche__put(cloche__writer *w, const void *p, size_t n) {
    if (n && reserve(w, n) == 0) {
        memcpy(w->data + w->len, p, n);
        w->len += n;
    }
}

void cloche__put_u32(cloche__writer *w, uint32_t v) {
    uint8_t b[4];
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    cloche__put(w, b, 4);
}

void cloche__put_u64(cloche__writer *w, uint64_t v) {
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    cloche__put(w, b, 8);
}

void cloche__put_blob(cloche__writer *w, const void *p, size_t n) {
    if (n > UINT32_MAX) {
        w->failed = 1;
        return;
    }
    cloche__put_u32(w, (uint32_t)n);
    cloche__put(w, p, n);
}

void cloche__reader_init(cloche__reader *r, const uint8_t *p, size_t len) {
    r->p = p;
    r->len = len;
    r->at = 0;
    r->failed = 0;
}

const uint8_t *cloche__get(cloche__reader *r, size_t n) {
    if (r->failed || n > r->len - r->at) {
        r->failed = 1;
        return NULL;
    }
    const uint8_t *p = r->p + r->at;
    r->at += n;
    return p;
}

uint32_t cloche__get_u32(cloche__reader *r) {
    const uint8_t *p = cloche__get(r, 4);
    uint32_t v = 0;
    for (int i = 3; p && i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

uint64_t cloche__get_u64(cloche__reader *r) {
    const uint8_t *p = cloche__get(r, 8);
    uint64_t v = 0;
    for (int i = 7; p && i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

const uint8_t *cloche__get_blob(cloche__reader *r, size_t *n) {
    *n = cloche__get_u32(r);
    const uint8_t *p = cloche__get(r, *n);
    if (!p)
        *n = 0;
    return p;
}
