/*
 * Integration: deep recursion through C code raises RecursionError (as
 * python3 does, or where python3 itself would only survive thanks to an
 * 8 MiB stack) and never traps; the session keeps its globals afterwards.
 * Each case recurses far past the guard, through a different C path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static const char *const deep_cases[] = {
    /* C recursion in the json decoder */
    "import json\njson.loads('[' * 100000 + ']' * 100000)",
    /* comparing two self-referencing lists */
    "a = []; a.append(a); b = []; b.append(b)\na == b",
    /* hashing a 100,000-deep tuple: unguarded in CPython (guest/guards.c) */
    "t = ()\nfor i in range(100000): t = (t,)\nhash(t)",
    /* copy.deepcopy of reflexive lists */
    "import copy\na = []; b = [a]; a.append(b)\nx = a\n"
    "for i in range(100000): x = [x]\ncopy.deepcopy(x)",
    /* recursion through functools.cache and functools.partial */
    "import functools, sys\nsys.setrecursionlimit(10**6)\n"
    "@functools.cache\ndef f(n): return f(n - 1) + 1 if n else 0\nf(100000)",
    "import functools, sys\nsys.setrecursionlimit(10**6)\n"
    "def g(n): return functools.partial(g, n - 1)() + 1 if n else 0\ng(100000)",
    /* Python called from C at every level: map, sorted, type(), repr, str */
    "import sys\nsys.setrecursionlimit(10**6)\n"
    "def f(n): return list(map(lambda _: f(n - 1), [0])) if n else 0\nf(100000)",
    "import sys\nsys.setrecursionlimit(10**6)\n"
    "def f(n): return sorted([1], key=lambda _: f(n - 1)) if n else 0\nf(100000)",
    "import sys\nsys.setrecursionlimit(10**6)\n"
    "class A:\n    def __init__(s, n): s.c = A(n - 1) if n else None\nA(100000)",
    "import sys\nsys.setrecursionlimit(10**6)\nclass R:\n"
    "    def __init__(s, c): s.c = c\n"
    "    def __repr__(s): return 'R(' + repr(s.c) + ')'\n"
    "x = None\nfor i in range(100000): x = R(x)\nrepr(x)",
    "import sys\nsys.setrecursionlimit(10**6)\n"
    "def f(n): return str(type('X', (), {'__str__': lambda s: f(n - 1)})()) if n else ''\n"
    "f(100000)",
    /* pickle and repr of deep lists */
    "import pickle\nx = []\nfor i in range(100000): x = [x]\npickle.dumps(x)",
    "x = []\nfor i in range(100000): x = [x]\nrepr(x)",
};

/* Run a case inside try/except, so a huge traceback (python3 makes them
 * too) is not formatted: prints "RecursionError" when the guard fired. */
static void expect_recursion_error(cloche_sandbox *sb, const char *code) {
    char *wrapped = NULL;
    size_t n = strlen(code) + 128;
    wrapped = malloc(n);
    assert_non_null(wrapped);
    snprintf(wrapped, n,
             "try:\n    exec(\"\"\"%s\"\"\", {})\n"
             "except RecursionError:\n    print('RecursionError')\n",
             code);
    char *out = test_stdout(sb, wrapped);
    if (strcmp(out, "RecursionError\n") != 0)
        fail_msg("no RecursionError (stdout %s) for:\n%s", out, code);
    free(out);
    free(wrapped);
}

static void test_deep_recursion_raises(void **state) {
    (void)state;
    cloche_sandbox *sb = test_sandbox(NULL);
    cloche_result_free(test_run_ok(sb, "kept = 42"));
    for (size_t i = 0; i < sizeof deep_cases / sizeof *deep_cases; i++) {
        expect_recursion_error(sb, deep_cases[i]);
        test_expect_stdout(sb, "print(kept)", "42\n");
    }
    cloche_sandbox_free(sb);
}

/* Uncaught, the RecursionError is the run's exception outcome. */
static void test_uncaught_recursion_error(void **state) {
    (void)state;
    cloche_sandbox *sb = test_sandbox(NULL);
    cloche_result *r = test_run(sb, deep_cases[0]);
    assert_int_equal(cloche_result_outcome(r), CLOCHE_OUTCOME_EXCEPTION);
    assert_string_equal(cloche_result_exception_type(r), "RecursionError");
    cloche_result_free(r);
    cloche_sandbox_free(sb);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deep_recursion_raises),
        cmocka_unit_test(test_uncaught_recursion_error),
    };
    return cmocka_run_group_tests(tests, test_engine_setup,
                                  test_engine_teardown);
}
