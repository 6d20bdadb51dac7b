/*
 * vfs_zip.c - find the uncompressed members of a zip image.
 *
 * The stdlib image (python313.zip) is served whole at one path and read by
 * zipimport, which is enough for modules but not for data a package opens
 * by file name (matplotlib's fonts and matplotlibrc go through open()).
 * tools/make_stdlib_zip.py stores such members uncompressed and deflates
 * everything else, so "stored" means "also serve me as a file": this walks
 * the zip's central directory and reports each stored member with a
 * pointer to its bytes inside the image, for the embedder to add as a
 * borrowed read-only file (zero copy).
 *
 * The image is built with cloche, but every offset and length read from it
 * is still checked against the buffer: a malformed image is an error, never
 * an out-of-bounds read. Owns nothing and allocates nothing.
 */
#include "vfs/vfs_int.h"

#include <string.h>

#define EOCD_SIG 0x06054b50u
#define CDIR_SIG 0x02014b50u
#define LOCAL_SIG 0x04034b50u
#define EOCD_LEN 22u
#define CDIR_LEN 46u
#define LOCAL_LEN 30u

static uint32_t rd16(const uint8_t *p) { return (uint32_t)(p[0] | p[1] << 8); }

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/* The end-of-central-directory record: the last one, searched backwards
 * over the longest possible trailing comment. */
static int find_eocd(size_t *at, const uint8_t *zip, size_t len)
{
    if (len < EOCD_LEN)
        return CLOCHE__EINVAL;
    size_t lowest = len - EOCD_LEN > 65535 ? len - EOCD_LEN - 65535 : 0;
    for (size_t i = len - EOCD_LEN + 1; i-- > lowest;) {
        if (rd32(zip + i) == EOCD_SIG) {
            *at = i;
            return 0;
        }
    }
    return CLOCHE__EINVAL;
}

/* Where a member's data starts: after its local header, whose name and
 * extra lengths may differ from the central directory's. */
static int member_data(const uint8_t **data, const uint8_t *zip, size_t len,
                       uint64_t local, uint64_t size)
{
    if (local > len || len - local < LOCAL_LEN ||
        rd32(zip + local) != LOCAL_SIG)
        return CLOCHE__EINVAL;
    uint64_t start = local + LOCAL_LEN + rd16(zip + local + 26) +
                     rd16(zip + local + 28);
    if (start > len || len - start < size)
        return CLOCHE__EINVAL;
    *data = zip + start;
    return 0;
}

int cloche__zip_each_stored(const uint8_t *zip, size_t len,
                            cloche__zip_visit visit, void *ud)
{
    size_t eocd;
    int rc = find_eocd(&eocd, zip, len);
    if (rc)
        return rc;
    /* Sizes and offsets below 4 GiB are exact even in a zip64 image (only
     * the entry count saturates), and the walk goes by size, not count. */
    uint64_t size = rd32(zip + eocd + 12), off = rd32(zip + eocd + 16);
    if (off > eocd || eocd - off < size)
        return CLOCHE__EINVAL;
    uint64_t pos = off, end = off + size;
    while (pos < end) {
        const uint8_t *e = zip + pos;
        if (end - pos < CDIR_LEN || rd32(e) != CDIR_SIG)
            return CLOCHE__EINVAL;
        uint32_t name_len = rd16(e + 28);
        uint64_t next = pos + CDIR_LEN + name_len + rd16(e + 30) + rd16(e + 32);
        if (next > end)
            return CLOCHE__EINVAL;
        const char *name = (const char *)e + CDIR_LEN;
        uint32_t csize = rd32(e + 20);
        int is_dir = name_len > 0 && name[name_len - 1] == '/';
        if (rd16(e + 10) == 0 && !is_dir && csize == rd32(e + 24)) {
            const uint8_t *data;
            if ((rc = member_data(&data, zip, len, rd32(e + 42), csize)) != 0)
                return rc;
            if ((rc = visit(ud, name, name_len, data, csize)) != 0)
                return rc;
        }
        pos = next;
    }
    return 0;
}
