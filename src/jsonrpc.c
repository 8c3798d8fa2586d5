#include <config.h>

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <jansson.h>

#include "js.h"
#include "js-json.h"
#include "jsonrpc.h"
#include "jsonrpc-impl.h"
#include "linebuf.h"
#include "xmalloc.h"

/*
 * JSON-RPC 2.0 over NDJSON: the connection, its pending-request table, the
 * output side (one line per message, written as the peer drains) and the
 * close. The input side, reading and classifying lines the way the
 * reference's ACP SDK does, is jsonrpc-in.c.
 *
 * Objects are never freed inside their own callback: every path that calls
 * out holds j->busy, jsonrpc_free() inside a callback only marks the
 * connection dead (stopping all I/O at once), and the last frame to leave
 * releases the memory.
 */

static void	jsonrpc_write_cb(struct ev_loop *, ev_io *, int);
static void	jsonrpc_flush_cb(struct ev_loop *, ev_prepare *, int);
static void	jsonrpc_defer_cb(struct ev_loop *, ev_idle *, int);

/* ------------------------------------------------------------------ tables */

static void
jsonrpc_table_add(struct jsonrpc_table *t, long long id, jsonrpc_done_cb cb,
    void *arg)
{
	if (t->n == t->size) {
		t->size = t->size == 0 ? 8 : t->size * 2;
		t->v = xreallocarray(t->v, t->size, sizeof *t->v);
	}
	/* Ids only grow, so appending keeps the table sorted. */
	t->v[t->n].id = id;
	t->v[t->n].cb = cb;
	t->v[t->n].arg = arg;
	t->n++;
}

static void
jsonrpc_table_remove(struct jsonrpc_table *t, size_t i)
{
	memmove(&t->v[i], &t->v[i + 1], (t->n - i - 1) * sizeof *t->v);
	t->n--;
}

/* Take the entry for id out of the table; 0 if there is none. */
int
jsonrpc_table_take(struct jsonrpc_table *t, long long id,
    struct jsonrpc_pending *p)
{
	size_t	lo = 0, hi = t->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (t->v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == t->n || t->v[lo].id != id)
		return (0);
	*p = t->v[lo];
	jsonrpc_table_remove(t, lo);
	return (1);
}

/* ----------------------------------------------------------- busy and free */

static void
jsonrpc_destroy(struct jsonrpc *j)
{
	ev_io_stop(j->loop, &j->rd_w);
	ev_io_stop(j->loop, &j->wr_w);
	ev_prepare_stop(j->loop, &j->flush_w);
	ev_idle_stop(j->loop, &j->defer_w);
	if (j->sock != -1)
		close(j->sock);
	else {
		if (j->rfd != -1)
			close(j->rfd);
		if (j->wfd != -1)
			close(j->wfd);
	}
	linebuf_free(j->in);
	buf_free(&j->out);
	free(j->pending.v);
	free(j->unsent.v);
	free(j);
}

/* Leave a callback section; returns 1 if j is gone. */
int
jsonrpc_unbusy(struct jsonrpc *j)
{
	if (--j->busy == 0 && (j->flags & JSONRPC_F_DEAD)) {
		jsonrpc_destroy(j);
		return (1);
	}
	return (0);
}

/* Close our read side (the other fd may be the same socket). */
static void
jsonrpc_close_rfd(struct jsonrpc *j)
{
	ev_io_stop(j->loop, &j->rd_w);
	if (j->rfd == -1)
		return;
	if (j->sock != -1)
		(void)shutdown(j->rfd, SHUT_RD);
	else
		close(j->rfd);
	j->rfd = -1;
}

static void
jsonrpc_close_wfd(struct jsonrpc *j)
{
	ev_io_stop(j->loop, &j->wr_w);
	ev_prepare_stop(j->loop, &j->flush_w);
	j->out_off = 0;
	buf_reset(&j->out);
	if (j->wfd == -1)
		return;
	if (j->sock != -1)
		(void)shutdown(j->wfd, SHUT_WR);
	else
		close(j->wfd);
	j->wfd = -1;
}

/* ------------------------------------------------------------------ create */

