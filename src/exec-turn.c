#include <config.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>
#include <jansson.h>

#include "acp-client.h"
#include "acpx-error.h"
#include "acpx.h"
#include "events.h"
#include "exec-turn.h"
#include "model.h"
#include "output.h"
#include "proc.h"
#include "prompt-input.h"
#include "run-registry.h"
#include "warp-tap.h"
#include "xmalloc.h"

/*
 * One exec-style turn without a saved session. Spawn the agent,
 * initialize, session/new, apply --config-option values, prompt, close.
 * --timeout bounds each phase; on expiry the agent is killed without
 * session/cancel (as the reference does). Ctrl-C during the prompt sends
 * session/cancel and waits up to 2.5 s for the agent to finish the turn.
 */

#define EXEC_INTERRUPT_WAIT	2.5

/*
 * After the prompt's answer the agent may still talk (a session title, a
 * usage update...). The reference renders whatever arrives until the agent
 * is gone, and keeps its stdin open for a while after the answer (0.3-0.9 s
 * on a loaded machine, spent scanning the process table before the close);
 * for its saved sessions it waits for 1 s without session/update (at most
 * 5 s). Here: for an adapter known to talk after its answer
 * (agent_compat_answers_late(): the Claude adapter's session title), keep the
 * agent open until it has sent no session/update for EXEC_LATE_IDLE, at
 * most EXEC_LATE_LIMIT, in the formats that render late updates (text,
 * json); quiet prints only the answer. Other agents end at the answer, so a
 * turn costs no idle wait (a deliberate difference, docs/compatibility.md).
 */
#define EXEC_LATE_IDLE		0.5
#define EXEC_LATE_LIMIT		5.0

enum exec_phase {
	EXEC_START = 0,
	EXEC_SESSION,
	EXEC_MODEL,
	EXEC_CONFIG,
	EXEC_PROMPT,
	EXEC_LATE,		/* answered; reading late updates */
	EXEC_CLOSING
};

struct exec_run {
	struct ev_loop		*loop;
	const struct exec_turn_opts *opts;
	struct output		*out;
	struct acp_client	*client;
	json_t			*blocks;
	enum exec_phase		 phase;
	int			 next_option;

	ev_timer		 timeout_w;
	ev_timer		 interrupt_w;
	ev_timer		 stall_w;	/* warp.stallSeconds */
	ev_timer		 late_w;	/* EXEC_LATE */
	ev_tstamp		 late_start;
	struct acpx_error	*late_err;	/* the answer's outcome */
	struct proc		*proc;

	const struct exec_turn_hooks *hooks;	/* or NULL */
	const struct exec_turn_stall *stall;	/* or NULL */
	int			 flags;		/* EXEC_TURN_* */
	json_t			*prompt_result;

	struct acpx_error	*err;		/* first failure */
	int			 exit;		/* exit status when err is NULL */
	int			 interrupted;
	int			 stalled;	/* the stall rule cancelled it */
	int			 silent_fail;	/* exit 1 with nothing shown */
	int			 done;		/* the agent is closed */
};

static void	exec_next(struct exec_run *);
static void	exec_step_cb(struct acp_client *, const json_t *,
		    struct acpx_error *, void *);
static int	exec_apply_model(struct exec_run *, const json_t *);

static void
exec_message_cb(struct acp_client *c, const json_t *msg, int outbound,
    void *arg)
{
	struct exec_run	*r = arg;

	output_acp_message_dir(r->out, msg, outbound ? OUTPUT_DIR_OUTBOUND :
	    OUTPUT_DIR_INBOUND);
	/* Any word from the agent during the prompt: not stalled. */
	if (!outbound && ev_is_active(&r->stall_w))
		ev_timer_again(r->loop, &r->stall_w);
	if (r->hooks != NULL && r->hooks->message != NULL)
		r->hooks->message(msg, outbound, r->hooks->arg);
}

static void
exec_log_cb(struct acp_client *c, const char *line, void *arg)
{
	struct exec_run	*r = arg;

	output_notice(r->out, "%s", line);
}

static void
exec_closed_cb(struct acp_client *c, const json_t *result,
    struct acpx_error *err, void *arg)
{
	struct exec_run	*r = arg;

	r->done = 1;
}

