/*
 * Integration: host callbacks — both calling styles, overlap under gather,
 * errors both ways, schema checks, limits, cancellation, the state machine.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../cli/demo_tools.h"
#include "harness.h"

static uint64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static atomic_int calls_seen;

static void counting_echo(cloche_call *call, const char *args, size_t len,
                          void *ud) {
    (void)ud;
    atomic_fetch_add(&calls_seen, 1);
    cloche_call_return(call, args, len);
}

static void add(cloche_sandbox *sb, const char *name, const char *schema,
                cloche_callback_fn fn, void *ud) {
    cloche_callback_def d = CLOCHE_CALLBACK_DEF_INIT;
    d.name = name;
    d.schema_json = schema;
    d.fn = fn;
    d.userdata = ud;
    assert_int_equal(cloche_sandbox_add_callback(sb, &d), 0);
}

static cloche_sandbox *tool_sandbox(const cloche_sandbox_options *o) {
    cloche_sandbox *sb = test_sandbox(o);
    assert_int_equal(demo_tools_register(sb), 0);
    return sb;
}

/* --- overlap: host-side timestamps prove the calls ran concurrently ----- */

#define OVERLAP_N 8
static uint64_t started_at[OVERLAP_N], ended_at[OVERLAP_N];
static atomic_int started_count;

static void *finish_later(void *arg) {
    cloche_call *call = arg;
    struct timespec d = {0, 100 * 1000 * 1000};
    nanosleep(&d, NULL);
    const char *args = cloche_call_args(call, NULL);
    int i = atoi(strchr(args, ':') + 1);
    ended_at[i] = mono_ns();
    cloche_call_return(call, args, strlen(args));
    return NULL;
}

static void slow_tool(cloche_call *call, const char *args, size_t len,
                      void *ud) {
    (void)ud, (void)len;
    int i = atoi(strchr(args, ':') + 1);
    started_at[i] = mono_ns();
    atomic_fetch_add(&started_count, 1);
    pthread_t t; /* completed from a thread the callback started */
    pthread_create(&t, NULL, finish_later, call);
    pthread_detach(t);
}

static void test_gather_overlaps(void **state) {
    (void)state;
    cloche_sandbox *sb = test_sandbox(NULL);
    add(sb, "slow", "{\"properties\": {\"i\": {\"type\": \"integer\"}}}",
        slow_tool, NULL);
    cloche_result *r = test_run_ok(
        sb, "import asyncio\n"
            "rs = await asyncio.gather(*(slow(i) for i in range(8)))\n"
            "[x['i'] for x in rs]");
    assert_string_equal(cloche_result_value_json(r),
                        "[0, 1, 2, 3, 4, 5, 6, 7]");
    cloche_result_free(r);
    uint64_t last_start = 0, first_end = UINT64_MAX;
    for (int i = 0; i < OVERLAP_N; i++) {
        last_start = started_at[i] > last_start ? started_at[i] : last_start;
        first_end = ended_at[i] < first_end ? ended_at[i] : first_end;
    }
    /* Every call had started before any finished: they overlapped. */
    assert_true(last_start < first_end);
    cloche_sandbox_free(sb);
}

static void test_sync_and_async_styles(void **state) {
    (void)state;
    cloche_sandbox *sb = tool_sandbox(NULL);
    /* Sync code: the call blocks and returns the value. */
    test_expect_stdout(sb, "r = echo(a=1, b=[2])\nprint(r)",
                       "{'a': 1, 'b': [2]}\n");
    /* Async code: the call is awaitable. */
    test_expect_stdout(sb,
                       "async def f():\n"
                       "    pending = echo(x='y')\n"
                       "    print(type(pending).__name__)\n"
                       "    return await pending\n"
                       "print(await f())",
                       "coroutine\n{'x': 'y'}\n");
    /* A sync helper called from async code still blocks and returns. */
    test_expect_stdout(sb,
                       "def helper():\n"
                       "    return sleep(seconds=0.01)['slept']\n"
                       "async def g():\n"
                       "    return helper()\n"
                       "print(await g())",
                       "0.01\n");
    /* invoke() by name, and dotted namespaces via list_callbacks(). */
    test_expect_stdout(sb, "print(invoke('echo', k=1))", "{'k': 1}\n");
    test_expect_stdout(sb,
                       "print(sorted(c['name'] for c in list_callbacks()))",
                       "['echo', 'fail', 'sleep']\n");
    cloche_sandbox_free(sb);
}

