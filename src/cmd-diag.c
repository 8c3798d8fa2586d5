#include <config.h>

#include <jansson.h>

#include "cmd-diag.h"
#include "output.h"
#include "session-record.h"

/*
 * The first failures, last reconnect and resumability of a session for
 * `status` and `sessions show` (see cmd-diag.h; the values come from
 * session-record-failure.c).
 */

static const char *
diag_resumable_word(int resumable)
{
	return (resumable > 0 ? "yes" : resumable == 0 ? "no" : "unknown");
}

void
cmd_diag_text(struct output *out, const struct session_record *r,
    int resumability)
{
	struct session_record_resume	 rs;
	json_t				*lines = session_record_failure_lines(r);
	const json_t			*l;
	size_t				 i;

	json_array_foreach(lines, i, l)
		output_result_text(out, "%s", json_string_value(l));
	json_decref(lines);
	if (!resumability)
		return;
	session_record_failure_resumability(r, &rs);
	if (rs.method == NULL || rs.method[0] == 'n')
		output_result_text(out, "resumable: %s%s", diag_resumable_word(
		    rs.resumable), rs.method != NULL ? " (a new ACP session; "
		    "the history stays in the record)" : "");
	else
		output_result_text(out, "resumable: yes (session/%s of %s)",
		    rs.method, r->acp_session_id);
	output_result_text(out, "resumeReason: %s", rs.reason);
}

void
cmd_diag_json(json_t *obj, const struct session_record *r, int resumability)
{
	struct session_record_resume	 rs;
	json_t				*d = session_record_failure_json(r), *v;

	json_object_update(obj, d);
	json_decref(d);
	if (!resumability)
		return;
	session_record_failure_resumability(r, &rs);
	v = json_pack("{s:s, s:s}", "sessionId", r->acp_session_id != NULL ?
	    r->acp_session_id : "", "reason", rs.reason);
	json_object_set_new(v, "resumable", rs.resumable < 0 ? json_null() :
	    json_boolean(rs.resumable));
	json_object_set_new(v, "method", rs.method != NULL ?
	    json_string(rs.method) : json_null());
	if (r->agent_session_id != NULL)
		json_object_set_new(v, "agentSessionId",
		    json_string(r->agent_session_id));
	json_object_set_new(obj, "resumability", v);
}
