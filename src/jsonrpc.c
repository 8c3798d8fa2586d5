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
#include "linebuf.h"
#include "utf8.h"
#include "xmalloc.h"

/*
 * JSON-RPC 2.0 over NDJSON. Inbound bytes go through a capped linebuf; each
 * line is trimmed (the JavaScript String.prototype.trim() set, as the
 * reference does), parsed by jansson and classified the way the reference's
 * ACP SDK does it: a request has a string method and a valid id, a
 * notification a string method and no id, a response an id and no method.
 * Anything else gets the SDK's "Invalid request" error reply (id null).
 * Lines that do not parse go to the noise callback with the text Node's
 * JSON.parse would have thrown, so the client can print what the reference
 * prints.
 *
 * Objects are never freed inside their own callback: every path that calls
 * out holds j->busy, jsonrpc_free() inside a callback only marks the
 * connection dead (stopping all I/O at once), and the last frame to leave
 * releases the memory.
 */

#define JSONRPC_READ	(64 * 1024)
#define JSONRPC_SHRINK	(1024 * 1024)	/* free idle buffers above */
#define JSONRPC_DECODE	(JSON_DECODE_ANY|JSON_ALLOW_NUL)

struct jsonrpc_pending {
	long long	 id;
	jsonrpc_done_cb	 cb;
	void		*arg;
};

struct jsonrpc_table {
	struct jsonrpc_pending	*v;	/* sorted by id */
	size_t			 n;
	size_t			 size;
};

struct jsonrpc {
	struct ev_loop		*loop;
	int			 rfd;
	int			 wfd;
	int			 sock;		/* rfd == wfd */
	ev_io			 rd_w;
	ev_io			 wr_w;		/* while output waits */
	ev_idle			 defer_w;	/* unsent completions */
	struct linebuf		*in;

	char			*out;
	size_t			 out_off;
	size_t			 out_len;
	size_t			 out_size;

	struct jsonrpc_callbacks cb;
	void			*arg;

	long long		 next_id;
	struct jsonrpc_table	 pending;	/* sent, no response yet */
	struct jsonrpc_table	 unsent;	/* asked for after close */

	int			 flags;
#define JSONRPC_F_CLOSED	0x1	/* no reads; pendings completed */
#define JSONRPC_F_WSHUT		0x2	/* close wfd once flushed */
#define JSONRPC_F_DEAD		0x4	/* freed inside a callback */
	int			 busy;		/* callback depth */
	enum jsonrpc_close_reason reason;
};

static void	jsonrpc_read_cb(struct ev_loop *, ev_io *, int);
static void	jsonrpc_write_cb(struct ev_loop *, ev_io *, int);
static void	jsonrpc_defer_cb(struct ev_loop *, ev_idle *, int);
static void	jsonrpc_finish(struct jsonrpc *, enum jsonrpc_close_reason);

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
static int
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
	free(j->out);
	free(j->pending.v);
	free(j->unsent.v);
	free(j);
}

/* Leave a callback section; returns 1 if j is gone. */
static int
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
	j->out_off = j->out_len = 0;
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
	size_t		 want;

	if (j->out_off == j->out_len)
		j->out_off = j->out_len = 0;
	if (j->out_size - j->out_len < size && j->out_off != 0) {
		memmove(j->out, j->out + j->out_off, j->out_len - j->out_off);
		j->out_len -= j->out_off;
		j->out_off = 0;
	}
	if (j->out_size - j->out_len < size) {
		want = j->out_size == 0 ? 4096 : j->out_size;
		while (want - j->out_len < size) {
			if (want > SIZE_MAX / 2)
				return (-1);
			want *= 2;
		}
		j->out = xreallocarray(j->out, 1, want);
		j->out_size = want;
	}
	memcpy(j->out + j->out_len, buf, size);
	j->out_len += size;
	return (0);
}

static int
jsonrpc_can_write(const struct jsonrpc *j)
{
	return (j->wfd != -1 &&
	    !(j->flags & (JSONRPC_F_CLOSED|JSONRPC_F_WSHUT|JSONRPC_F_DEAD)));
}

/*
 * Show msg to the tap, then queue it as one line. Steals msg. Returns -1 if
 * the tap freed the connection.
 */
static int
jsonrpc_send(struct jsonrpc *j, json_t *msg)
{
	int	gone;

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
	if (json_dump_callback(msg, jsonrpc_out_cb, j, JSON_COMPACT) != 0 ||
	    jsonrpc_out_cb("\n", 1, j) != 0)
		fatal("jsonrpc: cannot serialize a message");
	json_decref(msg);
	ev_io_start(j->loop, &j->wr_w);
	return (0);
}

