#include <config.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <jansson.h>

#include "acpx-error.h"
#include "acpx.h"
#include "cli-invocation.h"
#include "cli-validate.h"
#include "cmd-sessions.h"
#include "cmd.h"
#include "complete.h"
#include "jget.h"
#include "journal.h"
#include "output.h"
#include "proc.h"
#include "queue-lease.h"
#include "session-lock.h"
#include "session-record.h"
#include "session-store.h"
#include "xmalloc.h"

/*
 * sessions watch: replay the journal from a cursor, then follow it (poll
 * every 100 ms) while a live owner exists, a turn is open, or the record
 * is open; SIGINT/SIGTERM/SIGHUP stop it (exit 0). Rendering as the
 * reference's cli/session-watch.ts: json = one event per line; text/quiet
 * = the turn's ACP messages through a fresh renderer per turn.
 */

#define WATCH_POLL	0.1

struct watch {
	const struct invocation	*inv;
	struct output		*out;
	struct output		*turn_out;	/* text/quiet renderer of the turn */
	struct output_opts	 oo;
	struct ev_loop		*loop;
	struct proc		*proc;
	ev_timer		 poll_w;
	int			 stopped;
	int			 polled;
	char			*record_id;
	char			*missing_request;
};

static struct acpx_error *
watch_error(const char *code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static struct acpx_error *
watch_error(const char *code, const char *fmt, ...)
{
	struct acpx_error	*err;
	va_list			 ap;
	char			*msg;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	err = acpx_error_new(strncmp(code, "WATCH_CURSOR_", 13) == 0 ?
	    ACPX_CODE_USAGE : ACPX_CODE_RUNTIME, code, "runtime", "%s", msg);
	err->retryable = 0;
	free(msg);
	return (err);
}

static void
watch_signal_cb(struct ev_loop *loop, int signo, void *arg)
{
	struct watch	*wa = arg;

	wa->stopped = 1;
	ev_break(loop, EVBREAK_ONE);
}

static void
watch_poll_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct watch	*wa = w->data;

	wa->polled = 1;
}

static void
watch_new_turn_output(struct watch *wa)
{
	if (wa->turn_out != NULL)
		output_free(wa->turn_out);
	wa->turn_out = output_create(&wa->oo);
}

/* A response carrying a stopReason (parsePromptStopReason). */
static int
watch_is_stop(const json_t *m)
{
	const json_t	*r = json_object_get(m, "result");

	return (json_object_get(m, "method") == NULL &&
	    jget_str(r, "stopReason") != NULL);
}

static void
watch_render(struct watch *wa, const struct journal_entry *e)
{
	json_t		*o;
	char		*cursor = journal_cursor_encode(wa->record_id, e->seq);
	const char	*type;
	const json_t	*st;

	if (output_format(wa->out) == ACPX_FORMAT_JSON) {
		type = e->type == JOURNAL_MESSAGE ? "message" :
		    e->type == JOURNAL_TURN_STARTED ? "turn_started" :
		    "turn_result";
		o = json_pack("{s:s, s:s}", "cursor", cursor, "type", type);
		if (e->request_id != NULL)
			json_object_set_new(o, "requestId",
			    json_string(e->request_id));
		else
			json_object_set_new(o, "requestId", json_null());
		if (e->type == JOURNAL_MESSAGE)
			json_object_set(o, "message", (json_t *)e->message);
		else if (e->type == JOURNAL_TURN_RESULT)
			json_object_set(o, "result", (json_t *)e->result);
		output_result_json(wa->out, o);
		json_decref(o);
		free(cursor);
		return;
	}
	switch (e->type) {
	case JOURNAL_TURN_STARTED:
		watch_new_turn_output(wa);
		if (output_format(wa->out) != ACPX_FORMAT_QUIET)
			output_result_text(wa->out, "\n[%s] started cursor=%s",
			    e->request_id, cursor);
		break;
	case JOURNAL_MESSAGE:
		if (wa->turn_out == NULL)
			watch_new_turn_output(wa);
		if (output_format(wa->out) == ACPX_FORMAT_QUIET ||
		    !watch_is_stop(e->message))
			output_acp_message(wa->turn_out, e->message);
		break;
	case JOURNAL_TURN_RESULT:
		if (wa->turn_out != NULL)
			output_turn_end(wa->turn_out);
		if (output_format(wa->out) == ACPX_FORMAT_QUIET)
			break;
		st = json_object_get(e->result, "error");
		if (strcmp(jget_str(e->result, "status"), "failed") == 0)
			type = jget_str(st, "message");
		else
			type = jget_str(e->result, "stopReason");
		output_result_text(wa->out, "\n[%s] %s%s%s cursor=%s",
		    e->request_id, jget_str(e->result, "status"),
		    type != NULL && *type != '\0' ? ": " : "",
		    type != NULL ? type : "", cursor);
		break;
	}
	free(cursor);
}

