#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "acpx.h"
#include "cli-invocation.h"
#include "cli-validate.h"
#include "cmd.h"
#include "complete.h"
#include "output.h"
#include "xmalloc.h"

/*
 * acpx completion bash|zsh|fish: print the completion script for a shell
 * (embedded at build time from completions/, see complete.h), whatever
 * the output format, so `source <(acpx completion bash)` always works.
 */

/* Print the script for inv->words[0] (validated by the parser). */
int
cmd_completion_run(const struct invocation *inv, struct output *out)
{
	const char *const	*lines;
	const char		*shell = inv->nwords > 0 ? inv->words[0] : "";
	char			*text;
	size_t			 len = 0, i;

	if (strcmp(shell, "zsh") == 0)
		lines = completion_scripts_zsh;
	else if (strcmp(shell, "fish") == 0)
		lines = completion_scripts_fish;
	else
		lines = completion_scripts_bash;
	for (i = 0; lines[i] != NULL; i++)
		len += strlen(lines[i]);
	text = xmalloc(len + 1);
	len = 0;
	for (i = 0; lines[i] != NULL; i++) {
		memcpy(text + len, lines[i], strlen(lines[i]));
		len += strlen(lines[i]);
	}
	/* output_result_text() adds the last newline back. */
	if (len > 0 && text[len - 1] == '\n')
		len--;
	text[len] = '\0';
	output_result_text(out, "%s", text);
	free(text);
	return (ACPX_EXIT_SUCCESS);
}

/* ------------------------------------------------------- the command row */

static const struct cmd_arg completion_args[] = { { "<shell>",
    "bash, zsh or fish", cli_validate_shell } };

/* <shell>. */
static int
cmd_completion_complete(struct complete *c, const struct cmd_opt *o,
    int npos)
{
	if (o != NULL || npos != 0)
		return (0);
	complete_add(c, "bash", NULL);
	complete_add(c, "zsh", NULL);
	complete_add(c, "fish", NULL);
	return (1);
}

const struct cmd_entry cmd_completion_entry = {
	.name = "completion",
	.desc = "Print the shell completion script",
	.args = completion_args,
	.nargs = 1,
	.flags = CMD_ACTION,
	.prepare = cli_prepare_operands,
	.run = cmd_completion_run,
	.complete = cmd_completion_complete
};
