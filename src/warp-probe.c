#include <config.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <ev.h>
#include <jansson.h>

#include "acpx.h"
#include "buf.h"
#include "curl-loop.h"
#include "js.h"
#include "secrets.h"
#include "warp-probe.h"
#include "xmalloc.h"

/*
 * Probes on the event loop (curl-loop.h: curl says which sockets to watch
 * and when to call back); finished transfers are collected with
 * curl_multi_info_read() in warp_probe_check().
 */

struct warp_probe;

struct warp_probe_req {
	struct warp_probe	*p;
	CURL			*easy;
	struct curl_slist	*headers;
	char			*url;
	char			*key;
	char			 errbuf[CURL_ERROR_SIZE];
	struct buf		 body;		/* at most WARP_PROBE_MAX_BODY */
	char			*retry_after;	/* raw header value */
	int			 started;
	int			 finished;
	struct warp_probe_result res;
};

struct warp_probe {
	struct ev_loop		*loop;
	struct curl_loop	 cl;		/* multi handle on the loop */
	struct warp_probe_req	*reqs;
	size_t			 n;
	size_t			 nfinished;
	long			 timeout_ms;
	int			 started;
};

/* ------------------------------------------------------------ pure parts */

/* Class names. */
const char *
warp_probe_class_name(enum warp_probe_class c)
{
	switch (c) {
	case WARP_PROBE_OK:
		return ("ok");
	case WARP_PROBE_AUTH_FAILED:
		return ("auth-failed");
	case WARP_PROBE_RATE_LIMITED:
		return ("rate-limited");
	case WARP_PROBE_QUOTA_EXHAUSTED:
		return ("quota-exhausted");
	case WARP_PROBE_SERVER_ERROR:
		return ("server-error");
	case WARP_PROBE_UNREACHABLE:
		return ("unreachable");
	case WARP_PROBE_UNEXPECTED:
		return ("unexpected");
	}
	return ("unexpected");
}

static int
warp_probe_has_word(const char *body, size_t len, const char *word)
{
	size_t	wl = strlen(word), i;

	for (i = 0; i + wl <= len; i++) {
		if (strncasecmp(body + i, word, wl) == 0)
			return (1);
	}
	return (0);
}

static int
warp_probe_quota_words(const char *body, size_t len)
{
	static const char *const words[] = { "quota", "balance", "billing",
	    "credit", "payment" };
	size_t	i;

	for (i = 0; body != NULL && i < nitems(words); i++) {
		if (warp_probe_has_word(body, len, words[i]))
			return (1);
	}
	return (0);
}

/* Classify an HTTP answer. */
enum warp_probe_class
warp_probe_classify(long status, const char *body, size_t len)
{
	if (status >= 200 && status <= 299)
		return (WARP_PROBE_OK);
	if (status == 402)
		return (WARP_PROBE_QUOTA_EXHAUSTED);
	if (status == 401 || status == 403)
		return (warp_probe_quota_words(body, len) ?
		    WARP_PROBE_QUOTA_EXHAUSTED : WARP_PROBE_AUTH_FAILED);
	if (status == 429)
		return (warp_probe_quota_words(body, len) ?
		    WARP_PROBE_QUOTA_EXHAUSTED : WARP_PROBE_RATE_LIMITED);
	if (status >= 500 && status <= 599)
		return (WARP_PROBE_SERVER_ERROR);
	return (WARP_PROBE_UNEXPECTED);
}

