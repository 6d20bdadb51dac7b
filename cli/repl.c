/*
 * `cloche repl`: an interactive session in one sandbox, for a person at a
 * terminal (or a script on stdin). Globals persist between inputs.
 *
 * Like python3's REPL: line editing and history (lineedit.c: libedit,
 * history under the user's state dir), ">>> " and "... " prompts with
 * Python deciding when a block is complete (codeop, run in the sandbox,
 * top-level await allowed), Tab completion of names and attributes from
 * inside the sandbox (rlcompleter there), output as it is written, Ctrl-C
 * cancelling the running code (the session stays) or dropping the line
 * being typed, Ctrl-D leaving. Also `:save FILE` / `:load FILE` (image
 * snapshots), `:state-save` / `:state-load` (portable globals), `:reset`,
 * `:clear`, `:help`, `:quit`. The limit, mount and network flags are
 * `cloche run`'s.
 *
 * Ctrl-C during a run: the signal handler only writes a byte to a pipe;
 * a watcher thread raises KeyboardInterrupt in the code
 * (cloche_sandbox_interrupt: the session keeps its globals) and, on a
 * second Ctrl-C, cancels the run (cloche_sandbox_cancel takes locks, so it
 * is not called from the handler).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "demo_tools.h"
#include "limit_flags.h"
#include "lineedit.h"

#define CELL_MAX (1u << 20)

static const char repl_usage[] =
    "usage: cloche repl [options]\n"
    "\n"
    "An interactive Python session in one sandbox: line editing, history\n"
    "(~/.local/state/cloche/repl_history), Tab completion, Ctrl-C stops the\n"
    "running code and keeps the session, Ctrl-D leaves. Commands:\n"
    "  :save FILE        write an image snapshot of the session\n"
    "  :load FILE        restore an image snapshot\n"
    "  :state-save FILE  write the globals as a portable state snapshot\n"
    "  :state-load FILE  restore globals from a state snapshot\n"
    "  :reset            back to a fresh interpreter\n"
    "  :clear            drop all user globals\n"
    "  :quit             leave (so do Ctrl-D and end of input)\n"
    "\n"
    "options:\n";

static const char repl_usage_tail[] =
    "  --demo-tools      register demo host tools: echo, sleep, fail\n"
    "  --key FILE        HMAC key for :save/:load snapshots\n"
    "  --save-figures DIR  write each run's images (open matplotlib figures\n"
    "                    at its end) as DIR/figure-1.png, figure-2.png, ...\n"
    "                    numbered across the session\n"
    "  --vfs-quota SIZE  bytes the guest may store in /data and /tmp (64M)\n"
    "  --fixed-clock WHEN  a reproducible clock starting at WHEN\n"
    "  --mount HOST:GUEST[:ro|:rw], --package PATH, --allow-net HOST[:PORT],\n"
    "  --allow-private-net, --secret NAME[=VALUE]@HOST, --net-ca FILE\n"
    "                    as in cloche run (see cloche run --help)\n";

typedef struct repl {
    cloche_sandbox *sb;
    cli_key key;
    int tty;
    volatile int quiet; /* a helper run: its output is not shown */
    volatile int running;
    volatile int presses; /* Ctrl-C during this run */
    int wake[2];        /* SIGINT -> watcher thread */
    const char *figures_dir; /* --save-figures, or NULL */
    size_t figures_saved;    /* files written there so far */
} repl;

static repl *the_repl; /* for the signal handler */

/* --- running code -------------------------------------------------------- */

static void on_output(void *ud, int fd, const char *data, size_t len) {
    repl *r = ud;
    if (!r->quiet)
        cli_stream_output(NULL, fd, data, len);
}

static void on_sigint(int sig) {
    (void)sig;
    int saved = errno;
    if (the_repl && write(the_repl->wake[1], "c", 1) < 0) {
        /* nothing to do: a full pipe already holds a wake-up */
    }
    errno = saved;
}

