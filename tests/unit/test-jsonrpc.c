/*
 * jsonrpc: framing, dispatch, id matching, noise, caps, closing and freeing
 * from callbacks, against a fake peer on a pair of pipes in this process.
 */
#include <config.h>

#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <jansson.h>

#include "js-json.h"
#include "jsonrpc.h"
#include "xmalloc.h"
#include "tap.h"

/* The fake peer: what it sends is written from the loop, non-blocking. */
struct peer {
	struct ev_loop	*loop;
	int		 to_rpc;	/* we write, jsonrpc reads */
	int		 from_rpc;	/* jsonrpc writes, we read */
	char		*out;
	size_t		 out_len;
	size_t		 out_off;
	int		 eof_after;	/* close to_rpc once out is written */
	ev_io		 w;
};

/* Everything the connection reported, one line per event. */
struct rec {
	struct jsonrpc	*j;
	char		*log;
	size_t		 log_len;
	int		 closed;
	int		 done;
	int		 free_in_notify;
	int		 free_in_done;
	int		 close_in_notify;
	int		 closed_reason_in_done;
	long		 notifies;
};

static struct rec	*cur;	/* for done callbacks, whose arg is a label */

static void
rec_add(struct rec *r, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 n;

	va_start(ap, fmt);
	n = xvasprintf(&s, fmt, ap);
	va_end(ap);
	r->log = xreallocarray(r->log, 1, r->log_len + n + 2);
	memcpy(r->log + r->log_len, s, n);
	r->log_len += n;
	r->log[r->log_len++] = '\n';
	r->log[r->log_len] = '\0';
	free(s);
}

static char *
dump(const json_t *v)
{
	char	*s = json_dumps(v, JSON_COMPACT|JSON_ENCODE_ANY);

	return (s != NULL ? s : xstrdup("(null)"));
}

static void
on_request(struct jsonrpc *j, const json_t *id, const char *method,
    const json_t *params, void *arg)
{
	struct rec	*r = arg;
	char		*i = dump(id), *p = params ? dump(params) : xstrdup("-");

	rec_add(r, "request %s %s %s", i, method, p);
	free(i);
	free(p);
	if (strcmp(method, "echo") == 0)
		jsonrpc_reply(j, id, json_deep_copy(params));
	else
		jsonrpc_reply_error(j, id, -32601, "nope", NULL);
}

static void
on_notify(struct jsonrpc *j, const char *method, const json_t *params,
    void *arg)
{
	struct rec	*r = arg;
	char		*p;

	r->notifies++;
	if (strcmp(method, "bulk") == 0)
		return;
	p = params ? dump(params) : xstrdup("-");
	rec_add(r, "notify %s %s", method, p);
	free(p);
	if (r->free_in_notify) {
		jsonrpc_free(j);
		r->j = NULL;
	}
	if (r->close_in_notify)
		jsonrpc_close(j);
}

static void
on_tap(struct jsonrpc *j, const json_t *msg, int outbound, void *arg)
{
	struct rec	*r = arg;
	char		*m;

	if (json_is_string(json_object_get(msg, "method")) &&
	    strcmp(json_string_value(json_object_get(msg, "method")),
	    "bulk") == 0)
		return;
	m = dump(msg);
	rec_add(r, "tap %s %s", outbound ? "out" : "in", m);
	free(m);
}

static void
on_noise(struct jsonrpc *j, const char *line, size_t len, const char *why,
    void *arg)
{
	rec_add(arg, "noise [%.*s] %s", (int)len, line, why);
}

static void
on_closed(struct jsonrpc *j, enum jsonrpc_close_reason reason, void *arg)
{
	struct rec	*r = arg;

	r->closed++;
	rec_add(r, "closed %d", (int)reason);
}

static void
on_diag(struct jsonrpc *j, const char *text, void *arg)
{
	rec_add(arg, "diag %s", text);
}

