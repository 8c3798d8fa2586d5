#include <config.h>

#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

/*
 * acpx-demo-agent: a small, friendly ACP agent that ships with acpx so a turn
 * can be tried with no account anywhere (acpx demo "hello"). It speaks NDJSON
 * JSON-RPC 2.0 on stdin/stdout and doubles as a readable example of the agent
 * side of ACP: it streams a plan, a thought, tool calls and an answer, asks
 * the client for permission, files and terminals, and stops promptly on
 * session/cancel. Sessions live in memory, per process.
 */

#define DEMO_READ_SIZE	65536
#define DEMO_SLOW_MS	200
#define DEMO_SPACE	" \t\n"
#define DEMO_HELP \
	"I am the acpx demo agent. Try:\n" \
	"  read <path>          I read a file through the client\n" \
	"  write <path> <text>  I ask permission, then write the file\n" \
	"  run <command...>     I ask permission, then run it in a terminal\n" \
	"  slow                 20 slow chunks (try Ctrl-C or acpx cancel)\n" \
	"  help                 this list\n" \
	"Anything else I answer by counting your words.\n"

struct demo {
	char		*buf;		/* stdin bytes not yet consumed */
	size_t		 off, len, size;
	int		 eof;

	json_t		*sessions;	/* sessionId -> {"cwd": ...} */
	json_t		*backlog;	/* prompts that arrived during a turn */
	json_t		*responses;	/* client responses by id */
	json_int_t	 next_id;	/* of our requests to the client */
	int		 ntools;

	const char	*session;	/* of the running turn */
	int		 in_turn;
	int		 cancelled;	/* session/cancel arrived */
	long		 delay_ms;	/* between answer chunks */
};

static struct demo	*demo_self;	/* for demo_exit() */

static void	demo_handle(struct demo *, json_t *);

static void __attribute__((noreturn))
demo_exit(int status)
{
	json_decref(demo_self->sessions);
	json_decref(demo_self->backlog);
	json_decref(demo_self->responses);
	free(demo_self->buf);
	exit(status);
}

static void
demo_signal_cb(int sig)
{
	_exit(128 + sig);
}

static char *
demo_printf(const char *, ...) __attribute__((format(printf, 1, 2)));

/* Format a new string; caller frees. */
static char *
demo_printf(const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		abort();
	va_end(ap);
	return (s);
}

/* Look up a dotted path ("result.outcome.optionId"); borrowed or NULL. */
static json_t *
demo_get(json_t *v, const char *path)
{
	char	 key[64];
	size_t	 n;

	while (v != NULL && *path != '\0') {
		n = strcspn(path, ".");
		snprintf(key, sizeof key, "%.*s", (int)n, path);
		v = json_object_get(v, key);
		path += n + (path[n] == '.');
	}
	return (v);
}

/* Write one message (stolen) as a line; exit if the client went away. */
static void
demo_send(json_t *msg)
{
	char	*s;
	size_t	 n, done;
	ssize_t	 r;

	if ((s = json_dumps(msg, JSON_COMPACT)) == NULL)
		abort();
	json_decref(msg);
	n = strlen(s);
	s[n++] = '\n';		/* over the NUL: n bytes to write */
	for (done = 0; done < n; done += (size_t)r) {
		if ((r = write(STDOUT_FILENO, s + done, n - done)) != -1)
			continue;
		if (errno != EINTR) {
			free(s);
			demo_exit(0);
		}
		r = 0;
	}
	free(s);
}

static void
demo_reply(const json_t *id, const char *key, json_t *what)
{
	demo_send(json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id, key,
	    what));
}

static void
demo_error(const json_t *id, int code, const char *message)
{
	demo_reply(id, "error", json_pack("{s:i, s:s}", "code", code,
	    "message", message));
}

/* A session/update for the session of the running turn; update is stolen. */
static void
demo_update(struct demo *d, json_t *update)
{
	demo_send(json_pack("{s:s, s:s, s:{s:s, s:o}}", "jsonrpc", "2.0",
	    "method", "session/update", "params", "sessionId", d->session,
	    "update", update));
}

