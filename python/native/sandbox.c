/*
 * _native.Sandbox: one cloche_sandbox and the trampolines that bring host
 * calls, live output and trace events back to Python.
 *
 * Invariants:
 *   - Every call that may enter the guest, wait or copy large data runs
 *     with the GIL released; `active` counts such calls so close() never
 *     frees the sandbox under one (libcloche itself answers a concurrent
 *     call with CLOCHE_EBUSY).
 *   - Trampolines run on the thread driving the run; they take the GIL
 *     (PyGILState_Ensure) only for as long as the Python handler needs it.
 *     Output is forwarded only while `output_on` is set, so a sandbox
 *     without a listener pays no GIL round trip per write.
 *   - The handler's _dispatch must return quickly (libcloche's contract
 *     for cloche_callback_fn); by returning True it asks for one
 *     _batch() call once the step returns, which is where the calls of a
 *     gathered batch are spread out (or one is run inline).
 */
#include <string.h>

#include "options.h"

#define SB(self) ((sandbox_object *)(self))

/* --- trampolines (any thread; GIL not held on entry) ------------------- */

static void fail_open(PyObject *call) {
    call_object *c = (call_object *)call;
    if (c->call) {
        cloche_call *raw = c->call;
        c->call = NULL;
        cloche_call_fail(raw, "the host could not dispatch this call");
    }
}

static void on_call(cloche_call *call, const char *args, size_t len,
                    void *ud) {
    sandbox_object *self = ud;
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *c = native_call_new(self->call_type, call, args, len);
    if (!c) {
        PyErr_WriteUnraisable(NULL);
        if (!PyErr_Occurred())
            cloche_call_fail(call, "out of host memory");
        PyGILState_Release(g);
        return;
    }
    PyObject *r = self->handler ? PyObject_CallMethod(self->handler,
                                                      "_dispatch", "O", c)
                                : NULL;
    if (!r) {
        if (PyErr_Occurred())
            PyErr_WriteUnraisable(self->handler);
        fail_open(c);
    } else if (r == Py_True) {
        self->batch_wanted = 1; /* _batch() once this step returns */
    }
    Py_XDECREF(r);
    Py_DECREF(c);
    PyGILState_Release(g);
}

static void on_output(void *ud, int fd, const char *data, size_t len) {
    sandbox_object *self = ud;
    if (!atomic_load(&self->output_on) || len == 0)
        return;
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *r = self->handler
                      ? PyObject_CallMethod(self->handler, "_output", "iy#",
                                            fd, data, (Py_ssize_t)len)
                      : NULL;
    if (!r && PyErr_Occurred())
        PyErr_WriteUnraisable(self->handler);
    Py_XDECREF(r);
    PyGILState_Release(g);
}

static void on_trace(void *ud, const cloche_trace_event *ev, size_t n) {
    sandbox_object *self = ud;
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++) {
        const char *name = ev[i].name ? ev[i].name : "";
        PyObject *item = Py_BuildValue(
            "(iIIN)", (int)ev[i].kind, (unsigned)ev[i].line,
            (unsigned)ev[i].run,
            PyUnicode_DecodeUTF8(name, (Py_ssize_t)strlen(name), "replace"));
        if (!item) {
            Py_CLEAR(list);
            break;
        }
        PyList_SetItem(list, (Py_ssize_t)i, item);
    }
    PyObject *r = list && self->handler
                      ? PyObject_CallMethod(self->handler, "_trace", "O", list)
                      : NULL;
    if (!r && PyErr_Occurred())
        PyErr_WriteUnraisable(self->handler);
    Py_XDECREF(r);
    Py_XDECREF(list);
    PyGILState_Release(g);
}

/* --- helpers -------------------------------------------------------------- */

static int check_open(sandbox_object *self) {
    if (self->sb)
        return 0;
    native_raise(self->state, CLOCHE_ESTATE, "the sandbox is closed");
    return -1;
}

