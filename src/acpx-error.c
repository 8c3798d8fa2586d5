#include <config.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <jansson.h>

#include "acpx-error.h"
#include "acpx.h"
#include "xmalloc.h"

/*
 * The normalised error model: classification, exit and JSON-RPC codes, the
 * JSON error line and the text-mode remediation hints. Pure: no I/O.
 */

static const struct {
	const char	*name;
	int		 rpc;
	int		 exit;
} error_codes[] = {
	[ACPX_CODE_RUNTIME] = { "RUNTIME", -32603, ACPX_EXIT_ERROR },
	[ACPX_CODE_USAGE] = { "USAGE", -32602, ACPX_EXIT_USAGE },
	[ACPX_CODE_TIMEOUT] = { "TIMEOUT", -32070, ACPX_EXIT_TIMEOUT },
	[ACPX_CODE_NO_SESSION] = { "NO_SESSION", -32002, ACPX_EXIT_NO_SESSION },
	[ACPX_CODE_PERMISSION_DENIED] = { "PERMISSION_DENIED", -32071,
	    ACPX_EXIT_PERMISSION_DENIED },
	[ACPX_CODE_PERMISSION_PROMPT_UNAVAILABLE] = {
	    "PERMISSION_PROMPT_UNAVAILABLE", -32072,
	    ACPX_EXIT_PERMISSION_DENIED },
	[ACPX_CODE_EXEC_DISABLED] = { "EXEC_DISABLED", -32603, ACPX_EXIT_ERROR },
	[ACPX_CODE_NODE_UNREACHABLE] = { "NODE_UNREACHABLE", -32073,
	    ACPX_EXIT_NODE_UNREACHABLE },
	[ACPX_CODE_HOST_AT_CAPACITY] = { "HOST_AT_CAPACITY", -32074,
	    ACPX_EXIT_HOST_AT_CAPACITY },
};

/* "RUNTIME", "NO_SESSION", ... */
const char *
acpx_error_code_name(enum acpx_code code)
{
	return (error_codes[code].name);
}

/* JSON-RPC error code used for an acpxCode. */
int
acpx_error_code_rpc(enum acpx_code code)
{
	return (error_codes[code].rpc);
}

/* Exit status for an error. */
int
acpx_error_exit(const struct acpx_error *err)
{
	if (err->flags & ACPX_ERROR_SUBCOMMAND)
		return (ACPX_EXIT_ERROR);
	return (error_codes[err->code].exit);
}

/* New error with a printf message. Caller owns. */
struct acpx_error *
acpx_error_new(enum acpx_code code, const char *detail, const char *origin,
    const char *fmt, ...)
{
	struct acpx_error	*err;
	va_list			 ap;

	err = xcalloc(1, sizeof *err);
	err->code = code;
	err->retryable = -1;
	va_start(ap, fmt);
	xvasprintf(&err->message, fmt, ap);
	va_end(ap);
	if (detail != NULL)
		err->detail_code = xstrdup(detail);
	if (origin != NULL)
		err->origin = xstrdup(origin);
	return (err);
}

void
acpx_error_free(struct acpx_error *err)
{
	if (err == NULL)
		return;
	free(err->message);
	free(err->detail_code);
	free(err->origin);
	free(err->timestamp);
	free(err->session_id);
	json_decref(err->acp);
	free(err);
}

/* Replace the session id shown in the JSON error line. */
void
acpx_error_set_session(struct acpx_error *err, const char *sid)
{
	free(err->session_id);
	err->session_id = sid != NULL ? xstrdup(sid) : NULL;
}

/* Replace the detail code. */
void
acpx_error_set_detail(struct acpx_error *err, const char *detail)
{
	free(err->detail_code);
	err->detail_code = detail != NULL ? xstrdup(detail) : NULL;
}

/* Case-insensitive substring test (ASCII). */
static int
contains_ci(const char *hay, const char *needle)
{
	size_t	n = strlen(needle);

	for (; *hay != '\0'; hay++) {
		if (strncasecmp(hay, needle, n) == 0)
			return (1);
	}
	return (0);
}

