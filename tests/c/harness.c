/* Integration-test helpers; see harness.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static cloche_engine *g_engine;

cloche_engine *test_engine(void) { return g_engine; }

int test_engine_setup(void **state) {
    (void)state;
    char err[512] = "";
    cloche_engine_options o = CLOCHE_ENGINE_OPTIONS_INIT;
    o.enable_fuel = 1;
    int rc = cloche_engine_new(&g_engine, &o, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "engine: %s: %s\n", cloche_strerror(rc), err);
    return rc;
}

int test_engine_teardown(void **state) {
    (void)state;
    cloche_engine_free(g_engine);
    g_engine = NULL;
    return 0;
}

cloche_sandbox *test_sandbox(const cloche_sandbox_options *opts) {
    cloche_sandbox *sb = NULL;
    assert_int_equal(cloche_sandbox_new(&sb, g_engine, opts), 0);
    return sb;
}

cloche_result *test_run(cloche_sandbox *sb, const char *code) {
    cloche_result *r = NULL;
    int rc = cloche_run(&r, sb, code, strlen(code));
    if (rc != 0)
        fail_msg("cloche_run: %s: %s", cloche_strerror(rc),
                 cloche_sandbox_errmsg(sb));
    return r;
}

static void print_failure(const cloche_result *r) {
    size_t n;
    const char *err = cloche_result_stderr(r, &n);
    fprintf(stderr, "outcome=%s limit=%s detail=%s\nstderr: %.*s\n%s\n",
            cloche_outcome_name(cloche_result_outcome(r)),
            cloche_limit_name(cloche_result_limit(r)),
            cloche_result_detail(r) ? cloche_result_detail(r) : "-", (int)n,
            err, cloche_result_traceback(r) ? cloche_result_traceback(r) : "");
}

cloche_result *test_run_ok(cloche_sandbox *sb, const char *code) {
    cloche_result *r = test_run(sb, code);
    if (cloche_result_outcome(r) != CLOCHE_OUTCOME_OK) {
        print_failure(r);
        fail_msg("expected outcome ok for: %s", code);
    }
    return r;
}

char *test_stdout(cloche_sandbox *sb, const char *code) {
    cloche_result *r = test_run_ok(sb, code);
    size_t n;
    const char *out = cloche_result_stdout(r, &n);
    char *copy = malloc(n + 1);
    assert_non_null(copy);
    memcpy(copy, out, n);
    copy[n] = '\0';
    cloche_result_free(r);
    return copy;
}

void test_expect_stdout(cloche_sandbox *sb, const char *code,
                        const char *want) {
    char *out = test_stdout(sb, code);
    assert_string_equal(out, want);
    free(out);
}
