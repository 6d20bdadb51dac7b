/*
 * Fast compile for runs: parse to CPython's C-level AST, turn a trailing
 * expression statement into `__cloche_value__ = <expr>`, and compile, with
 * top-level `await` allowed. Doing this in C skips building the AST as
 * Python objects (ast.parse) and converting it back, which cost about two
 * thirds of a small run's time.
 *
 * Uses CPython's internal parser/compiler API (Py_BUILD_CORE): the guest
 * links libpython statically and is built against this exact version.
 */
#define Py_BUILD_CORE 1
#include <Python.h>

#include "internal/pycore_ast.h"
#include "internal/pycore_compile.h"
#include "internal/pycore_parser.h"
#include "internal/pycore_pyarena.h"

#include "guest.h"

#define VALUE_NAME "__cloche_value__"

/* Rewrite a trailing `expr` statement into an assignment; 1 if done. */
static int capture_trailing_value(mod_ty mod, PyArena *arena) {
    asdl_stmt_seq *body = mod->v.Module.body;
    Py_ssize_t n = asdl_seq_LEN(body);
    if (n == 0)
        return 0;
    stmt_ty last = asdl_seq_GET(body, n - 1);
    if (last->kind != Expr_kind)
        return 0;
    PyObject *name = PyUnicode_InternFromString(VALUE_NAME);
    if (!name || _PyArena_AddPyObject(arena, name) < 0) {
        Py_XDECREF(name);
        return -1;
    }
    expr_ty target = _PyAST_Name(name, Store, last->lineno, last->col_offset,
                                 last->end_lineno, last->end_col_offset,
                                 arena);
    asdl_expr_seq *targets = _Py_asdl_expr_seq_new(1, arena);
    if (!target || !targets)
        return -1;
    asdl_seq_SET(targets, 0, target);
    stmt_ty assign = _PyAST_Assign(targets, last->v.Expr.value, NULL,
                                   last->lineno, last->col_offset,
                                   last->end_lineno, last->end_col_offset,
                                   arena);
    if (!assign)
        return -1;
    asdl_seq_SET(body, n - 1, assign);
    return 1;
}

PyObject *cloche_guest_compile(PyObject *source, PyObject *filename) {
    const char *text = PyUnicode_AsUTF8(source);
    if (!text)
        return NULL;
    PyArena *arena = _PyArena_New();
    if (!arena)
        return NULL;
    PyCompilerFlags flags = _PyCompilerFlags_INIT;
    flags.cf_flags = PyCF_ALLOW_TOP_LEVEL_AWAIT | PyCF_SOURCE_IS_UTF8;
    PyObject *result = NULL;
    mod_ty mod = _PyParser_ASTFromString(text, filename, Py_file_input,
                                         &flags, arena);
    int has_value = mod ? capture_trailing_value(mod, arena) : -1;
    if (has_value >= 0) {
        PyCodeObject *code = _PyAST_Compile(mod, filename, &flags, -1, arena);
        if (code)
            result = Py_BuildValue("(Ni)", (PyObject *)code, has_value);
    }
    _PyArena_Free(arena);
    if (!result && !PyErr_Occurred())
        PyErr_NoMemory(); /* a parser path that failed to allocate silently */
    return result;
}
