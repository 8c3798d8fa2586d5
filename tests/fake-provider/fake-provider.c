/*
 * fake-provider: a tiny HTTP/1.1 model provider for the warp tests.
 *
 *	fake-provider [--record FILE] [--record-text] [--record-times]
 *	    [--models a,b,c]
 *	    [--lifetime SECONDS] [--tool-file PATH]
 *
 * Listens on 127.0.0.1 on a port the kernel picks and prints that port as
 * its first stdout line. The first path segment picks the behaviour, so
 * one server plays many providers (base URL http://127.0.0.1:PORT/<mode>/v1):
 *
 *	ok		200; GET .../models lists --models (OpenAI shape);
 *			POST (chat/completions, messages, :generateContent) 200
 *			(chat/completions with "stream": true: SSE chunks)
 *	auth		401 invalid API key
 *	ratelimit	429 with Retry-After: 120
 *	quota		429 whose body speaks of quota and billing
 *	forbidden	403 without quota words
 *	server		503 upstream overloaded
 *	notfound	404
 *	slow		never answers (the client times out)
 *	big		200 with a 10 MB body
 *	redirect	302 to itself, forever
 *	echokey		401 whose message repeats the bearer key (redaction test)
 *	flaky		the first POST 200 (as ok), every later one 429 with
 *			Retry-After: 120 (a provider that fails midway)
 *	tools		Anthropic Messages API (POST .../v1/messages, JSON or
 *			"stream": true SSE) for a real Claude Code harness: a
 *			request offering the Write tool, whose latest user
 *			prompt naming the file's basename got no tool call
 *			yet, is answered with a tool_use of
 *			Write {file_path: --tool-file, content}; anything else
 *			with the text "done" (end_turn)
 *	ratelimit-1	429 rate limit with Retry-After: 1 (a wait within
 *			warp.maxRetryAfterSeconds: the provider tap lets the
 *			harness retry)
 *	ratelimit-fast	429 rate limit with retry-after-ms: 1: a harness
 *			that honours it (opencode: 5 retries) gives up
 *			within a second instead of minutes
 *	billing, payment, overloaded, nomodel, google-ratelimit,
 *	google-quota, google-auth, google-server, google-nomodel
 *			provider faults in each provider's own shape
 *			(serve_fault)
 *
 * Every request is appended to --record as one JSON line: method, path,
 * authorization, x-api-key, x-goog-api-key and the body's "model"; with
 * --record-text also "text", the text of every chat message of the body
 * ("messages": strings and text parts, one per line), so a test can see
 * what conversation a harness sent; with --record-times also "ms", the
 * wall-clock time the request was read, in milliseconds since the epoch
 * (bench/fallback.sh). The
 * record file holds keys: tests keep it outside the test HOME. A TLS
 * ClientHello gets a few plain bytes and a close (an invalid TLS peer).
 * Exits after
 * --lifetime seconds (default 300) so a lost server never lingers.
 */
#include <config.h>

#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#define MAX_CLIENTS	64
#define MAX_REQUEST	(1024 * 1024)
#define BIG_BODY	(10 * 1024 * 1024)

struct client {
	int	 fd;
	char	*in;
	size_t	 inlen;
	char	*out;
	size_t	 outlen;
	size_t	 outoff;
	int	 hanging;	/* "slow": keep it open, answer nothing */
};

static struct client	 clients[MAX_CLIENTS];
static const char	*record_path;
static int		 record_text;	/* --record-text */
static int		 record_times;	/* --record-times */
static int		 flaky_posts;	/* POSTs seen by "flaky" */
static const char	*models = "kimi-k2.5,glm-5,minimax-m2.5,kimi-for-coding";
static const char	*tool_file;	/* "tools": the path Write is asked to write */

static void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n)) == NULL) {
		perror("realloc");
		exit(1);
	}
	return (p);
}

static void
client_close(struct client *c)
{
	close(c->fd);
	free(c->in);
	free(c->out);
	memset(c, 0, sizeof *c);
	c->fd = -1;
}

/* A header's value (trimmed) from the request head, or NULL. Caller frees. */
static char *
header(const char *head, const char *name)
{
	const char	*p = head, *eol, *v;
	size_t		 nl = strlen(name);

	while ((eol = strstr(p, "\r\n")) != NULL) {
		if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 &&
		    p[nl] == ':') {
			v = p + nl + 1;
			while (*v == ' ')
				v++;
			return (strndup(v, (size_t)(eol - v)));
		}
		p = eol + 2;
	}
	return (NULL);
}

