#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acpx-error.h"
#include "acpx.h"
#include "cli-impl.h"
#include "cli.h"
#include "cmd.h"
#include "xmalloc.h"

/*
 * Commander's parse, step for step: parseOptions() (cli-parse-opts.c)
 * splits a command's arguments into known options, operands and unknown
 * arguments; _parseCommand() dispatches to the subcommand
 * or checks the leaf (help flags, mandatory options, unknown options, the
 * arguments) and marks it as the command to run. Errors carry Commander's
 * messages and go through cli_cmd_error().
 */

/* ------------------------------------------------------- _parseCommand */

static int
cli_is_help_flag(const char *a)
{
	return (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0);
}

/* unknownOption(flag) with "Did you mean" for long flags. */
static int
cli_unknown_option(struct cli_run *run, struct cli_cmd *cmd, const char *flag)
{
	const struct cmd_opt *const	*o;
	const char			**cands;
	size_t				  n = 0;
	char				 *sugg;
	int				  rc;

	cands = xcalloc(64, sizeof *cands);
	for (o = cmd->def->opts; o != NULL && *o != NULL && n < 62; o++)
		cands[n++] = (*o)->longf;
	cands[n++] = cmd_opt_help.longf;
	sugg = strncmp(flag, "--", 2) == 0 ? cli_suggest(flag, cands, n) :
	    xstrdup("");
	rc = cli_cmd_error(run, cmd, "error: unknown option '%s'%s", flag, sugg);
	free(sugg);
	free(cands);
	return (rc);
}

/* Commander's _processArguments() into cmd->processed. */
static int
cli_process_args(struct cli_run *run, struct cli_cmd *cmd, char **args,
    size_t n)
{
	json_t		*out, *v, *list;
	char		*msg = NULL, *name, *details, *t;
	size_t		 i, j;
	int		 variadic_last;

	for (i = 0; i < cmd->nargs; i++) {
		if (cli_arg_required(cmd->args[i].spec) && i >= n) {
			name = cli_arg_name(cmd->args[i].spec);
			cli_cmd_error(run, cmd, "error: missing required argument "
			    "'%s'", name);
			free(name);
			return (-1);
		}
	}
	variadic_last = cmd->nargs > 0 &&
	    cli_arg_variadic(cmd->args[cmd->nargs - 1].spec);
	if (!variadic_last && n > cmd->nargs) {
		details = xstrdup(args[0]);
		for (j = 1; j < n; j++) {
			xasprintf(&t, "%s, %s", details, args[j]);
			free(details);
			details = t;
		}
		if (cmd->parent != NULL)
			xasprintf(&t, " for '%s'", cmd->name);
		else
			t = xstrdup("");
		cli_cmd_error(run, cmd, "error: too many arguments%s. Expected %zu "
		    "argument%s but got %zu: %s.", t, cmd->nargs,
		    cmd->nargs == 1 ? "" : "s", n, details);
		free(t);
		free(details);
		return (-1);
	}
	out = json_array();
	for (i = 0; i < cmd->nargs; i++) {
		const struct cmd_arg *a = &cmd->args[i];

		if (cli_arg_variadic(a->spec)) {
			list = json_array();
			for (j = i; j < n; j++) {
				v = NULL;
				if (a->parse != NULL && a->parse(args[j], NULL, &v,
				    &msg) == -1)
					goto bad;
				json_array_append_new(list, v != NULL ? v :
				    json_string(args[j]));
			}
			json_array_append_new(out, list);
			break;
		}
		if (i >= n) {
			json_array_append_new(out, json_null());
			continue;
		}
		v = NULL;
		if (a->parse != NULL && a->parse(args[i], NULL, &v, &msg) == -1) {
			j = i;
			goto bad;
		}
		json_array_append_new(out, v != NULL ? v : json_string(args[i]));
	}
	json_decref(cmd->processed);
	cmd->processed = out;
	return (0);
bad:
	json_decref(out);
	name = cli_arg_name(cmd->args[i].spec);
	cli_cmd_error(run, cmd, "error: command-argument value '%s' is invalid "
	    "for argument '%s'. %s", args[j], name, msg);
	free(name);
	free(msg);
	return (-1);
}

/* _checkForMissingMandatoryOptions(). */
static int
cli_check_mandatory(struct cli_run *run, struct cli_cmd *cmd)
{
	const struct cmd_opt *const	*o;
	struct cli_cmd			*c;

	for (c = cmd; c != NULL; c = c->parent) {
		for (o = c->def->opts; o != NULL && *o != NULL; o++) {
			if ((*o)->mandatory &&
			    json_object_get(c->vals, (*o)->key) == NULL)
				return (cli_cmd_error(run, c, "error: required "
				    "option '%s' not specified", (*o)->flags));
		}
	}
	return (0);
}

