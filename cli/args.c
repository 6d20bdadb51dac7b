/* Argument parsing helpers for the cloche command. */
/* strptime and timegm */
#define _DEFAULT_SOURCE 1
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#define READ_CAP (64u * 1024u * 1024u) /* scripts larger than this: refuse */

int cli_parse_u64(const char *s, uint64_t *out) {
    if (!s || !*s || *s == '-')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v == 0)
        return -1;
    *out = v;
    return 0;
}

int cli_parse_size(const char *s, uint64_t *out) {
    if (!s || !*s || *s == '-')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || v == 0)
        return -1;
    unsigned shift = 0;
    switch (*end) {
    case '\0': break;
    case 'k': case 'K': shift = 10; break;
    case 'm': case 'M': shift = 20; break;
    case 'g': case 'G': shift = 30; break;
    default: return -1;
    }
    if (*end && end[1] && strcmp(end + 1, "B") != 0 && strcmp(end + 1, "iB"))
        return -1;
    if (v > (UINT64_MAX >> shift))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

int cli_parse_seconds(const char *s, uint64_t *out_ms) {
    if (!s || !*s || *s == '-')
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !(v > 0) || v > 1e9)
        return -1;
    uint64_t ms = (uint64_t)(v * 1000.0 + 0.5);
    *out_ms = ms ? ms : 1;
    return 0;
}

int cli_parse_instant(const char *s, uint64_t *out_ns) {
    static const char *const formats[] = {"%Y-%m-%dT%H:%M:%SZ",
                                          "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"};
    if (!s || !*s || *s == '-')
        return -1;
    char *end;
    errno = 0;
    double secs = strtod(s, &end);
    if (!*end && !errno && secs > 0 && secs < 1e11) {
        *out_ns = (uint64_t)(secs * 1e9);
        return 0;
    }
    for (size_t i = 0; i < sizeof formats / sizeof *formats; i++) {
        struct tm tm;
        memset(&tm, 0, sizeof tm);
        const char *rest = strptime(s, formats[i], &tm);
        if (!rest || *rest)
            continue;
        time_t t = timegm(&tm);
        if (t <= 0)
            return -1;
        *out_ns = (uint64_t)t * 1000000000ull;
        return 0;
    }
    return -1;
}

/* Open a regular file for reading. Opening does not block (a FIFO would
 * wait for a writer forever), and anything but a regular file is refused:
 * a FIFO, device or socket can stall or never end. */
static FILE *open_regular(const char *path) {
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "cloche: %s: not a regular file\n", path);
        close(fd);
        return NULL;
    }
    int flags = fcntl(fd, F_GETFL);
    FILE *f = flags >= 0 && fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == 0
                  ? fdopen(fd, "rb")
                  : NULL;
    if (!f)
        close(fd);
    return f;
}

int cli_read_file(const char *path, char **out, size_t *len) {
    FILE *f = strcmp(path, "-") == 0 ? stdin : open_regular(path);
    if (!f)
        return -1;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap)
            break;
        char *bigger = cap < READ_CAP ? realloc(buf, cap * 2) : NULL;
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    int failed = !buf || ferror(f);
    if (f != stdin)
        fclose(f);
    if (failed) {
        free(buf);
        return -1;
    }
    *out = buf;
    *len = n;
    return 0;
}
