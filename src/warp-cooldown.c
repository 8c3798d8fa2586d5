#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "acpx.h"
#include "warp.h"
#include "xmalloc.h"

/*
 * Cooldown by cause (warp.h). A failure's reason (the classifier's or the probe's
 * word) maps to a class; the class's policy (warp.cooldown.<class>, else
 * the built-in default) says how long the provider is skipped: a number
 * of seconds, until the reported reset, or until the operator runs
 * `acpx warp reset`. Transient classes may be tolerated a few times
 * (warp.allowedFails within warp.failWindowSeconds) before a flaky
 * provider cools down.
 */

_Static_assert(WARP_CAUSE_N == WARP_NCAUSES, "warp.h sizes cooldown_by");

static const char *const warp_cause_names[WARP_CAUSE_N] = {
	"rate_limit", "quota", "server_error", "stalled", "auth", "billing",
	"model_unavailable"
};

static const struct {
	const char	*reason;
	enum warp_cause	 cause;
} warp_reasons[] = {
	{ "rate-limited",	WARP_CAUSE_RATE_LIMIT },
	{ "quota-exhausted",	WARP_CAUSE_QUOTA },
	{ "overloaded",		WARP_CAUSE_SERVER_ERROR },
	{ "server-error",	WARP_CAUSE_SERVER_ERROR },
	{ "provider-error",	WARP_CAUSE_SERVER_ERROR },
	{ "unreachable",	WARP_CAUSE_SERVER_ERROR },
	{ "stalled",		WARP_CAUSE_STALLED },
	{ "auth-failed",	WARP_CAUSE_AUTH },
	{ "billing",		WARP_CAUSE_BILLING },
	{ "model-unavailable",	WARP_CAUSE_MODEL_UNAVAILABLE },
};

const char *
warp_cooldown_cause_name(enum warp_cause c)
{
	return (c < WARP_CAUSE_N ? warp_cause_names[c] : "server_error");
}

enum warp_cause
warp_cooldown_cause(const char *reason)
{
	size_t	i;

	for (i = 0; reason != NULL && i < nitems(warp_reasons); i++) {
		if (strcmp(warp_reasons[i].reason, reason) == 0)
			return (warp_reasons[i].cause);
	}
	return (WARP_CAUSE_SERVER_ERROR);
}

static int
warp_cooldown_bad(char **cause, const char *key, const char *file,
    const char *what)
{
	xasprintf(cause, "Invalid config warp.%s in %s: %s", key, file, what);
	return (-1);
}

/* One of our integer keys: 1, or -1 with *cause (warp-config.c's check). */
static int
warp_cooldown_int(const json_t *v, const char *key, const char *file,
    long long lo, long long hi, char **cause)
{
	return (warp_config_check_int(v, key, file, lo, hi, cause) == -1 ?
	    -1 : 1);
}

/* One class's value: seconds, "reset" or "manual". */
static long long
warp_cooldown_value(const json_t *v)
{
	const char	*s = json_string_value(v);

	if (json_is_integer(v) && json_integer_value(v) >= 0 &&
	    json_integer_value(v) <= 366LL * 86400)
		return (json_integer_value(v));
	if (s != NULL && strcmp(s, "reset") == 0)
		return (WARP_COOLDOWN_RESET);
	if (s != NULL && strcmp(s, "manual") == 0)
		return (WARP_COOLDOWN_MANUAL);
	return (WARP_COOLDOWN_UNSET);
}

static int
warp_cooldown_index(const char *name)
{
	int	i;

	for (i = 0; i < WARP_CAUSE_N; i++) {
		if (strcmp(warp_cause_names[i], name) == 0)
			return (i);
	}
	return (-1);
}

/* Check a key of ours. */
int
warp_cooldown_check_key(const char *key, const json_t *v, const char *file,
    char **cause)
{
	const char	*k;
	const json_t	*e;
	char		*sub;

	if (strcmp(key, "maxRetryAfterSeconds") == 0)
		return (warp_cooldown_int(v, key, file, 0, 366LL * 86400, cause));
	if (strcmp(key, "allowedFails") == 0)
		return (warp_cooldown_int(v, key, file, 0, 1000, cause));
	if (strcmp(key, "failWindowSeconds") == 0)
		return (warp_cooldown_int(v, key, file, 1, 86400, cause));
	if (strcmp(key, "harnessRetries") == 0)
		return (json_is_null(v) ? 1 :
		    warp_cooldown_int(v, key, file, 0, 20, cause));
	if (strcmp(key, "cooldown") != 0)
		return (0);
	if (!json_is_object(v))
		return (warp_cooldown_bad(cause, key, file, "expected an object "
		    "of failure class -> seconds, \"reset\" or \"manual\""));
	json_object_foreach((json_t *)v, k, e) {
		xasprintf(&sub, "cooldown.%s", k);
		if (warp_cooldown_index(k) == -1) {
			warp_cooldown_bad(cause, sub, file, "unknown failure "
			    "class (expected rate_limit, quota, server_error, "
			    "stalled, auth, billing, model_unavailable)");
			free(sub);
			return (-1);
		}
		if (warp_cooldown_value(e) == WARP_COOLDOWN_UNSET) {
			warp_cooldown_bad(cause, sub, file, "expected seconds "
			    "(0 to 31622400), \"reset\" (until the reported "
			    "reset) or \"manual\" (until acpx warp reset)");
			free(sub);
			return (-1);
		}
		free(sub);
	}
	return (1);
}