static void
jsonrpc_nonblock(int fd)
{
	int	fl;

	if ((fl = fcntl(fd, F_GETFL)) != -1 && !(fl & O_NONBLOCK))
		(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Take over rfd/wfd and start reading; see jsonrpc.h. Caller owns it. */
struct jsonrpc *
jsonrpc_create(struct ev_loop *loop, int rfd, int wfd, size_t max_line,
    const struct jsonrpc_callbacks *cb, void *arg)
{
	struct jsonrpc	*j;

	j = xcalloc(1, sizeof *j);
	j->loop = loop;
	j->rfd = rfd;
	j->wfd = wfd;
	j->sock = rfd == wfd ? rfd : -1;
	j->in = linebuf_create(max_line);
	if (cb != NULL)
		j->cb = *cb;
	j->arg = arg;

	jsonrpc_nonblock(rfd);
	jsonrpc_nonblock(wfd);

	ev_io_init(&j->rd_w, jsonrpc_read_cb, rfd, EV_READ);
	j->rd_w.data = j;
	ev_io_init(&j->wr_w, jsonrpc_write_cb, wfd, EV_WRITE);
	j->wr_w.data = j;
	ev_idle_init(&j->defer_w, jsonrpc_defer_cb);
	j->defer_w.data = j;
	ev_prepare_init(&j->flush_w, jsonrpc_flush_cb);
	j->flush_w.data = j;

	ev_io_start(loop, &j->rd_w);
	return (j);
}

/* Free the connection; safe inside its callbacks. Pendings are dropped. */
void
jsonrpc_free(struct jsonrpc *j)
{
	if (j == NULL || (j->flags & JSONRPC_F_DEAD))
		return;
	j->flags |= JSONRPC_F_DEAD;
	if (j->busy > 0) {
		/* Stop all I/O now; the memory goes when the callback ends. */
		jsonrpc_close_rfd(j);
		jsonrpc_close_wfd(j);
		ev_idle_stop(j->loop, &j->defer_w);
		j->pending.n = j->unsent.n = 0;
		return;
	}
	jsonrpc_destroy(j);
}

/* ------------------------------------------------------------------ output */

static int
jsonrpc_out_cb(const char *buf, size_t size, void *data)
{
	struct jsonrpc	*j = data;

	if (j->out_off == j->out.len) {
		j->out_off = 0;
		buf_reset(&j->out);
	}
	if (j->out.cap - j->out.len <= size && j->out_off != 0) {
		memmove(j->out.p, j->out.p + j->out_off,
		    j->out.len - j->out_off);
		j->out.len -= j->out_off;
		j->out_off = 0;
	}
	return (buf_add(&j->out, buf, size));
}

int
jsonrpc_can_write(const struct jsonrpc *j)
{
	return (j->wfd != -1 &&
	    !(j->flags & (JSONRPC_F_CLOSED|JSONRPC_F_WSHUT|JSONRPC_F_DEAD)));
}

/*
 * Show msg to the tap, then queue it as one line. Steals msg. Returns -1 if
 * the tap freed the connection.
 */
int
jsonrpc_send(struct jsonrpc *j, json_t *msg)
{
	char	*text;
	int	 gone;

	if (j->cb.tap != NULL) {
		j->busy++;
		j->cb.tap(j, msg, 1, j->arg);
		gone = (j->flags & JSONRPC_F_DEAD) != 0;
		if (jsonrpc_unbusy(j) || gone) {
			json_decref(msg);
			return (-1);
		}
		if (j->wfd == -1) {	/* the tap closed it */
			json_decref(msg);
			return (0);
		}
	}
	/* As JSON.stringify writes it (the reference's wire), big ints exact. */
	text = js_json_dumps_exact(msg);
	if (jsonrpc_out_cb(text, strlen(text), j) != 0 ||
	    jsonrpc_out_cb("\n", 1, j) != 0)
		fatal("jsonrpc: cannot serialize a message");
	free(text);
	json_decref(msg);
	/*
	 * Written before the loop next waits (every message of this turn of
	 * the loop in one write), not a poll later: a proxy forwards each
	 * message at once. What the pipe does not take waits for wr_w.
	 */
	if (!ev_is_active(&j->wr_w))
		ev_prepare_start(j->loop, &j->flush_w);
	return (0);
}

/* Before the loop waits: write what was queued since (jsonrpc_send). */
static void
jsonrpc_flush_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct jsonrpc	*j = w->data;

	ev_prepare_stop(loop, w);
	if (j->wfd == -1 || j->out_off == j->out.len ||
	    (j->flags & JSONRPC_F_DEAD))
		return;
	ev_io_start(loop, &j->wr_w);
	j->busy++;
	jsonrpc_write_cb(loop, &j->wr_w, EV_WRITE);
	jsonrpc_unbusy(j);
}

static void
jsonrpc_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct jsonrpc	*j = w->data;
	ssize_t		 n;

	while (j->out_off < j->out.len) {
		n = write(j->wfd, j->out.p + j->out_off,
		    j->out.len - j->out_off);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* EPIPE and friends: the peer is gone. */
			jsonrpc_close_wfd(j);
			if (!(j->flags & JSONRPC_F_CLOSED)) {
				j->busy++;
				jsonrpc_finish(j, JSONRPC_CLOSE_IO);
				jsonrpc_unbusy(j);
			}
			return;
		}
		j->out_off += (size_t)n;
	}
	j->out_off = 0;
	buf_reset(&j->out);
	ev_io_stop(loop, w);
	if (j->out.cap > JSONRPC_SHRINK)
		buf_free(&j->out);
	if (j->flags & (JSONRPC_F_CLOSED|JSONRPC_F_WSHUT))
		jsonrpc_close_wfd(j);
}

