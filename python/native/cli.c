/*
 * _native.cli_main: the `cloche` command, run inside the interpreter. The
 * command's sources (the .c files of cli/) are compiled into this
 * extension with their main renamed cli_main (python/CMakeLists.txt), and
 * the wheel's `cloche` script (python/_cloche_entry.py) loads the
 * extension and calls this: the wheel then carries libcloche, with its
 * guest image, once instead of twice (the extension and a separate C
 * binary, ~130 MB each).
 *
 * The command owns the process while it runs, as it does when it is its
 * own program: it expects a C program's signal dispositions and locale,
 * writes through C stdio, may call exit() and may exec cloche-python
 * (cli/pyexec.c). So this is for that script only, never for a program
 * that imported cloche for its API.
 */
#include "native.h"

#include <limits.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_main(int argc, char **argv); /* cli/main.c's main */

/* Undo what CPython changed at startup that a C program would not have:
 * its SIGINT handler (the REPL installs its own, and Ctrl-C elsewhere
 * must end the command), SIGPIPE and SIGXFSZ ignored (also inherited
 * across exec), and LC_CTYPE taken from the environment. */
static void as_a_c_program(void) {
    signal(SIGINT, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGXFSZ, SIG_DFL);
    setlocale(LC_CTYPE, "C");
}

/* Flush sys.stdout and sys.stderr: the command writes to the same file
 * descriptors through C stdio. 0 or -1 (exception set). */
static int flush_python_stdio(void) {
    static const char *const names[] = {"stdout", "stderr"};
    for (size_t i = 0; i < 2; i++) {
        PyObject *f = PySys_GetObject(names[i]); /* borrowed */
        if (!f || f == Py_None)
            continue;
        PyObject *r = PyObject_CallMethod(f, "flush", NULL);
        if (!r)
            return -1;
        Py_DECREF(r);
    }
    return 0;
}

static void free_argv(char **argv, Py_ssize_t argc) {
    for (Py_ssize_t i = 0; i < argc; i++)
        free(argv[i]);
    free(argv);
}

/* argv as the command gets it: each str encoded as os.fsencode does
 * (sys.argv decoded undecodable bytes with surrogateescape). NULL-ended;
 * NULL with an exception set on failure. */
static char **argv_from_list(PyObject *list, Py_ssize_t argc) {
    char **argv = calloc((size_t)argc + 1, sizeof *argv);
    if (!argv)
        return (char **)PyErr_NoMemory();
    for (Py_ssize_t i = 0; i < argc; i++) {
        PyObject *item = PyList_GetItem(list, i); /* borrowed */
        PyObject *b = item ? PyUnicode_EncodeFSDefault(item) : NULL;
        if (!b) {
            free_argv(argv, argc);
            return NULL;
        }
        argv[i] = strdup(PyBytes_AsString(b));
        Py_DECREF(b);
        if (!argv[i]) {
            free_argv(argv, argc);
            return (char **)PyErr_NoMemory();
        }
    }
    return argv;
}

PyObject *native_cli_main(PyObject *m, PyObject *args) {
    (void)m;
    PyObject *list;
    const char *own_dir = NULL;
    if (!PyArg_ParseTuple(args, "O!|z:cli_main", &PyList_Type, &list,
                          &own_dir))
        return NULL;
    Py_ssize_t argc = PyList_Size(list);
    if (argc < 1 || argc > INT_MAX) {
        PyErr_SetString(PyExc_ValueError, "cli_main needs argv[0]");
        return NULL;
    }
    char **argv = argv_from_list(list, argc);
    if (!argv || flush_python_stdio() < 0) {
        if (argv)
            free_argv(argv, argc);
        return NULL;
    }
    cli_set_own_dir(own_dir);
    as_a_c_program();
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = cli_main((int)argc, argv);
    fflush(stdout);
    fflush(stderr);
    Py_END_ALLOW_THREADS
    free_argv(argv, argc);
    return PyLong_FromLong(status);
}
