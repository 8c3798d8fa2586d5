#include <config.h>

#include <stddef.h>

#include "acpx-error.h"
#include "acpx.h"
#include "cli-invocation.h"
#include "cli-validate.h"
#include "cmd.h"
#include "complete.h"

/*
 * acpx flow run <file>: parsed as the reference does (its options and
 * their checks), then refused: a flow file is user TypeScript, which
 * acpx-native does not execute (acpx(1)).
 */

static const struct cmd_opt o_input_json = CMD_OPT("--input-json <json>",
    NULL, "--input-json", "inputJson", "Flow input as JSON", CMD_OPT_VALUE,
    NULL);
static const struct cmd_opt o_input_file = CMD_OPTV("--input-file <path>",
    NULL, "--input-file", "inputFile", "Read flow input JSON from file",
    CMD_OPT_VALUE, NULL, CMD_VALUES_FILE, NULL);
static const struct cmd_opt o_default_agent = CMD_OPTV(
    "--default-agent <name>", NULL, "--default-agent", "defaultAgent",
    "Default agent profile for ACP nodes without profile", CMD_OPT_VALUE,
    cli_validate_default_agent, CMD_VALUES_AGENT, NULL);
static const struct cmd_opt *const flow_run_opts[] = { &o_input_json,
    &o_input_file, &o_default_agent, NULL };
static const struct cmd_arg flow_run_args[] = { { "<file>",
    "Flow module path", NULL } };

static int
cmd_flow_prepare(struct cli_run *run, struct cli_cmd *leaf,
    struct invocation *inv)
{
	cli_fail(run, acpx_error_new(ACPX_CODE_USAGE, NULL, "cli",
	    "flow run is not supported by acpx-native (it executes user "
	    "TypeScript); see acpx(1)"));
	return (-1);
}

/* <file>: a path. */
static int
cmd_flow_complete(struct complete *c, const struct cmd_opt *o, int npos)
{
	if (o != NULL || npos != 0)
		return (0);
	complete_set_kind(c, COMPLETE_FILES);
	return (1);
}

static const struct cmd_entry cmd_flow_run_entry = {
	.name = "run",
	.desc = "Run a flow file",
	.opts = flow_run_opts,
	.args = flow_run_args,
	.nargs = 1,
	.flags = CMD_ACTION,
	.prepare = cmd_flow_prepare,
	.complete = cmd_flow_complete
};

static const struct cmd_entry *const cmd_flow_subs[] = {
	&cmd_flow_run_entry,
	NULL
};

const struct cmd_entry cmd_flow_entry = {
	.name = "flow",
	.desc = "Run multi-step ACP workflows from flow files",
	.subs = cmd_flow_subs
};
