/* The cloche command: dispatches to one file per subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: cloche <command> [options]\n"
    "\n"
    "commands:\n"
    "  run      run a Python script in a fresh sandbox (cloche run --help)\n"
    "  repl     an interactive session (:save/:load/:reset, cloche repl -h)\n"
    "  resume   finish a run suspended with `cloche run --suspend FILE`\n"
    "  mcp      an MCP server that runs Python in sandboxes (cloche mcp --help;\n"
    "           needs the Python package: pip install '.[mcp]')\n"
    "  wasi-run run a wasm32-wasip1 command module on cloche's WASI layer\n"
    "  version  print the version\n"
    "\n"
    "exit codes: 0 success, 1 uncaught Python exception, 2 usage error,\n"
    "            3 a limit tripped, 4 internal error, 5 suspended\n";

int main(int argc, char **argv) {
    if (argc < 2) {
        fputs(usage, stderr);
        return CLI_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "run") == 0 && cli_run_wants_python(argc - 1, argv + 1))
        return cli_python_main(argc - 1, argv + 1); /* --mcp-server */
    if (strcmp(cmd, "run") == 0)
        return cli_run_main(argc - 1, argv + 1);
    if (strcmp(cmd, "mcp") == 0)
        return cli_python_main(argc - 1, argv + 1);
    if (strcmp(cmd, "resume") == 0)
        return cli_resume_main(argc - 1, argv + 1);
    if (strcmp(cmd, "repl") == 0)
        return cli_repl_main(argc - 1, argv + 1);
    if (strcmp(cmd, "wasi-run") == 0)
        return cli_wasi_run_main(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("cloche %s\n", cloche_version());
        return CLI_EXIT_OK;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 ||
        strcmp(cmd, "-h") == 0) {
        fputs(usage, stdout);
        return CLI_EXIT_OK;
    }
    fprintf(stderr, "cloche: unknown command '%s'\n\n%s", cmd, usage);
    return CLI_EXIT_USAGE;
}
