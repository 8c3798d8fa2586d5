#include <config.h>

#include <sys/socket.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <ev.h>

#include "acpx.h"
#include "secrets.h"
#include "warp-tap-impl.h"
#include "xmalloc.h"

/*
 * The provider tap's side toward the harness (warp-tap.h): one HTTP/1.1
 * request per connection (the answer says Connection: close), read in
 * full (head, then a Content-Length or chunked body), checked for the
 * token, handed to warp-tap-fwd.c; the answer goes out from c->out as
 * the transfer fills it, and the connection closes when it is written.
 */

static void	warp_tap_http_read_cb(struct ev_loop *, ev_io *, int);
static void	warp_tap_http_write_cb(struct ev_loop *, ev_io *, int);

/* Headers that end at each hop, or that the tap itself sets. */
static int
warp_tap_http_hop(const char *name, size_t n)
{
	static const char *const hop[] = { "host", "connection", "keep-alive",
	    "proxy-connection", "proxy-authorization", "te", "trailer",
	    "transfer-encoding", "upgrade", "content-length", "expect" };
	size_t	i;

	for (i = 0; i < nitems(hop); i++) {
		if (strlen(hop[i]) == n && strncasecmp(hop[i], name, n) == 0)
			return (1);
	}
	return (0);
}

void
warp_tap_http_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct warp_tap		*t = w->data;
	struct warp_tap_conn	*c;
	int			 fd;

	while ((fd = accept4(t->lfd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) != -1) {
		c = xcalloc(1, sizeof *c);
		c->tap = t;
		c->fd = fd;
		buf_init(&c->in, WARP_TAP_HEAD_MAX + WARP_TAP_BODY_MAX);
		buf_init(&c->rhead, WARP_TAP_HEAD_MAX);
		buf_init(&c->fbody, WARP_TAP_FAIL_BODY);
		buf_init(&c->out, 0);
		buf_init(&c->carry, 0);
		c->next = t->conns;
		t->conns = c;
		ev_io_init(&c->rw, warp_tap_http_read_cb, fd, EV_READ);
		c->rw.data = c;
		ev_io_init(&c->ww, warp_tap_http_write_cb, fd, EV_WRITE);
		c->ww.data = c;
		ev_io_start(loop, &c->rw);
	}
}

void
warp_tap_http_close(struct warp_tap_conn *c)
{
	struct warp_tap		*t = c->tap;
	struct warp_tap_conn	**pp;

	for (pp = &t->conns; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	warp_tap_fwd_abort(c);
	ev_io_stop(t->loop, &c->rw);
	ev_io_stop(t->loop, &c->ww);
	close(c->fd);
	buf_free(&c->in);
	buf_free(&c->rhead);
	buf_free(&c->fbody);
	buf_free(&c->out);
	buf_free(&c->carry);
	free(c->method);
	free(c->path);
	if (c->headers != NULL) {
		struct curl_slist *h;

		for (h = c->headers; h != NULL; h = h->next)
			secrets_wipe(h->data, strlen(h->data));
		curl_slist_free_all(c->headers);
	}
	free(c->body);
	free(c);
}

/* Write what c->out holds; close once everything is out and done. */
static void
warp_tap_http_flush(struct warp_tap_conn *c)
{
	ssize_t	 n;

	while (c->out.len > 0) {
		n = send(c->fd, c->out.p, c->out.len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			ev_io_start(c->tap->loop, &c->ww);
			return;
		}
		if (n <= 0) {	/* the harness went away */
			warp_tap_http_close(c);
			return;
		}
		buf_drain(&c->out, (size_t)n);
	}
	ev_io_stop(c->tap->loop, &c->ww);
	if (c->state == WARP_TAP_FLUSH) {
		shutdown(c->fd, SHUT_WR);
		warp_tap_http_close(c);
		return;
	}
	if (c->paused)
		warp_tap_fwd_resume(c);
}

static void
warp_tap_http_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	warp_tap_http_flush(w->data);
}

/* Start writing (from the transfer's callbacks: never closes c now). */
void
warp_tap_http_write_start(struct warp_tap_conn *c)
{
	if (c->out.len > 0 || c->state == WARP_TAP_FLUSH)
		ev_io_start(c->tap->loop, &c->ww);
}