static void test_dotted_names(void **state) {
    (void)state;
    cloche_sandbox *sb = test_sandbox(NULL);
    add(sb, "db.query", NULL, counting_echo, NULL);
    add(sb, "db.admin.ping", NULL, counting_echo, NULL);
    test_expect_stdout(sb, "print(db.query(sql='select 1'))",
                       "{'sql': 'select 1'}\n");
    test_expect_stdout(sb, "print(await db.admin.ping(n=2))", "{'n': 2}\n");
    test_expect_stdout(sb, "print(db, db.admin.ping.__qualname__)",
                       "<callbacks db.*> db.admin.ping\n");
    cloche_callback_def d = CLOCHE_CALLBACK_DEF_INIT;
    d.fn = counting_echo;
    const char *bad[] = {"", "a..b", "1x", "class", "x.def", ".a", "a.",
                         "sp ace", "é"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        d.name = bad[i];
        assert_int_equal(cloche_sandbox_add_callback(sb, &d), CLOCHE_EINVAL);
    }
    d.name = "ok";
    d.schema_json = "[1, 2]";
    assert_int_equal(cloche_sandbox_add_callback(sb, &d), CLOCHE_EINVAL);
    cloche_sandbox_free(sb);
}

static void test_errors_both_ways(void **state) {
    (void)state;
    cloche_sandbox *sb = tool_sandbox(NULL);
    test_expect_stdout(sb,
                       "try:\n"
                       "    await fail(message='no such city')\n"
                       "except CallbackError as e:\n"
                       "    print('async:', e)\n",
                       "async: no such city\n");
    test_expect_stdout(sb,
                       "try:\n"
                       "    fail(message='sync too')\n"
                       "except CallbackError as e:\n"
                       "    print('sync:', e)\n",
                       "sync: sync too\n");
    /* Uncaught, it is an ordinary exception outcome. */
    cloche_result *r = test_run(sb, "await fail(message='boom')");
    assert_int_equal(cloche_result_outcome(r), CLOCHE_OUTCOME_EXCEPTION);
    assert_string_equal(cloche_result_exception_type(r), "CallbackError");
    assert_string_equal(cloche_result_exception_message(r), "boom");
    cloche_result_free(r);
    /* Unknown callbacks: a NameError subclass. */
    test_expect_stdout(sb,
                       "try:\n    invoke('nope')\n"
                       "except NameError as e:\n    print(type(e).__name__)",
                       "CallbackNotFoundError\n");
    cloche_sandbox_free(sb);
}

static int sync_add(char **result, char **error, const char *args, void *ud) {
    (void)ud;
    int a = 0, b = 0;
    if (sscanf(args, "{\"a\": %d, \"b\": %d}", &a, &b) != 2) {
        *error = strdup("add needs a and b");
        return 1;
    }
    char buf[32];
    snprintf(buf, sizeof buf, "%d", a + b);
    *result = strdup(buf);
    return 0;
}

static void test_plain_sync_function(void **state) {
    (void)state;
    cloche_sandbox *sb = test_sandbox(NULL);
    cloche_callback_def d = CLOCHE_CALLBACK_DEF_INIT;
    d.name = "add";
    d.schema_json = "{\"properties\": {\"a\": {\"type\": \"integer\"}, "
                    "\"b\": {\"type\": \"integer\"}}, \"required\": [\"a\"]}";
    d.sync_fn = sync_add;
    assert_int_equal(cloche_sandbox_add_callback(sb, &d), 0);
    test_expect_stdout(sb, "print(add(2, 3))", "5\n");
    test_expect_stdout(sb, "print(await add(a=1, b=4))", "5\n");
    cloche_result *r = test_run(sb, "add(1)"); /* b missing: host error */
    assert_string_equal(cloche_result_exception_type(r), "CallbackError");
    assert_string_equal(cloche_result_exception_message(r),
                        "add needs a and b");
    cloche_result_free(r);
    cloche_sandbox_free(sb);
}

/* Replies in the forms a host may write them: the guest reads each as
 * json.loads would (its fast path covers only a bare value). */
