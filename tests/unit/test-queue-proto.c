/*
 * queue-proto: SHA-256 vectors and the queue path names, request
 * validation exactly as the reference's parseQueueRequest, owner message
 * bytes as the reference owner writes them (captured), client-side
 * validation of owner messages, and framing with the cap.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acpx-error.h"
#include "buf.h"
#include "js-json.h"
#include "queue-lease.h"
#include "queue-proto.h"
#include "sha256.h"
#include "xmalloc.h"
#include "tap.h"

static void
check_hex(const char *in, size_t len, const char *want)
{
	char	hex[65];

	sha256_hex(in, len, hex);
	ASSERT_STR_EQ(hex, want);
}

static void
test_sha256(void)
{
	struct sha256_ctx	 ctx;
	unsigned char		 d[32];
	char			*a;
	size_t			 i;

	TEST_START("sha256: FIPS 180-4 vectors");
	check_hex("", 0,
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	check_hex("abc", 3,
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	check_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
	    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	check_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
	    "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu", 112,
	    "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
	/* One million 'a', fed in uneven pieces. */
	a = xmalloc(1000000);
	memset(a, 'a', 1000000);
	sha256_init(&ctx);
	for (i = 0; i < 1000000; i += 997)
		sha256_update(&ctx, a + i, i + 997 > 1000000 ? 1000000 - i : 997);
	sha256_final(&ctx, d);
	ASSERT_INT_EQ(d[0], 0xcd);
	ASSERT_INT_EQ(d[1], 0xc7);
	ASSERT_INT_EQ(d[31], 0xd0);
	free(a);
	TEST_DONE();

	TEST_START("queue names: the spec's captured key and socket dir");
	a = queue_lease_key("cfcdc237-66b2-4443-920c-c97e232f5818");
	ASSERT_STR_EQ(a, "f119e33af131a88b8a4ba349");
	free(a);
	setenv("HOME", "/home/user", 1);
	a = queue_lease_socket_dir();
	ASSERT_STR_EQ(a, "/tmp/acpx-b98d692c45");
	free(a);
	a = queue_lease_socket_path("cfcdc237-66b2-4443-920c-c97e232f5818");
	ASSERT_STR_EQ(a, "/tmp/acpx-b98d692c45/f119e33af131a88b8a4ba349.sock");
	free(a);
	a = queue_lease_path("cfcdc237-66b2-4443-920c-c97e232f5818");
	ASSERT_STR_EQ(a,
	    "/home/user/.acpx/queues/f119e33af131a88b8a4ba349.lock");
	free(a);
	TEST_DONE();

	TEST_START("queue names: ISO times as Date.parse reads them");
	ASSERT_INT_EQ(queue_lease_parse_iso("1970-01-01T00:00:01.500Z"), 1500);
	ASSERT_INT_EQ(queue_lease_parse_iso("2026-11-21T05:22:25.616Z"),
	    1795238545616LL);
	ASSERT_INT_EQ(queue_lease_parse_iso("1970-01-01T00:00:02Z"), 2000);
	ASSERT_INT_EQ(queue_lease_parse_iso("garbage"), -1);
	ASSERT_INT_EQ(queue_lease_parse_iso("2026-11-21T05:22:25.616"), -1);
	TEST_DONE();
}

/* Parse a request and return its detail (NULL when valid). */
static const char *
req_detail(const char *line)
{
	struct queue_request	*r;
	const char		*detail;

	r = queue_request_parse(line, strlen(line), &detail);
	queue_request_free(r);
	return (detail);
}

static char *
dump(const json_t *v)
{
	return (queue_proto_line(v, NULL));
}

