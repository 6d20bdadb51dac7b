/*
 * cloche guest glue: the C side of the guest, linked with libpython3.13.a
 * into one wasm32-wasip1 reactor module.
 *
 * Exports (the guest ABI; docs/guest-abi.md):
 *   cloche_init()                 build-time only (Wizer): start CPython,
 *                                 pre-import modules, then the image is taken
 *   cloche_alloc(n) -> ptr        scratch buffer for the host to write into
 *   cloche_free(ptr)
 *   cloche_run(ptr, len) -> u64   run UTF-8 source; returns (len << 32) | ptr
 *                                 of a result record owned by the guest and
 *                                 valid until the next call; 0 on failure
 *   cloche_resume(ptr, len) -> u64   continue a PENDING run with replies
 *   cloche_control(ptr, len) -> u64    a host operation: first byte the op
 *                                 (1 configure callbacks, 2 state save,
 *                                 3 state load, 4 clear, 5 add sys.path
 *                                 entries, 6 tracing on/off), then data
 * Imports: WASI preview1 and cloche.{memory_denied, call, reply, trace,
 * net_connect, net_starttls, net_send, net_recv, net_shutdown, net_close,
 * net_poll, net_error} (the net_* ones in net.c).
 *
 * The glue never trusts anything: the host may pass any (ptr, len), but the
 * host is also the side that checks bounds on everything coming back.
 */
#include <Python.h>

#include <errno.h>
#include <stdint.h>
#include <wasi/api.h>

#include "guest.h"
#include <stdlib.h>
#include <string.h>

#define EXPORT(name) __attribute__((export_name(name)))
#define WASM_PAGE 65536u

#define HOST_IMPORT(name) __attribute__((import_module("cloche"), import_name(name)))

HOST_IMPORT("memory_denied") extern void cloche_host_memory_denied(uint32_t bytes);
/* Run a callback now (sync style); returns (reply kind << 32) | reply len. */
HOST_IMPORT("call") extern uint64_t cloche_host_call(const char *name,
                                                     uint32_t name_len,
                                                     const uint8_t *args,
                                                     uint32_t args_len);
/* Copy the last reply (len from cloche_host_call) into buf. */
HOST_IMPORT("reply") extern void cloche_host_reply(uint8_t *buf, uint32_t len);
/* A batch of trace events (text lines) for the embedder. */
HOST_IMPORT("trace") extern void cloche_host_trace(const uint8_t *buf,
                                                   uint32_t len);

/* --- memory: sbrk that tells the host when its memory cap said no -------- */

/*
 * Memory set aside for after a memory-limit trip. The run that tripped may
 * leave the heap full (its objects are still referenced by globals); the
 * next run must still be able to compile and run `x = None` to free them.
 * So the next entry into the guest releases this reserve, and a later entry
 * takes it back once there is room. Never touched, it costs no private
 * memory in a sandbox.
 */
#define MEMORY_RESERVE (1u << 20)
static void *g_reserve;
static int g_memory_tripped; /* sbrk was refused since the last entry */
static int g_quiet_sbrk;     /* retaking the reserve: a refusal is no trip */

/*
 * wasi-libc's malloc grows the heap through sbrk. Defining sbrk here
 * replaces libc's copy, so a growth the host's memory limiter refused is
 * reported: the host can then tell a limit trip from a MemoryError the
 * program raised itself.
 */
void *sbrk(intptr_t increment) {
    if (increment == 0)
        return (void *)(__builtin_wasm_memory_size(0) * WASM_PAGE);
    if (increment < 0 || (uintptr_t)increment % WASM_PAGE != 0) {
        errno = EINVAL;
        return (void *)-1;
    }
    size_t old = __builtin_wasm_memory_grow(0, (uintptr_t)increment / WASM_PAGE);
    if (old == SIZE_MAX) {
        if (!g_quiet_sbrk) {
            g_memory_tripped = 1;
            cloche_host_memory_denied((uint32_t)increment);
        }
        errno = ENOMEM;
        return (void *)-1;
    }
    return (void *)(old * WASM_PAGE);
}

/* --- _cloche: what the runtime asks of the host, read fresh from WASI --- */

typedef __wasi_errno_t (*sizes_fn)(__wasi_size_t *, __wasi_size_t *);
typedef __wasi_errno_t (*get_fn)(uint8_t **, uint8_t *);

/*
 * wasi-libc caches argv and environ when first asked, which happened at
 * build time inside Wizer; these read the embedder's values directly.
 */