static void *watcher(void *arg) {
    repl *r = arg;
    char c;
    while (read(r->wake[0], &c, 1) == 1 || errno == EINTR) {
        if (!r->running)
            continue;
        /* The first Ctrl-C raises KeyboardInterrupt in the code (the
         * session stays); a second one stops code that does not reach a
         * bytecode boundary (a long C call, a sleep), resetting it. */
        if (r->presses++ == 0)
            cloche_sandbox_interrupt(r->sb);
        else
            cloche_sandbox_cancel(r->sb);
    }
    return NULL;
}

/* Run code; Ctrl-C cancels it. */
static int run_code(repl *r, cloche_result **res, const char *code) {
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old);
    r->presses = 0;
    r->running = 1;
    int rc = cloche_run(res, r->sb, code, strlen(code));
    r->running = 0;
    sigaction(SIGINT, &old, NULL);
    return rc;
}

/* A helper run whose output is the answer: stdout, or NULL. */
static char *helper(repl *r, const char *code, int want_value) {
    cloche_result *res = NULL;
    r->quiet = 1;
    int rc = cloche_run(&res, r->sb, code, strlen(code));
    r->quiet = 0;
    char *out = NULL;
    if (rc == 0 && cloche_result_outcome(res) == CLOCHE_OUTCOME_OK) {
        const char *s = want_value ? cloche_result_value_repr(res)
                                   : cloche_result_stdout(res, NULL);
        out = s ? strdup(s) : NULL;
    }
    cloche_result_free(res);
    return out;
}

/* text as a Python string literal: 'abc', with \\ ' and controls escaped */
static char *py_literal(const char *text) {
    size_t n = strlen(text);
    char *lit = malloc(n * 4 + 3), *p = lit;
    if (!lit)
        return NULL;
    *p++ = '\'';
    for (const unsigned char *s = (const unsigned char *)text; *s; s++) {
        if (*s == '\\' || *s == '\'')
            *p++ = '\\', *p++ = (char)*s;
        else if (*s < 0x20 || *s == 0x7f)
            p += sprintf(p, "\\x%02x", *s);
        else
            *p++ = (char)*s;
    }
    *p++ = '\'';
    *p = 0;
    return lit;
}

/* Python's own answer: does the source need more lines? (codeop, as the
 * python3 REPL asks it, with top-level await allowed; a syntax error is
 * "complete": the run reports it.) */
static int needs_more(repl *r, const char *source) {
    static const char tmpl[] =
        "(lambda c: (setattr(c.compiler, 'flags', c.compiler.flags | 0x2000),"
        " c(%s, '<stdin>', 'single') is None)[1])"
        "(__import__('codeop').CommandCompiler())";
    char *lit = py_literal(source);
    char *code = lit ? malloc(strlen(lit) + sizeof tmpl) : NULL;
    if (!code) {
        free(lit);
        return 0;
    }
    sprintf(code, tmpl, lit);
    char *answer = helper(r, code, 1);
    int more = answer && strcmp(answer, "True") == 0;
    free(answer);
    free(code);
    free(lit);
    return more;
}

/* Tab: rlcompleter inside the sandbox, on the session's globals. */
static char **complete(const char *text, void *ud) {
    repl *r = ud;
    if (!text[0]) { /* Tab on nothing indents, as in python3 */
        char **m = calloc(2, sizeof *m);
        if (m && !(m[0] = strdup("\t")))
            free(m), m = NULL;
        return m;
    }
    static const char tmpl[] =
        "print('\\n'.join((lambda c: (c.complete(%s, 0), getattr(c, 'matches', []))"
        "[1])(__import__('rlcompleter').Completer(globals()))), end='')";
    char *lit = py_literal(text);
    char *code = lit ? malloc(strlen(lit) + sizeof tmpl) : NULL;
    char *out = NULL;
    if (code) {
        sprintf(code, tmpl, lit);
        out = helper(r, code, 0);
    }
    free(code);
    free(lit);
    if (!out || !out[0]) {
        free(out);
        return NULL;
    }
    size_t n = 1;
    for (const char *p = out; *p; p++)
        n += *p == '\n';
    char **matches = calloc(n + 1, sizeof *matches);
    size_t k = 0;
    for (char *save = NULL, *tok = matches ? strtok_r(out, "\n", &save) : NULL;
         tok; tok = strtok_r(NULL, "\n", &save))
        matches[k++] = strdup(tok);
    free(out);
    return matches;
}