static void
on_done(struct jsonrpc *j, enum jsonrpc_status st, const json_t *result,
    const json_t *error, void *arg)
{
	struct rec	*r = cur;
	char		*res = result ? dump(result) : xstrdup("-");
	char		*err = error ? dump(error) : xstrdup("-");
	enum jsonrpc_close_reason why;

	r->done++;
	rec_add(r, "done %s %d %s %s", (char *)arg, (int)st, res, err);
	free(res);
	free(err);
	if (st == JSONRPC_CLOSED && jsonrpc_closed(j, &why))
		r->closed_reason_in_done = (int)why;
	if (r->free_in_done) {
		jsonrpc_free(j);
		r->j = NULL;
	}
}

static const struct jsonrpc_callbacks callbacks = {
	.request = on_request,
	.notify = on_notify,
	.tap = on_tap,
	.noise = on_noise,
	.closed = on_closed,
	.diag = on_diag
};

static void
peer_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct peer	*p = w->data;
	ssize_t		 n;

	while (p->out_off < p->out_len) {
		n = write(p->to_rpc, p->out + p->out_off, p->out_len - p->out_off);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			p->out_off = p->out_len;	/* jsonrpc is gone */
			break;
		}
		p->out_off += (size_t)n;
	}
	ev_io_stop(loop, w);
	p->out_off = p->out_len = 0;
	if (p->eof_after && p->to_rpc != -1) {
		close(p->to_rpc);
		p->to_rpc = -1;
	}
}

/* Queue raw bytes from the peer. */
static void
peer_send(struct peer *p, const char *data, size_t len)
{
	p->out = xreallocarray(p->out, 1, p->out_len + len);
	memcpy(p->out + p->out_len, data, len);
	p->out_len += len;
	ev_io_start(p->loop, &p->w);
}

static void
peer_sends(struct peer *p, const char *s)
{
	peer_send(p, s, strlen(s));
}

static void
peer_eof(struct peer *p)
{
	p->eof_after = 1;
	if (p->out_len == p->out_off) {
		ev_io_start(p->loop, &p->w);	/* closes on the next turn */
	}
}

/* Read whatever jsonrpc has written so far (the caller frees). */
static char *
peer_read(struct peer *p, int *eof)
{
	char	*buf = NULL, chunk[65536];
	size_t	 len = 0;
	ssize_t	 n;

	*eof = 0;
	for (;;) {
		n = read(p->from_rpc, chunk, sizeof chunk);
		if (n == 0)
			*eof = 1;
		if (n <= 0)
			break;
		buf = xreallocarray(buf, 1, len + n + 1);
		memcpy(buf + len, chunk, n);
		len += n;
	}
	if (buf == NULL)
		buf = xstrdup("");
	else
		buf[len] = '\0';
	return (buf);
}

static void
peer_open(struct ev_loop *loop, struct peer *p, int *rfd, int *wfd)
{
	int	a[2], b[2];

	memset(p, 0, sizeof *p);
	if (pipe(a) == -1 || pipe(b) == -1)
		fatal("pipe: %s", strerror(errno));
	p->loop = loop;
	p->to_rpc = a[1];
	*rfd = a[0];
	*wfd = b[1];
	p->from_rpc = b[0];
	fcntl(p->to_rpc, F_SETFL, O_NONBLOCK);
	fcntl(p->from_rpc, F_SETFL, O_NONBLOCK);
	ev_io_init(&p->w, peer_write_cb, p->to_rpc, EV_WRITE);
	p->w.data = p;
}

static void
peer_close(struct peer *p)
{
	ev_io_stop(p->loop, &p->w);
	if (p->to_rpc != -1)
		close(p->to_rpc);
	if (p->from_rpc != -1)
		close(p->from_rpc);
	free(p->out);
}

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec + ts.tv_nsec / 1e9);
}

/* Turn the loop until *count reaches want (or 120 s pass: a hang bound). */
static void
spin_n(struct ev_loop *loop, const int *count, int want)
{
	double	end = now() + 120;	/* a hang bound */

	while (*count < want && now() < end)
		ev_run(loop, EVRUN_NOWAIT);
}

/* Turn the loop until *flag is set (or 120 s pass: a hang bound). */
static void
spin(struct ev_loop *loop, const int *flag)
{
	spin_n(loop, flag, 1);
}

