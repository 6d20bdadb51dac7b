/*
 * Compiled-code cache. Compiling the guest with Cranelift takes seconds, so
 * the first engine in a user account compiles it once and writes the
 * machine code to <cache>/<guest build id>-<fuel>.cwasm; later engines map
 * that file (wasmtime_module_deserialize_file), which also lets wasmtime
 * back each sandbox's memory image copy-on-write by the page cache.
 *
 * Trust: a .cwasm is native code. The folder is created 0700 and files
 * 0600; it must not be writable by anyone the embedder does not trust.
 * A file that wasmtime rejects (other wasmtime version or CPU features) is
 * recompiled and replaced. Writes go through a temporary file and rename,
 * so concurrent processes never see a partial file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define PATH_CAP 4096

static int mkdir_p(const char *dir) {
    char tmp[PATH_CAP];
    if (snprintf(tmp, sizeof tmp, "%s", dir) >= (int)sizeof tmp)
        return -1;
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return (mkdir(tmp, 0700) != 0 && errno != EEXIST) ? -1 : 0;
}

/* Resolve the cache folder: explicit, $CLOCHE_CODE_CACHE, XDG, ~/.cache. */
static int cache_dir(char *out, size_t len, const char *explicit_dir) {
    const char *env;
    int n;
    if (explicit_dir && *explicit_dir)
        n = snprintf(out, len, "%s", explicit_dir);
    else if ((env = getenv("CLOCHE_CODE_CACHE")) && *env)
        n = snprintf(out, len, "%s", env);
    else if ((env = getenv("XDG_CACHE_HOME")) && *env)
        n = snprintf(out, len, "%s/cloche/code", env);
    else if ((env = getenv("HOME")) && *env)
        n = snprintf(out, len, "%s/.cache/cloche/code", env);
    else
        return -1;
    return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

static int compile_guest(wasmtime_module_t **out, wasm_engine_t *engine,
                         char *err, size_t len) {
    size_t wasm_len;
    const uint8_t *wasm = cloche__guest_wasm(&wasm_len);
    wasmtime_error_t *e = wasmtime_module_new(engine, wasm, wasm_len, out);
    if (e) {
        cloche__take_wasmtime_error(e, err, len);
        return CLOCHE_EENGINE;
    }
    return 0;
}

/* Best effort: a cache we cannot write only costs the next start time. */
static void store_module(const wasmtime_module_t *module, const char *path) {
    wasm_byte_vec_t bytes;
    wasmtime_error_t *e = wasmtime_module_serialize(module, &bytes);
    if (e) {
        wasmtime_error_delete(e);
        return;
    }
    char tmp[PATH_CAP + 32];
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    int ok = f && fchmod(fileno(f), 0600) == 0 &&
             fwrite(bytes.data, 1, bytes.size, f) == bytes.size;
    if (f && fclose(f) != 0)
        ok = 0;
    if (!ok || rename(tmp, path) != 0)
        unlink(tmp);
    wasm_byte_vec_delete(&bytes);
}

int cloche__load_guest_module(wasmtime_module_t **out, wasm_engine_t *engine,
                              const char *explicit_dir, int fuel, char *err,
                              size_t len) {
    char dir[PATH_CAP], path[PATH_CAP];
    if (cache_dir(dir, sizeof dir, explicit_dir) != 0 || mkdir_p(dir) != 0)
        return compile_guest(out, engine, err, len);
    int n = snprintf(path, sizeof path, "%s/%s-%s.cwasm", dir,
                     cloche__guest_build_id(), fuel ? "fuel" : "nofuel");
    if (n < 0 || (size_t)n >= sizeof path)
        return compile_guest(out, engine, err, len);

    if (access(path, R_OK) == 0) {
        wasmtime_error_t *e =
            wasmtime_module_deserialize_file(engine, path, out);
        if (!e)
            return 0;
        wasmtime_error_delete(e); /* stale or foreign: rebuild it */
    }
    int rc = compile_guest(out, engine, err, len);
    if (rc == 0) {
        store_module(*out, path);
        /* Re-open from the file so memory images are file-backed. */
        wasmtime_module_t *mapped = NULL;
        wasmtime_error_t *e =
            wasmtime_module_deserialize_file(engine, path, &mapped);
        if (!e) {
            wasmtime_module_delete(*out);
            *out = mapped;
        } else {
            wasmtime_error_delete(e);
        }
    }
    return rc;
}
