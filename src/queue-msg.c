#include <config.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acpx-error.h"
#include "acpx.h"
#include "jget.h"
#include "js.h"
#include "js-json.h"
#include "queue-proto.h"
#include "queue-proto-impl.h"
#include "xmalloc.h"

/*
 * Owner → client messages of the queue IPC: builders with the reference
 * owner's key order, and the client-side validation of every line as the
 * reference's parseQueueOwnerMessage does it.
 */

static const char *queue_msg_names[] = {
	[QUEUE_MSG_ACCEPTED] = "accepted",
	[QUEUE_MSG_PROMPT_STARTED] = "prompt_started",
	[QUEUE_MSG_EVENT] = "event",
	[QUEUE_MSG_PERMISSION_ESCALATION] = "permission_escalation",
	[QUEUE_MSG_RESULT] = "result",
	[QUEUE_MSG_CANCEL_RESULT] = "cancel_result",
	[QUEUE_MSG_SET_MODE_RESULT] = "set_mode_result",
	[QUEUE_MSG_SET_MODEL_RESULT] = "set_model_result",
	[QUEUE_MSG_SET_CONFIG_RESULT] = "set_config_option_result",
	[QUEUE_MSG_CLOSE_RESULT] = "close_session_result",
	[QUEUE_MSG_ERROR] = "error",
};

/* {"type", "requestId"} to start a message. */
static json_t *
msg_start(enum queue_msg_type type, const char *rid)
{
	return (json_pack("{s:s, s:s}", "type", queue_msg_names[type],
	    "requestId", rid));
}

/* ownerGeneration last, as the owner's spread writes it. */
static json_t *
msg_end(json_t *o, long long gen)
{
	if (gen > 0)
		json_object_set_new(o, "ownerGeneration", json_integer(gen));
	return (o);
}

/* accepted, prompt_started. Caller owns. */
json_t *
queue_msg_simple(enum queue_msg_type type, const char *rid, long long gen)
{
	return (msg_end(msg_start(type, rid), gen));
}

/* An ACP message of the turn. Caller owns. */
json_t *
queue_msg_event(const char *rid, int outbound, const json_t *message,
    long long gen)
{
	json_t	*o = msg_start(QUEUE_MSG_EVENT, rid);

	json_object_set_new(o, "direction",
	    json_string(outbound ? "outbound" : "inbound"));
	json_object_set(o, "message", (json_t *)message);
	return (msg_end(o, gen));
}

/* An event line around its message (see queue-proto.h). Caller owns. */
char *
queue_msg_event_frame(const char *rid, int outbound, long long gen,
    size_t *at, size_t *len)
{
	json_t	*slot = json_object(), *o;
	char	*text;
	size_t	 n;

	/* A value of its own: the serializer finds the slot by identity. */
	o = queue_msg_event(rid, outbound, slot, gen);
	text = js_json_dumps_split(o, slot, at);
	json_decref(o);
	json_decref(slot);
	n = strlen(text);
	text = xreallocarray(text, n + 2, 1);
	text[n++] = '\n';
	text[n] = '\0';
	*len = n;
	return (text);
}

/* The result of a turn (result stolen). Caller owns. */
json_t *
queue_msg_result(const char *rid, json_t *result, long long gen)
{
	json_t	*o = msg_start(QUEUE_MSG_RESULT, rid);

	json_object_set_new(o, "result", result);
	return (msg_end(o, gen));
}

/* cancel_result {cancelled} or close_session_result {closed}. Caller owns. */
json_t *
queue_msg_bool(enum queue_msg_type type, const char *rid, int value,
    long long gen)
{
	json_t	*o = msg_start(type, rid);

	json_object_set_new(o, type == QUEUE_MSG_CANCEL_RESULT ? "cancelled" :
	    "closed", json_boolean(value));
	return (msg_end(o, gen));
}

/* set_mode_result. Caller owns. */
json_t *
queue_msg_set_mode(const char *rid, const char *mode_id, long long gen)
{
	json_t	*o = msg_start(QUEUE_MSG_SET_MODE_RESULT, rid);

	json_object_set_new(o, "modeId", json_string(mode_id));
	return (msg_end(o, gen));
}