static void
test_requests(void)
{
	struct queue_request	*r;
	const char		*detail;
	char			*s;
	json_t			*j;
	static const char	 cli[] = "{\"type\":\"submit_prompt\","
	    "\"requestId\":\"ebb64755-f81e-4005-ad1d-558dbcf6c49b\","
	    "\"ownerGeneration\":168665929185505,\"message\":\"echo payload\","
	    "\"prompt\":[{\"type\":\"text\",\"text\":\"echo payload\"}],"
	    "\"permissionMode\":\"approve-all\","
	    "\"nonInteractivePermissions\":\"fail\","
	    "\"suppressSdkConsoleErrors\":false,\"promptRetries\":0,"
	    "\"waitForCompletion\":true,\"sessionOptions\":{\"model\":\"m1\"}}";

	static const char	 lean[] = "{\"type\":\"submit_prompt\","
	    "\"requestId\":\"r\",\"message\":\"m\",\"permissionMode\":"
	    "\"approve-all\",\"waitForCompletion\":true,"
	    "\"resultWithoutRecord\":true}";
	static const char	 merged[] = "{\"type\":\"submit_prompt\","
	    "\"requestId\":\"r\",\"message\":\"m\",\"permissionMode\":"
	    "\"approve-all\",\"waitForCompletion\":true,"
	    "\"mergeTextChunks\":true}";

	TEST_START("requests: resultWithoutRecord (acpx-native) round-trips");
	r = queue_request_parse(lean, sizeof lean - 1, &detail);
	ASSERT_PTR_NOT_NULL(r);
	if (r != NULL) {
		ASSERT_INT_EQ(r->no_record, 1);
		j = queue_request_json(r);
		ASSERT_TRUE(json_is_true(json_object_get(j,
		    "resultWithoutRecord")));
		json_decref(j);
		r->no_record = 0;
		j = queue_request_json(r);
		ASSERT_PTR_NULL(json_object_get(j, "resultWithoutRecord"));
		json_decref(j);
	}
	queue_request_free(r);
	ASSERT_PTR_NOT_NULL(req_detail("{\"type\":\"submit_prompt\","
	    "\"requestId\":\"r\",\"message\":\"m\",\"permissionMode\":"
	    "\"approve-all\",\"waitForCompletion\":true,"
	    "\"resultWithoutRecord\":\"yes\"}"));
	TEST_DONE();

	TEST_START("requests: mergeTextChunks (acpx-native) round-trips");
	r = queue_request_parse(merged, sizeof merged - 1, &detail);
	ASSERT_PTR_NOT_NULL(r);
	if (r != NULL) {
		ASSERT_INT_EQ(r->merge_chunks, 1);
		j = queue_request_json(r);
		ASSERT_TRUE(json_is_true(json_object_get(j, "mergeTextChunks")));
		json_decref(j);
		r->merge_chunks = 0;
		j = queue_request_json(r);
		ASSERT_PTR_NULL(json_object_get(j, "mergeTextChunks"));
		json_decref(j);
	}
	queue_request_free(r);
	r = queue_request_parse(lean, sizeof lean - 1, &detail);
	ASSERT_TRUE(r != NULL && r->merge_chunks == 0);
	queue_request_free(r);
	ASSERT_PTR_NOT_NULL(req_detail("{\"type\":\"submit_prompt\","
	    "\"requestId\":\"r\",\"message\":\"m\",\"permissionMode\":"
	    "\"approve-all\",\"waitForCompletion\":true,"
	    "\"mergeTextChunks\":1}"));
	TEST_DONE();

	TEST_START("requests: the reference CLI's submit_prompt round-trips");
	r = queue_request_parse(cli, strlen(cli), &detail);
	ASSERT_PTR_NOT_NULL(r);
	if (r != NULL) {
		ASSERT_INT_EQ(r->type, QUEUE_REQ_SUBMIT);
		ASSERT_INT_EQ(r->owner_generation, 168665929185505LL);
		ASSERT_INT_EQ(r->perm_mode, ACPX_PERM_APPROVE_ALL);
		ASSERT_INT_EQ(r->nonint, ACPX_NONINT_FAIL);
		ASSERT_INT_EQ(r->wait, 1);
		ASSERT_INT_EQ(r->prompt_retries, 0);
		j = queue_request_json(r);
		s = dump(j);
		s[strlen(s) - 1] = '\0';
		ASSERT_STR_EQ(s, cli);
		free(s);
		json_decref(j);
	}
	queue_request_free(r);
	TEST_DONE();

	TEST_START("requests: defaults (text prompt from message, rounding)");
	s = "{\"type\":\"submit_prompt\",\"requestId\":\"r\",\"message\":\"hi\","
	    "\"permissionMode\":\"approve-reads\",\"waitForCompletion\":false,"
	    "\"timeoutMs\":1500.4,\"promptRetries\":1.5,"
	    "\"ownerGeneration\":5.0}";
	r = queue_request_parse(s, strlen(s), &detail);
	ASSERT_PTR_NOT_NULL(r);
	if (r != NULL) {
		s = dump(r->prompt);
		ASSERT_STR_EQ(s, "[{\"type\":\"text\",\"text\":\"hi\"}]\n");
		free(s);
		ASSERT_INT_EQ(r->timeout_ms, 1500);
		ASSERT_INT_EQ(r->prompt_retries, 2);
		ASSERT_INT_EQ(r->owner_generation, 5);
		ASSERT_INT_EQ(r->wait, 0);
		ASSERT_INT_EQ(r->nonint, -1);
		ASSERT_INT_EQ(r->no_fallback, 0);
	}
	queue_request_free(r);
	TEST_DONE();

	TEST_START("requests: noFallback (acpx-native's --no-fallback)");
	s = "{\"type\":\"submit_prompt\",\"requestId\":\"r\",\"message\":\"hi\","
	    "\"prompt\":[{\"type\":\"text\",\"text\":\"hi\"}],"
	    "\"permissionMode\":\"approve-reads\",\"waitForCompletion\":true,"
	    "\"noFallback\":true}";
	r = queue_request_parse(s, strlen(s), &detail);
	ASSERT_PTR_NOT_NULL(r);
	if (r != NULL) {
		ASSERT_INT_EQ(r->no_fallback, 1);
		j = queue_request_json(r);
		s = dump(j);
		ASSERT_PTR_NOT_NULL(strstr(s, ",\"noFallback\":true}"));
		free(s);
		json_decref(j);
	}
	queue_request_free(r);
	ASSERT_STR_EQ(req_detail("{\"type\":\"submit_prompt\",\"requestId\":"
	    "\"r\",\"message\":\"hi\",\"permissionMode\":\"approve-reads\","
	    "\"waitForCompletion\":true,\"noFallback\":\"yes\"}"),
	    QUEUE_BAD_REQUEST);
	TEST_DONE();

	TEST_START("requests: invalid JSON and invalid shapes");
	ASSERT_STR_EQ(req_detail("not json"), QUEUE_BAD_JSON);
	ASSERT_STR_EQ(req_detail("{\"type\":"), QUEUE_BAD_JSON);
	ASSERT_STR_EQ(req_detail("[1]"), QUEUE_BAD_REQUEST);
	ASSERT_STR_EQ(req_detail("{\"type\":\"bogus\",\"requestId\":\"r\"}"),
	    QUEUE_BAD_REQUEST);
	ASSERT_STR_EQ(req_detail("{\"type\":\"cancel_prompt\"}"),
	    QUEUE_BAD_REQUEST);
	ASSERT_STR_EQ(req_detail("{\"type\":\"cancel_prompt\",\"requestId\":1}"),
	    QUEUE_BAD_REQUEST);
	ASSERT_STR_EQ(req_detail("{\"type\":\"cancel_prompt\",\"requestId\":"
	    "\"r\",\"ownerGeneration\":-1}"), QUEUE_BAD_REQUEST);
	ASSERT_STR_EQ(req_detail("{\"type\":\"cancel_prompt\",\"requestId\":"
	    "\"r\",\"ownerGeneration\":1.5}"), QUEUE_BAD_REQUEST);
	ASSERT_STR_EQ(req_detail("{\"type\":\"cancel_prompt\",\"requestId\":"
	    "\"r\",\"targetRequestId\":\" \"}"), QUEUE_BAD_REQUEST);
	ASSERT_STR_EQ(req_detail("{\"type\":\"set_mode\",\"requestId\":\"r\","
	    "\"modeId\":\"\"}"), QUEUE_BAD_REQUEST);
	ASSERT_STR_EQ(req_detail("{\"type\":\"set_config_option\",\"requestId\":"
	    "\"r\",\"configId\":\"k\"}"), QUEUE_BAD_REQUEST);
	/* submit_prompt: required fields and typed optionals. */
	ASSERT_STR_EQ(req_detail("{\"type\":\"submit_prompt\",\"requestId\":"
	    "\"r\",\"message\":\"m\",\"permissionMode\":\"approve-reads\"}"),
	    QUEUE_BAD_REQUEST);
	ASSERT_STR_EQ(req_detail("{\"type\":\"submit_prompt\",\"requestId\":"
	    "\"r\",\"message\":\"m\",\"permissionMode\":\"yolo\","
	    "\"waitForCompletion\":true}"), QUEUE_BAD_REQUEST);
	ASSERT_STR_EQ(req_detail("{\"type\":\"submit_prompt\",\"requestId\":"
	    "\"r\",\"message\":\"m\",\"permissionMode\":\"deny-all\","
	    "\"waitForCompletion\":true,\"prompt\":[{\"type\":\"image\","
	    "\"mimeType\":\"image/png\",\"data\":\"abc\"}]}"), QUEUE_BAD_REQUEST);
	ASSERT_STR_EQ(req_detail("{\"type\":\"submit_prompt\",\"requestId\":"
	    "\"r\",\"message\":\"m\",\"permissionMode\":\"deny-all\","
	    "\"waitForCompletion\":true,\"sessionOptions\":{\"model\":\" \"}}"),
	    QUEUE_BAD_REQUEST);
	ASSERT_STR_EQ(req_detail("{\"type\":\"submit_prompt\",\"requestId\":"
	    "\"r\",\"message\":\"m\",\"permissionMode\":\"deny-all\","
	    "\"waitForCompletion\":true,\"permissionPolicy\":"
	    "{\"defaultAction\":\"maybe\"}}"), QUEUE_BAD_REQUEST);
	ASSERT_PTR_NULL(req_detail("{\"type\":\"submit_prompt\",\"requestId\":"
	    "\"r\",\"message\":\"m\",\"permissionMode\":\"deny-all\","
	    "\"waitForCompletion\":true,\"prompt\":[{\"type\":\"image\","
	    "\"mimeType\":\"image/png\",\"data\":\"aGk=\"},{\"type\":"
	    "\"resource_link\",\"uri\":\"file:///x\",\"name\":\"x\"}],"
	    "\"permissionPolicy\":{\"autoApprove\":[\"read\"],"
	    "\"defaultAction\":\"deny\"}}"));
	ASSERT_PTR_NULL(req_detail("{\"type\":\"close_session\",\"requestId\":"
	    "\"r\"}"));
	TEST_DONE();

	TEST_START("requests: controls serialise as the reference client's");
	s = "{\"type\":\"set_config_option\",\"requestId\":\"c-1\","
	    "\"ownerGeneration\":7,\"configId\":\"effort\",\"value\":"
	    "\"high\",\"timeoutMs\":5000}";
	r = queue_request_parse(s, strlen(s), &detail);
	ASSERT_PTR_NOT_NULL(r);
	if (r != NULL) {
		j = queue_request_json(r);
		s = dump(j);
		ASSERT_STR_EQ(s, "{\"type\":\"set_config_option\",\"requestId\":"
		    "\"c-1\",\"ownerGeneration\":7,\"configId\":\"effort\","
		    "\"value\":\"high\",\"timeoutMs\":5000}\n");
		free(s);
		json_decref(j);
	}
	queue_request_free(r);
	TEST_DONE();
}