/* Remember a request that cannot be sent; it completes CLOSED from the loop. */
static void
jsonrpc_unsent(struct jsonrpc *j, long long id, jsonrpc_done_cb cb, void *arg)
{
	jsonrpc_table_add(&j->unsent, id, cb, arg);
	ev_idle_start(j->loop, &j->defer_w);
}

static void
jsonrpc_defer_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct jsonrpc		*j = w->data;
	struct jsonrpc_pending	 p;
	size_t			 n;

	j->busy++;
	/* Only what is queued now: a callback adding more waits a turn. */
	for (n = j->unsent.n; n > 0 && j->unsent.n > 0; n--) {
		p = j->unsent.v[0];
		jsonrpc_table_remove(&j->unsent, 0);
		if (p.cb != NULL)
			p.cb(j, JSONRPC_CLOSED, NULL, NULL, p.arg);
		if (j->flags & JSONRPC_F_DEAD)
			break;
	}
	if (j->unsent.n == 0)
		ev_idle_stop(loop, w);
	jsonrpc_unbusy(j);
}

json_t *
jsonrpc_envelope(void)
{
	json_t	*msg;

	if ((msg = json_object()) == NULL ||
	    json_object_set_new(msg, "jsonrpc", json_string("2.0")) != 0)
		fatal("jsonrpc: cannot build a message");
	return (msg);
}

void
jsonrpc_set(json_t *msg, const char *key, json_t *value)
{
	if (value == NULL || json_object_set_new(msg, key, value) != 0)
		fatal("jsonrpc: cannot build a message (%s)", key);
}

/* Send a request; params stolen (may be NULL). Returns the id used. */
long long
jsonrpc_request(struct jsonrpc *j, const char *method, json_t *params,
    jsonrpc_done_cb cb, void *arg)
{
	json_t		*msg;
	long long	 id = j->next_id++;

	if (!jsonrpc_can_write(j)) {
		json_decref(params);
		jsonrpc_unsent(j, id, cb, arg);
		return (id);
	}
	msg = jsonrpc_envelope();
	jsonrpc_set(msg, "id", json_integer(id));
	jsonrpc_set(msg, "method", json_string(method));
	if (params != NULL)
		jsonrpc_set(msg, "params", params);

	jsonrpc_table_add(&j->pending, id, cb, arg);
	jsonrpc_send(j, msg);
	return (id);
}

/* Send a notification; params stolen (may be NULL). */
void
jsonrpc_notify(struct jsonrpc *j, const char *method, json_t *params)
{
	json_t	*msg;

	if (!jsonrpc_can_write(j)) {
		json_decref(params);
		return;
	}
	msg = jsonrpc_envelope();
	jsonrpc_set(msg, "method", json_string(method));
	if (params != NULL)
		jsonrpc_set(msg, "params", params);
	jsonrpc_send(j, msg);
}

static json_t *
jsonrpc_copy_id(const json_t *id)
{
	return (id == NULL ? json_null() : json_copy((json_t *)id));
}

/* Answer an inbound request; id borrowed, result stolen. */
void
jsonrpc_reply(struct jsonrpc *j, const json_t *id, json_t *result)
{
	json_t	*msg;

	if (!jsonrpc_can_write(j)) {
		json_decref(result);
		return;
	}
	msg = jsonrpc_envelope();
	jsonrpc_set(msg, "id", jsonrpc_copy_id(id));
	jsonrpc_set(msg, "result", result != NULL ? result : json_null());
	jsonrpc_send(j, msg);
}

