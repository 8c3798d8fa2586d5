#include <config.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "acpx.h"
#include "json-util.h"
#include "warp-classify.h"
#include "xmalloc.h"

/*
 * The table. Needles are lower case and matched as substrings of the
 * lower-cased text; the first row that matches wins, so the specific rows
 * (quota, billing) come before the general ones (rate limit, 5xx, auth).
 * Bare status numbers are matched separately (warp_classify_status) so a
 * "line 429" in a compiler message is not a rate limit.
 */
static const struct {
	const char	*needle;
	enum warp_fail	 kind;
} warp_table[] = {
	/* codex-acp data.codexErrorInfo; OpenAI, DeepSeek, Moonshot, gemini */
	{ "usagelimitexceeded", WARP_FAIL_QUOTA },
	{ "usage_limit_exceeded", WARP_FAIL_QUOTA },
	{ "usage limit", WARP_FAIL_QUOTA },
	{ "insufficient_quota", WARP_FAIL_QUOTA },
	{ "exceeded your current quota", WARP_FAIL_QUOTA },
	{ "quota exceeded", WARP_FAIL_QUOTA },
	{ "quota_exceeded", WARP_FAIL_QUOTA },
	{ "exceeded_current_quota", WARP_FAIL_QUOTA },
	{ "resource_exhausted", WARP_FAIL_QUOTA },
	{ "resource has been exhausted", WARP_FAIL_QUOTA },
	{ "insufficient balance", WARP_FAIL_QUOTA },
	{ "insufficient_balance", WARP_FAIL_QUOTA },
	{ "balance is insufficient", WARP_FAIL_QUOTA },
	{ "out of credits", WARP_FAIL_QUOTA },
	/* claude: "Credit balance is too low", data.errorKind billing_error */
	{ "credit balance is too low", WARP_FAIL_BILLING },
	{ "billing_error", WARP_FAIL_BILLING },
	{ "billing", WARP_FAIL_BILLING },
	{ "payment required", WARP_FAIL_BILLING },
	{ "payment_required", WARP_FAIL_BILLING },
	/* rate limits and throttling */
	{ "rate_limit", WARP_FAIL_RATE_LIMIT },
	{ "rate limit", WARP_FAIL_RATE_LIMIT },
	{ "ratelimit", WARP_FAIL_RATE_LIMIT },
	{ "rate-limit", WARP_FAIL_RATE_LIMIT },
	{ "too many requests", WARP_FAIL_RATE_LIMIT },
	{ "too_many_requests", WARP_FAIL_RATE_LIMIT },
	{ "throttl", WARP_FAIL_RATE_LIMIT },
	{ "response_too_many_failed_attempts", WARP_FAIL_RATE_LIMIT },
	/* retired or unknown models */
	{ "model_not_found", WARP_FAIL_MODEL },
	{ "model not found", WARP_FAIL_MODEL },
	{ "no such model", WARP_FAIL_MODEL },
	{ "model is not supported", WARP_FAIL_MODEL },
	{ "model_not_supported", WARP_FAIL_MODEL },
	{ "has been deprecated", WARP_FAIL_MODEL },
	{ "decommissioned", WARP_FAIL_MODEL },
	{ "model is retired", WARP_FAIL_MODEL },
	{ "model unavailable", WARP_FAIL_MODEL },
	{ "unknown model", WARP_FAIL_MODEL },
	/* auth */
	{ "authentication_failed", WARP_FAIL_AUTH },
	{ "authentication_error", WARP_FAIL_AUTH },
	{ "invalid api key", WARP_FAIL_AUTH },
	{ "invalid_api_key", WARP_FAIL_AUTH },
	{ "invalid x-api-key", WARP_FAIL_AUTH },
	{ "incorrect api key", WARP_FAIL_AUTH },
	{ "api key not valid", WARP_FAIL_AUTH },
	{ "api_key_invalid", WARP_FAIL_AUTH },
	{ "unauthorized", WARP_FAIL_AUTH },
	/* upstream 5xx and overload */
	{ "overloaded", WARP_FAIL_OVERLOAD },
	{ "internal_server_error", WARP_FAIL_OVERLOAD },
	{ "internal server error", WARP_FAIL_OVERLOAD },
	{ "server_error", WARP_FAIL_OVERLOAD },
	{ "service unavailable", WARP_FAIL_OVERLOAD },
	{ "service_unavailable", WARP_FAIL_OVERLOAD },
	{ "\"unavailable\"", WARP_FAIL_OVERLOAD },
	{ "bad gateway", WARP_FAIL_OVERLOAD },
	{ "gateway timeout", WARP_FAIL_OVERLOAD },
	{ "upstream", WARP_FAIL_OVERLOAD },
	{ "stream disconnected before completion", WARP_FAIL_OVERLOAD },
	/* claude-code-acp, captured: the provider is unreachable */
	{ "unable to connect to api", WARP_FAIL_OVERLOAD },
};

