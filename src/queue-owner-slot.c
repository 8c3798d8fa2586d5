#include <config.h>

#include <signal.h>
#include <stdlib.h>

#include <ev.h>

#include "acp-client.h"
#include "config-file.h"
#include "queue-owner-impl.h"
#include "slots.h"
#include "xmalloc.h"

/*
 * The owner's agent slot under the host-wide cap (slots.h): a job that
 * needs the agent while the owner holds no slot waits in the host-wide
 * FIFO first (state JOB_QUEUED, the job already the owner's running one),
 * and starts once a slot is held. The slot is held while the agent runs,
 * marked idle between jobs; it is released once the agent is gone. A
 * waiter that finds no slot free sends SIGUSR1 to the least recently used
 * idle owner: it closes its idle agent (its session reloads on its next
 * prompt), which frees the slot.
 *
 * Ownership: struct queue_owner_slot is the owner's (o->slot), freed by
 * queue_owner_slot_free(); the hold and the wait are its.
 */

struct queue_owner_slot {
	struct config		*config;
	struct slots_caps	 caps;
	int			 capped;
	struct slots_hold	*hold;
	struct slots_wait	*wait;
	int			 idle;	/* said so in the slot file */
	ev_signal		 evict_w;
	ev_child		 exit_w;	/* the idle agent's exit */
	struct ev_loop		*loop;
};

static void
slot_release(struct queue_owner_slot *s)
{
	if (s->loop != NULL)
		ev_child_stop(s->loop, &s->exit_w);
	slots_hold_release(s->hold);
	s->hold = NULL;
}

/*
 * The idle agent has exited (crash, kill, our own close): its slot is
 * free at once, not at the next job. A second child watcher on its pid
 * (spawn.c's reaps it); libev calls every watcher of the pid.
 */
static void
slot_exit_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct queue_owner	*o = w->data;
	struct queue_owner_slot	*s = o->slot;

	ev_child_stop(loop, w);
	if (s->hold != NULL && s->idle) {
		queue_owner_log(o, "the idle agent exited: agent slot released");
		slot_release(s);
	}
}

/* A waiter asks for our slot: stop the agent if it is idle. */
static void
slot_evict_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct queue_owner	*o = w->data;
	struct queue_owner_slot	*s = o->slot;

	if (s->hold == NULL || o->job != NULL ||
	    (o->flags & (OWNER_CLOSING | OWNER_CLIENT_CLOSING)))
		return;
	if (o->client == NULL || !acp_client_running(o->client)) {
		slot_release(s);
		return;
	}
	queue_owner_log(o, "stopping the idle agent: a waiting turn needs its "
	    "slot");
	queue_owner_agent_close(o);	/* the kick that follows releases it */
}

static struct queue_owner_slot *
slot_get(struct queue_owner *o)
{
	struct queue_owner_slot	*s;
	char			*home, *cause = NULL;

	if (o->slot != NULL)
		return (o->slot);
	s = o->slot = xcalloc(1, sizeof *s);
	home = config_home();
	s->config = config_load(home, o->cwd, NULL, &cause);
	free(home);
	free(cause);	/* the client checked the config: none, no cap */
	s->capped = slots_caps(s->config, o->agent_command, &s->caps);
	if (s->capped) {
		ev_signal_init(&s->evict_w, slot_evict_cb, SIGUSR1);
		s->evict_w.data = o;
		ev_signal_start(o->loop, &s->evict_w);
		s->loop = o->loop;
		ev_child_init(&s->exit_w, slot_exit_cb, 0, 0);
		s->exit_w.data = o;
	}
	return (s);
}

static void
slot_ready_cb(struct slots_hold *h, void *arg)
{
	struct queue_owner	*o = arg;
	struct queue_owner_slot	*s = o->slot;

	s->wait = NULL;
	s->hold = h;
	s->idle = 0;
	queue_owner_log(o, "agent slot taken");
	if (o->job != NULL)
		queue_owner_job_start(o, o->job);
	else
		queue_owner_kick(o);
}

/*
 * Before a job runs: 0 it may go on (no cap, a slot held, or a close);
 * 1 it waits for a slot and is started again once one is held.
 */
int
queue_owner_slot_gate(struct queue_owner *o, struct queue_owner_job *j)
{
	struct queue_owner_slot	*s;
	char			*cause = NULL;

	if (j->kind == QUEUE_OWNER_JOB_CLOSE || !(s = slot_get(o))->capped)
		return (0);
	if (s->hold != NULL) {
		ev_child_stop(o->loop, &s->exit_w);
		if (s->idle)
			slots_hold_set_idle(s->hold, 0);
		s->idle = 0;
		return (0);
	}
	if (s->wait != NULL)
		return (1);
	s->wait = slots_wait(o->loop, &s->caps, "owner", o->opts.session_id,
	    slot_ready_cb, o, &cause);
	if (s->wait == NULL) {
		queue_owner_log(o, "agent slots unusable, not capped: %s", cause);
		free(cause);
		return (0);
	}
	queue_owner_log(o, "waiting for a free agent slot");
	return (1);
}

/* Nothing to run: the slot is idle, or released if the agent is gone. */
void
queue_owner_slot_idle(struct queue_owner *o)
{
	struct queue_owner_slot	*s = o->slot;
	pid_t			 pid;

	if (s == NULL || s->hold == NULL)
		return;
	if (o->client == NULL || !acp_client_running(o->client))
		slot_release(s);
	else if (!s->idle) {
		/* Since when: the least recently used gives way first. */
		slots_hold_set_idle(s->hold, 1);
		s->idle = 1;
		if ((pid = acp_client_pid(o->client)) > 0) {
			ev_child_set(&s->exit_w, pid, 0);
			ev_child_start(o->loop, &s->exit_w);
		}
	}
}

/* A job waiting for a slot is cancelled: stop waiting. 1 if it was. */
int
queue_owner_slot_abandon(struct queue_owner *o)
{
	struct queue_owner_slot	*s = o->slot;

	if (s == NULL || s->wait == NULL)
		return (0);
	slots_wait_cancel(s->wait);
	s->wait = NULL;
	return (1);
}

void
queue_owner_slot_free(struct queue_owner *o)
{
	struct queue_owner_slot	*s = o->slot;

	if (s == NULL)
		return;
	if (s->capped)
		ev_signal_stop(o->loop, &s->evict_w);
	slots_wait_cancel(s->wait);
	slot_release(s);
	slots_caps_clear(&s->caps);
	config_free(s->config);
	free(s);
	o->slot = NULL;
}
