#include <config.h>

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "acpx.h"
#include "buf.h"
#include "cli-impl.h"
#include "cli.h"
#include "cmd.h"
#include "complete-impl.h"
#include "complete.h"
#include "config-file.h"
#include "output.h"
#include "xmalloc.h"

/*
 * acpx __complete: what the shell completion scripts ask. The partial
 * command line is walked through the command table the parser uses
 * (cmd.h), so completions never drift from the grammar: verbs
 * and subcommands, options (each command's own, help, and the global
 * options acpx-native accepts after the agent and the verb), enumerated
 * option values, agent names (built-ins, config agents, Warp agent ids of
 * the config's warp section) and live session names read from the
 * session records, scoped to the agent and directory on the command line.
 *
 * Protocol: acpx __complete [--describe] -- WORD... CURRENT
 * WORDs are the words after "acpx", CURRENT the (possibly empty) word under
 * the cursor. The first output line says what to do: ":words" (the
 * candidate lines follow, "value" or "value<TAB>description" with
 * --describe), ":files", ":dirs" (let the shell complete paths) or
 * ":none". The shell filters by CURRENT itself.
 * acpx __complete --list-commands | --list-options prints the command
 * paths / "<path><TAB><flag>" pairs of the tables (for the docs test).
 */

/* Descriptions are one line without tabs. */
static void
complete_clean(char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\t' || *s == '\n' || *s == '\r')
			*s = ' ';
	}
}

/* Append one line (a newline goes between lines). */
static void
complete_line(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;

	if (b->len > 0)
		buf_addc(b, '\n');
	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

static void
complete_render(struct complete *c, struct buf *b)
{
	static const char *const kinds[] = { ":words", ":files", ":dirs",
	    ":none" };
	size_t	i;

	complete_line(b, "%s", kinds[c->kind]);
	for (i = 0; i < c->n; i++) {
		/* A value with a newline cannot be offered in a line protocol. */
		if (strchr(c->v[i].value, '\n') != NULL)
			continue;
		if (c->describe && c->v[i].desc != NULL && *c->v[i].desc != '\0') {
			complete_clean(c->v[i].desc);
			complete_line(b, "%s\t%s", c->v[i].value, c->v[i].desc);
		} else
			complete_line(b, "%s", c->v[i].value);
	}
}

/* ------------------------------------------------------------ the lists */

static void
complete_list_commands(const struct cmd_entry *def, const char *path,
    struct buf *b)
{
	const struct cmd_entry	*s;
	char			*p;
	size_t			 i;

	for (i = 0; (s = cmd_sub(def, i)) != NULL; i++) {
		if (s->flags & CMD_HIDDEN)
			continue;	/* ours, kept off the --help screens */
		if (*path == '\0')
			p = xstrdup(s->name);
		else
			xasprintf(&p, "%s %s", path, s->name);
		complete_line(b, "%s", p);
		complete_list_commands(s, p, b);
		free(p);
	}
}

static void
complete_list_options(const struct cmd_entry *def, const char *path,
    struct buf *b)
{
	const struct cmd_opt *const	*o;
	const struct cmd_entry		*s;
	char				*p;
	size_t				 i;

	for (o = def->opts; o != NULL && *o != NULL; o++) {
		if ((*o)->desc == NULL)
			continue;	/* ours, kept off the --help screens */
		if ((*o)->shortf != NULL)
			complete_line(b, "%s\t%s", path, (*o)->shortf);
		complete_line(b, "%s\t%s", path, (*o)->longf);
	}
	complete_line(b, "%s\t%s", path, cmd_opt_help.shortf);
	complete_line(b, "%s\t%s", path, cmd_opt_help.longf);
	for (i = 0; (s = cmd_sub(def, i)) != NULL; i++) {
		if (s->flags & CMD_HIDDEN)
			continue;
		if (def == &cmd_root_entry)
			p = xstrdup(s->name);
		else
			xasprintf(&p, "%s %s", path, s->name);
		complete_list_options(s, p, b);
		free(p);
	}
}

/* acpx __complete (see complete.h). */
int
cli_complete_main(int argc, char **argv)
{
	struct complete		 c;
	struct buf		 b = BUF_INITIALIZER;
	struct output_opts	 oo;
	struct output		*out;
	char			 cwdbuf[8192], *empty[] = { "" };
	int			 i, rc = ACPX_EXIT_SUCCESS;
	size_t			 j;

	memset(&c, 0, sizeof c);
	if (getcwd(cwdbuf, sizeof cwdbuf) == NULL)
		strcpy(cwdbuf, "/");
	c.process_cwd = xstrdup(cwdbuf);

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--describe") == 0)
			c.describe = 1;
		else if (strcmp(argv[i], "--list-commands") == 0) {
			complete_list_commands(&cmd_root_entry, "", &b);
			break;
		} else if (strcmp(argv[i], "--list-options") == 0) {
			complete_list_options(&cmd_root_entry, "acpx", &b);
			/* The agent command's own (acpx <agent> -s ...). */
			complete_list_options(&cmd_agent_entry, "<agent>", &b);
			break;
		} else if (strcmp(argv[i], "--") == 0) {
			i++;
			if (i < argc)
				cli_complete_words(&c, argv + i, argc - i);
			else
				cli_complete_words(&c, empty, 1);
			complete_render(&c, &b);
			break;
		} else {
			rc = ACPX_EXIT_USAGE;
			break;
		}
	}
	if (b.p != NULL) {
		memset(&oo, 0, sizeof oo);
		oo.format = ACPX_FORMAT_TEXT;
		out = output_create(&oo);
		output_result_text(out, "%s", b.p);
		output_free(out);
		free(b.p);
	}
	for (j = 0; j < c.n; j++) {
		free(c.v[j].value);
		free(c.v[j].desc);
	}
	free(c.v);
	free(c.process_cwd);
	config_free(c.config);
	return (rc);
}
