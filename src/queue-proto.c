#include <config.h>

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acpx.h"
#include "error.h"
#include "js.h"
#include "json-util.h"
#include "linebuf.h"
#include "queue-proto.h"
#include "queue-proto-impl.h"
#include "utf8.h"
#include "xmalloc.h"

/*
 * Queue IPC messages: framing, validation and construction, following the
 * reference's messages.ts and ipc-server.ts field by field (names, which
 * fields are required, how numbers are rounded, key order on the wire).
 */

#define QUEUE_DECODE	(JSON_ALLOW_NUL)

/* ---------------------------------------------------------------- framing */

struct queue_framer {
	struct linebuf	*lb;
};

/* A capped line splitter. */
struct queue_framer *
queue_framer_create(size_t max)
{
	struct queue_framer	*f;

	f = xcalloc(1, sizeof *f);
	f->lb = linebuf_create(max);
	return (f);
}

void
queue_framer_free(struct queue_framer *f)
{
	if (f == NULL)
		return;
	linebuf_free(f->lb);
	free(f);
}

/* Room for at least want bytes. */
char *
queue_framer_reserve(struct queue_framer *f, size_t want)
{
	return (linebuf_reserve(f->lb, want));
}

/* Commit bytes read into the reserved room. */
void
queue_framer_commit(struct queue_framer *f, size_t n)
{
	linebuf_commit(f->lb, n);
}

/* Append bytes. */
void
queue_framer_feed(struct queue_framer *f, const char *p, size_t n)
{
	linebuf_feed(f->lb, p, n);
}

/* Next non-empty trimmed line. */
enum queue_frame_status
queue_framer_next(struct queue_framer *f, char **line, size_t *len)
{
	char	*p;
	size_t	 n;

	for (;;) {
		switch (linebuf_next(f->lb, &p, &n)) {
		case LINEBUF_NEED_MORE:
			return (QUEUE_FRAME_NEED_MORE);
		case LINEBUF_TOO_LONG:
			return (QUEUE_FRAME_TOO_LONG);
		case LINEBUF_OK:
			break;
		}
		while (n > 0 && isspace((unsigned char)*p)) {
			p++;
			n--;
		}
		while (n > 0 && isspace((unsigned char)p[n - 1]))
			n--;
		if (n == 0)
			continue;
		*line = p;
		*len = n;
		return (QUEUE_FRAME_LINE);
	}
}

/* One message as a wire line. Caller owns. */
char *
queue_proto_line(const json_t *msg, size_t *len)
{
	char	*s, *line;
	size_t	 n;

	s = json_dumps_js(msg, 0);
	n = strlen(s);
	line = xmalloc(n + 2);
	memcpy(line, s, n);
	line[n] = '\n';
	line[n + 1] = '\0';
	free(s);
	if (len != NULL)
		*len = n + 1;
	return (line);
}

/* ACPX_QUEUE_MAX_REQUEST_BYTES (0 = unlimited). */
int
queue_proto_request_limit(size_t *limit, char **cause)
{
	const char	*v = getenv("ACPX_QUEUE_MAX_REQUEST_BYTES");
	const char	*p, *e;
	unsigned long long n;

	*limit = 0;
	if (v == NULL)
		return (0);
	for (p = v; isspace((unsigned char)*p); p++)
		;
	for (e = p + strlen(p); e > p && isspace((unsigned char)e[-1]); e--)
		;
	if (p == e)
		return (0);
	if (strspn(p, "0123456789") != (size_t)(e - p) || e - p > 16 ||
	    (n = strtoull(p, NULL, 10)) > 9007199254740991ULL) {
		*cause = xstrdup("ACPX_QUEUE_MAX_REQUEST_BYTES must be a "
		    "non-negative safe integer; zero is unlimited");
		return (-1);
	}
	*limit = (size_t)n;
	return (0);
}

/* ---------------------------------------------------------------- helpers */

/* Parse one line as Node's JSON.parse would (bad UTF-8 replaced). Caller owns. */
json_t *
queue_proto_parse_json(const char *line, size_t len)
{
	json_error_t	 error;
	json_t		*v, *probe;
	char		*fixed = NULL;
	size_t		 flen = len;

	if ((probe = json_stringn(line, len)) == NULL) {
		fixed = utf8_fix(line, len, &flen);
		line = fixed;
	} else
		json_decref(probe);
	v = json_loadb(line, flen, QUEUE_DECODE, &error);
	if (v == NULL && json_error_code(&error) == json_error_numeric_overflow)
		v = json_loadb(line, flen, QUEUE_DECODE|JSON_DECODE_INT_AS_REAL,
		    &error);
	free(fixed);
	return (v);
}

/* A JavaScript number: 1 and *d set, else 0. */
int
queue_proto_number(const json_t *v, double *d)
{
	if (json_is_integer(v))
		*d = (double)json_integer_value(v);
	else if (json_is_real(v))
		*d = json_real_value(v);
	else
		return (0);
	return (isfinite(*d));
}

