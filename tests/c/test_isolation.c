/*
 * Integration: nothing of the host reaches the guest unless granted — no
 * host files, env vars, sockets or real clock — and sandboxes do not share
 * state (including the random seed baked into the image).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

static void test_no_host_files(void **state) {
    (void)state;
    cloche_sandbox *sb = test_sandbox(NULL);
    test_expect_stdout(
        sb,
        "import os\n"
        "for p in ('/etc/passwd', '/proc/self/environ', '../../etc/passwd',\n"
        "          '/tmp/../../etc/hostname', '/usr/../../root'):\n"
        "    try:\n"
        "        open(p).read()\n"
        "        print('LEAK', p)\n"
        "    except OSError as e:\n"
        "        print(type(e).__name__)\n"
        "print(sorted(os.listdir('/')))\n"
        "print(sorted(os.listdir('/..')))\n",
        "FileNotFoundError\nFileNotFoundError\nFileNotFoundError\n"
        "FileNotFoundError\nFileNotFoundError\n"
        "['data', 'packages', 'tmp', 'usr']\n['data', 'packages', 'tmp', 'usr']\n");
    /* The root is read-only: nothing can be created, moved or removed. */
    test_expect_stdout(sb,
                       "import os, errno\n"
                       "for f in (lambda: open('/x', 'w'),\n"
                       "          lambda: os.rename('/usr', '/usr2'),\n"
                       "          lambda: os.mkdir('/d'),\n"
                       "          lambda: os.rmdir('/tmp')):\n"
                       "    try:\n"
                       "        f(); print('WROTE')\n"
                       "    except OSError as e:\n"
                       "        print(e.errno == errno.EROFS or e.errno)\n",
                       "True\nTrue\nTrue\nTrue\n");
    /* The stdlib image is read-only. */
    cloche_result *r = test_run(
        sb, "open('/usr/local/lib/python313.zip', 'wb').write(b'x')");
    assert_int_equal(cloche_result_outcome(r), CLOCHE_OUTCOME_EXCEPTION);
    assert_string_equal(cloche_result_exception_type(r), "OSError");
    cloche_result_free(r);
    cloche_sandbox_free(sb);
}

static void test_env_and_argv_only_as_granted(void **state) {
    (void)state;
    setenv("CLOCHE_TEST_SECRET", "do-not-leak", 1);
    cloche_sandbox *sb = test_sandbox(NULL);
    test_expect_stdout(sb, "import os, sys\nprint(dict(os.environ), sys.argv)",
                       "{} ['']\n");
    cloche_sandbox_free(sb);
    const char *env[] = {"GREETING=hi"};
    const char *argv[] = {"prog.py", "one"};
    cloche_sandbox_options o = CLOCHE_SANDBOX_OPTIONS_INIT;
    o.env = env;
    o.env_count = 1;
    o.argv = argv;
    o.argc = 2;
    sb = test_sandbox(&o);
    test_expect_stdout(sb, "import os, sys\nprint(dict(os.environ), sys.argv)",
                       "{'GREETING': 'hi'} ['prog.py', 'one']\n");
    cloche_sandbox_free(sb);
}

static void test_no_sockets(void **state) {
    (void)state;
    cloche_sandbox *sb = test_sandbox(NULL);
    test_expect_stdout(sb,
                       "import socket\n"
                       "try:\n"
                       "    s = socket.socket()\n"
                       "    s.connect(('127.0.0.1', 22))\n"
                       "    print('LEAK')\n"
                       "except (OSError, AttributeError) as e:\n"
                       "    print('refused')\n",
                       "refused\n");
    cloche_sandbox_free(sb);
}

static double guest_time(cloche_sandbox *sb) {
    char *out = test_stdout(sb, "import time\nprint(time.time())");
    double t = atof(out);
    free(out);
    return t;
}

static void test_clock_policy(void **state) {
    (void)state;
    cloche_sandbox *sb = test_sandbox(NULL); /* default: the real time */
    double now = (double)time(NULL);
    double t = guest_time(sb);
    assert_true(t > now - 60.0 && t < now + 60.0);
    cloche_sandbox_free(sb);
    cloche_sandbox_options o = CLOCHE_SANDBOX_OPTIONS_INIT;
    o.fixed_clock_ns = 946684800000000000ull; /* 2000-01-01T00:00:00Z */
    sb = test_sandbox(&o);
    t = guest_time(sb); /* that instant plus elapsed seconds */
    assert_true(t >= 946684800.0 && t < 946684800.0 + 3600.0);
    cloche_sandbox_free(sb);
}

static void test_random_differs_between_sandboxes(void **state) {
    (void)state;
    const char *code = "import random\nprint(random.getrandbits(64))";
    cloche_sandbox *a = test_sandbox(NULL);
    cloche_sandbox *b = test_sandbox(NULL);
    char *ra = test_stdout(a, code);
    char *rb = test_stdout(b, code);
    assert_string_not_equal(ra, rb);
    free(ra);
    free(rb);
    cloche_sandbox_free(a);
    cloche_sandbox_free(b);
}

static void test_sandboxes_do_not_share_state(void **state) {
    (void)state;
    cloche_sandbox *a = test_sandbox(NULL);
    cloche_sandbox *b = test_sandbox(NULL);
    cloche_result_free(test_run_ok(a, "import json\nshared = 1\n"
                                      "json.dumps = None\n"
                                      "open('/tmp/f', 'w').write('a')"));
    test_expect_stdout(b,
                       "import json, os\n"
                       "print('shared' in globals(), json.dumps is None,"
                       " os.path.exists('/tmp/f'))",
                       "False False False\n");
    cloche_sandbox_free(a);
    cloche_sandbox_free(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_host_files),
        cmocka_unit_test(test_env_and_argv_only_as_granted),
        cmocka_unit_test(test_no_sockets),
        cmocka_unit_test(test_clock_policy),
        cmocka_unit_test(test_random_differs_between_sandboxes),
        cmocka_unit_test(test_sandboxes_do_not_share_state),
    };
    return cmocka_run_group_tests(tests, test_engine_setup,
                                  test_engine_teardown);
}