static void show(repl *r, const cloche_result *res) {
    if (cloche_result_outcome(res) == CLOCHE_OUTCOME_CANCELLED) {
        fputs("KeyboardInterrupt (the run was cancelled: the interpreter "
              "was reset)\n", stderr);
        return;
    }
    cli_report(res, 0, 1); /* the output was shown as it came */
    const char *value = cloche_result_value_repr(res);
    if (value && cloche_result_outcome(res) == CLOCHE_OUTCOME_OK)
        printf("%s\n", value);
    fflush(stdout);
    if (r->figures_dir)
        cli_figures_save("repl", res, r->figures_dir, &r->figures_saved);
    else
        cli_figures_hint(res, "start cloche repl with --save-figures DIR to "
                              "keep them");
}

/* --- reading input --------------------------------------------------------- */

/* Read one cell (a statement, a block, or a :command) into buf: 1, 0 at
 * end of input, -1 if too long; Ctrl-C drops what was typed. */
static int read_cell(repl *r, char *buf, size_t cap) {
    size_t len = 0;
    for (;;) {
        int interrupted = 0;
        char *line = lineedit_read(len ? "... " : ">>> ", &interrupted);
        if (interrupted) {
            fputs("\nKeyboardInterrupt\n", stderr);
            len = 0;
            continue;
        }
        if (!line) {
            if (r->tty)
                fputc('\n', stdout);
            if (len == 0)
                return 0;
            buf[len] = 0; /* end of input finishes the last cell */
            return 1;
        }
        size_t n = strlen(line);
        if (len == 0 && !line[strspn(line, " \t\r")]) {
            free(line);
            continue;
        }
        lineedit_remember(line);
        if (len + n + 2 > cap) {
            free(line);
            return -1;
        }
        memcpy(buf + len, line, n);
        len += n;
        buf[len++] = '\n';
        buf[len] = 0;
        free(line);
        if (buf[0] == ':')
            return 1;
        /* the lines so far, joined by newlines, as python3 asks codeop */
        buf[len - 1] = 0;
        int more = needs_more(r, buf);
        buf[len - 1] = '\n';
        if (!more)
            return 1;
    }
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
    if (r->tty) {
        char *version = helper(
            r, "print(__import__('sys').version.split()[0], end='')", 0);
        printf("cloche %s: Python %s in a sandbox. :help for commands, "
               "Ctrl-D to leave.\n", cloche_version(), version ? version : "3");
        free(version);
    }
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
        int rc = run_code(r, &res, cell);
        if (rc == 0)
            show(r, res);
        else
            fprintf(stderr, "%s: %s\n", cloche_strerror(rc),
                    cloche_sandbox_errmsg(r->sb));
        cloche_result_free(res);
    }
    free(cell);
    return CLI_EXIT_OK;
}

/* --- options --------------------------------------------------------------- */

typedef struct repl_args {
    int tools;
    cli_limits limits;
    cli_grants grants;
    cloche_sandbox_options opts;
} repl_args;