static void
demo_chunk(struct demo *d, const char *kind, const char *text)
{
	demo_update(d, json_pack("{s:s, s:{s:s, s:s}}", "sessionUpdate", kind,
	    "content", "type", "text", "text", text));
}

static void
demo_plan(struct demo *d, const char *answer_status)
{
	demo_update(d, json_pack("{s:s, s:[{s:s, s:s, s:s}, {s:s, s:s, s:s}]}",
	    "sessionUpdate", "plan", "entries",
	    "content", "Read the request", "priority", "high",
	    "status", "completed",
	    "content", "Answer", "priority", "medium", "status", answer_status));
}

/* Report a new tool call (title set) or update the last; extra is stolen. */
static void
demo_tool(struct demo *d, const char *title, const char *kind,
    const char *status, json_t *extra)
{
	char	 id[32];
	json_t	*u;

	snprintf(id, sizeof id, "demo-tool-%d", d->ntools += title != NULL);
	u = json_pack("{s:s, s:s, s:s, s:s*, s:s*}", "sessionUpdate",
	    title != NULL ? "tool_call" : "tool_call_update", "toolCallId", id,
	    "status", status, "title", title, "kind", kind);
	if (extra != NULL)
		json_object_update(u, extra);
	json_decref(extra);
	demo_update(d, u);
}

/*
 * Read and handle one message, waiting up to timeout_ms (-1: forever).
 * Returns 0 on timeout; exits 0 at EOF.
 */
static int
demo_pump(struct demo *d, int timeout_ms)
{
	struct pollfd	 pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	json_t		*msg;
	char		*nl;
	size_t		 n;
	ssize_t		 r;

	while (d->buf == NULL ||
	    (nl = memchr(d->buf + d->off, '\n', d->len - d->off)) == NULL) {
		if (d->eof)
			demo_exit(0);
		if ((r = poll(&pfd, 1, timeout_ms)) == 0)
			return (0);
		if (r == -1)
			continue;	/* EINTR */
		if (d->size - d->len <= DEMO_READ_SIZE) {
			if (d->off > 0) {
				memmove(d->buf, d->buf + d->off,
				    d->len - d->off);
				d->len -= d->off;
				d->off = 0;
			}
			d->size = d->size * 2 + DEMO_READ_SIZE;
			if ((d->buf = realloc(d->buf, d->size)) == NULL)
				abort();
		}
		r = read(STDIN_FILENO, d->buf + d->len, d->size - d->len - 1);
		if (r > 0)
			d->len += (size_t)r;
		else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
			d->eof = 1;
			if (d->len > d->off)	/* a last line without '\n' */
				d->buf[d->len++] = '\n';
		}
	}
	n = (size_t)(nl - (d->buf + d->off));
	msg = json_loadb(d->buf + d->off, n, 0, NULL);
	d->off += n + 1;
	if (json_is_object(msg))
		demo_handle(d, msg);
	json_decref(msg);
	return (1);
}

static long long
demo_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Wait ms, still reading stdin; returns 1 if the turn was cancelled. */
static int
demo_sleep(struct demo *d, long ms)
{
	long long	 end = demo_now_ms() + ms;

	while (!d->cancelled && demo_now_ms() < end)
		demo_pump(d, (int)(end - demo_now_ms()));
	return (d->cancelled);
}

/*
 * Ask the client something (params stolen) and wait for the answer. Returns
 * the response message (caller owns), or NULL once the turn is cancelled.
 */
static json_t *
demo_request(struct demo *d, const char *method, json_t *params)
{
	json_t		*resp;
	char		 key[32];
	json_int_t	 id = d->next_id++;

	json_object_set_new(params, "sessionId", json_string(d->session));
	demo_send(json_pack("{s:s, s:I, s:s, s:o}", "jsonrpc", "2.0", "id", id,
	    "method", method, "params", params));
	snprintf(key, sizeof key, "%lld", (long long)id);
	while ((resp = json_object_get(d->responses, key)) == NULL) {
		if (d->cancelled)
			return (NULL);
		demo_pump(d, -1);
	}
	json_incref(resp);
	json_object_del(d->responses, key);
	return (resp);
}

