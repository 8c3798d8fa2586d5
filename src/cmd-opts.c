#include <config.h>

#include <string.h>

#include <jansson.h>

#include "acp-client.h"
#include "acpx-error.h"
#include "acpx.h"
#include "agent-launch.h"
#include "cli-invocation.h"
#include "cmd-opts.h"
#include "config-file.h"
#include "exec-turn.h"
#include "prompt-input.h"

/*
 * Engine options from an invocation: the one place where the command
 * line's settings become the engine's (see cmd-opts.h).
 */

int
cmd_opts_launch(const struct invocation *inv, int flags,
    struct agent_launch *launch, struct acpx_error **err)
{
	return (agent_launch_prepare(inv->config, inv->agent_override ? NULL :
	    inv->agent.name, inv->agent.argv, flags | AGENT_LAUNCH_PERM(
	    inv->perm_mode, inv->nonint), launch, err));
}

void
cmd_opts_client(const struct invocation *inv,
    const struct agent_launch *launch, struct acp_client_opts *o)
{
	memset(o, 0, sizeof *o);
	o->argv = launch != NULL && launch->argv != NULL ? launch->argv :
	    inv->agent.argv;
	o->command = inv->agent.command;
	if (launch != NULL) {
		o->env_add = launch->env_add;
		o->env_unset = launch->env_unset;
		o->redact = launch->secrets;
		o->endpoint = launch->endpoint;
		o->tap = launch->tap;
		o->node = launch->node;
	}
	o->cwd = inv->cwd;
	o->perm_mode = inv->perm_mode;
	o->nonint = inv->nonint;
	o->permission_policy = inv->permission_policy;
	o->no_fs = inv->no_fs;
	o->no_terminal = inv->no_terminal;
	o->auth_policy = inv->auth_policy;
	/* A node's agent authenticates with the node's credentials. */
	o->auth = inv->config != NULL && (launch == NULL ||
	    launch->node == NULL) ? inv->config->auth : NULL;
	o->mcp_servers = inv->mcp_servers;
	o->session.model = inv->model;
	o->session.allowed_tools = inv->allowed_tools;
	o->session.max_turns = inv->max_turns;
	o->session.system_prompt = inv->system_prompt;
	o->session.append_system_prompt = inv->append_system_prompt;
	o->prompt_retries = inv->prompt_retries;
	o->timeout_ms = inv->timeout_ms;
	o->verbose = inv->verbose;
	o->json_strict = inv->json_strict;
	/* suppressSdkConsoleErrors: --json-strict or quiet. */
	o->retry_notices = !inv->json_strict &&
	    inv->format != ACPX_FORMAT_QUIET;
}

void
cmd_opts_exec(const struct invocation *inv, const struct acp_client_opts *co,
    struct exec_turn_opts *eo)
{
	memset(eo, 0, sizeof *eo);
	eo->client = co;
	eo->config_options = inv->config_options;
	eo->nconfig_options = inv->nconfig_options;
}

json_t *
cmd_opts_prompt(const struct invocation *inv, struct acpx_error **err)
{
	struct prompt_input_src	src;

	memset(&src, 0, sizeof src);
	src.words = inv->words;
	src.nwords = inv->nwords;
	src.file = inv->file;
	src.cwd = inv->cwd;
	src.final_argument = inv->verb != NULL &&
	    strcmp(inv->verb, "compare") == 0;
	return (prompt_input_read(&src, err));
}
