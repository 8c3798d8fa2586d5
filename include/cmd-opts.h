/*
 * The surface's side of the engine: the options of acp-client.h,
 * exec-turn.h, prompt-input.h and agent-launch.h built from a command's
 * struct invocation. The engine modules never see the command line; the
 * commands call these instead. Everything filled here borrows from the
 * invocation and the launch: both must outlive what is filled.
 */
#ifndef ACPX_CMD_OPTS_H
#define ACPX_CMD_OPTS_H

#include <jansson.h>

#include "acp-client.h"
#include "acpx-error.h"
#include "agent-launch.h"
#include "cli-invocation.h"
#include "exec-turn.h"

/*
 * The launch of the invocation's agent (agent_launch_prepare(): no
 * resolver for an --agent override). flags as there (AGENT_LAUNCH_PICK
 * for a one-shot prompt). -1 with *err (caller owns).
 */
int		 cmd_opts_launch(const struct invocation *, int flags,
		    struct agent_launch *, struct acpx_error **err);

/*
 * Client options for the invocation's agent, started with launch (its
 * argv, environment and secrets; NULL: the invocation's argv as is).
 */
void		 cmd_opts_client(const struct invocation *,
		    const struct agent_launch *, struct acp_client_opts *);

/* Exec-turn options: client (borrowed) plus the --config-option values. */
void		 cmd_opts_exec(const struct invocation *,
		    const struct acp_client_opts *, struct exec_turn_opts *);

/* The invocation's prompt as content blocks (prompt_input_read()). */
json_t		*cmd_opts_prompt(const struct invocation *,
		    struct acpx_error **err);

#endif
