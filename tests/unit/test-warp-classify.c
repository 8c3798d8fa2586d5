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

/* Harnesses whose real signals must be among the captured fixtures. */
static const char	*captured_harnesses[] = {
	"opencode", "claude", "codex", "gemini"
};
static int		 captured_seen[4];

static void
count_captured(const json_t *fx)
{
	const char	*hdr, *h;
	size_t		 i;

	hdr = json_string_value(json_object_get(fx, "_header"));
	h = json_string_value(json_object_get(fx, "harness"));
	if (hdr == NULL || h == NULL || strstr(hdr, "CAPTURED") == NULL ||
	    json_object_get(fx, "expect") == NULL)
		return;
	for (i = 0; i < 4; i++) {
		if (strcmp(h, captured_harnesses[i]) == 0)
			captured_seen[i]++;
	}
}

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
		count_captured(fx);
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
	char		*dir, *label;
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

	for (i = 0; i < 4; i++) {
		xasprintf(&label, "captured provider faults of %s: at least "
		    "four", captured_harnesses[i]);
		TEST_START(label);
		ASSERT_TRUE(captured_seen[i] >= 4);
		TEST_DONE();
		free(label);
	}
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

static int
classify_json(const char *error, const char *messages, const char *result,
    struct warp_verdict *v)
{
	struct warp_turn_end	 te;
	json_t			*e, *m, *r;
	int			 hit;

	memset(&te, 0, sizeof te);
	te.error = e = error != NULL ? json_loads(error, 0, NULL) : NULL;
	te.messages = m = messages != NULL ? json_loads(messages, 0, NULL) :
	    NULL;
	te.result = r = result != NULL ? json_loads(result, 0, NULL) : NULL;
	hit = warp_classify(&te, v);
	json_decref(e);
	json_decref(m);
	json_decref(r);
	return (hit);
}

#define CX_UPD(u)	"{\"jsonrpc\":\"2.0\",\"method\":\"session/update\"," \
	"\"params\":{\"sessionId\":\"s\",\"update\":" u "}}"
#define CX_TEXT(t)	CX_UPD("{\"sessionUpdate\":\"agent_message_chunk\"," \
	"\"content\":{\"type\":\"text\",\"text\":\"" t "\"}}")
#define CX_STATUS(s)	CX_UPD("{\"sessionUpdate\":\"session_info_update\"," \
	"\"_meta\":{\"codex\":{\"threadStatus\":" s "}}}")

static void
test_shapes(void)
{
	struct warp_verdict	 v;

	TEST_START("codex threadStatus as an object {type: systemError}");
	ASSERT_INT_EQ(classify_json(NULL, "[" CX_TEXT("Warning: no model "
	    "metadata\\n\\n") "," CX_STATUS("{\"type\":\"active\"}") ","
	    CX_STATUS("{\"type\":\"systemError\"}") "," CX_TEXT("unexpected "
	    "status 503 Service Unavailable: busy\\n\\n") "]",
	    "{\"stopReason\":\"end_turn\",\"usage\":null}", &v), 1);
	ASSERT_STR_EQ(v.reason, "overloaded");
	/* Only what came after systemError, without the trailing blank. */
	ASSERT_STR_EQ(v.signal, "end_turn with codex threadStatus "
	    "systemError: unexpected status 503 Service Unavailable: busy");
	warp_verdict_clear(&v);
	TEST_DONE();

	TEST_START("codex: an active thread that answered is a task turn");
	ASSERT_INT_EQ(classify_json(NULL, "[" CX_STATUS("{\"type\":\"active\"}")
	    "," CX_TEXT("the build failed: 503 tests, quota exceeded") "]",
	    "{\"stopReason\":\"end_turn\"}", &v), 0);
	ASSERT_PTR_NULL(v.signal);
	warp_verdict_clear(&v);
	TEST_DONE();

	TEST_START("codex systemError without words: the error update's status");
	ASSERT_INT_EQ(classify_json(NULL, "[" CX_UPD("{\"sessionUpdate\":"
	    "\"session_info_update\",\"_meta\":{\"codex\":{\"error\":{"
	    "\"message\":\"Reconnecting... 5/5\",\"codexErrorInfo\":{"
	    "\"responseStreamDisconnected\":{\"httpStatusCode\":429}}}}}}")
	    "," CX_STATUS("\"systemError\"") "," CX_TEXT("oops") "]",
	    "{\"stopReason\":\"end_turn\"}", &v), 1);
	ASSERT_STR_EQ(v.reason, "rate-limited");
	ASSERT_STR_EQ(v.signal, "end_turn with codex threadStatus "
	    "systemError: oops");
	warp_verdict_clear(&v);
	TEST_DONE();

	TEST_START("codex: only agent_message_chunk text is the reply");
	ASSERT_INT_EQ(classify_json(NULL, "[" CX_STATUS("\"systemError\"")
	    "," CX_UPD("{\"sessionUpdate\":\"agent_message\",\"content\":"
	    "{\"type\":\"text\",\"text\":\"503 Service Unavailable\"}}")
	    "," CX_UPD("{\"sessionUpdate\":\"agent_thought_chunk\","
	    "\"content\":{\"type\":\"text\",\"text\":\"429 quota\"}}")
	    "," CX_UPD("{\"sessionUpdate\":7,\"content\":{\"type\":"
	    "\"text\",\"text\":\"rate limit\"}}")
	    "," CX_TEXT("oops") "]", "{\"stopReason\":\"end_turn\"}", &v), 1);
	ASSERT_STR_EQ(v.reason, "provider-error");
	ASSERT_STR_EQ(v.signal, "end_turn with codex threadStatus "
	    "systemError: oops");
	warp_verdict_clear(&v);
	TEST_DONE();

	TEST_START("gemini: the JSON-RPC code is the HTTP status");
	ASSERT_INT_EQ(classify_json("{\"code\":429,\"message\":\"Slow "
	    "down.\"}", NULL, NULL, &v), 1);
	ASSERT_STR_EQ(v.reason, "rate-limited");
	warp_verdict_clear(&v);
	ASSERT_INT_EQ(classify_json("{\"code\":503,\"message\":\"x\"}",
	    NULL, NULL, &v), 1);
	ASSERT_STR_EQ(v.reason, "overloaded");
	warp_verdict_clear(&v);
	/* Ordinary JSON-RPC codes are not statuses. */
	ASSERT_INT_EQ(classify_json("{\"code\":-32602,\"message\":\"Invalid "
	    "params\"}", NULL, NULL, &v), 0);
	warp_verdict_clear(&v);
	ASSERT_INT_EQ(classify_json("{\"code\":400,\"message\":\"Bad "
	    "prompt\"}", NULL, NULL, &v), 0);
	warp_verdict_clear(&v);
	TEST_DONE();

	TEST_START("opencode: an APIError naming nothing known is a provider one");
	ASSERT_INT_EQ(classify_json("{\"code\":-32603,\"message\":\"Internal "
	    "error: nope\",\"data\":{\"errorName\":\"APIError\"}}", NULL,
	    NULL, &v), 1);
	ASSERT_STR_EQ(v.reason, "provider-error");
	warp_verdict_clear(&v);
	ASSERT_INT_EQ(classify_json("{\"code\":-32603,\"message\":\"Internal "
	    "error: nope\",\"data\":{\"errorName\":\"UnknownError\"}}", NULL,
	    NULL, &v), 0);
	warp_verdict_clear(&v);
	TEST_DONE();
}

int
main(void)
{
	test_fixtures();
	test_text();
	test_patterns();
	test_shapes();
	return (tap_end());
}