/* /session\s+["'\w-]+\s+not found/i */
static int
match_session_x_not_found(const char *s)
{
	const char	*p, *q;

	for (p = s; *p != '\0'; p++) {
		if (strncasecmp(p, "session", 7) != 0)
			continue;
		q = p + 7;
		if (!isspace((unsigned char)*q))
			continue;
		while (isspace((unsigned char)*q))
			q++;
		if (!(isalnum((unsigned char)*q) || *q == '_' || *q == '-' ||
		    *q == '"' || *q == '\''))
			continue;
		/* Greedy word run, then backtrack over whitespace positions. */
		while (isalnum((unsigned char)*q) || *q == '_' || *q == '-' ||
		    *q == '"' || *q == '\'')
			q++;
		if (!isspace((unsigned char)*q))
			continue;
		while (isspace((unsigned char)*q))
			q++;
		if (strncasecmp(q, "not found", 9) == 0)
			return (1);
	}
	return (0);
}

static int
is_not_found_text(const char *s)
{
	if (s == NULL)
		return (0);
	return (contains_ci(s, "resource_not_found") ||
	    contains_ci(s, "resource not found") ||
	    contains_ci(s, "session not found") ||
	    contains_ci(s, "unknown session") ||
	    contains_ci(s, "invalid session identifier") ||
	    match_session_x_not_found(s));
}

/* Any string inside v (depth-limited) that reads as "session not found". */
static int
has_not_found_hint(const json_t *v, int depth)
{
	const char	*key;
	json_t		*e;
	size_t		 i;

	if (depth > 4 || v == NULL)
		return (0);
	if (json_is_string(v))
		return (is_not_found_text(json_string_value(v)));
	if (json_is_array(v)) {
		json_array_foreach(v, i, e) {
			if (has_not_found_hint(e, depth + 1))
				return (1);
		}
	} else if (json_is_object(v)) {
		json_object_foreach((json_t *)v, key, e) {
			if (has_not_found_hint(e, depth + 1))
				return (1);
		}
	}
	return (0);
}

/* True if an RPC code or text marks "resource not found". */
int
acpx_error_is_not_found(int rpc_code, const char *text)
{
	return (rpc_code == -32001 || rpc_code == -32002 ||
	    is_not_found_text(text));
}

static int
is_auth_text(const char *s)
{
	static const char *const needles[] = { "auth required",
	    "authentication required", "authorization required",
	    "credential required", "credentials required", "token required",
	    "login required" };
	size_t	i;

	if (s == NULL)
		return (0);
	for (i = 0; i < nitems(needles); i++) {
		if (contains_ci(s, needles[i]))
			return (1);
	}
	return (0);
}

static int
nonblank(const json_t *v)
{
	const char	*s;

	if (!json_is_string(v))
		return (0);
	for (s = json_string_value(v); *s != '\0'; s++) {
		if (!isspace((unsigned char)*s))
			return (1);
	}
	return (0);
}

static int
is_auth_payload(const json_t *acp)
{
	json_t	*data;

	if (json_integer_value(json_object_get(acp, "code")) != -32000)
		return (0);
	if (is_auth_text(json_string_value(json_object_get(acp, "message"))))
		return (1);
	data = json_object_get(acp, "data");
	if (!json_is_object(data))
		return (0);
	return (json_is_true(json_object_get(data, "authRequired")) ||
	    nonblank(json_object_get(data, "methodId")) ||
	    json_array_size(json_object_get(data, "methods")) > 0);
}

/* New error from an ACP JSON-RPC error object (borrowed). Caller owns. */
struct acpx_error *
acpx_error_from_acp(const json_t *acp, const char *detail_default,
    const char *origin)
{
	struct acpx_error	*err;
	const char		*msg, *details;
	json_t			*data;
	int			 rpc;

	msg = json_string_value(json_object_get(acp, "message"));
	data = json_object_get(acp, "data");
	details = json_string_value(json_object_get(data, "details"));
	rpc = (int)json_integer_value(json_object_get(acp, "code"));

	err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, origin, "%s",
	    details != NULL && strspn(details, " \t\r\n\f\v") !=
	    strlen(details) ? details :
	    msg != NULL ? msg : "Unknown ACP error");
	if (json_is_number(json_object_get(acp, "code")) && msg != NULL &&
	    *msg != '\0')
		err->acp = json_deep_copy(acp);
	if (acpx_error_is_not_found(rpc, msg) ||
	    (err->acp != NULL && has_not_found_hint(data, 0)) ||
	    is_not_found_text(err->message))
		err->code = ACPX_CODE_NO_SESSION;
	if (detail_default != NULL)
		err->detail_code = xstrdup(detail_default);
	else if (err->acp != NULL && is_auth_payload(err->acp))
		err->detail_code = xstrdup("AUTH_REQUIRED");
	return (err);
}

