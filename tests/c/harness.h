/*
 * Shared helpers for the integration tests: one engine per test program
 * (creating it maps the compiled guest; compiling it the first time takes
 * seconds) and small wrappers that run code and check outcomes.
 */
#ifndef CLOCHE_TEST_HARNESS_H
#define CLOCHE_TEST_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cloche.h"

/* The engine shared by every test in the program (fuel enabled). */
cloche_engine *test_engine(void);
int test_engine_setup(void **state);
int test_engine_teardown(void **state);

cloche_sandbox *test_sandbox(const cloche_sandbox_options *opts);
/* Run code; fails the test if cloche_run itself errors. */
cloche_result *test_run(cloche_sandbox *sb, const char *code);
/* Run code and expect outcome OK; returns the result (caller frees). */
cloche_result *test_run_ok(cloche_sandbox *sb, const char *code);
/* Run code expecting OK and return its stdout as a malloc'd string. */
char *test_stdout(cloche_sandbox *sb, const char *code);
/* Assert OK and that stdout equals want. */
void test_expect_stdout(cloche_sandbox *sb, const char *code, const char *want);

#endif