static const char *const reply_forms[] = {
    " [1, 2] \n", "\"caf\u00e9 \\u2713\"", "{\"a\": {\"b\": [true, null]}}",
    "\"\\ud83d\\ude00\"", "-0.5e-3", "\t\"x\"",
};

static int reply_form(char **result, char **error, const char *args,
                      void *ud) {
    (void)error, (void)ud;
    unsigned i = 0;
    sscanf(args, "{\"i\": %u}", &i);
    *result = strdup(reply_forms[i % 6]);
    return 0;
}

static void test_reply_forms_read_like_json_loads(void **state) {
    (void)state;
    cloche_sandbox *sb = test_sandbox(NULL);
    cloche_callback_def d = CLOCHE_CALLBACK_DEF_INIT;
    d.name = "form";
    d.sync_fn = reply_form;
    assert_int_equal(cloche_sandbox_add_callback(sb, &d), 0);
    const char *want = "[[1, 2], 'café ✓', {'a': {'b': [True, None]}}, "
                       "'😀', -0.0005, 'x']\n";
    test_expect_stdout(sb, "print([form(i=i) for i in range(6)])", want);
    test_expect_stdout(sb, "print([await form(i=i) for i in range(6)])",
                       want);
    cloche_sandbox_free(sb);
}

static atomic_int blocking_active, blocking_peak;

static int blocking_fn(char **result, char **error, const char *args,
                       void *ud) {
    (void)error, (void)args, (void)ud;
    int now = atomic_fetch_add(&blocking_active, 1) + 1;
    int peak = atomic_load(&blocking_peak);
    while (now > peak && !atomic_compare_exchange_weak(&blocking_peak, &peak,
                                                       now))
        ;
    struct timespec d = {0, 100 * 1000 * 1000};
    nanosleep(&d, NULL); /* blocks its worker thread */
    atomic_fetch_sub(&blocking_active, 1);
    *result = strdup("true");
    return 0;
}

static void test_blocking_sync_fns_overlap_on_pool(void **state) {
    (void)state;
    cloche_sandbox *sb = test_sandbox(NULL);
    cloche_callback_def d = CLOCHE_CALLBACK_DEF_INIT;
    d.name = "block";
    d.sync_fn = blocking_fn;
    assert_int_equal(cloche_sandbox_add_callback(sb, &d), 0);
    cloche_result *r = test_run_ok(
        sb, "import asyncio\n"
            "all(await asyncio.gather(*(block() for _ in range(4))))");
    assert_string_equal(cloche_result_value_repr(r), "True");
    cloche_result_free(r);
    /* All four were blocked at the same time on different workers. */
    assert_int_equal(atomic_load(&blocking_peak), 4);
    cloche_sandbox_free(sb);
}

static void test_schema_violations_never_reach_host(void **state) {
    (void)state;
    cloche_sandbox *sb = test_sandbox(NULL);
    add(sb, "get_weather",
        "{\"type\": \"object\", \"properties\": {\"city\": {\"type\": "
        "\"string\"}, \"days\": {\"type\": \"integer\"}}, \"required\": "
        "[\"city\"], \"additionalProperties\": false}",
        counting_echo, NULL);
    atomic_store(&calls_seen, 0);
    const char *bad[] = {
        "get_weather()",                        /* missing required */
        "get_weather(city='a', color='red')",   /* unexpected kwarg */
        "get_weather('a', 3, 4)",               /* too many positional */
        "get_weather(city=5)",                  /* wrong type */
        "get_weather(city='a', days=True)",     /* bool is not integer */
        "get_weather('a', city='b')",           /* duplicate */
        "get_weather(city=object())",           /* wrong type */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cloche_result *r = test_run(sb, bad[i]);
        assert_int_equal(cloche_result_outcome(r), CLOCHE_OUTCOME_EXCEPTION);
        assert_string_equal(cloche_result_exception_type(r), "TypeError");
        cloche_result_free(r);
    }
    /* Not JSON-serializable, with a schema that allows anything. */
    add(sb, "anything", NULL, counting_echo, NULL);
    cloche_result *r = test_run(sb, "await anything(x={1, 2})");
    assert_string_equal(cloche_result_exception_type(r), "TypeError");
    cloche_result_free(r);
    r = test_run(sb, "anything(x=float('nan'))");
    assert_string_equal(cloche_result_exception_type(r), "TypeError");
    cloche_result_free(r);
    assert_int_equal(atomic_load(&calls_seen), 0);
    test_expect_stdout(sb, "print(get_weather('Oslo', 2))",
                       "{'city': 'Oslo', 'days': 2}\n");
    assert_int_equal(atomic_load(&calls_seen), 1);
    cloche_sandbox_free(sb);
}

