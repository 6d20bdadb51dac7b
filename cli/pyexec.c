/*
 * Commands implemented by the Python package: `cloche mcp` and
 * `cloche run --mcp-server ...` need the official MCP SDK, a Python
 * library, so this binary hands them to the package's `cloche-python`
 * script by exec (same pid, same stdin/stdout: an MCP client talking to
 * `cloche mcp` over stdio talks to the Python server directly).
 *
 * Which Python: $CLOCHE_PYTHON if set (`$CLOCHE_PYTHON -m cloche._cli`),
 * else the `cloche-python` script installed beside this binary (pip puts
 * both in the same bin/ folder, and the script's #! names the interpreter
 * that has the package), else `cloche-python` on PATH. docs/mcp.md says why.
 * In the Python package the command runs inside the interpreter (the
 * wheel's `cloche` script calls the extension, python/native/cli.c), where
 * /proc/self/exe is python: that script names its own folder instead
 * (cli_set_own_dir).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* Options of `cloche run` that take no value (the others take one). */
static int is_flag(const char *opt) {
    static const char *const flags[] = {
        "--json", "--wall-clock", "--demo-tools", "--stream",
        "--allow-private-net", "--trace", "-h", "--help", NULL};
    for (size_t i = 0; flags[i]; i++)
        if (strcmp(opt, flags[i]) == 0)
            return 1;
    return 0;
}

int cli_run_wants_python(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (arg[0] != '-' || strcmp(arg, "-") == 0)
            return 0; /* the script: what follows is its sys.argv */
        if (strcmp(arg, "--mcp-server") == 0)
            return 1;
        if (strcmp(arg, "-c") == 0)
            return 0;
        if (!is_flag(arg))
            i++; /* skip the option's value */
    }
    return 0;
}

static char own_dir_set[PATH_MAX]; /* cli_set_own_dir; empty: none */

void cli_set_own_dir(const char *dir) {
    snprintf(own_dir_set, sizeof own_dir_set, "%s", dir ? dir : "");
}

/* The folder this command lives in (empty if unknown). */
static void own_dir(char *out, size_t size) {
    if (own_dir_set[0]) {
        snprintf(out, size, "%s", own_dir_set);
        return;
    }
    ssize_t n = readlink("/proc/self/exe", out, size - 1);
    out[n > 0 ? n : 0] = 0;
    char *slash = strrchr(out, '/');
    if (slash)
        *slash = 0;
    else
        out[0] = 0;
}

int cli_python_main(int argc, char **argv) {
    /* argv[0] is the subcommand ("mcp" or "run"): the script's argv is
     * cloche-python SUBCOMMAND ARGS... */
    char **args = calloc((size_t)argc + 4, sizeof *args);
    if (!args)
        return CLI_EXIT_INTERNAL;
    const char *python = getenv("CLOCHE_PYTHON");
    int k = 0;
    if (python && *python) {
        args[k++] = (char *)python;
        args[k++] = "-m";
        args[k++] = "cloche._cli";
    } else {
        args[k++] = "cloche-python";
    }
    for (int i = 0; i < argc; i++)
        args[k++] = argv[i];
    args[k] = NULL;

    if (python && *python) {
        execvp(python, args);
    } else {
        char dir[PATH_MAX], path[PATH_MAX + 32];
        own_dir(dir, sizeof dir);
        if (dir[0]) {
            snprintf(path, sizeof path, "%s/cloche-python", dir);
            if (access(path, X_OK) == 0)
                execv(path, args);
        }
        execvp("cloche-python", args);
    }
    fprintf(stderr,
            "cloche %s: this command is implemented by the cloche Python package "
            "with its mcp extra (pip install '.[mcp]'), which was not found (%s).\n"
            "Set CLOCHE_PYTHON to a Python that has it.\n",
            argv[0], strerror(errno));
    free(args);
    return CLI_EXIT_INTERNAL;
}