/* Why a response failed (borrowed), or NULL if it succeeded. */
static const char *
demo_failure(json_t *resp)
{
	const char	*s;

	if (json_object_get(resp, "error") == NULL)
		return (NULL);
	if ((s = json_string_value(demo_get(resp, "error.data.details"))))
		return (s);
	s = json_string_value(demo_get(resp, "error.message"));
	return (s != NULL ? s : "unknown error");
}

/* Ask permission for the current tool call (input stolen); 1 if allowed. */
static int
demo_permission(struct demo *d, const char *title, const char *kind,
    json_t *input)
{
	json_t		*resp;
	const char	*choice;
	char		 id[32];
	int		 yes;

	snprintf(id, sizeof id, "demo-tool-%d", d->ntools);
	resp = demo_request(d, "session/request_permission", json_pack(
	    "{s:{s:s, s:s, s:s, s:o}, s:[{s:s, s:s, s:s}, {s:s, s:s, s:s}]}",
	    "toolCall", "toolCallId", id, "title", title, "kind", kind,
	    "rawInput", input, "options",
	    "optionId", "allow", "name", "Allow", "kind", "allow_once",
	    "optionId", "reject", "name", "Reject", "kind", "reject_once"));
	choice = json_string_value(demo_get(resp, "result.outcome.optionId"));
	yes = choice != NULL && strcmp(choice, "allow") == 0;
	json_decref(resp);
	return (yes);
}

/* Count the words and (UTF-8) characters of a text. */
static void
demo_count(const char *s, int *words, int *chars)
{
	int	 inword = 0;

	for (*words = *chars = 0; *s != '\0'; s++) {
		*chars += (*s & 0xc0) != 0x80;
		*words += strchr(DEMO_SPACE, *s) == NULL && !inword;
		inword = strchr(DEMO_SPACE, *s) == NULL;
	}
}

/* An absolute path: relative ones are taken from the session's cwd. */
static char *
demo_path(struct demo *d, const char *path)
{
	const char	*cwd;

	cwd = json_string_value(json_object_get(json_object_get(d->sessions,
	    d->session), "cwd"));
	if (*path == '/' || cwd == NULL)
		return (demo_printf("%s", path));
	return (demo_printf("%s/%s", cwd, path));
}

/*
 * Stream an answer in chunks of three words; returns 1 if cancelled. A
 * chunk ends where the next word starts, so the chunks add up exactly.
 */
static int
demo_stream(struct demo *d, const char *text)
{
	const char	*start = text, *p;
	char		*chunk;
	int		 inword = 0, n = 0;

	for (p = text; *p != '\0'; p++) {
		if (strchr(DEMO_SPACE, *p) == NULL && !inword && n++ == 3) {
			chunk = demo_printf("%.*s", (int)(p - start), start);
			demo_chunk(d, "agent_message_chunk", chunk);
			free(chunk);
			start = p;
			n = 1;
			if (demo_sleep(d, d->delay_ms))
				return (1);
		}
		inword = strchr(DEMO_SPACE, *p) == NULL;
	}
	if (p > start)
		demo_chunk(d, "agent_message_chunk", start);
	return (0);
}

