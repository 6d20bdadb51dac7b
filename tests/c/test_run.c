/* Integration: running code, values, exceptions, output capture, asyncio. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static void test_print(void **state) {
    (void)state;
    cloche_sandbox *sb = test_sandbox(NULL);
    test_expect_stdout(sb, "print(1+1)", "2\n");
    cloche_sandbox_free(sb);
}

static void test_trailing_expression_value(void **state) {
    (void)state;
    cloche_sandbox *sb = test_sandbox(NULL);
    cloche_result *r = test_run_ok(sb, "x = [1, 'a', None]\n{'k': x}");
    assert_string_equal(cloche_result_value_repr(r), "{'k': [1, 'a', None]}");
    assert_string_equal(cloche_result_value_json(r), "{\"k\": [1, \"a\", null]}");
    cloche_result_free(r);
    /* Not JSON-serializable: repr only. */
    r = test_run_ok(sb, "{1, 2}");
    assert_string_equal(cloche_result_value_repr(r), "{1, 2}");
    assert_null(cloche_result_value_json(r));
    cloche_result_free(r);
    /* No trailing expression, or None: no value. */
    r = test_run_ok(sb, "y = 3");
    assert_null(cloche_result_value_repr(r));
    cloche_result_free(r);
    cloche_sandbox_free(sb);
}

static void test_exception_is_structured(void **state) {
    (void)state;
    cloche_sandbox *sb = test_sandbox(NULL);
    cloche_result *r = test_run(sb, "print('before')\n"
                                    "def f(d):\n"
                                    "    return 1 / d\n"
                                    "f(0)\n");
    assert_int_equal(cloche_result_outcome(r), CLOCHE_OUTCOME_EXCEPTION);
    assert_string_equal(cloche_result_exception_type(r), "ZeroDivisionError");
    assert_string_equal(cloche_result_exception_message(r), "division by zero");
    const char *tb = cloche_result_traceback(r);
    assert_non_null(strstr(tb, "line 3, in f"));
    assert_non_null(strstr(tb, "return 1 / d"));
    assert_null(strstr(tb, "cloche_guest")); /* runtime frames hidden */
    assert_string_equal(cloche_result_stdout(r, NULL), "before\n");
    cloche_result_free(r);
    /* The sandbox is still usable after an exception. */
    test_expect_stdout(sb, "print('after')", "after\n");
    cloche_sandbox_free(sb);
}

static void test_syntax_error(void **state) {
    (void)state;
    cloche_sandbox *sb = test_sandbox(NULL);
    cloche_result *r = test_run(sb, "def broken(:\n");
    assert_int_equal(cloche_result_outcome(r), CLOCHE_OUTCOME_EXCEPTION);
    assert_string_equal(cloche_result_exception_type(r), "SyntaxError");
    cloche_result_free(r);
    /* Invalid UTF-8 in the source is an exception, not an error. */
    r = test_run(sb, "x = 1\n\xff\xfe = 2\n");
    assert_int_equal(cloche_result_outcome(r), CLOCHE_OUTCOME_EXCEPTION);
    assert_string_equal(cloche_result_exception_type(r), "SyntaxError");
    cloche_result_free(r);
    cloche_sandbox_free(sb);
}

static void test_system_exit(void **state) {
    (void)state;
    cloche_sandbox *sb = test_sandbox(NULL);
    cloche_result *r = test_run_ok(sb, "import sys\nprint('x')\nsys.exit(0)");
    cloche_result_free(r);
    r = test_run(sb, "import sys\nsys.exit(3)");
    assert_int_equal(cloche_result_outcome(r), CLOCHE_OUTCOME_EXCEPTION);
    assert_string_equal(cloche_result_exception_type(r), "SystemExit");
    cloche_result_free(r);
    /* os._exit ends the interpreter: the sandbox resets before next run. */
    r = test_run(sb, "import os\nos._exit(5)");
    assert_int_equal(cloche_result_outcome(r), CLOCHE_OUTCOME_EXCEPTION);
    assert_string_equal(cloche_result_exception_message(r), "os._exit(5)");
    cloche_result_free(r);
    test_expect_stdout(sb, "print('alive')", "alive\n");
    cloche_sandbox_free(sb);
}

