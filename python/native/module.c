/*
 * The module object: multi-phase init, its state (heap types, the status
 * to exception map the Python package installs), and the small functions
 * that need no handle. No C-level global state: two interpreters (or two
 * imports after a reload) each get their own types and map.
 */
#include "native.h"

native_state *native_state_of_type(PyTypeObject *type) {
    return (native_state *)PyType_GetModuleState(type);
}

PyObject *native_raise(native_state *st, int status, const char *message) {
    PyObject *cls = NULL;
    if (st->errors) {
        PyObject *key = PyLong_FromLong(status);
        if (!key)
            return NULL;
        cls = PyDict_GetItemWithError(st->errors, key); /* borrowed */
        Py_DECREF(key);
        if (!cls && PyErr_Occurred())
            return NULL;
    }
    if (!cls)
        cls = st->error_type;
    if (!message || !*message)
        message = cloche_strerror(status);
    PyObject *exc = PyObject_CallFunction(cls, "si", message, status);
    if (exc) {
        PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
        Py_DECREF(exc);
    }
    return NULL;
}

static PyObject *mod_version(PyObject *m, PyObject *unused) {
    (void)m, (void)unused;
    return PyUnicode_FromString(cloche_version());
}

static PyObject *mod_status_name(PyObject *m, PyObject *arg) {
    (void)m;
    long v = PyLong_AsLong(arg);
    if (v == -1 && PyErr_Occurred())
        return NULL;
    return PyUnicode_FromString(cloche_status_name((int)v));
}

static PyObject *mod_strerror(PyObject *m, PyObject *arg) {
    (void)m;
    long v = PyLong_AsLong(arg);
    if (v == -1 && PyErr_Occurred())
        return NULL;
    return PyUnicode_FromString(cloche_strerror((int)v));
}

static PyObject *mod_set_errors(PyObject *m, PyObject *arg) {
    if (!PyDict_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "set_errors needs a dict");
        return NULL;
    }
    native_state *st = PyModule_GetState(m);
    PyObject *old = st->errors;
    Py_INCREF(arg);
    st->errors = arg;
    Py_XDECREF(old);
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"version", mod_version, METH_NOARGS, "libcloche's version string."},
    {"status_name", mod_status_name, METH_O,
     "Symbolic name of a status code ('CLOCHE_EINVAL')."},
    {"strerror", mod_strerror, METH_O, "Message for a status code."},
    {"set_errors", mod_set_errors, METH_O,
     "Install the {status: exception class} map used to raise errors."},
    {"cli_main", native_cli_main, METH_VARARGS,
     "Run the `cloche` command in this process: cli_main(argv, own_dir=None) "
     "-> exit status (the wheel's `cloche` script; it may exit itself)."},
    {NULL, NULL, 0, NULL},
};

static int add_type(PyObject *m, PyType_Spec *spec, PyTypeObject **slot) {
    PyObject *t = PyType_FromModuleAndSpec(m, spec, NULL);
    if (!t)
        return -1;
    *slot = (PyTypeObject *)t;
    Py_INCREF(t);
    if (PyModule_AddObject(m, strrchr(spec->name, '.') + 1, t) < 0) {
        Py_DECREF(t);
        return -1;
    }
    return 0;
}

static int module_exec(PyObject *m) {
    native_state *st = PyModule_GetState(m);
    if (add_type(m, &native_engine_spec, &st->engine_type) < 0 ||
        add_type(m, &native_sandbox_spec, &st->sandbox_type) < 0 ||
        add_type(m, &native_call_spec, &st->call_type) < 0)
        return -1;
    st->error_type = PyErr_NewException("cloche._native.Error", NULL, NULL);
    if (!st->error_type)
        return -1;
    Py_INCREF(st->error_type);
    if (PyModule_AddObject(m, "Error", st->error_type) < 0) {
        Py_DECREF(st->error_type);
        return -1;
    }
#define ADD_INT(name, value)                                                   \
    if (PyModule_AddIntConstant(m, name, value) < 0)                           \
        return -1;
    ADD_INT("STATE_SKIP_UNPICKLABLE", CLOCHE_STATE_SKIP_UNPICKLABLE)
    ADD_INT("DEFAULT_TIMEOUT_MS", (long)CLOCHE_DEFAULT_TIMEOUT_MS)
    ADD_INT("DEFAULT_MEMORY_LIMIT", (long)CLOCHE_DEFAULT_MEMORY_LIMIT)
    ADD_INT("DEFAULT_OUTPUT_LIMIT", (long)CLOCHE_DEFAULT_OUTPUT_LIMIT)
#undef ADD_INT
    return 0;
}

static int module_traverse(PyObject *m, visitproc visit, void *arg) {
    native_state *st = PyModule_GetState(m);
    Py_VISIT(st->engine_type);
    Py_VISIT(st->sandbox_type);
    Py_VISIT(st->call_type);
    Py_VISIT(st->error_type);
    Py_VISIT(st->errors);
    return 0;
}

static int module_clear(PyObject *m) {
    native_state *st = PyModule_GetState(m);
    Py_CLEAR(st->engine_type);
    Py_CLEAR(st->sandbox_type);
    Py_CLEAR(st->call_type);
    Py_CLEAR(st->error_type);
    Py_CLEAR(st->errors);
    return 0;
}

static void module_free(void *m) { module_clear((PyObject *)m); }

static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, (void *)module_exec},
    {0, NULL},
};

static struct PyModuleDef native_module = {
    PyModuleDef_HEAD_INIT,
    "cloche._native",
    "libcloche bindings (internal: use the cloche package).",
    sizeof(native_state),
    module_methods,
    module_slots,
    module_traverse,
    module_clear,
    module_free,
};

PyMODINIT_FUNC PyInit__native(void);
PyMODINIT_FUNC PyInit__native(void) { return PyModuleDef_Init(&native_module); }