static void
test_owner_messages(void)
{
	json_t			*j, *resp;
	char			*s;
	struct acpx_error	*e;
	const long long		 G = 47405239175760LL;

	TEST_START("owner messages: bytes as the reference owner writes them");
	j = queue_msg_simple(QUEUE_MSG_ACCEPTED, "req-1", G);
	s = dump(j);
	ASSERT_STR_EQ(s, "{\"type\":\"accepted\",\"requestId\":\"req-1\","
	    "\"ownerGeneration\":47405239175760}\n");
	free(s);
	json_decref(j);

	j = queue_msg_queue_error("unknown", G,
	    "QUEUE_REQUEST_PAYLOAD_INVALID_JSON", 0,
	    "Invalid queue request payload");
	s = dump(j);
	ASSERT_STR_EQ(s, "{\"type\":\"error\",\"requestId\":\"unknown\","
	    "\"ownerGeneration\":47405239175760,\"code\":\"RUNTIME\","
	    "\"detailCode\":\"QUEUE_REQUEST_PAYLOAD_INVALID_JSON\",\"origin\":"
	    "\"queue\",\"retryable\":false,\"message\":\"Invalid queue request "
	    "payload\"}\n");
	free(s);
	json_decref(j);

	e = acpx_error_new(ACPX_CODE_RUNTIME, "QUEUE_CONTROL_REQUEST_FAILED",
	    "queue", "Cannot set model \"x\"");
	j = queue_msg_error("m3", e, -1, G);
	s = dump(j);
	ASSERT_STR_EQ(s, "{\"type\":\"error\",\"requestId\":\"m3\",\"code\":"
	    "\"RUNTIME\",\"detailCode\":\"QUEUE_CONTROL_REQUEST_FAILED\","
	    "\"origin\":\"queue\",\"message\":\"Cannot set model \\\"x\\\"\","
	    "\"ownerGeneration\":47405239175760}\n");
	free(s);
	json_decref(j);
	acpx_error_free(e);

	j = queue_msg_bool(QUEUE_MSG_CANCEL_RESULT, "c1", 0, G);
	s = dump(j);
	ASSERT_STR_EQ(s, "{\"type\":\"cancel_result\",\"requestId\":\"c1\","
	    "\"cancelled\":false,\"ownerGeneration\":47405239175760}\n");
	free(s);
	json_decref(j);

	resp = json_pack("{s:[]}", "configOptions");
	j = queue_msg_set_config("m2", resp, G);
	json_decref(resp);
	s = dump(j);
	ASSERT_STR_EQ(s, "{\"type\":\"set_config_option_result\",\"requestId\":"
	    "\"m2\",\"response\":{\"configOptions\":[]},\"ownerGeneration\":"
	    "47405239175760}\n");
	free(s);
	json_decref(j);
	TEST_DONE();
}

