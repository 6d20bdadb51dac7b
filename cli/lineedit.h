/* Line editing and history for `cloche repl` (libedit, loaded at run time;
 * see lineedit.c). One reader per process. */
#ifndef CLOCHE_CLI_LINEEDIT_H
#define CLOCHE_CLI_LINEEDIT_H

/* Completions of text: a malloc'd NULL-terminated array of malloc'd
 * strings (freed with lineedit_free_matches), or NULL for none. */
typedef char **lineedit_complete_fn(const char *text, void *ud);

/* Use libedit when stdin is a terminal and the library loads (unless
 * $CLOCHE_NO_LINEEDIT is set); load the history file. Returns 1 if line
 * editing is on, 0 for plain reads. */
int lineedit_init(lineedit_complete_fn *complete, void *ud);

/* One line, without its newline: malloc'd, or NULL at end of input or on
 * Ctrl-C (then *interrupted is 1). */
char *lineedit_read(const char *prompt, int *interrupted);

/* Add a line to the history (and its file). */
void lineedit_remember(const char *line);

void lineedit_free_matches(char **matches);
int lineedit_active(void);

#endif