static void
respond(struct client *c, int status, const char *reason, const char *extra,
    const char *body, size_t blen)
{
	char	head[512];
	int	n;

	n = snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\nContent-Type: "
	    "application/json\r\nContent-Length: %zu\r\nConnection: close\r\n"
	    "%s\r\n", status, reason, blen, extra != NULL ? extra : "");
	c->out = xrealloc(NULL, (size_t)n + blen);
	memcpy(c->out, head, (size_t)n);
	memcpy(c->out + n, body, blen);
	c->outlen = (size_t)n + blen;
	c->outoff = 0;
}

static void
respond_json(struct client *c, int status, const char *reason,
    const char *extra, json_t *v)
{
	char	*s = json_dumps(v, JSON_COMPACT);

	respond(c, status, reason, extra, s, strlen(s));
	free(s);
	json_decref(v);
}

static json_t *
error_body(const char *msg, const char *type)
{
	return (json_pack("{s:{s:s, s:s}}", "error", "message", msg, "type",
	    type));
}

/* The text of chat messages, one line per string or text part. */
static json_t *
messages_text(const json_t *msgs)
{
	const json_t	*m, *c, *part;
	char		*buf = NULL;
	size_t		 i, j, len = 0, n;
	const char	*t;
	json_t		*out;

	json_array_foreach(msgs, i, m) {
		c = json_object_get(m, "content");
		for (j = 0; ; j++) {
			if (json_is_string(c))
				t = j == 0 ? json_string_value(c) : NULL;
			else if (json_is_array(c) && (part = json_array_get(c,
			    j)) != NULL)
				t = json_is_string(json_object_get(part, "text")) ?
				    json_string_value(json_object_get(part,
				    "text")) : "";
			else
				t = NULL;
			if (t == NULL)
				break;
			n = strlen(t);
			buf = xrealloc(buf, len + n + 2);
			memcpy(buf + len, t, n);
			len += n;
			buf[len++] = '\n';
			buf[len] = '\0';
		}
	}
	out = json_stringn(buf != NULL ? buf : "", len);
	free(buf);
	return (out);
}

static void
record(const char *method, const char *path, const char *head,
    const char *body, size_t blen)
{
	FILE		*f;
	json_t		*v, *b;
	const char	*names[] = { "authorization", "x-api-key",
	    "x-goog-api-key" };
	char		*h, *s;
	size_t		 i;

	if (record_path == NULL || (f = fopen(record_path, "a")) == NULL)
		return;
	v = json_pack("{s:s, s:s}", "method", method, "path", path);
	if (record_times) {
		struct timespec	ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		json_object_set_new(v, "ms", json_integer((json_int_t)ts.tv_sec *
		    1000 + ts.tv_nsec / 1000000));
	}
	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		if ((h = header(head, names[i])) != NULL) {
			json_object_set_new(v, names[i], json_string(h));
			free(h);
		}
	}
	if (blen > 0 && (b = json_loadb(body, blen, 0, NULL)) != NULL) {
		if (json_is_string(json_object_get(b, "model")))
			json_object_set(v, "model", json_object_get(b, "model"));
		if (record_text && json_is_array(json_object_get(b, "messages")))
			json_object_set_new(v, "text", messages_text(
			    json_object_get(b, "messages")));
		json_decref(b);
	}
	s = json_dumps(v, JSON_COMPACT);
	fprintf(f, "%s\n", s);
	free(s);
	json_decref(v);
	fclose(f);
}

/*
 * The provider faults the harness captures need, in the shape
 * each provider really sends: "billing" (Anthropic's 400 credit balance),
 * "payment" (402), "overloaded" (Anthropic's 529), "nomodel" (OpenAI's 404
 * model_not_found), and "google-<ratelimit|quota|auth|server|nomodel>"
 * (Gemini API errors: {error: {code, message, status}}). 1 if handled.
 */
