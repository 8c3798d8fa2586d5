#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acpx.h"
#include "agent-registry.h"
#include "cli-impl.h"
#include "cli-opt.h"
#include "cmd.h"
#include "config-file.h"
#include "error.h"
#include "js.h"
#include "xmalloc.h"

/*
 * The commands of one parse: a tree of struct cli_cmd instantiated from
 * the command table (the root, an agent command per built-in, configured
 * and command-line agent, the verbs), with Commander's per-command option
 * state (value and source, defaults first) and its program.command()
 * checks for agent names.
 */

/* s is one of the n strings of list. */
static int
cli_in(const char *s, const char *const *list, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (strcmp(s, list[i]) == 0)
			return (1);
	}
	return (0);
}

/* Register the default values of a command's options. */
static void
cli_cmd_defaults(struct cli_run *run, struct cli_cmd *c)
{
	const struct cmd_opt *const	*o;

	for (o = c->def->opts; o != NULL && *o != NULL; o++) {
		if ((*o)->kind == CMD_OPT_NEGATE)
			json_object_set_new(c->vals, (*o)->key, json_true());
		else if ((*o)->def != NULL)
			json_object_set_new(c->vals, (*o)->key,
			    json_integer(atoll((*o)->def)));
		else if (c->parent == NULL && strcmp((*o)->key, "cwd") == 0)
			json_object_set_new(c->vals, "cwd",
			    json_string(run->process_cwd));
		else
			continue;
		json_object_set_new(c->srcs, (*o)->key, json_string("default"));
	}
}

/* A new command node. */
struct cli_cmd *
cli_cmd_new(struct cli_run *run, const struct cmd_entry *def,
    const char *name, struct cli_cmd *parent)
{
	struct cli_cmd	*c;
	size_t		 i;

	c = xcalloc(1, sizeof *c);
	c->def = def;
	c->parent = parent;
	c->name = xstrdup(name != NULL ? name : def->name);
	if (parent != NULL && parent->def == &cmd_agent_entry &&
	    def->agent_desc != NULL)
		c->desc = xstrdup(def->agent_desc);
	else if (def->flags & CMD_DEFAULT_DESC)
		xasprintf(&c->desc, def->desc, run->config->default_agent);
	else
		c->desc = xstrdup(def->desc);
	c->nargs = def->nargs;
	c->args = xcalloc(def->nargs + 1, sizeof *c->args);
	for (i = 0; i < def->nargs; i++)
		c->args[i] = def->args[i];
	c->vals = json_object();
	c->srcs = json_object();
	cli_cmd_defaults(run, c);
	return (c);
}

void
cli_cmd_free(struct cli_cmd *c)
{
	size_t	i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nsubs; i++)
		cli_cmd_free(c->subs[i]);
	free(c->subs);
	for (i = 0; i < c->nargs; i++) {
		if (c->args[i].desc == NULL)
			free((char *)c->args[i].spec);
	}
	free(c->args);
	free(c->name);
	free(c->desc);
	free(c->agent);
	json_decref(c->vals);
	json_decref(c->srcs);
	json_decref(c->processed);
	free(c);
}

static void
cli_cmd_add(struct cli_cmd *parent, struct cli_cmd *c)
{
	parent->subs = xreallocarray(parent->subs, parent->nsubs + 1,
	    sizeof *parent->subs);
	parent->subs[parent->nsubs++] = c;
}

/* The subcommand of c with this name, or NULL. */
struct cli_cmd *
cli_find_cmd(const struct cli_cmd *c, const char *name)
{
	size_t	i;

	for (i = 0; i < c->nsubs; i++) {
		if (strcmp(c->subs[i]->name, name) == 0 ||
		    (c->subs[i]->def->alias != NULL &&
		    strcmp(c->subs[i]->def->alias, name) == 0))
			return (c->subs[i]);
	}
	return (NULL);
}

/* Instantiate a command's subcommands (the root's are built at setup). */
void
cli_cmd_children(struct cli_run *run, struct cli_cmd *c)
{
	const struct cmd_entry	*d;
	struct cli_cmd		*sub;
	size_t			 i;

	if (c->subs_built)
		return;
	c->subs_built = 1;
	for (i = 0; (d = cmd_sub(c->def, i)) != NULL; i++) {
		sub = cli_cmd_new(run, d, NULL, c);
		if (c->agent != NULL)
			sub->agent = xstrdup(c->agent);
		cli_cmd_add(c, sub);
	}
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
 * reference) on a duplicate name or a misplaced variadic argument.
 */