/* A double as long long, saturating (peers may send any number). */
static long long
dbl_to_ll(double d)
{
	if (d != d)
		return (0);
	if (d >= 9223372036854775807.0)
		return (LLONG_MAX);
	if (d <= -9223372036854775807.0)
		return (LLONG_MIN);
	return ((long long)d);
}

/* Number.isInteger(v) && v > 0 → value, absent → 0, invalid → -1. */
long long
queue_proto_positive(const json_t *v)
{
	double	d;

	if (v == NULL || json_is_null(v))
		return (0);
	if (!queue_proto_number(v, &d) || d != floor(d) || d <= 0)
		return (-1);
	return (dbl_to_ll(d));
}


/* A string with a non-space character. */
int
queue_proto_nonempty(const char *s)
{
	if (s == NULL)
		return (0);
	for (; *s != '\0'; s++) {
		if (!isspace((unsigned char)*s))
			return (1);
	}
	return (0);
}

/* Optional boolean: -1 absent, 0/1, -2 invalid. */
static int
opt_bool(const json_t *v)
{
	if (v == NULL || json_is_null(v))
		return (-1);
	if (!json_is_boolean(v))
		return (-2);
	return (json_is_true(v));
}

static int
is_base64(const char *s)
{
	size_t	n = strlen(s), i, pad = 0;

	if (n == 0 || n % 4 != 0)
		return (0);
	if (s[n - 1] == '=')
		pad = s[n - 2] == '=' ? 2 : 1;
	for (i = 0; i < n - pad; i++) {
		if (!isalnum((unsigned char)s[i]) && s[i] != '+' && s[i] != '/')
			return (0);
	}
	return (1);
}

static int
is_mime(const char *s, const char *prefix)
{
	size_t	n = strlen(prefix);

	if (s == NULL || strncasecmp(s, prefix, n) != 0 || s[n] == '\0')
		return (0);
	for (s += n; *s != '\0'; s++) {
		if (!isalnum((unsigned char)*s) && strchr(".+-", *s) == NULL)
			return (0);
	}
	return (1);
}

/* isContentBlock of prompt-content.ts. */
static int
content_block_valid(const json_t *b)
{
	const char	*type = json_str(b, "type"), *data;
	const json_t	*r, *t;

	if (!json_is_object(b) || type == NULL)
		return (0);
	if (strcmp(type, "text") == 0)
		return (json_is_string(json_object_get(b, "text")));
	if (strcmp(type, "image") == 0 || strcmp(type, "audio") == 0) {
		data = json_str(b, "data");
		return (is_mime(json_str(b, "mimeType"), *type == 'i' ?
		    "image/" : "audio/") && data != NULL && is_base64(data));
	}
	if (strcmp(type, "resource_link") == 0) {
		t = json_object_get(b, "title");
		return (queue_proto_nonempty(json_str(b, "uri")) &&
		    (t == NULL || json_is_null(t) || json_is_string(t)) &&
		    json_is_string(json_object_get(b, "name")));
	}
	if (strcmp(type, "resource") == 0) {
		r = json_object_get(b, "resource");
		return (json_is_object(r) && queue_proto_nonempty(json_str(r, "uri")) &&
		    (json_is_string(json_object_get(r, "text")) ||
		    json_is_string(json_object_get(r, "blob"))));
	}
	return (0);
}

static int
string_list_ok(const json_t *v)
{
	const json_t	*e;
	size_t		 i;

	if (v == NULL || json_is_null(v))
		return (1);
	if (!json_is_array(v))
		return (0);
	json_array_foreach(v, i, e) {
		if (!json_is_string(e))
			return (0);
	}
	return (1);
}

/* isPermissionPolicy of messages.ts. */
static int
permission_policy_valid(const json_t *p)
{
	const char	*d;
	const json_t	*v;

	if (!json_is_object(p))
		return (0);
	if (!string_list_ok(json_object_get(p, "autoApprove")) ||
	    !string_list_ok(json_object_get(p, "autoDeny")) ||
	    !string_list_ok(json_object_get(p, "escalate")))
		return (0);
	v = json_object_get(p, "defaultAction");
	if (v == NULL || json_is_null(v))
		return (1);
	return ((d = json_string_value(v)) != NULL && (strcmp(d, "approve") == 0 ||
	    strcmp(d, "deny") == 0 || strcmp(d, "escalate") == 0));
}