/* read <path>: fetch the file through the client and describe it. */
static char *
demo_read(struct demo *d, const char *arg)
{
	json_t		*resp;
	const char	*text, *p, *err;
	char		*path = demo_path(d, arg), *title, *answer = NULL;
	size_t		 lines = 0;

	title = demo_printf("Read %s", arg);
	demo_tool(d, title, "read", "in_progress", json_pack("{s:[{s:s}]}",
	    "locations", "path", path));
	free(title);
	resp = demo_request(d, "fs/read_text_file", json_pack("{s:s}", "path",
	    path));
	if (resp != NULL && (err = demo_failure(resp)) != NULL) {
		demo_tool(d, NULL, NULL, "failed", NULL);
		answer = demo_printf("I could not read %s: %s", path, err);
	} else if (resp != NULL) {
		text = json_string_value(demo_get(resp, "result.content"));
		for (p = text = text != NULL ? text : ""; *p != '\0'; lines++) {
			p += strcspn(p, "\n");
			p += *p == '\n';
		}
		demo_tool(d, NULL, NULL, "completed", json_pack("{s:{s:I}}",
		    "rawOutput", "lines", (json_int_t)lines));
		answer = demo_printf("%s has %zu line%s. The first one is: "
		    "\"%.*s\"", path, lines, lines == 1 ? "" : "s",
		    (int)strcspn(text, "\n"), text);
	}
	json_decref(resp);
	free(path);
	return (answer);
}

/* write <path> <text>: ask permission, then have the client write it. */
static char *
demo_write(struct demo *d, const char *arg)
{
	json_t		*resp = NULL;
	const char	*text = arg + strcspn(arg, " "), *err;
	char		*name, *path, *title, *answer = NULL;

	name = demo_printf("%.*s", (int)(text - arg), arg);
	text += *text == ' ';
	path = demo_path(d, name);
	title = demo_printf("Write %s", name);
	demo_tool(d, title, "edit", "pending", NULL);
	err = "permission was not given";
	if (demo_permission(d, title, "edit", json_pack("{s:s, s:s}", "path",
	    path, "content", text)) && (resp = demo_request(d,
	    "fs/write_text_file", json_pack("{s:s, s:s+}", "path", path,
	    "content", text, "\n"))) != NULL)
		err = demo_failure(resp);
	if (!d->cancelled && err != NULL) {
		demo_tool(d, NULL, NULL, "failed", NULL);
		answer = demo_printf("I did not write %s: %s.", path, err);
	} else if (!d->cancelled) {
		demo_tool(d, NULL, NULL, "completed", json_pack(
		    "{s:[{s:s, s:s, s:s+}]}", "content", "type", "diff",
		    "path", path, "newText", text, "\n"));
		answer = demo_printf("I wrote %s.", path);
	}
	json_decref(resp);
	free(title);
	free(path);
	free(name);
	return (answer);
}

/* run <command>: ask permission, run it in a client terminal, report. */
static char *
demo_run(struct demo *d, const char *cmd)
{
	json_t		*resp = NULL, *out = NULL;
	const char	*tid = NULL, *text, *err;
	char		*title, *answer = NULL;
	json_int_t	 code;

	title = demo_printf("Run %s", cmd);
	demo_tool(d, title, "execute", "pending", json_pack("{s:{s:s}}",
	    "rawInput", "command", cmd));
	err = "permission was not given";
	if (demo_permission(d, title, "execute", json_pack("{s:s}", "command",
	    cmd)) && (resp = demo_request(d, "terminal/create", json_pack(
	    "{s:s, s:[s, s]}", "command", "/bin/sh", "args", "-c", cmd))))
		err = demo_failure(resp);
	free(title);
	if (err == NULL &&
	    (tid = json_string_value(demo_get(resp, "result.terminalId")))) {
		json_decref(demo_request(d, "terminal/wait_for_exit",
		    json_pack("{s:s}", "terminalId", tid)));
		out = demo_request(d, "terminal/output", json_pack("{s:s}",
		    "terminalId", tid));
		json_decref(demo_request(d, "terminal/release",
		    json_pack("{s:s}", "terminalId", tid)));
	}
	if (!d->cancelled && tid == NULL) {
		demo_tool(d, NULL, NULL, "failed", NULL);
		answer = demo_printf("I did not run it: %s.", err != NULL ?
		    err : "no terminal");
	} else if (!d->cancelled) {
		text = json_string_value(demo_get(out, "result.output"));
		code = json_integer_value(demo_get(out,
		    "result.exitStatus.exitCode"));
		demo_tool(d, NULL, NULL, code == 0 ? "completed" : "failed",
		    json_pack("{s:{s:s, s:I}}", "rawOutput", "output",
		    text != NULL ? text : "", "exitCode", code));
		answer = demo_printf("The command exited with code %lld. Its "
		    "output:\n%s", (long long)code, text != NULL ? text : "");
	}
	json_decref(out);
	json_decref(resp);
	return (answer);
}

