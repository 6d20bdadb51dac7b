/*
 * `cloche run`: run one script in a fresh sandbox and report the result,
 * either as the script's own output (default) or as one JSON object.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "demo_tools.h"
#include "limit_flags.h"

static const char run_usage_head[] =
    "usage: cloche run [options] (FILE | -c CODE | -) [ARG...]\n"
    "\n"
    "Run Python in a fresh sandbox. Top-level `await` is allowed.\n"
    "\n"
    "options:\n"
    "  -c CODE           run CODE instead of a file\n";

static const char run_usage[] =
    "  --fixed-clock WHEN  a reproducible clock: time starts at WHEN\n"
    "                    (2000-01-01, 2000-01-01T12:00:00Z or epoch seconds)\n"
    "                    instead of the host's real time (the default)\n"
    "  --demo-tools      register demo host tools: echo(**kw), sleep(seconds),\n"
    "                    fail(message)\n"
    "  --load FILE       restore an image snapshot before the run\n"
    "  --save FILE       write an image snapshot after the run\n"
    "  --suspend FILE    if the run waits on host calls, write it out to FILE\n"
    "                    and exit 5 (finish it with `cloche resume FILE`)\n"
    "  --key FILE        HMAC key for --load/--save/--suspend snapshots\n"
    "  --vfs-quota SIZE  bytes the guest may store in /data and /tmp (64M)\n"
    "  --mount HOST:GUEST[:ro|:rw]\n"
    "                    show a host folder or file at GUEST (read-only\n"
    "                    unless :rw); repeatable\n"
    "  --package PATH    put a .whl, .zip or folder on sys.path; repeatable\n"
    "  --allow-net HOST[:PORT]\n"
    "                    let the guest connect to HOST (patterns like\n"
    "                    *.example.com; any port unless given); repeatable\n"
    "  --allow-private-net\n"
    "                    also allow loopback/private addresses (default: a\n"
    "                    name resolving to one is refused)\n"
    "  --secret NAME[=VALUE]@HOST[,HOST]\n"
    "                    os.environ[NAME] is a placeholder the host swaps for\n"
    "                    VALUE in TLS traffic to HOST; VALUE never enters\n"
    "                    the sandbox or its output. Without =VALUE, the\n"
    "                    host's env var NAME holds it; repeatable\n"
    "  --net-ca FILE     also trust this PEM CA for TLS\n"
    "  --mcp-server \"[NAME=]CMD ARGS\"\n"
    "                    start an MCP server on the host and expose its tools\n"
    "                    inside the sandbox as NAME.tool(...); repeatable (run\n"
    "                    by the Python package: pip install '.[mcp]')\n"
    "  --stream          print output live, as the guest writes it\n"
    "  --trace           print line events of the script to stderr\n"
    "  --json            print the result as one JSON object: stdout, stderr,\n"
    "                    value, exception, limit, duration, memory, fuel,\n"
    "                    images (base64 PNGs)\n"
    "  --save-figures DIR\n"
    "                    write the run's images (open matplotlib figures at\n"
    "                    its end, cloche.show_image) as DIR/figure-1.png,\n"
    "                    figure-2.png, ... (DIR is created if missing)\n"
    "  -h, --help        this help\n"
    "\n"
    "ARGs after the script become sys.argv[1:].\n"
    "\n"
    "exit codes: 0 success, 1 uncaught Python exception, 2 usage error,\n"
    "            3 a limit tripped (--json names it), 4 internal error,\n"
    "            5 suspended (--suspend)\n";

typedef struct run_args {
    const char *code, *file;
    const char *load, *save, *suspend, *save_figures;
    cli_key key;
    int json, demo_tools, stream;
    cli_limits limits;
    cloche_sandbox_options opts;
    cli_grants grants;
    const char **argv;
    size_t argc;
} run_args;

static int usage_error(const char *msg, const char *arg) {
    fprintf(stderr, "cloche run: %s%s%s\n(see cloche run --help)\n", msg,
            arg ? ": " : "", arg ? arg : "");
    return CLI_EXIT_USAGE;
}

/* Returns -1 to continue, or an exit code. */
static int parse_option(run_args *a, int argc, char **argv, int *i) {
    const char *opt = argv[*i];
    const char *val = *i + 1 < argc ? argv[*i + 1] : NULL;
    int takes = 1, grant, limit;
    if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0) {
        fputs(run_usage_head, stdout);
        fputs(cli_limit_usage, stdout);
        fputs(run_usage, stdout);
        return CLI_EXIT_OK;
    } else if (strcmp(opt, "--json") == 0) {
        a->json = 1, takes = 0;
    } else if (strcmp(opt, "--wall-clock") == 0) {
        a->opts.fixed_clock_ns = 0, takes = 0; /* the default; kept for scripts */
    } else if (strcmp(opt, "--demo-tools") == 0) {
        a->demo_tools = 1, takes = 0;
    } else if (strcmp(opt, "--stream") == 0) {
        a->stream = 1, takes = 0;
        a->opts.on_output = cli_stream_output;
    } else if (strcmp(opt, "--allow-private-net") == 0) {
        a->grants.net.allow_private = 1, a->grants.use_net = 1, takes = 0;
    } else if (strcmp(opt, "--trace") == 0) {
        a->opts.on_trace = cli_print_trace, takes = 0;
    } else if (!val) {
        return usage_error("missing value for", opt);
    } else if ((grant = cli_parse_grant(&a->grants, opt, val)) != 0) {
        if (grant < 0)
            return CLI_EXIT_USAGE;
    } else if ((limit = cli_limit_flag(&a->limits, "run", opt, val)) != 0) {
        if (limit < 0)
            return CLI_EXIT_USAGE;
    } else if (strcmp(opt, "-c") == 0) {
        a->code = val;
    } else if (strcmp(opt, "--load") == 0) {
        a->load = val;
    } else if (strcmp(opt, "--save") == 0) {
        a->save = val;
    } else if (strcmp(opt, "--suspend") == 0) {
        a->suspend = val;
    } else if (strcmp(opt, "--save-figures") == 0) {
        a->save_figures = val;
    } else if (strcmp(opt, "--key") == 0) {
        if (cli_load_key(&a->key, val) != 0)
            return CLI_EXIT_USAGE;
    } else if (strcmp(opt, "--vfs-quota") == 0) {
        if (cli_parse_size(val, &a->opts.vfs_quota))
            return usage_error("bad --vfs-quota (e.g. 16M)", val);
    } else if (strcmp(opt, "--fixed-clock") == 0) {
        if (cli_parse_instant(val, &a->opts.fixed_clock_ns))
            return usage_error("bad --fixed-clock (e.g. 2000-01-01)", val);
    } else {
        return usage_error("unknown option", opt);
    }
    *i += takes;
    return -1;
}

