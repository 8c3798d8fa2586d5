#include <config.h>

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acpx.h"
#include "jget.h"
#include "js.h"
#include "queue-proto.h"
#include "queue-proto-impl.h"
#include "xmalloc.h"

/*
 * Queue IPC requests (client to owner, queue-proto.h): parse and validate
 * one request line as the reference's messages.ts does, free it, and build
 * its JSON.
 */

static const struct {
	const char		*name;
	enum queue_req_type	 type;
} queue_req_types[] = {
	{ "submit_prompt", QUEUE_REQ_SUBMIT },
	{ "cancel_prompt", QUEUE_REQ_CANCEL },
	{ "set_mode", QUEUE_REQ_SET_MODE },
	{ "set_model", QUEUE_REQ_SET_MODEL },
	{ "set_config_option", QUEUE_REQ_SET_CONFIG },
	{ "close_session", QUEUE_REQ_CLOSE },
};

static const char *perm_names[] = {
	[ACPX_PERM_APPROVE_READS] = "approve-reads",
	[ACPX_PERM_APPROVE_ALL] = "approve-all",
	[ACPX_PERM_DENY_ALL] = "deny-all",
};

/* submit_prompt fields; 0 on success. */
static int
queue_request_submit(struct queue_request *r, const json_t *o)
{
	const json_t	*v;
	const char	*s;
	double		 d;
	size_t		 i;

	if ((s = jget_str(o, "message")) == NULL)
		return (-1);
	r->message = xstrdup(s);
	v = json_object_get(o, "prompt");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_array(v))
			return (-1);
		for (i = 0; i < json_array_size(v); i++) {
			if (!queue_proto_content_block_valid(json_array_get(v, i)))
				return (-1);
		}
		r->prompt = json_incref((json_t *)v);
	} else
		r->prompt = json_pack("[{s:s, s:s}]", "type", "text", "text", s);
	if ((s = jget_str(o, "permissionMode")) == NULL)
		return (-1);
	for (i = 0; i < nitems(perm_names); i++) {
		if (strcmp(s, perm_names[i]) == 0)
			break;
	}
	if (i == nitems(perm_names))
		return (-1);
	r->perm_mode = (enum acpx_perm_mode)i;
	v = json_object_get(o, "resumePolicy");
	if (v != NULL && !json_is_null(v)) {
		if ((s = json_string_value(v)) == NULL ||
		    (strcmp(s, "allow-new") != 0 &&
		    strcmp(s, "same-session-only") != 0))
			return (-1);
		r->resume_policy = xstrdup(s);
	}
	r->nonint = -1;
	v = json_object_get(o, "nonInteractivePermissions");
	if (v != NULL && !json_is_null(v)) {
		if ((s = json_string_value(v)) == NULL)
			return (-1);
		if (strcmp(s, "deny") == 0)
			r->nonint = ACPX_NONINT_DENY;
		else if (strcmp(s, "fail") == 0)
			r->nonint = ACPX_NONINT_FAIL;
		else
			return (-1);
	}
	v = json_object_get(o, "permissionPolicy");
	if (v != NULL && !json_is_null(v)) {
		if (!queue_proto_permission_policy_valid(v))
			return (-1);
		r->permission_policy = json_incref((json_t *)v);
	}
	if ((r->suppress_sdk_errors = queue_proto_opt_bool(json_object_get(o,
	    "suppressSdkConsoleErrors"))) == -2)
		return (-1);
	r->prompt_retries = -1;
	v = json_object_get(o, "promptRetries");
	if (v != NULL && !json_is_null(v)) {
		if (!queue_proto_number(v, &d) || d < 0)
			return (-1);
		r->prompt_retries = (int)queue_proto_dbl_to_ll(js_round(d));
	}
	v = json_object_get(o, "waitForCompletion");
	if (!json_is_boolean(v))
		return (-1);
	r->wait = json_is_true(v);
	if ((r->report_started = queue_proto_opt_bool(json_object_get(o,
	    "reportPromptStarted"))) == -2)
		return (-1);
	if (r->report_started == -1)
		r->report_started = 0;
	v = json_object_get(o, "sessionOptions");
	if (v != NULL && !json_is_null(v) &&
	    (r->session_options = queue_proto_session_options(v, 0)) == NULL)
		return (-1);
	/* acpx-native's --no-fallback; absent from the reference's requests. */
	if ((r->no_fallback = queue_proto_opt_bool(json_object_get(o, "noFallback"))) == -2)
		return (-1);
	if (r->no_fallback == -1)
		r->no_fallback = 0;
	/* acpx-native's --force-fail <provider>; checked by the client. */
	v = json_object_get(o, "forceFail");
	if (v != NULL && !json_is_null(v) && !json_is_string(v))
		return (-1);
	if (json_is_string(v))
		r->force_fail = xstrdup(json_string_value(v));
	/* acpx-native's client reads no record from the result. */
	if ((r->no_record = queue_proto_opt_bool(json_object_get(o,
	    "resultWithoutRecord"))) == -2)
		return (-1);
	if (r->no_record == -1)
		r->no_record = 0;
	/* acpx-native's quiet client reads only the answer's text. */
	if ((r->merge_chunks = queue_proto_opt_bool(json_object_get(o,
	    "mergeTextChunks"))) == -2)
		return (-1);
	if (r->merge_chunks == -1)
		r->merge_chunks = 0;
	return (0);
}

