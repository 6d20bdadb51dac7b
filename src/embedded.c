/*
 * Accessors for the guest artifacts embedded by embed.S, and the build id
 * that names this exact guest (used to key the code cache and, later,
 * snapshots). CLOCHE_GUEST_BUILD_ID is set by the build.
 */
#include "internal.h"

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