static PyObject *fail(sandbox_object *self, int rc) {
    return native_raise(self->state, rc, cloche_sandbox_errmsg(self->sb));
}

/* Enter/leave a call that releases the GIL (always used as a pair). */
#define BEGIN(self)                                                            \
    do {                                                                       \
        (self)->active++;                                                      \
        Py_BEGIN_ALLOW_THREADS
#define END(self)                                                              \
        Py_END_ALLOW_THREADS                                                   \
        (self)->active--;                                                      \
    } while (0)

/* Call handler._batch() if _dispatch asked for it during the last step. */
static int maybe_batch(sandbox_object *self) {
    if (!self->batch_wanted)
        return 0;
    self->batch_wanted = 0;
    PyObject *r = PyObject_CallMethod(self->handler, "_batch", NULL);
    if (!r)
        return -1;
    Py_DECREF(r);
    return 0;
}

/* Turn a step's outcome into None (pending) or the result tuple. */
static PyObject *step_result(sandbox_object *self, int rc, cloche_step step) {
    if (rc != 0)
        return fail(self, rc);
    if (step == CLOCHE_STEP_PENDING) {
        if (maybe_batch(self) < 0)
            return NULL;
        Py_RETURN_NONE;
    }
    cloche_result *r = NULL;
    rc = cloche_finish(&r, self->sb);
    return rc == 0 ? native_result_tuple(r) : fail(self, rc);
}

/* Wait and resume until done (the blocking driver, with the batch hook). */
static PyObject *drive_from(sandbox_object *self, int rc, cloche_step step) {
    while (rc == 0 && step == CLOCHE_STEP_PENDING) {
        if (maybe_batch(self) < 0)
            return NULL;
        BEGIN(self);
        rc = cloche_wait(self->sb);
        if (rc == 0)
            rc = cloche_resume(&step, self->sb);
        END(self);
    }
    return step_result(self, rc, step);
}

static int code_arg(PyObject *arg, const char **src, Py_ssize_t *len) {
    if (PyUnicode_Check(arg))
        return (*src = PyUnicode_AsUTF8AndSize(arg, len)) ? 0 : -1;
    if (PyBytes_Check(arg))
        return PyBytes_AsStringAndSize(arg, (char **)src, len);
    PyErr_SetString(PyExc_TypeError, "code must be str or bytes");
    return -1;
}

/* --- the run state machine ------------------------------------------------ */

/* cloche_start with the GIL released; 0 and *rc set, or -1 with a Python
 * error (closed sandbox, bad code argument). */
static int start_code(sandbox_object *self, PyObject *arg, int *rc,
                      cloche_step *step) {
    const char *src;
    Py_ssize_t len;
    if (check_open(self) < 0 || code_arg(arg, &src, &len) < 0)
        return -1;
    *step = CLOCHE_STEP_DONE;
    BEGIN(self);
    *rc = cloche_start(step, self->sb, src, (size_t)len);
    END(self);
    return 0;
}

static PyObject *sb_run(sandbox_object *self, PyObject *arg) {
    int rc;
    cloche_step step;
    if (start_code(self, arg, &rc, &step) < 0)
        return NULL;
    return drive_from(self, rc, step);
}

static PyObject *sb_start(sandbox_object *self, PyObject *arg) {
    int rc;
    cloche_step step;
    if (start_code(self, arg, &rc, &step) < 0)
        return NULL;
    return step_result(self, rc, step);
}

static PyObject *sb_resume(sandbox_object *self, PyObject *unused) {
    (void)unused;
    if (check_open(self) < 0)
        return NULL;
    int rc;
    cloche_step step = CLOCHE_STEP_DONE;
    BEGIN(self);
    rc = cloche_resume(&step, self->sb);
    END(self);
    return step_result(self, rc, step);
}