static void
jsonrpc_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct jsonrpc	*j = w->data;
	ssize_t		 n;

	while (j->out_off < j->out_len) {
		n = write(j->wfd, j->out + j->out_off, j->out_len - j->out_off);
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
	j->out_off = j->out_len = 0;
	ev_io_stop(loop, w);
	if (j->out_size > JSONRPC_SHRINK) {
		free(j->out);
		j->out = NULL;
		j->out_size = 0;
	}
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

static json_t *
jsonrpc_envelope(void)
{
	json_t	*msg;

	if ((msg = json_object()) == NULL ||
	    json_object_set_new(msg, "jsonrpc", json_string("2.0")) != 0)
		fatal("jsonrpc: cannot build a message");
	return (msg);
}

static void
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

static int
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
		fixed = utf8_fix(message, strlen(message), &len);
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

/* ------------------------------------------------------------------- input */

static void
jsonrpc_diag(struct jsonrpc *j, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
jsonrpc_diag(struct jsonrpc *j, const char *fmt, ...)
{
	va_list	 ap;
	char	*text;

	if (j->cb.diag == NULL)
		return;
	va_start(ap, fmt);
	xvasprintf(&text, fmt, ap);
	va_end(ap);
	j->cb.diag(j, text, j->arg);
	free(text);
}

/* A line that did not parse at first: repair what Node would have. */
static json_t *
jsonrpc_parse_hard(struct jsonrpc *j, const char *line, size_t len,
    json_error_t *error)
{
	json_t		*msg = NULL;
	char		*fixed = NULL, *why;
	const char	*text = line;
	size_t		 tlen = len;

	/* Node decodes with replacement characters; jansson refuses. */
	if (!jsonrpc_utf8_valid(line, len)) {
		fixed = utf8_fix(line, len, &tlen);
		text = fixed;
		msg = json_loadb(text, tlen, JSONRPC_DECODE, error);
	}
	/* Integers past 64 bits are plain numbers to JavaScript. */
	if (msg == NULL &&
	    json_error_code(error) == json_error_numeric_overflow)
		msg = json_loadb(text, tlen,
		    JSONRPC_DECODE|JSON_DECODE_INT_AS_REAL, error);
	if (msg == NULL && j->cb.noise != NULL) {
		if ((why = js_json_syntax_error(text, tlen)) == NULL)
			xasprintf(&why, "SyntaxError: %s", error->text);
		j->cb.noise(j, text, tlen, why, j->arg);
		free(why);
	}
	free(fixed);
	return (msg);
}

/* A JSON-RPC id the SDK accepts: null, a string or a finite number. */
static int
jsonrpc_id_valid(const json_t *id)
{
	return (json_is_null(id) || json_is_string(id) || json_is_number(id));
}

/* The pending-table key for an id, if it can be one of ours. */
static int
jsonrpc_id_number(const json_t *id, long long *n)
{
	double	d;

	if (json_is_integer(id)) {
		*n = json_integer_value(id);
		return (1);
	}
	if (json_is_real(id)) {
		d = json_real_value(id);
		if (d >= 0 && d < 9007199254740992.0 &&
		    d == (double)(long long)d) {
			*n = (long long)d;
			return (1);
		}
	}
	return (0);
}

static int
jsonrpc_is_error_object(const json_t *e)
{
	const json_t	*code = json_object_get(e, "code");
	double		 d;

	if (!json_is_string(json_object_get(e, "message")))
		return (0);
	if (json_is_integer(code))
		return (1);
	if (json_is_real(code)) {
		d = json_real_value(code);
		return (d > -9.3e18 && d < 9.3e18 && d == (double)(long long)d);
	}
	return (0);
}

/* The SDK's RequestError.invalidRequest(data) as an error object. */
static json_t *
jsonrpc_invalid_request(json_t *data)
{
	json_t	*error = json_object();

	jsonrpc_set(error, "code", json_integer(-32600));
	jsonrpc_set(error, "message", json_string("Invalid request"));
	json_object_set(error, "data", data);
	return (error);
}

static void
jsonrpc_response(struct jsonrpc *j, json_t *msg, const json_t *id,
    int envelope)
{
	struct jsonrpc_pending	 p;
	const json_t		*result, *error;
	json_t			*bad;
	long long		 n;
	char			*text;

	if (!jsonrpc_id_number(id, &n) ||
	    !jsonrpc_table_take(&j->pending, n, &p)) {
		if (json_is_string(id))
			jsonrpc_diag(j, "Got response to unknown request %s",
			    json_string_value(id));
		else {
			text = json_dumps(id, JSON_ENCODE_ANY|JSON_COMPACT);
			jsonrpc_diag(j, "Got response to unknown request %s",
			    text != NULL ? text : "?");
			free(text);
		}
		return;
	}
	if (p.cb == NULL)
		return;

	result = json_object_get(msg, "result");
	error = json_object_get(msg, "error");
	if (!envelope || (result == NULL) == (error == NULL) ||
	    (error != NULL && !jsonrpc_is_error_object(error))) {
		bad = jsonrpc_invalid_request(msg);
		p.cb(j, JSONRPC_ERROR, NULL, bad, p.arg);
		json_decref(bad);
	} else if (result != NULL)
		p.cb(j, JSONRPC_RESULT, result, NULL, p.arg);
	else
		p.cb(j, JSONRPC_ERROR, NULL, error, p.arg);
}

/* The SDK's answer to a request nobody handles. */
static void
jsonrpc_method_not_found(struct jsonrpc *j, const json_t *id,
    const json_t *method)
{
	char	*text;

	xasprintf(&text, "\"Method not found\": %s", json_string_value(method));
	jsonrpc_reply_error(j, id, -32601, text,
	    json_pack("{s:O}", "method", (json_t *)method));
	free(text);
}

/* Route one inbound object as the reference's SDK does. */
static void
jsonrpc_dispatch(struct jsonrpc *j, json_t *msg)
{
	const json_t	*v, *id, *method, *params;
	json_t		*reply;
	char		*text;
	int		 envelope;

	v = json_object_get(msg, "jsonrpc");
	envelope = json_is_string(v) && json_string_length(v) == 3 &&
	    memcmp(json_string_value(v), "2.0", 3) == 0;
	id = json_object_get(msg, "id");
	method = json_object_get(msg, "method");
	params = json_object_get(msg, "params");

	if (envelope && json_is_string(method)) {
		if (id == NULL) {
			if (j->cb.notify != NULL)
				j->cb.notify(j, json_string_value(method),
				    params, j->arg);
			return;
		}
		if (jsonrpc_id_valid(id)) {
			if (j->cb.request != NULL)
				j->cb.request(j, id, json_string_value(method),
				    params, j->arg);
			else
				jsonrpc_method_not_found(j, id, method);
			return;
		}
	}
	if (method == NULL && (id != NULL ||
	    json_object_get(msg, "result") != NULL ||
	    json_object_get(msg, "error") != NULL)) {
		if (id != NULL)
			jsonrpc_response(j, msg, id, envelope);
		else {
			text = json_dumps(msg, JSON_COMPACT);
			jsonrpc_diag(j, "Invalid message { message: %s }",
			    text != NULL ? text : "?");
			free(text);
		}
		return;
	}

	/* Not a call and not response-shaped: the SDK answers -32600. */
	if (!jsonrpc_can_write(j))
		return;
	reply = jsonrpc_envelope();
	jsonrpc_set(reply, "id", json_null());
	jsonrpc_set(reply, "error", jsonrpc_invalid_request(msg));
	jsonrpc_send(j, reply);
}

/* One line from the peer. */
static void
jsonrpc_line(struct jsonrpc *j, char *line, size_t len)
{
	const char	*t;
	json_t		*msg;
	json_error_t	 error;

	t = line;
	js_trim(&t, &len);
	line = (char *)t;
	if (len == 0)
		return;

	msg = json_loadb(line, len, JSONRPC_DECODE, &error);
	if (msg == NULL &&
	    (msg = jsonrpc_parse_hard(j, line, len, &error)) == NULL)
		return;
	if (!json_is_object(msg)) {
		/* The reference drops these without a word. */
		if (j->cb.noise != NULL)
			j->cb.noise(j, line, len, JSONRPC_NOISE_NOT_OBJECT,
			    j->arg);
		json_decref(msg);
		return;
	}

	if (j->cb.tap != NULL) {
		j->cb.tap(j, msg, 0, j->arg);
		if (j->flags & (JSONRPC_F_DEAD|JSONRPC_F_CLOSED)) {
			json_decref(msg);
			return;
		}
	}
	jsonrpc_dispatch(j, msg);
	json_decref(msg);
}

static void
jsonrpc_read(struct jsonrpc *j)
{
	enum linebuf_status	 st;
	char			*p;
	size_t			 len;
	ssize_t			 n;

	p = linebuf_reserve(j->in, JSONRPC_READ);
	n = read(j->rfd, p, JSONRPC_READ);
	if (n == -1) {
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		jsonrpc_finish(j, JSONRPC_CLOSE_IO);
		return;
	}
	if (n == 0) {
		/* Like the reference, an unterminated last line is dropped. */
		jsonrpc_finish(j, JSONRPC_CLOSE_EOF);
		return;
	}
	linebuf_commit(j->in, (size_t)n);

	for (;;) {
		st = linebuf_next(j->in, &p, &len);
		if (st == LINEBUF_NEED_MORE)
			break;
		if (st == LINEBUF_TOO_LONG) {
			jsonrpc_finish(j, JSONRPC_CLOSE_TOO_LARGE);
			break;
		}
		jsonrpc_line(j, p, len);
		if (j->flags & (JSONRPC_F_DEAD|JSONRPC_F_CLOSED))
			break;
	}
}

static void
jsonrpc_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct jsonrpc	*j = w->data;

	j->busy++;
	jsonrpc_read(j);
	jsonrpc_unbusy(j);
}

/* ------------------------------------------------------------------- close */

/*
 * End the connection once: stop reading, settle the write side, complete
 * pending requests with CLOSED in id order, then tell the closed callback.
 * Called with j->busy held.
 */
static void
jsonrpc_finish(struct jsonrpc *j, enum jsonrpc_close_reason reason)
{
	struct jsonrpc_pending	p;

	if (j->flags & (JSONRPC_F_CLOSED|JSONRPC_F_DEAD))
		return;
	j->flags |= JSONRPC_F_CLOSED;
	j->reason = reason;

	jsonrpc_close_rfd(j);
	if (reason == JSONRPC_CLOSE_IO || j->out_off == j->out_len)
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
	if (j->out_off == j->out_len)
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