static int parse_args(run_args *a, int argc, char **argv) {
    int i = 1;
    for (; i < argc && !a->code; i++) {
        const char *arg = argv[i];
        if (arg[0] != '-' || strcmp(arg, "-") == 0)
            break;
        int rc = parse_option(a, argc, argv, &i);
        if (rc >= 0)
            return rc;
    }
    if (!a->code) {
        if (i >= argc)
            return usage_error("need FILE, -c CODE or -", NULL);
        a->file = argv[i++];
    }
    /* sys.argv: like python, argv[0] is the script or "-c". */
    a->argc = (size_t)(argc - i) + 1;
    a->argv = calloc(a->argc, sizeof *a->argv);
    if (!a->argv)
        return CLI_EXIT_INTERNAL;
    a->argv[0] = a->file ? a->file : "-c";
    for (size_t k = 1; k < a->argc; k++)
        a->argv[k] = argv[i + (int)k - 1];
    a->opts.argv = a->argv;
    a->opts.argc = a->argc;
    return -1;
}

/* Start the run; with --suspend, a PENDING run is written out. */
static int run_in(cloche_result **r, cloche_sandbox *sb, const run_args *a,
                  const char *code, size_t len, int *suspended) {
    if (!a->suspend)
        return cloche_run(r, sb, code, len);
    cloche_step step;
    int rc = cloche_start(&step, sb, code, len);
    if (rc != 0 || step == CLOCHE_STEP_DONE)
        return rc == 0 ? cloche_finish(r, sb) : rc;
    *suspended = 1;
    return cli_save_snapshot(sb, a->suspend, &a->key) == 0 ? 0 : CLOCHE_EIO;
}

