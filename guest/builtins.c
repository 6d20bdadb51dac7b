/*
 * Extra built-in modules: the hook through which a guest flavour with
 * compiled-in packages registers their extension modules before CPython
 * starts.
 *
 * The minimal guest links only this weak default, which adds nothing. The
 * data-stack guest (tools/guest.sh with CLOCHE_DATA_STACK=1) links a
 * generated file with the strong definition: one inittab entry per
 * extension module of numpy, pandas..., under its dotted name
 * ("numpy._core._multiarray_umath"), which CPython 3.13's BuiltinImporter
 * finds like any built-in module. Build time only (inside cloche_init).
 */
#include "guest.h"

__attribute__((weak)) int cloche_guest_register_builtins(void) { return 0; }
