/*
 * Unit tests for the quota signals (warp-quota.c): RFC 3339 times and ISO
 * 8601 durations, the believed reset, ACP's quota_update (pools that
 * apply, usedPercent, quantities, exceeded, an exhausted pool), Claude's
 * _claude/rateLimit window, the bad-value rule, quotaExceeded errors and
 * their reset or retryAfter (capped by warp.maxRetryAfterSeconds), the
 * merge (a window replaces its meter, a snapshot everything, an older
 * snapshot nothing), the view and warp.quotaReserve, and the state file
 * round trip (an older file without quotas loads).
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "warp.h"
#include "xmalloc.h"
#include "tap.h"

#define NOW	((time_t)1800000000)	/* 2027-01-15T08:00:00Z */
#define HOLD	600

/* Parse one update object wrapped in a session/update notification. */
static int
parse(const char *update, struct warp_quota_reading *r)
{
	json_t	*u = json_loads(update, 0, NULL), *msg;
	int	 rc;

	if (u == NULL) {
		fprintf(stderr, "bad test JSON: %s\n", update);
		return (-1);
	}
	msg = json_pack("{s:s, s:s, s:{s:s, s:o}}", "jsonrpc", "2.0",
	    "method", "session/update", "params", "sessionId", "s", "update",
	    u);
	memset(r, 0, sizeof *r);
	rc = warp_quota_parse(msg, NOW, HOLD, r);
	json_decref(msg);
	return (rc);
}

static int
error_of(const char *error, time_t *reset, long long *ra)
{
	json_t	*e = json_loads(error, 0, NULL);
	int	 rc = warp_quota_error(e, reset, ra);

	json_decref(e);
	return (rc);
}

