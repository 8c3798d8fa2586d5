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
 * The commands of one parse: a tree of struct cli_cmd instantiated from
 * the command table (cli-agent.c builds the root's), with Commander's
 * per-command option state (value and source, defaults first).
 */

/*
 * A command's option state (values, sources, the defaults registered):
 * made the first time the parse reaches the command or reads its options,
 * so the many commands a command line never names cost no JSON objects.
 * The root's is made at once (its cwd default is the process's).
 */
static void
cli_cmd_state(struct cli_run *run, struct cli_cmd *c)
{
	const struct cmd_opt *const	*o;

	if (c->vals != NULL)
		return;
	c->vals = json_object();
	c->srcs = json_object();
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

/*
 * Room for n commands under c in one allocation (the root's ~45 nodes):
 * cli_cmd_new() takes its nodes from there while it lasts.
 */
void
cli_cmd_reserve(struct cli_cmd *c, size_t n)
{
	if (c->block != NULL || n == 0)
		return;
	c->block = xcalloc(n, sizeof *c->block);
	c->block_cap = n;
	c->subs = xreallocarray(c->subs, n, sizeof *c->subs);
	c->subs_cap = n;
}

/* A new command node (borrowing its definition's name and arguments). */
struct cli_cmd *
cli_cmd_new(struct cli_run *run, const struct cmd_entry *def,
    const char *name, struct cli_cmd *parent)
{
	struct cli_cmd	*c;

	if (parent != NULL && parent->nblock < parent->block_cap) {
		c = &parent->block[parent->nblock++];
		c->in_block = 1;
	} else
		c = xcalloc(1, sizeof *c);
	c->def = def;
	c->parent = parent;
	c->name = name != NULL ? name : def->name;
	c->nargs = def->nargs;
	c->args = def->args;
	if (parent == NULL)
		cli_cmd_state(run, c);
	return (c);
}

/* The description help shows for c (allocated). */
char *
cli_cmd_desc(const struct cli_run *run, const struct cli_cmd *c)
{
	const struct cmd_entry	*def = c->def;
	char			*desc;

	if (def == &cmd_agent_entry && c->agent != NULL)
		xasprintf(&desc, "Use %s agent", c->agent);
	else if (c->parent != NULL && c->parent->def == &cmd_agent_entry &&
	    def->agent_desc != NULL)
		desc = xstrdup(def->agent_desc);
	else if (def->flags & CMD_DEFAULT_DESC)
		xasprintf(&desc, def->desc, run->config->default_agent);
	else
		desc = xstrdup(def->desc != NULL ? def->desc : "");
	return (desc);
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
	if (c->own_args != NULL) {
		for (i = 0; i < c->nargs; i++) {
			if (c->own_args[i].desc == NULL)
				free((char *)c->own_args[i].spec);
		}
		free(c->own_args);
	}
	free(c->own_name);
	json_decref(c->vals);
	json_decref(c->srcs);
	json_decref(c->processed);
	free(c->block);
	if (!c->in_block)
		free(c);
}

void
cli_cmd_add(struct cli_cmd *parent, struct cli_cmd *c)
{
	if (parent->nsubs == parent->subs_cap) {
		parent->subs_cap = parent->subs_cap == 0 ? 8 :
		    parent->subs_cap * 2;
		parent->subs = xreallocarray(parent->subs, parent->subs_cap,
		    sizeof *parent->subs);
	}
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

	cli_cmd_state(run, c);
	if (c->subs_built)
		return;
	c->subs_built = 1;
	for (i = 0; (d = cmd_sub(c->def, i)) != NULL; i++) {
		sub = cli_cmd_new(run, d, NULL, c);
		sub->agent = c->agent;
		cli_cmd_add(c, sub);
	}
}

/* -------------------------------------------------------- option values */

/* The value of key on cmd itself (borrowed) or NULL. */
const json_t *
cli_opt_value(const struct cli_cmd *cmd, const char *key)
{
	cli_cmd_state(NULL, (struct cli_cmd *)cmd);	/* (not the root) */
	return (json_object_get(cmd->vals, key));
}

/* optsWithGlobals()[key]: the outermost command that has a value wins. */
const json_t *
cli_opt_global(const struct cli_cmd *cmd, const char *key)
{
	const json_t	*v = NULL, *x;

	for (; cmd != NULL; cmd = cmd->parent) {
		cli_cmd_state(NULL, (struct cli_cmd *)cmd);
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
		cli_cmd_state(NULL, (struct cli_cmd *)cmd);
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

	cli_cmd_state(run, cmd);
	if (o == &cmd_opt_version) {
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
	cli_node_note(run, o->key, value);
	return (0);
}