/* A whole answer from the tap itself; the connection closes after it. */
int
warp_tap_http_respond(struct warp_tap_conn *c, int status,
    const char *reason, const char *extra, const char *body)
{
	buf_reset(&c->out);
	buf_printf(&c->out, "HTTP/1.1 %d %s\r\nContent-Type: application/json"
	    "\r\nContent-Length: %zu\r\n%sConnection: close\r\n\r\n%s", status,
	    reason, strlen(body), extra != NULL ? extra : "", body);
	c->state = WARP_TAP_FLUSH;
	ev_io_stop(c->tap->loop, &c->rw);
	warp_tap_http_write_start(c);
	return (0);
}

static int
warp_tap_http_error(struct warp_tap_conn *c, int status, const char *reason,
    const char *msg)
{
	json_t	*j = json_pack("{s:{s:s, s:s}}", "error", "message", msg,
		    "type", "acpx_warp_tap");
	char	*s = json_dumps(j, JSON_COMPACT);

	warp_tap_http_respond(c, status, reason, NULL, s);
	free(s);
	json_decref(j);
	return (0);
}

/* The value of header name in the head, or NULL (caller frees). */
static char *
warp_tap_http_header(const char *head, const char *name)
{
	const char	*p = strstr(head, "\r\n"), *e, *v;
	size_t		 n = strlen(name);

	while (p != NULL && p[2] != '\r') {
		p += 2;
		e = strstr(p, "\r\n");
		if (e == NULL)
			break;
		if ((size_t)(e - p) > n && strncasecmp(p, name, n) == 0 &&
		    p[n] == ':') {
			for (v = p + n + 1; *v == ' ' || *v == '\t'; v++)
				;
			return (xstrndup(v, (size_t)(e - v)));
		}
		p = e;
	}
	return (NULL);
}

/*
 * A chunked body from s (len bytes) into a new buffer: 1 when whole
 * (*out, *olen set), 0 when more is needed, -1 when malformed.
 */
static int
warp_tap_http_dechunk(const char *s, size_t len, char **out, size_t *olen)
{
	struct buf	 b;
	size_t		 i = 0, n;
	char		*end;
	const char	*nl;

	buf_init(&b, WARP_TAP_BODY_MAX);
	for (;;) {
		nl = memmem(s + i, len - i, "\r\n", 2);
		if (nl == NULL)
			goto more;
		n = strtoul(s + i, &end, 16);
		if (end == s + i || n > WARP_TAP_BODY_MAX)
			goto bad;
		i = (size_t)(nl - s) + 2;
		if (n == 0) {
			/* Trailers, then the empty line. */
			for (;;) {
				nl = memmem(s + i, len - i, "\r\n", 2);
				if (nl == NULL)
					goto more;
				if (nl == s + i)
					break;
				i = (size_t)(nl - s) + 2;
			}
			*olen = b.len;
			*out = b.len > 0 ? buf_take(&b) : xstrdup("");
			buf_free(&b);
			return (1);
		}
		if (len - i < n + 2)
			goto more;
		if (buf_add(&b, s + i, n) == -1)
			goto bad;
		i += n + 2;
	}
more:
	buf_free(&b);
	return (0);
bad:
	buf_free(&b);
	return (-1);
}

/*
 * The request line and headers: the path must start with /t/<token>; the
 * headers that go upstream are every end-to-end one, the token in any
 * value replaced by the key. -1 when answered already (403, 400).
 */