/* set_model_result (response borrowed, may be NULL). Caller owns. */
json_t *
queue_msg_set_model(const char *rid, const char *model_id,
    const json_t *response, long long gen)
{
	json_t	*o = msg_start(QUEUE_MSG_SET_MODEL_RESULT, rid);

	json_object_set_new(o, "modelId", json_string(model_id));
	if (response != NULL)
		json_object_set(o, "response", (json_t *)response);
	return (msg_end(o, gen));
}

/* set_config_option_result (response borrowed). Caller owns. */
json_t *
queue_msg_set_config(const char *rid, const json_t *response, long long gen)
{
	json_t	*o = msg_start(QUEUE_MSG_SET_CONFIG_RESULT, rid);

	json_object_set(o, "response", (json_t *)response);
	return (msg_end(o, gen));
}

/* An error the queue itself raises, in the owner's field order. Caller owns. */
json_t *
queue_msg_queue_error(const char *rid, long long gen, const char *detail,
    int retryable, const char *message)
{
	json_t	*o = msg_start(QUEUE_MSG_ERROR, rid);

	if (gen > 0)
		json_object_set_new(o, "ownerGeneration", json_integer(gen));
	json_object_set_new(o, "code", json_string("RUNTIME"));
	json_object_set_new(o, "detailCode", json_string(detail));
	json_object_set_new(o, "origin", json_string("queue"));
	if (retryable >= 0)
		json_object_set_new(o, "retryable", json_boolean(retryable));
	json_object_set_new(o, "message", json_string(message));
	return (o);
}

/* An error of a turn or a control. Caller owns. */
json_t *
queue_msg_error(const char *rid, const struct acpx_error *err,
    int already_emitted, long long gen)
{
	json_t	*o = msg_start(QUEUE_MSG_ERROR, rid);

	json_object_set_new(o, "code", json_string(acpx_error_code_name(err->code)));
	if (err->detail_code != NULL)
		json_object_set_new(o, "detailCode",
		    json_string(err->detail_code));
	/* A reader refuses an error without an origin (isValidOwnerErrorCore). */
	json_object_set_new(o, "origin", json_string(err->origin != NULL ?
	    err->origin : "runtime"));
	json_object_set_new(o, "message", json_string(err->message));
	if (err->retryable >= 0)
		json_object_set_new(o, "retryable",
		    json_boolean(err->retryable));
	if (err->acp != NULL)
		json_object_set(o, "acp", err->acp);
	if (already_emitted >= 0)
		json_object_set_new(o, "outputAlreadyEmitted",
		    json_boolean(already_emitted));
	return (msg_end(o, gen));
}

/* isAcpJsonRpcMessage of acp/jsonrpc.ts. */
static int
acp_message_valid(const json_t *m)
{
	const json_t	*id, *method, *err;
	int		 has_method, has_result, has_error;
	double		 d;

	if (!json_is_object(m) || !json_is_string(json_object_get(m, "jsonrpc")) ||
	    strcmp(jget_str(m, "jsonrpc"), "2.0") != 0)
		return (0);
	method = json_object_get(m, "method");
	has_method = json_is_string(method) && *json_string_value(method) != '\0';
	id = json_object_get(m, "id");
	if (has_method && id == NULL)
		return (1);
	if (id == NULL || !(json_is_null(id) || json_is_string(id) ||
	    queue_proto_number(id, &d)))
		return (0);
	if (has_method)
		return (1);
	has_result = json_object_get(m, "result") != NULL;
	err = json_object_get(m, "error");
	has_error = err != NULL;
	if (has_result == has_error)
		return (0);
	if (has_error && (!json_is_object(err) ||
	    !queue_proto_number(json_object_get(err, "code"), &d) ||
	    !json_is_string(json_object_get(err, "message"))))
		return (0);
	return (1);
}

