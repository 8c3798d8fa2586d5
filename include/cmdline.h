/*
 * Command-line text: the shell-like splitter for raw agent command strings
 * (spec acpx-cli.md §7.3, no shell, no expansion), the identity strings of
 * argv-form agents (§6.3), and the JavaScript string rules the reference
 * applies to what users type: String.prototype.trim() whitespace and
 * UTF-16 lengths. Pure: no I/O.
 */
#ifndef ACPX_CMDLINE_H
#define ACPX_CMDLINE_H

#include <stddef.h>

/*
 * Split a raw command string into a NULL-terminated argv: whitespace
 * separates words, '...' is literal, "..." honours backslash escapes, a
 * backslash outside single quotes escapes the next character, a trailing
 * lone backslash is kept. Returns 0, or -1 with *cause set to
 * "Invalid --agent command: unterminated quote" or "... empty command".
 * Free *argv with cmdline_free().
 */
int		 cmdline_split(const char *s, char ***argv, char **cause);

/* Free a NULL-terminated argv (NULL is fine). */
void		 cmdline_free(char **argv);

/* Number of entries of a NULL-terminated argv. */
size_t		 cmdline_count(char *const *argv);

/* Deep copy of a NULL-terminated argv. */
char		**cmdline_copy(char *const *argv);

/*
 * Append one formatted entry to *argv (NULL-terminated, *n entries; start
 * from NULL and 0), as the text reports build their lines. Free the whole
 * with cmdline_free().
 */
void		 cmdline_appendf(char ***argv, size_t *n, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));

/*
 * Identity string of an argv-form agent: the words joined by spaces, each
 * word that does not match ^[A-Za-z0-9_@%+=:,./^~-]+$ written as a JSON
 * string. Caller owns.
 */
char		*cmdline_identity(char *const *argv);

/* Identity of a legacy command + args entry: `cmd "a1" "a2"`. Caller owns. */
char		*cmdline_legacy_identity(const char *command, char *const *args);


#endif