/* Normalised sessionOptions, or NULL if invalid (strict) / absent. */
json_t *
queue_proto_session_options(const json_t *v, int lenient)
{
	json_t		*o, *tools, *env;
	const json_t	*e, *sp;
	const char	*k;
	double		 d;
	size_t		 i;

	if (!json_is_object(v))
		return (NULL);
	o = json_object();
	e = json_object_get(v, "model");
	if (e != NULL && !json_is_null(e)) {
		if (json_is_string(e) && queue_proto_nonempty(json_string_value(e)))
			json_object_set(o, "model", (json_t *)e);
		else if (!lenient)
			goto bad;
	}
	e = json_object_get(v, "allowedTools");
	if (e != NULL && !json_is_null(e)) {
		if (json_is_array(e)) {
			tools = json_array();
			json_array_foreach(e, i, sp) {
				if (json_is_string(sp))
					json_array_append(tools, (json_t *)sp);
				else if (!lenient) {
					json_decref(tools);
					goto bad;
				}
			}
			json_object_set_new(o, "allowedTools", tools);
		} else if (!lenient)
			goto bad;
	}
	e = json_object_get(v, "maxTurns");
	if (e != NULL && !json_is_null(e)) {
		if (queue_proto_number(e, &d))
			json_object_set_new(o, "maxTurns",
			    json_integer(dbl_to_ll(js_round(d)) < 1 ? 1 : dbl_to_ll(js_round(d))));
		else if (!lenient)
			goto bad;
	}
	e = json_object_get(v, "systemPrompt");
	if (e != NULL && !json_is_null(e)) {
		if (json_is_string(e))
			json_object_set(o, "systemPrompt", (json_t *)e);
		else if (json_is_string(json_object_get(e, "append")))
			json_object_set_new(o, "systemPrompt", json_pack("{s:O}",
			    "append", json_object_get(e, "append")));
		else if (!lenient)
			goto bad;
	}
	e = json_object_get(v, "env");
	if (e != NULL && !json_is_null(e)) {
		if (json_is_object(e)) {
			env = json_object();
			json_object_foreach((json_t *)e, k, sp) {
				if (json_is_string(sp))
					json_object_set(env, k, (json_t *)sp);
				else if (!lenient) {
					json_decref(env);
					goto bad;
				}
			}
			if (!lenient || json_object_size(env) > 0)
				json_object_set_new(o, "env", env);
			else
				json_decref(env);
		} else if (!lenient)
			goto bad;
	}
	return (o);
bad:
	json_decref(o);
	return (NULL);
}

/* ---------------------------------------------------------------- requests */

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

	if ((s = json_str(o, "message")) == NULL)
		return (-1);
	r->message = xstrdup(s);
	v = json_object_get(o, "prompt");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_array(v))
			return (-1);
		for (i = 0; i < json_array_size(v); i++) {
			if (!content_block_valid(json_array_get(v, i)))
				return (-1);
		}
		r->prompt = json_incref((json_t *)v);
	} else
		r->prompt = json_pack("[{s:s, s:s}]", "type", "text", "text", s);
	if ((s = json_str(o, "permissionMode")) == NULL)
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
		if (!permission_policy_valid(v))
			return (-1);
		r->permission_policy = json_incref((json_t *)v);
	}
	if ((r->suppress_sdk_errors = opt_bool(json_object_get(o,
	    "suppressSdkConsoleErrors"))) == -2)
		return (-1);
	r->prompt_retries = -1;
	v = json_object_get(o, "promptRetries");
	if (v != NULL && !json_is_null(v)) {
		if (!queue_proto_number(v, &d) || d < 0)
			return (-1);
		r->prompt_retries = (int)dbl_to_ll(js_round(d));
	}
	v = json_object_get(o, "waitForCompletion");
	if (!json_is_boolean(v))
		return (-1);
	r->wait = json_is_true(v);
	if ((r->report_started = opt_bool(json_object_get(o,
	    "reportPromptStarted"))) == -2)
		return (-1);
	if (r->report_started == -1)
		r->report_started = 0;
	v = json_object_get(o, "sessionOptions");
	if (v != NULL && !json_is_null(v) &&
	    (r->session_options = queue_proto_session_options(v, 0)) == NULL)
		return (-1);
	/* acpx-native's --no-fallback; absent from the reference's requests. */
	if ((r->no_fallback = opt_bool(json_object_get(o, "noFallback"))) == -2)
		return (-1);
	if (r->no_fallback == -1)
		r->no_fallback = 0;
	return (0);
}

/* A non-empty (after trim) string member, duplicated into *out; -1 if not. */
static int
required_id(const json_t *o, const char *key, char **out)
{
	const char	*s = json_str(o, key);

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
	if (!json_is_object(o) || (type = json_str(o, "type")) == NULL ||
	    (rid = json_str(o, "requestId")) == NULL)
		goto out;
	r->request_id = xstrdup(rid);
	if ((r->owner_generation = queue_proto_positive(json_object_get(o,
	    "ownerGeneration"))) == -1)
		goto out;
	v = json_object_get(o, "timeoutMs");
	if (queue_proto_number(v, &d) && d > 0)
		r->timeout_ms = dbl_to_ll(js_round(d));
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
