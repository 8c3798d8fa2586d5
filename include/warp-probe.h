/*
 * Provider probes (spec warp-routing.md §5): GET <BASE_URL>/models with the
 * provider's key as a bearer token, every provider at once, through the
 * libcurl multi-socket interface driven by the libev loop (ev_io per
 * socket, one ev_timer for curl's timeout; never curl_easy_perform), with
 * a short timeout, at most 3 redirects over http(s) only, and a capped
 * body. Owns the classification of the answer: ok, auth-failed,
 * rate-limited (Retry-After), quota-exhausted, server-error, unreachable
 * (DNS, connect, TLS, timeout, redirect loop) and unexpected (any other
 * status). Keys are wiped on free and never appear in a result.
 */
#ifndef ACPX_WARP_PROBE_H
#define ACPX_WARP_PROBE_H

#include <stddef.h>
#include <time.h>

#include <ev.h>
#include <jansson.h>

/* The most of a response body we keep (the rest is not read). */
#define WARP_PROBE_MAX_BODY	(256 * 1024)

enum warp_probe_class {
	WARP_PROBE_OK = 0,
	WARP_PROBE_AUTH_FAILED,
	WARP_PROBE_RATE_LIMITED,
	WARP_PROBE_QUOTA_EXHAUSTED,
	WARP_PROBE_SERVER_ERROR,
	WARP_PROBE_UNREACHABLE,
	WARP_PROBE_UNEXPECTED
};

struct warp_probe_result {
	enum warp_probe_class	 cls;
	long			 status;	/* last HTTP status, 0 if none */
	long			 retry_after;	/* seconds, -1 if not given */
	char			*detail;	/* short one-line text, key removed */
	json_t			*models;	/* ids listed by an ok answer, or NULL */
	long			 elapsed_ms;
	int			 truncated;	/* body over WARP_PROBE_MAX_BODY */
};

struct warp_probe;

/* A probe set on loop (the default loop or any other). Caller owns. */
struct warp_probe *warp_probe_create(struct ev_loop *, long timeout_ms);

/*
 * Queue GET <base_url>/models with key (copied, wiped on free). Returns the
 * request's index. Add everything before warp_probe_start().
 */
size_t		 warp_probe_add(struct warp_probe *, const char *base_url,
		    const char *key);

/* Start every request; run the loop until warp_probe_done(). */
void		 warp_probe_start(struct warp_probe *);

/* Non-zero once every request has finished (at once if there are none). */
int		 warp_probe_done(const struct warp_probe *);

/* The result of request i (valid once done; borrowed). */
const struct warp_probe_result *warp_probe_result(const struct warp_probe *,
		    size_t i);

/* Free (stops everything still running). Never from inside the loop's callbacks. */
void		 warp_probe_free(struct warp_probe *);

/* "ok", "auth-failed", "rate-limited", ... */
const char	*warp_probe_class_name(enum warp_probe_class);

/*
 * Classify an HTTP answer (pure): 2xx ok; 401/403 auth-failed, or
 * quota-exhausted when the body speaks of quota, balance, billing, credit
 * or payment (402 always); 429 rate-limited, or quota-exhausted by the
 * same words; 5xx server-error; anything else unexpected.
 */
enum warp_probe_class warp_probe_classify(long status, const char *body,
		    size_t len);

/* Seconds from a Retry-After value (delta-seconds or HTTP-date), -1 if bad. */
long		 warp_probe_retry_after(const char *value, time_t now);

/*
 * A short one-line message from an error body: error.message, message,
 * error (string) or detail of a JSON body, else the text itself; at most
 * 200 bytes, control characters replaced. NULL if empty. Caller owns.
 */
char		*warp_probe_body_message(const char *body, size_t len);

/* base_url with userinfo, query and fragment removed (for display). Caller owns. */
char		*warp_probe_display_url(const char *base_url);

#endif
