/*
 * The provider tap: a loopback HTTP relay between a warp harness and its
 * provider, for a harness whose own provider retries cannot be capped
 * (opencode, gemini: no setting or variable for them) while Warp has a
 * next agent. The launch (warp-launch.c) makes its socket and gives the
 * harness the tap's URL, http://127.0.0.1:<port>/t/<token>, as its base
 * URL and the per-launch random token as its key; the process that runs the
 * harness's turns starts it on its loop (warp_tap_start()). Every request
 * that carries the token in its path is forwarded to the real base URL
 * with libcurl (the multi interface on the libev loop), the token in any
 * header replaced by the real key, and the answer streamed back as it
 * arrives (HTTP/1.1, Connection: close; chunked unless the provider gave
 * a length); a request without the token gets 403 and nothing is
 * forwarded. The key never enters the harness's environment, and a
 * failure answer that quotes it reaches the harness masked.
 *
 * The tap sees the provider's real answer: a failure status (429, 402,
 * 401/403, 404, 5xx, a quota body) is classified (warp-classify.h,
 * warp_classify_http()) and counted. A Retry-After over
 * warp.maxRetryAfterSeconds ends the turn at once; otherwise the harness
 * may retry warp.harnessRetries times, and the next failure ends it. Then
 * the tap forwards nothing more (it answers the harness itself with the
 * failure it saw) and calls the runner's callback, which ends the turn
 * the way the stall rule does (cancel, then kill); fallback.c takes the
 * tap's verdict (status, class, Retry-After) as the turn's signal.
 *
 * Files: warp-tap.c (life, token, decision), warp-tap-http.c (the
 * harness's side), warp-tap-fwd.c (the provider's side, libcurl).
 * A struct warp_tap owns its socket, connections, transfers and a copy of
 * the key (wiped when freed); warp_tap_free() releases all of it.
 */
#ifndef ACPX_WARP_TAP_H
#define ACPX_WARP_TAP_H

#include <jansson.h>


struct ev_loop;
struct warp_tap;
struct warp_tap_spec;
struct warp_verdict;

/*
 * The relay of a launch's spec (warp.h: its listening socket, token,
 * provider URL and key, warp.harnessRetries, warp.maxRetryAfterSeconds,
 * warp.providerErrorPatterns), which it takes over (sp is freed). NULL
 * for a NULL sp.
 */
struct warp_tap	*warp_tap_new(struct warp_tap_spec *sp);

/* The base URL the harness gets, http://127.0.0.1:<port>/t/<token>. */
const char	*warp_tap_url(const struct warp_tap *);

/* The token the harness gets as its key (not a secret of the user's). */
const char	*warp_tap_token(const struct warp_tap *);

/*
 * Serve on loop. failed(arg) is called (from the loop, never from inside
 * this call) once the tap has ended the turn. A tap may be started again
 * after warp_tap_stop() (the next turn of the same harness).
 */
void		 warp_tap_start(struct warp_tap *, struct ev_loop *,
		    void (*failed)(void *arg), void *arg);

/* Detach from the loop: transfers and the harness's connections end. */
void		 warp_tap_stop(struct warp_tap *);

/*
 * The provider failure the tap saw last in this turn, into v (free with
 * warp_verdict_clear()): 2 if the tap ended the turn, 1 if it saw one and
 * let the harness retry, 0 if none (v is then empty).
 */
int		 warp_tap_verdict(const struct warp_tap *, struct warp_verdict *v);

/* A new turn: the failure count and the verdict start again. */
void		 warp_tap_reset(struct warp_tap *);

/* Requests forwarded to the provider so far (tests and diagnostics). */
unsigned long	 warp_tap_forwarded(const struct warp_tap *);

void		 warp_tap_free(struct warp_tap *);

#endif
