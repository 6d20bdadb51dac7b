/* Image snapshot sections (snapshot_state.c), used by snapshot.c. */
#ifndef CLOCHE_SNAPSHOT_H
#define CLOCHE_SNAPSHOT_H

#include "bytes.h"
#include "internal.h"

/* The header's format version. 2: memory pages stored XOR the image. */
#define CLOCHE__IMAGE_FORMAT 2u

typedef struct cloche__snap_memory {
    uint64_t size;           /* linear memory size */
    size_t count;            /* pages stored */
    const uint8_t *indices;  /* count x u32, in the payload */
    const uint8_t *pages;    /* count x 4096 bytes XOR the image, in the payload */
} cloche__snap_memory;

/* Where MEM's page indices and pages sit in the payload. */
typedef struct cloche__snap_pages {
    size_t index_off, pages_off, count;
} cloche__snap_pages;

/* MEM with the changed pages as they are (for the secrets check) ... */
int cloche__snap_write_memory(cloche__writer *w, cloche_sandbox *sb,
                              const uint8_t *image, uint64_t image_size,
                              cloche__snap_pages *where);
/* ... then turned into the stored form, XOR the image, in place. */
void cloche__snap_delta_pages(uint8_t *payload, const cloche__snap_pages *where,
                              const uint8_t *image, uint64_t image_size);
void cloche__snap_write_run(cloche__writer *w, cloche_sandbox *sb);

int cloche__snap_read_memory(cloche__reader *r, cloche__snap_memory *m);
int cloche__snap_apply_memory(cloche_sandbox *sb, const cloche__snap_memory *m,
                              const uint8_t *image, uint64_t image_size);
/* Restore RUN into a fresh instance (hub, run fields, output, limits). */
int cloche__snap_apply_run(cloche_sandbox *sb, cloche__reader *r);

#endif