static PyObject *sb_wait(sandbox_object *self, PyObject *unused) {
    (void)unused;
    if (check_open(self) < 0)
        return NULL;
    int rc;
    BEGIN(self);
    rc = cloche_wait(self->sb);
    END(self);
    if (rc != 0)
        return fail(self, rc);
    Py_RETURN_NONE;
}

static PyObject *sb_drive(sandbox_object *self, PyObject *unused) {
    (void)unused;
    if (check_open(self) < 0)
        return NULL;
    if (!cloche_is_pending(self->sb))
        return native_raise(self->state, CLOCHE_ESTATE, "no pending run");
    return drive_from(self, 0, CLOCHE_STEP_PENDING);
}

static PyObject *sb_is_pending(sandbox_object *self, PyObject *unused) {
    (void)unused;
    return PyBool_FromLong(self->sb && cloche_is_pending(self->sb));
}

static PyObject *sb_cancel(sandbox_object *self, PyObject *unused) {
    (void)unused;
    if (self->sb)
        cloche_sandbox_cancel(self->sb); /* any thread, never blocks */
    Py_RETURN_NONE;
}

static PyObject *sb_set_output(sandbox_object *self, PyObject *arg) {
    int on = PyObject_IsTrue(arg);
    if (on < 0)
        return NULL;
    atomic_store(&self->output_on, on);
    Py_RETURN_NONE;
}

/* --- configuration, files, sessions ------------------------------------- */

static PyObject *sb_add_callback(sandbox_object *self, PyObject *args) {
    cloche_callback_def d = CLOCHE_CALLBACK_DEF_INIT;
    unsigned long long timeout_ms = 0;
    if (check_open(self) < 0 ||
        !PyArg_ParseTuple(args, "szzK", &d.name, &d.description,
                          &d.schema_json, &timeout_ms))
        return NULL;
    d.timeout_ms = timeout_ms;
    d.fn = on_call;
    d.userdata = self;
    int rc = cloche_sandbox_add_callback(self->sb, &d);
    if (rc != 0)
        return fail(self, rc);
    Py_RETURN_NONE;
}

static PyObject *sb_limit(sandbox_object *self, PyObject *args) {
    int which;
    long long value = -1;
    if (check_open(self) < 0 || !PyArg_ParseTuple(args, "i|L", &which, &value))
        return NULL;
    int64_t prev = cloche_sandbox_limit(self->sb, (cloche_limit)which, value);
    return PyLong_FromLongLong(prev);
}

static PyObject *sb_write_file(sandbox_object *self, PyObject *args) {
    const char *path;
    const char *data;
    Py_ssize_t len;
    if (check_open(self) < 0 ||
        !PyArg_ParseTuple(args, "sy#", &path, &data, &len))
        return NULL;
    int rc;
    BEGIN(self);
    rc = cloche_sandbox_write_file(self->sb, path, data, (size_t)len);
    END(self);
    if (rc != 0)
        return fail(self, rc);
    Py_RETURN_NONE;
}

static PyObject *sb_read_file(sandbox_object *self, PyObject *args) {
    const char *path;
    if (check_open(self) < 0 || !PyArg_ParseTuple(args, "s", &path))
        return NULL;
    void *buf = NULL;
    size_t len = 0;
    int rc;
    BEGIN(self);
    rc = cloche_sandbox_read_file(&buf, &len, self->sb, path);
    END(self);
    if (rc != 0)
        return fail(self, rc);
    PyObject *out = PyBytes_FromStringAndSize(buf, (Py_ssize_t)len);
    cloche_buffer_free(buf);
    return out;
}

static PyObject *sb_path_op(sandbox_object *self, PyObject *args,
                            int (*op)(cloche_sandbox *, const char *)) {
    const char *path;
    if (check_open(self) < 0 || !PyArg_ParseTuple(args, "s", &path))
        return NULL;
    int rc;
    BEGIN(self);
    rc = op(self->sb, path);
    END(self);
    if (rc != 0)
        return fail(self, rc);
    Py_RETURN_NONE;
}