/* HTTP statuses that name a provider failure when they follow a keyword. */
static const struct {
	int		 status;
	enum warp_fail	 kind;
} warp_statuses[] = {
	{ 401, WARP_FAIL_AUTH },
	{ 402, WARP_FAIL_BILLING },
	{ 403, WARP_FAIL_AUTH },
	{ 429, WARP_FAIL_RATE_LIMIT },
	{ 500, WARP_FAIL_OVERLOAD },
	{ 502, WARP_FAIL_OVERLOAD },
	{ 503, WARP_FAIL_OVERLOAD },
	{ 504, WARP_FAIL_OVERLOAD },
	{ 529, WARP_FAIL_OVERLOAD },
};

static const char *warp_status_words[] = {
	"status", "error", "http", "code"
};

static const char *warp_reasons[] = {
	NULL, "quota-exhausted", "rate-limited", "overloaded",
	"model-unavailable", "auth-failed", "billing", "provider-error"
};

#define WARP_SIGNAL_MAX	600

/* The reason string of a kind. */
const char *
warp_fail_reason(enum warp_fail k)
{
	if ((size_t)k >= sizeof warp_reasons / sizeof warp_reasons[0])
		return (NULL);
	return (warp_reasons[k]);
}

static char *
warp_lower(const char *s)
{
	char	*l = xstrdup(s), *p;

	for (p = l; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return (l);
}

static enum warp_fail
warp_kind_of_reason(const char *reason)
{
	size_t	i;

	for (i = 1; reason != NULL && i < sizeof warp_reasons /
	    sizeof warp_reasons[0]; i++) {
		if (strcmp(reason, warp_reasons[i]) == 0)
			return ((enum warp_fail)i);
	}
	return (WARP_FAIL_OTHER);
}

/* One configured pattern against lower-cased text. */
static int
warp_pattern_match(const char *lower, const char *pattern)
{
	char	*lp;
	int	 hit;

	if (pattern == NULL || *pattern == '\0')
		return (0);
	lp = warp_lower(pattern);
	hit = strstr(lower, lp) != NULL;
	free(lp);
	return (hit);
}

/* warp.providerErrorPatterns: ["text", {pattern, reason}] or {text: reason}. */
static enum warp_fail
warp_classify_patterns(const char *lower, const json_t *patterns)
{
	const json_t	*e;
	const char	*k;
	size_t		 i;

	if (json_is_array(patterns)) {
		json_array_foreach(patterns, i, e) {
			if (json_is_string(e) &&
			    warp_pattern_match(lower, json_string_value(e)))
				return (WARP_FAIL_OTHER);
			if (json_is_object(e) && warp_pattern_match(lower,
			    json_string_value(json_object_get(e, "pattern"))))
				return (warp_kind_of_reason(json_string_value(
				    json_object_get(e, "reason"))));
		}
	} else if (json_is_object(patterns)) {
		json_object_foreach((json_t *)patterns, k, e) {
			if (warp_pattern_match(lower, k))
				return (warp_kind_of_reason(json_string_value(e)));
		}
	}
	return (WARP_FAIL_TASK);
}

/* A status number right after "status", "error", "http" or "code". */
static enum warp_fail
warp_classify_status(const char *lower)
{
	const char	*p, *q;
	char		 num[8];
	size_t		 i, j, n;
	long		 v;

	for (p = lower; *p != '\0'; p++) {
		if (!isdigit((unsigned char)*p) || (p > lower &&
		    isdigit((unsigned char)p[-1])))
			continue;
		for (n = 0; isdigit((unsigned char)p[n]) && n < 4; n++)
			;
		if (n != 3 || isdigit((unsigned char)p[n]))
			continue;
		memcpy(num, p, 3);
		num[3] = '\0';
		v = strtol(num, NULL, 10);
		for (i = 0; i < nitems(warp_statuses); i++) {
			if (warp_statuses[i].status != v)
				continue;
			q = p - lower > 16 ? p - 16 : lower;
			for (j = 0; j < nitems(warp_status_words); j++) {
				const char *w = strstr(q, warp_status_words[j]);

				if (w != NULL && w < p)
					return (warp_statuses[i].kind);
			}
		}
	}
	return (WARP_FAIL_TASK);
}

/* Classify one piece of text against the patterns and the table. */
enum warp_fail
warp_classify_text(const char *text, const json_t *patterns)
{
	enum warp_fail	 k;
	char		*lower;
	size_t		 i;

	if (text == NULL || *text == '\0')
		return (WARP_FAIL_TASK);
	lower = warp_lower(text);
	if ((k = warp_classify_patterns(lower, patterns)) == WARP_FAIL_TASK) {
		for (i = 0; i < nitems(warp_table); i++) {
			if (strstr(lower, warp_table[i].needle) != NULL) {
				k = warp_table[i].kind;
				break;
			}
		}
	}
	if (k == WARP_FAIL_TASK)
		k = warp_classify_status(lower);
	free(lower);
	return (k);
}

/* "retry-after: 30", "retryAfter":30, "retry after 30s" → 30. */
static long long
warp_retry_after(const char *text)
{
	static const char	*keys[] = { "retry-after", "retryafter",
				    "retry_after", "retry after" };
	const char		*p;
	char			*lower;
	size_t			 i, skip;
	long long		 v = 0;

	lower = warp_lower(text);
	for (i = 0; i < nitems(keys) && v == 0; i++) {
		if ((p = strstr(lower, keys[i])) == NULL)
			continue;
		p += strlen(keys[i]);
		for (skip = 0; *p != '\0' && !isdigit((unsigned char)*p) &&
		    skip < 6; p++, skip++)
			;
		if (isdigit((unsigned char)*p))
			v = strtoll(p, NULL, 10);
	}
	free(lower);
	return (v > 0 && v < 7LL * 86400 ? v : 0);
}

/* Bounded copy of a signal, on one line. */
static char *
warp_bound(char *s)
{
	char	*p;

	for (p = s; *p != '\0'; p++) {
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	}
	if (strlen(s) > WARP_SIGNAL_MAX)
		strcpy(s + WARP_SIGNAL_MAX - 3, "...");
	return (s);
}

/* The agent's reply text of the turn, and whether codex flagged systemError. */
static char *
warp_turn_text(const json_t *messages, int *system_error)
{
	const json_t	*m, *u, *meta, *c;
	const char	*kind, *t;
	char		*text = xstrdup(""), *tmp;
	size_t		 i;

	*system_error = 0;
	json_array_foreach(messages, i, m) {
		t = json_string_value(json_object_get(m, "method"));
		if (t == NULL || strcmp(t, "session/update") != 0)
			continue;
		u = json_object_get(json_object_get(m, "params"), "update");
		meta = json_object_get(u, "_meta");
		if (meta == NULL)
			meta = json_object_get(json_object_get(m, "params"),
			    "_meta");
		t = json_string_value(json_object_get(json_object_get(meta,
		    "codex"), "threadStatus"));
		if (t != NULL && strcmp(t, "systemError") == 0)
			*system_error = 1;
		kind = json_string_value(json_object_get(u, "sessionUpdate"));
		if (kind == NULL || strcmp(kind, "agent_message_chunk") != 0)
			continue;
		c = json_object_get(u, "content");
		if ((t = json_string_value(json_object_get(c, "text"))) == NULL)
			continue;
		xasprintf(&tmp, "%s%s", text, t);
		free(text);
		text = tmp;
	}
	return (text);
}

/* Only "Retrying..." notices (pi-acp after the provider failed). */
static int
warp_only_retries(const char *text)
{
	const char	*p = text, *nl;
	int		 seen = 0;

	while (*p != '\0') {
		p += strspn(p, " \t\r\n");
		if (*p == '\0')
			break;
		if (strncasecmp(p, "retrying", 8) != 0)
			return (0);
		seen = 1;
		if ((nl = strchr(p, '\n')) == NULL)
			break;
		p = nl + 1;
	}
	return (seen);
}

static void
warp_verdict_set(struct warp_verdict *v, enum warp_fail k, const char *what,
    const char *detail, const char *haystack)
{
	v->kind = k;
	v->reason = warp_fail_reason(k);
	xasprintf(&v->signal, "%s%s", what, detail);
	warp_bound(v->signal);
	v->retry_after = warp_retry_after(haystack);
}

/* Classify the end of a turn. */
int
warp_classify(const struct warp_turn_end *te, struct warp_verdict *v)
{
	const json_t	*data;
	const char	*stop, *msg;
	char		*hay = NULL, *dump = NULL, *detail, *text = NULL;
	enum warp_fail	 k = WARP_FAIL_TASK;
	int		 syserr = 0;
	json_int_t	 code;

	memset(v, 0, sizeof *v);
	stop = json_string_value(json_object_get(te->result, "stopReason"));
	if (stop != NULL && strcmp(stop, "cancelled") == 0)
		return (0);
	if (json_is_object(te->error)) {
		code = json_integer_value(json_object_get(te->error, "code"));
		if (code == -32800)	/* request cancelled */
			return (0);
		msg = json_string_value(json_object_get(te->error, "message"));
		data = json_object_get(te->error, "data");
		if (data != NULL)
			dump = json_dumps_js(data, 0);
		xasprintf(&hay, "%s %s", msg != NULL ? msg : "",
		    dump != NULL ? dump : "");
		if ((k = warp_classify_text(hay, te->patterns)) ==
		    WARP_FAIL_TASK && json_is_string(json_object_get(data,
		    "errorName")) && strcmp(json_string_value(json_object_get(
		    data, "errorName")), "APIError") == 0)
			k = WARP_FAIL_OTHER;	/* opencode: the provider's API */
		if (k != WARP_FAIL_TASK) {
			xasprintf(&detail, "%lld: %s%s%s", (long long)code,
			    msg != NULL ? msg : "", dump != NULL ? " " : "",
			    dump != NULL ? dump : "");
			warp_verdict_set(v, k, "session/prompt error ", detail,
			    hay);
			free(detail);
		}
		free(dump);
		free(hay);
	} else if (te->messages != NULL) {
		text = warp_turn_text(te->messages, &syserr);
		if (syserr) {
			if ((k = warp_classify_text(text, te->patterns)) ==
			    WARP_FAIL_TASK)
				k = WARP_FAIL_OTHER;
			warp_verdict_set(v, k, "end_turn with codex threadStatus "
			    "systemError: ", text, text);
		} else if (warp_only_retries(text)) {
			k = WARP_FAIL_OVERLOAD;
			warp_verdict_set(v, k, "end_turn after retry notices "
			    "only: ", text, text);
		}
	}
	/* A failed or empty turn: the harness may have said why on stderr. */
	if (k == WARP_FAIL_TASK && te->stderr_text != NULL &&
	    (te->error != NULL || (text != NULL &&
	    strspn(text, " \t\r\n") == strlen(text))) &&
	    (k = warp_classify_text(te->stderr_text, te->patterns)) !=
	    WARP_FAIL_TASK)
		warp_verdict_set(v, k, "agent stderr: ", te->stderr_text,
		    te->stderr_text);
	free(text);
	return (v->kind != WARP_FAIL_TASK);
}

/* Free a verdict's signal. */
void
warp_verdict_clear(struct warp_verdict *v)
{
	free(v->signal);
	memset(v, 0, sizeof *v);
}