static int
has_strings(const json_t *o, const char *const *keys)
{
	for (; *keys != NULL; keys++) {
		if (!json_is_string(json_object_get(o, *keys)))
			return (0);
	}
	return (1);
}

/*
 * parseSessionSendResult; a result without a record (asked for by an
 * acpx-native client: the client checks it asked) sets *no_record.
 */
static int
send_result_valid(const json_t *r, int *no_record)
{
	static const char *const core[] = { "stopReason", "sessionId", NULL };
	static const char *const rec[] = { "acpxRecordId", "acpSessionId",
	    "agentCommand", "cwd", "createdAt", "lastUsedAt", "updated_at", NULL };
	static const char *const stats[] = { "requested", "approved", "denied",
	    "cancelled", NULL };
	const json_t		*ps, *record, *meta;
	const char *const	*k;
	double			 d;

	if (!json_is_object(r) || !has_strings(r, core) ||
	    !json_is_boolean(json_object_get(r, "resumed")))
		return (0);
	meta = json_object_get(r, "_meta");
	if (meta != NULL && !json_is_null(meta) && !json_is_object(meta))
		return (0);
	ps = json_object_get(r, "permissionStats");
	record = json_object_get(r, "record");
	if (!json_is_object(ps) || (record != NULL && !json_is_object(record)))
		return (0);
	for (k = stats; *k != NULL; k++) {
		if (!queue_proto_number(json_object_get(ps, *k), &d))
			return (0);
	}
	if ((*no_record = record == NULL))
		return (1);
	return (has_strings(record, rec) &&
	    json_is_array(json_object_get(record, "messages")) &&
	    queue_proto_number(json_object_get(record, "lastSeq"), &d) &&
	    d == js_floor(d) && json_is_object(json_object_get(record, "eventLog")));
}

static int
opt_string_ok(const json_t *o, const char *key)
{
	const json_t	*v = json_object_get(o, key);

	return (v == NULL || json_is_null(v) || json_is_string(v));
}

/* isPermissionEscalationEvent. */
static int
escalation_valid(const json_t *e)
{
	static const char *const req[] = { "sessionId", "toolCallId",
	    "toolTitle", "message", "timestamp", NULL };
	const char	*s;

	return (json_is_object(e) && (s = jget_str(e, "type")) != NULL &&
	    strcmp(s, "permission_escalation") == 0 && has_strings(e, req) &&
	    (s = jget_str(e, "action")) != NULL && strcmp(s, "escalate") == 0 &&
	    opt_string_ok(e, "toolName") && opt_string_ok(e, "toolKind") &&
	    opt_string_ok(e, "matchedRule"));
}