static void test_invocation_cap(void **state) {
    (void)state;
    cloche_sandbox *sb = tool_sandbox(NULL);
    cloche_sandbox_limit(sb, CLOCHE_LIMIT_CALLBACKS, 5);
    test_expect_stdout(sb, "for i in range(5): echo(i=i)\nprint('five ok')",
                       "five ok\n");
    cloche_result *r = test_run(sb, "for i in range(6): echo(i=i)");
    assert_int_equal(cloche_result_limit(r), CLOCHE_LIMIT_CALLBACKS);
    cloche_result_free(r);
    r = test_run(sb, "import asyncio\n"
                     "await asyncio.gather(*(echo(i=i) for i in range(9)))");
    assert_int_equal(cloche_result_limit(r), CLOCHE_LIMIT_CALLBACKS);
    cloche_result_free(r);
    test_expect_stdout(sb, "print(echo(after='reset'))",
                       "{'after': 'reset'}\n");
    cloche_sandbox_free(sb);
}

/* A callback that never answers by itself: held until the test ends. */
static cloche_call *held[4];
static atomic_int held_count;

static void never_answers(cloche_call *call, const char *a, size_t n,
                          void *ud) {
    (void)a, (void)n, (void)ud;
    int i = atomic_fetch_add(&held_count, 1);
    if (i < 4)
        held[i] = call;
    else
        cloche_call_fail(call, "too many held");
}

/* The first two timed out on the host: a late answer is refused. The
 * third was abandoned by Python (wait_for), which the host cannot know. */
static void release_held(void) {
    int n = atomic_exchange(&held_count, 0);
    assert_int_equal(n, 3);
    assert_int_equal(cloche_call_return(held[0], "1", 1), CLOCHE_ESTATE);
    assert_int_equal(cloche_call_return(held[1], "1", 1), CLOCHE_ESTATE);
    assert_int_equal(cloche_call_return(held[2], "1", 1), 0);
}

static void test_callback_timeout(void **state) {
    (void)state;
    cloche_sandbox *sb = test_sandbox(NULL);
    cloche_callback_def d = CLOCHE_CALLBACK_DEF_INIT;
    d.name = "stuck";
    d.fn = never_answers;
    d.timeout_ms = 100;
    assert_int_equal(cloche_sandbox_add_callback(sb, &d), 0);
    test_expect_stdout(sb,
                       "try:\n    await stuck()\n"
                       "except TimeoutError as e:\n    print('async', e)\n",
                       "async callback stuck() timed out: no reply within "
                       "the callback timeout\n");
    test_expect_stdout(sb,
                       "try:\n    stuck()\n"
                       "except TimeoutError:\n    print('sync TimeoutError')\n",
                       "sync TimeoutError\n");
    /* Python-side timeouts work on callbacks too. */
    test_expect_stdout(sb,
                       "import asyncio\n"
                       "try:\n"
                       "    await asyncio.wait_for(stuck(), 0.02)\n"
                       "except TimeoutError:\n"
                       "    print('wait_for timed out')\n",
                       "wait_for timed out\n");
    release_held();
    cloche_sandbox_free(sb);
}

typedef struct cancel_job {
    cloche_sandbox *sb;
    const char *code;
    cloche_result *r;
    int rc;
} cancel_job;

static void *run_then_report(void *arg) {
    cancel_job *j = arg;
    j->rc = cloche_run(&j->r, j->sb, j->code, strlen(j->code));
    return NULL;
}

static void cancel_during(cloche_sandbox *sb, const char *code) {
    cancel_job j = {sb, code, NULL, -1};
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 16u << 20);
    pthread_create(&t, &attr, run_then_report, &j);
    pthread_attr_destroy(&attr);
    struct timespec d = {0, 150 * 1000 * 1000};
    nanosleep(&d, NULL);
    cloche_sandbox_cancel(sb);
    pthread_join(t, NULL);
    assert_int_equal(j.rc, 0);
    assert_int_equal(cloche_result_outcome(j.r), CLOCHE_OUTCOME_CANCELLED);
    cloche_result_free(j.r);
}

