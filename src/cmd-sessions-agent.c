#include <config.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>
#include <jansson.h>

#include "acp-client.h"
#include "acpx-error.h"
#include "acpx.h"
#include "agent-launch.h"
#include "cli-invocation.h"
#include "cmd-opts.h"
#include "cmd-slots.h"
#include "cmd-sessions.h"
#include "jget.h"
#include "output.h"
#include "proc.h"
#include "warp.h"
#include "xmalloc.h"

/*
 * An agent connection for the sessions commands, driven step by step:
 * the caller starts a client step with cmd_sessions_agent_done as callback and
 * cmd_sessions_agent_wait() runs the loop until it completes. --timeout bounds
 * each step (the agent is killed, as the reference's withTimeout leaves
 * it); SIGINT/SIGTERM/SIGHUP kill the agent and end the wait.
 */

struct cmd_sessions_agent {
	struct ev_loop		*loop;
	const struct invocation	*inv;
	struct output		*out;
	struct agent_launch	 launch;
	struct acp_client_opts	 opts;
	struct acp_client	*client;
	ev_timer		 timeout_w;
	ev_timer		 sleep_w;
	struct proc		*proc;
	struct slots_hold	*slot;		/* host-wide cap, or NULL */

	int			 done;
	json_t			*result;
	struct acpx_error	*err;
	int			 interrupted;
	int			 timed_out;
	int			 closed;
};

/* What the agent says before any turn (right after session/new): its quota. */
static void
agent_message_cb(struct acp_client *c, const json_t *msg, int outbound,
    void *arg)
{
	struct cmd_sessions_agent	*sa = arg;

	if (!outbound && sa->launch.node == NULL)
		warp_quota_tap_config(sa->inv->config, sa->launch.agent, msg);
}

static void
agent_log_cb(struct acp_client *c, const char *line, void *arg)
{
	struct cmd_sessions_agent	*sa = arg;

	output_notice(sa->out, "%s", line);
}

static void
agent_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct cmd_sessions_agent	*sa = w->data;

	sa->timed_out = 1;
	acp_client_kill(sa->client);
	ev_break(loop, EVBREAK_ONE);
}

static void
agent_signal_cb(struct ev_loop *loop, int signo, void *arg)
{
	struct cmd_sessions_agent	*sa = arg;

	sa->interrupted = 1;
	acp_client_kill(sa->client);
	ev_break(loop, EVBREAK_ONE);
}

static void
agent_sleep_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	ev_break(loop, EVBREAK_ONE);
}

/* The launch step, a loop, a client, signal watchers. */
struct cmd_sessions_agent *
cmd_sessions_agent_new(const struct invocation *inv, struct output *out,
    struct acpx_error **err)
{
	struct cmd_sessions_agent		*sa;
	struct acp_client_events	 ev = { agent_message_cb, agent_log_cb,
					    NULL };

	sa = xcalloc(1, sizeof *sa);
	/* No cooldown pick: the session lives on the agent it names. */
	if (cmd_opts_launch(inv, 0, &sa->launch, err) == -1) {
		free(sa);
		return (NULL);
	}
	if (sa->launch.notice != NULL)
		output_notice(out, "%s", sa->launch.notice);
	cmd_opts_client(inv, &sa->launch, &sa->opts);
	sa->proc = proc_start(PROC_DESTROY_LOOP);
	sa->loop = proc_loop(sa->proc);
	sa->inv = inv;
	sa->out = out;
	sa->client = acp_client_create(sa->loop, &sa->opts, &ev, sa);
	ev_init(&sa->timeout_w, agent_timeout_cb);
	sa->timeout_w.data = sa;
	ev_init(&sa->sleep_w, agent_sleep_cb);
	sa->sleep_w.data = sa;
	proc_set_signals(sa->proc, agent_signal_cb, sa);
	/* Under the host-wide cap: a slot before the agent is spawned. */
	if (cmd_slots_acquire(inv, out, sa->loop, "cli", &sa->interrupted,
	    &sa->slot, err) == -1) {
		cmd_sessions_agent_free(sa);
		return (NULL);
	}
	return (sa);
}

struct acp_client *
cmd_sessions_agent_client(struct cmd_sessions_agent *sa)
{
	return (sa->client);
}

const char *
cmd_sessions_agent_node(const struct cmd_sessions_agent *sa,
    const char **agent)
{
	*agent = sa->launch.agent;
	return (sa->launch.node);
}