/* Seconds from a Retry-After value. */
long
warp_probe_retry_after(const char *value, time_t now)
{
	struct tm	 tm;
	const char	*p;
	char		*end;
	long		 v;
	time_t		 t;

	if (value == NULL)
		return (-1);
	while (*value == ' ' || *value == '\t')
		value++;
	if (*value >= '0' && *value <= '9') {
		v = strtol(value, &end, 10);
		for (p = end; *p == ' ' || *p == '\t' || *p == '\r' ||
		    *p == '\n'; p++)
			;
		return (*p == '\0' && v >= 0 ? v : -1);
	}
	/* HTTP-date, IMF-fixdate form: "Wed, 21 Oct 2015 07:28:00 GMT". */
	memset(&tm, 0, sizeof tm);
	p = strptime(value, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (p == NULL || (t = timegm(&tm)) == (time_t)-1)
		return (-1);
	return (t > now ? (long)(t - now) : 0);
}

static char *
warp_probe_one_line(const char *s, size_t len)
{
	char	*fixed, *out;
	size_t	 i, n = len > 200 ? 200 : len, flen;

	/* Cut on a character boundary; the body's bytes may be anything. */
	while (n > 0 && n < len && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	fixed = js_utf8_fix(s, n, &flen);
	for (i = 0; i < flen; i++) {
		if ((unsigned char)fixed[i] < ' ' || fixed[i] == 0x7f)
			fixed[i] = ' ';
	}
	i = 0;
	while (i < flen && fixed[i] == ' ')
		i++;
	while (flen > i && fixed[flen - 1] == ' ')
		flen--;
	out = flen > i ? xstrndup(fixed + i, flen - i) : NULL;
	free(fixed);
	return (out);
}

/* A short message from an error body. */
char *
warp_probe_body_message(const char *body, size_t len)
{
	json_t		*v;
	const json_t	*e;
	const char	*m = NULL;
	char		*out;

	if (body == NULL || len == 0)
		return (NULL);
	if ((v = json_loadb(body, len, 0, NULL)) != NULL) {
		e = json_object_get(v, "error");
		if (json_is_object(e))
			m = json_string_value(json_object_get(e, "message"));
		if (m == NULL)
			m = json_string_value(json_object_get(v, "message"));
		if (m == NULL)
			m = json_string_value(e);
		if (m == NULL)
			m = json_string_value(json_object_get(v, "detail"));
		out = m != NULL ? warp_probe_one_line(m, strlen(m)) : NULL;
		json_decref(v);
		if (m != NULL)
			return (out);
	}
	return (warp_probe_one_line(body, len));
}

/* base_url for display. */
char *
warp_probe_display_url(const char *u)
{
	const char	*scheme_end, *host, *at, *slash, *cut;
	char		*out;

	if ((scheme_end = strstr(u, "://")) == NULL)
		return (xstrdup("(not a URL)"));
	host = scheme_end + 3;
	slash = host + strcspn(host, "/?#");
	at = memchr(host, '@', (size_t)(slash - host));
	if (at != NULL)
		host = at + 1;
	cut = slash + strcspn(slash, "?#");
	xasprintf(&out, "%.*s%.*s", (int)(scheme_end + 3 - u), u,
	    (int)(cut - host), host);
	return (out);
}

/* Replace every copy of key in *s by "[redacted]". */
static void
warp_probe_hide(char **s, const char *key)
{
	char	*hit, *out;
	size_t	 kl;

	if (*s == NULL || key == NULL || (kl = strlen(key)) < 4)
		return;
	while ((hit = strstr(*s, key)) != NULL) {
		xasprintf(&out, "%.*s[redacted]%s", (int)(hit - *s), *s,
		    hit + kl);
		free(*s);
		*s = out;
	}
}

/* ---------------------------------------------------------- curl plumbing */

static size_t
warp_probe_write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct warp_probe_req	*r = arg;
	size_t			 n = size * nmemb;

	if (buf_add(&r->body, data, n) == -1) {
		r->res.truncated = 1;
		return (0);	/* abort: we have seen enough */
	}
	return (n);
}

static size_t
warp_probe_header_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct warp_probe_req	*r = arg;
	size_t			 n = size * nmemb;
	static const char	 name[] = "retry-after:";

	if (n > sizeof name - 1 && strncasecmp(data, name, sizeof name - 1) == 0) {
		free(r->retry_after);
		r->retry_after = xstrndup(data + sizeof name - 1,
		    n - (sizeof name - 1));
	}
	return (n);
}


/* The model ids of an OpenAI-style {"data":[{"id":...}]} list. */
static json_t *
warp_probe_models(const char *body, size_t len)
{
	json_t		*v, *ids, *data;
	const json_t	*e;
	size_t		 i;

	if (body == NULL || (v = json_loadb(body, len, 0, NULL)) == NULL)
		return (NULL);
	data = json_object_get(v, "data");
	if (!json_is_array(data))
		data = json_object_get(v, "models");
	if (!json_is_array(data)) {
		json_decref(v);
		return (NULL);
	}
	ids = json_array();
	json_array_foreach(data, i, e) {
		if (json_is_string(json_object_get(e, "id")))
			json_array_append(ids, json_object_get(e, "id"));
		else if (json_is_string(json_object_get(e, "name")))
			json_array_append(ids, json_object_get(e, "name"));
	}
	json_decref(v);
	return (ids);
}

static void
warp_probe_finish(struct warp_probe_req *r, CURLcode code)
{
	struct warp_probe_result	*res = &r->res;
	long				 status = 0;
	double				 total = 0;
	char				*msg;

	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(r->easy, CURLINFO_TOTAL_TIME, &total);
	res->elapsed_ms = (long)(total * 1000);
	res->status = status;
	res->retry_after = -1;
	if (code != CURLE_OK && !(code == CURLE_WRITE_ERROR &&
	    res->truncated && status > 0)) {
		res->cls = WARP_PROBE_UNREACHABLE;
		res->detail = xstrdup(*r->errbuf != '\0' ? r->errbuf :
		    curl_easy_strerror(code));
		res->status = 0;
	} else {
		res->cls = warp_probe_classify(status, r->body.p, r->body.len);
		if (res->cls == WARP_PROBE_OK) {
			res->models = res->truncated ? NULL :
			    warp_probe_models(r->body.p, r->body.len);
			if (res->truncated)
				xasprintf(&res->detail, "response body over %d "
				    "bytes (not read further)",
				    WARP_PROBE_MAX_BODY);
		} else {
			res->detail = warp_probe_body_message(r->body.p,
			    r->body.len);
			if (status == 429 || status == 503)
				res->retry_after = warp_probe_retry_after(
				    r->retry_after, time(NULL));
		}
	}
	if (res->detail != NULL) {
		warp_probe_hide(&res->detail, r->key);
		msg = res->detail;
		res->detail = warp_probe_one_line(msg, strlen(msg));
		free(msg);
	}
	r->finished = 1;
}