/* The JSON error line object. Caller owns. */
json_t *
acpx_error_json(const struct acpx_error *err)
{
	json_t	*fb, *data, *eobj, *acp_data, *v;
	const char *key, *acp_msg;

	fb = json_object();
	json_object_set_new(fb, "acpxCode", json_string(acpx_error_code_name(err->code)));
	if (err->detail_code != NULL)
		json_object_set_new(fb, "detailCode", json_string(err->detail_code));
	if (err->origin != NULL)
		json_object_set_new(fb, "origin", json_string(err->origin));
	if (err->retryable != -1)
		json_object_set_new(fb, "retryable", json_boolean(err->retryable));
	if (err->timestamp != NULL)
		json_object_set_new(fb, "timestamp", json_string(err->timestamp));
	json_object_set_new(fb, "sessionId", json_string(err->session_id != NULL ?
	    err->session_id : "unknown"));

	eobj = json_object();
	acp_msg = err->acp != NULL ?
	    json_string_value(json_object_get(err->acp, "message")) : NULL;
	if (acp_msg != NULL && strspn(acp_msg, " \t\r\n") != strlen(acp_msg)) {
		json_object_set(eobj, "code", json_object_get(err->acp, "code"));
		json_object_set_new(eobj, "message", json_string(acp_msg));
		acp_data = json_object_get(err->acp, "data");
		if (acp_data == NULL)
			data = json_incref(fb);
		else if (json_is_object(acp_data)) {
			/* Fallback keys first, ACP keys win (and keep order). */
			data = json_copy(fb);
			json_object_foreach(acp_data, key, v)
				json_object_set(data, key, v);
		} else
			data = json_incref(acp_data);
		json_object_set_new(eobj, "data", data);
	} else {
		json_object_set_new(eobj, "code",
		    json_integer(acpx_error_code_rpc(err->code)));
		json_object_set_new(eobj, "message", json_string(err->message));
		json_object_set(eobj, "data", fb);
	}
	json_decref(fb);
	return (json_pack("{s:s, s:n, s:o}", "jsonrpc", "2.0", "id", "error",
	    eobj));
}

/* Append one hint line to *out. */
static void
hint_add(char **out, const char *line)
{
	char	*n;

	if (*out == NULL)
		*out = xstrdup(line);
	else {
		xasprintf(&n, "%s\n%s", *out, line);
		free(*out);
		*out = n;
	}
}

/* Collect auth method ids from ACP data and "auth methods [a, b]" text. */
static void
auth_method_ids(const struct acpx_error *err, char ***ids, size_t *n)
{
	json_t		*data, *e, *id;
	const char	*p, *end, *s;
	size_t		 i, j;
	char		*cand;

	*ids = NULL;
	*n = 0;
#define ADD_ID(str, len) do {						\
	cand = xstrndup((str), (len));					\
	for (j = 0; j < *n; j++)					\
		if (strcmp((*ids)[j], cand) == 0)			\
			break;						\
	if (j == *n && *cand != '\0') {					\
		*ids = xreallocarray(*ids, *n + 1, sizeof **ids);	\
		(*ids)[(*n)++] = cand;					\
	} else								\
		free(cand);						\
} while (0)
	data = err->acp != NULL ? json_object_get(err->acp, "data") : NULL;
	if (json_is_object(data)) {
		if (nonblank(json_object_get(data, "methodId"))) {
			s = json_string_value(json_object_get(data, "methodId"));
			while (isspace((unsigned char)*s))
				s++;
			end = s + strlen(s);
			while (end > s && isspace((unsigned char)end[-1]))
				end--;
			ADD_ID(s, (size_t)(end - s));
		}
		json_array_foreach(json_object_get(data, "methods"), i, e) {
			id = json_is_string(e) ? e : json_object_get(e, "id");
			if (!nonblank(id))
				continue;
			s = json_string_value(id);
			while (isspace((unsigned char)*s))
				s++;
			end = s + strlen(s);
			while (end > s && isspace((unsigned char)end[-1]))
				end--;
			ADD_ID(s, (size_t)(end - s));
		}
	}
	for (p = err->message; *p != '\0'; p++) {
		if (strncasecmp(p, "auth methods [", 14) != 0)
			continue;
		p += 14;
		if ((end = strchr(p, ']')) == NULL || end == p)
			break;
		while (p < end) {
			const char *comma = memchr(p, ',', (size_t)(end - p));
			const char *stop = comma != NULL ? comma : end;
			const char *a = p, *b = stop;

			while (a < b && isspace((unsigned char)*a))
				a++;
			while (b > a && isspace((unsigned char)b[-1]))
				b--;
			if (b > a)
				ADD_ID(a, (size_t)(b - a));
			p = stop + 1;
		}
		break;
	}
	for (p = err->message; *p != '\0'; p++) {
		if (strncasecmp(p, "auth method ", 12) != 0)
			continue;
		s = p + 12;
		end = s;
		while (isalnum((unsigned char)*end) || *end == '_' ||
		    *end == '.' || *end == '-')
			end++;
		if (end > s) {
			ADD_ID(s, (size_t)(end - s));
			break;
		}
	}