/* Anything else: a thought, a think tool, then an answer counting words. */
static char *
demo_answer(struct demo *d, const char *text)
{
	const char	*p;
	char		*thought;
	int		 words, chars, n = 0;

	demo_count(text, &words, &chars);
	for (p = text; *p != '\0'; p++) {	/* the first 80 characters */
		if ((*p & 0xc0) != 0x80 && n++ == 80)
			break;
	}
	thought = demo_printf("The user asked: %.*s", (int)(p - text), text);
	demo_chunk(d, "agent_thought_chunk", thought);
	free(thought);
	demo_tool(d, "Analyse prompt", "think", "pending", NULL);
	demo_tool(d, NULL, NULL, "completed", json_pack("{s:{s:i, s:i}}",
	    "rawOutput", "words", words, "chars", chars));
	return (demo_printf("You asked: \"%s\". Your message has %d word%s and "
	    "%d character%s.", text, words, words == 1 ? "" : "s", chars,
	    chars == 1 ? "" : "s"));
}

/* slow: twenty chunks, DEMO_SLOW_MS apart, to try cancelling. */
static int
demo_slow(struct demo *d)
{
	char	*s;
	int	 i;

	for (i = 1; i <= 20; i++) {
		s = demo_printf("Chunk %d of 20. ", i);
		demo_chunk(d, "agent_message_chunk", s);
		free(s);
		if (i < 20 && demo_sleep(d, DEMO_SLOW_MS))
			return (i * 4);
	}
	return (80);
}

/* One prompt turn, from the first update to the session/prompt response. */
static void
demo_prompt(struct demo *d, const json_t *id, json_t *params)
{
	json_t		*block;
	const char	*t;
	char		*text = demo_printf("%s", ""), *answer = NULL, *s;
	size_t		 i;
	int		 in, out = 0, chars;

	d->session = json_string_value(json_object_get(params, "sessionId"));
	if (d->session == NULL || !json_object_get(d->sessions, d->session)) {
		demo_error(id, -32002, "Resource not found: session");
		free(text);
		return;
	}
	json_array_foreach(json_object_get(params, "prompt"), i, block) {
		if ((t = json_string_value(json_object_get(block, "text")))) {
			s = demo_printf("%s%s%s", text, *text ? "\n" : "", t);
			free(text);
			text = s;
		}
	}
	d->in_turn = 1;
	d->cancelled = 0;
	demo_plan(d, "in_progress");
	if (strcmp(text, "help") == 0)
		answer = demo_printf("%s", DEMO_HELP);
	else if (strncmp(text, "read ", 5) == 0)
		answer = demo_read(d, text + 5);
	else if (strncmp(text, "write ", 6) == 0)
		answer = demo_write(d, text + 6);
	else if (strncmp(text, "run ", 4) == 0)
		answer = demo_run(d, text + 4);
	else if (strcmp(text, "slow") == 0)
		out = demo_slow(d);
	else
		answer = demo_answer(d, text);
	if (answer != NULL && !d->cancelled && !demo_stream(d, answer))
		demo_count(answer, &out, &chars);
	if (!d->cancelled)
		demo_plan(d, "completed");
	demo_count(text, &in, &chars);
	demo_reply(id, "result", d->cancelled ? json_pack("{s:s}",
	    "stopReason", "cancelled") : json_pack("{s:s, s:{s:i, s:i, s:i}}",
	    "stopReason", "end_turn", "usage", "inputTokens", in,
	    "outputTokens", out, "totalTokens", in + out));
	d->in_turn = d->cancelled = 0;
	free(answer);
	free(text);
}

