/*
 * The ACP client: one agent connection on the event loop. Spawns the agent
 * (spawn.h), speaks JSON-RPC (jsonrpc.h), sends initialize (capabilities as
 * the reference advertises them), authenticate, session/new, session/prompt
 * and session/cancel, answers the agent's requests (permissions, fs,
 * terminals), and reports every message to the renderer's tap. Used by
 * exec, compare, the sessions commands, direct controls and the queue
 * owner: it knows nothing of the command line; its caller describes the
 * agent and the policies in a struct acp_client_opts. acp-client.c holds
 * the connection and the steps, acp-client-req.c the answers to the
 * agent's requests (acp-client-impl.h between them).
 */
#ifndef ACPX_ACP_CLIENT_H
#define ACPX_ACP_CLIENT_H

#include <sys/types.h>

#include <ev.h>
#include <jansson.h>

#include "acpx-error.h"
#include "acpx.h"
#include "agent-compat.h"

struct acp_client;
struct warp_endpoint;
struct warp_tap;

/*
 * What the client needs to know. Borrowed, with everything it points to:
 * it must outlive the client. A caller may change the per-turn fields
 * (permissions, prompt_retries, session) between steps; the rest is read
 * at start.
 */
struct acp_client_opts {
	/* The agent (struct agent_launch of agent-launch.h supplies most). */
	char *const		*argv;		/* what to spawn, NULL-terminated */
	const char		*command;	/* its identity string, for messages */
	char *const		*env_add;	/* "NAME=VALUE" for the agent only, or NULL */
	char *const		*env_unset;	/* names removed from its environment, or NULL */
	char *const		*redact;	/* values never shown from its stderr, or NULL */
	const char		*cwd;		/* session directory, absolute */
	const struct warp_endpoint *endpoint;	/* the provider to give it over
						   ACP (warp-endpoint.h), or NULL */
	struct warp_tap		*tap;		/* the provider tap its runner
						   serves (warp-tap.h), or NULL */
	const char		*node;		/* the execution node argv reaches
						   over ssh (node-bind.h), or NULL:
						   ssh's exit 255 before initialize
						   is then NODE_UNREACHABLE */

	/* Answers to the agent's requests. */
	enum acpx_perm_mode	 perm_mode;
	enum acpx_nonint	 nonint;
	const json_t		*permission_policy;	/* or NULL */
	int			 no_fs;
	int			 no_terminal;

	/* initialize, authenticate. */
	enum acpx_auth_policy	 auth_policy;
	const json_t		*auth;		/* config "auth" credentials, or NULL */

	/* session/new|load|resume: mcpServers and the adapter _meta. */
	const json_t		*mcp_servers;	/* array, never NULL */
	struct agent_session_opts session;

	/* session/prompt: retries of -32603/-32700 before any side effect. */
	int			 prompt_retries;
	/* Bound of each step for the driver (exec-turn, sessions); -1: none. */
	long long		 timeout_ms;

	/* Diagnostics. */
	int			 verbose;	/* "[acpx] ..." log lines; agent stderr passes through */
	int			 json_strict;	/* nothing but JSON on stdout/stderr */
	int			 retry_notices;	/* print "[acpx] prompt failed ... retrying" */
};

struct acp_client_events {
	/* Every JSON-RPC message in wire order (borrowed); outbound = we sent it. */
	void	(*message)(struct acp_client *, const json_t *msg, int outbound,
		    void *arg);
	/* A verbose diagnostic line ("[acpx] ..."), only when verbose. */
	void	(*log)(struct acp_client *, const char *line, void *arg);
	/*
	 * A diagnostic for the user (an agent's non-JSON output line, a
	 * prompt retry), unless json_strict; NULL: written to stderr.
	 */
	void	(*diag)(struct acp_client *, const char *line, void *arg);
};

/* Permission statistics of the current turn (exit code 5 rule). */
struct acp_perm_stats {
	int	requested;
	int	approved;
	int	denied;
	int	cancelled;
	int	prompt_unavailable;	/* --non-interactive-permissions fail hit */
};

/* Completion of an asynchronous step: err NULL on success (borrowed). */
typedef void	(*acp_done_cb)(struct acp_client *, const json_t *result,
		    struct acpx_error *err, void *arg);

/* A client for opts (borrowed, see above); nothing is spawned yet. */
struct acp_client *acp_client_create(struct ev_loop *,
		    const struct acp_client_opts *,
		    const struct acp_client_events *, void *arg);
void		 acp_client_free(struct acp_client *);

