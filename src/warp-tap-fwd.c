#include <config.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <ev.h>

#include "acpx.h"
#include "warp-probe.h"
#include "warp-tap-impl.h"
#include "xmalloc.h"

/*
 * The provider tap's side toward the provider (warp-tap.h): one libcurl
 * easy handle per harness request in the tap's multi handle, driven by
 * the libev loop (curl-loop.h, shared with warp-probe.c). The answer's head becomes an
 * HTTP/1.1 head for the harness (whatever HTTP version curl spoke), its
 * body goes out as it arrives (with the provider's Content-Length, else
 * chunked); above WARP_TAP_OUT_HIGH bytes not
 * yet written to the harness the transfer is paused. A failure status's
 * body is also kept (bounded) for the decision (warp-tap.c).
 */

/* The head for the harness, once the provider's head is complete. */
static void
warp_tap_fwd_send_head(struct warp_tap_conn *c)
{
	c->head_sent = 1;
	/* The provider's length stands (curl hands the body on undecoded). */
	c->chunked = !c->head_only && c->status != 204 && c->status != 304 &&
	    !c->has_length;
	buf_printf(&c->out, "HTTP/1.1 %ld %s\r\n", c->status,
	    c->status < 400 ? "OK" : "Error");
	if (c->rhead.len > 0)
		buf_add(&c->out, c->rhead.p, c->rhead.len);
	buf_printf(&c->out, "%sConnection: close\r\n\r\n", c->chunked ?
	    "Transfer-Encoding: chunked\r\n" : "");
	warp_tap_http_write_start(c);
}

static size_t
warp_tap_fwd_header_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct warp_tap_conn	*c = arg;
	size_t			 n = size * nmemb, len = n, name;
	const char		*colon;
	char			*v;
	long			 ra;

	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		len--;
	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		/* A new head (after a 1xx too): start over. */
		buf_reset(&c->rhead);
		c->retry_after = 0;
		c->status = 0;
		c->has_length = 0;
		if ((colon = memchr(data, ' ', len)) != NULL)
			c->status = strtol(colon + 1, NULL, 10);
		return (n);
	}
	if (len == 0) {
		if (c->status >= 200 && !c->head_sent)
			warp_tap_fwd_send_head(c);
		return (n);
	}
	if ((colon = memchr(data, ':', len)) == NULL)
		return (n);
	name = (size_t)(colon - data);
	v = xstrndup(colon + 1, len - name - 1);
	if (name == 11 && strncasecmp(data, "retry-after", 11) == 0) {
		if ((ra = warp_probe_retry_after(v, time(NULL))) > 0)
			c->retry_after = ra;
	} else if (name == 14 && strncasecmp(data, "retry-after-ms", 14) == 0 &&
	    c->retry_after == 0) {
		ra = strtol(v, NULL, 10);
		if (ra > 0)
			c->retry_after = (ra + 999) / 1000;
	}
	free(v);
	if (name == 14 && strncasecmp(data, "content-length", 14) == 0)
		c->has_length = 1;
	/* Hop-by-hop ones stay here; the tap frames the body itself. */
	if ((name == 17 && strncasecmp(data, "transfer-encoding", 17) == 0) ||
	    (name == 10 && strncasecmp(data, "connection", 10) == 0) ||
	    (name == 10 && strncasecmp(data, "keep-alive", 10) == 0) ||
	    (name == 7 && strncasecmp(data, "trailer", 7) == 0) ||
	    (name == 7 && strncasecmp(data, "upgrade", 7) == 0))
		return (n);
	buf_add(&c->rhead, data, len);
	buf_adds(&c->rhead, "\r\n");
	return (n);
}

/* n bytes of the answer's body for the harness, framed. */
static void
warp_tap_fwd_out(struct warp_tap_conn *c, const char *data, size_t n)
{
	if (n == 0)
		return;
	if (c->chunked) {
		buf_printf(&c->out, "%zx\r\n", n);
		buf_add(&c->out, data, n);
		buf_adds(&c->out, "\r\n");
	} else if (!c->head_only)
		buf_add(&c->out, data, n);
}

/*
 * A failure's body may quote the key the tap put upstream ("Incorrect API
 * key provided: sk-..."), and the harness would show it: every copy is
 * masked with asterisks of the same length (the provider's Content-Length
 * stands). The last strlen(key) - 1 bytes wait for the next piece (or the
 * end, last), so a copy cut in two is masked too.
 */
static void
warp_tap_fwd_masked(struct warp_tap_conn *c, const char *data, size_t n,
    int last)
{
	const char	*key = c->tap->key;
	size_t		 klen = strlen(key), keep;
	char		*p, *q;

	buf_add(&c->carry, data, n);
	for (p = c->carry.p; klen > 0 && p != NULL &&
	    (q = memmem(p, c->carry.len - (size_t)(p - c->carry.p), key,
	    klen)) != NULL; p = q + klen)
		memset(q, '*', klen);
	keep = last || klen == 0 ? 0 : klen - 1;
	if (c->carry.len > keep) {
		warp_tap_fwd_out(c, c->carry.p, c->carry.len - keep);
		buf_drain(&c->carry, c->carry.len - keep);
	}
}

