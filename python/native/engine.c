/*
 * _native.Engine: one cloche_engine (the compiled guest, the epoch ticker,
 * the callback worker pool). Sandboxes keep their engine alive; it is
 * freed with the GIL released, since freeing joins worker threads that
 * may be waiting for the GIL.
 */
#include "native.h"

static PyObject *engine_new(PyTypeObject *type, PyObject *args,
                            PyObject *kwargs) {
    static char *kwlist[] = {"code_cache_dir", "fuel", NULL};
    const char *cache_dir = NULL;
    int fuel = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|zp", kwlist, &cache_dir,
                                     &fuel))
        return NULL;
    allocfunc alloc = (allocfunc)PyType_GetSlot(type, Py_tp_alloc);
    engine_object *self = (engine_object *)alloc(type, 0);
    if (!self)
        return NULL;
    cloche_engine_options o = CLOCHE_ENGINE_OPTIONS_INIT;
    o.code_cache_dir = cache_dir;
    o.enable_fuel = fuel;
    char err[512] = "";
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = cloche_engine_new(&self->engine, &o, err, sizeof err);
    Py_END_ALLOW_THREADS
    if (rc != 0) {
        self->engine = NULL;
        Py_DECREF(self);
        return native_raise(native_state_of_type(type), rc, err);
    }
    self->fuel = fuel;
    return (PyObject *)self;
}

static void engine_dealloc(engine_object *self) {
    PyTypeObject *tp = Py_TYPE(self);
    cloche_engine *e = self->engine;
    self->engine = NULL;
    if (e) {
        Py_BEGIN_ALLOW_THREADS
        cloche_engine_free(e);
        Py_END_ALLOW_THREADS
    }
    freefunc tp_free = (freefunc)PyType_GetSlot(tp, Py_tp_free);
    tp_free(self);
    Py_DECREF(tp);
}

static PyObject *engine_get_fuel(engine_object *self, void *closure) {
    (void)closure;
    return PyBool_FromLong(self->fuel);
}

static PyGetSetDef engine_getset[] = {
    {"fuel", (getter)engine_get_fuel, NULL, "compiled with fuel metering",
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot engine_slots[] = {
    {Py_tp_new, engine_new},
    {Py_tp_dealloc, engine_dealloc},
    {Py_tp_getset, engine_getset},
    {Py_tp_doc, "Engine(code_cache_dir=None, fuel=False): a cloche_engine."},
    {0, NULL},
};

PyType_Spec native_engine_spec = {
    "cloche._native.Engine",
    sizeof(engine_object),
    0,
    Py_TPFLAGS_DEFAULT,
    engine_slots,
};
