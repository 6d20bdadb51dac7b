/*
 * Dirty-page detection for image snapshots. A sandbox's memory starts as a
 * private copy-on-write mapping of the image, so a page it never wrote is
 * either not present or still backed by the image's file/memfd page. The
 * kernel's pagemap says which pages are private anonymous copies; only
 * those can differ. Each candidate is then compared with the image, so the
 * snapshot holds exactly the pages that changed (a page written back to
 * its original bytes is left out).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cloche.h"
#include "memdiff.h"

#define PM_PRESENT (1ull << 63)
#define PM_SWAPPED (1ull << 62)
#define PM_FILE_OR_SHARED (1ull << 61)
#define PAGEMAP_BATCH 512

/* 1 if the page may have been written: present and private, or swapped. */
static int maybe_written(uint64_t entry) {
    if (entry & PM_SWAPPED)
        return 1;
    return (entry & PM_PRESENT) && !(entry & PM_FILE_OR_SHARED);
}

static int page_differs(const uint8_t *mem, const uint8_t *image,
                        uint64_t image_size, uint64_t off) {
    static const uint8_t zeros[CLOCHE__PAGE];
    const uint8_t *p = mem + off;
    if (off + CLOCHE__PAGE <= image_size)
        return memcmp(p, image + off, CLOCHE__PAGE) != 0;
    if (off >= image_size)
        return memcmp(p, zeros, CLOCHE__PAGE) != 0;
    size_t head = (size_t)(image_size - off);
    return memcmp(p, image + off, head) != 0 ||
           memcmp(p + head, zeros, CLOCHE__PAGE - head) != 0;
}

typedef struct page_list {
    uint32_t *items;
    size_t count, cap;
} page_list;

static int push(page_list *l, uint32_t page) {
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        uint32_t *grown = realloc(l->items, cap * sizeof *grown);
        if (!grown)
            return -1;
        l->items = grown;
        l->cap = cap;
    }
    l->items[l->count++] = page;
    return 0;
}

/* Fill flags[i] = 1 for pages that may have been written; -1 if the
 * pagemap cannot be read (then the caller compares every page). */
static int read_pagemap(uint8_t *flags, const uint8_t *mem, size_t npages) {
    int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    uint64_t entries[PAGEMAP_BATCH];
    uint64_t first = (uint64_t)(uintptr_t)mem / CLOCHE__PAGE;
    for (size_t i = 0; i < npages; i += PAGEMAP_BATCH) {
        size_t n = npages - i < PAGEMAP_BATCH ? npages - i : PAGEMAP_BATCH;
        off_t at = (off_t)((first + i) * sizeof(uint64_t));
        ssize_t got = pread(fd, entries, n * sizeof(uint64_t), at);
        if (got != (ssize_t)(n * sizeof(uint64_t))) {
            close(fd);
            return -1;
        }
        for (size_t k = 0; k < n; k++)
            flags[i + k] = (uint8_t)maybe_written(entries[k]);
    }
    close(fd);
    return 0;
}

int cloche__memdiff(uint32_t **pages, size_t *count, const uint8_t *mem,
                    uint64_t size, const uint8_t *image, uint64_t image_size) {
    size_t npages = (size_t)(size / CLOCHE__PAGE);
    uint8_t *flags = malloc(npages ? npages : 1);
    if (!flags)
        return CLOCHE_ENOMEM;
    if (read_pagemap(flags, mem, npages) != 0)
        memset(flags, 1, npages);
    page_list list = {0};
    int rc = 0;
    for (size_t i = 0; i < npages && rc == 0; i++) {
        uint64_t off = (uint64_t)i * CLOCHE__PAGE;
        if (flags[i] && page_differs(mem, image, image_size, off))
            rc = push(&list, (uint32_t)i) ? CLOCHE_ENOMEM : 0;
    }
    free(flags);
    if (rc != 0) {
        free(list.items);
        return rc;
    }
    *pages = list.items;
    *count = list.count;
    return 0;
}