static size_t
warp_tap_fwd_write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct warp_tap_conn	*c = arg;
	size_t			 n = size * nmemb, room;

	if (n == 0)
		return (0);
	if (c->out.len > WARP_TAP_OUT_HIGH) {
		/* The harness reads slowly: wait for it. */
		c->paused = 1;
		return (CURL_WRITEFUNC_PAUSE);
	}
	if (!c->head_sent)
		warp_tap_fwd_send_head(c);
	if (c->status >= 400 && c->fbody.len < WARP_TAP_FAIL_BODY) {
		room = WARP_TAP_FAIL_BODY - c->fbody.len;
		buf_add(&c->fbody, data, n < room ? n : room);
	}
	if (c->status >= 400)
		warp_tap_fwd_masked(c, data, n, 0);
	else
		warp_tap_fwd_out(c, data, n);
	warp_tap_http_write_start(c);
	return (n);
}

/* The provider's answer is complete (or failed): finish the harness's. */
static void
warp_tap_fwd_done(struct warp_tap_conn *c, CURLcode code)
{
	struct warp_tap	*t = c->tap;
	char		*msg;
	json_t		*j;

	curl_multi_remove_handle(t->cl.multi, c->easy);
	curl_easy_cleanup(c->easy);
	c->easy = NULL;
	c->paused = 0;
	if (code != CURLE_OK && !c->head_sent) {
		/* Unreachable or cut: a server failure for the decision. */
		xasprintf(&msg, "provider unreachable: %s", c->errbuf[0] !=
		    '\0' ? c->errbuf : curl_easy_strerror(code));
		j = json_pack("{s:{s:s, s:s}}", "error", "message", msg, "type",
		    "server_error");
		free(msg);
		msg = json_dumps(j, JSON_COMPACT);
		json_decref(j);
		warp_tap_seen(t, 502, 0, msg, strlen(msg));
		warp_tap_http_respond(c, 502, "Bad Gateway", NULL, msg);
		free(msg);
		return;
	}
	if (!c->head_sent)
		warp_tap_fwd_send_head(c);
	warp_tap_fwd_masked(c, "", 0, 1);	/* the held tail */
	if (c->chunked)
		buf_adds(&c->out, "0\r\n\r\n");
	c->state = WARP_TAP_FLUSH;
	if (c->status >= 400)
		warp_tap_seen(t, c->status, c->retry_after, c->fbody.p,
		    c->fbody.len);
	warp_tap_http_write_start(c);
}

static void
warp_tap_fwd_check(void *arg)
{
	struct warp_tap		*t = arg;
	struct warp_tap_conn	*c;
	CURLMsg			*m;
	int			 left;

	while ((m = curl_multi_info_read(t->cl.multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		for (c = t->conns; c != NULL && c->easy != m->easy_handle;
		    c = c->next)
			;
		if (c != NULL)
			warp_tap_fwd_done(c, m->data.result);
	}
}

/* The multi handle, made on first use on the tap's loop. */
static int
warp_tap_fwd_multi(struct warp_tap *t)
{
	if (t->cl.multi != NULL)
		return (0);
	return (curl_loop_init(&t->cl, t->loop, warp_tap_fwd_check, t));
}

/* Forward c's request. -1 when libcurl is not there. */
int
warp_tap_fwd_start(struct warp_tap_conn *c)
{
	struct warp_tap	*t = c->tap;
	char		*url;

	if (warp_tap_fwd_multi(t) == -1 || (c->easy = curl_easy_init()) ==
	    NULL)
		return (-1);
	xasprintf(&url, "%s%s", t->upstream, c->path);
	curl_easy_setopt(c->easy, CURLOPT_URL, url);
	free(url);
	curl_easy_setopt(c->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->easy, CURLOPT_NOPROXY, "127.0.0.1,localhost,::1");
	curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, c->headers);
	curl_easy_setopt(c->easy, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(c->easy, CURLOPT_CONNECTTIMEOUT_MS, 30000L);
	if (strcmp(c->method, "GET") == 0)
		curl_easy_setopt(c->easy, CURLOPT_HTTPGET, 1L);
	else if (c->head_only)
		curl_easy_setopt(c->easy, CURLOPT_NOBODY, 1L);
	else {
		curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)c->body_len);
		curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, c->body);
		if (strcmp(c->method, "POST") != 0)
			curl_easy_setopt(c->easy, CURLOPT_CUSTOMREQUEST,
			    c->method);
	}
	curl_easy_setopt(c->easy, CURLOPT_HEADERFUNCTION,
	    warp_tap_fwd_header_cb);
	curl_easy_setopt(c->easy, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, warp_tap_fwd_write_cb);
	curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
	if (curl_multi_add_handle(t->cl.multi, c->easy) != CURLM_OK) {
		curl_easy_cleanup(c->easy);
		c->easy = NULL;
		return (-1);
	}
	t->forwarded++;
	return (0);
}

/* The harness took what was waiting: let the transfer go on. */
void
warp_tap_fwd_resume(struct warp_tap_conn *c)
{
	if (c->easy == NULL || !c->paused)
		return;
	c->paused = 0;
	curl_easy_pause(c->easy, CURLPAUSE_CONT);
}

/* The harness's connection closes: its transfer ends with it. */
void
warp_tap_fwd_abort(struct warp_tap_conn *c)
{
	if (c->easy == NULL)
		return;
	curl_multi_remove_handle(c->tap->cl.multi, c->easy);
	curl_easy_cleanup(c->easy);
	c->easy = NULL;
}

/* The tap stops: no transfer is left (the connections are closed first). */
void
warp_tap_fwd_cleanup(struct warp_tap *t)
{
	if (t->cl.multi != NULL)
		curl_loop_cleanup(&t->cl);
}
