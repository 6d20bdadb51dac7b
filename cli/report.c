/* Printing a result: the script's own output, or one JSON object. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* sys.exit(n) / exit(n) ends the command with n (& 0xff), as python3 does;
 * sys.exit("text") with 1. */
static int exit_status_of_system_exit(const cloche_result *r) {
    const char *type = cloche_result_exception_type(r);
    const char *msg = cloche_result_exception_message(r);
    if (!type || strcmp(type, "SystemExit") != 0 || !msg)
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(msg, &end, 10);
    if (end == msg || *end || errno)
        return CLI_EXIT_EXCEPTION;
    return (int)(v & 0xff);
}

static int exit_code_for(const cloche_result *r) {
    int status;
    switch (cloche_result_outcome(r)) {
    case CLOCHE_OUTCOME_OK:
        return CLI_EXIT_OK;
    case CLOCHE_OUTCOME_EXCEPTION:
        status = exit_status_of_system_exit(r);
        return status >= 0 ? status : CLI_EXIT_EXCEPTION;
    case CLOCHE_OUTCOME_LIMIT:
        return CLI_EXIT_LIMIT;
    default:
        return CLI_EXIT_INTERNAL;
    }
}

static void print_plain(const cloche_result *r, int streamed) {
    size_t n;
    if (!streamed) { /* --stream printed the output as it came */
        const char *out = cloche_result_stdout(r, &n);
        fwrite(out, 1, n, stdout);
        fflush(stdout);
        const char *err = cloche_result_stderr(r, &n);
        fwrite(err, 1, n, stderr);
    }
    const char *tb = cloche_result_traceback(r);
    if (tb)
        fputs(tb, stderr);
    else if (cloche_result_exception_type(r))
        fprintf(stderr, "%s: %s\n", cloche_result_exception_type(r),
                cloche_result_exception_message(r));
    cloche_outcome o = cloche_result_outcome(r);
    if (o == CLOCHE_OUTCOME_LIMIT || o == CLOCHE_OUTCOME_CRASH)
        fprintf(stderr, "cloche: %s: %s\n",
                o == CLOCHE_OUTCOME_LIMIT ? "limit" : "guest crashed",
                cloche_result_detail(r) ? cloche_result_detail(r) : "");
}

static int print_json(const cloche_result *r) {
    char *json = cloche_result_to_json(r);
    if (!json) {
        fputs("cloche run: could not render the result as JSON\n", stderr);
        return -1;
    }
    puts(json);
    cloche_string_free(json);
    return 0;
}

int cli_report(const cloche_result *r, int json, int streamed) {
    if (json)
        return print_json(r) == 0 ? exit_code_for(r) : CLI_EXIT_INTERNAL;
    print_plain(r, streamed);
    return exit_code_for(r);
}

void cli_stream_output(void *ud, int fd, const char *data, size_t len) {
    (void)ud;
    FILE *to = fd == 2 ? stderr : stdout;
    fwrite(data, 1, len, to);
    fflush(to);
}

void cli_print_trace(void *ud, const cloche_trace_event *ev, size_t n) {
    (void)ud;
    static const char *const kinds[] = {"line", "call", "return", "exception",
                                        "cut"};
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "trace: %-9s run %u line %u%s%s\n",
                (unsigned)ev[i].kind < 5 ? kinds[ev[i].kind] : "?", ev[i].run,
                ev[i].line, ev[i].name[0] ? " " : "", ev[i].name);
}