/* Stop everything and close the agent; the loop ends when it is gone. */
static void
exec_finish(struct exec_run *r, struct acpx_error *err)
{
	if (r->phase == EXEC_CLOSING) {
		acpx_error_free(err);
		return;
	}
	if (r->err == NULL)
		r->err = err;
	else
		acpx_error_free(err);
	r->phase = EXEC_CLOSING;
	/* Whatever ended the turn, the stream ends cleanly (final newline). */
	output_turn_end(r->out);
	ev_timer_stop(r->loop, &r->timeout_w);
	ev_timer_stop(r->loop, &r->interrupt_w);
	ev_timer_stop(r->loop, &r->stall_w);
	ev_timer_stop(r->loop, &r->late_w);
	if (!(r->flags & EXEC_TURN_HOLD_SIGNALS))
		proc_clear_signals(r->proc);
	acp_client_close(r->client, exec_closed_cb, r);
}

/* (Re)arm the per-phase deadline. */
static void
exec_arm_timeout(struct exec_run *r)
{
	if (r->opts->client->timeout_ms < 0)
		return;
	ev_timer_stop(r->loop, &r->timeout_w);
	ev_timer_set(&r->timeout_w, r->opts->client->timeout_ms / 1000.0, 0.);
	ev_timer_start(r->loop, &r->timeout_w);
}

static void
exec_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct exec_run	*r = w->data;

	acp_client_kill(r->client);
	exec_finish(r, acpx_error_new(ACPX_CODE_TIMEOUT, NULL, "cli",
	    "Timed out after %lldms", r->opts->client->timeout_ms));
}

static void
exec_interrupt_wait_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct exec_run	*r = w->data;

	/* The agent ignored session/cancel: kill it, exit 1 silently. */
	acp_client_kill(r->client);
	if (!r->stalled || r->interrupted)
		r->silent_fail = 1;
	exec_finish(r, NULL);
}

/*
 * A provider failure seen in the prompt (the stall rule's timer, or the
 * provider tap): cancel, wait briefly for the answer, then kill. stall:
 * the stall rule's, whose caller is told.
 */
static void
exec_provider_end(struct exec_run *r, int stall)
{
	if (r->phase != EXEC_PROMPT || r->interrupted || r->stalled)
		return;
	r->stalled = 1;
	ev_timer_stop(r->loop, &r->stall_w);
	if (stall && r->stall->stalled != NULL)
		r->stall->stalled(r->stall->arg);
	acp_client_cancel(r->client);
	ev_timer_set(&r->interrupt_w, EXEC_INTERRUPT_WAIT, 0.);
	ev_timer_start(r->loop, &r->interrupt_w);
}

static void
exec_stall_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	ev_timer_stop(loop, w);
	exec_provider_end(w->data, 1);
}

/* The provider tap ended the turn (warp-tap.h). */
static void
exec_tap_cb(void *arg)
{
	exec_provider_end(arg, 0);
}

static void
exec_signal_cb(struct ev_loop *loop, int signo, void *arg)
{
	struct exec_run		*r = arg;
	struct acpx_error	*e;

	if (r->phase == EXEC_LATE) {
		/* Answered already: stop reading late updates, end as answered. */
		e = r->late_err;
		r->late_err = NULL;
		exec_finish(r, e);
		return;
	}
	if (r->phase == EXEC_PROMPT && !r->interrupted) {
		r->interrupted = 1;
		acp_client_cancel(r->client);
		ev_timer_set(&r->interrupt_w, EXEC_INTERRUPT_WAIT, 0.);
		ev_timer_start(loop, &r->interrupt_w);
		return;
	}
	r->interrupted = 1;
	r->exit = ACPX_EXIT_INTERRUPTED;
	acp_client_kill(r->client);
	exec_finish(r, NULL);
}

/* EXEC_LATE: finish once the agent has been quiet long enough. */
static void
exec_late_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct exec_run	*r = w->data;
	ev_tstamp	 left;

	ev_timer_stop(loop, w);
	left = acp_client_quiet_left(r->client, r->late_start, EXEC_LATE_IDLE,
	    EXEC_LATE_LIMIT, ev_now(loop));
	if (left <= 0.) {
		struct acpx_error *e = r->late_err;

		r->late_err = NULL;
		exec_finish(r, e);
		return;
	}
	ev_timer_set(w, left, 0.);
	ev_timer_start(loop, w);
}

