/* --timeout, --memory, --fuel, --max-output, --max-images (see
 * limit_flags.h). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "limit_flags.h"

const char cli_limit_usage[] =
    "  --timeout SECONDS wall-clock limit (default 30)\n"
    "  --memory SIZE     guest memory limit, e.g. 64M, 1G (default 256M)\n"
    "  --fuel N          instruction budget (enables fuel metering)\n"
    "  --max-output SIZE cap on stdout and on stderr each, and on the\n"
    "                    value, exception text and trace (default 1M)\n"
    "  --max-images SIZE cap on the bytes of a run's images (figures;\n"
    "                    default 8M, at most 64 images)\n";

static int bad(const char *cmd, const char *what, const char *val) {
    fprintf(stderr, "cloche %s: bad %s: %s\n", cmd, what, val);
    return -1;
}

int cli_limit_flag(cli_limits *l, const char *cmd, const char *opt,
                   const char *val) {
    if (strcmp(opt, "--timeout") == 0)
        return cli_parse_seconds(val, &l->timeout_ms)
                   ? bad(cmd, "--timeout (seconds > 0)", val)
                   : 1;
    if (strcmp(opt, "--memory") == 0)
        return cli_parse_size(val, &l->memory)
                   ? bad(cmd, "--memory (e.g. 64M)", val)
                   : 1;
    if (strcmp(opt, "--max-output") == 0)
        return cli_parse_size(val, &l->max_output)
                   ? bad(cmd, "--max-output (e.g. 1M)", val)
                   : 1;
    if (strcmp(opt, "--max-images") == 0)
        return cli_parse_size(val, &l->max_images) || l->max_images == 0 ||
                       l->max_images > INT64_MAX
                   ? bad(cmd, "--max-images (e.g. 16M)", val)
                   : 1;
    if (strcmp(opt, "--fuel") == 0)
        return cli_parse_u64(val, &l->fuel)
                   ? bad(cmd, "--fuel (integer > 0)", val)
                   : 1;
    return 0;
}

void cli_limits_apply(const cli_limits *l, cloche_sandbox_options *o) {
    o->timeout_ms = l->timeout_ms;
    o->memory_limit = l->memory;
    o->fuel = l->fuel;
    o->stdout_limit = o->stderr_limit = l->max_output;
}

void cli_limits_to_sandbox(const cli_limits *l, cloche_sandbox *sb) {
    if (l->max_images)
        cloche_sandbox_limit(sb, CLOCHE_LIMIT_IMAGES, (int64_t)l->max_images);
}
