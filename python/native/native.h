/*
 * cloche._native: the CPython extension over libcloche. It is thin on
 * purpose: it converts arguments, releases the GIL around every call that
 * can enter the guest or wait, and calls back into Python for host calls,
 * live output and trace events. Policy (tools, asyncio, exceptions by
 * name) lives in the Python package.
 *
 * Built for the limited API of CPython 3.10 (one abi3 wheel for 3.10+):
 * multi-phase init, heap types, state in the module object only.
 */
#ifndef CLOCHE_PY_NATIVE_H
#define CLOCHE_PY_NATIVE_H

#define PY_SSIZE_T_CLEAN
#ifndef Py_LIMITED_API
#define Py_LIMITED_API 0x030A0000
#endif
#include <Python.h>

#include <stdatomic.h>

#include "cloche.h"

/* Per-module state: the heap types and the status -> exception map. */
typedef struct native_state {
    PyTypeObject *engine_type;
    PyTypeObject *sandbox_type;
    PyTypeObject *call_type;
    PyObject *error_type; /* _native.Error, the fallback */
    PyObject *errors;     /* dict int status -> exception class (Python) */
} native_state;

typedef struct engine_object {
    PyObject_HEAD
    cloche_engine *engine;
    int fuel;
} engine_object;

typedef struct sandbox_object {
    PyObject_HEAD
    cloche_sandbox *sb;
    PyObject *engine;  /* engine_object, kept alive while sb lives */
    PyObject *handler; /* Python object: _dispatch, _output, _trace, _batch */
    PyTypeObject *call_type;
    native_state *state;
    atomic_int output_on; /* 1: forward live output to handler._output */
    int batch_wanted;     /* _dispatch returned True during this step */
    int active;           /* calls in progress with the GIL released */
} sandbox_object;

typedef struct call_object {
    PyObject_HEAD
    cloche_call *call; /* NULL once completed */
    PyObject *name;    /* str */
    PyObject *args;    /* str (JSON object) */
    uint32_t id;
} call_object;

extern PyType_Spec native_engine_spec;
extern PyType_Spec native_sandbox_spec;
extern PyType_Spec native_call_spec;

native_state *native_state_of_type(PyTypeObject *type);
/* Raise the exception class mapped to status, with message. NULL. */
PyObject *native_raise(native_state *st, int status, const char *message);
/* A new Call object owning the implementation's hold on call. */
PyObject *native_call_new(PyTypeObject *type, cloche_call *call,
                          const char *args, size_t len);
/* The result of a finished run as a tuple (see _native.pyi). Frees r. */
PyObject *native_result_tuple(cloche_result *r);
/* cli_main(argv, own_dir=None): the `cloche` command in this process
 * (cli.c); its exit status. */
PyObject *native_cli_main(PyObject *m, PyObject *args);

#endif