/* Turn the loop a few times so queued I/O happens. */
static void
settle(struct ev_loop *loop)
{
	int	i;

	for (i = 0; i < 20; i++) {
		ev_run(loop, EVRUN_NOWAIT);
		usleep(1000);
	}
}

static void
setup(struct ev_loop *loop, struct peer *p, struct rec *r, size_t max)
{
	int	rfd, wfd;

	peer_open(loop, p, &rfd, &wfd);
	memset(r, 0, sizeof *r);
	r->log = xstrdup("");
	cur = r;
	r->j = jsonrpc_create(loop, rfd, wfd, max, &callbacks, r);
}

static void
teardown(struct peer *p, struct rec *r)
{
	jsonrpc_free(r->j);
	peer_close(p);
	free(r->log);
}

#define HAS(r, s) do {							\
	if (strstr((r)->log, (s)) == NULL)				\
		TAP_FAIL("log lacks \"%s\":\n%s", (s), (r)->log);	\
} while (0)

#define HASNT(r, s) do {						\
	if (strstr((r)->log, (s)) != NULL)				\
		TAP_FAIL("log has \"%s\":\n%s", (s), (r)->log);		\
} while (0)

/* s1 appears in the log before s2. */
#define BEFORE(r, s1, s2) do {						\
	const char *_1 = strstr((r)->log, (s1));			\
	const char *_2 = strstr((r)->log, (s2));			\
	if (_1 == NULL || _2 == NULL || _1 > _2)			\
		TAP_FAIL("\"%s\" not before \"%s\":\n%s", (s1), (s2),	\
		    (r)->log);						\
} while (0)

