/*
 * Line editing for `cloche repl`: Debian's libedit (its readline-compatible
 * API), loaded with dlopen when stdin is a terminal. The command does not
 * link it: a machine without libedit (or input from a pipe) gets plain
 * reads, and the wheel's binary keeps needing nothing but libc at run time.
 *
 * Owns: the history file (loaded at start, appended per line, capped),
 * the completion bridge (libedit asks for the word under the cursor, the
 * REPL's callback answers from inside the sandbox), and the Ctrl-C state
 * while a line is read. It never touches the sandbox itself.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "lineedit.h"

#define HISTORY_MAX 1000

typedef char *rl_generator(const char *, int);
typedef char **rl_completer(const char *, int, int);

static struct {
    void *lib;
    char *(*readline)(const char *);
    int (*add_history)(const char *);
    int (*read_history)(const char *);
    int (*write_history)(const char *);
    void (*stifle_history)(int);
    char **(*completion_matches)(const char *, rl_generator *);
    rl_completer **attempted_completion;
    char **word_breaks;
    int *append_char;
    int *catch_signals;
    int (**getc_function)(FILE *);
    char history[4096];
    struct termios cooked; /* the terminal as the REPL found it */
    int have_cooked;
    int nonblocking_fd; /* the terminal opened again, O_NONBLOCK, or -1 */
    int first_key;      /* nothing read yet for this line */
    lineedit_complete_fn *complete;
    void *ud;
    char **matches; /* of the word being completed */
    size_t next;
} le;

static volatile sig_atomic_t interrupted;
static sigset_t while_waiting; /* the caller's mask, SIGINT let through */

static void *sym(const char *name) { return dlsym(le.lib, name); }