/* A non-empty (after trim) string member, duplicated into *out; -1 if not. */
static int
required_id(const json_t *o, const char *key, char **out)
{
	const char	*s = jget_str(o, key);

	if (!queue_proto_nonempty(s))
		return (-1);
	*out = xstrdup(s);
	return (0);
}

/* Parse and validate one request line. Caller owns. */
struct queue_request *
queue_request_parse(const char *line, size_t len, const char **detail)
{
	json_t			*o;
	struct queue_request	*r;
	const json_t		*v;
	const char		*type, *rid;
	double			 d;
	size_t			 i;
	int			 rc = -1;

	if ((o = queue_proto_parse_json(line, len)) == NULL) {
		*detail = QUEUE_BAD_JSON;
		return (NULL);
	}
	*detail = QUEUE_BAD_REQUEST;
	r = xcalloc(1, sizeof *r);
	r->nonint = -1;
	r->suppress_sdk_errors = -1;
	r->prompt_retries = -1;
	if (!json_is_object(o) || (type = jget_str(o, "type")) == NULL ||
	    (rid = jget_str(o, "requestId")) == NULL)
		goto out;
	r->request_id = xstrdup(rid);
	if ((r->owner_generation = queue_proto_positive(json_object_get(o,
	    "ownerGeneration"))) == -1)
		goto out;
	v = json_object_get(o, "timeoutMs");
	if (queue_proto_number(v, &d) && d > 0)
		r->timeout_ms = queue_proto_dbl_to_ll(js_round(d));
	for (i = 0; i < nitems(queue_req_types); i++) {
		if (strcmp(type, queue_req_types[i].name) == 0)
			break;
	}
	if (i == nitems(queue_req_types))
		goto out;
	r->type = queue_req_types[i].type;
	switch (r->type) {
	case QUEUE_REQ_SUBMIT:
		rc = queue_request_submit(r, o);
		break;
	case QUEUE_REQ_CANCEL:
		v = json_object_get(o, "targetRequestId");
		rc = 0;
		if (v != NULL && !json_is_null(v))
			rc = required_id(o, "targetRequestId", &r->target);
		break;
	case QUEUE_REQ_SET_MODE:
		rc = required_id(o, "modeId", &r->target);
		break;
	case QUEUE_REQ_SET_MODEL:
		rc = required_id(o, "modelId", &r->target);
		break;
	case QUEUE_REQ_SET_CONFIG:
		if ((rc = required_id(o, "configId", &r->config_id)) == 0)
			rc = required_id(o, "value", &r->value);
		break;
	case QUEUE_REQ_CLOSE:
		rc = 0;
		break;
	}
out:
	json_decref(o);
	if (rc == -1) {
		queue_request_free(r);
		return (NULL);
	}
	*detail = NULL;
	return (r);
}

