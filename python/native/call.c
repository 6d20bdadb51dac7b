/*
 * _native.Call: one host call, handed to Python by the callback
 * trampoline. It owns the implementation's hold on the cloche_call until
 * it is completed exactly once (return_json or fail, from any thread);
 * a Call dropped without completion fails the call, so the guest never
 * waits on a host object that no longer exists.
 *
 * The cloche_call pointer is only valid until completion: it is taken
 * (set to NULL) under the GIL before the GIL is released, so two threads
 * can never complete the same call.
 */
#include "native.h"

PyObject *native_call_new(PyTypeObject *type, cloche_call *call,
                          const char *args, size_t len) {
    call_object *self = PyObject_New(call_object, type);
    if (!self)
        return NULL;
    self->call = call;
    self->id = cloche_call_id(call);
    self->name = PyUnicode_FromString(cloche_call_name(call));
    self->args = PyUnicode_DecodeUTF8(args, (Py_ssize_t)len, "replace");
    if (!self->name || !self->args) {
        Py_DECREF(self); /* dealloc fails the call */
        return NULL;
    }
    return (PyObject *)self;
}

/* Take the pointer if the call is still open; NULL if already done. */
static cloche_call *take(call_object *self) {
    cloche_call *c = self->call;
    self->call = NULL;
    return c;
}

static PyObject *call_return_json(call_object *self, PyObject *arg) {
    const char *json;
    Py_ssize_t len;
    if (PyBytes_Check(arg)) {
        if (PyBytes_AsStringAndSize(arg, (char **)&json, &len) < 0)
            return NULL;
    } else if (PyUnicode_Check(arg)) {
        if (!(json = PyUnicode_AsUTF8AndSize(arg, &len)))
            return NULL;
    } else {
        PyErr_SetString(PyExc_TypeError, "return_json needs str or bytes");
        return NULL;
    }
    cloche_call *c = take(self);
    if (!c)
        Py_RETURN_FALSE;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = cloche_call_return(c, json, (size_t)len);
    Py_END_ALLOW_THREADS
    if (rc == CLOCHE_EINVAL) {
        PyErr_SetString(PyExc_ValueError,
                        "not valid JSON (the call was failed instead)");
        return NULL;
    }
    return PyBool_FromLong(rc == 0);
}

static PyObject *call_fail(call_object *self, PyObject *arg) {
    const char *msg = PyUnicode_AsUTF8AndSize(arg, NULL);
    if (!msg)
        return NULL;
    cloche_call *c = take(self);
    if (!c)
        Py_RETURN_FALSE;
    int rc = cloche_call_fail(c, msg);
    return PyBool_FromLong(rc == 0);
}

static PyObject *call_get_name(call_object *self, void *closure) {
    (void)closure;
    Py_INCREF(self->name);
    return self->name;
}

static PyObject *call_get_args(call_object *self, void *closure) {
    (void)closure;
    Py_INCREF(self->args);
    return self->args;
}

static PyObject *call_get_id(call_object *self, void *closure) {
    (void)closure;
    return PyLong_FromUnsignedLong(self->id);
}

static PyObject *call_get_done(call_object *self, void *closure) {
    (void)closure;
    return PyBool_FromLong(self->call == NULL);
}

static void call_dealloc(call_object *self) {
    PyTypeObject *tp = Py_TYPE(self);
    cloche_call *c = take(self);
    if (c)
        cloche_call_fail(c, "the host dropped this call without answering");
    Py_XDECREF(self->name);
    Py_XDECREF(self->args);
    freefunc tp_free = (freefunc)PyType_GetSlot(tp, Py_tp_free);
    tp_free(self);
    Py_DECREF(tp);
}

static PyMethodDef call_methods[] = {
    {"return_json", (PyCFunction)call_return_json, METH_O,
     "Complete the call with JSON text; False if it was already done."},
    {"fail", (PyCFunction)call_fail, METH_O,
     "Complete the call with an error message (CallbackError in the "
     "guest); False if it was already done."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef call_getset[] = {
    {"name", (getter)call_get_name, NULL, "callback name", NULL},
    {"args", (getter)call_get_args, NULL, "arguments, a JSON object", NULL},
    {"id", (getter)call_get_id, NULL,
     "0 for a sync-style call, else the id within the run", NULL},
    {"done", (getter)call_get_done, NULL, "completed already", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot call_slots[] = {
    {Py_tp_dealloc, call_dealloc},
    {Py_tp_methods, call_methods},
    {Py_tp_getset, call_getset},
    {Py_tp_doc, "A host call waiting for its answer (internal)."},
    {0, NULL},
};

PyType_Spec native_call_spec = {
    "cloche._native.Call",
    sizeof(call_object),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    call_slots,
};