static PyObject *sb_add_package(sandbox_object *self, PyObject *args) {
    return sb_path_op(self, args, cloche_sandbox_add_package);
}

static PyObject *sb_plain_op(sandbox_object *self,
                             int (*op)(cloche_sandbox *)) {
    if (check_open(self) < 0)
        return NULL;
    int rc;
    BEGIN(self);
    rc = op(self->sb);
    END(self);
    if (rc != 0)
        return fail(self, rc);
    Py_RETURN_NONE;
}

static PyObject *sb_reset(sandbox_object *self, PyObject *unused) {
    (void)unused;
    return sb_plain_op(self, cloche_sandbox_reset);
}

static PyObject *sb_warm(sandbox_object *self, PyObject *unused) {
    (void)unused;
    return sb_plain_op(self, cloche_sandbox_warm);
}

static PyObject *sb_clear(sandbox_object *self, PyObject *unused) {
    (void)unused;
    return sb_plain_op(self, cloche_sandbox_clear);
}

static PyObject *sb_state_save(sandbox_object *self, PyObject *args) {
    unsigned int flags = 0;
    if (check_open(self) < 0 || !PyArg_ParseTuple(args, "|I", &flags))
        return NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc;
    BEGIN(self);
    rc = cloche_state_save(&buf, &len, self->sb, flags);
    END(self);
    if (rc != 0)
        return fail(self, rc);
    PyObject *out = PyBytes_FromStringAndSize((char *)buf, (Py_ssize_t)len);
    cloche_buffer_free(buf);
    return out;
}

static PyObject *sb_state_restore(sandbox_object *self, PyObject *args) {
    const char *data;
    Py_ssize_t len;
    if (check_open(self) < 0 || !PyArg_ParseTuple(args, "y#", &data, &len))
        return NULL;
    int rc;
    BEGIN(self);
    rc = cloche_state_restore(self->sb, (const uint8_t *)data, (size_t)len);
    END(self);
    if (rc != 0)
        return fail(self, rc);
    Py_RETURN_NONE;
}

static PyObject *sb_snapshot_save(sandbox_object *self, PyObject *args) {
    cloche_snapshot_options o = CLOCHE_SNAPSHOT_OPTIONS_INIT;
    Py_ssize_t key_len = 0;
    if (check_open(self) < 0 ||
        !PyArg_ParseTuple(args, "z#i", (const char **)&o.key, &key_len,
                          &o.compression))
        return NULL;
    o.key_len = (size_t)key_len;
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc;
    BEGIN(self);
    rc = cloche_snapshot_save(&buf, &len, self->sb, &o);
    END(self);
    if (rc != 0)
        return fail(self, rc);
    PyObject *out = PyBytes_FromStringAndSize((char *)buf, (Py_ssize_t)len);
    cloche_buffer_free(buf);
    return out;
}

static PyObject *sb_snapshot_restore(sandbox_object *self, PyObject *args) {
    cloche_snapshot_options o = CLOCHE_SNAPSHOT_OPTIONS_INIT;
    const char *data;
    Py_ssize_t len, key_len = 0;
    if (check_open(self) < 0 ||
        !PyArg_ParseTuple(args, "y#z#", &data, &len, (const char **)&o.key,
                          &key_len))
        return NULL;
    o.key_len = (size_t)key_len;
    int rc;
    BEGIN(self);
    rc = cloche_snapshot_restore(self->sb, (const uint8_t *)data,
                                 (size_t)len, &o);
    END(self);
    if (rc != 0)
        return fail(self, rc);
    Py_RETURN_NONE;
}

