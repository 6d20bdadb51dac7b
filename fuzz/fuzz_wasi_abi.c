/*
 * fuzz_wasi_abi.c - every WASI import over hostile guest memory. See
 * fuzz/README.md.
 *
 * The guest memory is a heap block of exactly its size (so ASan reports
 * any byte touched outside it), 4 KiB to 64 KiB, first filled from the
 * input. Then a sequence of calls through cloche__wasi_dispatch, each an
 * import index and its raw arguments, each argument a small number, an
 * offset near the end of memory, a value near 2^32, or raw bits - the
 * pointers and lengths a hostile guest would pass. Checked: every call
 * returns a WASI errno (0..76), no crash, no sanitizer report, and after
 * freeing everything no VFS/WASI allocation is left.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vfs/vfs_alloc.h"
#include "wasi/wasi.h"

static const uint8_t ro_data[] = "hello world";

static void check(int ok)
{
    if (!ok)
        abort();
}

static uint64_t fixed_now(void *ud)
{
    (void)ud;
    return UINT64_C(1) << 40;
}

static int no_sleep(void *ud, uint64_t ns)
{
    (void)ud, (void)ns;
    return 0;
}

typedef struct input {
    const uint8_t *p;
    size_t len, at;
} input;

static uint8_t byte(input *in)
{
    return in->at < in->len ? in->p[in->at++] : 0;
}

static uint64_t raw(input *in, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)byte(in) << (8 * i);
    return v;
}

/* One argument: a mode byte, then what the mode needs. */
static uint64_t argument(input *in, uint64_t mem_size)
{
    uint8_t mode = byte(in);
    switch (mode % 8) {
    case 0:
    case 1:
        return byte(in); /* small: fds, flags, lengths */
    case 2:
        return mem_size - (byte(in) % 64); /* at or near the end */
    case 3:
        return 0xFFFFFFFFu - byte(in); /* wraps in 32 bits */
    case 4:
        return raw(in, 2);
    case 5:
        return raw(in, 4);
    case 6:
        return raw(in, 8);
    default:
        return 3 + byte(in) % 8; /* the preopen and what follows it */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input in = {data, size, 0};
    long live = cloche__alloc_live();
    size_t mem_size = 4096u * (1u + byte(&in) % 16u);
    uint8_t *mem = malloc(mem_size);
    check(mem != NULL);
    for (size_t i = 0; i < mem_size; i++)
        mem[i] = i < size ? data[i] : 0;
    cloche__vfs *vfs = NULL;
    cloche__vfs_limits lim = {1u << 16, 64, 0};
    check(cloche__vfs_new(&vfs, &lim) == 0);
    check(cloche__vfs_mkdir_p(vfs, "/tmp", 0) == 0);
    check(cloche__vfs_add_file_ro(vfs, "/lib/a.txt", ro_data,
                                  sizeof(ro_data) - 1) == 0);
    static const char *const argv[] = {"prog", "arg"};
    static const char *const env[] = {"A=1", "B=two"};
    cloche__wasi_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.argv = argv;
    cfg.argc = 2;
    cfg.env = env;
    cfg.envc = 2;
    cfg.stdout_cap = cfg.stderr_cap = 256;
    cfg.root = vfs;
    cfg.now_ns = fixed_now;
    cfg.sleep_ns = no_sleep;
    cloche__wasi *w = NULL;
    check(cloche__wasi_new(&w, &cfg) == 0);
    cloche__mem m = {mem, mem_size};
    for (int calls = 0; calls < 64 && in.at < in.len; calls++) {
        size_t index = byte(&in) % cloche__wasi_import_count;
        uint64_t args[CLOCHE__WASI_MAX_PARAMS];
        for (size_t i = 0; i < CLOCHE__WASI_MAX_PARAMS; i++)
            args[i] = argument(&in, mem_size);
        int32_t e = cloche__wasi_dispatch(w, m, index, args);
        check(e >= 0 && e <= 76);
    }
    cloche__wasi_free(w);
    cloche__vfs_free(vfs);
    free(mem);
    check(cloche__alloc_live() == live);
    return 0;
}
