/*
 * Unit tests for the provider-failure classifier: every fixture under
 * tests/fixtures/provider-errors/ (what each harness emits for a quota,
 * rate-limit, 5xx, auth or billing fault, and task failures that must
 * not fall back), the status-number rule, Retry-After, and config
 * warp.providerErrorPatterns.
 */
#include <config.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "warp-classify.h"
#include "xmalloc.h"
#include "tap.h"

static void
test_fixture(const char *dir, const char *name)
{
	struct warp_turn_end	 te;
	struct warp_verdict	 v;
	json_t			*fx;
	json_error_t		 je;
	const char		*want;
	char			*path, *label;
	int			 hit;

	xasprintf(&path, "%s/%s", dir, name);
	xasprintf(&label, "fixture %s", name);
	TEST_START(label);
	fx = json_load_file(path, 0, &je);
	ASSERT_PTR_NOT_NULL(fx);
	if (fx != NULL) {
		memset(&te, 0, sizeof te);
		te.error = json_object_get(fx, "error");
		te.result = json_object_get(fx, "result");
		te.messages = json_object_get(fx, "messages");
		te.stderr_text = json_string_value(json_object_get(fx, "stderr"));
		want = json_string_value(json_object_get(fx, "expect"));
		hit = warp_classify(&te, &v);
		ASSERT_INT_EQ(hit, want != NULL);
		if (want != NULL) {
			ASSERT_STR_EQ(v.reason, want);
			ASSERT_PTR_NOT_NULL(v.signal);
		} else
			ASSERT_PTR_NULL(v.signal);
		warp_verdict_clear(&v);
		json_decref(fx);
	}
	TEST_DONE();
	free(label);
	free(path);
}

static int
by_name(const struct dirent **a, const struct dirent **b)
{
	return (strcmp((*a)->d_name, (*b)->d_name));
}

static void
test_fixtures(void)
{
	struct dirent	**ents;
	const char	*src = getenv("TESTS_SRCDIR");
	char		*dir;
	int		 n, i, seen = 0, task = 0;

	xasprintf(&dir, "%s/fixtures/provider-errors", src != NULL ? src :
	    "tests");
	n = scandir(dir, &ents, NULL, by_name);
	for (i = 0; i < n; i++) {
		if (strstr(ents[i]->d_name, ".json") != NULL) {
			test_fixture(dir, ents[i]->d_name);
			seen++;
			task += strncmp(ents[i]->d_name, "task-", 5) == 0;
		}
		free(ents[i]);
	}
	if (n > 0)
		free(ents);
	TEST_START("fixtures were found (provider and task ones)");
	ASSERT_TRUE(seen >= 20);
	ASSERT_TRUE(task >= 3);
	TEST_DONE();
	free(dir);
}

static void
test_text(void)
{
	TEST_START("status numbers count only after a keyword");
	ASSERT_INT_EQ(warp_classify_text("HTTP 429", NULL), WARP_FAIL_RATE_LIMIT);
	ASSERT_INT_EQ(warp_classify_text("status: 503", NULL),
	    WARP_FAIL_OVERLOAD);
	ASSERT_INT_EQ(warp_classify_text("main.c line 429: x", NULL),
	    WARP_FAIL_TASK);
	ASSERT_INT_EQ(warp_classify_text("took 5000 ms", NULL), WARP_FAIL_TASK);
	ASSERT_INT_EQ(warp_classify_text("error 4290", NULL), WARP_FAIL_TASK);
	ASSERT_INT_EQ(warp_classify_text("", NULL), WARP_FAIL_TASK);
	ASSERT_INT_EQ(warp_classify_text(NULL, NULL), WARP_FAIL_TASK);
	TEST_DONE();

	TEST_START("quota wins over the 429 that comes with it");
	ASSERT_INT_EQ(warp_classify_text("429 Too Many Requests: "
	    "insufficient_quota", NULL), WARP_FAIL_QUOTA);
	TEST_DONE();

	TEST_START("reason names");
	ASSERT_STR_EQ(warp_fail_reason(WARP_FAIL_QUOTA), "quota-exhausted");
	ASSERT_STR_EQ(warp_fail_reason(WARP_FAIL_OTHER), "provider-error");
	ASSERT_PTR_NULL(warp_fail_reason(WARP_FAIL_TASK));
	TEST_DONE();
}

