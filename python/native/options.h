/* Python option objects -> cloche option structs (options.c). */
#ifndef CLOCHE_PY_OPTIONS_H
#define CLOCHE_PY_OPTIONS_H

#include "native.h"

#define OPTIONS_ARENA_MAX 128

typedef struct options_arena {
    void *blocks[OPTIONS_ARENA_MAX];
    size_t count;
} options_arena;

void options_free(options_arena *a);
int options_strings(options_arena *a, PyObject *list, const char *const **out,
                    size_t *count);
int options_mounts(options_arena *a, PyObject *list, const cloche_mount **out,
                   size_t *count);
int options_network(options_arena *a, PyObject *tuple,
                    const cloche_network_options **out);

#endif