/* Type-specific fields of an owner message; 0 if valid. */
static int
queue_msg_fields(struct queue_msg *m)
{
	const json_t	*o = m->root, *v;
	const char	*s;

	switch (m->type) {
	case QUEUE_MSG_ACCEPTED:
	case QUEUE_MSG_PROMPT_STARTED:
		return (0);
	case QUEUE_MSG_EVENT:
		m->message = json_object_get(o, "message");
		if (!acp_message_valid(m->message))
			return (-1);
		v = json_object_get(o, "direction");
		if (v == NULL)
			return (0);
		if ((s = json_string_value(v)) == NULL)
			return (-1);
		if (strcmp(s, "outbound") == 0)
			m->direction = 1;
		else if (strcmp(s, "inbound") == 0)
			m->direction = 0;
		else
			return (-1);
		return (0);
	case QUEUE_MSG_PERMISSION_ESCALATION:
		m->event = json_object_get(o, "event");
		return (escalation_valid(m->event) ? 0 : -1);
	case QUEUE_MSG_RESULT:
		m->result = json_object_get(o, "result");
		return (send_result_valid(m->result, &m->flag) ? 0 : -1);
	case QUEUE_MSG_CANCEL_RESULT:
	case QUEUE_MSG_CLOSE_RESULT:
		v = json_object_get(o, m->type == QUEUE_MSG_CANCEL_RESULT ?
		    "cancelled" : "closed");
		if (!json_is_boolean(v))
			return (-1);
		m->flag = json_is_true(v);
		return (0);
	case QUEUE_MSG_SET_MODE_RESULT:
	case QUEUE_MSG_SET_MODEL_RESULT:
		m->id = jget_str(o, m->type == QUEUE_MSG_SET_MODE_RESULT ?
		    "modeId" : "modelId");
		if (m->id == NULL)
			return (-1);
		if (m->type == QUEUE_MSG_SET_MODE_RESULT)
			return (0);
		v = json_object_get(o, "response");
		if (v == NULL)
			return (0);
		m->response = v;
		return (json_is_array(json_object_get(v, "configOptions")) ?
		    0 : -1);
	case QUEUE_MSG_SET_CONFIG_RESULT:
		m->response = json_object_get(o, "response");
		return (json_is_array(json_object_get(m->response,
		    "configOptions")) ? 0 : -1);
	case QUEUE_MSG_ERROR:
		m->text = jget_str(o, "message");
		m->code = jget_str(o, "code");
		m->origin = jget_str(o, "origin");
		if (m->text == NULL || queue_proto_code(m->code) == -1 ||
		    m->origin == NULL || (strcmp(m->origin, "cli") != 0 &&
		    strcmp(m->origin, "runtime") != 0 &&
		    strcmp(m->origin, "queue") != 0 &&
		    strcmp(m->origin, "acp") != 0))
			return (-1);
		s = jget_str(o, "detailCode");
		m->detail_code = queue_proto_nonempty(s) ? s : NULL;
		v = json_object_get(o, "retryable");
		m->retryable = json_is_boolean(v) ? json_is_true(v) : -1;
		v = json_object_get(o, "acp");
		if (json_is_object(v) && json_is_integer(json_object_get(v,
		    "code")) && queue_proto_nonempty(jget_str(v, "message")))
			m->acp = v;
		v = json_object_get(o, "outputAlreadyEmitted");
		m->already_emitted = json_is_boolean(v) ? json_is_true(v) : -1;
		return (0);
	}
	return (-1);
}

/* Parse and validate one owner line. Caller owns. */
struct queue_msg *
queue_msg_parse(const char *line, size_t len, const char **detail)
{
	struct queue_msg	*m;
	json_t			*o;
	const char		*type;
	size_t			 i;

	if ((o = queue_proto_parse_json(line, len)) == NULL) {
		*detail = QUEUE_PROTO_INVALID_JSON;
		return (NULL);
	}
	*detail = QUEUE_PROTO_MALFORMED;
	m = xcalloc(1, sizeof *m);
	m->root = o;
	m->direction = -1;
	m->retryable = -1;
	m->already_emitted = -1;
	if (!json_is_object(o) || (type = jget_str(o, "type")) == NULL ||
	    (m->request_id = jget_str(o, "requestId")) == NULL ||
	    (m->owner_generation = queue_proto_positive(json_object_get(o,
	    "ownerGeneration"))) == -1)
		goto bad;
	for (i = 0; i < nitems(queue_msg_names); i++) {
		if (strcmp(type, queue_msg_names[i]) == 0)
			break;
	}
	if (i == nitems(queue_msg_names))
		goto bad;
	m->type = (enum queue_msg_type)i;
	if (queue_msg_fields(m) == -1)
		goto bad;
	*detail = NULL;
	return (m);
bad:
	queue_msg_free(m);
	return (NULL);
}

void
queue_msg_free(struct queue_msg *m)
{
	if (m == NULL)
		return;
	json_decref(m->root);
	free(m);
}

/* The normalised error an owner "error" message carries. Caller owns. */
struct acpx_error *
queue_msg_to_error(const struct queue_msg *m)
{
	struct acpx_error	*err;

	err = acpx_error_new(queue_proto_code(m->code), m->detail_code,
	    m->origin != NULL ? m->origin : "queue", "%s", m->text);
	err->retryable = m->retryable;
	if (m->acp != NULL)
		err->acp = json_deep_copy(m->acp);
	return (err);
}
