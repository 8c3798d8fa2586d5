#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <jansson.h>

#include "acpx.h"
#include "secrets.h"
#include "warp.h"
#include "warp-tap-impl.h"
#include "xmalloc.h"

/*
 * The provider tap's life and its decision (warp-tap.h). The HTTP side is
 * warp-tap-http.c, the provider's side warp-tap-fwd.c.
 */

/* The relay of a launch's tap spec (which it takes over). */
struct warp_tap *
warp_tap_new(struct warp_tap_spec *sp)
{
	struct warp_tap	*t;

	if (sp == NULL)
		return (NULL);
	t = xcalloc(1, sizeof *t);
	t->lfd = sp->lfd;
	t->token = sp->token;
	t->url = sp->url;
	t->upstream = sp->upstream;
	t->key = sp->key;
	t->retries = sp->retries < 0 ? 0 : sp->retries;
	t->max_ra = sp->max_ra;
	t->patterns = sp->patterns;
	free(sp);
	return (t);
}

const char *
warp_tap_url(const struct warp_tap *t)
{
	return (t->url);
}

const char *
warp_tap_token(const struct warp_tap *t)
{
	return (t->token);
}

static void
warp_tap_notify_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct warp_tap	*t = w->data;

	ev_timer_stop(loop, w);
	if (t->failed != NULL)
		t->failed(t->arg);
}

void
warp_tap_start(struct warp_tap *t, struct ev_loop *loop,
    void (*failed)(void *), void *arg)
{
	if (t == NULL)
		return;
	warp_tap_stop(t);
	t->loop = loop;
	t->failed = failed;
	t->arg = arg;
	ev_io_init(&t->accept_w, warp_tap_http_accept, t->lfd, EV_READ);
	t->accept_w.data = t;
	ev_io_start(loop, &t->accept_w);
	ev_timer_init(&t->notify_w, warp_tap_notify_cb, 0., 0.);
	t->notify_w.data = t;
	if (t->ended)	/* ended before: tell this runner too */
		ev_timer_start(loop, &t->notify_w);
}

void
warp_tap_stop(struct warp_tap *t)
{
	if (t == NULL || t->loop == NULL)
		return;
	while (t->conns != NULL)
		warp_tap_http_close(t->conns);
	warp_tap_fwd_cleanup(t);
	ev_io_stop(t->loop, &t->accept_w);
	ev_timer_stop(t->loop, &t->notify_w);
	t->loop = NULL;
	t->failed = NULL;
	t->arg = NULL;
}

int
warp_tap_verdict(const struct warp_tap *t, struct warp_verdict *v)
{
	memset(v, 0, sizeof *v);
	if (t == NULL || t->last.reason == NULL)
		return (0);
	*v = t->last;
	v->signal = t->last.signal != NULL ? xstrdup(t->last.signal) : NULL;
	return (t->ended ? 2 : 1);
}

void
warp_tap_reset(struct warp_tap *t)
{
	if (t == NULL)
		return;
	t->failures = 0;
	t->ended = 0;
	warp_verdict_clear(&t->last);
	free(t->last_body);
	t->last_body = NULL;
	t->last_status = 0;
}

unsigned long
warp_tap_forwarded(const struct warp_tap *t)
{
	return (t != NULL ? t->forwarded : 0);
}

int
warp_tap_closed(const struct warp_tap *t)
{
	return (t->ended);
}

/*
 * A failure answer is complete: count it, and end the turn when it is one
 * too many (warp.harnessRetries) or asks for a wait over
 * warp.maxRetryAfterSeconds.
 */
void
warp_tap_seen(struct warp_tap *t, long status, long long retry_after,
    const char *body, size_t len)
{
	struct warp_verdict	 v;
	char			*p;

	if (t->ended)
		return;
	if (!warp_classify_http(status, retry_after, body, len, t->patterns,
	    &v)) {
		warp_verdict_clear(&v);
		return;
	}
	warp_verdict_clear(&t->last);
	t->last = v;
	t->last_status = status;
	free(t->last_body);
	t->last_body = xstrndup(body != NULL ? body : "", body != NULL ? len :
	    0);
	/* Answered to the harness again later: never with the key in it. */
	for (p = t->last_body; (p = strstr(p, t->key)) != NULL && *t->key != '\0';
	    p += strlen(t->key))
		memset(p, '*', strlen(t->key));
	t->failures++;
	/*
	 * A harness that honours a long Retry-After would sleep through it
	 * with nothing said: only a short wait is worth a retry.
	 */
	if (retry_after > WARP_TAP_RETRY_WAIT || retry_after > t->max_ra ||
	    t->failures > t->retries) {
		t->ended = 1;
		if (t->loop != NULL)
			ev_timer_start(t->loop, &t->notify_w);
	}
}

void
warp_tap_free(struct warp_tap *t)
{
	if (t == NULL)
		return;
	warp_tap_stop(t);
	close(t->lfd);
	secrets_wipe(t->key, strlen(t->key));
	free(t->key);
	free(t->token);
	free(t->url);
	free(t->upstream);
	json_decref(t->patterns);
	warp_verdict_clear(&t->last);
	free(t->last_body);
	free(t);
}