static int execute(const run_args *a, const char *code, size_t len) {
    char err[512] = "";
    cloche_engine_options eo = CLOCHE_ENGINE_OPTIONS_INIT;
    eo.enable_fuel = a->limits.fuel != 0;
    cloche_engine *engine = NULL;
    cloche_sandbox *sb = NULL;
    cloche_result *r = NULL;
    int rc = cloche_engine_new(&engine, &eo, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "cloche run: engine: %s: %s\n", cloche_strerror(rc), err);
        return CLI_EXIT_INTERNAL;
    }
    int exit_code = CLI_EXIT_INTERNAL, suspended = 0;
    rc = cloche_sandbox_new(&sb, engine, &a->opts);
    if (rc == 0)
        cli_limits_to_sandbox(&a->limits, sb);
    if (rc == 0)
        rc = cli_grants_to_sandbox(&a->grants, sb);
    if (rc != 0 && rc != CLOCHE_ENOMEM && rc != CLOCHE_EENGINE) {
        /* a --mount or --package the sandbox cannot take */
        fprintf(stderr, "cloche run: %s\n", cloche_sandbox_errmsg(sb));
        exit_code = CLI_EXIT_USAGE;
    }
    if (rc == 0 && a->demo_tools)
        rc = demo_tools_register(sb);
    if (rc == 0 && a->load && cli_load_snapshot(sb, a->load, &a->key) != 0)
        rc = CLOCHE_EIO, exit_code = CLI_EXIT_USAGE;
    if (rc == 0)
        rc = run_in(&r, sb, a, code, len, &suspended);
    if (rc == 0 && suspended) {
        exit_code = CLI_EXIT_SUSPENDED;
    } else if (rc == 0) {
        exit_code = cli_report(r, a->json, a->stream);
        size_t saved = 0;
        if (a->save_figures &&
            cli_figures_save("run", r, a->save_figures, &saved))
            exit_code = CLI_EXIT_INTERNAL;
        else if (!a->save_figures && !a->json)
            cli_figures_hint(r, CLI_FIGURES_HINT);
        if (a->save && cli_save_snapshot(sb, a->save, &a->key) != 0)
            exit_code = CLI_EXIT_INTERNAL;
    } else if (exit_code != CLI_EXIT_USAGE) {
        fprintf(stderr, "cloche run: %s: %s\n", cloche_strerror(rc),
                cloche_sandbox_errmsg(sb));
    }
    cloche_result_free(r);
    cloche_sandbox_free(sb);
    cloche_engine_free(engine);
    return exit_code;
}

int cli_run_main(int argc, char **argv) {
    run_args a;
    memset(&a, 0, sizeof a);
    cloche_sandbox_options defaults = CLOCHE_SANDBOX_OPTIONS_INIT;
    a.opts = defaults;
    int rc = parse_args(&a, argc, argv);
    cli_grants_to_options(&a.grants, &a.opts);
    cli_limits_apply(&a.limits, &a.opts);
    if (rc >= 0) {
        free(a.argv);
        free(a.key.data);
        cli_grants_free(&a.grants);
        return rc;
    }
    char *buf = NULL;
    size_t len = 0;
    if (a.save_figures && cli_figures_prepare("run", a.save_figures) != 0) {
        rc = CLI_EXIT_USAGE;
    } else if (a.file && cli_read_file(a.file, &buf, &len) != 0) {
        fprintf(stderr, "cloche run: cannot read %s\n", a.file);
        rc = CLI_EXIT_USAGE;
    } else {
        rc = a.file ? execute(&a, buf, len)
                    : execute(&a, a.code, strlen(a.code));
    }
    free(buf);
    cli_grants_free(&a.grants);
    free(a.argv);
    free(a.key.data);
    return rc;
}
