#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <jansson.h>

#include "js-json.h"
#include "js.h"
#include "jsonrpc.h"
#include "jsonrpc-impl.h"
#include "linebuf.h"
#include "xmalloc.h"

/*
 * The input half of a JSON-RPC connection: read NDJSON through the capped
 * linebuf, trim each line as String.prototype.trim() does, parse it (bad
 * UTF-8 and 64-bit overflow repaired as Node would; noise reported with
 * JSON.parse's message) and classify it as the ACP SDK does: request,
 * notification, response, or the SDK's "Invalid request" reply.
 */

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
		fixed = js_utf8_fix(line, len, &tlen);
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

	xmalloc_arena_begin();
	msg = json_loadb(line, len, JSONRPC_DECODE, &error);
	xmalloc_arena_end();
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

void
jsonrpc_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct jsonrpc	*j = w->data;

	j->busy++;
	jsonrpc_read(j);
	jsonrpc_unbusy(j);
}

