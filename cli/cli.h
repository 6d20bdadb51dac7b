/* Shared pieces of the cloche command: exit codes and argument helpers. */
#ifndef CLOCHE_CLI_H
#define CLOCHE_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "cloche.h"

/* Exit codes, documented in `cloche --help`. */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_EXCEPTION = 1,
    CLI_EXIT_USAGE = 2,
    CLI_EXIT_LIMIT = 3,
    CLI_EXIT_INTERNAL = 4,
    CLI_EXIT_SUSPENDED = 5, /* --suspend wrote the pending run out */
};

/* An HMAC key for snapshots, read from a file (empty: none). */
typedef struct cli_key {
    char *data;
    size_t len;
} cli_key;

/* grants.c: --mount, --package, --allow-net, --secret, --net-ca (doors
 * into the sandbox; --allow-private-net is a flag in run.c). */
typedef struct cli_grants {
    cloche_mount *mounts;
    size_t nmounts;
    const char **packages; /* borrowed from argv */
    size_t npackages;
    int use_net; /* a network option was given */
    cloche_network_options net;
    cloche_net_rule *allow;
    size_t nallow;
    cloche_secret *secrets;
    size_t nsecrets;
} cli_grants;
/* 1 if opt was a grant option (val consumed), 0 if not one, -1 on a bad
 * value (message printed). */
int cli_parse_grant(cli_grants *g, const char *opt, const char *val);
void cli_grants_to_options(cli_grants *g, cloche_sandbox_options *o);
/* Apply what needs a sandbox (packages); 0 or a CLOCHE_E* status. */
int cli_grants_to_sandbox(const cli_grants *g, cloche_sandbox *sb);
void cli_grants_free(cli_grants *g);

/* snapfile.c */
int cli_write_file(const char *path, const uint8_t *data, size_t len);
int cli_save_snapshot(cloche_sandbox *sb, const char *path, const cli_key *k);
int cli_load_snapshot(cloche_sandbox *sb, const char *path, const cli_key *k);
int cli_load_key(cli_key *key, const char *path);

/* figures.c: --save-figures DIR. prepare (before the run): create DIR
 * if missing and check it is writable; save: write DIR/figure-N.png for
 * each image of r, N counting on from *numbered (0 at first; the repl
 * keeps counting across its runs), printing the paths on stderr; hint:
 * tell a run printed plainly that its images were not kept and `how` to
 * keep them. 0 or -1 (printed). */
#define CLI_FIGURES_HINT "keep them with --save-figures DIR or --json"
int cli_figures_prepare(const char *cmd, const char *dir);
int cli_figures_save(const char *cmd, const cloche_result *r,
                     const char *dir, size_t *numbered);
void cli_figures_hint(const cloche_result *r, const char *how);

/* report.c: print a result (plain or JSON; without the output when it was
 * streamed); returns the exit code. */
int cli_report(const cloche_result *r, int json, int streamed);
/* --stream and --trace printers (cloche_output_fn, cloche_trace_fn). */
void cli_stream_output(void *ud, int fd, const char *data, size_t len);
void cli_print_trace(void *ud, const cloche_trace_event *ev, size_t n);

/* Parse "64M", "1G", "4096", "512k" into bytes. Returns 0 or -1. */
int cli_parse_size(const char *s, uint64_t *out);
/* Parse "2", "0.5" seconds into milliseconds (> 0). Returns 0 or -1. */
int cli_parse_seconds(const char *s, uint64_t *out_ms);
/* Parse an instant, "2000-01-01", "2000-01-01T12:30:00Z" (UTC) or seconds
 * since the Unix epoch ("946684800"), into ns since the epoch (> 0).
 * Returns 0 or -1. */
int cli_parse_instant(const char *s, uint64_t *out_ns);
/* Parse a positive decimal integer. Returns 0 or -1. */
int cli_parse_u64(const char *s, uint64_t *out);
/* Read a whole regular file (or "-" for stdin) into a malloc'd buffer;
 * a FIFO, device or socket is refused (-1, message printed), never
 * waited on. */
int cli_read_file(const char *path, char **out, size_t *len);

/* Subcommands: argv[0] is the subcommand name. */
int cli_run_main(int argc, char **argv);
int cli_resume_main(int argc, char **argv);
/* wasi_run.c: `cloche wasi-run` (a WASI command module on cloche's WASI
 * layer). */
int cli_wasi_run_main(int argc, char **argv);
int cli_repl_main(int argc, char **argv);

/* pyexec.c: `cloche mcp` and `cloche run --mcp-server` exec the Python
 * package's cloche-python script (argv[0] is the subcommand). */
int cli_run_wants_python(int argc, char **argv);
int cli_python_main(int argc, char **argv);
/* Where to look for cloche-python first, instead of this program's own
 * folder (/proc/self/exe): the Python package's `cloche` script runs the
 * command inside the interpreter and names its bin/ folder here. Copied;
 * NULL or "" goes back to the default. */
void cli_set_own_dir(const char *dir);

#endif