static void test_os_write_is_captured_in_order(void **state) {
    (void)state;
    cloche_sandbox *sb = test_sandbox(NULL);
    test_expect_stdout(sb,
                       "import os, sys\n"
                       "print('a')\n"
                       "os.write(1, b'b\\n')\n"
                       "sys.stdout.write('c\\n')\n"
                       "os.write(2, b'err\\n')\n",
                       "a\nb\nc\n");
    cloche_result *r = test_run_ok(sb, "import sys\nprint('e', file=sys.stderr)");
    assert_string_equal(cloche_result_stderr(r, NULL), "e\n");
    cloche_result_free(r);
    cloche_sandbox_free(sb);
}

static void test_globals_persist_and_reset(void **state) {
    (void)state;
    cloche_sandbox *sb = test_sandbox(NULL);
    cloche_result_free(test_run_ok(sb, "counter = 41\ndef bump():\n"
                                       "    global counter\n"
                                       "    counter += 1\n"
                                       "    return counter"));
    cloche_result *r = test_run_ok(sb, "bump()");
    assert_string_equal(cloche_result_value_repr(r), "42");
    cloche_result_free(r);
    assert_int_equal(cloche_sandbox_reset(sb), 0);
    r = test_run(sb, "counter");
    assert_int_equal(cloche_result_outcome(r), CLOCHE_OUTCOME_EXCEPTION);
    assert_string_equal(cloche_result_exception_type(r), "NameError");
    cloche_result_free(r);
    cloche_sandbox_free(sb);
}

static void test_top_level_await_and_asyncio_run(void **state) {
    (void)state;
    cloche_sandbox *sb = test_sandbox(NULL);
    cloche_result *r = test_run_ok(sb,
                                   "import asyncio\n"
                                   "async def sq(x):\n"
                                   "    await asyncio.sleep(0.01)\n"
                                   "    return x * x\n"
                                   "await asyncio.gather(sq(2), sq(3))");
    assert_string_equal(cloche_result_value_json(r), "[4, 9]");
    cloche_result_free(r);
    test_expect_stdout(sb,
                       "import asyncio\n"
                       "async def main():\n"
                       "    await asyncio.sleep(0)\n"
                       "    return 'ran'\n"
                       "print(asyncio.run(main()))",
                       "ran\n");
    /* A task created in one run keeps its loop for the next run. */
    cloche_result_free(test_run_ok(sb, "t = asyncio.get_running_loop()"
                                       ".create_task(sq(5))\nawait asyncio.sleep(0)"));
    r = test_run_ok(sb, "await t");
    assert_string_equal(cloche_result_value_repr(r), "25");
    cloche_result_free(r);
    /* Waiting on something nothing can complete is reported, not hung. */
    r = test_run(sb, "import asyncio\nawait asyncio.Event().wait()");
    assert_int_equal(cloche_result_outcome(r), CLOCHE_OUTCOME_EXCEPTION);
    assert_string_equal(cloche_result_exception_type(r), "DeadlockError");
    cloche_result_free(r);
    cloche_sandbox_free(sb);
}

static void test_stdlib_modules(void **state) {
    (void)state;
    cloche_sandbox *sb = test_sandbox(NULL);
    test_expect_stdout(
        sb,
        "import zlib, gzip, sqlite3, json, re, decimal, zipfile, io\n"
        "assert zlib.decompress(zlib.compress(b'x' * 100)) == b'x' * 100\n"
        "assert gzip.decompress(gzip.compress(b'hi')) == b'hi'\n"
        "db = sqlite3.connect(':memory:')\n"
        "db.execute('create table t(a)')\n"
        "db.executemany('insert into t values (?)', [(1,), (2,)])\n"
        "print(db.execute('select sum(a) from t').fetchone()[0])\n"
        "buf = io.BytesIO()\n"
        "with zipfile.ZipFile(buf, 'w', zipfile.ZIP_DEFLATED) as z:\n"
        "    z.writestr('a.txt', 'hello' * 10)\n"
        "print(zipfile.ZipFile(buf).read('a.txt')[:5].decode())\n"
        "print(decimal.Decimal('0.1') + decimal.Decimal('0.2'))\n",
        "3\nhello\n0.3\n");
    /* A module that was not pre-imported loads from the stdlib image. */
    test_expect_stdout(sb, "import colorsys\nprint(colorsys.rgb_to_hsv(1, 0, 0))",
                       "(0.0, 1.0, 1)\n");
    cloche_sandbox_free(sb);
}