/* The prompt was answered: read late updates first, then finish with e. */
static void
exec_answered(struct exec_run *r, struct acpx_error *e)
{
	if (output_format(r->out) == ACPX_FORMAT_QUIET ||
	    !acp_client_answers_late(r->client)) {
		exec_finish(r, e);
		return;
	}
	r->phase = EXEC_LATE;
	r->late_err = e;
	ev_timer_stop(r->loop, &r->timeout_w);
	ev_timer_stop(r->loop, &r->stall_w);
	ev_timer_stop(r->loop, &r->interrupt_w);
	r->late_start = ev_now(r->loop);
	ev_timer_set(&r->late_w, EXEC_LATE_IDLE, 0.);
	ev_timer_start(r->loop, &r->late_w);
}

static void
exec_step_cb(struct acp_client *c, const json_t *result,
    struct acpx_error *err, void *arg)
{
	struct exec_run			*r = arg;
	const struct acp_perm_stats	*st;
	struct acpx_error		*e = NULL;

	if (err != NULL) {
		/* The step owns err; keep our own copy of what we need. */
		e = acpx_error_new(err->code, err->detail_code, err->origin,
		    "%s", err->message);
		e->flags = err->flags;
		e->retryable = err->retryable;
		if (err->acp != NULL)
			e->acp = json_incref(err->acp);
		exec_finish(r, e);
		return;
	}
	switch (r->phase) {
	case EXEC_START:
		r->phase = EXEC_SESSION;
		acp_client_session_new(r->client, exec_step_cb, r);
		exec_arm_timeout(r);
		break;
	case EXEC_SESSION:
		if (exec_apply_model(r, result) == 0)
			break;
		/* FALLTHROUGH */
	case EXEC_MODEL:
	case EXEC_CONFIG:
		r->phase = EXEC_CONFIG;
		exec_next(r);
		break;
	case EXEC_PROMPT:
		if (result != NULL && r->prompt_result == NULL)
			r->prompt_result = json_deep_copy(result);
		st = acp_client_perm_stats(r->client);
		if (st->prompt_unavailable)
			e = acpx_error_new(ACPX_CODE_PERMISSION_PROMPT_UNAVAILABLE,
			    NULL, "cli", "Permission prompt unavailable in "
			    "non-interactive mode");
		else if (st->requested > 0 && st->approved == 0 &&
		    st->denied + st->cancelled > 0) {
			r->exit = ACPX_EXIT_PERMISSION_DENIED;
			if (output_format(r->out) == ACPX_FORMAT_QUIET)
				e = acpx_error_new(ACPX_CODE_PERMISSION_DENIED,
				    NULL, "cli", "Permission request denied or "
				    "cancelled");
		}
		exec_answered(r, e);
		break;
	case EXEC_LATE:
	case EXEC_CLOSING:
		break;
	}
}

/*
 * --model after session/new: check it against what the session advertises
 * and switch to it (set_config_option or legacy set_model). Returns 0 when
 * a request was sent or the run failed, -1 to go on.
 */
static int
exec_apply_model(struct exec_run *r, const json_t *result)
{
	struct model_state	 ms;
	const char		*model = r->opts->client->session.model;
	char			*err, *warning, *id;
	int			 have;

	if (model == NULL || strspn(model, " \t\r\n") == strlen(model))
		return (-1);
	have = model_state_parse(result, &ms) == 0;
	err = model_check(model, have ? &ms : NULL,
	    model_agent_kind(r->opts->client->argv), "apply", &warning);
	/* Suppressed in quiet too (suppressSdkConsoleErrors). */
	if (warning != NULL && output_format(r->out) != ACPX_FORMAT_QUIET)
		output_notice(r->out, "warning: %s", warning);
	free(warning);
	if (err != NULL) {
		model_state_clear(&ms);
		exec_finish(r, acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli", "%s",
		    err));
		free(err);
		return (0);
	}
	if (!have) {
		model_state_clear(&ms);
		return (-1);
	}
	id = model_resolve(model, &ms, model_agent_kind(r->opts->client->argv));
	if (ms.current != NULL && strcmp(ms.current, id) == 0) {
		free(id);
		model_state_clear(&ms);
		return (-1);
	}
	r->phase = EXEC_MODEL;
	if (ms.config_id != NULL)
		acp_client_set_config_option(r->client, ms.config_id, id,
		    exec_step_cb, r);
	else
		acp_client_set_model(r->client, id, exec_step_cb, r);
	exec_arm_timeout(r);
	free(id);
	model_state_clear(&ms);
	return (0);
}