static void
warp_probe_check(void *arg)
{
	struct warp_probe	*p = arg;
	CURLMsg			*m;
	struct warp_probe_req	*r;
	int			 left;

	while ((m = curl_multi_info_read(p->cl.multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		warp_probe_finish(r, m->data.result);
		curl_multi_remove_handle(p->cl.multi, r->easy);
		p->nfinished++;
	}
	if (p->nfinished == p->n)
		ev_timer_stop(p->loop, &p->cl.timer);
}

/* A probe set on loop. */
struct warp_probe *
warp_probe_create(struct ev_loop *loop, long timeout_ms)
{
	struct warp_probe	*p;

	/* Reference-counted by libcurl: no flag of ours to remember it. */
	curl_global_init(CURL_GLOBAL_DEFAULT);
	p = xcalloc(1, sizeof *p);
	p->loop = loop;
	p->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
	/* No libcurl: every request fails at start. */
	(void)curl_loop_init(&p->cl, loop, warp_probe_check, p);
	return (p);
}

/* Queue a request. */
size_t
warp_probe_add(struct warp_probe *p, const char *base_url, const char *key)
{
	struct warp_probe_req	*r;
	size_t			 n = strlen(base_url);

	p->reqs = xreallocarray(p->reqs, p->n + 1, sizeof *p->reqs);
	r = &p->reqs[p->n];
	memset(r, 0, sizeof *r);
	buf_init(&r->body, WARP_PROBE_MAX_BODY);
	while (n > 0 && base_url[n - 1] == '/')
		n--;
	xasprintf(&r->url, "%.*s/models", (int)n, base_url);
	r->key = xstrdup(key != NULL ? key : "");
	return (p->n++);
}

static void
warp_probe_setup(struct warp_probe *p, struct warp_probe_req *r)
{
	CURL	*e;

	r->p = p;
	if (p->cl.multi == NULL || (e = r->easy = curl_easy_init()) == NULL) {
		r->res.cls = WARP_PROBE_UNREACHABLE;
		r->res.retry_after = -1;
		r->res.detail = xstrdup("libcurl is not available");
		r->finished = 1;
		p->nfinished++;
		return;
	}
	r->headers = curl_slist_append(NULL, "Accept: application/json");
	curl_easy_setopt(e, CURLOPT_URL, r->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)r);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "acpx-native warp-probe/"
	    PACKAGE_VERSION);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, warp_probe_write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, warp_probe_header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, p->timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, p->timeout_ms);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(e, CURLOPT_MAXREDIRS, 3L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP |
	    CURLPROTO_HTTPS));
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP |
	    CURLPROTO_HTTPS));
#endif
	/* Bearer auth: curl does not send it on to another host on redirect. */
	if (*r->key != '\0') {
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
		curl_easy_setopt(e, CURLOPT_XOAUTH2_BEARER, r->key);
	}
}

/* Start every request. */
void
warp_probe_start(struct warp_probe *p)
{
	size_t	i;

	p->started = 1;
	for (i = 0; i < p->n; i++) {
		warp_probe_setup(p, &p->reqs[i]);
		if (p->reqs[i].finished)
			continue;
		p->reqs[i].started = 1;
		curl_multi_add_handle(p->cl.multi, p->reqs[i].easy);
	}
}

/* Non-zero once every request has finished. */
int
warp_probe_done(const struct warp_probe *p)
{
	return (p->nfinished == p->n);
}

/* The result of request i. */
const struct warp_probe_result *
warp_probe_result(const struct warp_probe *p, size_t i)
{
	return (i < p->n && p->reqs[i].finished ? &p->reqs[i].res : NULL);
}

/* Free a probe set. */
void
warp_probe_free(struct warp_probe *p)
{
	struct warp_probe_req	*r;
	size_t			 i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++) {
		r = &p->reqs[i];
		if (r->easy != NULL) {
			if (!r->finished && r->started)
				curl_multi_remove_handle(p->cl.multi, r->easy);
			curl_easy_cleanup(r->easy);
		}
		curl_slist_free_all(r->headers);
		secrets_wipe(r->key, strlen(r->key));
		free(r->key);
		free(r->url);
		buf_free(&r->body);
		free(r->retry_after);
		free(r->res.detail);
		json_decref(r->res.models);
	}
	free(p->reqs);
	curl_loop_cleanup(&p->cl);
	free(p);
}
