#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jget.h"
#include "session-record-impl.h"
#include "session-record.h"
#include "xmalloc.h"

/*
 * What a session record remembers beyond the reference's schema, for an
 * operator: the first failure of each kind (first_failures: stall,
 * permission_denial, provider_failure, agent_crash, each {at, turn,
 * detail}) and how the last reconnect after a restart went
 * (last_reconnect: {at, turn, method, detail?}); and whether the session
 * could be resumed after a restart, read from the record alone.
 *
 * Both are top-level keys the reference's parser ignores (they live in the
 * record's extra keys, written after the known ones, snake_case as the key
 * policy wants); a record without them is an ordinary record, and one the
 * reference rewrites simply loses them. They are written only when
 * something happened, so a record of a session without failures or
 * restarts stays byte for byte the reference's. Values that are not of
 * the expected shape (a hand edit) are treated as absent, never as an
 * error.
 */

#define FAILURES_KEY	"first_failures"
#define RECONNECT_KEY	"last_reconnect"

static const struct {
	const char	*kind;		/* on disk */
	const char	*camel;		/* JSON output */
	const char	*label;		/* text output */
} failure_kinds[] = {
	{ "stall", "stall", "firstStall" },
	{ "permission_denial", "permissionDenial", "firstPermissionDenial" },
	{ "provider_failure", "providerFailure", "firstProviderFailure" },
	{ "agent_crash", "agentCrash", "firstAgentCrash" },
};

/* The number of the turn under way: the prompts of the conversation kept. */
long long
session_record_failure_turn(const struct session_record *r)
{
	const json_t	*m;
	size_t		 i;
	long long	 n = 0;

	json_array_foreach(r->messages, i, m) {
		if (json_object_get(m, "User") != NULL)
			n++;
	}
	return (n);
}

static json_t *
failure_entry(const struct session_record *r, const char *detail,
    const char *now)
{
	json_t	*e;

	e = json_pack("{s:s, s:I}", "at", now, "turn",
	    (json_int_t)session_record_failure_turn(r));
	if (detail != NULL)
		json_object_set_new(e, "detail", json_string(detail));
	return (e);
}

/* Record the first failure of kind; 1 if it was the first, else 0. */
int
session_record_failure_note(struct session_record *r, const char *kind,
    const char *detail, const char *now)
{
	json_t	*ff;
	size_t	 i;

	for (i = 0; i < sizeof failure_kinds / sizeof failure_kinds[0]; i++) {
		if (strcmp(failure_kinds[i].kind, kind) == 0)
			break;
	}
	if (i == sizeof failure_kinds / sizeof failure_kinds[0])
		return (0);
	ff = json_object_get(r->extra, FAILURES_KEY);
	if (!json_is_object(ff)) {
		ff = json_object();
		json_object_set_new(r->extra, FAILURES_KEY, ff);
	}
	if (json_is_object(json_object_get(ff, kind)))
		return (0);
	json_object_set_new(ff, kind, failure_entry(r, detail, now));
	return (1);
}

/* Record how the session was reattached after a restart. */
void
session_record_failure_reconnect(struct session_record *r,
    const char *method, const char *detail, const char *now)
{
	json_t	*e;

	e = failure_entry(r, NULL, now);
	json_object_set_new(e, "method", json_string(method));
	if (detail != NULL)
		json_object_set_new(e, "detail", json_string(detail));
	json_object_set_new(r->extra, RECONNECT_KEY, e);
}

/* {at, turn, detail?} (and method) checked; the camelCase copy or NULL. */
static json_t *
failure_valid(const json_t *e, int reconnect)
{
	json_t	*o;

	if (!json_is_object(e) || jget_str(e, "at") == NULL ||
	    !json_is_integer(json_object_get(e, "turn")) ||
	    (reconnect && jget_str(e, "method") == NULL))
		return (NULL);
	o = json_pack("{s:s, s:O}", "at", jget_str(e, "at"), "turn",
	    json_object_get(e, "turn"));
	if (reconnect)
		json_object_set_new(o, "method", json_string(jget_str(e,
		    "method")));
	if (jget_str(e, "detail") != NULL)
		json_object_set_new(o, "detail", json_string(jget_str(e,
		    "detail")));
	return (o);
}

