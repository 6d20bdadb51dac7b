/*
 * Converting the Python-side sandbox options (plain tuples and lists made
 * by cloche._options) into cloche_sandbox_options. Strings are borrowed
 * from the Python objects, which the caller keeps alive until
 * cloche_sandbox_new has copied everything; arrays come from one arena
 * freed by options_free.
 */
#include <string.h>

#include "options.h"

static void *arena_alloc(options_arena *a, size_t size) {
    if (a->count == OPTIONS_ARENA_MAX) {
        PyErr_SetString(PyExc_ValueError, "too many option arrays");
        return NULL;
    }
    void *p = PyMem_Calloc(1, size ? size : 1);
    if (!p) {
        PyErr_NoMemory();
        return NULL;
    }
    a->blocks[a->count++] = p;
    return p;
}

void options_free(options_arena *a) {
    for (size_t i = 0; i < a->count; i++)
        PyMem_Free(a->blocks[i]);
    a->count = 0;
}

static const char *utf8(PyObject *s) {
    if (!PyUnicode_Check(s)) {
        PyErr_SetString(PyExc_TypeError, "expected str");
        return NULL;
    }
    return PyUnicode_AsUTF8AndSize(s, NULL);
}

/* list[str] -> const char *[] */
int options_strings(options_arena *a, PyObject *list, const char *const **out,
                    size_t *count) {
    *out = NULL;
    *count = 0;
    if (list == Py_None)
        return 0;
    if (!PyList_Check(list)) {
        PyErr_SetString(PyExc_TypeError, "expected a list of str");
        return -1;
    }
    Py_ssize_t n = PyList_Size(list);
    const char **items = arena_alloc(a, (size_t)n * sizeof *items);
    if (!items)
        return -1;
    for (Py_ssize_t i = 0; i < n; i++)
        if (!(items[i] = utf8(PyList_GetItem(list, i))))
            return -1;
    *out = items;
    *count = (size_t)n;
    return 0;
}

/* list[tuple[str, int]] -> cloche_net_rule[] */
static int rules(options_arena *a, PyObject *list, const cloche_net_rule **out,
                 size_t *count) {
    if (!PyList_Check(list)) {
        PyErr_SetString(PyExc_TypeError, "expected a list of (host, port)");
        return -1;
    }
    Py_ssize_t n = PyList_Size(list);
    cloche_net_rule *r = arena_alloc(a, (size_t)n * sizeof *r);
    if (!r)
        return -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        const char *host;
        unsigned short port;
        if (!PyArg_ParseTuple(PyList_GetItem(list, i), "sH", &host, &port))
            return -1;
        r[i].host = host;
        r[i].port = port;
    }
    *out = r;
    *count = (size_t)n;
    return 0;
}

/* list[tuple[str, str, bool]] -> cloche_mount[] */
int options_mounts(options_arena *a, PyObject *list, const cloche_mount **out,
                   size_t *count) {
    *out = NULL;
    *count = 0;
    if (list == Py_None)
        return 0;
    if (!PyList_Check(list)) {
        PyErr_SetString(PyExc_TypeError, "expected a list of mounts");
        return -1;
    }
    Py_ssize_t n = PyList_Size(list);
    cloche_mount *m = arena_alloc(a, (size_t)n * sizeof *m);
    if (!m)
        return -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        const char *host, *guest;
        int ro;
        if (!PyArg_ParseTuple(PyList_GetItem(list, i), "ssp", &host, &guest,
                              &ro))
            return -1;
        m[i].host_path = host;
        m[i].guest_path = guest;
        m[i].readonly = ro;
    }
    *out = m;
    *count = (size_t)n;
    return 0;
}

/* list[(name, value, hosts, placeholder|None)] -> cloche_secret[] */
static int secrets(options_arena *a, PyObject *list, cloche_network_options *n) {
    if (!PyList_Check(list)) {
        PyErr_SetString(PyExc_TypeError, "expected a list of secrets");
        return -1;
    }
    Py_ssize_t count = PyList_Size(list);
    cloche_secret *s = arena_alloc(a, (size_t)count * sizeof *s);
    if (!s)
        return -1;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *hosts;
        if (!PyArg_ParseTuple(PyList_GetItem(list, i), "ssOz", &s[i].name,
                              &s[i].value, &hosts, &s[i].placeholder) ||
            rules(a, hosts, &s[i].hosts, &s[i].host_count) < 0)
            return -1;
    }
    n->secrets = s;
    n->secret_count = (size_t)count;
    return 0;
}

/*
 * (allow, allow_private, max_connections, max_bytes_out, max_bytes_in,
 *  connect_timeout_ms, io_timeout_ms, extra_ca_file, secrets,
 *  secrets_allow_plaintext) -> cloche_network_options
 */
int options_network(options_arena *a, PyObject *tuple,
                    const cloche_network_options **out) {
    *out = NULL;
    if (tuple == Py_None)
        return 0;
    cloche_network_options *n = arena_alloc(a, sizeof *n);
    if (!n)
        return -1;
    PyObject *allow, *secret_list;
    unsigned int max_conn;
    unsigned long long out_cap, in_cap, conn_ms, io_ms;
    if (!PyArg_ParseTuple(tuple, "OpIKKKKzOp", &allow, &n->allow_private,
                          &max_conn, &out_cap, &in_cap, &conn_ms, &io_ms,
                          &n->extra_ca_file, &secret_list,
                          &n->secrets_allow_plaintext))
        return -1;
    n->max_connections = max_conn;
    n->max_bytes_out = out_cap;
    n->max_bytes_in = in_cap;
    n->connect_timeout_ms = conn_ms;
    n->io_timeout_ms = io_ms;
    if (rules(a, allow, &n->allow, &n->allow_count) < 0 ||
        secrets(a, secret_list, n) < 0)
        return -1;
    *out = n;
    return 0;
}
