/*
 * The commands that go through a session's queue owner: prompt (explicit
 * and implicit, cmd-prompt.c) and cancel, status, set-mode, set
 * (cmd-control.c). Each is a cmd_run_fn (cli.h).
 */
#ifndef ACPX_CMD_QUEUE_H
#define ACPX_CMD_QUEUE_H

#include "acpx-error.h"
#include "cli.h"

struct cli_cmd;
struct cli_run;
struct output;
struct session_record;

/*
 * The session of prompt/cancel/set-mode/set: the nearest open record of
 * the agent and -s name from cwd up to the git root. NULL if none; with
 * err non-NULL that is a NO_SESSION error with the reference's message.
 */
struct session_record *cmd_prompt_find_session(const struct invocation *,
		    struct acpx_error **err);

/* The prompt's prepare (cmd.h), also the program's and an agent's. */
int		 cmd_prompt_prepare(struct cli_run *, struct cli_cmd *leaf,
		    struct invocation *);

/* prompt: submit to the session's owner (starting it), stream the turn. */
int		 cmd_prompt_run(const struct invocation *, struct output *);
/* cancel: ask the owner to cancel the running turn. */
int		 cmd_cancel_run(const struct invocation *, struct output *);
/* status: the session's owner state as a status_snapshot. */
int		 cmd_status_run(const struct invocation *, struct output *);
/* set-mode <mode>: through the owner, else directly. */
int		 cmd_set_mode_run(const struct invocation *, struct output *);
/* set <key> <value> (and set model <id>): through the owner, else directly. */
int		 cmd_set_run(const struct invocation *, struct output *);

#endif
