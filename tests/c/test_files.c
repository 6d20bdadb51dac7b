/*
 * Integration: the sandbox's controlled doors for files and output —
 * files in and out, /data quotas, packages, live output, tracing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static void test_files_in_and_out(void **state) {
    (void)state;
    cloche_sandbox *sb = test_sandbox(NULL);
    const char csv[] = "name,qty\napple,3\npear,5\n";
    assert_int_equal(cloche_sandbox_write_file(sb, "/data/in.csv", csv,
                                               sizeof csv - 1), 0);
    test_expect_stdout(sb,
                       "import csv, os\n"
                       "rows = list(csv.DictReader(open('/data/in.csv')))\n"
                       "total = sum(int(r['qty']) for r in rows)\n"
                       "os.makedirs('/data/out', exist_ok=True)\n"
                       "open('/data/out/total.txt', 'w').write(str(total))\n"
                       "print(total)",
                       "8\n");
    void *out = NULL;
    size_t len = 0;
    assert_int_equal(cloche_sandbox_read_file(&out, &len, sb,
                                              "/data/out/total.txt"), 0);
    assert_int_equal(len, 1);
    assert_memory_equal(out, "8", 1);
    cloche_buffer_free(out);
    assert_int_equal(cloche_sandbox_read_file(&out, &len, sb, "/data/nope"),
                     CLOCHE_ENOTFOUND);
    assert_int_equal(cloche_sandbox_read_file(&out, &len, sb, "/data"),
                     CLOCHE_EINVAL);
    /* The embedder writes only into the writable folders. */
    const char *refused[] = {"/usr/x", "/data/../usr/x", "/x", "data/rel",
                             "/data/./x", "/data//x", "/tmpx/y", ""};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
        assert_int_equal(cloche_sandbox_write_file(sb, refused[i], "1", 1),
                         CLOCHE_EINVAL);
    assert_int_equal(cloche_sandbox_write_file(sb, "/tmp/ok", "1", 1), 0);
    /* Files persist across runs and travel in image snapshots. */
    uint8_t *snap = NULL;
    size_t snap_len = 0;
    assert_int_equal(cloche_snapshot_save(&snap, &snap_len, sb, NULL), 0);
    cloche_sandbox *other = test_sandbox(NULL);
    assert_int_equal(cloche_snapshot_restore(other, snap, snap_len, NULL), 0);
    test_expect_stdout(other, "print(open('/data/out/total.txt').read())",
                       "8\n");
    cloche_buffer_free(snap);
    cloche_sandbox_free(other);
    cloche_sandbox_free(sb);
}

static void test_vfs_quotas(void **state) {
    (void)state;
    cloche_sandbox_options o = CLOCHE_SANDBOX_OPTIONS_INIT;
    o.vfs_quota = 100000;
    o.vfs_max_files = 20;
    o.data_dir = "/work";
    cloche_sandbox *sb = test_sandbox(&o);
    test_expect_stdout(sb,
                       "import errno\n"
                       "try:\n"
                       "    open('/work/big', 'wb').write(b'x' * 200000)\n"
                       "except OSError as e:\n"
                       "    print('bytes', e.errno == errno.ENOSPC)\n"
                       "try:\n"
                       "    for i in range(50): open(f'/work/f{i}', 'w')\n"
                       "except OSError as e:\n"
                       "    print('files', e.errno in (errno.EDQUOT, errno.ENOSPC))\n",
                       "bytes True\nfiles True\n");
    char big[200000];
    memset(big, 'y', sizeof big);
    assert_int_equal(cloche_sandbox_write_file(sb, "/work/h", big, sizeof big),
                     CLOCHE_ETOOBIG);
    cloche_sandbox_free(sb);
}

