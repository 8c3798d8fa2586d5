/*
 * The provider tap's insides, shared by warp-tap.c (life, token,
 * decision), warp-tap-http.c (the harness's connections) and
 * warp-tap-fwd.c (the transfers to the provider) and nothing else.
 * A tap owns its connections (a list); a connection owns its request,
 * its output buffer and its transfer (an easy handle in the tap's multi).
 */
#ifndef ACPX_WARP_TAP_IMPL_H
#define ACPX_WARP_TAP_IMPL_H

#include <curl/curl.h>
#include <ev.h>
#include <jansson.h>

#include "buf.h"
#include "curl-loop.h"
#include "warp-classify.h"
#include "warp-tap.h"

#define WARP_TAP_HEAD_MAX	(64 * 1024)		/* request head */
#define WARP_TAP_BODY_MAX	(64 * 1024 * 1024)	/* request body */
#define WARP_TAP_OUT_HIGH	(256 * 1024)	/* pause the transfer above */
#define WARP_TAP_FAIL_BODY	8192		/* a failure body kept */
#define WARP_TAP_RETRY_WAIT	5	/* longest Retry-After worth a retry, s */

struct warp_tap_sock;

enum warp_tap_conn_state {
	WARP_TAP_READ = 0,	/* reading the request */
	WARP_TAP_FORWARD,	/* the transfer runs */
	WARP_TAP_FLUSH		/* writing what is left, then close */
};

struct warp_tap_conn {
	struct warp_tap		*tap;
	struct warp_tap_conn	*next;
	int			 fd;
	ev_io			 rw;
	ev_io			 ww;
	enum warp_tap_conn_state state;
	struct buf		 in;		/* the request as read */
	size_t			 head_len;	/* bytes of the head, 0 until whole */
	char			*method;
	char			*path;		/* after /t/<token> */
	struct curl_slist	*headers;	/* what goes upstream (key inside) */
	char			*body;		/* the request body */
	size_t			 body_len;
	int			 head_only;	/* HEAD: no body in the answer */

	CURL			*easy;
	int			 paused;
	long			 status;
	int			 head_sent;
	int			 chunked;	/* the answer is chunked to us */
	int			 has_length;	/* the provider sent Content-Length */
	struct buf		 rhead;		/* the answer's head being built */
	long long		 retry_after;	/* of the answer, 0 if none */
	struct buf		 fbody;		/* a failure answer's body (bounded) */
	struct buf		 out;		/* bytes for the harness */
	struct buf		 carry;		/* a failure body's tail, held back */
	char			 errbuf[CURL_ERROR_SIZE];
};

struct warp_tap {
	struct ev_loop		*loop;
	int			 lfd;
	ev_io			 accept_w;
	char			*token;
	char			*url;
	char			*upstream;
	char			*key;
	int			 retries;
	long long		 max_ra;
	json_t			*patterns;
	void			(*failed)(void *);
	void			*arg;
	ev_timer		 notify_w;	/* calls failed() from the loop */

	struct warp_tap_conn	*conns;
	struct curl_loop	 cl;		/* multi handle, made on first use */

	int			 failures;	/* this turn's */
	int			 ended;		/* the tap ended the turn */
	struct warp_verdict	 last;		/* the last failure seen */
	long			 last_status;
	char			*last_body;	/* answered once ended */
	unsigned long		 forwarded;
};

/* warp-tap-http.c */
void	warp_tap_http_accept(struct ev_loop *, ev_io *, int);
void	warp_tap_http_close(struct warp_tap_conn *);
void	warp_tap_http_write_start(struct warp_tap_conn *);
int	warp_tap_http_respond(struct warp_tap_conn *, int status,
	    const char *reason, const char *extra, const char *body);

/* warp-tap-fwd.c */
int	warp_tap_fwd_start(struct warp_tap_conn *);
void	warp_tap_fwd_resume(struct warp_tap_conn *);
void	warp_tap_fwd_abort(struct warp_tap_conn *);
void	warp_tap_fwd_cleanup(struct warp_tap *);

/* warp-tap.c: an answer from the provider (status >= 400) is complete. */
void	warp_tap_seen(struct warp_tap *, long status, long long retry_after,
	    const char *body, size_t len);
/* Whether the turn is ended: forward nothing more. */
int	warp_tap_closed(const struct warp_tap *);

#endif