/* A new session with a random UUID: acpx names its records by this id. */
static json_t *
demo_new_session(struct demo *d, json_t *params)
{
	unsigned char	 b[16];
	char		 id[37], *p = id;
	int		 fd;
	size_t		 i;

	fd = open("/dev/urandom", O_RDONLY|O_CLOEXEC);
	if (fd == -1 || read(fd, b, sizeof b) != (ssize_t)sizeof b) {
		srand((unsigned)time(NULL) ^ (unsigned)getpid());
		for (i = 0; i < sizeof b; i++)
			b[i] = (unsigned char)rand();
	}
	if (fd != -1)
		close(fd);
	b[6] = (b[6] & 0x0f) | 0x40;	/* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80;	/* variant 1 */
	for (i = 0; i < sizeof b; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		p += snprintf(p, 3, "%02x", b[i]);
	}
	json_object_set_new(d->sessions, id, json_pack("{s:O*}", "cwd",
	    json_object_get(params, "cwd")));
	return (json_pack("{s:s}", "sessionId", id));
}

/* Handle one message from the client; prompts during a turn must wait. */
static void
demo_handle(struct demo *d, json_t *msg)
{
	json_t		*id = json_object_get(msg, "id");
	json_t		*params = json_object_get(msg, "params");
	const char	*method = json_string_value(json_object_get(msg,
			    "method"));
	const char	*sid = json_string_value(json_object_get(params,
			    "sessionId"));
	char		*key;

	if (method == NULL && id != NULL) {	/* a response to us */
		key = json_dumps(id, JSON_ENCODE_ANY);
		json_object_set(d->responses, key, msg);
		free(key);
	} else if (method == NULL || id == NULL) {
		if (method != NULL && strcmp(method, "session/cancel") == 0)
			d->cancelled = d->in_turn;
	} else if (strcmp(method, "initialize") == 0)
		demo_reply(id, "result", json_pack("{s:i, s:{s:b, s:{s:b, s:b, "
		    "s:b}}, s:[], s:{s:s, s:s}}", "protocolVersion", 1,
		    "agentCapabilities", "loadSession", 1, "promptCapabilities",
		    "image", 0, "audio", 0, "embeddedContext", 0, "authMethods",
		    "agentInfo", "name", "acpx-demo-agent", "version", "0.1.0"));
	else if (strcmp(method, "authenticate") == 0 ||
	    strcmp(method, "session/set_mode") == 0)
		demo_reply(id, "result", json_object());
	else if (strcmp(method, "session/new") == 0)
		demo_reply(id, "result", demo_new_session(d, params));
	else if (strcmp(method, "session/load") == 0) {
		if (sid != NULL && json_object_get(d->sessions, sid) != NULL)
			demo_reply(id, "result", json_object());
		else
			demo_error(id, -32002, "Resource not found: session");
	} else if (strcmp(method, "session/prompt") == 0) {
		if (d->in_turn)
			json_array_append(d->backlog, msg);
		else
			demo_prompt(d, id, params);
	} else
		demo_error(id, -32601, "Method not found");
}

int
main(void)
{
	static struct demo	 d;
	const char		*env = getenv("ACPX_DEMO_DELAY_MS");
	json_t			*msg;

	demo_self = &d;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, SIG_IGN);	/* Ctrl-C is the client's: it cancels */
	signal(SIGTERM, demo_signal_cb);
	d.delay_ms = env != NULL && *env != '\0' ? strtol(env, NULL, 10) : 20;
	d.sessions = json_object();
	d.backlog = json_array();
	d.responses = json_object();
	for (;;) {
		if ((msg = json_array_get(d.backlog, 0)) != NULL) {
			json_incref(msg);
			json_array_remove(d.backlog, 0);
			demo_handle(&d, msg);
			json_decref(msg);
		} else
			demo_pump(&d, -1);
	}
}
