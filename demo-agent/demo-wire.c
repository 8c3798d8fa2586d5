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
 * The demo agent's wire: reading stdin, the JSON-RPC replies and
 * session/update notifications it sends, and the requests it makes of the
 * client (answered while other input keeps being read).
 */

#define DEMO_READ_SIZE	65536

/* Format a new string; caller frees. */
char *
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
json_t *
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

void
demo_reply(const json_t *id, const char *key, json_t *what)
{
	demo_send(json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id, key,
	    what));
}

void
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

void
demo_chunk(struct demo *d, const char *kind, const char *text)
{
	demo_update(d, json_pack("{s:s, s:{s:s, s:s}}", "sessionUpdate", kind,
	    "content", "type", "text", "text", text));
}

void
demo_plan(struct demo *d, const char *answer_status)
{
	demo_update(d, json_pack("{s:s, s:[{s:s, s:s, s:s}, {s:s, s:s, s:s}]}",
	    "sessionUpdate", "plan", "entries",
	    "content", "Read the request", "priority", "high",
	    "status", "completed",
	    "content", "Answer", "priority", "medium", "status", answer_status));
}

/* Report a new tool call (title set) or update the last; extra is stolen. */
void
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
int
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
int
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
json_t *
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