#undef ADD_ID
}

static char *
auth_hint(const struct acpx_error *err)
{
	char	**ids, *keys = NULL, *tmp, *out;
	size_t	  n, i;

	auth_method_ids(err, &ids, &n);
	if (n == 0) {
		free(ids);
		return (xstrdup("hint: run `acpx config show` to locate the "
		    "active config, then add the required credential under "
		    "`auth` and retry."));
	}
	for (i = 0; i < n; i++) {
		const char *sep = i == 0 ? "" : n == 2 ? " or " :
		    i == n - 1 ? ", or " : ", ";

		xasprintf(&tmp, "%s%s`auth.%s`", keys != NULL ? keys : "", sep,
		    ids[i]);
		free(keys);
		keys = tmp;
		free(ids[i]);
	}
	free(ids);
	xasprintf(&out, "hint: run `acpx config show` to locate the active "
	    "config, then add %s and retry.", keys);
	free(keys);
	return (out);
}

/* \b429\b */
static int
has_429(const char *s)
{
	const char	*p;

	for (p = s; (p = strstr(p, "429")) != NULL; p++) {
		if ((p == s || !(isalnum((unsigned char)p[-1]) || p[-1] == '_')) &&
		    !(isalnum((unsigned char)p[3]) || p[3] == '_'))
			return (1);
	}
	return (0);
}

/* Text-mode remediation hints (§5.6). Caller owns; NULL if none. */
/*
 * The next step for errors of acpx-native's own (their detailCodes are not
 * the reference's, so no output compared with it changes), or NULL.
 */
static const struct {
	const char	*detail;
	const char	*hint;
} own_hints[] = {
	{ "NODE_SSH_MISSING", "hint: install the OpenSSH client "
	    "(sudo apt-get install openssh-client), then retry." },
	{ "NODE_ACPX_MISSING", "hint: install acpx-native on the node, or set "
	    "`nodes.<name>.acpx` to its path (acpx-config(5)); `acpx nodes "
	    "check` shows every node." },
	{ "NODE_ACPX_INCOMPATIBLE", "hint: upgrade acpx-native on the node; "
	    "`acpx nodes check` shows each node's version." },
	{ "NODE_UNKNOWN", "hint: `acpx nodes list` shows the configured "
	    "nodes." },
	{ "WARP_ENV_MISSING", "hint: create the secrets file (mode 600) with "
	    "the provider's WARP_<P>_API_KEY and WARP_<P>_BASE_URL "
	    "(acpx-warp(7)); `acpx doctor` checks it." },
	{ "WARP_ENV_INVALID", "hint: `acpx warp doctor` checks the secrets "
	    "file." },
	{ "WARP_ENV_UNREADABLE", "hint: `acpx warp doctor` checks the secrets "
	    "file." },
	{ "WARP_CONFIG_INVALID", "hint: fix the `warp` key of the config "
	    "(acpx-warp(7)); `acpx doctor` checks it." },
	{ "WARP_PROVIDER_UNKNOWN", "hint: `acpx warp list` shows the agents "
	    "the configured providers make." },
	{ "WARP_HARNESS_UNKNOWN", "hint: `acpx warp list` shows the agents "
	    "the configured providers make." },
	{ "WARP_MODEL_UNKNOWN", "hint: `acpx warp list` shows the agents "
	    "the configured providers make." },
	{ "WARP_COOLDOWN", "hint: `acpx warp doctor` shows the cooldowns; "
	    "`acpx warp probe <provider>` ends one when the provider answers." },
	{ "WARP_PROVIDER_FAILURE", "hint: `acpx warp probe` checks every "
	    "provider." },
	{ "WARP_FALLBACK_EXHAUSTED", "hint: `acpx warp probe` checks every "
	    "provider." },
};

