#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "acpx.h"
#include "cli-impl.h"
#include "cli-opt.h"
#include "cmd-queue.h"
#include "cmd.h"
#include "xmalloc.h"

/*
 * The command table (see cmd.h): the program's row, the agent command's
 * row, and the verbs in the order the reference registers them (which is
 * the order of its help). Each verb's row is defined in its command file.
 */

extern const struct cmd_entry cmd_prompt_entry;
extern const struct cmd_entry cmd_exec_entry;
extern const struct cmd_entry cmd_cancel_entry;
extern const struct cmd_entry cmd_set_mode_entry;
extern const struct cmd_entry cmd_set_entry;
extern const struct cmd_entry cmd_status_entry;
extern const struct cmd_entry cmd_sessions_entry;
extern const struct cmd_entry cmd_config_entry;
extern const struct cmd_entry cmd_compare_entry;
extern const struct cmd_entry cmd_flow_entry;
extern const struct cmd_entry cmd_warp_entry;
extern const struct cmd_entry cmd_completion_entry;

static const struct cmd_entry *const cmd_table[] = {
	&cmd_prompt_entry,
	&cmd_exec_entry,
	&cmd_cancel_entry,
	&cmd_set_mode_entry,
	&cmd_set_entry,
	&cmd_status_entry,
	&cmd_sessions_entry,
	&cmd_config_entry,
	&cmd_compare_entry,
	&cmd_flow_entry,
	&cmd_warp_entry,
	&cmd_completion_entry,
	NULL
};

/*
 * acpx [prompt...]: the implicit prompt to the default agent. Without
 * words on a terminal it shows the help instead (Commander's default
 * action when the reference finds nothing to send).
 */
static int
cmd_root_prepare(struct cli_run *run, struct cli_cmd *leaf,
    struct invocation *inv)
{
	char	*text;

	if (json_array_size(cmd_prepare_arg(leaf, 0)) == 0 &&
	    isatty(STDIN_FILENO)) {
		if (run->strict) {
			cli_usage_error(run, "Prompt is required (pass as "
			    "argument, --file, or pipe via stdin)");
			return (-1);
		}
		text = cli_help_text(run, leaf, STDOUT_FILENO);
		fputs(text, stdout);
		fflush(stdout);
		free(text);
		run->status = ACPX_EXIT_SUCCESS;
		return (-1);
	}
	return (cmd_prompt_prepare(run, leaf, inv));
}

/* The program (agent commands are added in front at run time). */
const struct cmd_entry cmd_root_entry = {
	.name = "acpx",
	.desc = "Headless CLI client for the Agent Client Protocol",
	.opts = cli_opt_root,
	.args = cli_opt_prompt_arg,
	.nargs = 1,
	.flags = CMD_ACTION,
	.prepare = cmd_root_prepare,
	.run = cmd_prompt_run
};

/* acpx <agent> [prompt...]: one per agent name (given at run time). */
const struct cmd_entry cmd_agent_entry = {
	.desc = "Use %s agent",
	.opts = cli_opt_prompt,
	.args = cli_opt_prompt_arg,
	.nargs = 1,
	.flags = CMD_ACTION | CMD_PASSTHROUGH,
	.prepare = cmd_prompt_prepare,
	.run = cmd_prompt_run
};

/* The i-th subcommand of e (see cmd.h). */
const struct cmd_entry *
cmd_sub(const struct cmd_entry *e, size_t i)
{
	size_t	j;

	if (e == &cmd_root_entry)
		return (i < nitems(cmd_table) ? cmd_table[i] : NULL);
	if (e == &cmd_agent_entry) {
		for (j = 0; cmd_table[j] != NULL; j++) {
			if ((cmd_table[j]->flags & CMD_AGENT) && i-- == 0)
				return (cmd_table[j]);
		}
		return (NULL);
	}
	if (e->subs == NULL)
		return (NULL);
	for (j = 0; j < i; j++) {
		if (e->subs[j] == NULL)
			return (NULL);
	}
	return (e->subs[i]);
}

/* The subcommand of e called name (or by its alias), or NULL. */
const struct cmd_entry *
cmd_find(const struct cmd_entry *e, const char *name)
{
	const struct cmd_entry	*s;
	size_t			 i;

	for (i = 0; (s = cmd_sub(e, i)) != NULL; i++) {
		if (strcmp(s->name, name) == 0 ||
		    (s->alias != NULL && strcmp(s->alias, name) == 0))
			return (s);
	}
	return (NULL);
}

/* A word the agent-token detection never takes for an agent name. */
int
cmd_reserved(const char *word)
{
	return (strcmp(word, "help") == 0 ||
	    cmd_find(&cmd_root_entry, word) != NULL);
}

/* The option of e matching flag exactly (short or long), or NULL. */
const struct cmd_opt *
cmd_find_opt(const struct cmd_entry *e, const char *flag)
{
	const struct cmd_opt *const	*o;

	for (o = e->opts; o != NULL && *o != NULL; o++) {
		if (((*o)->shortf != NULL && strcmp((*o)->shortf, flag) == 0) ||
		    strcmp((*o)->longf, flag) == 0)
			return (*o);
	}
	return (NULL);
}
