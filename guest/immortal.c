/*
 * Make every object in the pre-initialized image immortal (build time).
 *
 * Each sandbox maps the image copy-on-write, so every write to an image
 * page costs a page fault and a private 4 KiB copy. Most of those writes
 * are reference-count updates on objects the program merely uses (modules,
 * functions, code, dicts of the stdlib). CPython skips refcount writes on
 * immortal objects, so immortalizing the image's objects once, before
 * Wizer takes the snapshot, makes a sandbox's first run fault in far fewer
 * pages and keeps more of its memory shared.
 *
 * Immortal containers are also untracked by the cycle collector; anything
 * they reference is then treated as reachable, which is true: the image
 * lives as long as the interpreter. Objects created later are ordinary.
 */
#define Py_BUILD_CORE 1
#include <Python.h>

#include "internal/pycore_object.h"

#include "guest.h"

/* Immortalize every item of `objects` and everything they reference. */
static int immortalize_list(PyObject *objects, PyObject *get_referents) {
    Py_ssize_t n = PyList_GET_SIZE(objects);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *op = PyList_GET_ITEM(objects, i);
        PyObject *refs = PyObject_CallOneArg(get_referents, op);
        if (!refs)
            return -1;
        for (Py_ssize_t k = 0; k < PyList_GET_SIZE(refs); k++) {
            PyObject *ref = PyList_GET_ITEM(refs, k);
            if (!_Py_IsImmortal(ref) && ref != objects)
                _Py_SetImmortal(ref);
        }
        Py_DECREF(refs);
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *op = PyList_GET_ITEM(objects, i);
        if (!_Py_IsImmortal(op))
            _Py_SetImmortal(op);
    }
    return 0;
}

int cloche_guest_immortalize_image(void) {
    PyObject *gc = PyImport_ImportModule("gc");
    /* Frozen objects are invisible to get_objects(): thaw them first. */
    PyObject *thawed = gc ? PyObject_CallMethod(gc, "unfreeze", NULL) : NULL;
    Py_XDECREF(thawed);
    PyObject *objects = thawed ? PyObject_CallMethod(gc, "get_objects", NULL)
                               : NULL;
    PyObject *get_referents =
        gc ? PyObject_GetAttrString(gc, "get_referents") : NULL;
    int rc = -1;
    if (objects && get_referents && PyList_Check(objects))
        rc = immortalize_list(objects, get_referents);
    Py_XDECREF(get_referents);
    Py_XDECREF(objects);
    Py_XDECREF(gc);
    return rc;
}
