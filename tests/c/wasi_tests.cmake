# wasi_tests.cmake - the engine-free WASI layer and VFS, and their unit tests.
#
# Included by the top-level CMakeLists.txt (include(tests/c/wasi_tests.cmake)
# after enable_testing()). Defines:
#   cloche_wasi        static library: src/wasi/*.c + src/vfs/*.c, no wasmtime
#   test_vfs*, test_wasi_*   cmocka executables, one ctest test each (label unit)
# (The fuzz targets over this library are in fuzz/fuzz.cmake.)
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

find_path(CMOCKA_INCLUDE_DIR cmocka.h)
find_library(CMOCKA_LIBRARY cmocka)
if(NOT CMOCKA_INCLUDE_DIR OR NOT CMOCKA_LIBRARY)
  message(WARNING "cmocka not found (apt-get install libcmocka-dev): "
                  "WASI/VFS unit tests are not built")
  return()
endif()

set(CLOCHE_WASI_TESTS
    test_vfs test_vfs_path test_vfs_zip
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
