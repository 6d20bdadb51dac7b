/*
 * test_vfs_zip.c - cloche__zip_each_stored: which members of a zip image
 * are reported (stored files only, not deflated ones or directories), that
 * their bytes point into the image, and that every truncation or damaged
 * offset is refused without reading outside the buffer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vfs/vfs.h"

typedef struct {
    uint8_t b[1024];
    size_t n;
} zbuf;

static void put16(zbuf *z, unsigned v)
{
    z->b[z->n++] = (uint8_t)v;
    z->b[z->n++] = (uint8_t)(v >> 8);
}

static void put32(zbuf *z, uint32_t v)
{
    put16(z, v & 0xffff);
    put16(z, v >> 16);
}

static void put(zbuf *z, const char *s, size_t n)
{
    memcpy(z->b + z->n, s, n);
    z->n += n;
}

typedef struct {
    const char *name;
    unsigned method;
    const char *data;
} member;

static const member MEMBERS[] = {
    {"pkg/data/a.txt", 0, "hello"},
    {"pkg/mod.pyc", 8, "xxxx"}, /* "deflated": not reported */
    {"pkg/data/", 0, ""},       /* a directory: not reported */
    {"pkg/data/b.bin", 0, "\x01\x02\x03"},
};
#define NMEM (sizeof MEMBERS / sizeof MEMBERS[0])

/* A zip as zipfile writes it: local headers and data, then the central
 * directory, then the end record. */
static void make_zip(zbuf *z)
{
    uint32_t local[NMEM];
    z->n = 0;
    for (size_t i = 0; i < NMEM; i++) {
        const member *m = &MEMBERS[i];
        size_t nl = strlen(m->name), dl = strlen(m->data);
        local[i] = (uint32_t)z->n;
        put32(z, 0x04034b50u);
        put16(z, 20), put16(z, 0), put16(z, m->method);
        put32(z, 0), put32(z, 0);
        put32(z, (uint32_t)dl), put32(z, (uint32_t)dl);
        put16(z, (unsigned)nl), put16(z, 2); /* 2 bytes of "extra" */
        put(z, m->name, nl), put(z, "ex", 2), put(z, m->data, dl);
    }
    uint32_t cd = (uint32_t)z->n;
    for (size_t i = 0; i < NMEM; i++) {
        const member *m = &MEMBERS[i];
        size_t nl = strlen(m->name), dl = strlen(m->data);
        put32(z, 0x02014b50u);
        put16(z, 20), put16(z, 20), put16(z, 0), put16(z, m->method);
        put32(z, 0), put32(z, 0);
        put32(z, (uint32_t)dl), put32(z, (uint32_t)dl);
        put16(z, (unsigned)nl), put16(z, 0), put16(z, 0);
        put16(z, 0), put16(z, 0), put32(z, 0), put32(z, local[i]);
        put(z, m->name, nl);
    }
    uint32_t cd_size = (uint32_t)z->n - cd;
    put32(z, 0x06054b50u);
    put16(z, 0), put16(z, 0), put16(z, NMEM), put16(z, NMEM);
    put32(z, cd_size), put32(z, cd), put16(z, 0);
}

typedef struct {
    int count;
    char names[4][32];
    const uint8_t *data[4];
    size_t len[4];
} seen;

static int record(void *ud, const char *name, size_t name_len,
                  const uint8_t *data, size_t len)
{
    seen *s = ud;
    if (s->count == 4 || name_len >= sizeof s->names[0])
        return -1;
    memcpy(s->names[s->count], name, name_len);
    s->names[s->count][name_len] = '\0';
    s->data[s->count] = data;
    s->len[s->count++] = len;
    return 0;
}

static void test_stored_members_only(void **state)
{
    (void)state;
    zbuf z;
    make_zip(&z);
    seen s = {0};
    assert_int_equal(cloche__zip_each_stored(z.b, z.n, record, &s), 0);
    assert_int_equal(s.count, 2);
    assert_string_equal(s.names[0], "pkg/data/a.txt");
    assert_int_equal(s.len[0], 5);
    assert_memory_equal(s.data[0], "hello", 5);
    assert_true(s.data[0] > z.b && s.data[0] < z.b + z.n); /* zero copy */
    assert_string_equal(s.names[1], "pkg/data/b.bin");
    assert_memory_equal(s.data[1], "\x01\x02\x03", 3);
}

static void test_visit_error_stops_the_walk(void **state)
{
    (void)state;
    zbuf z;
    make_zip(&z);
    seen s = {0};
    s.count = 4; /* record() refuses at once */
    assert_int_equal(cloche__zip_each_stored(z.b, z.n, record, &s), -1);
}

/* Every prefix of the image, and the image with any one byte of its
 * headers damaged: an error or a walk that stays inside the buffer (the
 * copy is exactly as long as the image, so ASan sees any overread). */
static void test_truncated_and_damaged(void **state)
{
    (void)state;
    zbuf z;
    make_zip(&z);
    for (size_t n = 0; n < z.n; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, z.b, n);
        seen s = {0};
        assert_int_not_equal(cloche__zip_each_stored(copy, n, record, &s), 0);
        free(copy);
    }
    for (size_t i = 0; i < z.n; i++) {
        uint8_t *copy = malloc(z.n);
        memcpy(copy, z.b, z.n);
        copy[i] ^= 0xff;
        seen s = {0};
        (void)cloche__zip_each_stored(copy, z.n, record, &s);
        free(copy);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stored_members_only),
        cmocka_unit_test(test_visit_error_stops_the_walk),
        cmocka_unit_test(test_truncated_and_damaged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
