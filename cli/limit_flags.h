/* The limit flags shared by `cloche run` and `cloche resume`: whoever
 * starts or resumes a run decides its budget. */
#ifndef CLOCHE_CLI_LIMIT_FLAGS_H
#define CLOCHE_CLI_LIMIT_FLAGS_H

#include <stdint.h>

#include "cloche.h"

/* Values given on the command line; 0: not given (library default). */
typedef struct cli_limits {
    uint64_t timeout_ms, memory, fuel, max_output, max_images;
} cli_limits;

/* The flags' lines for a usage text. */
extern const char cli_limit_usage[];

/* If opt is a limit flag, parse val into l: 1 (consumed), -1 (bad value;
 * message printed, prefixed with cmd). 0 if opt is not a limit flag. */
int cli_limit_flag(cli_limits *l, const char *cmd, const char *opt,
                   const char *val);

/* Put the limits given into sandbox options. A fuel limit also needs an
 * engine with enable_fuel (l->fuel != 0). */
void cli_limits_apply(const cli_limits *l, cloche_sandbox_options *o);
/* The limits that are not sandbox options (--max-images), on a new
 * sandbox. */
void cli_limits_to_sandbox(const cli_limits *l, cloche_sandbox *sb);

#endif
