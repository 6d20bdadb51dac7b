/*
 * The demo tools behind `cloche run --demo-tools`: three host callbacks in
 * C that show both completion styles.
 *   echo(**kwargs)   returns its arguments (completes before returning)
 *   sleep(seconds)   completes after `seconds` on a timer thread, so many
 *                    sleeps overlap without holding a worker each
 *   fail(message)    fails with `message` (CallbackError in Python)
 */
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "demo_tools.h"

/* --- a one-thread timer that completes calls at their due time ----------- */

typedef struct timer_entry {
    uint64_t due_ns;
    cloche_call *call;
    double seconds;
    struct timer_entry *next;
} timer_entry;

static pthread_mutex_t timer_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t timer_cond;
static timer_entry *timer_head; /* sorted by due_ns */
static int timer_started;

static uint64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void complete_sleep(timer_entry *e) {
    char json[64];
    snprintf(json, sizeof json, "{\"slept\": %.6g}", e->seconds);
    cloche_call_return(e->call, json, strlen(json));
    free(e);
}

static void *timer_main(void *arg) {
    (void)arg;
    pthread_mutex_lock(&timer_lock);
    for (;;) {
        if (!timer_head) {
            pthread_cond_wait(&timer_cond, &timer_lock);
            continue;
        }
        uint64_t now = mono_ns();
        if (timer_head->due_ns > now) {
            struct timespec until = {(time_t)(timer_head->due_ns / 1000000000ull),
                                     (long)(timer_head->due_ns % 1000000000ull)};
            pthread_cond_timedwait(&timer_cond, &timer_lock, &until);
            continue;
        }
        timer_entry *e = timer_head;
        timer_head = e->next;
        pthread_mutex_unlock(&timer_lock);
        complete_sleep(e);
        pthread_mutex_lock(&timer_lock);
    }
    return NULL;
}

/* Called with timer_lock held. */
static int timer_start_locked(void) {
    if (timer_started)
        return 0;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&timer_cond, &attr);
    pthread_condattr_destroy(&attr);
    pthread_t t;
    if (pthread_create(&t, NULL, timer_main, NULL) != 0)
        return -1;
    pthread_detach(t);
    timer_started = 1;
    return 0;
}

int demo_complete_later(cloche_call *call, double seconds) {
    timer_entry *e = calloc(1, sizeof *e);
    if (!e)
        return -1;
    e->call = call;
    e->seconds = seconds;
    e->due_ns = mono_ns() + (uint64_t)(seconds * 1e9);
    pthread_mutex_lock(&timer_lock);
    if (timer_start_locked() != 0) {
        pthread_mutex_unlock(&timer_lock);
        free(e);
        return -1;
    }
    timer_entry **at = &timer_head;
    while (*at && (*at)->due_ns <= e->due_ns)
        at = &(*at)->next;
    e->next = *at;
    *at = e;
    pthread_cond_signal(&timer_cond);
    pthread_mutex_unlock(&timer_lock);
    return 0;
}

/* --- the tools ------------------------------------------------------------ */

static void tool_echo(cloche_call *call, const char *args, size_t len,
                      void *ud) {
    (void)ud;
    cloche_call_return(call, args, len);
}

static void tool_sleep(cloche_call *call, const char *args, size_t len,
                       void *ud) {
    (void)ud;
    json_t *j = json_loadb(args, len, 0, NULL);
    json_t *s = j ? json_object_get(j, "seconds") : NULL;
    double seconds = s && json_is_number(s) ? json_number_value(s) : -1;
    json_decref(j);
    if (!(seconds >= 0 && seconds <= 3600))
        cloche_call_fail(call, "sleep: seconds must be between 0 and 3600");
    else if (demo_complete_later(call, seconds) != 0)
        cloche_call_fail(call, "sleep: no timer available");
}

static void tool_fail(cloche_call *call, const char *args, size_t len,
                      void *ud) {
    (void)ud;
    json_t *j = json_loadb(args, len, 0, NULL);
    const char *msg = j ? json_string_value(json_object_get(j, "message")) : NULL;
    cloche_call_fail(call, msg ? msg : "fail() called");
    json_decref(j);
}

int demo_tools_register(cloche_sandbox *sb) {
    static const struct {
        const char *name, *description, *schema;
        cloche_callback_fn fn;
    } tools[] = {
        {"echo", "Return the keyword arguments it was called with.",
         "{\"type\": \"object\"}", tool_echo},
        {"sleep", "Wait on the host for `seconds`, then return {slept}.",
         "{\"type\": \"object\", \"properties\": {\"seconds\": "
         "{\"type\": \"number\"}}, \"required\": [\"seconds\"], "
         "\"additionalProperties\": false}",
         tool_sleep},
        {"fail", "Fail with `message` (raises CallbackError).",
         "{\"type\": \"object\", \"properties\": {\"message\": "
         "{\"type\": \"string\"}}, \"required\": [\"message\"], "
         "\"additionalProperties\": false}",
         tool_fail},
    };
    for (size_t i = 0; i < sizeof tools / sizeof *tools; i++) {
        cloche_callback_def d = CLOCHE_CALLBACK_DEF_INIT;
        d.name = tools[i].name;
        d.description = tools[i].description;
        d.schema_json = tools[i].schema;
        d.fn = tools[i].fn;
        int rc = cloche_sandbox_add_callback(sb, &d);
        if (rc != 0)
            return rc;
    }
    return 0;
}
