#include <config.h>

#include <sys/ioctl.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "acpx.h"
#include "buf.h"
#include "cli-impl.h"
#include "cmd.h"
#include "js-json.h"
#include "js.h"
#include "xmalloc.h"

/*
 * Commander's help layout (formatHelp: usage, description, arguments,
 * options, commands, wrapped to the terminal), for any command of a
 * parse; the rows come from the command table (cmd.h).
 */

static const char cli_examples[] =
    "\n"
    "Examples:\n"
    "  acpx pi \"review recent changes\"\n"
    "  acpx openclaw exec \"summarize active session state\"\n"
    "  acpx codex sessions new\n"
    "  acpx codex \"fix the tests\"\n"
    "  acpx codex prompt \"fix the tests\"\n"
    "  acpx codex --no-wait \"queue follow-up task\"\n"
    "  acpx codex exec \"what does this repo do\"\n"
    "  acpx codex cancel\n"
    "  acpx codex set-mode plan\n"
    "  acpx codex set model 'gpt-5.2[high]'\n"
    "  acpx codex -s backend \"fix the API\"\n"
    "  acpx codex sessions\n"
    "  acpx codex sessions new --name backend\n"
    "  acpx codex sessions ensure --name backend\n"
    "  acpx codex sessions close backend\n"
    "  acpx codex status\n"
    "  acpx config show\n"
    "  acpx config init\n"
    "  acpx --ttl 30 codex \"investigate flaky tests\"\n"
    "  acpx claude \"refactor auth\"\n"
    "  acpx --agent ./my-custom-server \"do something\"\n";

/* ------------------------------------------------------------- help */