/* Spawn the agent and initialize (+authenticate). */
void		 acp_client_start(struct acp_client *, acp_done_cb, void *arg);
/* session/new in the client's cwd. result has sessionId. */
void		 acp_client_session_new(struct acp_client *, acp_done_cb, void *arg);
/* session/prompt with content blocks (borrowed). result has stopReason. */
void		 acp_client_prompt(struct acp_client *, const json_t *blocks,
		    acp_done_cb, void *arg);
/*
 * The _meta object (stolen; NULL for none) of the next acp_client_prompt()
 * (its retries too); that prompt's end drops it.
 */
void		 acp_client_prompt_meta(struct acp_client *, json_t *meta);
/* session/set_config_option {configId, value}; result has configOptions. */
void		 acp_client_set_config_option(struct acp_client *, const char *key,
		    const char *value, acp_done_cb, void *arg);
/* session/set_model {sessionId, modelId} (legacy model switch). */
void		 acp_client_set_model(struct acp_client *, const char *model,
		    acp_done_cb, void *arg);
/* session/cancel notification for the active session. */
void		 acp_client_cancel(struct acp_client *);
/* Close the agent (stdin EOF, TERM, KILL); cb when the process is gone. */
void		 acp_client_close(struct acp_client *, acp_done_cb, void *arg);

/* SIGKILL the agent's process group now (timeouts, ignored interrupts). */
void		 acp_client_kill(struct acp_client *);

const struct acp_perm_stats *acp_client_perm_stats(const struct acp_client *);
const json_t	*acp_client_agent_caps(const struct acp_client *);
const char	*acp_client_session_id(const struct acp_client *);

/* -- persistent sessions -- */

/*
 * Use cwd (copied) instead of the options' for the agent process,
 * session/new|load|resume|list and fs/terminal requests. Call before start.
 */
void		 acp_client_set_cwd(struct acp_client *, const char *cwd);
/* session/load {sessionId, cwd, mcpServers}; on success it is the active session. */
void		 acp_client_session_load(struct acp_client *, const char *session_id,
		    acp_done_cb, void *arg);
/* session/resume {sessionId, cwd, mcpServers}; on success it is the active session. */
void		 acp_client_session_resume(struct acp_client *, const char *session_id,
		    acp_done_cb, void *arg);
/* session/list {cwd?, cursor?} (either may be NULL). */
void		 acp_client_session_list(struct acp_client *, const char *cwd,
		    const char *cursor, acp_done_cb, void *arg);
/* session/close {sessionId} for the active session. */
void		 acp_client_session_close(struct acp_client *, acp_done_cb, void *arg);
/* session/set_mode {sessionId, modeId}. */
void		 acp_client_set_mode(struct acp_client *, const char *mode_id,
		    acp_done_cb, void *arg);
/*
 * While on, session/update notifications are dropped before the message
 * tap (load replay suppression); they still count for acp_client_last_update().
 */
void		 acp_client_suppress_updates(struct acp_client *, int on);
/* ev_now() of the last session/update received (0 if none). */
double		 acp_client_last_update(const struct acp_client *);
/*
 * Seconds left in a quiet window opened at start: it ends once no
 * session/update has come for idle seconds, at the latest limit seconds
 * after start (<= 0: over).
 */
double		 acp_client_quiet_left(const struct acp_client *, double start,
		    double idle, double limit, double now);
/* Does this agent talk after its answer (agent_compat_answers_late())? */
int		 acp_client_answers_late(const struct acp_client *);
/* The initialize result (borrowed), or NULL before it. */
const json_t	*acp_client_init_result(const struct acp_client *);
/* The agent's pid, or 0 if not spawned. */
pid_t		 acp_client_pid(const struct acp_client *);
/* Non-zero once the agent was reaped; *status its wait status. */
int		 acp_client_exited(const struct acp_client *, int *status);
/* Non-zero if initialized and neither disconnected, exiting nor closing. */
int		 acp_client_running(const struct acp_client *);
/* Stop reading the agent (on != 0) until called with 0 (jsonrpc_pause()). */
void		 acp_client_pause(struct acp_client *, int on);
/* JSON-RPC id of the last request a step sent (e.g. a failed session/load). */
long long	 acp_client_last_request_id(const struct acp_client *);
/* The options the client was created with (borrowed). */
const struct acp_client_opts *acp_client_opts(const struct acp_client *);
/*
 * Forget the pending step's callback if it was started with arg (its
 * owner is going away); the step still completes, silently.
 */
void		 acp_client_abandon(struct acp_client *, void *arg);
/*
 * The tail of the agent's stderr (kept unless verbose passes it
 * through), with the options' redact values hidden; "" if none. Caller owns.
 */
char		*acp_client_stderr_text(const struct acp_client *);

#endif
