# wasi_tests.cmake - the engine-free WASI layer and VFS, and their unit tests.
#
# Included by the top-level CMakeLists.txt (include(tests/c/wasi_tests.cmake)
# after enable_testing()). Defines:
#   cloche_wasi        static library: src/wasi/*.c + src/vfs/*.c, no wasmtime
#   test_vfs*, test_wasi_*   cmocka executables, one ctest test each (label unit)
#   fuzz_*             libFuzzer targets, only with clang and -DCLOCHE_FUZZ=ON
#                      (smoke runs under ctest, label fuzz; fuzz/README.md)
# Uses the top-level CLOCHE_WARNINGS list when it is defined; standalone it
# falls back to the list below (CLOCHE_WERROR=ON adds -Werror).

set(CLOCHE_WASI_ROOT "${CMAKE_CURRENT_LIST_DIR}/../..")
get_filename_component(CLOCHE_WASI_ROOT "${CLOCHE_WASI_ROOT}" ABSOLUTE)

file(GLOB CLOCHE_WASI_SOURCES CONFIGURE_DEPENDS
     "${CLOCHE_WASI_ROOT}/src/wasi/*.c" "${CLOCHE_WASI_ROOT}/src/vfs/*.c")

if(DEFINED CLOCHE_WARNINGS)
  set(CLOCHE_WASI_WARNINGS ${CLOCHE_WARNINGS})
else()
  set(CLOCHE_WASI_WARNINGS -Wall -Wextra -Wshadow -Wconversion
      -Wsign-conversion -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
      -Wundef)
  if(CLOCHE_WERROR)
    list(APPEND CLOCHE_WASI_WARNINGS -Werror)
  endif()
endif()

add_library(cloche_wasi STATIC ${CLOCHE_WASI_SOURCES})
target_include_directories(cloche_wasi PUBLIC "${CLOCHE_WASI_ROOT}/src"
                                              "${CLOCHE_WASI_ROOT}/include")
target_compile_options(cloche_wasi PRIVATE ${CLOCHE_WASI_WARNINGS})
set_target_properties(cloche_wasi PROPERTIES C_STANDARD 11
                      C_STANDARD_REQUIRED ON C_EXTENSIONS OFF
                      POSITION_INDEPENDENT_CODE ON)

# libFuzzer targets (fuzz/README.md): only with clang and CLOCHE_FUZZ=ON.
# They link a second copy of the library built with coverage and sanitizer
# instrumentation, so the normal build never depends on them.
option(CLOCHE_FUZZ "Build the libFuzzer targets in fuzz/ (clang only)" OFF)
if(CLOCHE_FUZZ AND NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(WARNING "CLOCHE_FUZZ needs clang (libFuzzer): fuzzers not built")
elseif(CLOCHE_FUZZ)
  set(CLOCHE_FUZZ_FLAGS -fsanitize=address,undefined -fno-omit-frame-pointer
      -fno-sanitize-recover=all -g)
  add_library(cloche_wasi_fuzz STATIC ${CLOCHE_WASI_SOURCES})
  target_include_directories(cloche_wasi_fuzz PUBLIC "${CLOCHE_WASI_ROOT}/src"
                                                     "${CLOCHE_WASI_ROOT}/include")
  target_compile_options(cloche_wasi_fuzz PRIVATE ${CLOCHE_WASI_WARNINGS}
                         -fsanitize=fuzzer-no-link ${CLOCHE_FUZZ_FLAGS})
  set_target_properties(cloche_wasi_fuzz PROPERTIES C_STANDARD 11
                        C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
  foreach(f IN ITEMS fuzz_wasi_state)
    add_executable(${f} "${CLOCHE_WASI_ROOT}/fuzz/${f}.c")
    target_link_libraries(${f} PRIVATE cloche_wasi_fuzz)
    target_compile_options(${f} PRIVATE ${CLOCHE_WASI_WARNINGS}
                           -fsanitize=fuzzer ${CLOCHE_FUZZ_FLAGS})
    target_link_options(${f} PRIVATE -fsanitize=fuzzer ${CLOCHE_FUZZ_FLAGS})
    set_target_properties(${f} PROPERTIES C_STANDARD 11 C_STANDARD_REQUIRED ON)
    # A short deterministic run as a smoke test (label fuzz).
    add_test(NAME ${f}_smoke COMMAND ${f} -runs=20000 -seed=1)
    set_tests_properties(${f}_smoke PROPERTIES LABELS fuzz)
  endforeach()
endif()

find_path(CMOCKA_INCLUDE_DIR cmocka.h)
find_library(CMOCKA_LIBRARY cmocka)
if(NOT CMOCKA_INCLUDE_DIR OR NOT CMOCKA_LIBRARY)
  message(WARNING "cmocka not found (apt-get install libcmocka-dev): "
                  "WASI/VFS unit tests are not built")
  return()
endif()

set(CLOCHE_WASI_TESTS
    test_vfs test_vfs_path
    test_wasi_abi test_wasi_fd test_wasi_path test_wasi_poll
    test_wasi_misc test_wasi_negative test_wasi_state test_wasi_state_crafted
    test_vfs_mount test_wasi_mount test_wasi_mount_rw test_wasi_mount_state)

foreach(t IN LISTS CLOCHE_WASI_TESTS)
  add_executable(${t} "${CMAKE_CURRENT_LIST_DIR}/${t}.c")
  target_include_directories(${t} PRIVATE "${CMOCKA_INCLUDE_DIR}"
                                          "${CMAKE_CURRENT_LIST_DIR}")
  target_link_libraries(${t} PRIVATE cloche_wasi "${CMOCKA_LIBRARY}")
  target_compile_options(${t} PRIVATE ${CLOCHE_WASI_WARNINGS})
  set_target_properties(${t} PROPERTIES C_STANDARD 11 C_STANDARD_REQUIRED ON)
  add_test(NAME ${t} COMMAND ${t})
  set_tests_properties(${t} PROPERTIES LABELS unit)
endforeach()

# The mount tests build host trees under /tmp (removed afterwards); one
# races a host thread against the guest's lookups.
find_package(Threads REQUIRED)
target_link_libraries(test_wasi_mount PRIVATE Threads::Threads)
set_tests_properties(test_vfs_mount test_wasi_mount test_wasi_mount_rw
                     test_wasi_mount_state PROPERTIES TIMEOUT 120)
