/*
 * The images of a run's result (figures as results): the record field
 * that carries them, checked and copied out under the caps. Engine-free:
 * it sees only bytes, so unit and fuzz tests use it directly.
 */
#ifndef CLOCHE_IMAGES_H
#define CLOCHE_IMAGES_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

typedef struct cloche__image {
    uint8_t *data; /* owned */
    size_t len;
} cloche__image;

typedef struct cloche__images {
    cloche__image *items; /* owned, count entries */
    size_t count;
    size_t over_cap; /* left out: over the byte or count cap */
    size_t invalid;  /* left out: not a well-formed PNG */
    size_t secret;   /* left out: held a secret's value */
} cloche__images;

/* Decides whether an image holds something that must not leave (a
 * secret's value): nonzero drops it. */
typedef int (*cloche__image_refuse_fn)(const void *ud, const uint8_t *p,
                                       size_t len);

/* 1 if p[0..len) is a structurally sound PNG: signature, IHDR first (13
 * bytes, nonzero size), every chunk inside the image, IEND last and at
 * the very end. CRCs are not checked (a decoder does). */
int cloche__png_valid(const uint8_t *p, size_t len);

/*
 * Take the images field of a result record, (u32 length, bytes)* filling
 * it exactly, into im (empty before). Kept in order: at most `max_count`
 * images and `byte_cap` bytes in all; an image over either cap, not a
 * sound PNG or refused by `refuse` (may be NULL) is left out and counted,
 * its bytes added to *cut. Returns 0, -1 for a malformed field (nothing
 * kept) or -2 when out of memory.
 */
int cloche__images_take(cloche__images *im, const uint8_t *p, size_t len,
                        size_t max_count, uint64_t byte_cap,
                        cloche__image_refuse_fn refuse, const void *ud,
                        uint64_t *cut);

/* Images left out, for every reason. */
size_t cloche__images_dropped(const cloche__images *im);

/* "[cloche: N images left out: ...]\n" lines for what was dropped, into
 * buf (NUL-terminated, possibly empty); returns the length. */
size_t cloche__images_marker(const cloche__images *im, uint64_t byte_cap,
                             char *buf, size_t cap);

/* [{"mime": "image/png", "base64": ...}, ...]; NULL when out of memory. */
json_t *cloche__images_json(const cloche__images *im);

void cloche__images_free(cloche__images *im);

#endif
