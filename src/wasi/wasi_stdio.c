/*
 * wasi_stdio.c - the standard streams: stdin reads EOF, stdout and stderr
 * are captured into bounded buffers and optionally streamed live.
 *
 * Owns the capture buffers. Invariants: a capture never holds more than
 * its limit (the configured cap) and its allocation never exceeds the
 * limit; when a write does not fit, the bytes that fit are kept, the
 * OUTPUT_LIMIT trap is set and the write reports success for the bytes
 * kept, so the glue can stop the guest right after the call.
 */
#include "wasi/wasi_int.h"

#include <stdint.h>
#include <string.h>

#include "vfs/vfs_alloc.h"

void cloche__wasi_capture_free(cloche__wasi_capture *c)
{
    cloche__dealloc(c->data);
    memset(c, 0, sizeof(*c));
}

/* Make room for `need` more bytes (need <= limit - len). */
static int capture_grow(cloche__wasi_capture *c, size_t need)
{
    if (c->cap - c->len >= need)
        return 0;
    size_t want = c->len + need;
    size_t cap = c->cap ? c->cap : 256;
    while (cap < want)
        cap = cap > SIZE_MAX / 2 ? want : cap * 2;
    if (cap > c->limit) /* want <= limit, so cap stays >= want */
        cap = c->limit;
    uint8_t *p = cloche__realloc(c->data, cap);
    if (!p)
        return CLOCHE__WASI_ENOMEM;
    c->data = p;
    c->cap = cap;
    return 0;
}

size_t cloche__wasi_capture_room(const cloche__wasi_capture *c)
{
    return c->len < c->limit ? c->limit - c->len : 0;
}

/* Keep what fits of (src, len); *kept is the number of bytes kept. */
static int32_t capture_append(cloche__wasi_capture *c, const uint8_t *src,
                              size_t len, size_t *kept)
{
    size_t room = cloche__wasi_capture_room(c);
    size_t k = len < room ? len : room;
    *kept = 0;
    if (k == 0)
        return 0;
    int32_t e = (int32_t)capture_grow(c, k);
    if (e)
        return e;
    memcpy(c->data + c->len, src, k);
    c->len += k;
    *kept = k;
    return 0;
}

int32_t cloche__wasi_stdio_write(cloche__wasi *w, cloche__wasi_fd *f,
                                 const cloche__abi_iovs *v, uint64_t *n)
{
    int fd = f->kind == CLOCHE__FD_STDOUT ? 1 : 2;
    cloche__wasi_capture *c = &w->out[fd - 1];
    uint64_t done = 0;
    *n = 0;
    for (uint32_t i = 0; i < v->n && done < CLOCHE__WASI_IO_MAX; i++) {
        size_t len, kept;
        const uint8_t *src = cloche__abi_iov(v, i, &len);
        if (!src)
            return done ? 0 : CLOCHE__WASI_EFAULT;
        if (len > CLOCHE__WASI_IO_MAX - done)
            len = (size_t)(CLOCHE__WASI_IO_MAX - done);
        int32_t e = capture_append(c, src, len, &kept);
        if (e)
            return done ? 0 : e;
        if (kept && w->on_output)
            w->on_output(w->hook_ud, fd, c->data + c->len - kept, kept);
        done += kept;
        *n = done;
        if (kept < len) {
            if (!w->output_tripped)
                w->output_tripped = fd;
            cloche__wasi_set_trap(w, CLOCHE__WASI_TRAP_OUTPUT_LIMIT, 0);
            break;
        }
    }
    return 0;
}

int cloche__wasi_prefill_output(cloche__wasi *w, int fd, const uint8_t *data,
                                size_t len)
{
    if (fd != 1 && fd != 2)
        return CLOCHE__EINVAL;
    size_t kept;
    /* Restored output beyond the current cap is cut, as a write would be. */
    return capture_append(&w->out[fd - 1], data, len, &kept) ? CLOCHE__ENOMEM
                                                              : 0;
}
