/*
 * Accessors for the guest artifacts embedded by embed.S, and the build id
 * that names this exact guest (used to key the code cache and, later,
 * snapshots). CLOCHE_GUEST_BUILD_ID is set by the build.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* Where the image's stored members appear as files (make_stdlib_zip.py
 * stores the data that packages open by name, e.g. matplotlib's mpl-data). */
#define STDLIB_FILES_DIR "/usr/local/share/python313/"

extern const uint8_t cloche__embedded_guest_wasm[];
extern const uint8_t cloche__embedded_guest_wasm_end[];
extern const uint8_t cloche__embedded_stdlib_zip[];
extern const uint8_t cloche__embedded_stdlib_zip_end[];

const uint8_t *cloche__guest_wasm(size_t *len) {
    *len = (size_t)(cloche__embedded_guest_wasm_end -
                    cloche__embedded_guest_wasm);
    return cloche__embedded_guest_wasm;
}

const uint8_t *cloche__stdlib_zip(size_t *len) {
    *len = (size_t)(cloche__embedded_stdlib_zip_end -
                    cloche__embedded_stdlib_zip);
    return cloche__embedded_stdlib_zip;
}

const char *cloche__guest_build_id(void) { return CLOCHE_GUEST_BUILD_ID; }

const char *cloche_version(void) { return CLOCHE_VERSION; }

/* The stdlib image's stored members (vfs_zip.c), found once per process:
 * the image never changes while the library is loaded, and the list lives
 * as long as it (plain malloc, never freed, so it is not counted as a
 * live allocation of any sandbox). */
typedef struct {
    const char *name;
    size_t name_len;
    const uint8_t *data;
    size_t len;
} stdlib_file;

static stdlib_file *g_files;
static size_t g_nfiles;
static pthread_once_t g_files_once = PTHREAD_ONCE_INIT;

static int count_file(void *ud, const char *name, size_t name_len,
                      const uint8_t *data, size_t len) {
    (void)name, (void)name_len, (void)data, (void)len;
    (*(size_t *)ud)++;
    return 0;
}

static int keep_file(void *ud, const char *name, size_t name_len,
                     const uint8_t *data, size_t len) {
    size_t *n = ud;
    g_files[(*n)++] = (stdlib_file){name, name_len, data, len};
    return 0;
}

static void find_stdlib_files(void) {
    size_t zip_len, n = 0;
    const uint8_t *zip = cloche__stdlib_zip(&zip_len);
    if (cloche__zip_each_stored(zip, zip_len, count_file, &n) != 0 || n == 0)
        return;
    if ((g_files = malloc(n * sizeof *g_files)) == NULL)
        return;
    size_t kept = 0;
    cloche__zip_each_stored(zip, zip_len, keep_file, &kept);
    g_nfiles = kept;
}

int cloche__serve_stdlib_files(cloche__vfs *vfs) {
    pthread_once(&g_files_once, find_stdlib_files);
    char path[1024];
    size_t pre = sizeof STDLIB_FILES_DIR - 1;
    memcpy(path, STDLIB_FILES_DIR, pre);
    for (size_t i = 0; i < g_nfiles; i++) {
        const stdlib_file *f = &g_files[i];
        if (f->name_len >= sizeof path - pre)
            continue; /* no such names in an image cloche builds */
        memcpy(path + pre, f->name, f->name_len);
        path[pre + f->name_len] = '\0';
        int rc = cloche__vfs_add_file_ro(vfs, path, f->data, f->len);
        if (rc != 0)
            return rc;
    }
    return 0;
}
