/* Unit tests for the normalised error model (src/acpx-error.c). */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acpx-error.h"
#include "acpx.h"
#include "xmalloc.h"
#include "tap.h"

static char *
line_of(const struct acpx_error *err)
{
	json_t	*j = acpx_error_json(err);
	char	*s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);

	json_decref(j);
	return (s);
}

static struct acpx_error *
from_acp(const char *text)
{
	json_t			*j = json_loads(text, 0, NULL);
	struct acpx_error	*e = acpx_error_from_acp(j, NULL, "acp");

	json_decref(j);
	return (e);
}

int
main(void)
{
	struct acpx_error	*e;
	char			*s, *h;

	xmalloc_init();

	TEST_START("exit codes by code");
	e = acpx_error_new(ACPX_CODE_USAGE, NULL, "cli", "x");
	ASSERT_INT_EQ(acpx_error_exit(e), 2);
	e->code = ACPX_CODE_TIMEOUT;
	ASSERT_INT_EQ(acpx_error_exit(e), 3);
	e->code = ACPX_CODE_NO_SESSION;
	ASSERT_INT_EQ(acpx_error_exit(e), 4);
	e->code = ACPX_CODE_PERMISSION_PROMPT_UNAVAILABLE;
	ASSERT_INT_EQ(acpx_error_exit(e), 5);
	e->code = ACPX_CODE_EXEC_DISABLED;
	ASSERT_INT_EQ(acpx_error_exit(e), 1);
	e->code = ACPX_CODE_USAGE;
	e->flags |= ACPX_ERROR_SUBCOMMAND;
	ASSERT_INT_EQ(acpx_error_exit(e), 1);
	acpx_error_free(e);
	TEST_DONE();

	TEST_START("JSON line: fallback data key order, sessionId unknown");
	e = acpx_error_new(ACPX_CODE_TIMEOUT, NULL, "cli", "Timed out after %dms", 1000);
	s = line_of(e);
	ASSERT_STR_EQ(s, "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32070,"
	    "\"message\":\"Timed out after 1000ms\",\"data\":{\"acpxCode\":\"TIMEOUT\","
	    "\"origin\":\"cli\",\"sessionId\":\"unknown\"}}}");
	free(s);
	acpx_error_free(e);
	TEST_DONE();

	TEST_START("JSON line: detail, retryable, session id");
	e = acpx_error_new(ACPX_CODE_RUNTIME, "QUEUE_OWNER_OVERLOADED", "queue",
	    "Queue owner is overloaded (1/1 queued)");
	e->retryable = 1;
	acpx_error_set_session(e, "rec-1");
	s = line_of(e);
	ASSERT_STR_EQ(s, "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32603,"
	    "\"message\":\"Queue owner is overloaded (1/1 queued)\",\"data\":{"
	    "\"acpxCode\":\"RUNTIME\",\"detailCode\":\"QUEUE_OWNER_OVERLOADED\","
	    "\"origin\":\"queue\",\"retryable\":true,\"sessionId\":\"rec-1\"}}}");
	free(s);
	acpx_error_free(e);
	TEST_DONE();

	TEST_START("ACP payload: code/message from ACP, fallback merged under data");
	e = from_acp("{\"code\":-32603,\"message\":\"Internal error\","
	    "\"data\":{\"details\":\"model exploded\",\"acpxCode\":\"X\"}}");
	ASSERT_STR_EQ(e->message, "model exploded");
	ASSERT_INT_EQ(e->code, ACPX_CODE_RUNTIME);
	s = line_of(e);
	ASSERT_STR_EQ(s, "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32603,"
	    "\"message\":\"Internal error\",\"data\":{\"acpxCode\":\"X\",\"origin\":"
	    "\"acp\",\"sessionId\":\"unknown\",\"details\":\"model exploded\"}}}");
	free(s);
	acpx_error_free(e);
	TEST_DONE();

	TEST_START("resource not found upgrades to NO_SESSION");
	e = from_acp("{\"code\":-32002,\"message\":\"Resource not found: session\"}");
	ASSERT_INT_EQ(e->code, ACPX_CODE_NO_SESSION);
	ASSERT_INT_EQ(acpx_error_exit(e), 4);
	acpx_error_free(e);
	e = from_acp("{\"code\":-32603,\"message\":\"Session \\\"abc-1\\\" not found\"}");
	ASSERT_INT_EQ(e->code, ACPX_CODE_NO_SESSION);
	acpx_error_free(e);
	e = from_acp("{\"code\":-32603,\"message\":\"boom\",\"data\":{\"x\":[\"unknown session\"]}}");
	ASSERT_INT_EQ(e->code, ACPX_CODE_NO_SESSION);
	acpx_error_free(e);
	e = from_acp("{\"code\":-32603,\"message\":\"session limit reached\"}");
	ASSERT_INT_EQ(e->code, ACPX_CODE_RUNTIME);
	acpx_error_free(e);
	TEST_DONE();

	TEST_START("AUTH_REQUIRED inferred from -32000 and hint lists methods");
	e = from_acp("{\"code\":-32000,\"message\":\"Authentication required\","
	    "\"data\":{\"methods\":[{\"id\":\"api-key\"},{\"id\":\"chat-gpt\"}]}}");
	ASSERT_STR_EQ(e->detail_code, "AUTH_REQUIRED");
	h = acpx_error_hints(e, "codex");
	ASSERT_STR_EQ(h, "hint: run `acpx config show` to locate the active config, "
	    "then add `auth.api-key` or `auth.chat-gpt` and retry.");
	free(h);
	acpx_error_free(e);
	e = from_acp("{\"code\":-32001,\"message\":\"Authentication required\"}");
	ASSERT_PTR_NULL(e->detail_code);
	acpx_error_free(e);
	TEST_DONE();

	TEST_START("auth hint from message text, three methods");
	e = acpx_error_new(ACPX_CODE_RUNTIME, "AUTH_REQUIRED", "acp",
	    "agent advertised auth methods [a, b, c] but no matching credentials found");
	h = acpx_error_hints(e, "codex");
	ASSERT_STR_EQ(h, "hint: run `acpx config show` to locate the active config, "
	    "then add `auth.a`, `auth.b`, or `auth.c` and retry.");
	free(h);
	acpx_error_free(e);
	TEST_DONE();

	TEST_START("hints: timeout, no-session, rate limit, internal");
	e = acpx_error_new(ACPX_CODE_TIMEOUT, NULL, "cli", "Timed out after 1000ms");
	h = acpx_error_hints(e, "codex");
	ASSERT_STR_EQ(h, "hint: increase `--timeout <seconds>` for long-running "
	    "prompts, or check whether the agent/provider is stalled.");
	free(h);
	acpx_error_free(e);
	e = acpx_error_new(ACPX_CODE_NO_SESSION, NULL, "cli",
	    "No acpx session found.\nCreate one: acpx codex sessions new");
	ASSERT_PTR_NULL(acpx_error_hints(e, "codex"));
	acpx_error_free(e);
	e = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "acp", "HTTP 429 from provider");
	h = acpx_error_hints(e, "codex");
	ASSERT_TRUE(h != NULL && strstr(h, "rate-limited") != NULL);
	free(h);
	acpx_error_free(e);
	e = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "acp", "error 4290 happened");
	ASSERT_PTR_NULL(acpx_error_hints(e, "codex"));
	acpx_error_free(e);
	e = from_acp("{\"code\":-32603,\"message\":\"Internal error\",\"data\":{\"details\":\"model exploded\"}}");
	h = acpx_error_hints(e, "codex");
	ASSERT_STR_EQ(h, "hint: rerun with `--verbose` to capture the underlying ACP error details.");
	free(h);
	acpx_error_free(e);
	TEST_DONE();

	TEST_START("non-object ACP data is used as-is");
	e = from_acp("{\"code\":-32603,\"message\":\"x\",\"data\":\"text\"}");
	s = line_of(e);
	ASSERT_STR_EQ(s, "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32603,"
	    "\"message\":\"x\",\"data\":\"text\"}}");
	free(s);
	acpx_error_free(e);
	TEST_DONE();

	return (tap_end());
}