static int
serve_fault(struct client *c, const char *mode)
{
	static const struct {
		const char	*mode;
		int		 status;
		const char	*reason;
		const char	*extra;
		const char	*body;
	} faults[] = {
		{ "ratelimit-1", 429, "Too Many Requests",
		  "Retry-After: 1\r\n",
		  "{\"error\":{\"message\":\"Rate limit reached for requests "
		  "per minute\",\"type\":\"rate_limit_error\"}}" },
		{ "ratelimit-fast", 429, "Too Many Requests",
		  "retry-after-ms: 1\r\n",
		  "{\"error\":{\"message\":\"Rate limit reached for requests "
		  "per minute\",\"type\":\"rate_limit_error\"}}" },
		{ "billing", 400, "Bad Request", NULL,
		  "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\","
		  "\"message\":\"Your credit balance is too low to access the "
		  "Anthropic API. Please go to Plans & Billing to upgrade or "
		  "purchase credits.\"}}" },
		{ "payment", 402, "Payment Required", NULL,
		  "{\"error\":{\"message\":\"Insufficient Balance\",\"type\":"
		  "\"unknown_error\",\"param\":null,\"code\":\"invalid_request_error\"}}" },
		{ "overloaded", 529, "Overloaded", NULL,
		  "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
		  "\"message\":\"Overloaded\"}}" },
		{ "nomodel", 404, "Not Found", NULL,
		  "{\"error\":{\"message\":\"The model `fake-model` does not exist "
		  "or you do not have access to it.\",\"type\":"
		  "\"invalid_request_error\",\"param\":null,\"code\":"
		  "\"model_not_found\"}}" },
		{ "google-ratelimit", 429, "Too Many Requests",
		  "Retry-After: 120\r\n",
		  "{\"error\":{\"code\":429,\"message\":\"Resource has been "
		  "exhausted (e.g. check quota).\",\"status\":\"RESOURCE_EXHAUSTED\"}}" },
		{ "google-quota", 429, "Too Many Requests", NULL,
		  "{\"error\":{\"code\":429,\"message\":\"You exceeded your current "
		  "quota, please check your plan and billing details.\",\"status\":"
		  "\"RESOURCE_EXHAUSTED\",\"details\":[{\"@type\":\"type.googleapis."
		  "com/google.rpc.QuotaFailure\",\"violations\":[{\"quotaMetric\":"
		  "\"generativelanguage.googleapis.com/generate_content_free_tier_"
		  "requests\",\"quotaId\":\"GenerateRequestsPerDayPerProjectPerModel-"
		  "FreeTier\"}]}]}}" },
		{ "google-auth", 400, "Bad Request", NULL,
		  "{\"error\":{\"code\":400,\"message\":\"API key not valid. Please "
		  "pass a valid API key.\",\"status\":\"INVALID_ARGUMENT\",\"details\":"
		  "[{\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\",\"reason\":"
		  "\"API_KEY_INVALID\",\"domain\":\"googleapis.com\"}]}}" },
		{ "google-server", 503, "Service Unavailable", NULL,
		  "{\"error\":{\"code\":503,\"message\":\"The model is overloaded. "
		  "Please try again later.\",\"status\":\"UNAVAILABLE\"}}" },
		{ "google-nomodel", 404, "Not Found", NULL,
		  "{\"error\":{\"code\":404,\"message\":\"models/fake-model is not "
		  "found for API version v1beta, or is not supported for "
		  "generateContent.\",\"status\":\"NOT_FOUND\"}}" },
	};
	size_t	i;

	for (i = 0; i < sizeof faults / sizeof faults[0]; i++) {
		if (strcmp(mode, faults[i].mode) == 0) {
			respond(c, faults[i].status, faults[i].reason,
			    faults[i].extra, faults[i].body,
			    strlen(faults[i].body));
			return (1);
		}
	}
	return (0);
}

/*
 * "ok" for a client that asks for a stream (real harnesses: opencode's
 * OpenAI-compatible SDK sends "stream": true): the same answer as
 * server-sent chat.completion.chunk events, then [DONE]. 1 if handled.
 */
