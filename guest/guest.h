/* Declarations shared by the guest's C files. */
#ifndef CLOCHE_GUEST_H
#define CLOCHE_GUEST_H

#include <Python.h>

/* compile.c: compile(source) for a run -> (code, has_value). */
PyObject *cloche_guest_compile(PyObject *source, PyObject *filename);

/* immortal.c: immortalize the image's objects (build time). 0 or -1. */
int cloche_guest_immortalize_image(void);

/* guards.c: recursion guards on C paths CPython leaves unguarded. */
void cloche_guest_install_guards(void);

/* builtins.c: register compiled-in extension modules (build time); 0 or -1.
 * Weak: a guest flavour with packages (the data stack) links its own. */
int cloche_guest_register_builtins(void);

/* net.c: the _cloche.net_* functions (socket shim). */
extern PyMethodDef cloche_guest_net_methods[];

#endif