static void test_cancel_from_another_thread(void **state) {
    (void)state;
    cloche_sandbox *sb = tool_sandbox(NULL);
    cloche_sandbox *other = tool_sandbox(NULL);
    cancel_during(sb, "while True: pass");
    cancel_during(sb, "import time\ntime.sleep(60)");
    cancel_during(sb, "await sleep(seconds=60)");
    cancel_during(sb, "sleep(seconds=60)");
    /* The cancelled sandbox works again; the other was never touched. */
    test_expect_stdout(sb, "print(echo(ok=1))", "{'ok': 1}\n");
    test_expect_stdout(other, "print(echo(ok=2))", "{'ok': 2}\n");
    /* A cancel with no run in progress does not affect the next run. */
    cloche_sandbox_cancel(sb);
    test_expect_stdout(sb, "print('fine')", "fine\n");
    cloche_sandbox_free(sb);
    cloche_sandbox_free(other);
}

static void test_thousand_callbacks(void **state) {
    (void)state;
    cloche_sandbox *sb = tool_sandbox(NULL);
    cloche_result *r = test_run_ok(
        sb, "import asyncio\n"
            "rs = await asyncio.gather(*(echo(i=i) for i in range(1000)))\n"
            "def one_by_one():\n"
            "    return sum(echo(i=i)['i'] for i in range(1000))\n"
            "[sum(x['i'] for x in rs), one_by_one()]");
    assert_string_equal(cloche_result_value_json(r), "[499500, 499500]");
    cloche_result_free(r);
    cloche_sandbox_free(sb);
}

static void test_payload_caps(void **state) {
    (void)state;
    cloche_sandbox *sb = tool_sandbox(NULL);
    cloche_sandbox_limit(sb, CLOCHE_LIMIT_CALLBACK_PAYLOAD, 1000);
    test_expect_stdout(sb,
                       "try:\n    echo(x='a' * 2000)\n"
                       "except ValueError as e:\n    print('args too big')\n",
                       "args too big\n");
    test_expect_stdout(sb,
                       "try:\n    await echo(x='b' * 2000)\n"
                       "except ValueError as e:\n    print('async too')\n",
                       "async too\n");
    /* 509 bytes out and 509 back fit in 1000; a second call does not. */
    test_expect_stdout(sb,
                       "print(len(echo(x='c' * 500)['x']))\n"
                       "try:\n    echo(x='d' * 500)\n"
                       "except ValueError as e:\n    print('cap reached')\n",
                       "500\ncap reached\n");
    cloche_sandbox_free(sb);
}

static void test_tasks_outlive_a_run(void **state) {
    (void)state;
    cloche_sandbox *sb = tool_sandbox(NULL);
    cloche_result_free(test_run_ok(
        sb, "import asyncio\n"
            "t = asyncio.get_running_loop().create_task(sleep(seconds=0.05))\n"
            "await asyncio.sleep(0)"));
    cloche_result *r = test_run_ok(sb, "await t");
    assert_string_equal(cloche_result_value_json(r), "{\"slept\": 0.05}");
    cloche_result_free(r);
    cloche_sandbox_free(sb);
}

