/*
 * wasi_random.c - random_get from the host CSPRNG (getrandom(2)).
 *
 * The buffer is checked against guest memory first; getrandom is called in
 * chunks (it may return short reads) and retried on EINTR. A failure of the
 * host generator is reported as EIO and never replaced by a weaker source.
 */
#define _DEFAULT_SOURCE

#include "wasi/wasi_int.h"

#include <errno.h>
#include <sys/random.h>

#define CHUNK (1u << 16)

int32_t cloche__wasi_random_get(cloche__wasi *w, cloche__mem m, uint32_t buf,
                                uint32_t buf_len)
{
    (void)w;
    uint8_t *p = cloche__abi_span(m, buf, buf_len);
    if (!p)
        return CLOCHE__WASI_EFAULT;
    size_t done = 0;
    while (done < buf_len) {
        size_t want = buf_len - done < CHUNK ? buf_len - done : CHUNK;
        ssize_t got = getrandom(p + done, want, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return CLOCHE__WASI_EIO;
        done += (size_t)got;
    }
    return 0;
}
