/*
 * --save-figures DIR: the images a run returned (figures as results),
 * written as DIR/figure-1.png, figure-2.png, ... The folder is made ready
 * before the run, so a folder that cannot be created or written is a
 * usage error, not a lost run; the paths go to stderr as they are written.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

/* mkdir -p: each missing folder along the path, 0755. */
static int make_dirs(const char *dir) {
    char path[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(path, dir, n + 1);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return -1;
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return access(path, W_OK | X_OK);
}

int cli_figures_prepare(const char *cmd, const char *dir) {
    if (make_dirs(dir) == 0)
        return 0;
    fprintf(stderr, "cloche %s: --save-figures %s: cannot write there: %s\n",
            cmd, dir, strerror(errno));
    return -1;
}

int cli_figures_save(const char *cmd, const cloche_result *r,
                     const char *dir, size_t *numbered) {
    size_t count = cloche_result_image_count(r);
    for (size_t i = 0; i < count; i++) {
        size_t len = 0;
        const uint8_t *png = cloche_result_image(r, i, &len, NULL);
        char path[4096];
        int n = snprintf(path, sizeof path, "%s/figure-%zu.png", dir,
                         ++*numbered);
        if (n < 0 || (size_t)n >= sizeof path ||
            cli_write_file(path, png, len) != 0) {
            fprintf(stderr, "cloche %s: cannot write %s: %s\n", cmd, path,
                    strerror(errno));
            return -1;
        }
        fprintf(stderr, "cloche: saved %s\n", path);
    }
    return 0;
}

void cli_figures_hint(const cloche_result *r, const char *how) {
    size_t count = cloche_result_image_count(r);
    if (count)
        fprintf(stderr, "cloche: the run returned %zu image%s (%s)\n", count,
                count == 1 ? "" : "s", how);
}
