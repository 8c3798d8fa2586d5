#include <config.h>

#include <stdlib.h>

#include <ev.h>

#include "acpx-error.h"
#include "cli-invocation.h"
#include "cmd-slots.h"
#include "output.h"
#include "progress.h"
#include "proc.h"
#include "slots.h"

/*
 * The host-wide agent cap at the command line (see cmd-slots.h). The
 * waiting itself happens where the agent runs: in the queue owner for a
 * persistent prompt, here for exec.
 */

static void
slots_notice(struct output *out, const struct slots_caps *caps)
{
	int	busy, cap, waiting;

	if (output_format(out) != ACPX_FORMAT_TEXT)
		return;
	slots_busy(caps, &busy, &cap, &waiting);
	output_notice(out, "waiting for a free agent slot (%d/%d busy)", busy,
	    cap);
}

int
cmd_slots_prompt_check(const struct invocation *inv, const char *session_id,
    struct output *out, struct acpx_error **err)
{
	struct slots_caps	caps;
	int			busy, cap, waiting;

	*err = NULL;
	if (!slots_caps(inv->config, inv->agent.command, &caps))
		return (0);
	/* Its owner's agent is warm: it holds a slot already. */
	if (slots_session_holds(session_id) || slots_free_now(&caps)) {
		slots_caps_clear(&caps);
		return (0);
	}
	if (inv->no_wait) {
		slots_busy(&caps, &busy, &cap, &waiting);
		*err = acpx_error_new(ACPX_CODE_HOST_AT_CAPACITY,
		    "HOST_AT_CAPACITY", "cli", "No free agent slot on this host "
		    "(%d/%d busy, %d waiting); not queued (--no-wait)", busy, cap,
		    waiting);
		slots_caps_clear(&caps);
		return (-1);
	}
	slots_notice(out, &caps);
	slots_caps_clear(&caps);
	return (0);
}

static void
slots_acquire_ready(struct slots_hold *h, void *arg)
{
	*(struct slots_hold **)arg = h;
}

int
cmd_slots_acquire(const struct invocation *inv, struct output *out,
    struct ev_loop *loop, const char *kind, const volatile sig_atomic_t *stop,
    struct slots_hold **hold, struct acpx_error **err)
{
	struct slots_caps	 caps;
	struct slots_wait	*w;
	char			*cause = NULL;
	int			 busy, cap, waiting;

	*hold = NULL;
	*err = NULL;
	if (!slots_caps(inv->config, inv->agent.command, &caps))
		return (0);
	/* Run by an agent holding a slot: in that slot (no wait for it). */
	if (slots_ancestor_holds()) {
		slots_caps_clear(&caps);
		return (0);
	}
	if (!slots_free_now(&caps)) {
		if (inv->no_wait) {
			slots_busy(&caps, &busy, &cap, &waiting);
			*err = acpx_error_new(ACPX_CODE_HOST_AT_CAPACITY,
			    "HOST_AT_CAPACITY", "cli", "No free agent slot on "
			    "this host (%d/%d busy, %d waiting); not queued "
			    "(--no-wait)", busy, cap, waiting);
			slots_caps_clear(&caps);
			return (-1);
		}
		slots_notice(out, &caps);
	}
	w = slots_wait(loop, &caps, kind, NULL, slots_acquire_ready, hold,
	    &cause);
	slots_caps_clear(&caps);
	if (w == NULL) {
		*err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli", "%s",
		    cause);
		free(cause);
		return (-1);
	}
	/* The loop runs (timers, child watchers) while we wait our turn. */
	if (*hold == NULL)
		progress_show(loop, "waiting for a host slot");
	while (*hold == NULL && (stop == NULL || !*stop))
		ev_run(loop, EVRUN_ONCE);
	/* Its timer is on loop, which may be the caller's own (freed later). */
	progress_clear();
	if (*hold == NULL) {
		slots_wait_cancel(w);
		*err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli",
		    "Interrupted while waiting for a free agent slot");
		return (-1);
	}
	return (0);
}

int
cmd_slots_exec_acquire(const struct invocation *inv, struct output *out,
    struct slots_hold **hold, struct acpx_error **err)
{
	return (cmd_slots_acquire(inv, out, proc_default_loop(), "exec", NULL,
	    hold, err));
}