int
main(void)
{
	struct warp_quota_reading	 r;
	struct warp_quota_view		 v;
	struct warp_state		*st;
	struct warp_config		 wc;
	struct warp_cooldown_failure	 fl;
	time_t				 reset;
	long long			 ra;
	char				*why, *note, *cause = NULL, *warning = NULL;
	char				 home[] = "/tmp/test-warp-quota.XXXXXX";
	char				*path;
	const char			*want;
	FILE				*f;

	TEST_START("RFC 3339 times: Z, fractions, offsets; malformed ones");
	ASSERT_INT_EQ((long long)warp_quota_parse_time("2027-01-15T08:00:00Z"),
	    (long long)NOW);
	ASSERT_INT_EQ((long long)warp_quota_parse_time(
	    "2027-01-15T08:00:00.123Z"), (long long)NOW);
	ASSERT_INT_EQ((long long)warp_quota_parse_time(
	    "2027-01-15T10:00:00+02:00"), (long long)NOW);
	ASSERT_INT_EQ((long long)warp_quota_parse_time(
	    "2027-01-15T03:30:00-04:30"), (long long)NOW);
	ASSERT_INT_EQ((long long)warp_quota_parse_time("2027-01-15T08:00:00"),
	    -1);
	ASSERT_INT_EQ((long long)warp_quota_parse_time("tomorrow"), -1);
	ASSERT_INT_EQ((long long)warp_quota_parse_time("2027-13-15T08:00:00Z"),
	    -1);
	ASSERT_INT_EQ((long long)warp_quota_parse_time(NULL), -1);
	TEST_DONE();

	TEST_START("ISO 8601 durations with fixed units; months refused");
	ASSERT_INT_EQ(warp_quota_parse_duration("PT5H"), 5 * 3600);
	ASSERT_INT_EQ(warp_quota_parse_duration("P1DT30M"), 86400 + 1800);
	ASSERT_INT_EQ(warp_quota_parse_duration("P2W"), 14 * 86400);
	ASSERT_INT_EQ(warp_quota_parse_duration("PT1.5S"), 1);
	ASSERT_INT_EQ(warp_quota_parse_duration("P1M"), -1);
	ASSERT_INT_EQ(warp_quota_parse_duration("PT"), -1);
	ASSERT_INT_EQ(warp_quota_parse_duration("5H"), -1);
	ASSERT_INT_EQ(warp_quota_parse_duration("PT-5S"), -1);
	TEST_DONE();

	TEST_START("a reset is believed from now to 31 days ahead");
	ASSERT_INT_EQ((long long)warp_quota_believe(NOW + 60, NOW),
	    (long long)NOW + 60);
	ASSERT_INT_EQ((long long)warp_quota_believe(NOW + 31 * 86400, NOW),
	    (long long)NOW + 31 * 86400);
	ASSERT_INT_EQ((long long)warp_quota_believe(NOW + 31 * 86400 + 1, NOW),
	    0);
	ASSERT_INT_EQ((long long)warp_quota_believe(NOW, NOW), 0);
	ASSERT_INT_EQ((long long)warp_quota_believe(NOW - 1, NOW), 0);
	TEST_DONE();

	TEST_START("quota_update: pools that apply, shares, exceeded, exhausted pool");
	ASSERT_INT_EQ(parse("{\"sessionUpdate\":\"quota_update\","
	    "\"updatedAt\":\"2027-01-15T07:00:00Z\",\"pools\":["
	    "{\"id\":\"plan\",\"state\":\"available\",\"meters\":["
	    "{\"id\":\"a\",\"usedPercent\":42.5,\"resetsAt\":"
	    "\"2027-01-15T12:00:00Z\"},"
	    "{\"id\":\"b\",\"used\":{\"value\":\"30\"},\"limit\":{\"value\":\"120\"}},"
	    "{\"id\":\"c\",\"remaining\":{\"value\":\"90\"},\"limit\":{\"value\":\"100\"}},"
	    "{\"id\":\"d\",\"status\":\"exceeded\"},"
	    "{\"id\":\"e\",\"remaining\":{\"value\":\"0\"}}]},"
	    "{\"id\":\"x\",\"state\":\"not_permitted\",\"meters\":["
	    "{\"id\":\"m\",\"usedPercent\":100}]},"
	    "{\"id\":\"credits\",\"state\":\"exhausted\",\"meters\":[]}]}", &r), 1);
	ASSERT_INT_EQ(r.snapshot, 1);
	ASSERT_STR_EQ(r.updated_at, "2027-01-15T07:00:00Z");
	ASSERT_INT_EQ((long long)r.nm, 6);
	if (r.nm == 6) {
		ASSERT_STR_EQ(r.m[0].id, "plan/a");
		ASSERT_TRUE(r.m[0].used == 42.5 && !r.m[0].exhausted);
		ASSERT_INT_EQ((long long)r.m[0].reset, (long long)NOW + 4 * 3600);
		ASSERT_INT_EQ((long long)r.m[0].until, (long long)NOW + 4 * 3600);
		ASSERT_TRUE(r.m[1].used == 25);
		ASSERT_TRUE(r.m[2].used == 10);
		ASSERT_TRUE(r.m[3].exhausted && r.m[3].used == 100);
		ASSERT_INT_EQ((long long)r.m[3].until, (long long)NOW + HOLD);
		ASSERT_TRUE(r.m[4].exhausted);
		ASSERT_STR_EQ(r.m[5].id, "credits");
		ASSERT_TRUE(r.m[5].exhausted);
	}
	warp_quota_reading_clear(&r);
	TEST_DONE();

	TEST_START("Claude's window: fraction, epoch reset, rejected");
	ASSERT_INT_EQ(parse("{\"sessionUpdate\":\"usage_update\",\"used\":1,"
	    "\"size\":2,\"_meta\":{\"_claude/rateLimit\":{\"status\":"
	    "\"allowed_warning\",\"resetsAt\":1800003600,\"rateLimitType\":"
	    "\"seven_day\",\"utilization\":0.91}}}", &r), 1);
	ASSERT_INT_EQ(r.snapshot, 0);
	ASSERT_INT_EQ((long long)r.nm, 1);
	if (r.nm == 1) {
		ASSERT_STR_EQ(r.m[0].id, "seven_day");
		ASSERT_TRUE(r.m[0].used == 91 && !r.m[0].exhausted);
		ASSERT_INT_EQ((long long)r.m[0].reset, (long long)NOW + 3600);
	}
	warp_quota_reading_clear(&r);
	ASSERT_INT_EQ(parse("{\"sessionUpdate\":\"usage_update\",\"_meta\":"
	    "{\"_claude/rateLimit\":{\"status\":\"rejected\"}}}", &r), 1);
	ASSERT_TRUE(r.nm == 1 && r.m[0].exhausted && r.m[0].used == 100);
	ASSERT_STR_EQ(r.nm == 1 ? r.m[0].id : "", "rate_limit");
	warp_quota_reading_clear(&r);
	ASSERT_INT_EQ(parse("{\"sessionUpdate\":\"usage_update\",\"used\":1,"
	    "\"size\":2}", &r), 0);
	ASSERT_INT_EQ(parse("{\"sessionUpdate\":\"agent_message_chunk\","
	    "\"content\":{\"type\":\"text\",\"text\":\"hi\"}}", &r), 0);
	TEST_DONE();

	TEST_START("bad values: ignored, clamped, never believed");
	ASSERT_INT_EQ(parse("{\"sessionUpdate\":\"usage_update\",\"_meta\":"
	    "{\"_claude/rateLimit\":{\"status\":\"allowed\",\"utilization\":-1,"
	    "\"resetsAt\":1800003600}}}", &r), 0);
	ASSERT_INT_EQ(parse("{\"sessionUpdate\":\"usage_update\",\"_meta\":"
	    "{\"_claude/rateLimit\":{\"utilization\":7,\"resetsAt\":1e15}}}",
	    &r), 1);
	ASSERT_TRUE(r.nm == 1 && r.m[0].used == 100 && r.m[0].exhausted &&
	    r.m[0].reset == 0 && r.m[0].until == NOW + HOLD);
	warp_quota_reading_clear(&r);
	ASSERT_INT_EQ(parse("{\"sessionUpdate\":\"quota_update\",\"pools\":7}",
	    &r), 0);
	ASSERT_INT_EQ(parse("{\"sessionUpdate\":\"quota_update\",\"pools\":["
	    "{\"id\":\"p\",\"meters\":[{\"id\":\"n\",\"usedPercent\":-1},"
	    "{\"id\":\"s\",\"usedPercent\":\"9\"},{\"id\":\"old\","
	    "\"usedPercent\":5,\"resetsAt\":\"2020-01-01T00:00:00Z\"},"
	    "{\"id\":\"far\",\"usedPercent\":5,\"resetsAt\":"
	    "\"2030-01-01T00:00:00Z\"},{\"id\":\"q\",\"used\":{\"value\":"
	    "\"1e999\"},\"limit\":{\"value\":\"x\"}}]}]}", &r), 1);
	ASSERT_INT_EQ((long long)r.nm, 2);
	ASSERT_TRUE(r.nm == 2 && r.m[0].reset == 0 && r.m[1].reset == 0 &&
	    r.m[1].until == NOW + HOLD);
	warp_quota_reading_clear(&r);
	ASSERT_INT_EQ(parse("{\"sessionUpdate\":\"quota_update\",\"pools\":[]}",
	    &r), 1);	/* an empty snapshot: every pool is gone */
	ASSERT_INT_EQ((long long)r.nm, 0);
	warp_quota_reading_clear(&r);
	TEST_DONE();

	TEST_START("quotaExceeded: code or data; resetsAt, else retryAfter");
	ASSERT_INT_EQ(error_of("{\"code\":-32003,\"message\":\"limit\"}", &reset,
	    &ra), 1);
	ASSERT_TRUE(reset == 0 && ra == 0);
	ASSERT_INT_EQ(error_of("{\"code\":-32603,\"message\":\"x\",\"data\":"
	    "{\"resetsAt\":\"2027-01-15T09:00:00Z\",\"retryAfter\":\"PT5M\"}}",
	    &reset, &ra), 1);
	ASSERT_TRUE(reset == NOW + 3600 && ra == 0);
	ASSERT_INT_EQ(error_of("{\"code\":-32003,\"message\":\"x\",\"data\":"
	    "{\"poolId\":\"plan\",\"retryAfter\":\"PT2H\"}}", &reset, &ra), 1);
	ASSERT_TRUE(reset == 0 && ra == 7200);
	ASSERT_INT_EQ(error_of("{\"code\":-32603,\"message\":\"Internal error\"}",
	    &reset, &ra), 0);
	TEST_DONE();

	TEST_START("quotaExceeded's retryAfter is a Retry-After: capped");
	memset(&wc, 0, sizeof wc);
	wc.merged = json_object();
	wc.cooldown_s = 900;
	warp_cooldown_load(&wc);
	st = xcalloc(1, sizeof *st);
	memset(&fl, 0, sizeof fl);
	fl.provider = "p";
	fl.model = "m";
	fl.reason = "quota-exhausted";
	fl.retry_after = 7200;
	fl.source = "test";
	ASSERT_INT_EQ(warp_cooldown_record(&wc, st, &fl, NOW, &note), 1);
	ASSERT_TRUE(st->n == 1 && st->v[0].until == NOW + 3600);
	ASSERT_PTR_NOT_NULL(note);
	free(note);
	fl.retry_after = 0;
	fl.reset = NOW + 5 * 86400;	/* a reset is not capped */
	ASSERT_INT_EQ(warp_cooldown_record(&wc, st, &fl, NOW, &note), 1);
	ASSERT_TRUE(st->n == 1 && st->v[0].until == NOW + 5 * 86400);
	free(note);
	warp_state_free(st);
	json_decref(wc.merged);
	TEST_DONE();

	TEST_START("merge: a window its meter, a snapshot all, an older one nothing");
	st = xcalloc(1, sizeof *st);
	parse("{\"sessionUpdate\":\"usage_update\",\"_meta\":{\"_claude/"
	    "rateLimit\":{\"rateLimitType\":\"five_hour\",\"utilization\":0.5,"
	    "\"resetsAt\":1800003600}}}", &r);
	ASSERT_INT_EQ(warp_quota_apply(st, "p", "m", &r, NOW), 1);
	ASSERT_INT_EQ(warp_quota_apply(st, "p", "m", &r, NOW), 0);
	warp_quota_reading_clear(&r);
	parse("{\"sessionUpdate\":\"usage_update\",\"_meta\":{\"_claude/"
	    "rateLimit\":{\"rateLimitType\":\"seven_day\",\"utilization\":0.2,"
	    "\"resetsAt\":1800086400}}}", &r);
	ASSERT_INT_EQ(warp_quota_apply(st, "p", "m", &r, NOW), 1);
	warp_quota_reading_clear(&r);
	ASSERT_INT_EQ((long long)(st->nq == 1 ? st->q[0].nm : 0), 2);
	warp_quota_view(st, "p", "m", NOW, &v);
	ASSERT_TRUE(v.known && v.used == 50 && !v.exhausted);
	ASSERT_STR_EQ(v.meter, "five_hour");
	parse("{\"sessionUpdate\":\"quota_update\",\"updatedAt\":"
	    "\"2027-01-15T07:00:00Z\",\"pools\":[{\"id\":\"plan\",\"meters\":"
	    "[{\"id\":\"w\",\"usedPercent\":80}]}]}", &r);
	ASSERT_INT_EQ(warp_quota_apply(st, "p", "m", &r, NOW), 1);
	warp_quota_reading_clear(&r);
	ASSERT_INT_EQ((long long)st->q[0].nm, 1);
	parse("{\"sessionUpdate\":\"quota_update\",\"updatedAt\":"
	    "\"2027-01-15T06:00:00Z\",\"pools\":[]}", &r);
	ASSERT_INT_EQ(warp_quota_apply(st, "p", "m", &r, NOW), 0);
	warp_quota_reading_clear(&r);
	ASSERT_INT_EQ((long long)st->q[0].nm, 1);
	warp_quota_view(st, "p", "m", NOW, &v);
	ASSERT_TRUE(v.used == 80);
	warp_quota_view(st, "p", "other", NOW, &v);
	ASSERT_INT_EQ(v.known, 0);
	warp_quota_view(st, "p", "m", NOW + HOLD, &v);	/* held, then gone */
	ASSERT_INT_EQ(v.known, 0);
	TEST_DONE();

	TEST_START("reserve: under it skipped, at it not; exhausted always");
	warp_quota_view(st, "p", "m", NOW, &v);
	ASSERT_INT_EQ(warp_quota_skip(&v, 0, &why), 0);
	ASSERT_INT_EQ(warp_quota_skip(&v, 20, &why), 0);
	ASSERT_INT_EQ(warp_quota_skip(&v, 21, &why), 1);
	ASSERT_PTR_NOT_NULL(why);
	want = "quota at 80% (plan/w, under the 21% reserve), reading held "
	    "until ";
	if (why != NULL)
		ASSERT_TRUE(strncmp(why, want, strlen(want)) == 0);
	free(why);
	v.exhausted = 1;
	ASSERT_INT_EQ(warp_quota_skip(&v, 0, &why), 1);
	free(why);
	TEST_DONE();

	TEST_START("state: quotas saved and loaded; an older file loads; bad entries dropped");
	if (mkdtemp(home) == NULL)
		TAP_FAIL("mkdtemp: %s", home);
	ASSERT_INT_EQ(warp_state_save(st, home, NOW, &cause), 0);
	warp_state_free(st);
	st = warp_state_load(home, &warning);
	ASSERT_PTR_NULL(warning);
	ASSERT_INT_EQ((long long)st->nq, 1);
	warp_quota_view(st, "p", "m", NOW, &v);
	ASSERT_TRUE(v.known && v.used == 80 && v.until == NOW + HOLD);
	ASSERT_INT_EQ(warp_state_reset(st, "p", NULL, NULL), 0);
	ASSERT_INT_EQ((long long)st->nq, 0);
	warp_state_free(st);
	path = warp_state_path(home);
	if ((f = fopen(path, "w")) != NULL) {
		fputs("{\"version\":1,\"cooldowns\":[{\"provider\":\"p\","
		    "\"model\":null,\"until\":\"2999-01-01T00:00:00.000Z\","
		    "\"since\":\"2020-01-01T00:00:00.000Z\",\"reason\":"
		    "\"auth-failed\",\"source\":\"fallback\"}]}\n", f);
		fclose(f);
	}
	st = warp_state_load(home, &warning);
	ASSERT_PTR_NULL(warning);
	ASSERT_TRUE(st->n == 1 && st->nq == 0);
	warp_state_free(st);
	if ((f = fopen(path, "w")) != NULL) {	/* edited by hand */
		fputs("{\"version\":1,\"cooldowns\":[],\"quotas\":[7,"
		    "{\"provider\":\"p\",\"at\":\"x\",\"meters\":[]},"
		    "{\"provider\":\"p\",\"model\":\"m\",\"at\":"
		    "\"2027-01-15T08:00:00.000Z\",\"meters\":[{\"id\":\"a\","
		    "\"usedPercent\":\"x\",\"until\":\"2027-01-15T09:00:00."
		    "000Z\"},{\"id\":\"b\",\"usedPercent\":70,\"until\":"
		    "\"2027-01-15T09:00:00.000Z\"}]}]}\n", f);
		fclose(f);
	}
	st = warp_state_load(home, &warning);
	ASSERT_PTR_NOT_NULL(warning);	/* the two bad entries, once */
	ASSERT_TRUE(warning != NULL && strstr(warning, "dropped 2 entries") !=
	    NULL);
	free(warning);
	warning = NULL;
	warp_quota_view(st, "p", "m", NOW, &v);
	ASSERT_TRUE(v.known && v.used == 70);
	ASSERT_STR_EQ(v.meter != NULL ? v.meter : "", "b");
	warp_state_free(st);
	unlink(path);
	free(path);
	xasprintf(&path, "%s/.acpx/warp/state.lock", home);
	unlink(path);
	free(path);
	xasprintf(&path, "%s/.acpx/warp", home);
	rmdir(path);
	free(path);
	xasprintf(&path, "%s/.acpx", home);
	rmdir(path);
	free(path);
	rmdir(home);
	free(cause);
	TEST_DONE();

	return (tap_end());
}