int
jsonrpc_utf8_valid(const char *s, size_t len)
{
	json_t	*v;

	/* jansson's own check: a string it accepts is valid UTF-8. */
	if ((v = json_stringn(s, len)) == NULL)
		return (0);
	json_decref(v);
	return (1);
}

/* Answer with an error; id borrowed, data stolen (may be NULL). */
void
jsonrpc_reply_error(struct jsonrpc *j, const json_t *id, int code,
    const char *message, json_t *data)
{
	json_t	*msg, *error, *text;
	char	*fixed;
	size_t	 len;

	if (!jsonrpc_can_write(j)) {
		json_decref(data);
		return;
	}
	if ((text = json_string(message)) == NULL) {
		fixed = js_utf8_fix(message, strlen(message), &len);
		text = json_stringn(fixed, len);
		free(fixed);
	}
	error = json_object();
	jsonrpc_set(error, "code", json_integer(code));
	jsonrpc_set(error, "message", text);
	if (data != NULL)
		jsonrpc_set(error, "data", data);

	msg = jsonrpc_envelope();
	jsonrpc_set(msg, "id", jsonrpc_copy_id(id));
	jsonrpc_set(msg, "error", error);
	jsonrpc_send(j, msg);
}

/* ------------------------------------------------------------------- close */

/*
 * End the connection once: stop reading, settle the write side, complete
 * pending requests with CLOSED in id order, then tell the closed callback.
 * Called with j->busy held.
 */
void
jsonrpc_finish(struct jsonrpc *j, enum jsonrpc_close_reason reason)
{
	struct jsonrpc_pending	p;

	if (j->flags & (JSONRPC_F_CLOSED|JSONRPC_F_DEAD))
		return;
	j->flags |= JSONRPC_F_CLOSED;
	j->reason = reason;

	jsonrpc_close_rfd(j);
	if (reason == JSONRPC_CLOSE_IO || j->out_off == j->out.len)
		jsonrpc_close_wfd(j);	/* else the write callback will */

	while (j->pending.n > 0) {
		p = j->pending.v[0];
		jsonrpc_table_remove(&j->pending, 0);
		if (p.cb != NULL)
			p.cb(j, JSONRPC_CLOSED, NULL, NULL, p.arg);
		if (j->flags & JSONRPC_F_DEAD)
			return;
	}
	if (j->cb.closed != NULL)
		j->cb.closed(j, reason, j->arg);
}

/* Close locally: see jsonrpc.h. Callbacks run before this returns. */
void
jsonrpc_close(struct jsonrpc *j)
{
	if (j->flags & (JSONRPC_F_CLOSED|JSONRPC_F_DEAD))
		return;
	j->busy++;
	jsonrpc_finish(j, JSONRPC_CLOSE_LOCAL);
	jsonrpc_unbusy(j);
}

/* Close only our write side (stdin EOF to the agent) after flushing. */
void
jsonrpc_shutdown_write(struct jsonrpc *j)
{
	if (j->flags & JSONRPC_F_DEAD)
		return;
	j->flags |= JSONRPC_F_WSHUT;
	if (j->out_off == j->out.len)
		jsonrpc_close_wfd(j);
}

/* Number of requests still waiting for a response. */
size_t
jsonrpc_pending(const struct jsonrpc *j)
{
	return (j->pending.n + j->unsent.n);
}

/* Non-zero once closed; *reason (if not NULL) says why. */
int
jsonrpc_closed(const struct jsonrpc *j, enum jsonrpc_close_reason *reason)
{
	if (!(j->flags & JSONRPC_F_CLOSED))
		return (0);
	if (reason != NULL)
		*reason = j->reason;
	return (1);
}

void
jsonrpc_pause(struct jsonrpc *j, int on)
{
	if (on) {
		j->flags |= JSONRPC_F_PAUSED;
		ev_io_stop(j->loop, &j->rd_w);
		return;
	}
	j->flags &= ~JSONRPC_F_PAUSED;
	if (j->rfd != -1 && !(j->flags & (JSONRPC_F_CLOSED|JSONRPC_F_DEAD)))
		ev_io_start(j->loop, &j->rd_w);
}

/* The SDK's answer to a throwing handler. Caller owns. */
json_t *
jsonrpc_internal_error(const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;
	json_t	*e;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	e = json_pack("{s:i, s:s, s:{s:s}}", "code", -32603, "message",
	    "Internal error", "data", "details", msg);
	free(msg);
	return (e);
}
