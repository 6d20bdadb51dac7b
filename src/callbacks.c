/*
 * Callback registry and dispatch. A name is one or more dotted Python
 * identifiers that are not keywords (the guest installs each as a builtins
 * attribute path); a schema must be a JSON object. Definitions are copied,
 * so the embedder's strings are borrowed only during the call.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "callbacks.h"

static const char *const python_keywords[] = {
    "False", "None",   "True",    "and",      "as",       "assert", "async",
    "await", "break",  "class",   "continue", "def",      "del",    "elif",
    "else",  "except", "finally", "for",      "from",     "global", "if",
    "import", "in",    "is",      "lambda",   "nonlocal", "not",    "or",
    "pass",  "raise",  "return",  "try",      "while",    "with",   "yield",
};

static int is_keyword(const char *s, size_t n) {
    for (size_t i = 0; i < sizeof python_keywords / sizeof *python_keywords;
         i++)
        if (strlen(python_keywords[i]) == n &&
            memcmp(python_keywords[i], s, n) == 0)
            return 1;
    return 0;
}

static int ident_char(char c, int first) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           (!first && c >= '0' && c <= '9');
}

/* ASCII identifiers separated by single dots, none a keyword. */
static int valid_name(const char *name) {
    size_t len = name ? strlen(name) : 0;
    if (len == 0 || len > CLOCHE__CALLBACK_NAME_MAX)
        return 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && name[i] != '.') {
            if (!ident_char(name[i], i == start))
                return 0;
            continue;
        }
        if (i == start || is_keyword(name + start, i - start))
            return 0;
        start = i + 1;
    }
    return 1;
}

static int valid_schema(const char *schema) {
    if (!schema)
        return 1;
    json_t *j = json_loads(schema, 0, NULL);
    int ok = j && json_is_object(j);
    json_decref(j);
    return ok;
}

static void callback_clear(cloche__callback *c) {
    free(c->name);
    free(c->description);
    free(c->schema_json);
    memset(c, 0, sizeof *c);
}

static int callback_copy(cloche__callback *c, const cloche_callback_def *d) {
    memset(c, 0, sizeof *c);
    c->name = strdup(d->name);
    c->description = strdup(d->description ? d->description : "");
    c->schema_json = strdup(d->schema_json ? d->schema_json : "{}");
    c->fn = d->fn;
    c->sync_fn = d->sync_fn;
    c->userdata = d->userdata;
    c->timeout_ms = d->timeout_ms;
    if (c->name && c->description && c->schema_json)
        return 0;
    callback_clear(c);
    return CLOCHE_ENOMEM;
}

int cloche__callbacks_add(cloche__callbacks *set,
                          const cloche_callback_def *d) {
    if (!d || d->version != CLOCHE_CALLBACK_DEF_VERSION ||
        !valid_name(d->name) || !valid_schema(d->schema_json) ||
        (d->fn && d->sync_fn))
        return CLOCHE_EINVAL;
    cloche__callback copy;
    if (callback_copy(&copy, d) != 0)
        return CLOCHE_ENOMEM;
    for (size_t i = 0; i < set->count; i++) {
        if (strcmp(set->items[i].name, d->name) == 0) {
            callback_clear(&set->items[i]);
            set->items[i] = copy;
            set->generation++;
            return 0;
        }
    }
    if (set->count == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 8;
        cloche__callback *grown = realloc(set->items, cap * sizeof *grown);
        if (!grown) {
            callback_clear(&copy);
            return CLOCHE_ENOMEM;
        }
        set->items = grown;
        set->cap = cap;
    }
    set->items[set->count++] = copy;
    set->generation++;
    return 0;
}

const cloche__callback *cloche__callbacks_find(const cloche__callbacks *set,
                                               const char *name) {
    for (size_t i = 0; i < set->count; i++)
        if (strcmp(set->items[i].name, name) == 0)
            return &set->items[i];
    return NULL;
}

char *cloche__callbacks_table(const cloche__callbacks *set) {
    json_t *list = json_array();
    for (size_t i = 0; list && i < set->count; i++) {
        const cloche__callback *c = &set->items[i];
        json_t *schema = json_loads(c->schema_json, 0, NULL);
        json_t *item = json_pack("{s:s, s:s, s:o}", "name", c->name,
                                 "description", c->description, "schema",
                                 schema ? schema : json_object());
        if (!item || json_array_append_new(list, item) != 0) {
            json_decref(list);
            return NULL;
        }
    }
    char *text = list ? json_dumps(list, JSON_COMPACT) : NULL;
    json_decref(list);
    return text;
}

void cloche__callbacks_free(cloche__callbacks *set) {
    for (size_t i = 0; i < set->count; i++)
        callback_clear(&set->items[i]);
    free(set->items);
    memset(set, 0, sizeof *set);
}

/* --- dispatch ------------------------------------------------------------- */

typedef struct dispatch_job {
    cloche_call *call;
    cloche_callback_fn fn;
    cloche_sync_callback_fn sync_fn;
    void *userdata;
} dispatch_job;

static void run_sync_fn(dispatch_job *j) {
    char *result = NULL, *error = NULL;
    size_t len;
    const char *args = cloche_call_args(j->call, &len);
    if (j->sync_fn(&result, &error, args, j->userdata) == 0)
        cloche_call_return(j->call, result, result ? strlen(result) : 0);
    else
        cloche_call_fail(j->call, error ? error : "callback failed");
    free(result);
    free(error);
}

static void run_job(void *arg) {
    dispatch_job *j = arg;
    if (j->sync_fn) {
        run_sync_fn(j);
    } else {
        size_t len;
        const char *args = cloche_call_args(j->call, &len);
        j->fn(j->call, args, len, j->userdata);
    }
    free(j);
}

int cloche__callback_dispatch(cloche__pool *pool, const cloche__callback *cb,
                              cloche_call *call) {
    dispatch_job *j = malloc(sizeof *j);
    if (!j)
        return CLOCHE_ENOMEM;
    j->call = call;
    j->fn = cb->fn;
    j->sync_fn = cb->sync_fn;
    j->userdata = cb->userdata;
    cloche__call_hold_for_impl(call);
    int rc = cloche__pool_submit(pool, run_job, j);
    if (rc != 0) {
        free(j);
        cloche_call_fail(call, "out of host memory");
    }
    return rc;
}