struct ev_loop *
cmd_sessions_agent_loop(struct cmd_sessions_agent *sa)
{
	return (sa->loop);
}

/* The acp_done_cb for the client's steps. */
void
cmd_sessions_agent_done(struct acp_client *c, const json_t *result,
    struct acpx_error *err, void *arg)
{
	struct cmd_sessions_agent	*sa = arg;
	const char		*msg;

	sa->done = 1;
	json_decref(sa->result);
	sa->result = result != NULL ? json_deep_copy(result) : NULL;
	acpx_error_free(sa->err);
	sa->err = NULL;
	if (err != NULL) {
		/*
		 * Thrown to the top level as the reference throws them: origin
		 * "cli"; text mode shows the agent's raw message, the other
		 * formats the normalised one.
		 */
		msg = err->message;
		if (err->acp != NULL && err->origin != NULL &&
		    strcmp(err->origin, "acp") == 0 && output_format(sa->out) ==
		    ACPX_FORMAT_TEXT && jget_str(err->acp, "message") != NULL)
			msg = jget_str(err->acp, "message");
		sa->err = acpx_error_new(err->code, err->detail_code,
		    err->acp != NULL ? "cli" : err->origin, "%s", msg);
		sa->err->retryable = err->retryable;
		sa->err->flags = err->flags & ~ACPX_ERROR_EMITTED;
		if (err->acp != NULL)
			sa->err->acp = json_incref(err->acp);
	}
}

/* Run the loop until the pending step completes. */
int
cmd_sessions_agent_wait(struct cmd_sessions_agent *sa, json_t **result,
    struct acpx_error **err)
{
	*result = NULL;
	*err = NULL;
	if (sa->inv->timeout_ms >= 0) {
		ev_timer_set(&sa->timeout_w, sa->inv->timeout_ms / 1000.0, 0.);
		ev_timer_start(sa->loop, &sa->timeout_w);
	}
	while (!sa->done && !sa->interrupted && !sa->timed_out)
		ev_run(sa->loop, EVRUN_ONCE);
	ev_timer_stop(sa->loop, &sa->timeout_w);
	if (sa->timed_out && !sa->done) {
		*err = acpx_error_new(ACPX_CODE_TIMEOUT, NULL, "cli",
		    "Timed out after %lldms", sa->inv->timeout_ms);
		return (-1);
	}
	if (sa->interrupted && !sa->done) {
		*err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli",
		    "Interrupted");
		return (-1);
	}
	sa->done = 0;
	if (sa->err != NULL) {
		*err = sa->err;
		sa->err = NULL;
		json_decref(sa->result);
		sa->result = NULL;
		return (-1);
	}
	*result = sa->result;
	sa->result = NULL;
	return (0);
}

/* Close the agent and wait for it to be gone. */
void
cmd_sessions_agent_close(struct cmd_sessions_agent *sa)
{
	if (sa->closed)
		return;
	sa->closed = 1;
	sa->done = 0;
	acp_client_close(sa->client, cmd_sessions_agent_done, sa);
	while (!sa->done)
		ev_run(sa->loop, EVRUN_ONCE);
	sa->done = 0;
	slots_hold_release(sa->slot);	/* the agent is gone */
	sa->slot = NULL;
}

/* Run the loop for a while. */
void
cmd_sessions_agent_sleep(struct cmd_sessions_agent *sa, double seconds)
{
	int	was = sa->interrupted;

	ev_timer_set(&sa->sleep_w, seconds, 0.);
	ev_timer_start(sa->loop, &sa->sleep_w);
	while (ev_is_active(&sa->sleep_w) && sa->interrupted == was)
		ev_run(sa->loop, EVRUN_ONCE);
	ev_timer_stop(sa->loop, &sa->sleep_w);
}

int
cmd_sessions_agent_interrupted(const struct cmd_sessions_agent *sa)
{
	return (sa->interrupted);
}

void
cmd_sessions_agent_free(struct cmd_sessions_agent *sa)
{
	if (sa == NULL)
		return;
	ev_timer_stop(sa->loop, &sa->timeout_w);
	ev_timer_stop(sa->loop, &sa->sleep_w);
	proc_clear_signals(sa->proc);
	acp_client_free(sa->client);
	slots_hold_release(sa->slot);
	json_decref(sa->result);
	acpx_error_free(sa->err);
	proc_free(sa->proc);
	agent_launch_clear(&sa->launch);
	free(sa);
}