static PyObject *wasi_strings(sizes_fn sizes, get_fn get) {
    __wasi_size_t count = 0, bytes = 0;
    if (sizes(&count, &bytes) != 0)
        return PyList_New(0);
    uint8_t **ptrs = PyMem_Calloc((size_t)count + 1, sizeof *ptrs);
    uint8_t *buf = PyMem_Malloc((size_t)bytes + 1);
    PyObject *list = (ptrs && buf) ? PyList_New(0) : PyErr_NoMemory();
    if (list && get(ptrs, buf) == 0) {
        for (__wasi_size_t i = 0; i < count; i++) {
            PyObject *item = PyBytes_FromString((const char *)ptrs[i]);
            if (!item || PyList_Append(list, item) != 0) {
                Py_XDECREF(item);
                Py_CLEAR(list);
                break;
            }
            Py_DECREF(item);
        }
    }
    PyMem_Free(ptrs);
    PyMem_Free(buf);
    return list;
}

static PyObject *mod_environ(PyObject *self, PyObject *unused) {
    (void)self, (void)unused;
    return wasi_strings(__wasi_environ_sizes_get, __wasi_environ_get);
}

static PyObject *mod_argv(PyObject *self, PyObject *unused) {
    (void)self, (void)unused;
    return wasi_strings(__wasi_args_sizes_get, __wasi_args_get);
}

/* _cloche.call(name: str, args: bytes) -> (kind: int, reply: bytes) */
static PyObject *mod_call(PyObject *self, PyObject *const *args,
                          Py_ssize_t nargs) {
    (void)self;
    const char *name;
    Py_ssize_t name_len;
    if (nargs != 2 || !PyBytes_Check(args[1]) ||
        !(name = PyUnicode_AsUTF8AndSize(args[0], &name_len))) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "call(name: str, args: bytes)");
        return NULL;
    }
    uint64_t r = cloche_host_call(name, (uint32_t)name_len,
                                  (const uint8_t *)PyBytes_AS_STRING(args[1]),
                                  (uint32_t)PyBytes_GET_SIZE(args[1]));
    uint32_t len = (uint32_t)r;
    PyObject *reply = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)len);
    if (!reply)
        return NULL;
    cloche_host_reply((uint8_t *)PyBytes_AS_STRING(reply), len);
    PyObject *out = Py_BuildValue("(kN)", (unsigned long)(r >> 32), reply);
    return out;
}

/* _cloche.compile(source: str, filename: str) -> (code, has_value) */
static PyObject *mod_compile(PyObject *self, PyObject *const *args,
                             Py_ssize_t nargs) {
    (void)self;
    if (nargs != 2 || !PyUnicode_Check(args[0]) || !PyUnicode_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "compile(source: str, filename: str)");
        return NULL;
    }
    return cloche_guest_compile(args[0], args[1]);
}

/* _cloche.trace(batch: bytes) */
static PyObject *mod_trace(PyObject *self, PyObject *arg) {
    (void)self;
    if (!PyBytes_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "trace(batch: bytes)");
        return NULL;
    }
    cloche_host_trace((const uint8_t *)PyBytes_AS_STRING(arg),
                      (uint32_t)PyBytes_GET_SIZE(arg));
    Py_RETURN_NONE;
}

