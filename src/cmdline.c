#include <config.h>

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "cmdline.h"
#include "js-json.h"
#include "js.h"
#include "xmalloc.h"

/*
 * Command-line text helpers. The splitter follows the reference's
 * splitCommandLine(): a small state machine over characters, where
 * "whitespace" is JavaScript's \s (ASCII space and controls plus the
 * Unicode spaces). Everything here is pure.
 */

struct cmdline_state {
	struct buf	 cur;
	char			 quote;		/* '\'', '"' or 0 */
	int			 escaping;
	int			 has_part;
	char			**parts;
	size_t			 nparts;
};

static void
cmdline_flush(struct cmdline_state *st)
{
	if (!st->has_part)
		return;
	st->parts = xreallocarray(st->parts, st->nparts + 2, sizeof *st->parts);
	st->parts[st->nparts++] = buf_take(&st->cur);
	st->parts[st->nparts] = NULL;
	st->has_part = 0;
}

/* Split a raw command string into argv (spec §7.3). */
int
cmdline_split(const char *s, char ***argv, char **cause)
{
	struct cmdline_state	 st;
	size_t			 n, sp;

	memset(&st, 0, sizeof st);
	*argv = NULL;
	for (; *s != '\0'; s += n) {
		n = 0;
		(void)js_utf8_next(s, SIZE_MAX, &n);
		if (st.escaping) {
			buf_add(&st.cur, s, n);
			st.escaping = 0;
			st.has_part = 1;
		} else if (*s == '\\' && st.quote != '\'')
			st.escaping = 1;
		else if (st.quote != 0) {
			if (*s == st.quote)
				st.quote = 0;
			else
				buf_add(&st.cur, s, n);
			st.has_part = 1;
		} else if (*s == '\'' || *s == '"') {
			st.quote = *s;
			st.has_part = 1;
		} else if ((sp = js_space(s, SIZE_MAX)) != 0) {
			n = sp;
			cmdline_flush(&st);
		} else {
			buf_add(&st.cur, s, n);
			st.has_part = 1;
		}
	}
	if (st.escaping) {
		buf_add(&st.cur, "\\", 1);
		st.has_part = 1;
	}
	if (st.quote != 0) {
		free(st.cur.p);
		cmdline_free(st.parts);
		*cause = xstrdup("Invalid --agent command: unterminated quote");
		return (-1);
	}
	cmdline_flush(&st);
	free(st.cur.p);
	if (st.nparts == 0 || *st.parts[0] == '\0') {
		cmdline_free(st.parts);
		*cause = xstrdup("Invalid --agent command: empty command");
		return (-1);
	}
	*argv = st.parts;
	return (0);
}

/* Append one formatted entry to a NULL-terminated argv of *n entries. */
void
cmdline_appendf(char ***argv, size_t *n, const char *fmt, ...)
{
	va_list	ap;

	*argv = xreallocarray(*argv, *n + 2, sizeof **argv);
	va_start(ap, fmt);
	xvasprintf(&(*argv)[(*n)++], fmt, ap);
	va_end(ap);
	(*argv)[*n] = NULL;
}

/* Free a NULL-terminated argv. */
void
cmdline_free(char **argv)
{
	char	**a;

	if (argv == NULL)
		return;
	for (a = argv; *a != NULL; a++)
		free(*a);
	free(argv);
}

/* Number of entries of a NULL-terminated argv. */
size_t
cmdline_count(char *const *argv)
{
	size_t	n = 0;

	if (argv != NULL) {
		while (argv[n] != NULL)
			n++;
	}
	return (n);
}

/* Deep copy of a NULL-terminated argv. */
char **
cmdline_copy(char *const *argv)
{
	size_t	  n = cmdline_count(argv), i;
	char	**copy;

	copy = xcalloc(n + 1, sizeof *copy);
	for (i = 0; i < n; i++)
		copy[i] = xstrdup(argv[i]);
	return (copy);
}

/* JSON.stringify of one string. */
static char *
cmdline_quote(const char *s)
{
	json_t	*v;
	char	*out;

	if ((v = json_string(s)) == NULL)
		return (xstrdup("\"\""));
	out = js_json_dumps(v, 0);
	json_decref(v);
	return (out);
}

/* True if every byte of s is in [A-Za-z0-9_@%+=:,./^~-] and s is non-empty. */
static int
cmdline_identity_safe(const char *s)
{
	static const char	 extra[] = "_@%+=:,./^~-";

	if (*s == '\0')
		return (0);
	for (; *s != '\0'; s++) {
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr(extra, *s) != NULL)
			continue;
		return (0);
	}
	return (1);
}

/* Identity string of an argv-form agent (§6.3). */
char *
cmdline_identity(char *const *argv)
{
	struct buf	 b;
	char			*q;
	size_t			 i;

	memset(&b, 0, sizeof b);
	for (i = 0; argv[i] != NULL; i++) {
		if (i > 0)
			buf_add(&b, " ", 1);
		if (cmdline_identity_safe(argv[i]))
			buf_add(&b, argv[i], strlen(argv[i]));
		else {
			q = cmdline_quote(argv[i]);
			buf_add(&b, q, strlen(q));
			free(q);
		}
	}
	return (buf_take(&b));
}

/* Identity of a legacy command + args entry. */
char *
cmdline_legacy_identity(const char *command, char *const *args)
{
	struct buf	 b;
	char			*q;
	size_t			 i;

	memset(&b, 0, sizeof b);
	buf_add(&b, command, strlen(command));
	for (i = 0; args != NULL && args[i] != NULL; i++) {
		q = cmdline_quote(args[i]);
		buf_add(&b, " ", 1);
		buf_add(&b, q, strlen(q));
		free(q);
	}
	return (buf_take(&b));
}