/* One message spliced into its event frame: the bytes of the whole event. */
static void
check_frame(const char *rid, int outbound, const char *message, long long gen)
{
	json_t	*m, *ev;
	char	*want, *frame, *text;
	size_t	 at, len;
	struct buf b = BUF_INITIALIZER;

	m = json_loads(message, JSON_DECODE_ANY, NULL);
	ASSERT_TRUE(m != NULL);
	ev = queue_msg_event(rid, outbound, m, gen);
	want = dump(ev);
	frame = queue_msg_event_frame(rid, outbound, gen, &at, &len);
	ASSERT_TRUE(at != (size_t)-1 && at < len && len == strlen(frame));
	text = js_json_dumps(m, 0);
	buf_add(&b, frame, at);
	buf_adds(&b, text);
	buf_add(&b, frame + at, len - at);
	ASSERT_STR_EQ(b.p, want);
	buf_free(&b);
	free(text);
	free(frame);
	free(want);
	json_decref(ev);
	json_decref(m);
}

static void
test_event_frame(void)
{
	json_t	*o, *slot, *inner;
	char	*s;
	size_t	 at;

	TEST_START("owner messages: an event framed around its serialised message");
	check_frame("req-1", 0, "{\"jsonrpc\":\"2.0\",\"method\":"
	    "\"session/update\",\"params\":{\"sessionId\":\"s\",\"update\":"
	    "{\"sessionUpdate\":\"agent_message_chunk\",\"content\":{\"type\":"
	    "\"text\",\"text\":\"a\\\"b\\n\\u0001\\u00e9\"}}}}",
	    47405239175760LL);
	check_frame("r\"2", 1, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":"
	    "\"session/prompt\",\"params\":{\"2\":1,\"1\":[1.5,null,true]}}", 1);
	check_frame("r3", 0, "{\"jsonrpc\":\"2.0\",\"id\":4,\"result\":{}}", 0);
	/* The split serializer: a nested slot, and one that is not there. */
	slot = json_object();
	inner = json_pack("{s:O, s:i}", "x", slot, "y", 2);
	o = json_pack("{s:[i, o]}", "10", 1, inner);
	s = js_json_dumps_split(o, slot, &at);
	ASSERT_STR_EQ(s, "{\"10\":[1,{\"x\":,\"y\":2}]}");
	ASSERT_TRUE(at == strlen("{\"10\":[1,{\"x\":"));
	free(s);
	s = js_json_dumps_split(o, json_null(), &at);
	ASSERT_TRUE(at == (size_t)-1);
	free(s);
	json_decref(o);
	json_decref(slot);
	TEST_DONE();
}

