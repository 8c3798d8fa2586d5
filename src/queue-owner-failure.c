#include <config.h>

#include <sys/types.h>
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acp-client.h"
#include "acpx-error.h"
#include "jget.h"
#include "js.h"
#include "permission.h"
#include "queue-owner-impl.h"
#include "session-connect.h"
#include "session-record.h"
#include "xmalloc.h"

/*
 * What the owner tells the session record about failures and restarts
 * (session_record_failure_*): the first permission denial (the agent's
 * request and our answer, seen on the wire), the first agent crash (an
 * agent that exited while the owner had not asked it to: not a turn's
 * timeout, not the owner's shutdown), and how a turn reattached a session
 * that had turns before (resume, load or a new session). The first stall
 * and provider failure are noted by the Warp hooks (queue-owner-warp.c).
 * The record is the running job's; it is saved with the turn.
 */

/* "exit code N" or "killed by SIGX" for a wait status. Caller owns. */
static char *
failure_exit_text(int status)
{
	char	*s;

	if (WIFEXITED(status))
		xasprintf(&s, "exit code %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		xasprintf(&s, "killed by SIG%s",
		    sigabbrev_np(WTERMSIG(status)) != NULL ?
		    sigabbrev_np(WTERMSIG(status)) : "UNKNOWN");
	else
		s = xstrdup("exited");
	return (s);
}

static void
failure_note(struct queue_owner_job *j, const char *kind, const char *detail)
{
	char	*now = js_iso_now();

	if (session_record_failure_note(j->rec, kind, detail, now))
		j->dirty = 1;
	free(now);
}

/* The denial's detail: what the agent asked for. Caller owns. */
static char *
failure_perm_detail(const json_t *req)
{
	const char	*method = jget_str(req, "method"), *kind, *title;
	const json_t	*params = json_object_get(req, "params");
	char		*s;

	if (method != NULL && strcmp(method, "session/request_permission") == 0) {
		kind = permission_infer_kind(params);
		title = jget_str(json_object_get(params, "toolCall"), "title");
		xasprintf(&s, "%s%s%s", kind != NULL ? kind : "tool",
		    title != NULL ? ": " : "", title != NULL ? title : "");
		return (s);
	}
	title = jget_str(params, "path");
	if (title == NULL)
		title = jget_str(params, "command");
	xasprintf(&s, "%s%s%s", method != NULL ? method : "request",
	    title != NULL ? " " : "", title != NULL ? title : "");
	return (s);
}

/* Every ACP message of a prompt job: a denied request is a first failure. */
void
queue_owner_failure_tap(struct queue_owner *o, struct queue_owner_job *j,
    const json_t *msg, int outbound)
{
	const struct acp_perm_stats	*st;
	const char			*method = jget_str(msg, "method");
	char				*detail;

	if (o->client == NULL || j->rec == NULL ||
	    json_object_get(msg, "id") == NULL)
		return;
	st = acp_client_perm_stats(o->client);
	if (!outbound && method != NULL) {
		if (strcmp(method, "session/request_permission") != 0 &&
		    strncmp(method, "fs/", 3) != 0 &&
		    strcmp(method, "terminal/create") != 0)
			return;
		json_decref(j->perm_req);
		j->perm_req = json_incref((json_t *)msg);
		j->perm_denied = st->denied;
		return;
	}
	if (!outbound || method != NULL || j->perm_req == NULL ||
	    !json_equal(json_object_get(msg, "id"),
	    json_object_get(j->perm_req, "id")))
		return;
	if (st->denied > j->perm_denied) {
		detail = failure_perm_detail(j->perm_req);
		failure_note(j, "permission_denial", detail);
		free(detail);
	}
	json_decref(j->perm_req);
	j->perm_req = NULL;
}

/*
 * Before a turn connects: an agent the owner kept warm that is gone
 * (nobody closed it) crashed while idle.
 */
void
queue_owner_failure_turn_begin(struct queue_owner *o,
    struct queue_owner_job *j)
{
	char	*text, *detail;
	int	 status;

	if (o->client == NULL || j->rec == NULL ||
	    (o->flags & (OWNER_CLOSING | OWNER_CLIENT_CLOSING)) ||
	    !acp_client_exited(o->client, &status))
		return;
	text = failure_exit_text(status);
	xasprintf(&detail, "%s while idle (pid %ld)", text,
	    (long)acp_client_pid(o->client));
	failure_note(j, "agent_crash", detail);
	free(detail);
	free(text);
}

/*
 * The turn ends: an agent that exited or closed its connection during it,
 * unless the turn's timeout or the owner's shutdown stopped it, crashed.
 * (Its exit status may not be known yet when the closed connection ended
 * the turn.)
 */
void
queue_owner_failure_turn_end(struct queue_owner *o, struct queue_owner_job *j)
{
	char	*text, *detail;
	int	 status, exited, gone;

	if (o->client == NULL || j->rec == NULL || (o->flags & OWNER_CLOSING) ||
	    (j->err != NULL && j->err->code == ACPX_CODE_TIMEOUT))
		return;
	exited = acp_client_exited(o->client, &status);
	gone = j->err != NULL && j->err->detail_code != NULL &&
	    strcmp(j->err->detail_code, "AGENT_DISCONNECTED") == 0;
	if (!exited && !gone)
		return;
	text = exited ? failure_exit_text(status) : xstrdup("disconnected");
	xasprintf(&detail, "%s (pid %ld)%s%s", text,
	    (long)acp_client_pid(o->client), j->err != NULL ? ": " : "",
	    j->err != NULL ? j->err->message : "");
	failure_note(j, "agent_crash", detail);
	free(detail);
	free(text);
}

/*
 * The turn's connect is done: a session that had turns before and was
 * not reused from a warm agent was reattached after a restart (of the
 * owner or of its agent); remember how.
 */
void
queue_owner_failure_reconnect(struct queue_owner *o,
    struct queue_owner_job *j, const struct session_connect_result *res)
{
	const char	*method;
	char		*now;

	if (j->rec == NULL || res->reused ||
	    session_record_failure_turn(j->rec) < 2)
		return;
	method = res->fresh ? "new" : res->loaded ? "load" : "resume";
	now = js_iso_now();
	session_record_failure_reconnect(j->rec, method, res->load_error, now);
	free(now);
	j->dirty = 1;
}
