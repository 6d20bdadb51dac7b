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
};

/* Parse "64M", "1G", "4096", "512k" into bytes. Returns 0 or -1. */
int cli_parse_size(const char *s, uint64_t *out);
/* Parse "2", "0.5" seconds into milliseconds (> 0). Returns 0 or -1. */
int cli_parse_seconds(const char *s, uint64_t *out_ms);
/* Parse a positive decimal integer. Returns 0 or -1. */
int cli_parse_u64(const char *s, uint64_t *out);
/* Read a whole file (or "-" for stdin) into a malloc'd buffer. */
int cli_read_file(const char *path, char **out, size_t *len);

/* Subcommands: argv[0] is the subcommand name. */
int cli_run_main(int argc, char **argv);

#endif