/* Parse an owner line and return its detail (NULL when valid). */
static const char *
msg_detail(const char *line)
{
	struct queue_msg	*m;
	const char		*detail;

	m = queue_msg_parse(line, strlen(line), &detail);
	queue_msg_free(m);
	return (detail);
}

static void
test_client_parse(void)
{
	struct queue_msg	*m;
	struct acpx_error	*e;
	const char		*detail, *line;

	TEST_START("client: event, error and result validation");
	line = "{\"type\":\"event\",\"requestId\":\"r\",\"direction\":"
	    "\"inbound\",\"message\":{\"jsonrpc\":\"2.0\",\"id\":4,\"result\":"
	    "{\"stopReason\":\"end_turn\"}},\"ownerGeneration\":9}";
	m = queue_msg_parse(line, strlen(line), &detail);
	ASSERT_PTR_NOT_NULL(m);
	if (m != NULL) {
		ASSERT_INT_EQ(m->type, QUEUE_MSG_EVENT);
		ASSERT_INT_EQ(m->direction, 0);
		ASSERT_INT_EQ(m->owner_generation, 9);
	}
	queue_msg_free(m);
	/* Bad UTF-8 is replaced as Node decodes it, with a huge number too. */
	line = "{\"type\":\"event\",\"requestId\":\"r\",\"message\":"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"params\":{\"n\":"
	    "123456789012345678901234567890,\"t\":\"a\xff\xc3" "b\"}},"
	    "\"ownerGeneration\":9}";
	m = queue_msg_parse(line, strlen(line), &detail);
	ASSERT_PTR_NOT_NULL(m);
	if (m != NULL) {
		ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(
		    m->message, "params"), "t")), "a\xef\xbf\xbd\xef\xbf\xbd" "b");
		ASSERT_TRUE(json_is_real(json_object_get(json_object_get(
		    m->message, "params"), "n")));
	}
	queue_msg_free(m);
	ASSERT_STR_EQ(msg_detail("{\"a\":\"\xff\"\xff"),
	    QUEUE_PROTO_INVALID_JSON);
	ASSERT_STR_EQ(msg_detail("{oops"), QUEUE_PROTO_INVALID_JSON);
	ASSERT_STR_EQ(msg_detail("{\"type\":\"event\",\"requestId\":\"r\","
	    "\"message\":{\"jsonrpc\":\"1.0\",\"method\":\"x\"}}"),
	    QUEUE_PROTO_MALFORMED);
	ASSERT_STR_EQ(msg_detail("{\"type\":\"event\",\"requestId\":\"r\","
	    "\"direction\":\"sideways\",\"message\":{\"jsonrpc\":\"2.0\","
	    "\"method\":\"x\"}}"), QUEUE_PROTO_MALFORMED);
	ASSERT_STR_EQ(msg_detail("{\"type\":\"nope\",\"requestId\":\"r\"}"),
	    QUEUE_PROTO_MALFORMED);
	ASSERT_STR_EQ(msg_detail("{\"type\":\"result\",\"requestId\":\"r\","
	    "\"result\":{\"stopReason\":\"end_turn\"}}"), QUEUE_PROTO_MALFORMED);
	ASSERT_STR_EQ(msg_detail("{\"type\":\"error\",\"requestId\":\"r\","
	    "\"code\":\"WHAT\",\"origin\":\"queue\",\"message\":\"m\"}"),
	    QUEUE_PROTO_MALFORMED);
	ASSERT_STR_EQ(msg_detail("{\"type\":\"cancel_result\",\"requestId\":"
	    "\"r\",\"cancelled\":\"yes\"}"), QUEUE_PROTO_MALFORMED);
	ASSERT_PTR_NULL(msg_detail("{\"type\":\"result\",\"requestId\":\"r\","
	    "\"result\":{\"stopReason\":\"end_turn\",\"sessionId\":\"s\","
	    "\"permissionStats\":{\"requested\":0,\"approved\":0,\"denied\":0,"
	    "\"cancelled\":0},\"record\":{\"acpxRecordId\":\"s\",\"acpSessionId\":"
	    "\"s\",\"agentCommand\":\"a\",\"cwd\":\"/\",\"createdAt\":\"t\","
	    "\"lastUsedAt\":\"t\",\"updated_at\":\"t\",\"messages\":[],"
	    "\"lastSeq\":3,\"eventLog\":{}},\"resumed\":true}}"));
	/* Without the record (asked for by an acpx-native client). */
	line = "{\"type\":\"result\",\"requestId\":\"r\",\"result\":"
	    "{\"stopReason\":\"end_turn\",\"sessionId\":\"s\","
	    "\"permissionStats\":{\"requested\":0,\"approved\":0,\"denied\":0,"
	    "\"cancelled\":0},\"resumed\":true}}";
	m = queue_msg_parse(line, strlen(line), &detail);
	ASSERT_PTR_NOT_NULL(m);
	if (m != NULL)
		ASSERT_INT_EQ(m->flag, 1);
	queue_msg_free(m);
	ASSERT_STR_EQ(msg_detail("{\"type\":\"result\",\"requestId\":\"r\","
	    "\"result\":{\"stopReason\":\"end_turn\",\"sessionId\":\"s\","
	    "\"permissionStats\":{\"requested\":0,\"approved\":0,\"denied\":0,"
	    "\"cancelled\":0},\"record\":\"s\",\"resumed\":true}}"),
	    QUEUE_PROTO_MALFORMED);

	line = "{\"type\":\"error\",\"requestId\":\"r\",\"ownerGeneration\":1,"
	    "\"code\":\"RUNTIME\",\"detailCode\":\"QUEUE_OWNER_OVERLOADED\","
	    "\"origin\":\"queue\",\"retryable\":true,\"message\":\"Queue owner "
	    "is overloaded (1/1 queued)\"}";
	m = queue_msg_parse(line, strlen(line), &detail);
	ASSERT_PTR_NOT_NULL(m);
	if (m != NULL) {
		e = queue_msg_to_error(m);
		ASSERT_INT_EQ(e->code, ACPX_CODE_RUNTIME);
		ASSERT_STR_EQ(e->detail_code, "QUEUE_OWNER_OVERLOADED");
		ASSERT_INT_EQ(e->retryable, 1);
		ASSERT_STR_EQ(e->message, "Queue owner is overloaded (1/1 queued)");
		acpx_error_free(e);
	}
	queue_msg_free(m);
	TEST_DONE();
}

