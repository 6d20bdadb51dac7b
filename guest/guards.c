/*
 * Recursion guards for C paths CPython leaves unguarded.
 *
 * Natively, hashing a 100,000-deep tuple simply recurses 100,000 times on
 * an 8 MiB C stack. The guest's native stack is much smaller (see
 * GUEST_MAX_WASM_STACK in src/engine.c), so the same recursion would
 * overflow it and trap, losing the sandbox's state. Wrapping tuple's hash
 * in CPython's C-recursion guard turns that into a RecursionError.
 */
#include "guest.h"

static hashfunc g_tuple_hash; /* CPython's own tuplehash */

static Py_hash_t guarded_tuple_hash(PyObject *self) {
    if (Py_EnterRecursiveCall(" while hashing a tuple"))
        return -1;
    Py_hash_t h = g_tuple_hash(self);
    Py_LeaveRecursiveCall();
    return h;
}

void cloche_guest_install_guards(void) {
    if (g_tuple_hash)
        return;
    g_tuple_hash = PyTuple_Type.tp_hash;
    PyTuple_Type.tp_hash = guarded_tuple_hash;
}