void
queue_request_free(struct queue_request *r)
{
	if (r == NULL)
		return;
	free(r->request_id);
	free(r->force_fail);
	free(r->message);
	json_decref(r->prompt);
	free(r->resume_policy);
	json_decref(r->permission_policy);
	json_decref(r->session_options);
	free(r->target);
	free(r->config_id);
	free(r->value);
	free(r);
}

/* A request as the reference client serialises it. Caller owns. */
json_t *
queue_request_json(const struct queue_request *r)
{
	json_t	*o = json_object();

	json_object_set_new(o, "type", json_string(
	    queue_req_types[r->type].name));
	json_object_set_new(o, "requestId", json_string(r->request_id));
	if (r->owner_generation > 0)
		json_object_set_new(o, "ownerGeneration",
		    json_integer(r->owner_generation));
	switch (r->type) {
	case QUEUE_REQ_SUBMIT:
		json_object_set_new(o, "message", json_string(r->message));
		if (r->prompt != NULL)
			json_object_set(o, "prompt", (json_t *)r->prompt);
		json_object_set_new(o, "permissionMode",
		    json_string(perm_names[r->perm_mode]));
		if (r->resume_policy != NULL)
			json_object_set_new(o, "resumePolicy",
			    json_string(r->resume_policy));
		if (r->nonint >= 0)
			json_object_set_new(o, "nonInteractivePermissions",
			    json_string(r->nonint == ACPX_NONINT_FAIL ? "fail" :
			    "deny"));
		if (r->permission_policy != NULL)
			json_object_set(o, "permissionPolicy",
			    r->permission_policy);
		if (r->timeout_ms > 0)
			json_object_set_new(o, "timeoutMs",
			    json_integer(r->timeout_ms));
		if (r->suppress_sdk_errors >= 0)
			json_object_set_new(o, "suppressSdkConsoleErrors",
			    json_boolean(r->suppress_sdk_errors));
		if (r->prompt_retries >= 0)
			json_object_set_new(o, "promptRetries",
			    json_integer(r->prompt_retries));
		json_object_set_new(o, "waitForCompletion",
		    json_boolean(r->wait));
		if (r->report_started)
			json_object_set_new(o, "reportPromptStarted",
			    json_true());
		if (r->session_options != NULL)
			json_object_set(o, "sessionOptions", r->session_options);
		if (r->no_fallback)
			json_object_set_new(o, "noFallback", json_true());
		if (r->force_fail != NULL)
			json_object_set_new(o, "forceFail",
			    json_string(r->force_fail));
		if (r->no_record)
			json_object_set_new(o, "resultWithoutRecord",
			    json_true());
		if (r->merge_chunks)
			json_object_set_new(o, "mergeTextChunks",
			    json_true());
		return (o);
	case QUEUE_REQ_CANCEL:
		if (r->target != NULL)
			json_object_set_new(o, "targetRequestId",
			    json_string(r->target));
		return (o);
	case QUEUE_REQ_SET_MODE:
	case QUEUE_REQ_SET_MODEL:
		json_object_set_new(o, r->type == QUEUE_REQ_SET_MODE ?
		    "modeId" : "modelId", json_string(r->target));
		break;
	case QUEUE_REQ_SET_CONFIG:
		json_object_set_new(o, "configId", json_string(r->config_id));
		json_object_set_new(o, "value", json_string(r->value));
		break;
	case QUEUE_REQ_CLOSE:
		break;
	}
	if (r->timeout_ms > 0)
		json_object_set_new(o, "timeoutMs", json_integer(r->timeout_ms));
	return (o);
}