static PyObject *sb_close(sandbox_object *self, PyObject *unused) {
    (void)unused;
    if (self->active)
        return native_raise(self->state, CLOCHE_EBUSY,
                            "the sandbox is running; cancel it first");
    cloche_sandbox *sb = self->sb;
    self->sb = NULL;
    if (sb) {
        Py_BEGIN_ALLOW_THREADS
        cloche_sandbox_free(sb);
        Py_END_ALLOW_THREADS
    }
    Py_RETURN_NONE;
}

static PyObject *sb_get_closed(sandbox_object *self, void *closure) {
    (void)closure;
    return PyBool_FromLong(self->sb == NULL);
}

/* --- creation and lifetime ------------------------------------------------ */

static int fill_options(options_arena *a, cloche_sandbox_options *o,
                        PyObject *env, PyObject *argv, PyObject *mounts,
                        PyObject *network) {
    return options_strings(a, env, &o->env, &o->env_count) < 0 ||
                   options_strings(a, argv, &o->argv, &o->argc) < 0 ||
                   options_mounts(a, mounts, &o->mounts, &o->mount_count) < 0 ||
                   options_network(a, network, &o->network) < 0
               ? -1
               : 0;
}

static PyObject *sb_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
    static char *kwlist[] = {
        "engine",  "handler", "timeout_ms", "fuel",      "memory",
        "stdout_limit", "stderr_limit", "fixed_clock_ns", "env",
        "argv",    "data_dir", "vfs_quota", "vfs_max_files", "trace",
        "mounts",  "network", "max_open_host_files", NULL};
    native_state *st = native_state_of_type(type);
    cloche_sandbox_options o = CLOCHE_SANDBOX_OPTIONS_INIT;
    PyObject *engine, *handler, *env = Py_None, *argv = Py_None;
    PyObject *mounts = Py_None, *network = Py_None;
    unsigned long long timeout = 0, fuel = 0, memory = 0, out_cap = 0,
                       err_cap = 0, clock = 0, quota = 0, max_files = 0;
    int trace = 0;
    unsigned int max_open = 0;
    if (!PyArg_ParseTupleAndKeywords(
            args, kwargs, "O!O|KKKKKKOOzKKpOOI", kwlist, st->engine_type,
            &engine, &handler, &timeout, &fuel, &memory, &out_cap, &err_cap,
            &clock, &env, &argv, &o.data_dir, &quota, &max_files, &trace,
            &mounts, &network, &max_open))
        return NULL;
    o.max_open_host_files = max_open;
    o.timeout_ms = timeout;
    o.fuel = fuel;
    o.memory_limit = memory;
    o.stdout_limit = out_cap;
    o.stderr_limit = err_cap;
    o.fixed_clock_ns = clock;
    o.vfs_quota = quota;
    o.vfs_max_files = max_files;
    allocfunc alloc = (allocfunc)PyType_GetSlot(type, Py_tp_alloc);
    sandbox_object *self = (sandbox_object *)alloc(type, 0);
    if (!self)
        return NULL;
    self->state = st;
    Py_INCREF(engine);
    self->engine = engine;
    Py_INCREF(handler);
    self->handler = handler;
    Py_INCREF(st->call_type);
    self->call_type = st->call_type;
    atomic_init(&self->output_on, 0);
    o.on_output = on_output;
    o.output_userdata = self;
    if (trace) {
        o.on_trace = on_trace;
        o.trace_userdata = self;
    }
    options_arena arena = {{0}, 0};
    if (fill_options(&arena, &o, env, argv, mounts, network) < 0) {
        options_free(&arena);
        Py_DECREF(self);
        return NULL;
    }
    cloche_engine *e = ((engine_object *)engine)->engine;
    int rc;
    const char *msg = NULL;
    Py_BEGIN_ALLOW_THREADS
    rc = cloche_sandbox_new(&self->sb, e, &o);
    if (rc != 0)
        msg = cloche_sandbox_errmsg(NULL); /* this thread's, so read here */
    Py_END_ALLOW_THREADS
    options_free(&arena);
    if (rc != 0) {
        self->sb = NULL;
        PyObject *err = native_raise(st, rc, msg);
        Py_DECREF(self);
        return err;
    }
    return (PyObject *)self;
}