/* continueWatching: 1 keep following, 0 stop, -1 with *err. */
static int
watch_continue(struct watch *wa, const char *open_request,
    struct acpx_error **err)
{
	struct queue_lease_info	*info;
	struct session_record	*rec;
	char			*cause = NULL;
	int			 closed;

	if ((info = queue_lease_read(wa->record_id)) != NULL &&
	    session_lock_pid_alive(info->pid)) {
		if (!json_is_true(json_object_get(info->raw, "sessionWatch"))) {
			queue_lease_info_free(info);
			*err = watch_error("WATCH_OWNER_UNSUPPORTED", "This running "
			    "session owner predates passive watching. Let it "
			    "expire when idle or explicitly close the session "
			    "before starting new work.");
			return (-1);
		}
		queue_lease_info_free(info);
		free(wa->missing_request);
		wa->missing_request = NULL;
		return (1);
	}
	queue_lease_info_free(info);
	if (open_request != NULL && wa->missing_request != NULL &&
	    strcmp(open_request, wa->missing_request) == 0) {
		*err = watch_error("WATCH_OUTCOME_UNKNOWN", "Session owner ended "
		    "without a settled result for request %s; its outcome is "
		    "unknown. Resume watching from the last cursor after "
		    "recovery, and do not automatically replay the prompt.",
		    open_request);
		return (-1);
	}
	free(wa->missing_request);
	wa->missing_request = open_request != NULL ? xstrdup(open_request) :
	    NULL;
	if (open_request != NULL)
		return (1);
	if ((rec = session_store_load(wa->record_id, &cause)) == NULL) {
		free(cause);
		*err = acpx_error_new(ACPX_CODE_NO_SESSION, NULL, "runtime",
		    "Session not found: %s", wa->record_id);
		return (-1);
	}
	closed = rec->closed;
	session_record_free(rec);
	return (!closed);
}

static int
watch_loop(struct watch *wa, long long after, int have_cursor,
    struct acpx_error **err)
{
	struct journal_snapshot	 s;
	char			*cause = NULL;
	size_t			 i;
	int			 first = 1, keep;

	for (;;) {
		if (journal_read(wa->record_id, after, &s, &cause) == -1) {
			*err = watch_error("WATCH_JOURNAL_CORRUPT", "%s", cause);
			free(cause);
			journal_snapshot_free(&s);
			return (-1);
		}
		if (have_cursor && after >= 0) {
			if (after > s.last_seq) {
				*err = watch_error(first ? "WATCH_CURSOR_FUTURE" :
				    "WATCH_CURSOR_EXPIRED", "Cursor is beyond the "
				    "available session journal");
				journal_snapshot_free(&s);
				return (-1);
			}
			if (s.first_seq >= 0 && after < s.first_seq) {
				*err = watch_error("WATCH_CURSOR_EXPIRED", "Cursor "
				    "is older than retained session history");
				journal_snapshot_free(&s);
				return (-1);
			}
		}
		first = 0;
		for (i = 0; i < s.n && !wa->stopped; i++) {
			watch_render(wa, &s.v[i]);
			after = s.v[i].seq;
			have_cursor = 1;
		}
		keep = wa->stopped || output_broken_pipe(wa->out) ? 0 :
		    watch_continue(wa, s.open_request_id, err);
		journal_snapshot_free(&s);
		if (keep <= 0)
			return (keep);
		wa->polled = 0;
		ev_timer_set(&wa->poll_w, WATCH_POLL, 0.);
		ev_timer_start(wa->loop, &wa->poll_w);
		while (!wa->polled && !wa->stopped)
			ev_run(wa->loop, EVRUN_ONCE);
		ev_timer_stop(wa->loop, &wa->poll_w);
		if (wa->stopped)
			return (0);
	}
}

