#include <config.h>

#include <stdlib.h>

#include <curl/curl.h>
#include <ev.h>

#include "curl-loop.h"
#include "xmalloc.h"

/* One socket curl asked us to watch. */
struct curl_loop_sock {
	struct curl_loop	*cl;
	struct curl_loop_sock	*next;
	curl_socket_t		 fd;
	ev_io			 w;
};

static void
curl_loop_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct curl_loop_sock	*s = w->data;
	struct curl_loop	*cl = s->cl;
	int			 action = 0, running;

	(void)loop;
	if (revents & EV_READ)
		action |= CURL_CSELECT_IN;
	if (revents & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	curl_multi_socket_action(cl->multi, s->fd, action, &running);
	cl->check(cl->arg);
}

static void
curl_loop_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct curl_loop	*cl = w->data;
	int			 running;

	(void)loop;
	(void)revents;
	curl_multi_socket_action(cl->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	cl->check(cl->arg);
}

static int
curl_loop_socket_fn(CURL *easy, curl_socket_t fd, int what, void *userp,
    void *socketp)
{
	struct curl_loop	*cl = userp;
	struct curl_loop_sock	*s = socketp, **pp;
	int			 kind = 0;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			ev_io_stop(cl->loop, &s->w);
			curl_multi_assign(cl->multi, fd, NULL);
			for (pp = &cl->socks; *pp != NULL; pp = &(*pp)->next) {
				if (*pp == s) {
					*pp = s->next;
					break;
				}
			}
			free(s);
		}
		return (0);
	}
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if (s == NULL) {
		s = xcalloc(1, sizeof *s);
		s->cl = cl;
		s->fd = fd;
		s->next = cl->socks;
		cl->socks = s;
		curl_multi_assign(cl->multi, fd, s);
		ev_io_init(&s->w, curl_loop_io_cb, fd, kind);
		s->w.data = s;
	} else {
		ev_io_stop(cl->loop, &s->w);
		ev_io_set(&s->w, fd, kind);
	}
	ev_io_start(cl->loop, &s->w);
	return (0);
}

static int
curl_loop_timer_fn(CURLM *multi, long timeout_ms, void *userp)
{
	struct curl_loop	*cl = userp;

	(void)multi;
	ev_timer_stop(cl->loop, &cl->timer);
	if (timeout_ms >= 0) {
		ev_timer_set(&cl->timer, timeout_ms / 1000.0, 0.);
		ev_timer_start(cl->loop, &cl->timer);
	}
	return (0);
}

int
curl_loop_init(struct curl_loop *cl, struct ev_loop *loop,
    void (*check)(void *), void *arg)
{
	cl->loop = loop;
	cl->socks = NULL;
	cl->check = check;
	cl->arg = arg;
	ev_timer_init(&cl->timer, curl_loop_timer_cb, 0., 0.);
	cl->timer.data = cl;
	if ((cl->multi = curl_multi_init()) == NULL)
		return (-1);
	curl_multi_setopt(cl->multi, CURLMOPT_SOCKETFUNCTION,
	    curl_loop_socket_fn);
	curl_multi_setopt(cl->multi, CURLMOPT_SOCKETDATA, cl);
	curl_multi_setopt(cl->multi, CURLMOPT_TIMERFUNCTION, curl_loop_timer_fn);
	curl_multi_setopt(cl->multi, CURLMOPT_TIMERDATA, cl);
	return (0);
}

void
curl_loop_cleanup(struct curl_loop *cl)
{
	struct curl_loop_sock	*s, *next;

	ev_timer_stop(cl->loop, &cl->timer);
	/* Stop watching before curl closes what it still has open. */
	for (s = cl->socks; s != NULL; s = s->next)
		ev_io_stop(cl->loop, &s->w);
	if (cl->multi != NULL)
		curl_multi_cleanup(cl->multi);
	cl->multi = NULL;
	for (s = cl->socks; s != NULL; s = next) {
		next = s->next;
		free(s);
	}
	cl->socks = NULL;
}
