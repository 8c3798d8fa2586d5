/*
 * Unit tests for cooldown by cause (warp-cooldown.c): every failure class
 * with its default and a configured value, Retry-After under and over
 * warp.maxRetryAfterSeconds, warp.allowedFails within its window, auth and
 * billing provider-wide until cleared, a quota's reported reset, the key
 * checks, and warp_state_reset().
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "warp.h"
#include "xmalloc.h"
#include "tap.h"

#define NOW	((time_t)1800000000)

static struct warp_config *
wc_new(const char *warp)
{
	struct warp_config	*wc = xcalloc(1, sizeof *wc);

	wc->merged = json_loads(warp, 0, NULL);
	if (wc->merged == NULL)
		wc->merged = json_object();
	wc->cooldown_s = 600;
	warp_cooldown_load(wc);
	return (wc);
}

static void
wc_free(struct warp_config *wc)
{
	json_decref(wc->merged);
	free(wc);
}

/* Record one failure into a fresh state; the cooldown's length (-1: none). */
static long long
lasts(const struct warp_config *wc, const char *reason, long long retry_after,
    time_t reset, char **note, const char **model)
{
	struct warp_state		*st = xcalloc(1, sizeof *st);
	struct warp_cooldown_failure	 fl;
	long long			 d = -1;

	memset(&fl, 0, sizeof fl);
	fl.provider = "p";
	fl.model = "m";
	fl.reason = reason;
	fl.retry_after = retry_after;
	fl.reset = reset;
	fl.source = "test";
	warp_cooldown_record(wc, st, &fl, NOW, note);
	if (st->n == 1) {
		d = st->v[0].until == WARP_UNTIL_MANUAL ? -2 :
		    (long long)(st->v[0].until - NOW);
		if (model != NULL)
			*model = st->v[0].model != NULL ? "m" : NULL;
	}
	warp_state_free(st);
	return (d);
}

static void
test_defaults(void)
{
	struct warp_config	*wc = wc_new("{}");
	const char		*model = "x";
	char			*note = NULL;

	TEST_START("defaults: rate_limit 60 s, quota/server/stalled/model cooldownSeconds");
	ASSERT_INT_EQ(lasts(wc, "rate-limited", 0, 0, &note, NULL), 60);
	free(note);
	ASSERT_INT_EQ(lasts(wc, "quota-exhausted", 0, 0, &note, NULL), 600);
	free(note);
	ASSERT_INT_EQ(lasts(wc, "overloaded", 0, 0, &note, NULL), 600);
	free(note);
	ASSERT_INT_EQ(lasts(wc, "stalled", 0, 0, &note, NULL), 600);
	free(note);
	ASSERT_INT_EQ(lasts(wc, "model-unavailable", 0, 0, &note, NULL), 600);
	free(note);
	ASSERT_INT_EQ(lasts(wc, "provider-error", 0, 0, &note, NULL), 600);
	free(note);
	TEST_DONE();

	TEST_START("defaults: auth and billing until cleared, provider-wide");
	ASSERT_INT_EQ(lasts(wc, "auth-failed", 0, 0, &note, &model), -2);
	ASSERT_PTR_NULL(model);
	free(note);
	model = "x";
	ASSERT_INT_EQ(lasts(wc, "billing", 30, 0, &note, &model), -2);
	ASSERT_PTR_NULL(model);
	free(note);
	TEST_DONE();

	TEST_START("quota: the reported reset ends it; a reset in the past does not");
	ASSERT_INT_EQ(lasts(wc, "quota-exhausted", 0, NOW + 5000, &note, NULL),
	    5000);
	free(note);
	ASSERT_INT_EQ(lasts(wc, "quota-exhausted", 0, NOW - 5, &note, NULL),
	    600);
	free(note);
	TEST_DONE();

	TEST_START("Retry-After wins up to the cap (3600 by default)");
	ASSERT_INT_EQ(lasts(wc, "rate-limited", 120, 0, &note, NULL), 120);
	ASSERT_PTR_NULL(note);
	free(note);
	ASSERT_INT_EQ(lasts(wc, "rate-limited", 86400 * 365, 0, &note, NULL),
	    3600);
	ASSERT_PTR_NOT_NULL(note);
	ASSERT_TRUE(note != NULL && strstr(note, "warp.maxRetryAfterSeconds") !=
	    NULL);
	free(note);
	TEST_DONE();
	wc_free(wc);
}

static void
test_configured(void)
{
	struct warp_config	*wc;
	char			*note = NULL;

	wc = wc_new("{\"cooldown\": {\"rate_limit\": 5, \"auth\": 30, "
	    "\"server_error\": \"manual\", \"quota\": 100, \"billing\": "
	    "\"reset\"}, \"maxRetryAfterSeconds\": 10}");
	TEST_START("warp.cooldown per class");
	ASSERT_INT_EQ(lasts(wc, "rate-limited", 0, 0, &note, NULL), 5);
	free(note);
	ASSERT_INT_EQ(lasts(wc, "auth-failed", 0, 0, &note, NULL), 30);
	free(note);
	ASSERT_INT_EQ(lasts(wc, "overloaded", 0, 0, &note, NULL), -2);
	free(note);
	ASSERT_INT_EQ(lasts(wc, "quota-exhausted", 0, NOW + 5000, &note,
	    NULL), 100);
	free(note);
	ASSERT_INT_EQ(lasts(wc, "billing", 0, NOW + 70, &note, NULL), 70);
	free(note);
	ASSERT_INT_EQ(lasts(wc, "rate-limited", 11, 0, &note, NULL), 10);
	free(note);
	TEST_DONE();
	TEST_START("policy texts");
	note = warp_cooldown_policy_text(warp_cooldown_policy(wc,
	    WARP_CAUSE_SERVER_ERROR));
	ASSERT_STR_EQ(note, "until cleared");
	free(note);
	note = warp_cooldown_policy_text(warp_cooldown_policy(wc,
	    WARP_CAUSE_BILLING));
	ASSERT_STR_EQ(note, "until reset");
	free(note);
	note = warp_cooldown_policy_text(warp_cooldown_policy(wc,
	    WARP_CAUSE_RATE_LIMIT));
	ASSERT_STR_EQ(note, "5s");
	free(note);
	ASSERT_STR_EQ(warp_cooldown_cause_name(warp_cooldown_cause("stalled")),
	    "stalled");
	ASSERT_STR_EQ(warp_cooldown_cause_name(warp_cooldown_cause("nonsense")),
	    "server_error");
	TEST_DONE();
	wc_free(wc);
}

