#include <config.h>

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acpx.h"
#include "jget.h"
#include "js-json.h"
#include "js.h"
#include "queue-proto.h"
#include "queue-proto-impl.h"
#include "xmalloc.h"

/*
 * Queue IPC messages: lines and field validation, following the
 * reference's messages.ts and ipc-server.ts field by field (names, which
 * fields are required, how numbers are rounded, key order on the wire).
 * The framing is in queue-framer.c, the requests in queue-request.c, the
 * owner's messages in queue-msg.c.
 */

#define QUEUE_DECODE	(JSON_ALLOW_NUL)

/* One message as a wire line. Caller owns. */
char *
queue_proto_line(const json_t *msg, size_t *len)
{
	char	*s, *line;
	size_t	 n;

	s = js_json_dumps(msg, 0);
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

/* json_loadb of a queue line (numbers past 64 bits as reals). */
static json_t *
queue_proto_load(const char *line, size_t len, json_error_t *error)
{
	json_t	*v;

	xmalloc_arena_begin();
	v = json_loadb(line, len, QUEUE_DECODE, error);
	xmalloc_arena_end();
	if (v == NULL && json_error_code(error) == json_error_numeric_overflow)
		v = json_loadb(line, len, QUEUE_DECODE|JSON_DECODE_INT_AS_REAL,
		    error);
	return (v);
}

/*
 * Parse one line as Node's JSON.parse would (bad UTF-8 replaced). Caller
 * owns. The parser checks every byte's UTF-8 as it reads, so a line is
 * fixed and parsed again only when that is what failed (no check first).
 */
json_t *
queue_proto_parse_json(const char *line, size_t len)
{
	json_error_t	 error;
	json_t		*v;
	char		*fixed;
	size_t		 flen;

	if ((v = queue_proto_load(line, len, &error)) != NULL ||
	    json_error_code(&error) != json_error_invalid_utf8)
		return (v);
	fixed = js_utf8_fix(line, len, &flen);
	v = queue_proto_load(fixed, flen, &error);
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
long long
queue_proto_dbl_to_ll(double d)
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
	if (!queue_proto_number(v, &d) || d != js_floor(d) || d <= 0)
		return (-1);
	return (queue_proto_dbl_to_ll(d));
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
int
queue_proto_opt_bool(const json_t *v)
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
int
queue_proto_content_block_valid(const json_t *b)
{
	const char	*type = jget_str(b, "type"), *data;
	const json_t	*r, *t;

	if (!json_is_object(b) || type == NULL)
		return (0);
	if (strcmp(type, "text") == 0)
		return (json_is_string(json_object_get(b, "text")));
	if (strcmp(type, "image") == 0 || strcmp(type, "audio") == 0) {
		data = jget_str(b, "data");
		return (is_mime(jget_str(b, "mimeType"), *type == 'i' ?
		    "image/" : "audio/") && data != NULL && is_base64(data));
	}
	if (strcmp(type, "resource_link") == 0) {
		t = json_object_get(b, "title");
		return (queue_proto_nonempty(jget_str(b, "uri")) &&
		    (t == NULL || json_is_null(t) || json_is_string(t)) &&
		    json_is_string(json_object_get(b, "name")));
	}
	if (strcmp(type, "resource") == 0) {
		r = json_object_get(b, "resource");
		return (json_is_object(r) && queue_proto_nonempty(jget_str(r, "uri")) &&
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
int
queue_proto_permission_policy_valid(const json_t *p)
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
			    json_integer(queue_proto_dbl_to_ll(js_round(d)) < 1 ? 1 : queue_proto_dbl_to_ll(js_round(d))));
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

/* "RUNTIME" → ACPX_CODE_RUNTIME ...; -1 if unknown. */
int
queue_proto_code(const char *name)
{
	int	c;

	if (name == NULL)
		return (-1);
	for (c = ACPX_CODE_RUNTIME; c <= ACPX_CODE_HOST_AT_CAPACITY; c++) {
		if (strcmp(name, acpx_error_code_name(c)) == 0)
			return (c);
	}
	return (-1);
}
