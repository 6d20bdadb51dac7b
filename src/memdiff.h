/*
 * Which pages of a sandbox's linear memory differ from the pre-initialized
 * image: the memory part of an image snapshot.
 */
#ifndef CLOCHE_MEMDIFF_H
#define CLOCHE_MEMDIFF_H

#include <stddef.h>
#include <stdint.h>

#define CLOCHE__PAGE 4096u

/*
 * List the 4 KiB pages of mem[0, size) that differ from image[0,
 * image_size) (pages past the image are compared with zeros). Linux's
 * /proc/self/pagemap narrows the search to pages this process privately
 * wrote (copy-on-write broke); without it every page is compared.
 * *pages is malloc'd (indices, ascending). Returns 0 or CLOCHE_ENOMEM.
 */
int cloche__memdiff(uint32_t **pages, size_t *count, const uint8_t *mem,
                    uint64_t size, const uint8_t *image, uint64_t image_size);

#endif