static int sb_traverse(sandbox_object *self, visitproc visit, void *arg) {
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->engine);
    Py_VISIT(self->handler);
    Py_VISIT(self->call_type);
    return 0;
}

static int sb_clear_refs(sandbox_object *self) {
    Py_CLEAR(self->handler);
    return 0;
}

static void sb_dealloc(sandbox_object *self) {
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    cloche_sandbox *sb = self->sb;
    self->sb = NULL;
    if (sb) {
        Py_BEGIN_ALLOW_THREADS
        cloche_sandbox_free(sb);
        Py_END_ALLOW_THREADS
    }
    Py_CLEAR(self->handler);
    Py_CLEAR(self->engine);
    Py_CLEAR(self->call_type);
    freefunc tp_free = (freefunc)PyType_GetSlot(tp, Py_tp_free);
    tp_free(self);
    Py_DECREF(tp);
}

#define M(name, fn, flags, doc) {name, (PyCFunction)fn, flags, doc}
static PyMethodDef sb_methods[] = {
    M("run", sb_run, METH_O, "Run code to the end (GIL released)."),
    M("start", sb_start, METH_O, "Start a run: result tuple or None."),
    M("resume", sb_resume, METH_NOARGS, "Resume: result tuple or None."),
    M("wait", sb_wait, METH_NOARGS, "Block until the pending run can go on."),
    M("drive", sb_drive, METH_NOARGS, "Drive a pending run to the end."),
    M("is_pending", sb_is_pending, METH_NOARGS, "A run is PENDING."),
    M("cancel", sb_cancel, METH_NOARGS, "Cancel the current run (any thread)."),
    M("set_output", sb_set_output, METH_O, "Forward live output or not."),
    M("add_callback", sb_add_callback, METH_VARARGS,
      "add_callback(name, description, schema_json, timeout_ms)"),
    M("limit", sb_limit, METH_VARARGS, "limit(which, new=-1) -> previous"),
    M("write_file", sb_write_file, METH_VARARGS, "write_file(path, data)"),
    M("read_file", sb_read_file, METH_VARARGS, "read_file(path) -> bytes"),
    M("add_package", sb_add_package, METH_VARARGS, "add_package(host_path)"),
    M("reset", sb_reset, METH_NOARGS, "Back to the pre-initialized image."),
    M("warm", sb_warm, METH_NOARGS, "Do a new sandbox's first-run work now."),
    M("clear", sb_clear, METH_NOARGS, "Delete the session's user globals."),
    M("state_save", sb_state_save, METH_VARARGS, "state_save(flags) -> bytes"),
    M("state_restore", sb_state_restore, METH_VARARGS, "state_restore(data)"),
    M("snapshot_save", sb_snapshot_save, METH_VARARGS,
      "snapshot_save(key, compression) -> bytes"),
    M("snapshot_restore", sb_snapshot_restore, METH_VARARGS,
      "snapshot_restore(data, key)"),
    M("close", sb_close, METH_NOARGS, "Free the sandbox now."),
    {NULL, NULL, 0, NULL},
};
#undef M

static PyGetSetDef sb_getset[] = {
    {"closed", (getter)sb_get_closed, NULL, "closed already", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot sb_slots[] = {
    {Py_tp_new, sb_new},
    {Py_tp_dealloc, sb_dealloc},
    {Py_tp_traverse, sb_traverse},
    {Py_tp_clear, sb_clear_refs},
    {Py_tp_methods, sb_methods},
    {Py_tp_getset, sb_getset},
    {Py_tp_doc, "A cloche_sandbox (internal: use cloche.Sandbox)."},
    {0, NULL},
};

PyType_Spec native_sandbox_spec = {
    "cloche._native.Sandbox",
    sizeof(sandbox_object),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    sb_slots,
};
