/*
 * The `sessions` commands (spec acpx-cli.md §3.7, acpx-runtime.md §5):
 * cmd-sessions.c holds the rows of the command table (cmd.h) and owns
 * list, show and history/read; cmd-sessions-prune.c prune;
 * cmd-sessions-close.c close; cmd-sessions-new.c new and ensure; cmd-sessions-watch.c watch;
 * cmd-sessions-archive.c export and import; cmd-sessions-agent.c runs an
 * agent connection to completion on the loop for them (timeout, signals).
 * This header is shared by those files only.
 */
#ifndef ACPX_CMD_SESSIONS_H
#define ACPX_CMD_SESSIONS_H

#include <jansson.h>

#include "acp-client.h"
#include "acpx-error.h"
#include "cli-invocation.h"
#include "cmd.h"
#include "output.h"
#include "session-record.h"

/* ------------------------------------------------------- the command rows */

extern const struct cmd_entry	 cmd_sessions_new_entry;
extern const struct cmd_entry	 cmd_sessions_ensure_entry;
extern const struct cmd_entry	 cmd_sessions_close_entry;
extern const struct cmd_entry	 cmd_sessions_watch_entry;
extern const struct cmd_entry	 cmd_sessions_export_entry;
extern const struct cmd_entry	 cmd_sessions_import_entry;
extern const struct cmd_entry	 cmd_sessions_prune_entry;

/* A record subcommand's prepare: its options as verb_opts, globals, agent. */
int		 cmd_sessions_prepare(struct cli_run *, struct cli_cmd *leaf,
		    struct invocation *);
/* The same with inv->session from the [name] argument. */
int		 cmd_sessions_prepare_named(struct cli_run *, struct cli_cmd *leaf,
		    struct invocation *);
/* Completes [name] with the open and closed sessions of the cwd. */
int		 cmd_sessions_complete_any(struct complete *,
		    const struct cmd_opt *, int npos);

/* ---------------------------------------------------------- shared helpers */

/* The RUNTIME "No named session ..." / "No cwd session ..." error. */
struct acpx_error *cmd_sessions_missing(const struct invocation *, const char *name);

/* Warning for a skipped record file (session_store_warn_fn; arg = output). */
void		 cmd_sessions_warn(const char *path, const char *why, void *arg);

/* The exact-scope record (name = inv->session), open or any. NULL if none. */
struct session_record *cmd_sessions_find_scoped(const struct invocation *,
		    struct output *, int include_closed);

/* Non-zero if the invocation's agent has an explicit argv (built-in, config argv). */
int		 cmd_sessions_agent_has_argv(const struct invocation *);

/* Full close procedure of §5.3 on a record id; the closed record or NULL + *err. */
struct session_record *cmd_sessions_close_record(const struct invocation *,
		    struct output *, const char *record_id,
		    struct acpx_error **err);

/* ---------------------------------------------------------- agent runner */

struct cmd_sessions_agent;

/*
 * The launch step (cmd_opts_launch() without the cooldown pick: the
 * session lives on the agent it names; a notice goes to out), then a
 * loop, an acp_client for inv (cwd set by the caller), signal watchers.
 * NULL with *err (caller owns) when the agent must not start.
 */
struct cmd_sessions_agent *cmd_sessions_agent_new(const struct invocation *,
		    struct output *, struct acpx_error **err);
struct acp_client *cmd_sessions_agent_client(struct cmd_sessions_agent *);
/* The execution node the agent runs on and its agent id, or NULL. */
const char	*cmd_sessions_agent_node(const struct cmd_sessions_agent *,
		    const char **agent);
struct ev_loop	*cmd_sessions_agent_loop(struct cmd_sessions_agent *);

/* The acp_done_cb to give the client's steps (arg = the runner). */
void		 cmd_sessions_agent_done(struct acp_client *, const json_t *,
		    struct acpx_error *, void *);

/*
 * Run the loop until the pending step completes (or --timeout, or a
 * signal). 0 with *result (caller owns; may be NULL) or -1 with *err.
 */
int		 cmd_sessions_agent_wait(struct cmd_sessions_agent *, json_t **result,
		    struct acpx_error **err);

/* Close the agent and wait for it to be gone. */
void		 cmd_sessions_agent_close(struct cmd_sessions_agent *);

/* Run the loop for seconds (signals still handled). */
void		 cmd_sessions_agent_sleep(struct cmd_sessions_agent *, double seconds);

/* Set by SIGINT/SIGTERM/SIGHUP. */
int		 cmd_sessions_agent_interrupted(const struct cmd_sessions_agent *);

void		 cmd_sessions_agent_free(struct cmd_sessions_agent *);

/* ---------------------------------------------------------- subcommands */

int		 cmd_sessions_close_run(const struct invocation *, struct output *);
int		 cmd_sessions_new_run(const struct invocation *, struct output *,
		    int ensure);
int		 cmd_sessions_watch_run(const struct invocation *, struct output *);
int		 cmd_sessions_export_run(const struct invocation *, struct output *);
int		 cmd_sessions_import_run(const struct invocation *, struct output *);

#endif
