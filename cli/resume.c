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

static const char resume_usage[] =
    "usage: cloche resume FILE [--demo-tools] [--json] [--key KEYFILE]\n"
    "\n"
    "Restore a suspended run (cloche run --suspend FILE) and finish it,\n"
    "answering its pending host calls with this process's tools.\n"
    "Exit codes as for cloche run.\n";

static int resume_file(const char *path, int tools, int json,
                       const cli_key *key) {
    char err[512] = "";
    cloche_engine *engine = NULL;
    cloche_sandbox *sb = NULL;
    cloche_result *r = NULL;
    int rc = cloche_engine_new(&engine, NULL, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "cloche resume: engine: %s\n", err);
        return CLI_EXIT_INTERNAL;
    }
    int exit_code = CLI_EXIT_USAGE;
    rc = cloche_sandbox_new(&sb, engine, NULL);
    if (rc == 0 && tools)
        rc = demo_tools_register(sb);
    if (rc == 0 && cli_load_snapshot(sb, path, key) == 0) {
        rc = cloche_drive(&r, sb);
        if (rc == 0)
            exit_code = cli_report(r, json, 0);
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

int cli_resume_main(int argc, char **argv) {
    const char *file = NULL;
    int tools = 0, json = 0, rc = CLI_EXIT_USAGE;
    cli_key key = {0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--demo-tools") == 0) {
            tools = 1;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--key") == 0 && i + 1 < argc) {
            if (cli_load_key(&key, argv[++i]) != 0)
                goto done;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(resume_usage, stdout);
            rc = CLI_EXIT_OK;
            goto done;
        } else if (argv[i][0] != '-' && !file) {
            file = argv[i];
        } else {
            fprintf(stderr, "cloche resume: bad argument '%s'\n%s", argv[i],
                    resume_usage);
            goto done;
        }
    }
    if (!file)
        fputs(resume_usage, stderr);
    else
        rc = resume_file(file, tools, json, &key);
done:
    free(key.data);
    return rc;
}