/* {firstFailures?, lastReconnect?} for JSON output. Caller owns. */
json_t *
session_record_failure_json(const struct session_record *r)
{
	const json_t	*ff = json_object_get(r->extra, FAILURES_KEY);
	json_t		*out = json_object(), *f = json_object(), *e;
	size_t		 i;

	for (i = 0; i < sizeof failure_kinds / sizeof failure_kinds[0]; i++) {
		e = failure_valid(json_object_get(ff, failure_kinds[i].kind), 0);
		if (e != NULL)
			json_object_set_new(f, failure_kinds[i].camel, e);
	}
	if (json_object_size(f) > 0)
		json_object_set_new(out, "firstFailures", f);
	else
		json_decref(f);
	e = failure_valid(json_object_get(r->extra, RECONNECT_KEY), 1);
	if (e != NULL)
		json_object_set_new(out, "lastReconnect", e);
	return (out);
}

/* "label: at, turn N: detail" lines for text output. Caller owns. */
json_t *
session_record_failure_lines(const struct session_record *r)
{
	const json_t	*ff = json_object_get(r->extra, FAILURES_KEY);
	json_t		*lines = json_array(), *e;
	const char	*d;
	char		*s;
	size_t		 i;

	for (i = 0; i < sizeof failure_kinds / sizeof failure_kinds[0]; i++) {
		e = failure_valid(json_object_get(ff, failure_kinds[i].kind), 0);
		if (e == NULL)
			continue;
		d = jget_str(e, "detail");
		xasprintf(&s, "%s: %s, turn %lld%s%s", failure_kinds[i].label,
		    jget_str(e, "at"), (long long)json_integer_value(
		    json_object_get(e, "turn")), d != NULL ? ": " : "",
		    d != NULL ? d : "");
		json_array_append_new(lines, json_string(s));
		free(s);
		json_decref(e);
	}
	if ((e = failure_valid(json_object_get(r->extra, RECONNECT_KEY),
	    1)) != NULL) {
		d = jget_str(e, "detail");
		xasprintf(&s, "lastReconnect: %s, %s, turn %lld%s%s",
		    jget_str(e, "method"), jget_str(e, "at"),
		    (long long)json_integer_value(json_object_get(e, "turn")),
		    d != NULL ? ": " : "", d != NULL ? d : "");
		json_array_append_new(lines, json_string(s));
		free(s);
		json_decref(e);
	}
	return (lines);
}

/*
 * Could the session be taken up again after a restart, and how: the
 * session connect's own decision (session-connect.h) made from what the
 * record holds: the agent's capabilities as recorded at its last
 * initialize, the ACP session id, whether it is closed or imported
 * (imported sessions never start afresh).
 */
void
session_record_failure_resumability(const struct session_record *r,
    struct session_record_resume *out)
{
	const json_t	*caps = r->agent_capabilities, *res;

	memset(out, 0, sizeof *out);
	out->resumable = -1;
	if (r->closed) {
		out->resumable = 0;
		out->reason = "the session is closed (sessions new or ensure "
		    "starts another)";
		return;
	}
	if (r->acp_session_id == NULL || *r->acp_session_id == '\0') {
		out->resumable = 0;
		out->reason = "no ACP session id is recorded";
		return;
	}
	if (!json_is_object(caps)) {
		out->reason = "no agent capabilities are recorded yet (the "
		    "next prompt tries session/resume, session/load, then a "
		    "new session)";
		return;
	}
	res = json_object_get(json_object_get(caps, "sessionCapabilities"),
	    "resume");
	if (res != NULL && !json_is_false(res) && !json_is_null(res)) {
		out->resumable = 1;
		out->method = "resume";
		out->reason = "the agent advertises session/resume";
		return;
	}
	if (json_is_true(json_object_get(caps, "loadSession"))) {
		out->resumable = 1;
		out->method = "load";
		out->reason = "the agent advertises loadSession";
		return;
	}
	out->resumable = 0;
	if (r->imported_from != NULL) {
		out->reason = "the agent supports neither session/resume nor "
		    "session/load, and an imported session is not started "
		    "afresh";
		return;
	}
	out->method = "new";
	out->reason = "the agent supports neither session/resume nor "
	    "session/load: the next prompt starts a new ACP session; the "
	    "conversation stays in the record, the agent does not see it";
}
