#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acpx.h"
#include "cli-impl.h"
#include "cmd.h"
#include "xmalloc.h"

/*
 * Commander's parseOptions(): a command's known options are stored as
 * they come (validated by their parsers; short flags grouped, values
 * attached or next), the rest split into operands and unknown arguments,
 * stopping at a subcommand while positional options are on. A root option
 * met inside a subcommand applies to the root (acpx-native's superset).
 */

static int
cli_maybe_option(const char *a)
{
	return (a[0] == '-' && a[1] != '\0');
}

/* /^-(\d+|\d*\.\d+)([eE][+-]?\d+)?$/ */
static int
cli_negative_number(const char *a)
{
	const char	*p = a + 1, *q;

	if (a[0] != '-')
		return (0);
	q = p;
	while (*q >= '0' && *q <= '9')
		q++;
	if (*q == '.') {
		const char *f = ++q;

		while (*q >= '0' && *q <= '9')
			q++;
		if (q == f)
			return (0);
	} else if (q == p)
		return (0);
	if (*q == 'e' || *q == 'E') {
		const char *e;

		q++;
		if (*q == '+' || *q == '-')
			q++;
		e = q;
		while (*q >= '0' && *q <= '9')
			q++;
		if (q == e)
			return (0);
	}
	return (*q == '\0');
}

/*
 * acpx-native's superset: a root option met inside a subcommand. Returns
 * 1 if consumed (*i advanced past a value), 0 if not a root option, -1 on
 * an error.
 */
static int
cli_late_global(struct cli_run *run, struct cli_cmd *cmd, char **args,
    size_t n, size_t *i, const char *arg)
{
	const struct cmd_opt	*o;
	const char		*eq, *value = NULL;
	char			*flag;
	json_t			*fmt;

	if (cmd->parent == NULL || strncmp(arg, "--", 2) != 0)
		return (0);
	if ((eq = strchr(arg, '=')) != NULL && eq > arg + 2) {
		flag = xstrndup(arg, (size_t)(eq - arg));
		o = cmd_find_opt(run->root->def, flag);
		free(flag);
		if (o == NULL || o->kind != CMD_OPT_VALUE)
			return (0);
		value = eq + 1;
	} else {
		if ((o = cmd_find_opt(run->root->def, arg)) == NULL)
			return (0);
		if (o->kind == CMD_OPT_VALUE) {
			if (*i >= n) {
				cli_cmd_error(run, run->root, "error: option '%s' "
				    "argument missing", o->flags);
				return (-1);
			}
			value = args[(*i)++];
		}
	}
	if (o == &cmd_opt_version)
		return (0);
	if (cli_set_option(run, run->root, o, value) == -1)
		return (-1);
	run->late_globals = 1;
	if (strcmp(o->key, "cwd") == 0 || strcmp(o->key, "mcpConfig") == 0)
		run->late_cwd = 1;
	if (strcmp(o->key, "jsonStrict") == 0) {
		run->strict = 1;
		run->err_format = ACPX_FORMAT_JSON;
	} else if (strcmp(o->key, "format") == 0 && !run->strict) {
		fmt = json_object_get(run->root->vals, "format");
		run->err_format = strcmp(json_string_value(fmt), "json") == 0 ?
		    ACPX_FORMAT_JSON : strcmp(json_string_value(fmt), "quiet") ==
		    0 ? ACPX_FORMAT_QUIET : ACPX_FORMAT_TEXT;
	}
	return (1);
}

/* Commander's parseOptions(): known options out, operands and unknown left. */
int
cli_parse_options(struct cli_run *run, struct cli_cmd *cmd, char **args,
    size_t n, struct cli_list *ops, struct cli_list *unk)
{
	const struct cmd_opt	*o;
	struct cli_list		*dest = ops;
	char			*group = NULL, *arg, *flag, *eq, sh[3];
	size_t			 i = 0;
	int			 r;

	cli_cmd_children(run, cmd);
	while (i < n || group != NULL) {
		if (group != NULL) {
			arg = group;
			group = NULL;
		} else
			arg = args[i++];
		if (strcmp(arg, "--") == 0) {
			if (dest == unk)
				cli_list_add(dest, arg);
			cli_list_addv(dest, args + i, n - i);
			break;
		}
		if (cli_maybe_option(arg) &&
		    (o = cmd_find_opt(cmd->def, arg)) != NULL) {
			if (o->kind == CMD_OPT_VALUE) {
				if (i >= n)
					return (cli_cmd_error(run, cmd, "error: "
					    "option '%s' argument missing",
					    o->flags));
				if (cli_set_option(run, cmd, o, args[i++]) == -1)
					return (-1);
			} else if (cli_set_option(run, cmd, o, NULL) == -1)
				return (-1);
			continue;
		}
		if (strlen(arg) > 2 && arg[0] == '-' && arg[1] != '-') {
			sh[0] = '-';
			sh[1] = arg[1];
			sh[2] = '\0';
			if ((o = cmd_find_opt(cmd->def, sh)) != NULL) {
				if (o->kind == CMD_OPT_VALUE) {
					if (cli_set_option(run, cmd, o,
					    arg + 2) == -1)
						return (-1);
				} else {
					if (cli_set_option(run, cmd, o,
					    NULL) == -1)
						return (-1);
					/* The rest of the group, re-read. */
					xasprintf(&group, "-%s", arg + 2);
					run->scratch = xreallocarray(
					    run->scratch, run->nscratch + 1,
					    sizeof *run->scratch);
					run->scratch[run->nscratch++] = group;
				}
				continue;
			}
		}
		if (strncmp(arg, "--", 2) == 0 && (eq = strchr(arg, '=')) !=
		    NULL && eq > arg + 2) {
			flag = xstrndup(arg, (size_t)(eq - arg));
			o = cmd_find_opt(cmd->def, flag);
			free(flag);
			if (o != NULL && o->kind == CMD_OPT_VALUE) {
				if (cli_set_option(run, cmd, o, eq + 1) == -1)
					return (-1);
				continue;
			}
		}
		if ((r = cli_late_global(run, cmd, args, n, &i, arg)) == -1)
			return (-1);
		if (r == 1)
			continue;
		if (dest == ops && cli_maybe_option(arg) &&
		    !(cmd->nsubs == 0 && cli_negative_number(arg)))
			dest = unk;
		if (ops->n == 0 && unk->n == 0) {
			if (cli_find_cmd(cmd, arg) != NULL) {
				cli_list_add(ops, arg);
				cli_list_addv(unk, args + i, n - i);
				break;
			}
			if (cmd->nsubs > 0 && !(cmd->def->flags & CMD_ACTION) &&
			    strcmp(arg, "help") == 0) {
				cli_list_add(ops, arg);
				cli_list_addv(ops, args + i, n - i);
				break;
			}
		}
		if (cmd->def->flags & CMD_PASSTHROUGH) {
			cli_list_add(dest, arg);
			cli_list_addv(dest, args + i, n - i);
			break;
		}
		cli_list_add(dest, arg);
	}
	return (0);
}
