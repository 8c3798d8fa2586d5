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

#include "demo-agent.h"

/*
 * acpx-demo-agent: a small, friendly ACP agent that ships with acpx so a turn
 * can be tried with no account anywhere (acpx demo "hello"). It speaks NDJSON
 * JSON-RPC 2.0 on stdin/stdout and doubles as a readable example of the agent
 * side of ACP: it streams a plan, a thought, tool calls and an answer, asks
 * the client for permission, files and terminals, and stops promptly on
 * session/cancel. Sessions live in memory, per process. Its parts are
 * listed in demo-agent.h.
 */

#define DEMO_HELP \
	"I am the acpx demo agent. Try:\n" \
	"  read <path>          I read a file through the client\n" \
	"  write <path> <text>  I ask permission, then write the file\n" \
	"  run <command...>     I ask permission, then run it in a terminal\n" \
	"  slow                 20 slow chunks (try Ctrl-C or acpx cancel)\n" \
	"  help                 this list\n" \
	"Anything else I answer by counting your words.\n"

static struct demo	*demo_self;	/* for demo_exit() */

void __attribute__((noreturn))
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
void
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
