#include <config.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "acpx.h"
#include "acp-update.h"
#include "js-json.h"
#include "warp-classify.h"
#include "warp.h"
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
	/* gemini-cli 0.61.0, captured: 429 RESOURCE_EXHAUSTED reworded */
	{ "exhausted your daily quota", WARP_FAIL_QUOTA },
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
	/* captured: OpenAI's 404 as opencode and codex pass it on */
	{ "does not exist or you do not have access", WARP_FAIL_MODEL },
	/* captured: claude-agent-acp 0.76.0 (errorKind model_not_found) */
	{ "issue with the selected model", WARP_FAIL_MODEL },
	/* captured: gemini-cli 0.61.0 (JSON-RPC code 500) */
	{ "is not found for api version", WARP_FAIL_MODEL },
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
	/* captured: codex-acp 2.6.0 answers a 401 with ACP's -32000 */
	{ "authentication required", WARP_FAIL_AUTH },
	{ "failed to authenticate", WARP_FAIL_AUTH },
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
	for (p = s + strlen(s); p > s && p[-1] == ' '; p--)
		p[-1] = '\0';
	return (s);
}

/* What the turn's session/update lines say. */
struct warp_scan {
	char	*text;		/* all the agent's reply text */
	char	*after;		/* the reply text from codex's systemError on */
	char	*details;	/* codex's _meta.codex.error updates, the last */
	int	 system_error;	/* codex flagged threadStatus systemError */
};

static void
warp_append(char **to, const char *s)
{
	char	*tmp;

	xasprintf(&tmp, "%s%s", *to, s);
	free(*to);
	*to = tmp;
}

/*
 * codex-acp's threadStatus: a string in the spec's sketch, an object
 * {"type": "systemError"} in what @agentclientprotocol/codex-acp 1.13.1
 * really sends (on a session_info_update).
 */
static int
warp_is_system_error(const json_t *status)
{
	const char	*t;

	if (json_is_object(status))
		status = json_object_get(status, "type");
	t = json_string_value(status);
	return (t != NULL && strcmp(t, "systemError") == 0);
}

/* Scan the turn's updates: reply text, codex's systemError and errors. */
static void
warp_scan_turn(const json_t *messages, struct warp_scan *sc)
{
	const json_t		*m, *u, *meta, *codex, *e, *c;
	const char		*t;
	struct acp_update	 ev;
	char		*dump;
	size_t		 i;

	memset(sc, 0, sizeof *sc);
	sc->text = xstrdup("");
	sc->after = xstrdup("");
	sc->details = xstrdup("");
	json_array_foreach(messages, i, m) {
		t = json_string_value(json_object_get(m, "method"));
		if (t == NULL || strcmp(t, "session/update") != 0)
			continue;
		u = json_object_get(json_object_get(m, "params"), "update");
		meta = json_object_get(u, "_meta");
		if (meta == NULL)
			meta = json_object_get(json_object_get(m, "params"),
			    "_meta");
		codex = json_object_get(meta, "codex");
		if (warp_is_system_error(json_object_get(codex, "threadStatus")))
			sc->system_error = 1;
		if (json_is_object(e = json_object_get(codex, "error"))) {
			/* "Reconnecting... n/5" with the HTTP status and body. */
			dump = js_json_dumps(e, 0);
			free(sc->details);
			sc->details = dump != NULL ? dump : xstrdup("");
		}
		if (acp_update_parse(u, &ev) != ACP_UPDATE_AGENT_MESSAGE_CHUNK)
			continue;
		c = ev.content;
		if ((t = json_string_value(json_object_get(c, "text"))) == NULL)
			continue;
		warp_append(&sc->text, t);
		if (sc->system_error)
			warp_append(&sc->after, t);
	}
}