/* -1 to go on, else an exit code */
static int parse(repl *r, repl_args *a, int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        int took;
        if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0) {
            fputs(repl_usage, stdout);
            fputs(cli_limit_usage, stdout);
            fputs(repl_usage_tail, stdout);
            return CLI_EXIT_OK;
        } else if (strcmp(opt, "--demo-tools") == 0) {
            a->tools = 1;
        } else if (strcmp(opt, "--allow-private-net") == 0) {
            a->grants.net.allow_private = 1, a->grants.use_net = 1;
        } else if (!val) {
            fprintf(stderr, "cloche repl: unknown option or missing value: %s\n"
                            "(see cloche repl --help)\n", opt);
            return CLI_EXIT_USAGE;
        } else if ((took = cli_parse_grant(&a->grants, opt, val)) != 0 ||
                   (took = cli_limit_flag(&a->limits, "repl", opt, val)) != 0) {
            if (took < 0)
                return CLI_EXIT_USAGE;
            i++;
        } else if (strcmp(opt, "--key") == 0) {
            if (cli_load_key(&r->key, val) != 0)
                return CLI_EXIT_USAGE;
            i++;
        } else if (strcmp(opt, "--save-figures") == 0) {
            if (cli_figures_prepare("repl", val) != 0)
                return CLI_EXIT_USAGE;
            r->figures_dir = val;
            i++;
        } else if (strcmp(opt, "--vfs-quota") == 0) {
            if (cli_parse_size(val, &a->opts.vfs_quota))
                return fprintf(stderr, "cloche repl: bad --vfs-quota %s\n", val),
                       CLI_EXIT_USAGE;
            i++;
        } else if (strcmp(opt, "--fixed-clock") == 0) {
            if (cli_parse_instant(val, &a->opts.fixed_clock_ns))
                return fprintf(stderr, "cloche repl: bad --fixed-clock %s\n", val),
                       CLI_EXIT_USAGE;
            i++;
        } else {
            fprintf(stderr, "cloche repl: unknown option %s\n"
                            "(see cloche repl --help)\n", opt);
            return CLI_EXIT_USAGE;
        }
    }
    return -1;
}

static int start(repl *r, repl_args *a) {
    char err[512] = "";
    cloche_engine_options eo = CLOCHE_ENGINE_OPTIONS_INIT;
    eo.enable_fuel = a->limits.fuel != 0;
    cloche_engine *engine = NULL;
    if (cloche_engine_new(&engine, &eo, err, sizeof err) != 0) {
        fprintf(stderr, "cloche repl: engine: %s\n", err);
        return CLI_EXIT_INTERNAL;
    }
    int rc = CLI_EXIT_INTERNAL;
    int sr = cloche_sandbox_new(&r->sb, engine, &a->opts);
    if (sr == 0)
        cli_limits_to_sandbox(&a->limits, r->sb);
    if (sr == 0)
        sr = cli_grants_to_sandbox(&a->grants, r->sb);
    if (sr != 0) {
        fprintf(stderr, "cloche repl: %s\n", cloche_sandbox_errmsg(r->sb));
    } else if (!a->tools || demo_tools_register(r->sb) == 0) {
        pthread_t thread;
        if (pipe(r->wake) == 0 &&
            pthread_create(&thread, NULL, watcher, r) == 0) {
            pthread_detach(thread);
            the_repl = r;
            lineedit_init(complete, r);
            rc = loop(r);
            the_repl = NULL;
        }
    }
    cloche_sandbox_free(r->sb);
    cloche_engine_free(engine);
    return rc;
}

int cli_repl_main(int argc, char **argv) {
    repl r;
    repl_args a;
    memset(&r, 0, sizeof r);
    memset(&a, 0, sizeof a);
    cloche_sandbox_options defaults = CLOCHE_SANDBOX_OPTIONS_INIT;
    a.opts = defaults;
    int rc = parse(&r, &a, argc, argv);
    if (rc < 0) {
        cli_grants_to_options(&a.grants, &a.opts);
        cli_limits_apply(&a.limits, &a.opts);
        a.opts.on_output = on_output;
        a.opts.output_userdata = &r;
        r.tty = isatty(0);
        rc = start(&r, &a);
    }
    cli_grants_free(&a.grants);
    free(r.key.data);
    return rc;
}