/* sessions watch. */
int
cmd_sessions_watch_run(const struct invocation *inv, struct output *out)
{
	struct watch		 wa;
	struct session_record	*rec;
	struct acpx_error	*err = NULL;
	const char		*cursor = jget_str(inv->verb_opts, "cursor");
	char			*cid = NULL, *cause = NULL;
	long long		 after = -1;
	int			 rc;

	if ((rec = cmd_sessions_find_scoped(inv, out, 0)) == NULL &&
	    (rec = cmd_sessions_find_scoped(inv, out, 1)) == NULL)
		return (output_fail(out, cmd_sessions_missing(inv, inv->session)));
	memset(&wa, 0, sizeof wa);
	wa.inv = inv;
	wa.out = out;
	wa.record_id = xstrdup(rec->record_id);
	session_record_free(rec);
	if (cursor != NULL) {
		if (journal_cursor_decode(cursor, &cid, &after, &cause) == -1) {
			err = watch_error("WATCH_CURSOR_INVALID", "%s", cause);
			free(cause);
			free(wa.record_id);
			return (output_fail(out, err));
		}
		if (strcmp(cid, wa.record_id) != 0) {
			free(cid);
			free(wa.record_id);
			return (output_fail(out, watch_error(
			    "WATCH_CURSOR_FOREIGN", "Cursor belongs to another "
			    "session")));
		}
		free(cid);
	}
	wa.oo.format = inv->format;
	wa.oo.json_strict = inv->json_strict;
	wa.oo.suppress_reads = inv->suppress_reads;
	wa.oo.color = inv->format == ACPX_FORMAT_TEXT && isatty(STDOUT_FILENO);
	wa.oo.agent_name = inv->agent.name;
	wa.oo.out = stdout;
	wa.oo.err = stderr;
	wa.proc = proc_start(0);
	wa.loop = proc_loop(wa.proc);
	ev_init(&wa.poll_w, watch_poll_cb);
	wa.poll_w.data = &wa;
	proc_set_signals(wa.proc, watch_signal_cb, &wa);
	rc = watch_loop(&wa, after, cursor != NULL, &err);
	proc_free(wa.proc);
	if (wa.turn_out != NULL)
		output_free(wa.turn_out);
	free(wa.record_id);
	free(wa.missing_request);
	if (rc == -1)
		return (output_fail(out, err));
	return (ACPX_EXIT_SUCCESS);
}

/* ------------------------------------------------------- the command row */

static const struct cmd_opt o_watch_cursor = CMD_OPT("--cursor <cursor>",
    NULL, "--cursor", "cursor", "Resume after a session watch cursor",
    CMD_OPT_VALUE, cli_validate_cursor);
static const struct cmd_opt *const watch_opts[] = { &cmd_opt_name,
    &o_watch_cursor, NULL };

/* --name (else -s of the agent), --cursor. */
static int
sessions_watch_prepare(struct cli_run *run, struct cli_cmd *leaf,
    struct invocation *inv)
{
	inv->session = cli_prepare_session(leaf, "name");
	return (cmd_sessions_prepare(run, leaf, inv));
}

/* --name: open or closed sessions of exactly this directory. */
static int
sessions_watch_complete(struct complete *c, const struct cmd_opt *o,
    int npos)
{
	if (o == NULL || strcmp(o->key, "name") != 0)
		return (0);
	complete_sessions(c, COMPLETE_EXACT_ANY);
	return (1);
}

const struct cmd_entry cmd_sessions_watch_entry = {
	.name = "watch",
	.desc = "Replay and follow session events without affecting the active "
	    "turn",
	.opts = watch_opts,
	.flags = CMD_ACTION,
	.prepare = sessions_watch_prepare,
	.run = cmd_sessions_watch_run,
	.complete = sessions_watch_complete
};
