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

/* Length of the JavaScript whitespace character starting at p, or 0. */
static size_t
jsonrpc_space(const unsigned char *p, size_t n)
{
	if (n == 0)
		return (0);
	if (p[0] == ' ' || (p[0] >= 0x09 && p[0] <= 0x0d))
		return (1);
	if (n >= 2 && p[0] == 0xc2 && p[1] == 0xa0)		/* U+00A0 */
		return (2);
	if (n < 3)
		return (0);
	/* U+1680; U+2000-200A, 2028, 2029, 202F; U+205F; U+3000; U+FEFF */
	if ((p[0] == 0xe1 && p[1] == 0x9a && p[2] == 0x80) ||
	    (p[0] == 0xe2 && p[1] == 0x80 &&
	    ((p[2] >= 0x80 && p[2] <= 0x8a) ||
	    p[2] == 0xa8 || p[2] == 0xa9 || p[2] == 0xaf)) ||
	    (p[0] == 0xe2 && p[1] == 0x81 && p[2] == 0x9f) ||
	    (p[0] == 0xe3 && p[1] == 0x80 && p[2] == 0x80) ||
	    (p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf))
		return (3);
	return (0);
}

/* Trim as String.prototype.trim() does, on the raw bytes. */
static void
jsonrpc_trim(char **line, size_t *len)
{
	unsigned char	*p = (unsigned char *)*line;
	size_t		 n = *len, k;

	while ((k = jsonrpc_space(p, n)) != 0) {
		p += k;
		n -= k;
	}
	for (;;) {
		if (n >= 1 && jsonrpc_space(p + n - 1, 1) == 1)
			n -= 1;
		else if (n >= 2 && jsonrpc_space(p + n - 2, 2) == 2)
			n -= 2;
		else if (n >= 3 && jsonrpc_space(p + n - 3, 3) == 3)
			n -= 3;
		else
			break;
	}
	*line = (char *)p;
	*len = n;
}

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
		if ((why = jsonrpc_syntax_error(text, tlen)) == NULL)
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
	json_t		*msg;
	json_error_t	 error;

	jsonrpc_trim(&line, &len);
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

/* ------------------------------------------------------- JSON.parse errors */

/*
 * What V8's JSON.parse (Node 20) throws for a line, so noise reads as it
 * does from the reference. This walks the text exactly as V8's JsonParser
 * does, on UTF-16 code units (positions in the message are UTF-16 offsets),
 * and stops at the first error.
 */

enum jsonrpc_v8_token {
	V8_STRING, V8_NUMBER, V8_LBRACE, V8_RBRACE, V8_LBRACK, V8_RBRACK,
	V8_TRUE, V8_FALSE, V8_NULL, V8_SPACE, V8_COLON, V8_COMMA, V8_ILLEGAL,
	V8_EOS
};

struct jsonrpc_v8 {
	const uint16_t	*u;
	size_t		 n;
	size_t		 pos;
	int		 token;		/* found at the error */
	const char	*msg;		/* a fixed message, or NULL */
};

#define V8_EXPECT_PROP		"Expected property name or '}' in JSON"
#define V8_EXPECT_DQPROP	"Expected double-quoted property name in JSON"
#define V8_EXPECT_COLON	\
	"Expected ':' after property name in JSON"
#define V8_EXPECT_ARRAY	\
	"Expected ',' or ']' after array element in JSON"
#define V8_EXPECT_OBJECT \
	"Expected ',' or '}' after property value in JSON"
#define V8_TRAILING \
	"Unexpected non-whitespace character after JSON"
#define V8_UNTERM_STRING	"Unterminated string in JSON"
#define V8_BAD_CONTROL \
	"Bad control character in string literal in JSON"
#define V8_BAD_ESCAPE		"Bad escaped character in JSON"
#define V8_BAD_UNICODE		"Bad Unicode escape in JSON"
#define V8_NO_NUMBER		"No number after minus sign in JSON"
#define V8_UNTERM_FRACTION	"Unterminated fractional number in JSON"
#define V8_NO_EXPONENT \
	"Exponent part is missing a number in JSON"

