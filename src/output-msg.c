#include <config.h>

#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "acpx.h"
#include "acp-update.h"
#include "buf.h"
#include "js.h"
#include "output.h"
#include "output-impl.h"

/*
 * The reference's tests on the ACP messages of a turn, shared by the
 * renderers: which response carries a permission notice, an escalation or
 * a stop reason, which notification is a well-formed session/update, which
 * message is an error or a client call, and which tool reads files (for
 * --suppress-reads). Each answer is borrowed from the message.
 */

/* asRecord(): a non-array object. */
static const json_t *
output_record(const json_t *v)
{
	return (json_is_object(v) ? v : NULL);
}

/* A response as the reference tests it: own "id" and "result". */
static const json_t *
output_msg_result(const json_t *msg)
{
	if (!json_is_object(msg) || json_object_get(msg, "id") == NULL)
		return (NULL);
	return (output_record(json_object_get(msg, "result")));
}

static const json_t *
output_msg_meta_acpx(const json_t *msg, const char *key)
{
	const json_t	*r, *acpx;

	if ((r = output_msg_result(msg)) == NULL)
		return (NULL);
	acpx = output_record(json_object_get(output_record(
	    json_object_get(r, "_meta")), "acpx"));
	return (acpx == NULL ? NULL : json_object_get(acpx, key));
}

/* result._meta.acpx.permissionNotice (borrowed JSON string) or NULL. */
const json_t *
output_msg_permission_notice(const json_t *msg)
{
	const json_t	*v = output_msg_meta_acpx(msg, "permissionNotice");

	return (json_is_string(v) ? v : NULL);
}

/* result._meta.acpx.permissionEscalation (borrowed object) or NULL. */
const json_t *
output_msg_permission_escalation(const json_t *msg)
{
	return (output_record(output_msg_meta_acpx(msg,
	    "permissionEscalation")));
}

/* result.stopReason (borrowed JSON string) or NULL. */
const json_t *
output_msg_stop_reason(const json_t *msg)
{
	const json_t	*v;

	v = json_object_get(output_msg_result(msg), "stopReason");
	return (json_is_string(v) ? v : NULL);
}

/* A well-formed session/update notification: 1 with *ev typed, or 0. */
int
output_msg_session_update(const json_t *msg, struct acp_update *ev)
{
	const json_t	*params, *sid;
	const char	*method;

	if (!json_is_object(msg) || json_object_get(msg, "id") != NULL)
		return (0);
	method = json_string_value(json_object_get(msg, "method"));
	if (method == NULL || strcmp(method, "session/update") != 0)
		return (0);
	if ((params = output_record(json_object_get(msg, "params"))) == NULL)
		return (0);
	sid = json_object_get(params, "sessionId");
	if (!json_is_string(sid) || json_string_length(sid) == 0)
		return (0);
	acp_update_parse_params(params, ev);
	return (acp_update_well_formed(ev));
}

/* error.message (borrowed JSON string) of a message with "error", or NULL. */
const json_t *
output_msg_error_message(const json_t *msg)
{
	const json_t	*e, *m;

	if (!json_is_object(msg))
		return (NULL);
	e = output_record(json_object_get(msg, "error"));
	m = json_object_get(e, "message");
	return (json_is_string(m) ? m : NULL);
}

/* String(msg.method) into b; 0 if the message has no (non-null) method. */
int
output_msg_method(const json_t *msg, struct buf *b)
{
	const json_t	*m;

	if (!json_is_object(msg))
		return (0);
	m = json_object_get(msg, "method");
	if (m == NULL || json_is_null(m))
		return (0);
	buf_reset(b);
	js_string_of(b, m);
	return (1);
}

/*
 * isReadLikeTool: kind trims/lower-cases to "read", or the title's first
 * word (split on ':' or \s) is read, cat, open or view.
 */
int
output_tool_read_like(const json_t *kind, const json_t *title)
{
	static const char *const heads[] = { "read", "cat", "open", "view" };
	const char	*s;
	size_t		 n, i, len, next;

	if (json_is_string(kind)) {
		s = json_string_value(kind);
		n = json_string_length(kind);
		js_trim(&s, &n);
		if (n == 4 && strncasecmp(s, "read", 4) == 0)
			return (1);
	}
	if (!json_is_string(title))
		return (0);
	s = json_string_value(title);
	n = json_string_length(title);
	js_trim(&s, &n);
	for (len = 0; len < n; len = next) {
		next = len;
		if (s[len] == ':' || js_is_space(js_utf8_next(s, n, &next)))
			break;
	}
	for (i = 0; i < nitems(heads); i++) {
		if (len == strlen(heads[i]) && strncasecmp(s, heads[i], len) == 0)
			return (1);
	}
	return (0);
}