int
main(void)
{
	struct ev_loop	*loop = ev_loop_new(0);
	struct peer	 p;
	struct rec	 r;
	char		*out, *big, *why;
	long long	 id;
	int		 eof, i, n;
	double		 t0, tp;
	long		 last;
	size_t		 len;

	xmalloc_init();
	signal(SIGPIPE, SIG_IGN);	/* as main() does */

	TEST_START("request on the wire, ids from 0, response matched");
	setup(loop, &p, &r, 0);
	id = jsonrpc_request(r.j, "initialize", json_pack("{s:i}", "a", 1),
	    on_done, "init");
	ASSERT_INT_EQ(id, 0);
	ASSERT_INT_EQ(jsonrpc_pending(r.j), 1);
	settle(loop);
	out = peer_read(&p, &eof);
	ASSERT_STR_EQ(out,
	    "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"a\":1}}\n");
	free(out);
	peer_sends(&p, "{\"jsonrpc\":\"2.0\",\"id\":0,\"result\":{\"ok\":true}}\n");
	spin(loop, &r.done);
	HAS(&r, "done init 0 {\"ok\":true} -");
	BEFORE(&r, "tap out {\"jsonrpc\":\"2.0\",\"id\":0", "tap in {\"jsonrpc\"");
	BEFORE(&r, "tap in {\"jsonrpc\":\"2.0\",\"id\":0", "done init");
	ASSERT_INT_EQ(jsonrpc_pending(r.j), 0);
	ASSERT_INT_EQ(jsonrpc_request(r.j, "x", NULL, NULL, NULL), 1);
	settle(loop);
	out = peer_read(&p, &eof);
	ASSERT_STR_EQ(out, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\"}\n");
	free(out);
	teardown(&p, &r);
	TEST_DONE();

	TEST_START("out-of-order responses go to the right requests");
	setup(loop, &p, &r, 0);
	jsonrpc_request(r.j, "a", NULL, on_done, "A");
	jsonrpc_request(r.j, "b", NULL, on_done, "B");
	jsonrpc_request(r.j, "c", NULL, on_done, "C");
	peer_sends(&p, "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":\"c\"}\n"
	    "{\"jsonrpc\":\"2.0\",\"id\":0,\"result\":\"a\"}\n");
	spin_n(loop, &r.done, 2);
	ASSERT_INT_EQ(jsonrpc_pending(r.j), 1);
	peer_sends(&p, "{\"jsonrpc\":\"2.0\",\"id\":1.0,\"result\":\"b\"}\n");
	spin_n(loop, &r.done, 3);
	BEFORE(&r, "done C 0 \"c\"", "done A 0 \"a\"");
	BEFORE(&r, "done A 0 \"a\"", "done B 0 \"b\"");
	ASSERT_INT_EQ(jsonrpc_pending(r.j), 0);
	teardown(&p, &r);
	TEST_DONE();

	TEST_START("error responses, and malformed ones as Invalid request");
	setup(loop, &p, &r, 0);
	jsonrpc_request(r.j, "a", NULL, on_done, "A");
	jsonrpc_request(r.j, "b", NULL, on_done, "B");
	jsonrpc_request(r.j, "c", NULL, on_done, "C");
	peer_sends(&p,
	    "{\"jsonrpc\":\"2.0\",\"id\":0,\"error\":{\"code\":-32002,\"message\":\"Resource not found\"}}\n"
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":1,\"error\":{\"code\":1,\"message\":\"m\"}}\n"
	    "{\"id\":2,\"result\":3}\n");
	spin_n(loop, &r.done, 3);
	HAS(&r, "done A 1 - {\"code\":-32002,\"message\":\"Resource not found\"}");
	HAS(&r, "done B 1 - {\"code\":-32600,\"message\":\"Invalid request\",\"data\":{\"jsonrpc\":\"2.0\",\"id\":1,");
	HAS(&r, "done C 1 - {\"code\":-32600,\"message\":\"Invalid request\",\"data\":{\"id\":2,\"result\":3}}");
	teardown(&p, &r);
	TEST_DONE();

	TEST_START("inbound requests are answered with the same id");
	setup(loop, &p, &r, 0);
	peer_sends(&p,
	    "{\"jsonrpc\":\"2.0\",\"id\":\"abc\",\"method\":\"echo\",\"params\":{\"x\":[1,2]}}\n"
	    "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"other\"}\n"
	    "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"echo\",\"params\":0}\n");
	settle(loop);
	HAS(&r, "request \"abc\" echo {\"x\":[1,2]}");
	HAS(&r, "request 7 other -");
	HAS(&r, "request null echo 0");
	out = peer_read(&p, &eof);
	ASSERT_STR_EQ(out,
	    "{\"jsonrpc\":\"2.0\",\"id\":\"abc\",\"result\":{\"x\":[1,2]}}\n"
	    "{\"jsonrpc\":\"2.0\",\"id\":7,\"error\":{\"code\":-32601,\"message\":\"nope\"}}\n"
	    "{\"jsonrpc\":\"2.0\",\"id\":null,\"result\":0}\n");
	free(out);
	BEFORE(&r, "tap in {\"jsonrpc\":\"2.0\",\"id\":\"abc\"", "request \"abc\"");
	BEFORE(&r, "request \"abc\"", "tap out {\"jsonrpc\":\"2.0\",\"id\":\"abc\"");
	teardown(&p, &r);
	TEST_DONE();

	TEST_START("notifications, CRLF, blank lines and JS whitespace");
	setup(loop, &p, &r, 0);
	jsonrpc_notify(r.j, "session/cancel", json_pack("{s:s}", "sessionId", "s"));
	peer_sends(&p,
	    "{\"jsonrpc\":\"2.0\",\"method\":\"session/update\",\"params\":{\"u\":1}}\r\n"
	    "\n   \r\n\t\n"
	    "\xc2\xa0\xef\xbb\xbf{\"jsonrpc\":\"2.0\",\"method\":\"m2\"}\xe2\x80\xa8 \n");
	settle(loop);
	HAS(&r, "notify session/update {\"u\":1}");
	HAS(&r, "notify m2 -");
	HASNT(&r, "noise");
	out = peer_read(&p, &eof);
	ASSERT_STR_EQ(out,
	    "{\"jsonrpc\":\"2.0\",\"method\":\"session/cancel\",\"params\":{\"sessionId\":\"s\"}}\n");
	free(out);
	teardown(&p, &r);
	TEST_DONE();

	TEST_START("noise lines get Node's JSON.parse text");
	setup(loop, &p, &r, 0);
	peer_sends(&p, "hello noise\n{\"a\":1\n  {\"a\" 1}  \n");
	settle(loop);
	HAS(&r, "noise [hello noise] SyntaxError: Unexpected token 'h', \"hello noise\" is not valid JSON");
	HAS(&r, "noise [{\"a\":1] SyntaxError: Expected ',' or '}' after property value in JSON at position 6");
	HAS(&r, "noise [{\"a\" 1}] SyntaxError: Expected ':' after property name in JSON at position 5");
	HASNT(&r, "tap in");
	ASSERT_INT_EQ(r.closed, 0);
	teardown(&p, &r);
	TEST_DONE();

	TEST_START("JSON values that are not objects are dropped");
	setup(loop, &p, &r, 0);
	peer_sends(&p, "[1,2]\n42\n\"str\"\nnull\n");
	settle(loop);
	HAS(&r, "noise [[1,2]] " JSONRPC_NOISE_NOT_OBJECT);
	HAS(&r, "noise [42] " JSONRPC_NOISE_NOT_OBJECT);
	HAS(&r, "noise [\"str\"] " JSONRPC_NOISE_NOT_OBJECT);
	HAS(&r, "noise [null] " JSONRPC_NOISE_NOT_OBJECT);
	HASNT(&r, "tap");
	out = peer_read(&p, &eof);
	ASSERT_STR_EQ(out, "");		/* and not answered */
	free(out);
	teardown(&p, &r);
	TEST_DONE();

	TEST_START("invalid UTF-8 becomes U+FFFD, as Node decodes it");
	setup(loop, &p, &r, 0);
	peer_sends(&p,
	    "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":{\"t\":\"a\xff" "b\xe2\x82" "c\"}}\n"
	    "\xff\xfe\n");
	settle(loop);
	HAS(&r, "notify m {\"t\":\"a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\"}");
	HAS(&r, "noise [\xef\xbf\xbd\xef\xbf\xbd] SyntaxError: Unexpected token '\xef\xbf\xbd', \"\xef\xbf\xbd\xef\xbf\xbd\" is not valid JSON");
	teardown(&p, &r);
	TEST_DONE();

	TEST_START("objects that are not JSON-RPC get the SDK's Invalid request");
	setup(loop, &p, &r, 0);
	peer_sends(&p, "{\"foo\":1}\n{\"jsonrpc\":\"2.0\",\"method\":5}\n"
	    "{\"method\":\"x\",\"id\":1}\n");
	settle(loop);
	out = peer_read(&p, &eof);
	ASSERT_STR_EQ(out,
	    "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,\"message\":\"Invalid request\",\"data\":{\"foo\":1}}}\n"
	    "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,\"message\":\"Invalid request\",\"data\":{\"jsonrpc\":\"2.0\",\"method\":5}}}\n"
	    "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,\"message\":\"Invalid request\",\"data\":{\"method\":\"x\",\"id\":1}}}\n");
	free(out);
	BEFORE(&r, "tap in {\"foo\":1}", "tap out {\"jsonrpc\":\"2.0\",\"id\":null");
	HASNT(&r, "\nrequest ");
	teardown(&p, &r);
	TEST_DONE();

	TEST_START("responses to unknown ids are tapped and reported");
	setup(loop, &p, &r, 0);
	peer_sends(&p, "{\"jsonrpc\":\"2.0\",\"id\":99,\"result\":{}}\n"
	    "{\"jsonrpc\":\"2.0\",\"id\":\"s\",\"result\":{}}\n"
	    "{\"jsonrpc\":\"2.0\",\"result\":{}}\n");
	settle(loop);
	HAS(&r, "tap in {\"jsonrpc\":\"2.0\",\"id\":99,\"result\":{}}");
	HAS(&r, "diag Got response to unknown request 99");
	HAS(&r, "diag Got response to unknown request s");
	HAS(&r, "diag Invalid message");
	teardown(&p, &r);
	TEST_DONE();

	TEST_START("integers past 64 bits still parse");
	setup(loop, &p, &r, 0);
	peer_sends(&p, "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":{\"n\":123456789012345678901234567890}}\n");
	settle(loop);
	HAS(&r, "notify m {\"n\":1.2345678901234568e29}");
	teardown(&p, &r);
	TEST_DONE();

	TEST_START("over-long line: pendings CLOSED, then closed TOO_LARGE");
	setup(loop, &p, &r, 1000);
	jsonrpc_request(r.j, "a", NULL, on_done, "A");
	big = xmalloc(5000);
	memset(big, 'x', 5000);
	peer_sends(&p, "{\"jsonrpc\":\"2.0\",\"method\":\"before\"}\n");
	peer_send(&p, big, 5000);		/* no newline needed */
	peer_sends(&p, "\n{\"jsonrpc\":\"2.0\",\"method\":\"after\"}\n");
	free(big);
	spin(loop, &r.closed);
	HAS(&r, "notify before -");
	HASNT(&r, "after");
	BEFORE(&r, "done A 2 - -", "closed 1");
	ASSERT_INT_EQ(r.closed_reason_in_done, JSONRPC_CLOSE_TOO_LARGE);
	ASSERT_INT_EQ(r.closed, 1);
	ASSERT_INT_EQ(jsonrpc_pending(r.j), 0);
	teardown(&p, &r);
	TEST_DONE();

	TEST_START("EOF: pendings CLOSED, closed EOF once, partial line dropped");
	setup(loop, &p, &r, 0);
	jsonrpc_request(r.j, "a", NULL, on_done, "A");
	jsonrpc_request(r.j, "b", NULL, on_done, "B");
	peer_sends(&p, "{\"jsonrpc\":\"2.0\",\"method\":\"m\"}\n"
	    "{\"jsonrpc\":\"2.0\",\"id\":0,\"result\":1}");	/* no '\n' */
	peer_eof(&p);
	spin(loop, &r.closed);
	settle(loop);
	HAS(&r, "notify m -");
	BEFORE(&r, "done A 2 - -", "done B 2 - -");
	BEFORE(&r, "done B 2 - -", "closed 0");
	ASSERT_INT_EQ(r.closed, 1);
	ASSERT_INT_EQ(r.done, 2);
	ASSERT_INT_EQ(jsonrpc_closed(r.j, NULL), 1);
	/* The write side was closed too: the peer sees EOF. */
	out = peer_read(&p, &eof);
	free(out);
	ASSERT_INT_EQ(eof, 1);
	teardown(&p, &r);
	TEST_DONE();

	TEST_START("a request after the close completes CLOSED from the loop");
	setup(loop, &p, &r, 0);
	jsonrpc_close(r.j);
	ASSERT_INT_EQ(r.closed, 1);
	HAS(&r, "closed 3");
	jsonrpc_request(r.j, "late", json_object(), on_done, "L");
	ASSERT_INT_EQ(r.done, 0);		/* not from inside the call */
	ASSERT_INT_EQ(jsonrpc_pending(r.j), 1);
	jsonrpc_notify(r.j, "dropped", NULL);
	spin(loop, &r.done);
	HAS(&r, "done L 2 - -");
	HASNT(&r, "tap out");
	ASSERT_INT_EQ(jsonrpc_pending(r.j), 0);
	ASSERT_INT_EQ(r.closed, 1);
	teardown(&p, &r);
	TEST_DONE();

	TEST_START("jsonrpc_close flushes queued output, then closes stdin");
	setup(loop, &p, &r, 0);
	jsonrpc_request(r.j, "a", NULL, on_done, "A");
	jsonrpc_notify(r.j, "n", NULL);
	jsonrpc_close(r.j);		/* before the loop wrote anything */
	HAS(&r, "done A 2 - -");
	BEFORE(&r, "done A 2 - -", "closed 3");
	settle(loop);
	out = peer_read(&p, &eof);
	ASSERT_STR_EQ(out, "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"a\"}\n"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"n\"}\n");
	ASSERT_INT_EQ(eof, 1);
	free(out);
	teardown(&p, &r);
	TEST_DONE();

	TEST_START("shutdown_write: stdin EOF, reading goes on");
	setup(loop, &p, &r, 0);
	jsonrpc_request(r.j, "a", NULL, on_done, "A");
	jsonrpc_shutdown_write(r.j);
	settle(loop);
	out = peer_read(&p, &eof);
	ASSERT_STR_EQ(out, "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"a\"}\n");
	ASSERT_INT_EQ(eof, 1);
	free(out);
	peer_sends(&p, "{\"jsonrpc\":\"2.0\",\"id\":0,\"result\":\"late\"}\n");
	spin(loop, &r.done);
	HAS(&r, "done A 0 \"late\" -");
	ASSERT_INT_EQ(r.closed, 0);
	teardown(&p, &r);
	TEST_DONE();

	TEST_START("peer gone on write: closed IO, pendings CLOSED");
	setup(loop, &p, &r, 0);
	close(p.from_rpc);
	p.from_rpc = -1;
	jsonrpc_request(r.j, "a", NULL, on_done, "A");
	spin(loop, &r.closed);
	HAS(&r, "done A 2 - -");
	HAS(&r, "closed 2");
	ASSERT_INT_EQ(r.closed, 1);
	teardown(&p, &r);
	TEST_DONE();

	TEST_START("free inside a notification: the rest is not dispatched");
	setup(loop, &p, &r, 0);
	jsonrpc_request(r.j, "a", NULL, on_done, "A");
	r.free_in_notify = 1;
	peer_sends(&p, "{\"jsonrpc\":\"2.0\",\"method\":\"first\"}\n"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"second\"}\n");
	spin(loop, &r.free_in_notify);	/* already set: just spin a bit */
	settle(loop);
	HAS(&r, "notify first -");
	HASNT(&r, "second");
	HASNT(&r, "done");	/* free drops pendings without callbacks */
	HASNT(&r, "closed");
	ASSERT_PTR_NULL(r.j);
	teardown(&p, &r);
	TEST_DONE();

	TEST_START("free inside a done callback while closing");
	setup(loop, &p, &r, 0);
	jsonrpc_request(r.j, "a", NULL, on_done, "A");
	jsonrpc_request(r.j, "b", NULL, on_done, "B");
	r.free_in_done = 1;
	peer_eof(&p);
	spin(loop, &r.done);
	settle(loop);
	HAS(&r, "done A 2");
	HASNT(&r, "done B");
	HASNT(&r, "closed");
	ASSERT_PTR_NULL(r.j);
	teardown(&p, &r);
	TEST_DONE();

	TEST_START("close inside a notification stops reading at once");
	setup(loop, &p, &r, 0);
	r.close_in_notify = 1;
	peer_sends(&p, "{\"jsonrpc\":\"2.0\",\"method\":\"first\"}\n"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"second\"}\n");
	spin(loop, &r.closed);
	settle(loop);
	HAS(&r, "notify first -");
	HASNT(&r, "second");
	HAS(&r, "closed 3");
	ASSERT_INT_EQ(r.closed, 1);
	teardown(&p, &r);
	TEST_DONE();

	TEST_START("one socket for both directions; no request callback");
	{
		struct jsonrpc_callbacks	 cb2 = { .closed = on_closed };
		char				 sbuf[512];
		int				 sv[2];
		ssize_t				 got = 0, k;

		memset(&r, 0, sizeof r);
		r.log = xstrdup("");
		cur = &r;
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
			fatal("socketpair: %s", strerror(errno));
		r.j = jsonrpc_create(loop, sv[0], sv[0], 0, &cb2, &r);
		why = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"foo\"}\n";
		k = write(sv[1], why, strlen(why));
		ASSERT_INT_EQ(k, strlen(why));
		settle(loop);
		fcntl(sv[1], F_SETFL, O_NONBLOCK);
		while ((k = read(sv[1], sbuf + got, sizeof sbuf - 1 - got)) > 0)
			got += k;
		sbuf[got > 0 ? got : 0] = '\0';
		ASSERT_STR_EQ(sbuf, "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32601,\"message\":\"\\\"Method not found\\\": foo\",\"data\":{\"method\":\"foo\"}}}\n");
		jsonrpc_close(r.j);
		ASSERT_INT_EQ(r.closed, 1);
		ASSERT_TRUE(fcntl(sv[0], F_GETFD) != -1);	/* shut, not closed */
		jsonrpc_free(r.j);
		ASSERT_TRUE(fcntl(sv[0], F_GETFD) == -1);	/* closed once */
		close(sv[1]);
		free(r.log);
	}
	TEST_DONE();

	TEST_START("js_json_syntax_error: V8's messages and context window");
	why = js_json_syntax_error("{\"aaaaaaaaaaaaaaaaaaa\":x, \"bbbbbbbbbbbbbbbbbbbbb\":1}", 50);
	ASSERT_STR_EQ(why, "SyntaxError: Unexpected token 'x', ...\"aaaaaaaa\":x, \"bbbbbb\"... is not valid JSON");
	free(why);
	why = js_json_syntax_error("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 30);
	ASSERT_STR_EQ(why, "SyntaxError: Unexpected token 'x', \"xxxxxxxxxx\"... is not valid JSON");
	free(why);
	why = js_json_syntax_error("[1,", 3);
	ASSERT_STR_EQ(why, "SyntaxError: Unexpected end of JSON input");
	free(why);
	why = js_json_syntax_error("NaN", 3);
	ASSERT_STR_EQ(why, "SyntaxError: \"NaN\" is not valid JSON");
	free(why);
	why = js_json_syntax_error("{\"a\":1}x", 8);
	ASSERT_STR_EQ(why, "SyntaxError: Unexpected non-whitespace character after JSON at position 7");
	free(why);
	why = js_json_syntax_error("-01", 3);
	ASSERT_STR_EQ(why, "SyntaxError: Unexpected number in JSON at position 2");
	free(why);
	why = js_json_syntax_error("\"\\u12x4\"", 8);
	ASSERT_STR_EQ(why, "SyntaxError: Bad Unicode escape in JSON at position 5");
	free(why);
	/* Positions count UTF-16 units: the emoji is two. */
	why = js_json_syntax_error("[\xf0\x9f\x98\x80,]", 7);
	ASSERT_STR_EQ(why, "SyntaxError: Unexpected token '\xef\xbf\xbd', \"[\xf0\x9f\x98\x80,]\" is not valid JSON");
	free(why);
	why = js_json_syntax_error("\"\xf0\x9f\x98\x80\" 1", 8);
	ASSERT_STR_EQ(why, "SyntaxError: Unexpected non-whitespace character after JSON at position 5");
	free(why);
	ASSERT_PTR_NULL(js_json_syntax_error("{\"a\":[1,2.5e-3,true,null]}", 26));
	TEST_DONE();

	TEST_START("many small notifications end to end");
	setup(loop, &p, &r, 64 * 1024 * 1024);
	big = NULL;
	len = 0;
	n = 20000;	/* 1 MB through a 64 KiB pipe: lines straddle reads */
	for (i = 0; i < 1000; i++) {
		big = xreallocarray(big, 1, len + 64);
		len += (size_t)snprintf(big + len, 64,
		    "{\"jsonrpc\":\"2.0\",\"method\":\"bulk\",\"params\":%d}\n", i);
	}
	t0 = now();
	for (i = 0; i < n / 1000; i++)
		peer_send(&p, big, len);
	free(big);
	/* Only a hang is bounded (60 s without a new line), never the
	 * total: under valgrind on a loaded machine it takes minutes. */
	last = r.notifies;
	tp = now();
	while (r.notifies < n && now() - tp < 60) {
		ev_run(loop, EVRUN_ONCE);
		if (r.notifies != last) {
			last = r.notifies;
			tp = now();
		}
	}
	printf("# %ld lines in %.3f s\n", r.notifies, now() - t0);
	ASSERT_INT_EQ(r.notifies, n);
	teardown(&p, &r);
	TEST_DONE();

	ev_loop_destroy(loop);
	return (tap_end());
}
