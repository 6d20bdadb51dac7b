/*
 * Little-endian byte writer and bounds-checked reader for the host's
 * binary formats (image snapshots). The writer grows up to a hard cap;
 * the reader never reads past its end: any overrun sets `failed` and
 * yields zeros, so a parser checks once at the end.
 */
#ifndef CLOCHE_BYTES_H
#define CLOCHE_BYTES_H

#include <stddef.h>
#include <stdint.h>

typedef struct cloche__writer {
    uint8_t *data;
    size_t len, cap, limit;
    int failed; /* allocation failed or limit reached */
} cloche__writer;

void cloche__writer_init(cloche__writer *w, size_t limit);
void cloche__put(cloche__writer *w, const void *p, size_t n);
void cloche__put_u32(cloche__writer *w, uint32_t v);
void cloche__put_u64(cloche__writer *w, uint64_t v);
/* u32 length, then the bytes. */
void cloche__put_blob(cloche__writer *w, const void *p, size_t n);

typedef struct cloche__reader {
    const uint8_t *p;
    size_t len, at;
    int failed;
} cloche__reader;

void cloche__reader_init(cloche__reader *r, const uint8_t *p, size_t len);
uint32_t cloche__get_u32(cloche__reader *r);
uint64_t cloche__get_u64(cloche__reader *r);
/* n bytes in place, or NULL (and failed) if fewer remain. */
const uint8_t *cloche__get(cloche__reader *r, size_t n);
/* A u32-length blob in place; *n receives its length. */
const uint8_t *cloche__get_blob(cloche__reader *r, size_t *n);

#endif