static int
serve_stream(struct client *c, const char *mode, const char *method,
    const char *path, const char *body, size_t blen)
{
	static const char	*events =
	    "data: {\"id\":\"fake-1\",\"object\":\"chat.completion.chunk\","
	    "\"created\":0,\"model\":\"fake\",\"choices\":[{\"index\":0,"
	    "\"delta\":{\"role\":\"assistant\",\"content\":\"fake answer\"},"
	    "\"finish_reason\":null}]}\n\n"
	    "data: {\"id\":\"fake-1\",\"object\":\"chat.completion.chunk\","
	    "\"created\":0,\"model\":\"fake\",\"choices\":[{\"index\":0,"
	    "\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{"
	    "\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":3}}\n\n"
	    "data: [DONE]\n\n";
	json_t	*b;
	char	 head[256];
	size_t	 elen = strlen(events), plen = strlen(path);
	int	 n, stream;

	if (strcmp(mode, "ok") != 0 || strcmp(method, "POST") != 0 ||
	    plen < 17 || strcmp(path + plen - 17, "/chat/completions") != 0 ||
	    blen == 0 || (b = json_loadb(body, blen, 0, NULL)) == NULL)
		return (0);
	stream = json_is_true(json_object_get(b, "stream"));
	json_decref(b);
	if (!stream)
		return (0);
	n = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Type: "
	    "text/event-stream\r\nContent-Length: %zu\r\nConnection: close"
	    "\r\n\r\n", elen);
	c->out = xrealloc(NULL, (size_t)n + elen);
	memcpy(c->out, head, (size_t)n);
	memcpy(c->out + n, events, elen);
	c->outlen = (size_t)n + elen;
	c->outoff = 0;
	return (1);
}

/* Does message m hold a content block of this type (and text containing sub)? */
static int
tools_has_block(const json_t *m, const char *type, const char *sub)
{
	const json_t	*blk, *t, *text;
	size_t		 i;

	json_array_foreach(json_object_get(m, "content"), i, blk) {
		t = json_object_get(blk, "type");
		if (!json_is_string(t) || strcmp(json_string_value(t), type) != 0)
			continue;
		if (sub == NULL)
			return (1);
		text = json_object_get(blk, "text");
		if (json_is_string(text) &&
		    strstr(json_string_value(text), sub) != NULL)
			return (1);
	}
	if (sub != NULL && strcmp(type, "text") == 0 &&
	    json_is_string(json_object_get(m, "content")) &&
	    strstr(json_string_value(json_object_get(m, "content")), sub) != NULL)
		return (1);
	return (0);
}

/*
 * Should this Messages request get a tool_use of Write? When it offers the
 * tool and the latest user prompt naming the file (its basename) has not
 * been answered with a tool call yet: one Write per such prompt.
 */
static int
tools_wants_write(const json_t *b)
{
	const json_t	*t, *msgs, *m;
	const char	*base, *role;
	size_t		 i;
	int		 offered = 0;

	json_array_foreach(json_object_get(b, "tools"), i, t) {
		if (json_is_string(json_object_get(t, "name")) &&
		    strcmp(json_string_value(json_object_get(t, "name")),
		    "Write") == 0)
			offered = 1;
	}
	if (!offered || tool_file == NULL)
		return (0);
	base = strrchr(tool_file, '/') != NULL ? strrchr(tool_file, '/') + 1 :
	    tool_file;
	msgs = json_object_get(b, "messages");
	for (i = json_array_size(msgs); i > 0; i--) {
		m = json_array_get(msgs, i - 1);
		role = json_is_string(json_object_get(m, "role")) ?
		    json_string_value(json_object_get(m, "role")) : "";
		if (strcmp(role, "assistant") == 0 &&
		    tools_has_block(m, "tool_use", NULL))
			return (0);
		if (strcmp(role, "user") == 0 &&
		    tools_has_block(m, "text", base))
			return (1);
	}
	return (0);
}

/* Append one SSE event (data is consumed). */
static void
sse_event(char **buf, size_t *len, const char *type, json_t *data)
{
	char	*d = json_dumps(data, JSON_COMPACT), *e;
	int	 n;

	json_decref(data);
	if ((n = asprintf(&e, "event: %s\ndata: %s\n\n", type, d)) == -1)
		exit(1);
	*buf = xrealloc(*buf, *len + (size_t)n + 1);
	memcpy(*buf + *len, e, (size_t)n + 1);
	*len += (size_t)n;
	free(e);
	free(d);
}

/*
 * "tools": the Anthropic Messages API a Claude Code harness speaks, with
 * one tool call (see the top). 1 if handled.
 */