static int
cli_register_agent(struct cli_run *run, const char *name_and_args,
    const char *agent_name)
{
	struct cli_cmd	*c;
	const char	*p, *start, *rest;
	char		*name, *args, *trimmed, *tok, *save, *prev = NULL;
	struct cli_list	 extra = { NULL, 0 };
	size_t		 i;
	int		 rc = -1;

	for (p = name_and_args; *p == ' '; p++)
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
	name = xstrndup(start, (size_t)(p - start));
	while (*p == ' ')
		p++;
	for (rest = p; *p != '\0' && cli_line_terminator(p) == 0; p++)
		;
	args = xstrndup(rest, (size_t)(p - rest));
	trimmed = js_trim_dup(args);
	if (*args != '\0') {
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
	free(c->desc);
	xasprintf(&c->desc, "Use %s agent", agent_name);
	c->agent = xstrdup(agent_name);
	if (extra.n > 0) {
		free(c->args);
		c->args = xcalloc(extra.n + 2, sizeof *c->args);
		for (i = 0; i < extra.n; i++) {
			c->args[i].spec = extra.v[i];	/* owned: desc NULL */
			extra.v[i] = NULL;
		}
		c->args[i] = cmd_agent_entry.args[0];
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
	free(name);
	return (rc);
}

/*
 * Build the root: agents (built-in and configured, then the agent token
 * of the command line unless it is a reserved word), then the verbs of
 * the command table.
 */
int
cli_cmd_setup(struct cli_run *run)
{
	const struct cmd_entry	*d;
	struct cli_list		 agents = { NULL, 0 };
	size_t			 i;
	int			 idx, override, rc = -1;

	run->root = cli_cmd_new(run, &cmd_root_entry, NULL, NULL);
	run->root->subs_built = 1;
	for (i = 0; i < agent_registry_count(); i++)
		cli_list_add(&agents, (char *)agent_registry_name(i));
	for (i = 0; i < run->config->nagents; i++) {
		if (!cli_in(run->config->agents[i].name, (const char *const *)
		    agents.v, agents.n))
			cli_list_add(&agents, run->config->agents[i].name);
	}
	for (i = 0; i < agents.n; i++) {
		if (cli_register_agent(run, agents.v[i], agents.v[i]) == -1)
			goto out;
	}
	for (i = 0; (d = cmd_sub(&cmd_root_entry, i)) != NULL; i++) {
		if (cli_find_cmd(run->root, d->name) != NULL) {
			cli_fail(run, acpx_error_new(ACPX_CODE_RUNTIME, NULL,
			    "cli", "cannot add command '%s' as already have "
			    "command '%s'", d->name, d->name));
			goto out;
		}
		cli_cmd_add(run->root, cli_cmd_new(run, d, NULL, run->root));
	}
	idx = cli_scan_agent_token(run->argv, (size_t)run->argc, &override);
	if (idx >= 0 && !override && *run->argv[idx] != '\0' &&
	    !cmd_reserved(run->argv[idx]) &&
	    !cli_in(run->argv[idx], (const char *const *)agents.v, agents.n)) {
		if (cli_register_agent(run, run->argv[idx],
		    run->argv[idx]) == -1)
			goto out;
	}
	rc = 0;
out:
	free(agents.v);
	return (rc);
}

/* -------------------------------------------------------- option values */

/* The value of key on cmd itself (borrowed) or NULL. */
const json_t *
cli_opt_value(const struct cli_cmd *cmd, const char *key)
{
	return (json_object_get(cmd->vals, key));
}

/* optsWithGlobals()[key]: the outermost command that has a value wins. */
const json_t *
cli_opt_global(const struct cli_cmd *cmd, const char *key)
{
	const json_t	*v = NULL, *x;

	for (; cmd != NULL; cmd = cmd->parent) {
		if ((x = json_object_get(cmd->vals, key)) != NULL)
			v = x;
	}
	return (v);
}

/* resolveCommandOption(): the nearest value given on the command line. */
const json_t *
cli_opt_from_cli(const struct cli_cmd *cmd, const char *key)
{
	const char	*src;

	for (; cmd != NULL; cmd = cmd->parent) {
		src = json_string_value(json_object_get(cmd->srcs, key));
		if (src != NULL && strcmp(src, "cli") == 0)
			return (json_object_get(cmd->vals, key));
	}
	return (NULL);
}

/* Commander's option event: store (and validate) one option value. */
int
cli_set_option(struct cli_run *run, struct cli_cmd *cmd,
    const struct cmd_opt *o, const char *value)
{
	json_t	*v = NULL;
	char	*msg = NULL;

	if (o == &cli_opt_version) {
		if (!run->strict)
			cli_print_version(0);
		run->status = ACPX_EXIT_SUCCESS;
		return (-1);
	}
	switch (o->kind) {
	case CMD_OPT_BOOL:
		v = json_true();
		break;
	case CMD_OPT_NEGATE:
		v = json_false();
		break;
	case CMD_OPT_VALUE:
		if (o->parse == NULL)
			v = json_string(value);
		else if (o->parse(value, json_object_get(cmd->vals, o->key), &v,
		    &msg) == -1) {
			cli_cmd_error(run, cmd, "error: option '%s' argument '%s' "
			    "is invalid. %s", o->flags, value, msg);
			free(msg);
			return (-1);
		}
		if (v == NULL)		/* not valid UTF-8: keep the bytes' gist */
			v = json_string("");
		break;
	}
	json_object_set_new(cmd->vals, o->key, v);
	json_object_set_new(cmd->srcs, o->key, json_string("cli"));
	return (0);
}