static void
test_framing(void)
{
	struct queue_framer	*f;
	char			*line, *big;
	size_t			 len;

	TEST_START("framing: split, trim, skip blank lines");
	f = queue_framer_create(64);
	queue_framer_feed(f, "  {\"a\":1}  \n\n\r\n{\"b\"", 19);
	ASSERT_INT_EQ(queue_framer_next(f, &line, &len), QUEUE_FRAME_LINE);
	ASSERT_INT_EQ(len, 7);
	ASSERT_TRUE(memcmp(line, "{\"a\":1}", 7) == 0);
	ASSERT_INT_EQ(queue_framer_next(f, &line, &len), QUEUE_FRAME_NEED_MORE);
	queue_framer_feed(f, ":2}\n", 4);
	ASSERT_INT_EQ(queue_framer_next(f, &line, &len), QUEUE_FRAME_LINE);
	ASSERT_INT_EQ(len, 7);
	queue_framer_free(f);
	TEST_DONE();

	TEST_START("framing: a line over the cap drops the peer, even unterminated");
	f = queue_framer_create(16);
	big = xmalloc(100);
	memset(big, 'x', 100);
	queue_framer_feed(f, big, 100);
	ASSERT_INT_EQ(queue_framer_next(f, &line, &len), QUEUE_FRAME_TOO_LONG);
	queue_framer_feed(f, "\n{}\n", 4);
	ASSERT_INT_EQ(queue_framer_next(f, &line, &len), QUEUE_FRAME_TOO_LONG);
	free(big);
	queue_framer_free(f);
	TEST_DONE();

	TEST_START("framing: ACPX_QUEUE_MAX_REQUEST_BYTES");
	{
		size_t	 lim;
		char	*cause = NULL;

		unsetenv("ACPX_QUEUE_MAX_REQUEST_BYTES");
		ASSERT_INT_EQ(queue_proto_request_limit(&lim, &cause), 0);
		ASSERT_INT_EQ(lim, 0);
		setenv("ACPX_QUEUE_MAX_REQUEST_BYTES", " 4096 ", 1);
		ASSERT_INT_EQ(queue_proto_request_limit(&lim, &cause), 0);
		ASSERT_INT_EQ(lim, 4096);
		setenv("ACPX_QUEUE_MAX_REQUEST_BYTES", "-1", 1);
		ASSERT_INT_EQ(queue_proto_request_limit(&lim, &cause), -1);
		ASSERT_PTR_NOT_NULL(cause);
		free(cause);
		unsetenv("ACPX_QUEUE_MAX_REQUEST_BYTES");
	}
	TEST_DONE();
}

int
main(void)
{
	xmalloc_init();
	test_sha256();
	test_requests();
	test_owner_messages();
	test_event_frame();
	test_client_parse();
	test_framing();
	return (tap_end());
}