static int
serve_tools(struct client *c, const char *mode, const char *method,
    const char *path, const char *body, size_t blen)
{
	json_t		*b, *input, *block, *msg;
	const char	*model;
	char		*ev = NULL, *in, head[256];
	size_t		 evlen = 0;
	int		 use_tool, n;

	if (strcmp(mode, "tools") != 0 || strcmp(method, "POST") != 0 ||
	    strstr(path, "/v1/messages") == NULL ||
	    strstr(path, "count_tokens") != NULL)
		return (0);
	if ((b = json_loadb(body, blen, 0, NULL)) == NULL) {
		respond_json(c, 400, "Bad Request", NULL, error_body(
		    "invalid JSON body", "invalid_request_error"));
		return (1);
	}
	model = json_is_string(json_object_get(b, "model")) ?
	    json_string_value(json_object_get(b, "model")) : "fake";
	use_tool = tools_wants_write(b);
	input = json_pack("{s:s, s:s}", "file_path", use_tool ? tool_file : "",
	    "content", "written by the fake provider\n");
	if (use_tool)
		block = json_pack("{s:s, s:s, s:s, s:O}", "type", "tool_use",
		    "id", "toolu_fake_1", "name", "Write", "input", input);
	else
		block = json_pack("{s:s, s:s}", "type", "text", "text", "done");
	if (!json_is_true(json_object_get(b, "stream"))) {
		respond_json(c, 200, "OK", NULL, json_pack("{s:s, s:s, s:s, "
		    "s:s, s:[O], s:s, s:n, s:{s:i, s:i}}", "id", "msg_fake_1",
		    "type", "message", "role", "assistant", "model", model,
		    "content", block, "stop_reason", use_tool ? "tool_use" :
		    "end_turn", "stop_sequence", "usage", "input_tokens", 1,
		    "output_tokens", 1));
		json_decref(block);
		json_decref(input);
		json_decref(b);
		return (1);
	}
	msg = json_pack("{s:s, s:s, s:s, s:s, s:[], s:n, s:n, s:{s:i, s:i}}",
	    "id", "msg_fake_1", "type", "message", "role", "assistant", "model",
	    model, "content", "stop_reason", "stop_sequence", "usage",
	    "input_tokens", 1, "output_tokens", 1);
	sse_event(&ev, &evlen, "message_start", json_pack("{s:s, s:o}", "type",
	    "message_start", "message", msg));
	if (use_tool) {
		in = json_dumps(input, JSON_COMPACT);
		sse_event(&ev, &evlen, "content_block_start", json_pack("{s:s, "
		    "s:i, s:{s:s, s:s, s:s, s:{}}}", "type",
		    "content_block_start", "index", 0, "content_block", "type",
		    "tool_use", "id", "toolu_fake_1", "name", "Write", "input"));
		sse_event(&ev, &evlen, "content_block_delta", json_pack("{s:s, "
		    "s:i, s:{s:s, s:s}}", "type", "content_block_delta", "index",
		    0, "delta", "type", "input_json_delta", "partial_json", in));
		free(in);
	} else {
		sse_event(&ev, &evlen, "content_block_start", json_pack("{s:s, "
		    "s:i, s:{s:s, s:s}}", "type", "content_block_start", "index",
		    0, "content_block", "type", "text", "text", ""));
		sse_event(&ev, &evlen, "content_block_delta", json_pack("{s:s, "
		    "s:i, s:{s:s, s:s}}", "type", "content_block_delta", "index",
		    0, "delta", "type", "text_delta", "text", "done"));
	}
	sse_event(&ev, &evlen, "content_block_stop", json_pack("{s:s, s:i}",
	    "type", "content_block_stop", "index", 0));
	sse_event(&ev, &evlen, "message_delta", json_pack("{s:s, s:{s:s, s:n}, "
	    "s:{s:i}}", "type", "message_delta", "delta", "stop_reason", use_tool ?
	    "tool_use" : "end_turn", "stop_sequence", "usage", "output_tokens",
	    1));
	sse_event(&ev, &evlen, "message_stop", json_pack("{s:s}", "type",
	    "message_stop"));
	n = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Type: "
	    "text/event-stream\r\nContent-Length: %zu\r\nConnection: close"
	    "\r\n\r\n", evlen);
	c->out = xrealloc(NULL, (size_t)n + evlen);
	memcpy(c->out, head, (size_t)n);
	memcpy(c->out + n, ev, evlen);
	c->outlen = (size_t)n + evlen;
	c->outoff = 0;
	free(ev);
	json_decref(block);
	json_decref(input);
	json_decref(b);
	return (1);
}

