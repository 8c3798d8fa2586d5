#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acpx-error.h"
#include "acpx.h"
#include "agent-registry.h"
#include "cli-impl.h"
#include "cmd.h"
#include "config-file.h"
#include "js.h"
#include "xmalloc.h"

/*
 * The root's commands, in the reference's order: an agent command for
 * each built-in and configured agent, the verbs of the command table,
 * then the agent token of the command line unless it names one of those
 * or a reserved word; with Commander's program.command() checks (a
 * duplicate name, a misplaced variadic argument) and their messages.
 */

/* s is one of the n strings of list. */
static int
cli_in(const char *s, const char **list, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (strcmp(s, list[i]) == 0)
			return (1);
	}
	return (0);
}

/* True for the line terminators of a JavaScript regular expression's ".". */
static size_t
cli_line_terminator(const char *s)
{
	if (*s == '\n' || *s == '\r')
		return (1);
	if ((unsigned char)s[0] == 0xe2 && (unsigned char)s[1] == 0x80 &&
	    ((unsigned char)s[2] == 0xa8 || (unsigned char)s[2] == 0xa9))
		return (3);
	return (0);
}

/*
 * program.command(nameAndArgs) for an agent: the name is the first run of
 * non-spaces, the rest declares arguments. Fails (RUNTIME, as the
 * reference) on a duplicate name or a misplaced variadic argument. A
 * built-in (check == 0) is a plain unique name, checked by test-cli:
 * nothing to split, nothing to look up. agent_name is borrowed: it lives
 * as long as the parse (the registry, the config or argv).
 */
static int
cli_register_agent(struct cli_run *run, const char *agent_name, int check)
{
	struct cli_cmd	*c;
	const char	*p, *start, *rest, *name;
	char		*own_name = NULL, *args = NULL, *trimmed = NULL;
	char		*tok, *save, *prev = NULL;
	struct cli_list	 extra = { NULL, 0 };
	size_t		 i;
	int		 rc = -1;

	if (!check) {
		c = cli_cmd_new(run, &cmd_agent_entry, agent_name, run->root);
		c->agent = agent_name;
		cli_cmd_add(run->root, c);
		return (0);
	}
	for (p = agent_name; *p == ' '; p++)
		;
	if (*p == '\0') {
		cli_fail(run, acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli",
		    "object null is not iterable (cannot read property "
		    "Symbol(Symbol.iterator))"));
		return (-1);
	}
	start = p;
	while (*p != '\0' && *p != ' ')
		p++;
	if (start == agent_name && *p == '\0')
		name = agent_name;	/* no arguments declared */
	else
		name = own_name = xstrndup(start, (size_t)(p - start));
	while (*p == ' ')
		p++;
	for (rest = p; *p != '\0' && cli_line_terminator(p) == 0; p++)
		;
	if (p > rest) {
		args = xstrndup(rest, (size_t)(p - rest));
		trimmed = js_trim_dup(args);
	}
	if (args != NULL) {
		/* arguments(): trim, split on runs of spaces. */
		if (*trimmed == '\0')
			cli_list_add(&extra, xstrdup(""));
		for (tok = strtok_r(trimmed, " ", &save); tok != NULL;
		    tok = strtok_r(NULL, " ", &save))
			cli_list_add(&extra, xstrdup(tok));
		for (i = 0; i < extra.n; i++) {
			if (prev != NULL && cli_arg_variadic(prev)) {
				char *pn = cli_arg_name(prev);

				cli_fail(run, acpx_error_new(ACPX_CODE_RUNTIME,
				    NULL, "cli", "only the last argument can be "
				    "variadic '%s'", pn));
				free(pn);
				goto out;
			}
			prev = extra.v[i];
		}
	}
	if (cli_find_cmd(run->root, name) != NULL) {
		cli_fail(run, acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli",
		    "cannot add command '%s' as already have command '%s'",
		    name, name));
		goto out;
	}
	if (prev != NULL && cli_arg_variadic(prev)) {
		char *pn = cli_arg_name(prev);

		cli_fail(run, acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli",
		    "only the last argument can be variadic '%s'", pn));
		free(pn);
		goto out;
	}
	c = cli_cmd_new(run, &cmd_agent_entry, name, run->root);
	c->own_name = own_name;
	own_name = NULL;
	c->agent = agent_name;
	if (extra.n > 0) {
		c->own_args = xcalloc(extra.n + 2, sizeof *c->own_args);
		for (i = 0; i < extra.n; i++) {
			c->own_args[i].spec = extra.v[i];	/* owned: desc NULL */
			extra.v[i] = NULL;
		}
		c->own_args[i] = cmd_agent_entry.args[0];
		c->args = c->own_args;
		c->nargs = extra.n + 1;
	}
	cli_cmd_add(run->root, c);
	rc = 0;
out:
	for (i = 0; i < extra.n; i++)
		free(extra.v[i]);
	free(extra.v);
	free(trimmed);
	free(args);
	free(own_name);
	return (rc);
}

/*
 * Build the root: agents (built-in and configured, then the agent token
 * of the command line unless it is a reserved word), then the verbs of
 * the command table. The built-ins' names and the verbs' are distinct by
 * construction (test-cli checks it): only what the config or the command
 * line adds is looked up among the commands already there.
 */
int
cli_cmd_setup(struct cli_run *run)
{
	const struct cmd_entry	*d;
	const char		**agents;
	size_t			 i, n, nverbs, nbuiltin = agent_registry_count();
	int			 idx, override, rc = -1;

	run->root = cli_cmd_new(run, &cmd_root_entry, NULL, NULL);
	run->root->subs_built = 1;
	agents = xcalloc(nbuiltin + run->config->nagents + 1, sizeof *agents);
	for (n = 0; n < nbuiltin; n++)
		agents[n] = agent_registry_name(n);
	for (i = 0; i < run->config->nagents; i++) {
		if (!cli_in(run->config->agents[i].name, agents, n))
			agents[n++] = run->config->agents[i].name;
	}
	for (nverbs = 0; cmd_sub(&cmd_root_entry, nverbs) != NULL; nverbs++)
		;
	cli_cmd_reserve(run->root, n + nverbs + 1);
	for (i = 0; i < n; i++) {
		if (cli_register_agent(run, agents[i], i >= nbuiltin) == -1)
			goto out;
	}
	for (i = 0; (d = cmd_sub(&cmd_root_entry, i)) != NULL; i++) {
		if (n > nbuiltin && cli_find_cmd(run->root, d->name) != NULL) {
			cli_fail(run, acpx_error_new(ACPX_CODE_RUNTIME, NULL,
			    "cli", "cannot add command '%s' as already have "
			    "command '%s'", d->name, d->name));
			goto out;
		}
		cli_cmd_add(run->root, cli_cmd_new(run, d, NULL, run->root));
	}
	idx = cli_scan_agent_token(run->argv, (size_t)run->argc, &override);
	if (idx >= 0 && !override && *run->argv[idx] != '\0' &&
	    !cmd_reserved(run->argv[idx]) && !cli_in(run->argv[idx], agents, n)) {
		if (cli_register_agent(run, run->argv[idx], 1) == -1)
			goto out;
	}
	rc = 0;
out:
	free(agents);
	return (rc);
}
