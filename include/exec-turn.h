/*
 * One exec-style turn: spawn an agent, initialize, session/new, apply
 * --model and --config-option values, prompt once, close. Shared by exec
 * (cmd-exec.c), which renders the turn, and compare (cmd-compare.c), which
 * discards the rendering and keeps a summary. exec-turn.c owns the phases,
 * the per-phase --timeout, and SIGINT/SIGTERM/SIGHUP during the turn.
 */
#ifndef ACPX_EXEC_TURN_H
#define ACPX_EXEC_TURN_H

#include <jansson.h>

#include "acp-client.h"
#include "acpx-error.h"

struct output;

/* One exec-style turn: the client's options (borrowed) and what to set. */
struct exec_turn_opts {
	const struct acp_client_opts	*client;	/* timeout_ms bounds each phase */
	char *const			*config_options; /* "key=value" after session/new */
	int				 nconfig_options;
};

/* Optional observer of the turn's ACP traffic. */
struct exec_turn_hooks {
	/* Every JSON-RPC message (borrowed), after the renderer saw it. */
	void	(*message)(const json_t *msg, int outbound, void *arg);
	void	*arg;
};

/*
 * The stall rule (warp.stallSeconds): with seconds > 0, a prompt with no
 * inbound message for that long gets session/cancel (the agent is killed
 * if it does not answer within 2.5 s); stalled(arg) is called first.
 */
struct exec_turn_stall {
	long long	 seconds;
	void		(*stalled)(void *arg);
	void		*arg;
};

/* What a turn ended with; exec_turn_result_clear() frees it. */
struct exec_turn_result {
	struct acpx_error	*err;		/* first failure, or NULL */
	int			 exit;		/* exit status when err is NULL */
	int			 silent_fail;	/* exit 1 with nothing shown */
	int			 interrupted;	/* a signal arrived during the turn */
	json_t			*prompt_result;	/* the session/prompt result, or NULL */
	struct acp_perm_stats	 perm;		/* permission stats of the turn */
	int			 stalled;	/* ended by the stall rule */
	char			*stderr_text;	/* agent stderr tail, redacted */
};

/*
 * Run one turn of the options' agent with blocks (borrowed) on a fresh default
 * loop, rendering the traffic to out. Never shows res->err; the caller does.
 */
void		 exec_turn_run(const struct exec_turn_opts *, const json_t *blocks,
		    struct output *, const struct exec_turn_hooks *,
		    struct exec_turn_result *res);

/*
 * exec_turn_run() with flags: EXEC_TURN_HOLD_SIGNALS keeps SIGINT/SIGTERM/
 * SIGHUP watched while the agent closes (a signal then kills the agent)
 * instead of putting back their default action when the turn ends.
 */
#define EXEC_TURN_HOLD_SIGNALS	0x1
void		 exec_turn_run_flags(const struct exec_turn_opts *,
		    const json_t *blocks, struct output *,
		    const struct exec_turn_hooks *, int flags,
		    struct exec_turn_result *res);

/* exec_turn_run_flags() with the stall rule (stall may be NULL). */
void		 exec_turn_run_stall(const struct exec_turn_opts *,
		    const json_t *blocks, struct output *,
		    const struct exec_turn_hooks *,
		    const struct exec_turn_stall *, int flags,
		    struct exec_turn_result *res);

/* Free what exec_turn_run() put into res. */
void		 exec_turn_result_clear(struct exec_turn_result *);

#endif