/* Apply the next --config-option, or send the prompt. */
static void
exec_next(struct exec_run *r)
{
	const char		*kv;
	char			*key, *eq;
	struct acpx_error	*err = NULL;

	if (r->next_option < r->opts->nconfig_options) {
		kv = r->opts->config_options[r->next_option++];
		key = xstrdup(kv);
		if ((eq = strchr(key, '=')) != NULL)
			*eq++ = '\0';
		acp_client_set_config_option(r->client, key, eq != NULL ? eq : "",
		    exec_step_cb, r);
		free(key);
		exec_arm_timeout(r);
		return;
	}
	if (prompt_input_check_caps(r->blocks,
	    acp_client_agent_caps(r->client), &err) == -1) {
		exec_finish(r, err);
		return;
	}
	r->phase = EXEC_PROMPT;
	acp_client_prompt(r->client, r->blocks, exec_step_cb, r);
	exec_arm_timeout(r);
	if (r->stall != NULL && r->stall->seconds > 0) {
		ev_timer_set(&r->stall_w, 0., (ev_tstamp)r->stall->seconds);
		ev_timer_again(r->loop, &r->stall_w);
	}
}

/* Run one exec-style turn of the options' agent; the caller shows res->err. */
void
exec_turn_run(const struct exec_turn_opts *opts, const json_t *blocks,
    struct output *out, const struct exec_turn_hooks *hooks,
    struct exec_turn_result *res)
{
	exec_turn_run_flags(opts, blocks, out, hooks, 0, res);
}

/* exec_turn_run() with EXEC_TURN_* flags. */
void
exec_turn_run_flags(const struct exec_turn_opts *opts, const json_t *blocks,
    struct output *out, const struct exec_turn_hooks *hooks, int flags,
    struct exec_turn_result *res)
{
	exec_turn_run_stall(opts, blocks, out, hooks, NULL, flags, res);
}

/* exec_turn_run_flags() with the stall rule. */
void
exec_turn_run_stall(const struct exec_turn_opts *opts, const json_t *blocks,
    struct output *out, const struct exec_turn_hooks *hooks,
    const struct exec_turn_stall *stall, int flags,
    struct exec_turn_result *res)
{
	struct exec_run		 r;
	struct acp_client_events ev = { exec_message_cb, exec_log_cb,
	    NULL };

	memset(res, 0, sizeof *res);
	memset(&r, 0, sizeof r);
	r.opts = opts;
	r.out = out;
	r.hooks = hooks;
	r.stall = stall;
	r.flags = flags;
	r.blocks = json_incref((json_t *)blocks);

	r.proc = proc_start(PROC_DESTROY_LOOP);
	r.loop = proc_loop(r.proc);
	r.client = acp_client_create(r.loop, opts->client, &ev, &r);
	ev_timer_init(&r.timeout_w, exec_timeout_cb, 0., 0.);
	r.timeout_w.data = &r;
	ev_timer_init(&r.interrupt_w, exec_interrupt_wait_cb, 0., 0.);
	r.interrupt_w.data = &r;
	ev_timer_init(&r.stall_w, exec_stall_cb, 0., 0.);
	r.stall_w.data = &r;
	ev_timer_init(&r.late_w, exec_late_cb, 0., 0.);
	r.late_w.data = &r;
	proc_set_signals(r.proc, exec_signal_cb, &r);
	output_attach_loop(out, r.loop);
	run_registry_loop(r.loop);
	events_batch_loop(r.loop);	/* one append per loop iteration */

	r.phase = EXEC_START;
	exec_arm_timeout(&r);
	warp_tap_start(opts->client->tap, r.loop, exec_tap_cb, &r);
	acp_client_start(r.client, exec_step_cb, &r);
	while (!r.done)
		ev_run(r.loop, EVRUN_ONCE);
	warp_tap_stop(opts->client->tap);
	output_attach_loop(out, NULL);
	run_registry_loop(NULL);
	events_batch_loop(NULL);

	proc_clear_signals(r.proc);
	acpx_error_free(r.late_err);
	res->err = r.err;
	res->exit = r.exit;
	res->silent_fail = r.silent_fail;
	res->interrupted = r.interrupted;
	res->stalled = r.stalled;
	res->stderr_text = acp_client_stderr_text(r.client);
	res->prompt_result = r.prompt_result;
	res->perm = *acp_client_perm_stats(r.client);

	acp_client_free(r.client);
	json_decref(r.blocks);
	proc_free(r.proc);
}

/* Free what exec_turn_run() put into res. */
void
exec_turn_result_clear(struct exec_turn_result *res)
{
	acpx_error_free(res->err);
	json_decref(res->prompt_result);
	free(res->stderr_text);
	memset(res, 0, sizeof *res);
}