static void
serve(struct client *c, const char *method, const char *path,
    const char *head, const char *body, size_t blen)
{
	char		 mode[64], *auth, *msg, *big, *loc;
	const char	*p = path + 1, *slash, *m, *comma;
	json_t		*list;
	size_t		 n;

	record(method, path, head, body, blen);
	slash = strchr(p, '/');
	n = slash != NULL ? (size_t)(slash - p) : strlen(p);
	if (n >= sizeof mode)
		n = sizeof mode - 1;
	memcpy(mode, p, n);
	mode[n] = '\0';
	if (serve_fault(c, mode) ||
	    serve_stream(c, mode, method, path, body, blen) ||
	    serve_tools(c, mode, method, path, body, blen))
		return;
	if (strcmp(mode, "flaky") == 0 && strcmp(method, "POST") == 0 &&
	    flaky_posts++ > 0)
		respond_json(c, 429, "Too Many Requests", "Retry-After: 120\r\n",
		    error_body("Rate limit reached for requests per minute",
		    "rate_limit_error"));
	else if (strcmp(mode, "ok") == 0 || strcmp(mode, "flaky") == 0) {
		if (strcmp(method, "GET") == 0) {
			list = json_array();
			for (m = models; *m != '\0'; m = comma + (*comma != '\0')) {
				comma = m + strcspn(m, ",");
				json_array_append_new(list, json_pack("{s:s#, s:s}",
				    "id", m, (int)(comma - m), "object", "model"));
			}
			respond_json(c, 200, "OK", NULL, json_pack("{s:s, s:o}",
			    "object", "list", "data", list));
		} else
			respond_json(c, 200, "OK", NULL, json_pack("{s:s, s:[{s:{s:s, "
			    "s:s}}]}", "id", "fake-1", "choices", "message", "role",
			    "assistant", "content", "fake answer"));
	} else if (strcmp(mode, "auth") == 0)
		respond_json(c, 401, "Unauthorized", NULL, error_body(
		    "Invalid API key provided", "invalid_request_error"));
	else if (strcmp(mode, "ratelimit") == 0)
		respond_json(c, 429, "Too Many Requests", "Retry-After: 120\r\n",
		    error_body("Rate limit reached, slow down",
		    "rate_limit_error"));
	else if (strcmp(mode, "quota") == 0)
		respond_json(c, 429, "Too Many Requests", NULL, error_body(
		    "You exceeded your current quota, please check your plan "
		    "and billing details", "insufficient_quota"));
	else if (strcmp(mode, "forbidden") == 0)
		respond_json(c, 403, "Forbidden", NULL, error_body(
		    "This key may not list models", "permission_error"));
	else if (strcmp(mode, "server") == 0)
		respond_json(c, 503, "Service Unavailable", NULL, error_body(
		    "upstream overloaded", "server_error"));
	else if (strcmp(mode, "slow") == 0)
		c->hanging = 1;
	else if (strcmp(mode, "big") == 0) {
		big = xrealloc(NULL, BIG_BODY);
		memset(big, ' ', BIG_BODY);
		big[0] = '[';
		big[BIG_BODY - 1] = ']';
		respond(c, 200, "OK", NULL, big, BIG_BODY);
		free(big);
	} else if (strcmp(mode, "redirect") == 0) {
		if (asprintf(&loc, "Location: %s\r\n", path) == -1)
			exit(1);
		respond_json(c, 302, "Found", loc, json_object());
		free(loc);
	} else if (strcmp(mode, "echokey") == 0) {
		auth = header(head, "authorization");
		if (asprintf(&msg, "Incorrect API key provided: %s",
		    auth != NULL && strncmp(auth, "Bearer ", 7) == 0 ? auth + 7 :
		    "(none)") == -1)
			exit(1);
		respond_json(c, 401, "Unauthorized", NULL, error_body(msg,
		    "invalid_request_error"));
		free(msg);
		free(auth);
	} else
		respond_json(c, 404, "Not Found", NULL, error_body("no such route",
		    "not_found"));
}

