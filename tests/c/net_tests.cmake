# net_tests.cmake - the engine-free network core (src/net) and its unit tests.
#
# Include it from the top-level CMakeLists.txt after enable_testing():
#   include(tests/c/net_tests.cmake)
# Defines:
#   cloche_net        static library: src/net/*.c (OpenSSL, Threads), no wasmtime
#   test_net_*        cmocka executables, one ctest test each (label unit)
# Uses the top-level CLOCHE_WARNINGS list when it is defined; standalone it
# falls back to the list below (CLOCHE_WERROR=ON adds -Werror). The tests
# talk only to servers they start on 127.0.0.1 / ::1 and generate their TLS
# certificates at run time.

set(CLOCHE_NET_ROOT "${CMAKE_CURRENT_LIST_DIR}/../..")
get_filename_component(CLOCHE_NET_ROOT "${CLOCHE_NET_ROOT}" ABSOLUTE)

file(GLOB CLOCHE_NET_SOURCES CONFIGURE_DEPENDS "${CLOCHE_NET_ROOT}/src/net/*.c")

if(DEFINED CLOCHE_WARNINGS)
  set(CLOCHE_NET_WARNINGS ${CLOCHE_WARNINGS})
else()
  set(CLOCHE_NET_WARNINGS -Wall -Wextra -Wshadow -Wconversion
      -Wsign-conversion -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
      -Wundef)
  if(CLOCHE_WERROR)
    list(APPEND CLOCHE_NET_WARNINGS -Werror)
  endif()
endif()

find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
pkg_check_modules(CLOCHE_NET_SSL REQUIRED IMPORTED_TARGET libssl libcrypto)

add_library(cloche_net STATIC ${CLOCHE_NET_SOURCES})
target_include_directories(cloche_net PUBLIC "${CLOCHE_NET_ROOT}/src"
                                             "${CLOCHE_NET_ROOT}/include")
target_link_libraries(cloche_net PUBLIC PkgConfig::CLOCHE_NET_SSL
                      Threads::Threads)
target_compile_options(cloche_net PRIVATE ${CLOCHE_NET_WARNINGS})
set_target_properties(cloche_net PROPERTIES C_STANDARD 11
                      C_STANDARD_REQUIRED ON C_EXTENSIONS OFF
                      POSITION_INDEPENDENT_CODE ON)

find_path(CLOCHE_NET_CMOCKA_INCLUDE cmocka.h)
find_library(CLOCHE_NET_CMOCKA_LIBRARY cmocka)
if(NOT CLOCHE_NET_CMOCKA_INCLUDE OR NOT CLOCHE_NET_CMOCKA_LIBRARY)
  message(WARNING "cmocka not found (apt-get install libcmocka-dev): "
                  "network unit tests are not built")
  return()
endif()

# Test servers (plain and TLS) and certificate generation, shared by tests.
add_library(cloche_net_fixtures STATIC
            "${CMAKE_CURRENT_LIST_DIR}/net_fixtures/servers.c"
            "${CMAKE_CURRENT_LIST_DIR}/net_fixtures/certs.c")
target_include_directories(cloche_net_fixtures PUBLIC
                           "${CMAKE_CURRENT_LIST_DIR}/net_fixtures")
target_link_libraries(cloche_net_fixtures PUBLIC cloche_net)
target_compile_options(cloche_net_fixtures PRIVATE ${CLOCHE_NET_WARNINGS})
set_target_properties(cloche_net_fixtures PROPERTIES C_STANDARD 11
                      C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)

set(CLOCHE_NET_TESTS test_net_policy test_net_secrets test_net_tcp
    test_net_tls test_net_substitute test_net_http)

foreach(t IN LISTS CLOCHE_NET_TESTS)
  add_executable(${t} "${CMAKE_CURRENT_LIST_DIR}/${t}.c")
  target_include_directories(${t} PRIVATE "${CLOCHE_NET_CMOCKA_INCLUDE}")
  target_link_libraries(${t} PRIVATE cloche_net_fixtures
                        "${CLOCHE_NET_CMOCKA_LIBRARY}")
  target_compile_options(${t} PRIVATE ${CLOCHE_NET_WARNINGS})
  set_target_properties(${t} PROPERTIES C_STANDARD 11 C_STANDARD_REQUIRED ON)
  add_test(NAME ${t} COMMAND ${t})
  set_tests_properties(${t} PROPERTIES LABELS unit TIMEOUT 120)
endforeach()