static const char *
own_hint(const struct acpx_error *err)
{
	size_t	i;

	if (err->code == ACPX_CODE_NODE_UNREACHABLE)
		return ("hint: `acpx nodes check <name>` checks the node; try "
		    "`ssh` to it by hand.");
	if (err->detail_code == NULL)
		return (NULL);
	for (i = 0; i < nitems(own_hints); i++) {
		if (strcmp(err->detail_code, own_hints[i].detail) == 0)
			return (own_hints[i].hint);
	}
	return (NULL);
}

char *
acpx_error_hints(const struct acpx_error *err, const char *agent_name)
{
	const char	*m = err->message;
	char		*out = NULL;
	int		 rpc;

	(void)agent_name;	/* the reference prints a literal "<agent>" */
	if (err->detail_code != NULL &&
	    strcmp(err->detail_code, "AUTH_REQUIRED") == 0)
		return (auth_hint(err));
	if ((m = own_hint(err)) != NULL)
		return (xstrdup(m));
	m = err->message;
	if (err->code == ACPX_CODE_TIMEOUT)
		return (xstrdup("hint: increase `--timeout <seconds>` for "
		    "long-running prompts, or check whether the agent/provider "
		    "is stalled."));
	if (err->code == ACPX_CODE_NO_SESSION) {
		if (contains_ci(m, "create one:"))
			return (NULL);
		return (xstrdup("hint: the saved ACP session is missing or "
		    "stale; start a fresh session with `acpx <agent> sessions "
		    "new`, then retry."));
	}
	if (contains_ci(m, "does not support session/resume") ||
	    contains_ci(m, "does not support session/load"))
		hint_add(&out, "hint: this adapter cannot resume saved ACP "
		    "sessions; create a fresh one with `acpx <agent> sessions "
		    "new` instead of reusing `--resume-session`.");
	else if (contains_ci(m, "failed to resume acp session") ||
	    contains_ci(m, "session/resume") || contains_ci(m, "session/load")) {
		hint_add(&out, "hint: rerun with `--verbose` to capture the ACP "
		    "load failure details.");
		hint_add(&out, "hint: if you do not need the old backend session, "
		    "start a fresh one with `acpx <agent> sessions new` and "
		    "retry.");
	} else if (has_429(m) || contains_ci(m, "rate limit") ||
	    contains_ci(m, "quota exceeded"))
		hint_add(&out, "hint: the provider appears rate-limited; retry "
		    "later, switch model, or check provider quota/billing.");
	else if (contains_ci(m, "model not found") ||
	    contains_ci(m, "unknown model") || contains_ci(m, "invalid model"))
		hint_add(&out, "hint: check the configured model name for this "
		    "agent, then retry with `--model <model>` or `sessions "
		    "set-model <model>`.");
	else if (contains_ci(m, "session/set_mode") ||
	    contains_ci(m, "session/set_model") ||
	    contains_ci(m, "session/set_config_option"))
		hint_add(&out, "hint: rerun with `--verbose` to capture the ACP "
		    "method/error details before retrying.");
	else if (err->origin != NULL && strcmp(err->origin, "acp") == 0 &&
	    err->code == ACPX_CODE_RUNTIME) {
		rpc = err->acp != NULL ?
		    (int)json_integer_value(json_object_get(err->acp, "code")) : 0;
		if (rpc == -32602 || rpc == -32603 ||
		    contains_ci(m, "internal error"))
			hint_add(&out, "hint: rerun with `--verbose` to capture "
			    "the underlying ACP error details.");
	}
	return (out);
}

