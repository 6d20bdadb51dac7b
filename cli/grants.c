/*
 * The doors `cloche run` may open into the sandbox: host mounts and
 * packages. Nothing is granted unless asked for on the command line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int grow(void **items, size_t *n, size_t size) {
    void *grown = realloc(*items, (*n + 1) * size);
    if (!grown)
        return -1;
    *items = grown;
    return 0;
}

/* HOST:GUEST[:ro|:rw], read-only unless ":rw". The host path may itself
 * contain ':' (the guest path is what follows the last one). */
static int parse_mount(cli_grants *g, const char *spec) {
    char *copy = strdup(spec);
    if (!copy || grow((void **)&g->mounts, &g->nmounts, sizeof *g->mounts)) {
        free(copy);
        return -1;
    }
    int readonly = 1;
    char *colon = strrchr(copy, ':');
    if (colon && (strcmp(colon, ":ro") == 0 || strcmp(colon, ":rw") == 0)) {
        readonly = colon[2] == 'o';
        *colon = 0;
        colon = strrchr(copy, ':');
    }
    if (!colon || colon == copy || colon[1] != '/') {
        free(copy);
        fprintf(stderr, "cloche run: bad --mount %s (want HOST:GUEST[:ro|:rw]"
                        " with an absolute GUEST)\n", spec);
        return -1;
    }
    *colon = 0;
    cloche_mount *m = &g->mounts[g->nmounts++];
    m->host_path = copy; /* the guest path shares this allocation */
    m->guest_path = colon + 1;
    m->readonly = readonly;
    return 0;
}

int cli_parse_grant(cli_grants *g, const char *opt, const char *val) {
    if (strcmp(opt, "--mount") == 0)
        return parse_mount(g, val) == 0 ? 1 : -1;
    if (strcmp(opt, "--package") == 0) {
        if (grow((void **)&g->packages, &g->npackages, sizeof *g->packages))
            return -1;
        g->packages[g->npackages++] = val;
        return 1;
    }
    return 0;
}

void cli_grants_to_options(const cli_grants *g, cloche_sandbox_options *o) {
    o->mounts = g->mounts;
    o->mount_count = g->nmounts;
}

int cli_grants_to_sandbox(const cli_grants *g, cloche_sandbox *sb) {
    for (size_t i = 0; i < g->npackages; i++) {
        int rc = cloche_sandbox_add_package(sb, g->packages[i]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

void cli_grants_free(cli_grants *g) {
    for (size_t i = 0; i < g->nmounts; i++)
        free((char *)g->mounts[i].host_path);
    free(g->mounts);
    free(g->packages);
    memset(g, 0, sizeof *g);
}