static void test_packages(void **state) {
    (void)state;
    cloche_sandbox *maker = test_sandbox(NULL);
    /* Build a wheel inside a sandbox, then take it out. */
    cloche_result_free(test_run_ok(
        maker, "import zipfile\n"
               "with zipfile.ZipFile('/data/tinypkg-1.0-py3-none-any.whl', 'w') as z:\n"
               "    z.writestr('tinypkg/__init__.py', 'from .core import double\\n')\n"
               "    z.writestr('tinypkg/core.py', 'def double(x):\\n    return 2 * x\\n')\n"));
    void *whl = NULL;
    size_t len = 0;
    assert_int_equal(cloche_sandbox_read_file(&whl, &len, maker,
                                              "/data/tinypkg-1.0-py3-none-any.whl"),
                     0);
    char dir[] = "/tmp/cloche-pkg-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/tinypkg-1.0-py3-none-any.whl", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(whl, 1, len, f), len);
    fclose(f);
    cloche_sandbox *sb = test_sandbox(NULL);
    assert_int_equal(cloche_sandbox_add_package(sb, path), 0);
    test_expect_stdout(sb, "import tinypkg\nprint(tinypkg.double(21))", "42\n");
    assert_int_equal(cloche_sandbox_reset(sb), 0); /* survives resets */
    test_expect_stdout(sb, "from tinypkg.core import double\nprint(double(4))",
                       "8\n");
    assert_int_equal(cloche_sandbox_add_package(sb, "/nonexistent/x.whl"),
                     CLOCHE_ENOTFOUND);
    assert_int_equal(cloche_sandbox_add_package(sb, "/etc/passwd"),
                     CLOCHE_EINVAL);
    unlink(path);
    rmdir(dir);
    cloche_buffer_free(whl);
    cloche_sandbox_free(sb);
    cloche_sandbox_free(maker);
}

typedef struct chunks {
    char text[4096];
    size_t len;
    int fds[64];
    size_t n;
} chunks;

static void collect_output(void *ud, int fd, const char *data, size_t len) {
    chunks *c = ud;
    if (c->n < 64)
        c->fds[c->n++] = fd;
    if (c->len + len + 3 < sizeof c->text) {
        c->text[c->len++] = fd == 1 ? '>' : '!';
        memcpy(c->text + c->len, data, len);
        c->len += len;
        c->text[c->len] = '\0';
    }
}

static void test_live_output(void **state) {
    (void)state;
    chunks c = {0};
    cloche_sandbox_options o = CLOCHE_SANDBOX_OPTIONS_INIT;
    o.on_output = collect_output;
    o.output_userdata = &c;
    cloche_sandbox *sb = test_sandbox(&o);
    cloche_result *r = test_run_ok(sb, "import os, sys\n"
                                       "print('one')\n"
                                       "os.write(2, b'two\\n')\n"
                                       "sys.stdout.write('three\\n')");
    /* Every write arrived, in order, tagged with its stream. */
    assert_string_equal(c.text, ">one>\n!two\n>three\n");
    assert_string_equal(cloche_result_stdout(r, NULL), "one\nthree\n");
    cloche_result_free(r);
    cloche_sandbox_free(sb);
}

typedef struct trace_log {
    char text[8192];
    size_t len;
    size_t batches;
} trace_log;

static void collect_trace(void *ud, const cloche_trace_event *ev, size_t n) {
    trace_log *t = ud;
    static const char kinds[] = "LCRE";
    t->batches++;
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(t->text + t->len, sizeof t->text - t->len,
                         "%c%u%s%s ", kinds[ev[i].kind], ev[i].line,
                         ev[i].name[0] ? ":" : "", ev[i].name);
        if (w > 0 && (size_t)w < sizeof t->text - t->len)
            t->len += (size_t)w;
    }
}

static void test_tracing(void **state) {
    (void)state;
    trace_log t = {0};
    cloche_sandbox_options o = CLOCHE_SANDBOX_OPTIONS_INIT;
    o.on_trace = collect_trace;
    o.trace_userdata = &t;
    cloche_sandbox *sb = test_sandbox(&o);
    cloche_result_free(test_run(sb, "def f(x):\n"
                                    "    return x + 1\n"
                                    "y = f(1)\n"
                                    "import json\n"
                                    "json.dumps(y)\n"
                                    "1 / 0\n"));
    /* User lines and calls only: json's own code is not traced. */
    assert_string_equal(t.text,
                        "C1:<module> L1 L3 C1:f L2 R1:f L4 L5 L6 "
                        "E6:ZeroDivisionError ");
    cloche_sandbox_free(sb);
    /* Without a callback nothing is traced (no tool registered). */
    cloche_sandbox *plain = test_sandbox(NULL);
    test_expect_stdout(plain,
                       "import sys\n"
                       "print(sys.monitoring.get_tool(4))",
                       "None\n");
    cloche_sandbox_free(plain);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_files_in_and_out),
        cmocka_unit_test(test_vfs_quotas),
        cmocka_unit_test(test_packages),
        cmocka_unit_test(test_live_output),
        cmocka_unit_test(test_tracing),
    };
    return cmocka_run_group_tests(tests, test_engine_setup,
                                  test_engine_teardown);
}