static int
warp_tap_http_parse_head(struct warp_tap_conn *c)
{
	struct warp_tap	*t = c->tap;
	const char	*head = c->in.p, *sp1, *sp2, *p, *e, *colon, *hit;
	char		*line, *val;
	size_t		 tl = strlen(t->token);
	struct buf	 h;

	if ((sp1 = strchr(head, ' ')) == NULL ||
	    (sp2 = strchr(sp1 + 1, ' ')) == NULL || sp2 > strstr(head, "\r\n"))
		return (warp_tap_http_error(c, 400, "Bad Request",
		    "malformed request line"), -1);
	c->method = xstrndup(head, (size_t)(sp1 - head));
	p = sp1 + 1;
	if ((size_t)(sp2 - p) < 3 + tl || strncmp(p, "/t/", 3) != 0 ||
	    memcmp(p + 3, t->token, tl) != 0 || (p[3 + tl] != '/' &&
	    p[3 + tl] != '?' && p[3 + tl] != ' '))
		return (warp_tap_http_error(c, 403, "Forbidden",
		    "this relay serves only the harness acpx started"), -1);
	c->path = xstrndup(p + 3 + tl, (size_t)(sp2 - (p + 3 + tl)));
	c->head_only = strcmp(c->method, "HEAD") == 0;
	c->headers = curl_slist_append(NULL, "Expect:");
	for (p = strstr(head, "\r\n") + 2; p < head + c->head_len - 2; p = e + 2) {
		e = strstr(p, "\r\n");
		if ((colon = memchr(p, ':', (size_t)(e - p))) == NULL)
			continue;
		if (warp_tap_http_hop(p, (size_t)(colon - p)))
			continue;
		line = xstrndup(p, (size_t)(e - p));
		/* The harness's key is the token: upstream gets the real key. */
		if ((hit = strstr(line, t->token)) != NULL) {
			buf_init_secret(&h, 0);
			buf_add(&h, line, (size_t)(hit - line));
			buf_adds(&h, t->key);
			buf_adds(&h, hit + tl);
			secrets_wipe(line, strlen(line));
			free(line);
			line = buf_take(&h);
			buf_free(&h);
		}
		c->headers = curl_slist_append(c->headers, line);
		secrets_wipe(line, strlen(line));
		free(line);
	}
	if ((val = warp_tap_http_header(head, "transfer-encoding")) != NULL &&
	    strcasecmp(val, "identity") != 0 && strcasecmp(val, "chunked") != 0) {
		free(val);
		return (warp_tap_http_error(c, 501, "Not Implemented",
		    "unsupported transfer-encoding"), -1);
	}
	free(val);
	return (0);
}

/* The body, once it is all here: 1 whole, 0 more needed, -1 answered. */
static int
warp_tap_http_body(struct warp_tap_conn *c)
{
	const char	*b = c->in.p + c->head_len;
	size_t		 have = c->in.len - c->head_len;
	char		*te, *cl, *end;
	unsigned long long n = 0;
	int		 rc;

	te = warp_tap_http_header(c->in.p, "transfer-encoding");
	cl = warp_tap_http_header(c->in.p, "content-length");
	if (te != NULL && strcasecmp(te, "chunked") == 0) {
		rc = warp_tap_http_dechunk(b, have, &c->body, &c->body_len);
		free(te);
		free(cl);
		if (rc == -1)
			return (warp_tap_http_error(c, 400, "Bad Request",
			    "malformed chunked body"), -1);
		return (rc);
	}
	free(te);
	if (cl != NULL) {
		errno = 0;
		n = strtoull(cl, &end, 10);
		if (end == cl || *end != '\0' || errno != 0 ||
		    n > WARP_TAP_BODY_MAX) {
			free(cl);
			return (warp_tap_http_error(c, 413, "Payload Too Large",
			    "bad or too large Content-Length"), -1);
		}
		free(cl);
	}
	if (have < n)
		return (0);
	c->body = xmalloc((size_t)n + 1);
	memcpy(c->body, b, (size_t)n);
	c->body[n] = '\0';
	c->body_len = (size_t)n;
	return (1);
}

static void
warp_tap_http_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct warp_tap_conn	*c = w->data;
	struct warp_tap		*t = c->tap;
	const char		*end;
	char			 chunk[16384];
	ssize_t			 n;
	int			 rc;

	for (;;) {
		n = recv(c->fd, chunk, sizeof chunk, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {	/* closed before a whole request */
			warp_tap_http_close(c);
			return;
		}
		if (buf_add(&c->in, chunk, (size_t)n) == -1 ||
		    (c->head_len == 0 && c->in.len > WARP_TAP_HEAD_MAX)) {
			warp_tap_http_error(c, 413, "Payload Too Large",
			    "request too large");
			return;
		}
	}
	if (c->head_len == 0) {
		if (c->in.p == NULL || (end = strstr(c->in.p, "\r\n\r\n")) ==
		    NULL)
			return;
		c->head_len = (size_t)(end - c->in.p) + 4;
		if (warp_tap_http_parse_head(c) == -1)
			return;
	}
	if ((rc = warp_tap_http_body(c)) != 1)
		return;
	ev_io_stop(loop, &c->rw);
	if (warp_tap_closed(t)) {
		/* The turn is ended: the provider gets nothing more. */
		warp_tap_http_respond(c, (int)t->last_status, "Provider Failure",
		    NULL, t->last_body != NULL ? t->last_body : "{}");
		return;
	}
	c->state = WARP_TAP_FORWARD;
	if (warp_tap_fwd_start(c) == -1)
		warp_tap_http_error(c, 502, "Bad Gateway",
		    "the relay cannot reach the provider (libcurl)");
}