static void
warp_scan_free(struct warp_scan *sc)
{
	free(sc->text);
	free(sc->after);
	free(sc->details);
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

/* gemini --acp: the JSON-RPC error code is the provider's HTTP status. */
static enum warp_fail
warp_classify_code(json_int_t code)
{
	size_t	i;

	for (i = 0; i < nitems(warp_statuses); i++) {
		if (warp_statuses[i].status == code)
			return (warp_statuses[i].kind);
	}
	return (WARP_FAIL_TASK);
}

/* The session/prompt JSON-RPC error. */
static enum warp_fail
warp_classify_error(const struct warp_turn_end *te, struct warp_verdict *v)
{
	const json_t	*data;
	const char	*msg, *name;
	char		*hay, *dump = NULL, *detail;
	enum warp_fail	 k;
	json_int_t	 code;
	time_t		 reset;
	long long	 retry_after;

	code = json_integer_value(json_object_get(te->error, "code"));
	msg = json_string_value(json_object_get(te->error, "message"));
	data = json_object_get(te->error, "data");
	if (data != NULL)
		dump = js_json_dumps(data, 0);
	xasprintf(&hay, "%s %s", msg != NULL ? msg : "",
	    dump != NULL ? dump : "");
	k = warp_classify_text(hay, te->patterns);
	/* ACP's quotaExceeded (quotas and limits): the reset it reports. */
	if (warp_quota_error(te->error, &reset, &retry_after))
		k = WARP_FAIL_QUOTA;
	if (k == WARP_FAIL_TASK)
		k = warp_classify_code(code);
	name = json_string_value(json_object_get(data, "errorName"));
	if (k == WARP_FAIL_TASK && name != NULL && strcmp(name, "APIError") == 0)
		k = WARP_FAIL_OTHER;	/* opencode: the provider's API said no */
	if (k != WARP_FAIL_TASK) {
		xasprintf(&detail, "%lld: %s%s%s", (long long)code,
		    msg != NULL ? msg : "", dump != NULL ? " " : "",
		    dump != NULL ? dump : "");
		warp_verdict_set(v, k, "session/prompt error ", detail, hay);
		free(detail);
		if (reset != 0 || retry_after != 0) {
			v->reset = reset;
			v->retry_after = retry_after;
		}
	}
	free(dump);
	free(hay);
	return (k);
}

/*
 * A turn that ended "normally": codex-acp's systemError (the reply text
 * is the error; the last _meta.codex.error update has the HTTP status),
 * or pi's retry notices and nothing else.
 */
static enum warp_fail
warp_classify_end(const struct warp_turn_end *te, struct warp_scan *sc,
    struct warp_verdict *v)
{
	const char	*said;
	char		*hay;
	enum warp_fail	 k = WARP_FAIL_TASK;

	if (sc->system_error) {
		said = *sc->after != '\0' ? sc->after : sc->text;
		xasprintf(&hay, "%s %s", said, sc->details);
		if ((k = warp_classify_text(said, te->patterns)) ==
		    WARP_FAIL_TASK)
			k = warp_classify_text(sc->details, te->patterns);
		if (k == WARP_FAIL_TASK)
			k = WARP_FAIL_OTHER;
		warp_verdict_set(v, k, "end_turn with codex threadStatus "
		    "systemError: ", said, hay);
		free(hay);
	} else if (warp_only_retries(sc->text)) {
		k = WARP_FAIL_OVERLOAD;
		warp_verdict_set(v, k, "end_turn after retry notices only: ",
		    sc->text, sc->text);
	}
	return (k);
}

/* Classify the end of a turn. */
int
warp_classify(const struct warp_turn_end *te, struct warp_verdict *v)
{
	struct warp_scan	 sc;
	const char		*stop;
	enum warp_fail		 k = WARP_FAIL_TASK;
	int			 scanned = 0, empty = 0;

	memset(v, 0, sizeof *v);
	stop = json_string_value(json_object_get(te->result, "stopReason"));
	if (stop != NULL && strcmp(stop, "cancelled") == 0)
		return (0);
	if (json_is_object(te->error)) {
		if (json_integer_value(json_object_get(te->error, "code")) ==
		    -32800)	/* request cancelled */
			return (0);
		k = warp_classify_error(te, v);
	} else if (te->messages != NULL) {
		warp_scan_turn(te->messages, &sc);
		scanned = 1;
		k = warp_classify_end(te, &sc, v);
		empty = strspn(sc.text, " \t\r\n") == strlen(sc.text);
	}
	/* A failed or empty turn: the harness may have said why on stderr. */
	if (k == WARP_FAIL_TASK && te->stderr_text != NULL &&
	    (te->error != NULL || empty) &&
	    (k = warp_classify_text(te->stderr_text, te->patterns)) !=
	    WARP_FAIL_TASK)
		warp_verdict_set(v, k, "agent stderr: ", te->stderr_text,
		    te->stderr_text);
	if (scanned)
		warp_scan_free(&sc);
	return (v->kind != WARP_FAIL_TASK);
}

/* Free a verdict's signal. */
void
warp_verdict_clear(struct warp_verdict *v)
{
	free(v->signal);
	memset(v, 0, sizeof *v);
}

/* The message of an OpenAI/Anthropic/Google error body, else its text. */
static char *
warp_http_message(const char *body, size_t len)
{
	json_t		*j, *e;
	const char	*m = NULL;
	char		*s;

	if ((j = json_loadb(body, len, 0, NULL)) != NULL) {
		e = json_object_get(j, "error");
		m = json_string_value(json_object_get(e, "message"));
		if (m == NULL)
			m = json_string_value(e);
		if (m == NULL)
			m = json_string_value(json_object_get(j, "message"));
	}
	s = m != NULL ? xstrdup(m) : xstrndup(body, len);
	json_decref(j);
	return (s);
}

/* A provider's HTTP answer, as the tap saw it. */
int
warp_classify_http(long status, long long retry_after, const char *body,
    size_t len, const json_t *patterns, struct warp_verdict *v)
{
	enum warp_fail	 k, bk;
	char		*text, *msg, ra[48];

	memset(v, 0, sizeof *v);
	if (status < 400)
		return (0);
	text = xstrndup(body != NULL ? body : "", body != NULL ? len : 0);
	bk = warp_classify_text(text, patterns);
	switch (status) {
	case 429:
		k = bk == WARP_FAIL_QUOTA || bk == WARP_FAIL_BILLING ? bk :
		    WARP_FAIL_RATE_LIMIT;
		break;
	case 402:
		k = bk == WARP_FAIL_QUOTA ? bk : WARP_FAIL_BILLING;
		break;
	case 401:
	case 403:
		k = bk == WARP_FAIL_QUOTA || bk == WARP_FAIL_BILLING ? bk :
		    WARP_FAIL_AUTH;
		break;
	case 404:
		k = WARP_FAIL_MODEL;
		break;
	default:
		k = status >= 500 && (bk == WARP_FAIL_TASK ||
		    bk == WARP_FAIL_AUTH) ? WARP_FAIL_OVERLOAD : bk;
		break;
	}
	if (k == WARP_FAIL_TASK) {
		free(text);
		return (0);
	}
	v->kind = k;
	v->reason = warp_fail_reason(k);
	v->status = status;
	v->retry_after = retry_after > 0 && retry_after < 7LL * 86400 ?
	    retry_after : 0;
	if (v->retry_after > 0)
		snprintf(ra, sizeof ra, ", Retry-After %llds", v->retry_after);
	else
		ra[0] = '\0';
	msg = warp_http_message(text, strlen(text));
	xasprintf(&v->signal, "provider answered HTTP %ld (%s%s): %s", status,
	    warp_cooldown_cause_name(warp_cooldown_cause(v->reason)), ra, msg);
	warp_bound(v->signal);
	free(msg);
	free(text);
	return (1);
}
