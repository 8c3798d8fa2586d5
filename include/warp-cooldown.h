/*
 * Cooldown by cause (spec warp-routing.md §7.1): what a provider failure
 * costs the provider, by its class. Owns the classes (rate_limit, quota,
 * server_error, stalled, auth, billing, model_unavailable), the config keys
 * that tune them (warp.cooldown, warp.maxRetryAfterSeconds,
 * warp.allowedFails, warp.failWindowSeconds: checked here, kept in struct
 * warp_config) and the one decision every recorder goes through
 * (fallback hops, `warp probe`): given a failure's reason, Retry-After
 * and reported reset, how long the provider cools down, or whether the
 * failure is only counted. Nothing here does I/O: the caller holds the
 * state (warp.h) and saves it.
 */
#ifndef ACPX_WARP_COOLDOWN_H
#define ACPX_WARP_COOLDOWN_H

#include <time.h>

#include <jansson.h>

struct warp_config;
struct warp_state;

enum warp_cause {
	WARP_CAUSE_RATE_LIMIT = 0,
	WARP_CAUSE_QUOTA,
	WARP_CAUSE_SERVER_ERROR,
	WARP_CAUSE_STALLED,
	WARP_CAUSE_AUTH,
	WARP_CAUSE_BILLING,
	WARP_CAUSE_MODEL_UNAVAILABLE,
	WARP_CAUSE_N
};

/* A class's policy in struct warp_config.cooldown_by[]. */
#define WARP_COOLDOWN_UNSET	(-3LL)	/* not configured: the built-in default */
#define WARP_COOLDOWN_RESET	(-2LL)	/* until the reported reset */
#define WARP_COOLDOWN_MANUAL	(-1LL)	/* until `acpx warp reset` */

/* Built-in defaults. */
#define WARP_DEFAULT_RATE_LIMIT_COOLDOWN	60	/* seconds */
#define WARP_DEFAULT_MAX_RETRY_AFTER		3600	/* seconds */
#define WARP_DEFAULT_FAIL_WINDOW		300	/* seconds */

/* The "until" of a cooldown that lasts until the operator clears it. */
#define WARP_UNTIL_MANUAL	((time_t)253402300799LL)	/* 9999-12-31T23:59:59Z */

/* "rate_limit", ... (the warp.cooldown key). */
const char	*warp_cooldown_cause_name(enum warp_cause);

/*
 * The class of a failure reason ("rate-limited", "quota-exhausted",
 * "overloaded", "server-error", "model-unavailable", "auth-failed",
 * "billing", "provider-error", "stalled", ...); server_error for an
 * unknown one.
 */
enum warp_cause	 warp_cooldown_cause(const char *reason);

/*
 * Check one of the keys this module owns in a warp config object:
 * returns 1 if key is one of them and valid, -1 with *cause ("Invalid
 * config warp.<key> in <file>: ...") if it is one and invalid, 0 if it is
 * not one of them.
 */
int		 warp_cooldown_check_key(const char *key, const json_t *v,
		    const char *file, char **cause);

/* Fill wc's cooldown fields from its merged object (already checked). */
void		 warp_cooldown_load(struct warp_config *wc);

/*
 * The effective policy of a class: seconds (>= 0), WARP_COOLDOWN_RESET or
 * WARP_COOLDOWN_MANUAL. Defaults: rate_limit 60 s; quota until the reset
 * (when none is reported: cooldownSeconds); auth and billing until
 * cleared; the others cooldownSeconds.
 */
long long	 warp_cooldown_policy(const struct warp_config *, enum warp_cause);

/* The policy as text: "60s", "until reset", "until cleared". Caller owns. */
char		*warp_cooldown_policy_text(long long policy);

/* One provider failure to record. */
struct warp_cooldown_failure {
	const char	*provider;
	const char	*model;		/* NULL: the whole provider */
	const char	*reason;	/* "rate-limited", ... */
	long long	 retry_after;	/* seconds, <= 0: none */
	time_t		 reset;		/* reported reset, 0: none */
	const char	*source;	/* "fallback", "probe", ... */
};

/*
 * Record a provider failure into st at now: count it, and unless the
 * class tolerates it (rate_limit without Retry-After, server_error and
 * stalled: up to warp.allowedFails within warp.failWindowSeconds), set
 * the cooldown its class calls for. auth and billing cool the whole
 * provider. A Retry-After over warp.maxRetryAfterSeconds is not waited
 * for: the cooldown lasts the cap and *note says so. Returns 1 when a
 * cooldown was set, 0 when the failure was only counted. *note gets a
 * line for the user or NULL (caller frees).
 */
int		 warp_cooldown_record(const struct warp_config *,
		    struct warp_state *, const struct warp_cooldown_failure *,
		    time_t now, char **note);

#endif