static int
jsonrpc_v8_cur(const struct jsonrpc_v8 *v)
{
	return (v->pos < v->n ? v->u[v->pos] : -1);
}

static enum jsonrpc_v8_token
jsonrpc_v8_token(int c)
{
	switch (c) {
	case -1:
		return (V8_EOS);
	case '"':
		return (V8_STRING);
	case '-': case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		return (V8_NUMBER);
	case '{':
		return (V8_LBRACE);
	case '}':
		return (V8_RBRACE);
	case '[':
		return (V8_LBRACK);
	case ']':
		return (V8_RBRACK);
	case 't':
		return (V8_TRUE);
	case 'f':
		return (V8_FALSE);
	case 'n':
		return (V8_NULL);
	case ' ': case '\t': case '\n': case '\r':
		return (V8_SPACE);
	case ':':
		return (V8_COLON);
	case ',':
		return (V8_COMMA);
	}
	return (V8_ILLEGAL);
}

static int
jsonrpc_v8_fail(struct jsonrpc_v8 *v, enum jsonrpc_v8_token token,
    const char *msg)
{
	v->token = token;
	v->msg = msg;
	return (-1);
}

/* V8's ReportUnexpectedCharacter at the cursor. */
static int
jsonrpc_v8_unexpected(struct jsonrpc_v8 *v)
{
	return (jsonrpc_v8_fail(v, jsonrpc_v8_token(jsonrpc_v8_cur(v)), NULL));
}

static int
jsonrpc_v8_digit(int c)
{
	return (c >= '0' && c <= '9');
}