static PyMethodDef cloche_methods[] = {
    {"trace", mod_trace, METH_O, "Hand a batch of trace events to the host."},
    {"compile", (PyCFunction)(void (*)(void))mod_compile, METH_FASTCALL,
     "Compile a run's source; returns (code, has_value)."},
    {"call", (PyCFunction)(void (*)(void))mod_call, METH_FASTCALL,
     "Run a host callback now; returns (kind, reply bytes)."},
    {"environ", mod_environ, METH_NOARGS, "The embedder's env as b'K=V'."},
    {"argv", mod_argv, METH_NOARGS, "The embedder's argv as bytes."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef cloche_module = {
    PyModuleDef_HEAD_INIT, "_cloche", "cloche host interface", 0,
    cloche_methods, NULL, NULL, NULL, NULL,
};

static PyObject *init_cloche_module(void) {
    PyObject *m = PyModule_Create(&cloche_module);
    if (m && PyModule_AddFunctions(m, cloche_guest_net_methods) != 0)
        Py_CLEAR(m);
    return m;
}

/* --- interpreter start-up (build time) ---------------------------------- */

static PyObject *g_runtime; /* the cloche_guest.runtime module */

static void fail_init(const char *what, PyStatus status) {
    fprintf(stderr, "cloche_init: %s: %s\n", what,
            status.err_msg ? status.err_msg : "(no message)");
    abort(); /* build time only: Wizer reports the failure */
}

/*
 * UTF-8 everywhere, as python3 in a container: the isolated pre-config would
 * otherwise make stdio, open() and file names ASCII.
 */
static void preinit_utf8(void) {
    PyPreConfig pre;
    PyPreConfig_InitIsolatedConfig(&pre);
    pre.utf8_mode = 1;
    PyStatus st = Py_PreInitialize(&pre);
    if (PyStatus_Exception(st))
        fail_init("Py_PreInitialize", st);
}

static void start_python(void) {
    if (PyImport_AppendInittab("_cloche", init_cloche_module) != 0)
        fail_init("PyImport_AppendInittab", PyStatus_Error("_cloche"));
    if (cloche_guest_register_builtins() != 0)
        fail_init("extra built-in modules", PyStatus_Error("inittab"));
    preinit_utf8();
    PyConfig config;
    PyConfig_InitIsolatedConfig(&config);
    config.buffered_stdio = 0; /* print() and os.write(1) stay in order */
    config.write_bytecode = 0;
    config.site_import = 0;
    config.install_signal_handlers = 0;
    /* The stdlib comes from the image zip, frozen modules (abc, codecs, os,
     * ...) included, so they have __file__ and their source for inspect and
     * tracebacks, as in python3. Costs nothing per sandbox: they are
     * imported once, at build time. */
    config.use_frozen_modules = 0;
    config.pathconfig_warnings = 0;
    config.module_search_paths_set = 1;
    PyStatus st = PyConfig_SetString(&config, &config.home, L"/usr/local");
    if (!PyStatus_Exception(st))
        st = PyWideStringList_Append(&config.module_search_paths,
                                     L"/usr/local/lib/python313.zip");
    if (!PyStatus_Exception(st))
        st = PyConfig_SetString(&config, &config.program_name, L"python3");
    if (PyStatus_Exception(st))
        fail_init("config", st);
    st = Py_InitializeFromConfig(&config);
    PyConfig_Clear(&config);
    if (PyStatus_Exception(st))
        fail_init("Py_InitializeFromConfig", st);
}

/*
 * CPython's C-recursion guard for WASI (Py_C_RECURSION_LIMIT, 5000 levels)
 * assumes a bigger native stack than the host gives wasm code, so deep C
 * recursion (json of nested lists, repr of self-referencing containers,
 * recursion through functools.cache) would overflow the stack and trap
 * before the guard fires. The guard's budget is reset at every entry to a
 * depth that fits the host's stack (GUEST_MAX_WASM_STACK in src/engine.c,
 * measured by tests/c/test_recursion.c), so these raise RecursionError.
 */
#define GUEST_C_RECURSION_LIMIT 2000

static void manage_reserve(void) {
    if (g_memory_tripped && g_reserve) {
        free(g_reserve);
        g_reserve = NULL;
    } else if (!g_reserve) {
        g_quiet_sbrk = 1;
        g_reserve = malloc(MEMORY_RESERVE);
        g_quiet_sbrk = 0;
    }
    g_memory_tripped = 0;
}

static void enter_guest(void) {
    manage_reserve();
    PyThreadState *ts = PyThreadState_GetUnchecked();
    if (ts)
        ts->c_recursion_remaining = GUEST_C_RECURSION_LIMIT;
}

EXPORT("cloche_init") void cloche_init(void) {
    start_python();
    cloche_guest_install_guards();
    enter_guest();
    g_runtime = PyImport_ImportModule("cloche_guest.runtime");
    PyObject *pre =
        g_runtime ? PyObject_CallMethod(g_runtime, "preinit", NULL) : NULL;
    if (!pre) {
        PyErr_Print();
        abort();
    }
    Py_DECREF(pre);
    if (cloche_guest_immortalize_image() != 0) {
        PyErr_Print();
        abort();
    }
}

/* --- buffers shared with the host --------------------------------------- */

EXPORT("cloche_alloc") uint32_t cloche_alloc(uint32_t n) {
    return (uint32_t)(uintptr_t)malloc(n ? n : 1);
}

EXPORT("cloche_free") void cloche_free(uint32_t ptr) {
    free((void *)(uintptr_t)ptr);
}

/*
 * Result record: u32 status, then six fields (value_repr, value_json,
 * exc_type, exc_message, traceback, images), each a u32 length followed by
 * that many bytes, or the length 0xFFFFFFFF for "absent". Little-endian.
 * The runtime's tuple may leave out the last field (control operations).
 */
#define FIELD_ABSENT 0xFFFFFFFFu
#define RESULT_FIELDS 6

static uint8_t *g_out;
static size_t g_out_cap;

static int out_reserve(size_t need) {
    if (need <= g_out_cap)
        return 0;
    uint8_t *p = realloc(g_out, need);
    if (!p)
        return -1;
    g_out = p;
    g_out_cap = need;
    return 0;
}

static void put_u32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

static uint64_t pack(size_t len) {
    return ((uint64_t)len << 32) | (uint32_t)(uintptr_t)g_out;
}

/* Field i of the runtime's tuple, or None past its end. */
static PyObject *tuple_field(PyObject *tuple, Py_ssize_t i) {
    return i < PyTuple_GET_SIZE(tuple) ? PyTuple_GET_ITEM(tuple, i) : Py_None;
}

/* Serialize the runtime's tuple; returns 0 when memory ran out (or the
 * record would not fit the u32 lengths). */
static uint64_t encode_result(PyObject *tuple) {
    uint64_t need = 4; /* 64-bit: size_t is 32 bits here */
    for (Py_ssize_t i = 1; i <= RESULT_FIELDS; i++) {
        PyObject *f = tuple_field(tuple, i);
        need += 4 + (PyBytes_Check(f) ? (uint64_t)PyBytes_GET_SIZE(f) : 0);
    }
    if (need > UINT32_MAX || out_reserve((size_t)need) != 0)
        return 0;
    put_u32(g_out, (uint32_t)PyLong_AsLong(PyTuple_GET_ITEM(tuple, 0)));
    size_t at = 4;
    for (Py_ssize_t i = 1; i <= RESULT_FIELDS; i++) {
        PyObject *f = tuple_field(tuple, i);
        if (!PyBytes_Check(f)) {
            put_u32(g_out + at, FIELD_ABSENT);
            at += 4;
            continue;
        }
        size_t n = (size_t)PyBytes_GET_SIZE(f);
        put_u32(g_out + at, (uint32_t)n);
        memcpy(g_out + at + 4, PyBytes_AS_STRING(f), n);
        at += 4 + n;
    }
    return pack(at);
}

static int valid_result(PyObject *r) {
    return r && PyTuple_Check(r) && PyTuple_GET_SIZE(r) >= RESULT_FIELDS &&
           PyTuple_GET_SIZE(r) <= 1 + RESULT_FIELDS &&
           PyLong_Check(PyTuple_GET_ITEM(r, 0));
}

/* Call runtime.<method>(*args) and encode the tuple it returns. Steals
 * args (NULL: an allocation already failed). */
static uint64_t call_runtime(const char *method, PyObject *args) {
    PyObject *res = NULL;
    if (args) {
        PyObject *fn = PyObject_GetAttrString(g_runtime, method);
        res = fn ? PyObject_Call(fn, args, NULL) : NULL;
        Py_XDECREF(fn);
        Py_DECREF(args);
    }
    uint64_t packed = 0;
    if (valid_result(res))
        packed = encode_result(res);
    else
        PyErr_Clear(); /* only MemoryError gets here: the host reports it */
    Py_XDECREF(res);
    return packed;
}

static const char *guest_bytes(uint32_t ptr) {
    return (const char *)(uintptr_t)ptr;
}

EXPORT("cloche_run") uint64_t cloche_run(uint32_t ptr, uint32_t len) {
    enter_guest();
    /* Invalid UTF-8 becomes U+FFFD and then a SyntaxError outcome. */
    return call_runtime("run", Py_BuildValue("(N)", PyUnicode_DecodeUTF8(
                                                        guest_bytes(ptr),
                                                        (Py_ssize_t)len,
                                                        "replace")));
}

EXPORT("cloche_resume") uint64_t cloche_resume(uint32_t ptr, uint32_t len) {
    enter_guest();
    return call_runtime("resume", Py_BuildValue("(y#)", guest_bytes(ptr),
                                                (Py_ssize_t)len));
}

EXPORT("cloche_control") uint64_t cloche_control(uint32_t ptr, uint32_t len) {
    if (len == 0)
        return 0;
    enter_guest();
    const char *p = guest_bytes(ptr);
    return call_runtime("control", Py_BuildValue("(iy#)", (int)(uint8_t)p[0],
                                                 p + 1, (Py_ssize_t)len - 1));
}
