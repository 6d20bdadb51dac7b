# Integration tests: the full stack (wasmtime + guest). Label: integration.
pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)

add_library(cloche_test_harness STATIC ${CMAKE_CURRENT_LIST_DIR}/harness.c
            ${CMAKE_CURRENT_LIST_DIR}/../../cli/demo_tools.c)
target_link_libraries(cloche_test_harness PUBLIC cloche PkgConfig::CMOCKA)
target_compile_options(cloche_test_harness PRIVATE ${CLOCHE_WARNINGS})
target_compile_definitions(cloche_test_harness PRIVATE ${CLOCHE_POSIX})

foreach(name run limits isolation threads callbacks session snapshot
        snapshot_limits output_caps files mounts recursion pool images)
  add_executable(test_${name} ${CMAKE_CURRENT_LIST_DIR}/test_${name}.c)
  target_link_libraries(test_${name} PRIVATE cloche_test_harness Threads::Threads)
  target_compile_options(test_${name} PRIVATE ${CLOCHE_WARNINGS})
  target_compile_definitions(test_${name} PRIVATE ${CLOCHE_POSIX})
  add_test(NAME integration_${name} COMMAND test_${name})
  set_tests_properties(integration_${name} PROPERTIES LABELS integration
                       TIMEOUT 600)
endforeach()

# Figures as results: the fake matplotlib.pyplot and the host's checks.
target_compile_definitions(test_images PRIVATE
  FAKE_PYPLOT_PATH="${CMAKE_CURRENT_LIST_DIR}/../fixtures/fake_pyplot.py")
target_include_directories(test_images PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/../../src)

# Network integration tests: servers on loopback, TLS material made at run
# time (tests/c/net_fixtures).
foreach(name network secrets)
  add_executable(test_${name} ${CMAKE_CURRENT_LIST_DIR}/test_${name}.c)
  target_link_libraries(test_${name} PRIVATE cloche_test_harness
                        cloche_net_fixtures Threads::Threads)
  target_compile_options(test_${name} PRIVATE ${CLOCHE_WARNINGS})
  add_test(NAME integration_${name} COMMAND test_${name})
  set_tests_properties(integration_${name} PROPERTIES LABELS integration
                       TIMEOUT 600)
endforeach()

# The state-machine queries the Python package relies on (cloche_is_pending,
# call ids by style).
add_executable(test_pending_state ${CMAKE_CURRENT_LIST_DIR}/test_pending_state.c)
target_link_libraries(test_pending_state PRIVATE cloche_test_harness)
target_compile_options(test_pending_state PRIVATE ${CLOCHE_WARNINGS})
target_compile_definitions(test_pending_state PRIVATE ${CLOCHE_POSIX})
add_test(NAME integration_pending_state COMMAND test_pending_state)
set_tests_properties(integration_pending_state PROPERTIES LABELS integration
                     TIMEOUT 600)

# Soft interrupts: KeyboardInterrupt in the running code, the session kept
# (cloche_sandbox_interrupt; `cloche repl`'s Ctrl-C).
add_executable(test_interrupt ${CMAKE_CURRENT_LIST_DIR}/test_interrupt.c)
target_link_libraries(test_interrupt PRIVATE cloche_test_harness Threads::Threads)
target_compile_options(test_interrupt PRIVATE ${CLOCHE_WARNINGS})
target_compile_definitions(test_interrupt PRIVATE ${CLOCHE_POSIX})
add_test(NAME integration_interrupt COMMAND test_interrupt)
set_tests_properties(integration_interrupt PROPERTIES LABELS integration
                     TIMEOUT 600)

# Fuzz targets: their corpora replay here on every build (fuzz/fuzz.cmake).
include(${CMAKE_CURRENT_LIST_DIR}/../../fuzz/fuzz.cmake)

# Soak: sessions x runs with callbacks, snapshots, resets and cancels from
# other threads; RSS and descriptors checked (`make soak` runs it long).
add_executable(cloche_soak ${CMAKE_CURRENT_LIST_DIR}/soak.c)
target_link_libraries(cloche_soak PRIVATE cloche Threads::Threads)
target_compile_options(cloche_soak PRIVATE ${CLOCHE_WARNINGS})
target_compile_definitions(cloche_soak PRIVATE ${CLOCHE_POSIX})
add_test(NAME soak_short COMMAND cloche_soak --sessions 24 --runs 40
         --threads 8 --max-rss-growth 50)
set_tests_properties(soak_short PROPERTIES LABELS integration TIMEOUT 600)