static int
jsonrpc_v8_hex(int c)
{
	return (jsonrpc_v8_digit(c) || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F'));
}

static void
jsonrpc_v8_space(struct jsonrpc_v8 *v)
{
	while (jsonrpc_v8_token(jsonrpc_v8_cur(v)) == V8_SPACE)
		v->pos++;
}

/* At an opening quote: scan a string. */
static int
jsonrpc_v8_string(struct jsonrpc_v8 *v)
{
	int	c, i;

	v->pos++;
	for (;;) {
		if ((c = jsonrpc_v8_cur(v)) == -1)
			return (jsonrpc_v8_fail(v, V8_ILLEGAL,
			    V8_UNTERM_STRING));
		if (c == '"') {
			v->pos++;
			return (0);
		}
		if (c < 0x20)
			return (jsonrpc_v8_fail(v, V8_ILLEGAL, V8_BAD_CONTROL));
		if (c != '\\') {
			v->pos++;
			continue;
		}
		v->pos++;
		c = jsonrpc_v8_cur(v);
		if (c == -1 || c > 0xff)
			return (jsonrpc_v8_unexpected(v));
		switch (c) {
		case '"': case '\\': case '/': case 'b': case 'f': case 'n':
		case 'r': case 't':
			break;
		case 'u':
			for (i = 0; i < 4; i++) {
				v->pos++;
				if (!jsonrpc_v8_hex(jsonrpc_v8_cur(v)))
					return (jsonrpc_v8_fail(v, V8_ILLEGAL,
					    V8_BAD_UNICODE));
			}
			break;
		default:
			return (jsonrpc_v8_fail(v, V8_ILLEGAL, V8_BAD_ESCAPE));
		}
		v->pos++;
	}
}

static int
jsonrpc_v8_number(struct jsonrpc_v8 *v)
{
	int	c = jsonrpc_v8_cur(v);

	if (c == '-') {
		v->pos++;
		c = jsonrpc_v8_cur(v);
	}
	if (c == '0') {
		v->pos++;
		if (jsonrpc_v8_digit(jsonrpc_v8_cur(v)))
			return (jsonrpc_v8_fail(v, V8_NUMBER, NULL));
	} else {
		if (!jsonrpc_v8_digit(c))
			return (jsonrpc_v8_fail(v, V8_ILLEGAL, V8_NO_NUMBER));
		while (jsonrpc_v8_digit(jsonrpc_v8_cur(v)))
			v->pos++;
	}
	if (jsonrpc_v8_cur(v) == '.') {
		v->pos++;
		if (!jsonrpc_v8_digit(jsonrpc_v8_cur(v)))
			return (jsonrpc_v8_fail(v, V8_ILLEGAL,
			    V8_UNTERM_FRACTION));
		while (jsonrpc_v8_digit(jsonrpc_v8_cur(v)))
			v->pos++;
	}
	if ((jsonrpc_v8_cur(v) | 0x20) == 'e') {
		v->pos++;
		c = jsonrpc_v8_cur(v);
		if (c == '-' || c == '+')
			v->pos++;
		if (!jsonrpc_v8_digit(jsonrpc_v8_cur(v)))
			return (jsonrpc_v8_fail(v, V8_ILLEGAL, V8_NO_EXPONENT));
		while (jsonrpc_v8_digit(jsonrpc_v8_cur(v)))
			v->pos++;
	}
	return (0);
}

/* At the first letter of true/false/null. */
static int
jsonrpc_v8_literal(struct jsonrpc_v8 *v, const char *lit)
{
	size_t	len = strlen(lit), left = v->n - v->pos, i;

	for (i = 1; i < len && i < left; i++) {
		if (v->u[v->pos + i] != (unsigned char)lit[i]) {
			v->pos += i;
			return (jsonrpc_v8_unexpected(v));
		}
	}
	if (i == len) {
		v->pos += len;
		return (0);
	}
	v->pos = v->n;
	return (jsonrpc_v8_fail(v, V8_EOS, NULL));
}

/* Skip spaces, then a property name and its colon. */
static int
jsonrpc_v8_key(struct jsonrpc_v8 *v, const char *nokey, const char *nocolon)
{
	jsonrpc_v8_space(v);
	if (jsonrpc_v8_cur(v) != '"')
		return (jsonrpc_v8_fail(v,
		    jsonrpc_v8_token(jsonrpc_v8_cur(v)), nokey));
	if (jsonrpc_v8_string(v) != 0)
		return (-1);
	jsonrpc_v8_space(v);
	if (jsonrpc_v8_cur(v) != ':')
		return (jsonrpc_v8_fail(v,
		    jsonrpc_v8_token(jsonrpc_v8_cur(v)), nocolon));
	v->pos++;
	return (0);
}

/* Run V8's parser loop; 0 if the text is valid JSON. */
static int
jsonrpc_v8_parse(struct jsonrpc_v8 *v)
{
	char	*stack = NULL;		/* '{' or '[' per level */
	size_t	 depth = 0, size = 0;
	int	 rv = -1;

	for (;;) {
		/* Produce a value. */
		jsonrpc_v8_space(v);
		switch (jsonrpc_v8_token(jsonrpc_v8_cur(v))) {
		case V8_STRING:
			if (jsonrpc_v8_string(v) != 0)
				goto out;
			break;
		case V8_NUMBER:
			if (jsonrpc_v8_number(v) != 0)
				goto out;
			break;
		case V8_TRUE:
		case V8_FALSE:
		case V8_NULL:
			if (jsonrpc_v8_literal(v, jsonrpc_v8_cur(v) == 't' ?
			    "true" : jsonrpc_v8_cur(v) == 'f' ? "false" :
			    "null") != 0)
				goto out;
			break;
		case V8_LBRACE:
		case V8_LBRACK:
			if (depth == size) {
				size = size == 0 ? 64 : size * 2;
				stack = xreallocarray(stack, size, 1);
			}
			stack[depth] = (char)jsonrpc_v8_cur(v);
			v->pos++;
			jsonrpc_v8_space(v);
			if (jsonrpc_v8_cur(v) ==
			    (stack[depth] == '{' ? '}' : ']')) {
				v->pos++;
				break;		/* empty */
			}
			depth++;
			if (stack[depth - 1] == '{' &&
			    jsonrpc_v8_key(v, V8_EXPECT_PROP,
			    V8_EXPECT_COLON) != 0)
				goto out;
			continue;
		default:
			jsonrpc_v8_unexpected(v);
			goto out;
		}

		/* Fit it into its container. */
		for (;;) {
			if (depth == 0)
				goto done;
			jsonrpc_v8_space(v);
			if (jsonrpc_v8_cur(v) == ',') {
				v->pos++;
				if (stack[depth - 1] == '{' &&
				    jsonrpc_v8_key(v, V8_EXPECT_DQPROP,
				    NULL) != 0)
					goto out;
				break;
			}
			if (stack[depth - 1] == '{' &&
			    jsonrpc_v8_cur(v) != '}') {
				jsonrpc_v8_fail(v,
				    jsonrpc_v8_token(jsonrpc_v8_cur(v)),
				    V8_EXPECT_OBJECT);
				goto out;
			}
			if (stack[depth - 1] == '[' &&
			    jsonrpc_v8_cur(v) != ']') {
				jsonrpc_v8_fail(v,
				    jsonrpc_v8_token(jsonrpc_v8_cur(v)),
				    V8_EXPECT_ARRAY);
				goto out;
			}
			v->pos++;
			depth--;
		}
	}
done:
	jsonrpc_v8_space(v);
	if (v->pos != v->n)
		jsonrpc_v8_fail(v, jsonrpc_v8_token(jsonrpc_v8_cur(v)),
		    V8_TRAILING);
	else
		rv = 0;
out:
	free(stack);
	return (rv);
}

/* Append UTF-16 units u[from, to) as UTF-8; lone surrogates become U+FFFD. */
static void
jsonrpc_v8_utf8(const uint16_t *u, size_t from, size_t to, char **out,
    size_t *len)
{
	char		*p;
	uint32_t	 c;
	size_t		 i;

	*out = xreallocarray(*out, 1, *len + (to - from) * 3 + 1);
	p = *out + *len;
	for (i = from; i < to; i++) {
		c = u[i];
		if (c >= 0xd800 && c <= 0xdbff && i + 1 < to &&
		    u[i + 1] >= 0xdc00 && u[i + 1] <= 0xdfff) {
			c = 0x10000 + ((c - 0xd800) << 10) +
			    (u[i + 1] - 0xdc00);
			i++;
		} else if ((c >= 0xd800 && c <= 0xdfff) || c == 0)
			c = 0xfffd;	/* and NUL (C strings) */
		if (c < 0x80)
			*p++ = (char)c;
		else if (c < 0x800) {
			*p++ = (char)(0xc0 | (c >> 6));
			*p++ = (char)(0x80 | (c & 0x3f));
		} else if (c < 0x10000) {
			*p++ = (char)(0xe0 | (c >> 12));
			*p++ = (char)(0x80 | ((c >> 6) & 0x3f));
			*p++ = (char)(0x80 | (c & 0x3f));
		} else {
			*p++ = (char)(0xf0 | (c >> 18));
			*p++ = (char)(0x80 | ((c >> 12) & 0x3f));
			*p++ = (char)(0x80 | ((c >> 6) & 0x3f));
			*p++ = (char)(0x80 | (c & 0x3f));
		}
	}
	*p = '\0';
	*len = (size_t)(p - *out);
}

static void
jsonrpc_v8_append(const char *s, char **out, size_t *len)
{
	size_t	n = strlen(s);

	*out = xreallocarray(*out, 1, *len + n + 1);
	memcpy(*out + *len, s, n + 1);
	*len += n;
}

static int
jsonrpc_v8_is(const struct jsonrpc_v8 *v, const char *s)
{
	size_t	i;

	if (strlen(s) != v->n)
		return (0);
	for (i = 0; i < v->n; i++) {
		if (v->u[i] != (unsigned char)s[i])
			return (0);
	}
	return (1);
}

/* V8's "Unexpected token" text, with its 10-unit context window. */
static char *
jsonrpc_v8_token_text(const struct jsonrpc_v8 *v)
{
	char	*out = NULL;
	size_t	 len = 0, from = 0, to = v->n;
	int	 lead = 0, trail = 0;

	if (jsonrpc_v8_is(v, "[object Object]") ||
	    jsonrpc_v8_is(v, "undefined") || jsonrpc_v8_is(v, "Infinity") ||
	    jsonrpc_v8_is(v, "NaN")) {
		jsonrpc_v8_append("SyntaxError: \"", &out, &len);
		jsonrpc_v8_utf8(v->u, 0, v->n, &out, &len);
		jsonrpc_v8_append("\" is not valid JSON", &out, &len);
		return (out);
	}
	if (v->n > 20) {
		if (v->pos < 10) {
			to = v->pos + 10;
			trail = 1;
		} else {
			from = v->pos - 10;
			lead = 1;
			if (v->pos < v->n - 10) {
				to = v->pos + 10;
				trail = 1;
			}
		}
	}
	jsonrpc_v8_append("SyntaxError: Unexpected token '", &out, &len);
	jsonrpc_v8_utf8(v->u, v->pos, v->pos + 1, &out, &len);
	jsonrpc_v8_append(lead ? "', ...\"" : "', \"", &out, &len);
	jsonrpc_v8_utf8(v->u, from, to, &out, &len);
	jsonrpc_v8_append(trail ? "\"... is not valid JSON" :
	    "\" is not valid JSON", &out, &len);
	return (out);
}

/* Decode valid UTF-8 into UTF-16 units. Caller frees. */
static uint16_t *
jsonrpc_utf16(const char *text, size_t len, size_t *n)
{
	const unsigned char	*s = (const unsigned char *)text;
	uint16_t		*u;
	uint32_t		 c;
	size_t			 i = 0, o = 0;

	u = xreallocarray(NULL, len + 1, sizeof *u);
	while (i < len) {
		c = s[i];
		if (c < 0x80)
			i += 1;
		else if (c < 0xe0 && i + 1 < len) {
			c = ((c & 0x1f) << 6) | (s[i + 1] & 0x3f);
			i += 2;
		} else if (c < 0xf0 && i + 2 < len) {
			c = ((c & 0x0f) << 12) | ((s[i + 1] & 0x3f) << 6) |
			    (s[i + 2] & 0x3f);
			i += 3;
		} else if (i + 3 < len) {
			c = ((c & 0x07) << 18) | ((s[i + 1] & 0x3f) << 12) |
			    ((s[i + 2] & 0x3f) << 6) | (s[i + 3] & 0x3f);
			i += 4;
		} else {
			c = 0xfffd;	/* cannot happen on valid input */
			i = len;
		}
		if (c >= 0x10000) {
			c -= 0x10000;
			u[o++] = (uint16_t)(0xd800 + (c >> 10));
			u[o++] = (uint16_t)(0xdc00 + (c & 0x3ff));
		} else
			u[o++] = (uint16_t)c;
	}
	*n = o;
	return (u);
}

/*
 * The error Node's JSON.parse throws for text (valid UTF-8, already
 * trimmed), as "SyntaxError: <message>"; NULL if V8 would accept it.
 * Caller frees.
 */
char *
jsonrpc_syntax_error(const char *text, size_t len)
{
	struct jsonrpc_v8	 v;
	char			*why = NULL;

	memset(&v, 0, sizeof v);
	v.u = jsonrpc_utf16(text, len, &v.n);
	if (jsonrpc_v8_parse(&v) == 0)
		goto out;

	if (v.msg != NULL)
		xasprintf(&why, "SyntaxError: %s at position %zu", v.msg,
		    v.pos);
	else if (v.token == V8_EOS)
		why = xstrdup("SyntaxError: Unexpected end of JSON input");
	else if (v.token == V8_NUMBER)
		xasprintf(&why, "SyntaxError: Unexpected number in JSON at "
		    "position %zu", v.pos);
	else if (v.token == V8_STRING)
		xasprintf(&why, "SyntaxError: Unexpected string in JSON at "
		    "position %zu", v.pos);
	else
		why = jsonrpc_v8_token_text(&v);
out:
	free((void *)v.u);
	return (why);
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
