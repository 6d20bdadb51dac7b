/*
 * The callbacks registered on a sandbox: validated, copied definitions,
 * the table the guest installs as Python functions, and dispatching a
 * call to its implementation on the engine's worker pool.
 */
#ifndef CLOCHE_CALLBACKS_H
#define CLOCHE_CALLBACKS_H

#include <stddef.h>

#include "calls.h"
#include "cloche.h"
#include "pool.h"

#define CLOCHE__CALLBACK_NAME_MAX 128

typedef struct cloche__callback {
    char *name, *description, *schema_json;
    cloche_callback_fn fn;
    cloche_sync_callback_fn sync_fn;
    void *userdata;
    uint64_t timeout_ms;
} cloche__callback;

typedef struct cloche__callbacks {
    cloche__callback *items;
    size_t count, cap;
    unsigned generation; /* bumped by every change */
} cloche__callbacks;

/* Validate and copy def (replacing a callback of the same name). */
int cloche__callbacks_add(cloche__callbacks *set, const cloche_callback_def *d);
const cloche__callback *cloche__callbacks_find(const cloche__callbacks *set,
                                               const char *name);
/* JSON list [{"name", "description", "schema"}] for the guest (malloc'd). */
char *cloche__callbacks_table(const cloche__callbacks *set);
void cloche__callbacks_free(cloche__callbacks *set);

/* Run cb's implementation for call on the pool (call gets an impl ref). */
int cloche__callback_dispatch(cloche__pool *pool, const cloche__callback *cb,
                              cloche_call *call);

#endif