/* unknownCommand() with suggestions. */
static int
cli_unknown_command(struct cli_run *run, struct cli_cmd *cmd, const char *name)
{
	const char	**cands;
	size_t		  i, n = 0;
	char		 *sugg;
	int		  rc;

	cands = xcalloc(cmd->nsubs + 2, sizeof *cands);
	for (i = 0; i < cmd->nsubs; i++)
		cands[n++] = cmd->subs[i]->name;
	if (cmd->nsubs > 0 && !(cmd->def->flags & CMD_ACTION))
		cands[n++] = "help";
	sugg = cli_suggest(name, cands, n);
	rc = cli_cmd_error(run, cmd, "error: unknown command '%s'%s", name, sugg);
	free(sugg);
	free(cands);
	return (rc);
}

/* help({ error: true }): help on stderr, exit 1 (a subcommand). */
static int
cli_help_error(struct cli_run *run, struct cli_cmd *cmd)
{
	cli_print_help(run, cmd, 1);
	if (run->status < 0)
		run->status = ACPX_EXIT_ERROR;
	return (-1);
}

static int
cli_dispatch(struct cli_run *run, struct cli_cmd *cmd, const char *name,
    char **ops, size_t nops, char **unk, size_t nunk)
{
	struct cli_cmd	*sub = cli_find_cmd(cmd, name);

	if (sub == NULL)
		return (cli_help_error(run, cmd));
	return (cli_parse_command(run, sub, ops, nops, unk, nunk));
}

/* Commander's _parseCommand(operands, unknown). */
int
cli_parse_command(struct cli_run *run, struct cli_cmd *cmd, char **ops_in,
    size_t nops_in, char **unk_in, size_t nunk_in)
{
	struct cli_list	 ops = { NULL, 0 }, unk = { NULL, 0 }, all = { NULL, 0 };
	struct cli_cmd	*sub;
	char		*help_arg[] = { "--help" };
	int		 rc = -1, action = cmd->def->flags & CMD_ACTION;
	size_t		 i;

	cli_list_addv(&ops, ops_in, nops_in);
	if (cli_parse_options(run, cmd, unk_in, nunk_in, &ops, &unk) == -1)
		goto out;
	cli_list_addv(&all, ops.v, ops.n);
	cli_list_addv(&all, unk.v, unk.n);
	if (cmd->parent == NULL) {
		free(run->root_args);
		run->root_args = xcalloc(all.n + 1, sizeof *run->root_args);
		if (all.n > 0)
			memcpy(run->root_args, all.v, all.n * sizeof *all.v);
		run->nroot_args = all.n;
	}

	if (ops.n > 0 && cli_find_cmd(cmd, ops.v[0]) != NULL) {
		rc = cli_dispatch(run, cmd, ops.v[0], ops.v + 1, ops.n - 1,
		    unk.v, unk.n);
		goto out;
	}
	if (cmd->nsubs > 0 && !action && ops.n > 0 &&
	    strcmp(ops.v[0], "help") == 0) {
		if (ops.n < 2) {
			rc = cli_help_exit(run, cmd);
		} else if ((sub = cli_find_cmd(cmd, ops.v[1])) != NULL)
			rc = cli_help_exit(run, sub);
		else
			rc = cli_dispatch(run, cmd, ops.v[1], NULL, 0, help_arg,
			    1);
		goto out;
	}
	if (cmd->nsubs > 0 && all.n == 0 && !action) {
		rc = cli_help_error(run, cmd);
		goto out;
	}
	for (i = 0; i < unk.n; i++) {
		if (cli_is_help_flag(unk.v[i])) {
			rc = cli_help_exit(run, cmd);
			goto out;
		}
	}
	if (cli_check_mandatory(run, cmd) == -1)
		goto out;
	if (action) {
		if (unk.n > 0) {
			rc = cli_unknown_option(run, cmd, unk.v[0]);
			goto out;
		}
		if (cli_process_args(run, cmd, all.v, all.n) == -1)
			goto out;
		run->leaf = cmd;
		rc = 0;
		goto out;
	}
	if (ops.n > 0) {
		if (cmd->nsubs > 0)
			rc = cli_unknown_command(run, cmd, ops.v[0]);
		else if (unk.n > 0)
			rc = cli_unknown_option(run, cmd, unk.v[0]);
		else
			rc = cli_process_args(run, cmd, all.v, all.n);
	} else if (cmd->nsubs > 0) {
		if (unk.n > 0)
			rc = cli_unknown_option(run, cmd, unk.v[0]);
		else
			rc = cli_help_error(run, cmd);
	} else if (unk.n > 0)
		rc = cli_unknown_option(run, cmd, unk.v[0]);
	else
		rc = cli_process_args(run, cmd, all.v, all.n);
out:
	free(ops.v);
	free(unk.v);
	free(all.v);
	return (rc);
}