static void
test_patterns(void)
{
	struct warp_turn_end	 te;
	struct warp_verdict	 v;
	json_t			*arr, *obj, *err;

	arr = json_loads("[\"Kimi says: tokens used up\", {\"pattern\": "
	    "\"BUSY BUSY\", \"reason\": \"overloaded\"}, {\"pattern\": "
	    "\"mystery\", \"reason\": \"nonsense\"}]", 0, NULL);
	obj = json_loads("{\"bank says no\": \"billing\"}", 0, NULL);

	TEST_START("config patterns (array): plain strings and objects");
	ASSERT_INT_EQ(warp_classify_text("error: kimi SAYS: Tokens used up",
	    arr), WARP_FAIL_OTHER);
	ASSERT_INT_EQ(warp_classify_text("busy busy", arr), WARP_FAIL_OVERLOAD);
	ASSERT_INT_EQ(warp_classify_text("a mystery", arr), WARP_FAIL_OTHER);
	ASSERT_INT_EQ(warp_classify_text("tokens used", arr), WARP_FAIL_TASK);
	TEST_DONE();

	TEST_START("config patterns (object): pattern -> reason");
	ASSERT_INT_EQ(warp_classify_text("the bank says no", obj),
	    WARP_FAIL_BILLING);
	TEST_DONE();

	TEST_START("a pattern turns an unknown agent error into a provider one");
	err = json_loads("{\"code\":-32603,\"message\":\"Internal error: "
	    "kimi says: tokens used up; retry-after: 120\"}", 0, NULL);
	memset(&te, 0, sizeof te);
	te.error = err;
	ASSERT_INT_EQ(warp_classify(&te, &v), 0);
	warp_verdict_clear(&v);
	te.patterns = arr;
	ASSERT_INT_EQ(warp_classify(&te, &v), 1);
	ASSERT_STR_EQ(v.reason, "provider-error");
	ASSERT_INT_EQ(v.retry_after, 120);
	ASSERT_STR_EQ(v.signal, "session/prompt error -32603: Internal error: "
	    "kimi says: tokens used up; retry-after: 120");
	warp_verdict_clear(&v);
	TEST_DONE();

	TEST_START("a cancelled request (-32800) is never a provider failure");
	json_decref(err);
	err = json_loads("{\"code\":-32800,\"message\":\"rate limit\"}", 0,
	    NULL);
	te.error = err;
	ASSERT_INT_EQ(warp_classify(&te, &v), 0);
	warp_verdict_clear(&v);
	TEST_DONE();

	TEST_START("an empty end_turn: stderr may name the provider");
	memset(&te, 0, sizeof te);
	te.messages = json_array();
	te.result = json_loads("{\"stopReason\":\"end_turn\"}", 0, NULL);
	te.stderr_text = "upstream: 502 Bad Gateway";
	ASSERT_INT_EQ(warp_classify(&te, &v), 1);
	ASSERT_STR_EQ(v.reason, "overloaded");
	ASSERT_STR_EQ(v.signal, "agent stderr: upstream: 502 Bad Gateway");
	warp_verdict_clear(&v);
	te.stderr_text = "loaded 3 plugins";
	ASSERT_INT_EQ(warp_classify(&te, &v), 0);
	warp_verdict_clear(&v);
	json_decref((json_t *)te.messages);
	json_decref((json_t *)te.result);
	TEST_DONE();

	json_decref(err);
	json_decref(arr);
	json_decref(obj);
}

int
main(void)
{
	test_fixtures();
	test_text();
	test_patterns();
	return (tap_end());
}