static int load(void) {
    le.lib = dlopen("libedit.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!le.lib)
        return -1;
    le.readline = (char *(*)(const char *))sym("readline");
    le.add_history = (int (*)(const char *))sym("add_history");
    le.read_history = (int (*)(const char *))sym("read_history");
    le.write_history = (int (*)(const char *))sym("write_history");
    le.stifle_history = (void (*)(int))sym("stifle_history");
    le.completion_matches =
        (char **(*)(const char *, rl_generator *))sym("rl_completion_matches");
    le.attempted_completion = (rl_completer **)sym("rl_attempted_completion_function");
    le.word_breaks = (char **)sym("rl_completer_word_break_characters");
    le.append_char = (int *)sym("rl_completion_append_character");
    le.catch_signals = (int *)sym("rl_catch_signals");
    le.getc_function = (int (**)(FILE *))sym("rl_getc_function");
    if (!le.readline || !le.add_history || !le.getc_function) {
        dlclose(le.lib);
        le.lib = NULL;
        return -1;
    }
    return 0;
}

/* $XDG_STATE_HOME/cloche/repl_history, else ~/.local/state/cloche/...;
 * the folders are made private (0700) if missing. */
static void history_path(void) {
    const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    char dir[3072];
    if (state && state[0] == '/')
        snprintf(dir, sizeof dir, "%s/cloche", state);
    else if (home && home[0] == '/')
        snprintf(dir, sizeof dir, "%s/.local/state/cloche", home);
    else
        return;
    for (char *p = dir + 1; *p; p++) { /* mkdir -p */
        if (*p != '/')
            continue;
        *p = 0;
        mkdir(dir, 0700);
        *p = '/';
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return;
    snprintf(le.history, sizeof le.history, "%s/repl_history", dir);
}

static char *generate(const char *text, int state) {
    (void)text;
    if (state == 0)
        le.next = 0;
    if (!le.matches || !le.matches[le.next])
        return NULL;
    return strdup(le.matches[le.next++]);
}

/* libedit's reads. SIGINT stays blocked while libedit works on a line and
 * is let through only while waiting here (pselect swaps the masks
 * atomically), so a Ctrl-C that lands between two keys is not lost: it
 * ends the wait at once, and EOF makes libedit give the line back. The
 * read itself is non-blocking (le.nonblocking_fd): the Ctrl-C also
 * flushes the terminal's input, so a key seen by pselect may be gone. */
static int interruptible_getc(FILE *in) {
    int fd = fileno(in);
    int rfd = le.nonblocking_fd >= 0 ? le.nonblocking_fd : fd;
    for (;;) {
        if (interrupted)
            return EOF;
        fd_set readable;
        FD_ZERO(&readable);
        FD_SET(fd, &readable);
        if (pselect(fd + 1, &readable, NULL, NULL, NULL, &while_waiting) < 0) {
            if (errno == EINTR)
                continue;
            return EOF;
        }
        unsigned char c;
        ssize_t n = read(rfd, &c, 1);
        if (n == 1) {
            /* Ctrl-D on an empty line ends input, as in python3, whatever
             * state libedit's key map is in (a test saw it swallowed). */
            int eof = le.first_key && le.have_cooked && c == le.cooked.c_cc[VEOF];
            le.first_key = 0;
            return eof ? EOF : c;
        }
        if (n == 0 || (errno != EINTR && errno != EAGAIN))
            return EOF;
    }
}

static char **attempt(const char *text, int start, int end) {
    (void)start, (void)end;
    lineedit_free_matches(le.matches);
    le.matches = le.complete ? le.complete(text, le.ud) : NULL;
    if (le.append_char) /* "os.pa" -> "os.path" with no space after */
        *le.append_char = 0;
    return le.matches ? le.completion_matches(text, generate) : NULL;
}

void lineedit_free_matches(char **matches) {
    for (size_t i = 0; matches && matches[i]; i++)
        free(matches[i]);
    free(matches);
    if (matches == le.matches)
        le.matches = NULL;
}

int lineedit_init(lineedit_complete_fn *complete, void *ud) {
    if (!isatty(0) || getenv("CLOCHE_NO_LINEEDIT") || load() != 0)
        return 0;
    le.have_cooked = tcgetattr(0, &le.cooked) == 0;
    /* Its own open file description: O_NONBLOCK here leaves stdin's (which
     * the shell shares) alone. */
    le.nonblocking_fd = open("/proc/self/fd/0", O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    le.complete = complete;
    le.ud = ud;
    if (le.catch_signals)
        *le.catch_signals = 0; /* Ctrl-C is ours: see lineedit_read */
    *le.getc_function = interruptible_getc; /* read before the first readline */
    if (le.word_breaks) /* like Python's: '.' joins "obj.attr" into one word */
        *le.word_breaks = " \t\n`~!@#$%^&*()-=+[{]}\\|;:'\",<>/?";
    if (le.attempted_completion)
        *le.attempted_completion = attempt;
    history_path();
    if (le.stifle_history)
        le.stifle_history(HISTORY_MAX);
    if (le.history[0] && le.read_history)
        le.read_history(le.history);
    return 1;
}

static void on_sigint(int sig) {
    (void)sig;
    interrupted = 1;
}

static char *plain_read(const char *prompt) {
    if (isatty(0))
        fputs(prompt, stdout), fflush(stdout);
    size_t cap = 256, len = 0;
    char *buf = malloc(cap);
    int c = EOF;
    while (buf && !interrupted && (c = getchar()) != EOF && c != '\n') {
        if (len + 2 > cap) {
            char *grown = realloc(buf, cap *= 2);
            if (!grown) {
                free(buf);
                return NULL;
            }
            buf = grown;
        }
        buf[len++] = (char)c;
    }
    if (!buf || interrupted || (c == EOF && len == 0)) {
        free(buf);
        clearerr(stdin);
        return NULL;
    }
    buf[len] = 0;
    return buf;
}

char *lineedit_read(const char *prompt, int *was_interrupted) {
    /* SIGINT without SA_RESTART: a blocked read returns EINTR, libedit
     * (see interruptible_getc) or getchar gives up on the line, and the
     * flag tells it from EOF. */
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigset_t sigint, old_mask;
    sigemptyset(&sigint);
    sigaddset(&sigint, SIGINT);
    interrupted = 0;
    pthread_sigmask(SIG_BLOCK, &sigint, &old_mask);
    while_waiting = old_mask;
    sigdelset(&while_waiting, SIGINT);
    sigaction(SIGINT, &sa, &old);
    if (!le.lib)
        pthread_sigmask(SIG_SETMASK, &while_waiting, NULL);
    /* libedit's readline() takes the terminal's modes as it finds them as
     * the ones to edit from and to go back to; give it the REPL's own
     * every time, so one line's raw mode never becomes the next one's
     * "cooked" (seen as type-ahead and Ctrl-C lost under pexpect). */
    if (le.lib && le.have_cooked)
        tcsetattr(0, TCSADRAIN, &le.cooked);
    le.first_key = 1;
    char *line = le.lib ? le.readline(prompt) : plain_read(prompt);
    /* A Ctrl-C still pending is taken by on_sigint, not the old action. */
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    sigaction(SIGINT, &old, NULL);
    *was_interrupted = interrupted;
    if (interrupted) {
        free(line);
        return NULL;
    }
    return line;
}

void lineedit_remember(const char *line) {
    if (!le.lib || !line[strspn(line, " \t")])
        return;
    le.add_history(line);
    if (le.history[0] && le.write_history)
        le.write_history(le.history);
}

int lineedit_active(void) { return le.lib != NULL; }
