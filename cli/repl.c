/*
 * `cloche repl`: an interactive session in one sandbox. Globals persist
 * between inputs; `:save FILE` / `:load FILE` write and restore image
 * snapshots, `:state-save FILE` / `:state-load FILE` portable state
 * snapshots, `:reset` returns to the fresh image, `:clear` drops globals.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "demo_tools.h"

#define CELL_MAX (1u << 20)

static const char repl_usage[] =
    "usage: cloche repl [--demo-tools] [--key KEYFILE]\n"
    "\n"
    "Read Python from stdin, run it in one persistent sandbox and print\n"
    "output and values. A line ending in ':' (or with open brackets) starts\n"
    "a block that ends at an empty line. Commands:\n"
    "  :save FILE        write an image snapshot of the session\n"
    "  :load FILE        restore an image snapshot\n"
    "  :state-save FILE  write the globals as a portable state snapshot\n"
    "  :state-load FILE  restore globals from a state snapshot\n"
    "  :reset            back to a fresh interpreter\n"
    "  :clear            drop all user globals\n"
    "  :quit             leave (so does end of input)\n";

typedef struct repl {
    cloche_sandbox *sb;
    cli_key key;
    int tty;
} repl;

static int open_depth(const char *s) {
    int depth = 0;
    for (; *s; s++)
        depth += (*s == '(' || *s == '[' || *s == '{') -
                 (*s == ')' || *s == ']' || *s == '}');
    return depth;
}

/* Read one cell (a statement or a block) into buf; 0 at end of input. */
static int read_cell(repl *r, char *buf, size_t cap) {
    char line[8192];
    size_t len = 0;
    int block = 0, depth = 0;
    buf[0] = '\0';
    for (;;) {
        if (r->tty)
            fputs(len ? "... " : ">>> ", stdout), fflush(stdout);
        if (!fgets(line, sizeof line, stdin))
            return len > 0;
        size_t n = strlen(line);
        int blank = strspn(line, " \t\r\n") == n;
        if (len == 0 && blank)
            continue;
        if (len > 0 && blank && block && depth <= 0)
            return 1;
        if (len + n + 1 > cap)
            return -1;
        memcpy(buf + len, line, n + 1);
        len += n;
        depth += open_depth(line);
        char *end = line + n;
        while (end > line && strchr(" \t\r\n", end[-1]))
            end--;
        if (end > line && (end[-1] == ':' || end[-1] == '\\'))
            block = 1;
        if (!block && depth <= 0 && buf[0] != ':')
            return 1;
        if (buf[0] == ':')
            return 1;
    }
}

static void show(const cloche_result *res) {
    cli_report(res, 0, 0);
    const char *value = cloche_result_value_repr(res);
    if (value && cloche_result_outcome(res) == CLOCHE_OUTCOME_OK)
        printf("%s\n", value);
    fflush(stdout);
}

static int state_file(repl *r, const char *path, int save) {
    int rc;
    if (save) {
        uint8_t *data = NULL;
        size_t len = 0;
        rc = cloche_state_save(&data, &len, r->sb, 0);
        if (rc == 0 && cli_write_file(path, data, len) != 0)
            rc = CLOCHE_EIO;
        cloche_buffer_free(data);
    } else {
        char *data = NULL;
        size_t len = 0;
        rc = cli_read_file(path, &data, &len) == 0
                 ? cloche_state_restore(r->sb, (const uint8_t *)data, len)
                 : CLOCHE_EIO;
        free(data);
    }
    if (rc != 0)
        fprintf(stderr, "%s: %s\n", cloche_strerror(rc),
                cloche_sandbox_errmsg(r->sb));
    return rc;
}

/* A ':' command; returns 1 to quit. */
static int command(repl *r, char *cell) {
    char *cmd = strtok(cell, " \t\r\n");
    char *arg = strtok(NULL, " \t\r\n");
    int rc = 0;
    if (strcmp(cmd, ":quit") == 0 || strcmp(cmd, ":q") == 0)
        return 1;
    if (strcmp(cmd, ":reset") == 0)
        rc = cloche_sandbox_reset(r->sb);
    else if (strcmp(cmd, ":clear") == 0)
        rc = cloche_sandbox_clear(r->sb);
    else if (!arg && strcmp(cmd, ":help") != 0)
        fprintf(stderr, "%s needs FILE (see :help)\n", cmd);
    else if (strcmp(cmd, ":save") == 0)
        cli_save_snapshot(r->sb, arg, &r->key);
    else if (strcmp(cmd, ":load") == 0)
        cli_load_snapshot(r->sb, arg, &r->key);
    else if (strcmp(cmd, ":state-save") == 0)
        state_file(r, arg, 1);
    else if (strcmp(cmd, ":state-load") == 0)
        state_file(r, arg, 0);
    else
        fputs(repl_usage, stderr);
    if (rc != 0)
        fprintf(stderr, "%s: %s\n", cloche_strerror(rc),
                cloche_sandbox_errmsg(r->sb));
    return 0;
}

static int loop(repl *r) {
    char *cell = malloc(CELL_MAX);
    if (!cell)
        return CLI_EXIT_INTERNAL;
    int got;
    while ((got = read_cell(r, cell, CELL_MAX)) != 0) {
        if (got < 0) {
            fputs("input too long\n", stderr);
            continue;
        }
        if (cell[0] == ':') {
            if (command(r, cell))
                break;
            continue;
        }
        cloche_result *res = NULL;
        int rc = cloche_run(&res, r->sb, cell, strlen(cell));
        if (rc == 0)
            show(res);
        else
            fprintf(stderr, "%s: %s\n", cloche_strerror(rc),
                    cloche_sandbox_errmsg(r->sb));
        cloche_result_free(res);
    }
    free(cell);
    return CLI_EXIT_OK;
}

int cli_repl_main(int argc, char **argv) {
    repl r = {0};
    int tools = 0, rc = CLI_EXIT_USAGE;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--demo-tools") == 0) {
            tools = 1;
        } else if (strcmp(argv[i], "--key") == 0 && i + 1 < argc) {
            if (cli_load_key(&r.key, argv[++i]) != 0)
                return CLI_EXIT_USAGE;
        } else {
            fputs(repl_usage, strcmp(argv[i], "-h") && strcmp(argv[i], "--help")
                                  ? stderr : stdout);
            free(r.key.data);
            return strcmp(argv[i], "-h") && strcmp(argv[i], "--help")
                       ? CLI_EXIT_USAGE : CLI_EXIT_OK;
        }
    }
    r.tty = isatty(0);
    char err[512] = "";
    cloche_engine *engine = NULL;
    if (cloche_engine_new(&engine, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "cloche repl: engine: %s\n", err);
        free(r.key.data);
        return CLI_EXIT_INTERNAL;
    }
    if (cloche_sandbox_new(&r.sb, engine, NULL) == 0 &&
        (!tools || demo_tools_register(r.sb) == 0))
        rc = loop(&r);
    else
        rc = CLI_EXIT_INTERNAL;
    cloche_sandbox_free(r.sb);
    cloche_engine_free(engine);
    free(r.key.data);
    return rc;
}
