/*
 * C++ exception entry points for the data-stack guest.
 *
 * wasm32-wasip1 with clang-19 has no exception handling: code compiled with
 * -fexceptions has its catch blocks removed (LLVM's LowerInvoke), and
 * Debian's libc++abi for wasm32 is built without exceptions, so it lacks
 * the functions a `throw` calls. A throw can therefore only end the run:
 * the guest traps here. numpy's pocketfft and np.unique's hash set throw
 * only on allocation failure or internal errors.
 */
#include <stdlib.h>

void *__cxa_allocate_exception(size_t size);
void __cxa_free_exception(void *thrown);
void __cxa_throw(void *thrown, void *type, void (*destructor)(void *));

void *__cxa_allocate_exception(size_t size) {
    (void)size;
    abort();
}

void __cxa_free_exception(void *thrown) { (void)thrown; }

void __cxa_throw(void *thrown, void *type, void (*destructor)(void *)) {
    (void)thrown, (void)type, (void)destructor;
    abort();
}
