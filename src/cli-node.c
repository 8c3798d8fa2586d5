#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acpx-error.h"
#include "acpx.h"
#include "cli-impl.h"
#include "cmd.h"
#include "config-file.h"
#include "xmalloc.h"

/*
 * --node <name> on the command line: the command is parsed here as usual
 * (so a usage error reads the same), then, instead of its own checks and
 * run, the node runs it (node-relay.h). What goes to the node is our
 * argv without the --node option, with a --file value replaced by "-":
 * the file is read here and sent as standard input. Everything else
 * (paths, the agent, the config) is the node's.
 */

/* Remember where the values of --node and --file are in argv. */
void
cli_node_note(struct cli_run *run, const char *key, const char *value)
{
	size_t	i;
	char	kind;

	if (value == NULL)
		return;
	if (strcmp(key, "node") == 0)
		kind = 'n';
	else if (strcmp(key, "file") == 0)
		kind = 'f';
	else
		return;
	for (i = 0; i < run->nnode_notes; i++) {
		if (run->node_notes[i] == value)
			return;
	}
	if (run->nnode_notes < CLI_NODE_NOTES) {
		run->node_notes[run->nnode_notes] = value;
		run->node_note_kind[run->nnode_notes++] = kind;
	}
}

/* The commands a node runs. */
static int
cli_node_allowed(const struct invocation *inv)
{
	static const char *const verbs[] = { "prompt", "exec", "cancel",
	    "set-mode", "set", "status", "sessions", NULL };
	size_t	i;

	if (inv->verb == NULL)		/* acpx [agent] [prompt...] */
		return (1);
	for (i = 0; verbs[i] != NULL; i++) {
		if (strcmp(inv->verb, verbs[i]) == 0)
			return (1);
	}
	return (strcmp(inv->verb, "warp") == 0 && inv->subverb != NULL &&
	    (strcmp(inv->subverb, "list") == 0 || strcmp(inv->subverb,
	    "doctor") == 0 || strcmp(inv->subverb, "probe") == 0));
}

/* Which note (if any) argv word a is, or holds attached; -1 if none. */
static int
cli_node_find(const struct cli_run *run, const char *a, int *attached)
{
	size_t	i, len = strlen(a);

	for (i = 0; i < run->nnode_notes; i++) {
		if (run->node_notes[i] == a) {
			*attached = 0;
			return ((int)i);
		}
		if (run->node_notes[i] > a && run->node_notes[i] <= a + len) {
			*attached = 1;
			return ((int)i);
		}
	}
	return (-1);
}

/* Build inv->node_argv and inv->node_file; -1 after an error. */
static int
cli_node_argv(struct cli_run *run, struct invocation *inv)
{
	const char	*a, *file = NULL;
	char		**out, *w;
	size_t		  i, k, n = 0, found = 0;
	int		  idx, attached;

	out = xcalloc((size_t)run->argc + 1, sizeof *out);
	for (k = 0; k < (size_t)run->argc; k++) {
		a = run->argv[k];
		if ((idx = cli_node_find(run, a, &attached)) == -1) {
			out[n++] = xstrdup(a);
			continue;
		}
		found++;
		if (run->node_note_kind[idx] == 'n') {
			if (!attached && n > 0) {	/* and its flag */
				free(out[--n]);
				out[n] = NULL;
			}
			continue;
		}
		/* --file: "-" stays stdin; a path is read here. */
		if (strcmp(run->node_notes[idx], "-") == 0) {
			out[n++] = xstrdup(a);
			continue;
		}
		file = run->node_notes[idx];
		if (attached) {
			w = xstrndup(a, (size_t)(run->node_notes[idx] - a));
			xasprintf(&out[n++], "%s-", w);
			free(w);
		} else
			out[n++] = xstrdup("-");
	}
	out[n] = NULL;
	if (found < run->nnode_notes) {
		for (i = 0; out[i] != NULL; i++)
			free(out[i]);
		free(out);
		cli_usage_error(run, "With --node, write --node and --file as "
		    "options of their own (--node <name>, --file <path>)");
		return (-1);
	}
	inv->node_argv = out;
	inv->node_file = file != NULL ? xstrdup(file) : NULL;
	return (0);
}

/* Prepare a command given --node: the relay runs it (node-relay.h). */
int
cli_node_prepare(struct cli_run *run, struct cli_cmd *leaf,
    struct invocation *inv)
{
	const struct config	*c = run->config;
	const char		*name;
	size_t			 i, len;
	char			*names;

	/* The format and strictness for our own errors. */
	if (cli_prepare_globals(run, leaf, inv) == -1)
		return (-1);
	name = json_string_value(cli_opt_global(leaf, "node"));
	if (!cli_node_allowed(inv)) {
		cli_usage_error(run, "--node does not apply to '%s%s%s'; it "
		    "runs prompts, exec, cancel, set-mode, set, status, "
		    "sessions and warp list|doctor|probe", inv->verb,
		    inv->subverb != NULL ? " " : "", inv->subverb != NULL ?
		    inv->subverb : "");
		return (-1);
	}
	if (name == NULL || config_find_node(c, name) == NULL) {
		len = 1;
		for (i = 0; i < c->nnodes; i++)
			len += strlen(c->nodes[i].name) + 2;
		names = xcalloc(1, len);
		for (i = 0; i < c->nnodes; i++) {
			if (i > 0)
				strcat(names, ", ");
			strcat(names, c->nodes[i].name);
		}
		cli_fail(run, acpx_error_new(ACPX_CODE_USAGE, "NODE_UNKNOWN",
		    "cli", "Unknown node '%s' (%s%s)", name != NULL ? name : "",
		    c->nnodes > 0 ? "configured: " : "no nodes in the config; "
		    "see acpx-config(5)", names));
		free(names);
		return (-1);
	}
	if (cli_node_argv(run, inv) == -1)
		return (-1);
	inv->node = xstrdup(name);
	return (0);
}
