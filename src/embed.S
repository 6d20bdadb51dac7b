/*
 * The guest artifacts, linked into libcloche as read-only data so the
 * library needs no files at run time. CLOCHE_GUEST_WASM_PATH and
 * CLOCHE_STDLIB_ZIP_PATH are set by the build (CMakeLists.txt).
 */
    .section .rodata.cloche_guest, "a", @progbits
    .p2align 6
    .globl cloche__embedded_guest_wasm
    .hidden cloche__embedded_guest_wasm
cloche__embedded_guest_wasm:
    .incbin CLOCHE_GUEST_WASM_PATH
    .globl cloche__embedded_guest_wasm_end
    .hidden cloche__embedded_guest_wasm_end
cloche__embedded_guest_wasm_end:

    .p2align 6
    .globl cloche__embedded_stdlib_zip
    .hidden cloche__embedded_stdlib_zip
cloche__embedded_stdlib_zip:
    .incbin CLOCHE_STDLIB_ZIP_PATH
    .globl cloche__embedded_stdlib_zip_end
    .hidden cloche__embedded_stdlib_zip_end
cloche__embedded_stdlib_zip_end:

    .section .note.GNU-stack, "", @progbits