/* Parse a complete request if there is one; 1 if handled. */
static int
try_request(struct client *c)
{
	char	*end, *head, method[16], path[2048], *cl;
	size_t	 hlen, blen = 0;

	if (c->in == NULL || (end = strstr(c->in, "\r\n\r\n")) == NULL)
		return (0);
	hlen = (size_t)(end - c->in) + 4;
	head = strndup(c->in, hlen);
	if ((cl = header(head, "content-length")) != NULL) {
		blen = (size_t)strtoul(cl, NULL, 10);
		free(cl);
	}
	if (c->inlen < hlen + blen) {
		free(head);
		return (0);
	}
	if (sscanf(head, "%15s %2047s", method, path) != 2)
		respond_json(c, 400, "Bad Request", NULL, json_object());
	else
		serve(c, method, path, head, c->in + hlen, blen);
	free(head);
	return (1);
}

int
main(int argc, char **argv)
{
	struct sockaddr_in	 sin;
	socklen_t		 slen = sizeof sin;
	struct pollfd		 pfd[MAX_CLIENTS + 1];
	struct client		*c;
	char			 buf[65536];
	ssize_t			 n;
	time_t			 deadline;
	int			 lfd, i, fd, nfds, lifetime = 300;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--record") == 0 && i + 1 < argc)
			record_path = argv[++i];
		else if (strcmp(argv[i], "--record-text") == 0)
			record_text = 1;
		else if (strcmp(argv[i], "--record-times") == 0)
			record_times = 1;
		else if (strcmp(argv[i], "--models") == 0 && i + 1 < argc)
			models = argv[++i];
		else if (strcmp(argv[i], "--lifetime") == 0 && i + 1 < argc)
			lifetime = atoi(argv[++i]);
		else if (strcmp(argv[i], "--tool-file") == 0 && i + 1 < argc)
			tool_file = argv[++i];
		else {
			fprintf(stderr, "usage: fake-provider [--record FILE] "
			    "[--record-text] [--record-times] [--models a,b] "
			    "[--lifetime S] "
			    "[--tool-file PATH]\n");
			return (2);
		}
	}
	signal(SIGPIPE, SIG_IGN);
	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) == -1) {
		perror("socket");
		return (1);
	}
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = 0;
	if (bind(lfd, (struct sockaddr *)&sin, sizeof sin) == -1 ||
	    listen(lfd, 64) == -1 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &slen) == -1) {
		perror("bind");
		return (1);
	}
	printf("%d\n", ntohs(sin.sin_port));
	fflush(stdout);
	for (i = 0; i < MAX_CLIENTS; i++)
		clients[i].fd = -1;
	deadline = time(NULL) + lifetime;
	while (time(NULL) < deadline) {
		pfd[0].fd = lfd;
		pfd[0].events = POLLIN;
		for (i = 0; i < MAX_CLIENTS; i++) {
			c = &clients[i];
			pfd[i + 1].fd = c->fd;
			pfd[i + 1].events = c->out != NULL ? POLLOUT : POLLIN;
		}
		nfds = poll(pfd, MAX_CLIENTS + 1, 1000);
		if (nfds == -1 && errno != EINTR)
			break;
		if (nfds <= 0)
			continue;
		if (pfd[0].revents & POLLIN) {
			if ((fd = accept(lfd, NULL, NULL)) != -1) {
				for (i = 0; i < MAX_CLIENTS; i++) {
					if (clients[i].fd == -1) {
						clients[i].fd = fd;
						break;
					}
				}
				if (i == MAX_CLIENTS)
					close(fd);
			}
		}
		for (i = 0; i < MAX_CLIENTS; i++) {
			c = &clients[i];
			if (c->fd == -1 || pfd[i + 1].revents == 0)
				continue;
			if (c->out != NULL) {
				n = write(c->fd, c->out + c->outoff,
				    c->outlen - c->outoff);
				if (n <= 0 || (c->outoff += (size_t)n) == c->outlen)
					client_close(c);
				continue;
			}
			n = read(c->fd, buf, sizeof buf);
			if (n <= 0 || c->inlen + (size_t)n > MAX_REQUEST) {
				client_close(c);
				continue;
			}
			if (c->hanging)
				continue;
			if (c->inlen == 0 && buf[0] == 0x16) {
				/* A TLS ClientHello: this server only speaks HTTP. */
				n = write(c->fd, "not TLS\r\n", 9);
				client_close(c);
				continue;
			}
			c->in = xrealloc(c->in, c->inlen + (size_t)n + 1);
			memcpy(c->in + c->inlen, buf, (size_t)n);
			c->inlen += (size_t)n;
			c->in[c->inlen] = '\0';
			try_request(c);
		}
	}
	return (0);
}
