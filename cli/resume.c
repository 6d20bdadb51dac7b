/*
 * `cloche resume FILE`: finish, in this process, a run that
 * `cloche run --suspend FILE` wrote out while it waited on host calls.
 * The pending calls are answered by this process's tools.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "demo_tools.h"
#include "limit_flags.h"

static const char resume_usage_head[] =
    "usage: cloche resume FILE [options]\n"
    "\n"
    "Restore a suspended run (cloche run --suspend FILE) and finish it,\n"
    "answering its pending host calls with this process's tools. The run\n"
    "gets the limits given here (or the defaults), counted from the\n"
    "resume, never what it had when it was suspended.\n"
    "\n"
    "options:\n"
    "  --demo-tools      answer with the demo host tools (see cloche run)\n"
    "  --json            print the result as one JSON object\n"
    "  --save-figures DIR  write the run's images as DIR/figure-N.png\n"
    "  --key FILE        HMAC key the snapshot was signed with\n";

static void print_usage(FILE *to) {
    fputs(resume_usage_head, to);
    fputs(cli_limit_usage, to);
    fputs("\nExit codes as for cloche run.\n", to);
}

typedef struct resume_args {
    const char *file, *save_figures;
    int tools, json;
    cli_key key;
    cli_limits limits;
} resume_args;

static int report(const cloche_result *r, const resume_args *a) {
    int exit_code = cli_report(r, a->json, 0);
    size_t saved = 0;
    if (a->save_figures &&
        cli_figures_save("resume", r, a->save_figures, &saved))
        return CLI_EXIT_INTERNAL;
    if (!a->save_figures && !a->json)
        cli_figures_hint(r, CLI_FIGURES_HINT);
    return exit_code;
}

static int resume_file(const resume_args *a) {
    if (a->save_figures && cli_figures_prepare("resume", a->save_figures))
        return CLI_EXIT_USAGE;
    char err[512] = "";
    cloche_engine *engine = NULL;
    cloche_sandbox *sb = NULL;
    cloche_result *r = NULL;
    cloche_engine_options eo = CLOCHE_ENGINE_OPTIONS_INIT;
    cloche_sandbox_options so = CLOCHE_SANDBOX_OPTIONS_INIT;
    cli_limits_apply(&a->limits, &so);
    eo.enable_fuel = a->limits.fuel != 0;
    int rc = cloche_engine_new(&engine, &eo, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "cloche resume: engine: %s\n", err);
        return CLI_EXIT_INTERNAL;
    }
    int exit_code = CLI_EXIT_USAGE;
    rc = cloche_sandbox_new(&sb, engine, &so);
    if (rc != 0)
        fprintf(stderr, "cloche resume: %s\n", cloche_sandbox_errmsg(sb));
    else
        cli_limits_to_sandbox(&a->limits, sb);
    if (rc == 0 && a->tools)
        rc = demo_tools_register(sb);
    if (rc == 0 && cli_load_snapshot(sb, a->file, &a->key) == 0) {
        rc = cloche_drive(&r, sb);
        if (rc == 0)
            exit_code = report(r, a);
        else
            fprintf(stderr, "cloche resume: %s: %s\n", cloche_strerror(rc),
                    rc == CLOCHE_ESTATE ? "the snapshot holds no suspended run"
                                        : cloche_sandbox_errmsg(sb));
    }
    cloche_result_free(r);
    cloche_sandbox_free(sb);
    cloche_engine_free(engine);
    return exit_code;
}

/* Returns -1 to go on, or an exit code. */
static int parse_args(resume_args *a, int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        int lim = val ? cli_limit_flag(&a->limits, "resume", opt, val) : 0;
        if (lim != 0) {
            if (lim < 0)
                return CLI_EXIT_USAGE;
            i++;
        } else if (strcmp(opt, "--demo-tools") == 0) {
            a->tools = 1;
        } else if (strcmp(opt, "--json") == 0) {
            a->json = 1;
        } else if (strcmp(opt, "--save-figures") == 0 && val) {
            a->save_figures = argv[++i];
        } else if (strcmp(opt, "--key") == 0 && val) {
            if (cli_load_key(&a->key, argv[++i]) != 0)
                return CLI_EXIT_USAGE;
        } else if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0) {
            print_usage(stdout);
            return CLI_EXIT_OK;
        } else if (opt[0] != '-' && !a->file) {
            a->file = opt;
        } else {
            fprintf(stderr, "cloche resume: bad argument '%s'\n", opt);
            print_usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (a->file)
        return -1;
    print_usage(stderr);
    return CLI_EXIT_USAGE;
}

int cli_resume_main(int argc, char **argv) {
    resume_args a;
    memset(&a, 0, sizeof a);
    int rc = parse_args(&a, argc, argv);
    if (rc < 0)
        rc = resume_file(&a);
    free(a.key.data);
    return rc;
}
