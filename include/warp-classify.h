/*
 * Provider-failure classification (spec warp-routing.md §6): decides
 * whether a failed or suspicious turn failed because of the provider
 * (quota or balance exhausted, rate limit, throttling, upstream 5xx or
 * overload, model retired or unavailable, auth or billing) or because of
 * the task. Pure and table-driven: the inputs are the session/prompt
 * JSON-RPC error (code, message, data), the prompt result (stop reason),
 * the ACP messages of the turn (codex's `_meta.codex.threadStatus`, the
 * agent's text) and the agent's stderr; the table is built from what
 * opencode, the claude and codex ACP adapters, gemini and pi emit, and is
 * extended by config warp.providerErrorPatterns. Owns nothing else.
 */
#ifndef ACPX_WARP_CLASSIFY_H
#define ACPX_WARP_CLASSIFY_H

#include <time.h>

#include <jansson.h>

/* What a turn's failure was. */
enum warp_fail {
	WARP_FAIL_TASK = 0,		/* not the provider (or no failure) */
	WARP_FAIL_QUOTA,		/* "quota-exhausted" */
	WARP_FAIL_RATE_LIMIT,		/* "rate-limited" */
	WARP_FAIL_OVERLOAD,		/* "overloaded": 5xx, overload, throttling */
	WARP_FAIL_MODEL,		/* "model-unavailable" */
	WARP_FAIL_AUTH,			/* "auth-failed" */
	WARP_FAIL_BILLING,		/* "billing" */
	WARP_FAIL_OTHER			/* "provider-error": config pattern, systemError */
};

/*
 * Everything known about the end of a turn; every field may be NULL.
 * messages must hold every session/update of the turn, not only the
 * message chunks: codex-acp flags a provider fault that ends as a normal
 * end_turn only on a session_info_update (_meta.codex.threadStatus
 * {"type": "systemError"}, and _meta.codex.error with the HTTP status).
 * result is needed too (a cancelled turn is never a provider failure).
 */
struct warp_turn_end {
	const json_t	*error;		/* JSON-RPC error object {code,message,data} */
	const json_t	*result;	/* the session/prompt result */
	const json_t	*messages;	/* array: the turn's ACP messages, wire order */
	const char	*stderr_text;	/* the agent's stderr */
	const json_t	*patterns;	/* warp.providerErrorPatterns */
};

struct warp_verdict {
	enum warp_fail	 kind;
	const char	*reason;	/* static: "quota-exhausted", ...; NULL for task */
	char		*signal;	/* the exact signal (bounded), NULL for task */
	long long	 retry_after;	/* seconds, 0 if not given */
	time_t		 reset;		/* a quotaExceeded's resetsAt as given, 0 */
	long		 status;	/* the provider's HTTP status as the
					   provider tap saw it, else 0 */
};

/*
 * Classify the end of a turn into v (free with warp_verdict_clear()).
 * Returns non-zero for a provider failure. A cancelled turn is never one.
 */
int		 warp_classify(const struct warp_turn_end *, struct warp_verdict *v);
void		 warp_verdict_clear(struct warp_verdict *);

/* The reason string of a kind ("quota-exhausted", ...; NULL for task). */
const char	*warp_fail_reason(enum warp_fail);

/*
 * Classify one piece of text (an error message, a reply, stderr) against
 * the table and patterns: the kind, WARP_FAIL_TASK if nothing matches.
 */
enum warp_fail	 warp_classify_text(const char *text, const json_t *patterns);

/*
 * A provider's HTTP answer as the provider tap saw it (warp-tap.h): its
 * status, its Retry-After in seconds (0: none) and (a prefix of) its body.
 * The status decides the class (429 rate limit, 402 billing, 401/403
 * auth, 404 model, 5xx overload) unless the body names a more specific
 * one (a quota body on a 429 or 403); other 4xx count only when the body
 * matches the table. Non-zero for a provider failure, with v filled (free
 * with warp_verdict_clear()); v->signal names the status, the class and
 * the Retry-After.
 */
int		 warp_classify_http(long status, long long retry_after,
		    const char *body, size_t len, const json_t *patterns,
		    struct warp_verdict *v);

#endif