/* Commander's helpWidth: the terminal's columns on a TTY, else 80. */
static size_t
cli_help_width(int fd)
{
	struct winsize	ws;

	if (isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return (ws.ws_col);
	return (80);
}

/* Help.boxWrap(): wrap at whitespace to width, keeping line breaks. */
static char *
cli_box_wrap(const char *str, size_t width)
{
	struct buf	 b = BUF_INITIALIZER;
	const char	*line, *nl, *p, *cs, *ce;
	size_t		 sum, w;
	int		 first;

	if (width < 40)
		return (xstrdup(str));
	buf_adds(&b, "");
	for (line = str;; line = nl + 1) {
		nl = strchr(line, '\n');
		if (nl == NULL)
			nl = line + strlen(line);
		if (line != str)
			buf_adds(&b, "\n");
		sum = 0;
		first = 1;
		for (p = line; p < nl;) {
			/* chunk: leading whitespace then non-whitespace */
			cs = p;
			while (p < nl && isspace((unsigned char)*p))
				p++;
			if (p == nl)
				break;
			while (p < nl && !isspace((unsigned char)*p))
				p++;
			ce = p;
			{
				char *chunk = xstrndup(cs, (size_t)(ce - cs));

				w = js_strlen(chunk);
				if (first) {
					buf_adds(&b, chunk);
					sum = w;
					first = 0;
				} else if (sum + w <= width) {
					buf_adds(&b, chunk);
					sum += w;
				} else {
					const char *t = chunk;

					buf_adds(&b, "\n");
					while (isspace((unsigned char)*t))
						t++;
					buf_adds(&b, t);
					sum = js_strlen(t);
				}
				free(chunk);
			}
		}
		if (*nl == '\0')
			break;
	}
	return (buf_take(&b));
}

/* Help.formatItem(). */
static void
cli_format_item(struct buf *b, const char *term, size_t term_width,
    const char *desc, size_t help_width)
{
	size_t	 tw = js_strlen(term), remaining;
	char	*wrapped;
	const char *p;

	buf_adds(b, "  ");
	if (desc == NULL || *desc == '\0') {
		buf_adds(b, term);
		buf_adds(b, "\n");
		return;
	}
	buf_adds(b, term);
	buf_fill(b, ' ', term_width > tw ? term_width - tw : 0);
	buf_adds(b, "  ");
	remaining = help_width > term_width + 4 ? help_width - term_width - 4 : 0;
	wrapped = remaining < 40 ? xstrdup(desc) : cli_box_wrap(desc, remaining);
	for (p = wrapped; *p != '\0'; p++) {
		if (*p == '\n') {
			buf_adds(b, "\n  ");
			if (remaining >= 40)
				buf_fill(b, ' ', term_width + 2);
		} else
			buf_add(b, p, 1);
	}
	free(wrapped);
	buf_adds(b, "\n");
}

/* Help.optionDescription(): description plus "(default: ...)". */
static char *
cli_option_desc(const struct cli_run *run, const struct cli_cmd *cmd,
    const struct cmd_opt *o)
{
	json_t	*s;
	char	*q, *out;

	if (cmd->parent == NULL && o == cmd_find_opt(cmd->def, "--cwd")) {
		s = json_string(run->process_cwd);
		q = s != NULL ? js_json_dumps(s, 0) : xstrdup("\"\"");
		json_decref(s);
		xasprintf(&out, "%s (default: %s)", o->desc, q);
		free(q);
		return (out);
	}
	if (o->def != NULL) {
		xasprintf(&out, "%s (default: %s)", o->desc, o->def);
		return (out);
	}
	return (xstrdup(o->desc));
}

/* Help.subcommandTerm(). */
static char *
cli_sub_term(const struct cli_cmd *c)
{
	struct buf	 b = BUF_INITIALIZER;
	char		*h;
	size_t		 i;

	buf_adds(&b, c->name);
	if (c->def->alias != NULL) {
		buf_adds(&b, "|");
		buf_adds(&b, c->def->alias);
	}
	if (c->def->opts != NULL && c->def->opts[0] != NULL)
		buf_adds(&b, " [options]");
	for (i = 0; i < c->nargs; i++) {
		h = cli_arg_human(c->args[i].spec);
		buf_adds(&b, " ");
		buf_adds(&b, h);
		free(h);
	}
	return (buf_take(&b));
}

/* The implicit "help [command]" command: subcommands and no action. */
static int
cli_has_help_command(const struct cli_cmd *c)
{
	return (c->nsubs > 0 && !(c->def->flags & CMD_ACTION));
}

/* The full help text of a command (Commander's formatHelp). */
char *
cli_help_text(struct cli_run *run, const struct cli_cmd *ccmd, int fd)
{
	struct cli_cmd			*cmd = (struct cli_cmd *)ccmd;
	struct buf			 b = BUF_INITIALIZER;
	const struct cli_cmd		*a;
	const struct cmd_opt *const	*o;
	char				**terms, **descs, *h, *wrapped, *anc;
	size_t				 width, tw = 0, n = 0, i, nopts, nhidden = 0;
	int				 have_arg_desc = 0;

	cli_cmd_children(run, cmd);
	width = cli_help_width(fd);

	/* Usage. */
	anc = xstrdup("");
	for (a = cmd->parent; a != NULL; a = a->parent) {
		xasprintf(&h, "%s %s", a->name, anc);
		free(anc);
		anc = h;
	}
	buf_adds(&b, "Usage: ");
	buf_adds(&b, anc);
	free(anc);
	buf_adds(&b, cmd->name);
	buf_adds(&b, " [options]");
	if (cmd->nsubs > 0 || cli_has_help_command(cmd))
		buf_adds(&b, " [command]");
	for (i = 0; i < cmd->nargs; i++) {
		h = cli_arg_human(cmd->args[i].spec);
		buf_adds(&b, " ");
		buf_adds(&b, h);
		free(h);
	}
	buf_adds(&b, "\n\n");
	h = cli_cmd_desc(run, cmd);
	if (*h != '\0') {
		wrapped = cli_box_wrap(h, width);
		buf_adds(&b, wrapped);
		buf_adds(&b, "\n\n");
		free(wrapped);
	}
	free(h);

	/* Collect terms to compute the pad width. */
	nopts = 0;
	for (o = cmd->def->opts; o != NULL && *o != NULL; o++)
		nopts++;
	terms = xcalloc(cmd->nargs + nopts + cmd->nsubs + 3, sizeof *terms);
	descs = xcalloc(cmd->nargs + nopts + cmd->nsubs + 3, sizeof *descs);
	for (i = 0; i < cmd->nargs; i++) {
		if (cmd->args[i].desc != NULL && *cmd->args[i].desc != '\0')
			have_arg_desc = 1;
	}
	if (have_arg_desc) {
		for (i = 0; i < cmd->nargs; i++) {
			terms[n] = cli_arg_name(cmd->args[i].spec);
			descs[n++] = xstrdup(cmd->args[i].desc != NULL ?
			    cmd->args[i].desc : "");
		}
	}
	for (o = cmd->def->opts; o != NULL && *o != NULL; o++) {
		if ((*o)->desc == NULL)
			continue;	/* ours, not in the reference's help */
		terms[n] = xstrdup((*o)->flags);
		descs[n++] = cli_option_desc(run, cmd, *o);
	}
	terms[n] = xstrdup(cmd_opt_help.flags);
	descs[n++] = xstrdup(cmd_opt_help.desc);
	for (i = 0; i < cmd->nsubs; i++) {
		if (cmd->subs[i]->def->flags & CMD_HIDDEN) {
			nhidden++;	/* ours, not in the reference's help */
			continue;
		}
		terms[n] = cli_sub_term(cmd->subs[i]);
		descs[n++] = cli_cmd_desc(run, cmd->subs[i]);
	}
	if (cli_has_help_command(cmd)) {
		terms[n] = xstrdup("help [command]");
		descs[n++] = xstrdup("display help for command");
	}
	for (i = 0; i < n; i++) {
		if (js_strlen(terms[i]) > tw)
			tw = js_strlen(terms[i]);
	}

	i = 0;
	if (have_arg_desc) {
		buf_adds(&b, "Arguments:\n");
		for (; i < cmd->nargs; i++)
			cli_format_item(&b, terms[i], tw, descs[i], width);
		buf_adds(&b, "\n");
	}
	buf_adds(&b, "Options:\n");
	for (; i < n - (cmd->nsubs - nhidden) - (cli_has_help_command(cmd) ?
	    1 : 0); i++)
		cli_format_item(&b, terms[i], tw, descs[i], width);
	if (i < n) {
		buf_adds(&b, "\nCommands:\n");
		for (; i < n; i++)
			cli_format_item(&b, terms[i], tw, descs[i], width);
	}
	for (i = 0; i < n; i++) {
		free(terms[i]);
		free(descs[i]);
	}
	free(terms);
	free(descs);
	if (cmd->parent == NULL)
		buf_adds(&b, cli_examples);
	return (buf_take(&b));
}
