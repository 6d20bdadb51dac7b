/*
 * setjmp.h for C libraries of the data-stack guest (FreeType, Qhull).
 *
 * wasi-libc offers setjmp/longjmp only with the wasm exception-handling
 * proposal, which this toolchain and engine do not use. These libraries
 * use longjmp only to leave an error path (a corrupt cmap table, a Qhull
 * input error), so setjmp returns 0 once and a longjmp traps: the run
 * ends instead of the library returning an error code. FreeType's one
 * longjmp on a normal path (the rasterizer's cell-pool overflow) is
 * rewritten by tools/pyext/patch_freetype.py to return instead.
 */
#ifndef CLOCHE_NOSJLJ_SETJMP_H
#define CLOCHE_NOSJLJ_SETJMP_H

typedef long jmp_buf[1];

#define setjmp(env) ((void)(env), 0)
#define longjmp(env, val) ((void)(env), (void)(val), __builtin_trap())

#endif
