# fuzz.cmake - the fuzz targets of fuzz/ (fuzz/README.md).
#
# Included at the end of tests/c/tests.cmake. With every compiler:
#   fuzz_<name>_replay   the target's code with fuzz/replay.c as main
#   ctest fuzz_replay_<name>   replays fuzz/corpus/<name>/ (label unit, or
#                        integration for targets that need the engine)
# With clang and -DCLOCHE_FUZZ=ON (fuzz/run.sh, `make fuzz`):
#   fuzz_<name>          libFuzzer binaries over copies of the libraries
#                        instrumented for coverage, ASan and UBSan
#
# Each entry: name, the library it needs (wasi: src/wasi + src/vfs, net:
# src/net, engine: the whole of libcloche).
set(CLOCHE_FUZZ_DIR "${CMAKE_CURRENT_LIST_DIR}")
set(CLOCHE_FUZZ_TARGETS
    wasi_state:wasi wasi_abi:wasi vfs_model:wasi
    net_policy:net http:net
    record:engine snapshot:engine)

option(CLOCHE_FUZZ "Build the libFuzzer targets in fuzz/ (clang only)" OFF)
set(CLOCHE_FUZZ_LIBFUZZER OFF)
if(CLOCHE_FUZZ AND NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(WARNING "CLOCHE_FUZZ needs clang (libFuzzer): fuzzers not built")
elseif(CLOCHE_FUZZ)
  set(CLOCHE_FUZZ_LIBFUZZER ON)
  set(CLOCHE_FUZZ_FLAGS -fsanitize=address,undefined -fno-omit-frame-pointer
      -fno-sanitize-recover=all -g)
  set(CLOCHE_FUZZ_COV -fsanitize=fuzzer-no-link ${CLOCHE_FUZZ_FLAGS})
  # Instrumented copies of the libraries (the normal ones stay as they are).
  add_library(cloche_wasi_fuzz STATIC ${CLOCHE_WASI_SOURCES})
  target_include_directories(cloche_wasi_fuzz PUBLIC "${CLOCHE_WASI_ROOT}/src"
                                                     "${CLOCHE_WASI_ROOT}/include")
  add_library(cloche_net_fuzz STATIC ${CLOCHE_NET_SOURCES})
  target_include_directories(cloche_net_fuzz PUBLIC "${CLOCHE_NET_ROOT}/src"
                                                    "${CLOCHE_NET_ROOT}/include")
  target_link_libraries(cloche_net_fuzz PUBLIC PkgConfig::CLOCHE_NET_SSL
                        Threads::Threads)
  add_library(cloche_fuzz STATIC ${CLOCHE_SOURCES})
  target_include_directories(cloche_fuzz PUBLIC include PRIVATE src)
  target_compile_definitions(cloche_fuzz PRIVATE ${CLOCHE_POSIX}
    CLOCHE_VERSION="${PROJECT_VERSION}"
    CLOCHE_GUEST_BUILD_ID="${CLOCHE_GUEST_ID}")
  target_link_libraries(cloche_fuzz PUBLIC cloche_wasi_fuzz cloche_net_fuzz
    wasmtime PkgConfig::JANSSON PkgConfig::ZSTD PkgConfig::CRYPTO)
  foreach(lib cloche_wasi_fuzz cloche_net_fuzz cloche_fuzz)
    target_compile_options(${lib} PRIVATE
      $<$<COMPILE_LANGUAGE:C>:${CLOCHE_FUZZ_COV}>)
    set_target_properties(${lib} PROPERTIES C_STANDARD 11
                          C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
  endforeach()
endif()

foreach(spec IN LISTS CLOCHE_FUZZ_TARGETS)
  string(REPLACE ":" ";" parts "${spec}")
  list(GET parts 0 name)
  list(GET parts 1 kind)
  if(kind STREQUAL "wasi")
    set(lib cloche_wasi)
  elseif(kind STREQUAL "net")
    set(lib cloche_net)
  else()
    set(lib cloche)
  endif()
  set(src "${CLOCHE_FUZZ_DIR}/fuzz_${name}.c")
  add_executable(fuzz_${name}_replay ${src} "${CLOCHE_FUZZ_DIR}/replay.c")
  target_link_libraries(fuzz_${name}_replay PRIVATE ${lib})
  target_include_directories(fuzz_${name}_replay PRIVATE src include)
  target_compile_options(fuzz_${name}_replay PRIVATE ${CLOCHE_WARNINGS})
  target_compile_definitions(fuzz_${name}_replay PRIVATE ${CLOCHE_POSIX})
  set_target_properties(fuzz_${name}_replay PROPERTIES C_STANDARD 11
                        C_STANDARD_REQUIRED ON)
  add_test(NAME fuzz_replay_${name}
           COMMAND fuzz_${name}_replay "${CLOCHE_FUZZ_DIR}/corpus/${name}")
  if(kind STREQUAL "engine")
    set_tests_properties(fuzz_replay_${name} PROPERTIES LABELS integration
                         TIMEOUT 600)
  else()
    set_tests_properties(fuzz_replay_${name} PROPERTIES LABELS unit
                         TIMEOUT 300)
  endif()
  if(CLOCHE_FUZZ_LIBFUZZER)
    add_executable(fuzz_${name} ${src})
    target_link_libraries(fuzz_${name} PRIVATE ${lib}_fuzz)
    target_include_directories(fuzz_${name} PRIVATE src include)
    target_compile_definitions(fuzz_${name} PRIVATE ${CLOCHE_POSIX})
    target_compile_options(fuzz_${name} PRIVATE -fsanitize=fuzzer
                           ${CLOCHE_FUZZ_FLAGS})
    target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer
                        ${CLOCHE_FUZZ_FLAGS})
    set_target_properties(fuzz_${name} PROPERTIES C_STANDARD 11
                          C_STANDARD_REQUIRED ON)
  endif()
endforeach()