static void test_state_machine_with_external_answers(void **state) {
    (void)state;
    cloche_sandbox *sb = test_sandbox(NULL);
    add(sb, "lookup", NULL, NULL, NULL); /* answered by the embedder */
    const char *code = "import asyncio\n"
                       "a, b = await asyncio.gather(lookup(k='x'), lookup(k='y'))\n"
                       "c = await lookup(k=a + b)\n"
                       "c";
    cloche_step step;
    assert_int_equal(cloche_start(&step, sb, code, strlen(code)), 0);
    assert_int_equal(step, CLOCHE_STEP_PENDING);
    assert_int_equal(cloche_pending_count(sb), 2);
    cloche_step again;
    assert_int_equal(cloche_start(&again, sb, "1", 1), CLOCHE_ESTATE);
    cloche_result *early = NULL;
    assert_int_equal(cloche_finish(&early, sb), CLOCHE_ESTATE);
    /* Answer the second call only: the run stays pending on the first. */
    cloche_call *second = cloche_pending_call(sb, 1);
    assert_string_equal(cloche_call_name(second), "lookup");
    assert_string_equal(cloche_call_args(second, NULL), "{\"k\": \"y\"}");
    assert_int_equal(cloche_call_return(second, "\"Y\"", 3), 0);
    assert_int_equal(cloche_resume(&step, sb), 0);
    assert_int_equal(step, CLOCHE_STEP_PENDING);
    assert_int_equal(cloche_pending_count(sb), 1);
    cloche_call *first = cloche_pending_call(sb, 0);
    assert_string_equal(cloche_call_args(first, NULL), "{\"k\": \"x\"}");
    /* Invalid JSON is refused and fails the call instead. */
    assert_int_equal(cloche_call_return(first, "{nope", 5), CLOCHE_EINVAL);
    assert_int_equal(cloche_resume(&step, sb), 0);
    assert_int_equal(step, CLOCHE_STEP_DONE);
    cloche_result *r = NULL;
    assert_int_equal(cloche_finish(&r, sb), 0);
    assert_string_equal(cloche_result_exception_type(r), "CallbackError");
    cloche_result_free(r);
    /* Happy path, answering each round. */
    assert_int_equal(cloche_start(&step, sb, code, strlen(code)), 0);
    while (step == CLOCHE_STEP_PENDING) {
        for (size_t i = cloche_pending_count(sb); i-- > 0;) {
            cloche_call *c = cloche_pending_call(sb, i);
            const char *args = cloche_call_args(c, NULL);
            char reply[64];
            snprintf(reply, sizeof reply, "\"%c\"", strstr(args, "xy") ? 'Z'
                                                     : args[7]);
            assert_int_equal(cloche_call_return(c, reply, strlen(reply)), 0);
        }
        assert_int_equal(cloche_wait(sb), 0);
        assert_int_equal(cloche_resume(&step, sb), 0);
    }
    assert_int_equal(cloche_finish(&r, sb), 0);
    assert_string_equal(cloche_result_value_json(r), "\"Z\"");
    cloche_result_free(r);
    /* The blocking driver fails calls nobody can answer. */
    r = test_run(sb, "await lookup(k='q')");
    assert_string_equal(cloche_result_exception_type(r), "CallbackError");
    cloche_result_free(r);
    cloche_sandbox_free(sb);
}

static void test_pending_run_respects_deadline(void **state) {
    (void)state;
    cloche_sandbox_options o = CLOCHE_SANDBOX_OPTIONS_INIT;
    o.timeout_ms = 200;
    cloche_sandbox *sb = tool_sandbox(&o);
    cloche_result *r = test_run(sb, "await sleep(seconds=30)");
    assert_int_equal(cloche_result_limit(r), CLOCHE_LIMIT_TIMEOUT);
    cloche_result_free(r);
    r = test_run(sb, "sleep(seconds=30)");
    assert_int_equal(cloche_result_limit(r), CLOCHE_LIMIT_TIMEOUT);
    cloche_result_free(r);
    test_expect_stdout(sb, "print(echo(v=1))", "{'v': 1}\n");
    cloche_sandbox_free(sb);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gather_overlaps),
        cmocka_unit_test(test_sync_and_async_styles),
        cmocka_unit_test(test_dotted_names),
        cmocka_unit_test(test_errors_both_ways),
        cmocka_unit_test(test_plain_sync_function),
        cmocka_unit_test(test_reply_forms_read_like_json_loads),
        cmocka_unit_test(test_blocking_sync_fns_overlap_on_pool),
        cmocka_unit_test(test_schema_violations_never_reach_host),
        cmocka_unit_test(test_invocation_cap),
        cmocka_unit_test(test_callback_timeout),
        cmocka_unit_test(test_cancel_from_another_thread),
        cmocka_unit_test(test_thousand_callbacks),
        cmocka_unit_test(test_payload_caps),
        cmocka_unit_test(test_tasks_outlive_a_run),
        cmocka_unit_test(test_state_machine_with_external_answers),
        cmocka_unit_test(test_pending_run_respects_deadline),
    };
    return cmocka_run_group_tests(tests, test_engine_setup,
                                  test_engine_teardown);
}