static long long
warp_cooldown_get(const json_t *w, const char *key, long long dflt)
{
	const json_t	*v = json_object_get(w, key);

	return (json_is_integer(v) ? json_integer_value(v) : dflt);
}

/* Fill wc's cooldown fields. */
void
warp_cooldown_load(struct warp_config *wc)
{
	const json_t	*cd = json_object_get(wc->merged, "cooldown");
	int		 i;

	for (i = 0; i < WARP_CAUSE_N; i++)
		wc->cooldown_by[i] = warp_cooldown_value(json_object_get(cd,
		    warp_cause_names[i]));
	wc->max_retry_after_s = warp_cooldown_get(wc->merged,
	    "maxRetryAfterSeconds", WARP_DEFAULT_MAX_RETRY_AFTER);
	wc->allowed_fails = (int)warp_cooldown_get(wc->merged, "allowedFails",
	    0);
	wc->fail_window_s = warp_cooldown_get(wc->merged, "failWindowSeconds",
	    WARP_DEFAULT_FAIL_WINDOW);
	wc->harness_retries = json_is_null(json_object_get(wc->merged,
	    "harnessRetries")) ? -1 : (int)warp_cooldown_get(wc->merged,
	    "harnessRetries", 1);
}

/* The effective policy of a class. */
long long
warp_cooldown_policy(const struct warp_config *wc, enum warp_cause c)
{
	if (c >= WARP_CAUSE_N)
		c = WARP_CAUSE_SERVER_ERROR;
	if (wc->cooldown_by[c] != WARP_COOLDOWN_UNSET)
		return (wc->cooldown_by[c]);
	switch (c) {
	case WARP_CAUSE_RATE_LIMIT:
		return (WARP_DEFAULT_RATE_LIMIT_COOLDOWN);
	case WARP_CAUSE_QUOTA:
		return (WARP_COOLDOWN_RESET);
	case WARP_CAUSE_AUTH:
	case WARP_CAUSE_BILLING:
		return (WARP_COOLDOWN_MANUAL);
	default:
		return (wc->cooldown_s);
	}
}

char *
warp_cooldown_policy_text(long long policy)
{
	char	*s;

	if (policy == WARP_COOLDOWN_MANUAL)
		return (xstrdup("until cleared"));
	if (policy == WARP_COOLDOWN_RESET)
		return (xstrdup("until reset"));
	xasprintf(&s, "%llds", policy);
	return (s);
}

/* Classes a flaky provider may fail a few times without cooling down. */
static int
warp_cooldown_tolerated(enum warp_cause c, long long retry_after)
{
	return ((c == WARP_CAUSE_RATE_LIMIT && retry_after <= 0) ||
	    c == WARP_CAUSE_SERVER_ERROR || c == WARP_CAUSE_STALLED);
}

/* Record a provider failure. */
int
warp_cooldown_record(const struct warp_config *wc, struct warp_state *st,
    const struct warp_cooldown_failure *fl, time_t now, char **note)
{
	enum warp_cause	 c = warp_cooldown_cause(fl->reason);
	long long	 policy = warp_cooldown_policy(wc, c), secs;
	const char	*model = fl->model;
	time_t		 until;
	size_t		 n;

	*note = NULL;
	if (c == WARP_CAUSE_AUTH || c == WARP_CAUSE_BILLING)
		model = NULL;	/* the key or the account: every model */
	warp_state_fail_add(st, fl->provider, model, now);
	if (wc->allowed_fails > 0 && warp_cooldown_tolerated(c,
	    fl->retry_after)) {
		n = warp_state_fail_count(st, fl->provider, model,
		    now - (time_t)wc->fail_window_s + 1);
		if (n <= (size_t)wc->allowed_fails) {
			xasprintf(note, "warp: %s%s%s failed (%s), %zu of %d "
			    "failures allowed within %llds (warp.allowedFails): "
			    "not cooling down", fl->provider, model != NULL ?
			    "/" : "", model != NULL ? model : "", fl->reason,
			    n, wc->allowed_fails, wc->fail_window_s);
			return (0);
		}
	}
	if (policy == WARP_COOLDOWN_MANUAL)
		until = WARP_UNTIL_MANUAL;
	else if (fl->retry_after > 0) {
		secs = fl->retry_after;
		if (secs > wc->max_retry_after_s) {
			xasprintf(note, "warp: %s asked to retry after %llds, over "
			    "warp.maxRetryAfterSeconds (%llds): cooling down for "
			    "%llds and going on with the next agent",
			    fl->provider, fl->retry_after,
			    wc->max_retry_after_s, wc->max_retry_after_s);
			secs = wc->max_retry_after_s;
		}
		until = now + (time_t)secs;
	} else if (policy == WARP_COOLDOWN_RESET)
		until = fl->reset > now ? fl->reset : now + (time_t)wc->cooldown_s;
	else
		until = now + (time_t)policy;
	if (until <= now)
		return (0);
	warp_state_set(st, fl->provider, model, until, fl->reason, fl->source,
	    now);
	return (1);
}