static void test_tmp_is_writable(void **state) {
    (void)state;
    cloche_sandbox *sb = test_sandbox(NULL);
    test_expect_stdout(sb,
                       "import tempfile, os\n"
                       "with open('/tmp/x.txt', 'w') as f: f.write('data')\n"
                       "print(open('/tmp/x.txt').read())\n"
                       "with tempfile.NamedTemporaryFile('w+') as t:\n"
                       "    t.write('tmp'); t.seek(0); print(t.read())\n",
                       "data\ntmp\n");
    cloche_sandbox_free(sb);
}

static void test_deep_recursion_is_recursion_error(void **state) {
    (void)state;
    cloche_sandbox *sb = test_sandbox(NULL);
    cloche_result *r = test_run(sb, "def f(n):\n    return f(n + 1)\nf(0)");
    assert_int_equal(cloche_result_outcome(r), CLOCHE_OUTCOME_EXCEPTION);
    assert_string_equal(cloche_result_exception_type(r), "RecursionError");
    cloche_result_free(r);
    r = test_run(sb, "import json\nx = []\nfor _ in range(100000): x = [x]\n"
                     "json.dumps(x)");
    assert_int_equal(cloche_result_outcome(r), CLOCHE_OUTCOME_EXCEPTION);
    assert_string_equal(cloche_result_exception_type(r), "RecursionError");
    cloche_result_free(r);
    cloche_sandbox_free(sb);
}

static void test_result_json(void **state) {
    (void)state;
    cloche_sandbox *sb = test_sandbox(NULL);
    cloche_result *r = test_run_ok(sb, "print('hi')\n[1, 2]");
    char *json = cloche_result_to_json(r);
    assert_non_null(json);
    assert_non_null(strstr(json, "\"outcome\":\"ok\""));
    assert_non_null(strstr(json, "\"stdout\":\"hi\\n\""));
    assert_non_null(strstr(json, "\"value\":[1,2]"));
    assert_non_null(strstr(json, "\"exception\":null"));
    assert_true(cloche_result_memory_bytes(r) > 0);
    assert_true(cloche_result_duration_ns(r) > 0);
    assert_true(cloche_result_fuel_used(r) > 0);
    cloche_string_free(json);
    cloche_result_free(r);
    cloche_sandbox_free(sb);
}

static void test_bad_arguments(void **state) {
    (void)state;
    cloche_result *r = NULL;
    assert_int_equal(cloche_run(&r, NULL, "1", 1), CLOCHE_EINVAL);
    cloche_sandbox *sb = test_sandbox(NULL);
    assert_int_equal(cloche_run(NULL, sb, "1", 1), CLOCHE_EINVAL);
    assert_int_equal(cloche_run(&r, sb, NULL, 5), CLOCHE_EINVAL);
    assert_null(r);
    cloche_sandbox_options o = CLOCHE_SANDBOX_OPTIONS_INIT;
    o.version = 99;
    cloche_sandbox *bad = NULL;
    assert_int_equal(cloche_sandbox_new(&bad, test_engine(), &o), CLOCHE_EINVAL);
    assert_null(bad);
    assert_string_equal(cloche_status_name(CLOCHE_EBUSY), "CLOCHE_EBUSY");
    assert_string_equal(cloche_strerror(CLOCHE_OK), "success");
    cloche_sandbox_free(sb);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_print),
        cmocka_unit_test(test_trailing_expression_value),
        cmocka_unit_test(test_exception_is_structured),
        cmocka_unit_test(test_syntax_error),
        cmocka_unit_test(test_system_exit),
        cmocka_unit_test(test_os_write_is_captured_in_order),
        cmocka_unit_test(test_globals_persist_and_reset),
        cmocka_unit_test(test_top_level_await_and_asyncio_run),
        cmocka_unit_test(test_stdlib_modules),
        cmocka_unit_test(test_tmp_is_writable),
        cmocka_unit_test(test_deep_recursion_is_recursion_error),
        cmocka_unit_test(test_result_json),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, test_engine_setup,
                                  test_engine_teardown);
}