static void
test_allowed_fails(void)
{
	struct warp_config		*wc;
	struct warp_state		*st = xcalloc(1, sizeof *st);
	struct warp_cooldown_failure	 fl;
	char				*note = NULL;

	wc = wc_new("{\"allowedFails\": 2, \"failWindowSeconds\": 60}");
	memset(&fl, 0, sizeof fl);
	fl.provider = "p";
	fl.model = "m";
	fl.reason = "overloaded";
	TEST_START("allowedFails: two failures counted, the third cools down");
	ASSERT_INT_EQ(warp_cooldown_record(wc, st, &fl, NOW, &note), 0);
	ASSERT_TRUE(note != NULL && strstr(note, "1 of 2") != NULL);
	free(note);
	ASSERT_INT_EQ(warp_cooldown_record(wc, st, &fl, NOW + 10, &note), 0);
	free(note);
	ASSERT_INT_EQ(warp_cooldown_record(wc, st, &fl, NOW + 20, &note), 1);
	free(note);
	ASSERT_INT_EQ((int)st->n, 1);
	TEST_DONE();
	TEST_START("allowedFails: failures outside the window do not count");
	warp_state_reset(st, "p", NULL, NULL);
	ASSERT_INT_EQ((int)st->n, 0);
	ASSERT_INT_EQ((int)st->nf, 0);
	ASSERT_INT_EQ(warp_cooldown_record(wc, st, &fl, NOW, &note), 0);
	free(note);
	ASSERT_INT_EQ(warp_cooldown_record(wc, st, &fl, NOW + 100, &note), 0);
	free(note);
	ASSERT_INT_EQ(warp_cooldown_record(wc, st, &fl, NOW + 200, &note), 0);
	free(note);
	TEST_DONE();
	TEST_START("allowedFails: quota and auth are never tolerated");
	fl.reason = "quota-exhausted";
	ASSERT_INT_EQ(warp_cooldown_record(wc, st, &fl, NOW, &note), 1);
	free(note);
	fl.reason = "auth-failed";
	ASSERT_INT_EQ(warp_cooldown_record(wc, st, &fl, NOW, &note), 1);
	free(note);
	TEST_DONE();
	TEST_START("warp_state_reset: an agent clears its model and the provider-wide entry");
	warp_state_set(st, "q", "m", NOW + 50, "rate-limited", "t", NOW);
	ASSERT_INT_EQ((int)warp_state_reset(st, "p", "m", NULL), 2);
	ASSERT_INT_EQ((int)st->n, 1);
	ASSERT_INT_EQ((int)warp_state_reset(st, "q", NULL, NULL), 1);
	TEST_DONE();
	warp_state_free(st);
	wc_free(wc);
}

static void
test_keys(void)
{
	char	*cause = NULL;
	json_t	*v;

	TEST_START("key checks");
	v = json_loads("{\"rate_limit\": 5, \"quota\": \"reset\", \"auth\": "
	    "\"manual\"}", 0, NULL);
	ASSERT_INT_EQ(warp_cooldown_check_key("cooldown", v, "f", &cause), 1);
	json_decref(v);
	v = json_loads("{\"quota\": -1}", 0, NULL);
	ASSERT_INT_EQ(warp_cooldown_check_key("cooldown", v, "f", &cause), -1);
	ASSERT_TRUE(cause != NULL && strstr(cause,
	    "Invalid config warp.cooldown.quota in f") != NULL);
	free(cause);
	json_decref(v);
	v = json_loads("{\"quota\": \"later\"}", 0, NULL);
	ASSERT_INT_EQ(warp_cooldown_check_key("cooldown", v, "f", &cause), -1);
	free(cause);
	json_decref(v);
	v = json_integer(-3);
	ASSERT_INT_EQ(warp_cooldown_check_key("maxRetryAfterSeconds", v, "f",
	    &cause), -1);
	free(cause);
	ASSERT_INT_EQ(warp_cooldown_check_key("allowedFails", v, "f", &cause),
	    -1);
	free(cause);
	json_decref(v);
	v = json_integer(3);
	ASSERT_INT_EQ(warp_cooldown_check_key("allowedFails", v, "f", &cause),
	    1);
	ASSERT_INT_EQ(warp_cooldown_check_key("maxHops", v, "f", &cause), 0);
	json_decref(v);
	TEST_DONE();
}

int
main(void)
{
	xmalloc_init();
	test_defaults();
	test_configured();
	test_allowed_fails();
	test_keys();
	return (tap_end());
}
