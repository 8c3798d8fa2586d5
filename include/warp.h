/*
 * Warp provider routing (spec warp-routing.md §1-4, §8): warp agent ids
 * (<harness>-warp-<provider>-<model-family>), the `warp` config key (routing
 * table, validated with messages that name the key), fallback chains, the
 * harness adapters (how each harness is given provider, base URL, key and
 * pinned model: a table with one row per harness), the launch resolver
 * that loads the secrets and builds the harness environment (agent-launch.h
 * carries it to the spawn; nothing is exported here), per-host defaults
 * for the plain harness aliases, and the cooldown state file
 * ~/.acpx/warp/state.json. warp.c has ids and chains; warp-config.c the
 * config; warp-launch.c the harness table and the launch; warp-state.c
 * the cooldown state (and the quota readings warp-quota.c merges). Secret values never reach a message built here.
 */
#ifndef ACPX_WARP_H
#define ACPX_WARP_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "acpx-error.h"

struct config;
struct secrets;
struct warp_endpoint;

/* Defaults of the warp config keys. */
#define WARP_DEFAULT_MAX_HOPS		3
#define WARP_DEFAULT_COOLDOWN		900	/* seconds */
#define WARP_DEFAULT_PROBE_TIMEOUT	5000	/* ms */
#define WARP_NCAUSES			7	/* failure classes (enum warp_cause) */

/* ------------------------------------------------------------ harnesses */

struct warp_harness;

/* The harness row for a name ("opencode", "claude", "gemini"), or NULL. */
const struct warp_harness *warp_harness_find(const char *name);

/* Number of harness rows, and the i-th one's name (table order). */
size_t		 warp_harness_count(void);
const char	*warp_harness_name(size_t);

/* A harness row's name. */
const char	*warp_harness_id(const struct warp_harness *);

/* ------------------------------------------------------------------ ids */

struct warp_id {
	char	*harness;
	char	*provider;
	char	*family;	/* may contain '-'; "" if absent */
};

/*
 * Non-zero if name has the shape of a warp agent id:
 * [a-z0-9]+ "-warp-" [a-z0-9_]+ ("-" family)? with no blanks or '/'.
 * Such names are reserved: they never run as raw commands.
 */
int		 warp_id_looks(const char *name);

/* Split a warp-looking id into its parts (free with warp_id_clear()). */
int		 warp_id_parse(const char *name, struct warp_id *);
void		 warp_id_clear(struct warp_id *);

/* "<harness>-warp-<provider>-<family>". Caller owns. */
char		*warp_id_format(const char *harness, const char *provider,
		    const char *family);

/* WARP_<PROVIDER>_<suffix> ('-' → '_', upper-cased). Caller owns. */
char		*warp_var_name(const char *provider, const char *suffix);

/* --------------------------------------------------------------- config */

struct warp_model {
	char	*family;	/* the name in agent ids */
	char	*canon;		/* routing family (warp.providers.P.families), else family */
	char	*model;		/* the provider's model id */
};

struct warp_provider {
	char			*name;
	struct warp_model	*models;	/* config order */
	size_t			 nmodels;
};

struct warp_config {
	char			*env_file;	/* warp.envFile of the global config, or NULL */
	struct warp_provider	*providers;	/* config order */
	size_t			 nproviders;
	json_t			*adjacent;	/* family -> [family], never NULL */
	json_t			*fallback;	/* agent id -> [agent id], never NULL */
	json_t			*host_defaults;	/* host -> harness -> {model, baseUrl}, never NULL */
	json_t			*merged;	/* the merged warp object (display) */
	int			 max_hops;
	long long		 cooldown_s;
	long long		 probe_timeout_ms;
	long long		 stall_s;	/* 0: off */
	long long		 cooldown_by[WARP_NCAUSES];	/* by enum warp_cause */
	long long		 max_retry_after_s;
	long long		 fail_window_s;
	int			 allowed_fails;
	int			 harness_retries;	/* -1: the harness's own */
	int			 quota_reserve;	/* percent left that is kept (0) */
};

/*
 * The warp config from the parsed config files (config->global_json, then
 * config->project_json over it: object keys per entry, the rest replaced;
 * the project file may not set envFile). Validates everything, fallback
 * lists included (known agents, no self, no repeats). NULL with *cause
 * ("Invalid config warp.<key> in <file>: ...") on error. Caller owns.
 */
struct warp_config *warp_config_load(const struct config *, char **cause);
/* warp.<key> is an integer from lo to hi: 0, or -1 with *cause worded as
   every warp config error ("Invalid config warp.<key> in <file>: ..."). */
int		 warp_config_check_int(const json_t *, const char *key,
		    const char *file, long long lo, long long hi, char **cause);
void		 warp_config_free(struct warp_config *);

/* The warp object for `config show` (merged, secrets-free). Caller owns. */
json_t		*warp_config_display(const struct config *);

const struct warp_provider *warp_config_provider(const struct warp_config *,
		    const char *name);
const struct warp_model *warp_provider_model(const struct warp_provider *,
		    const char *family);

/* A resolved warp agent. */
struct warp_target {
	char				*id;
	const struct warp_harness	*harness;
	const struct warp_provider	*provider;
	const struct warp_model		*model;
};

/*
 * Check an agent id against the harness table and the config: -1 with
 * *err (WARP_HARNESS_UNKNOWN, WARP_PROVIDER_UNKNOWN, WARP_MODEL_UNKNOWN;
 * caller owns) when it names no configured agent. Free with
 * warp_target_clear().
 */
int		 warp_target_resolve(const struct warp_config *, const char *id,
		    struct warp_target *, struct acpx_error **err);
void		 warp_target_clear(struct warp_target *);

/*
 * Every warp agent id the config defines (harness x provider x model, in
 * table and config order), NULL-terminated. Caller owns (cmdline_free()).
 */
char		**warp_config_agents(const struct warp_config *);

/*
 * The fallback chain of an agent: warp.fallback[id] as written, else the
 * standing rule (same family on other providers; same provider, adjacent
 * families in warp.adjacent order; other providers, adjacent families),
 * same harness, no repeats, never the agent itself. NULL-terminated;
 * caller owns (cmdline_free()).
 */
char		**warp_chain(const struct warp_config *, const struct warp_target *);

/* --------------------------------------------------------------- launch */

/*
 * A provider tap wanted in front of a harness (acpx-warp(7)): made at
 * launch so that its URL is known before the harness starts, turned into
 * the relay by warp_tap_new() (warp-tap.h; agent-launch.c does it). Owns
 * its socket and strings; the key is wiped when freed.
 */
struct warp_tap_spec {
	int		 lfd;		/* listening on 127.0.0.1, close-on-exec */
	char		*token;		/* the harness's key, random per launch */
	char		*url;		/* http://127.0.0.1:<port>/t/<token> */
	char		*upstream;	/* the provider's base URL */
	char		*key;		/* the provider's key */
	int		 retries;	/* warp.harnessRetries */
	long long	 max_ra;	/* warp.maxRetryAfterSeconds */
	json_t		*patterns;	/* warp.providerErrorPatterns, or NULL */
};
/* What the launch wants of a tap (warp-tapspec.c). */
struct warp_tap_want {
	int		 retries;	/* warp.harnessRetries */
	long long	 max_ra;	/* warp.maxRetryAfterSeconds */
	const json_t	*patterns;	/* warp.providerErrorPatterns, or NULL */
};
/*
 * A spec with its socket listening and a fresh token, in front of
 * upstream with key; NULL with *err when no socket can be made.
 */
struct warp_tap_spec *warp_tap_spec_new(const struct warp_tap_want *,
		    const char *upstream, const char *key,
		    struct acpx_error **err);
void		 warp_tap_spec_free(struct warp_tap_spec *);

/* Environment changes for a harness: set these, unset those. */
struct warp_env {
	char	**set;		/* "NAME=VALUE", NULL-terminated */
	char	**unset;	/* names, NULL-terminated */
	char	**secrets;	/* values of the ..._KEY, ..._TOKEN variables set */
	struct warp_endpoint *endpoint;	/* the provider over ACP
					   (warp-endpoint.h), or NULL */
	struct warp_tap_spec *tap;	/* the provider tap to put in front
				   of it, or NULL */
	size_t	  nset;
	size_t	  nunset;
	size_t	  nsecrets;
};

/*
 * The environment that starts target's harness on its provider and model:
 * validates WARP_<P>_API_KEY and WARP_<P>_BASE_URL (present, http(s) URL)
 * from secrets (file first, then the environment). -1 with *err
 * (WARP_ENV_MISSING, WARP_ENV_INVALID) on failure; messages name the
 * variable and file, never a value. Free with warp_env_clear().
 */
int		 warp_env_build(const struct warp_target *, const struct secrets *,
		    struct warp_env *, struct acpx_error **err);

/*
 * The environment a plain harness alias gets from warp.hostDefaults for
 * host (model, optional baseUrl); 0 with env empty when none applies.
 */
int		 warp_env_host_defaults(const struct warp_config *,
		    const char *harness, const char *host, struct warp_env *);

/* Free, wiping values. */
void		 warp_env_clear(struct warp_env *);

/* This machine's name for hostDefaults: $ACPX_NODE, else the hostname. Caller owns. */
char		*warp_host_name(void);

/*
 * The launch resolver for a warp agent id (agent-launch.c calls it right
 * before the agent is spawned, for every start path): check id against
 * the config; with WARP_LAUNCH_PICK in flags, choose the first of [id,
 * chain...] that is not cooling down (its id in *selected, caller frees;
 * *notice says so), else id itself; load and check the secrets file and
 * build the harness environment into *env (free with warp_env_clear()).
 * A fallback walker starting its next agent says whether another agent
 * would follow it (WARP_LAUNCH_HOP, with WARP_LAUNCH_LAST when none
 * would), for the harness-retries cap. *notice gets a line for the user
 * or NULL. -1 with *err (caller owns; origin "cli", a WARP_* detail code)
 * when the agent must not start. Fast: local files only, nothing is
 * spawned, nothing exported.
 */
#define WARP_LAUNCH_PICK	0x1
#define WARP_LAUNCH_HOP		0x2
#define WARP_LAUNCH_LAST	0x4
/*
 * The caller runs a provider tap (warp-tap.h) on its loop: a harness
 * without a retries knob (opencode, gemini) that has a next agent talks
 * to its provider through one (env->tap).
 */
#define WARP_LAUNCH_TAP		0x8
int		 warp_launch_id(const struct config *, const char *id, int flags,
		    char **selected, char **notice, struct warp_env *env,
		    struct acpx_error **err);

/*
 * The launch resolver for a plain harness alias (harness = its row name):
 * warp.hostDefaults of this host into *env (empty when none applies). -1
 * with *err (WARP_CONFIG_INVALID) on a bad warp config.
 */
int		 warp_launch_host(const struct config *, const char *harness,
		    struct warp_env *env, struct acpx_error **err);

/* ------------------------------------------------------------- cooldown */

struct warp_cooldown {
	char	*provider;
	char	*model;		/* NULL: the whole provider */
	time_t	 until;
	time_t	 since;
	char	*reason;	/* "rate-limited", "quota-exhausted", ... */
	char	*source;	/* "probe", "fallback", ... */
};

/* One counted provider failure (warp.allowedFails). */
struct warp_failure {
	char	*provider;
	char	*model;		/* NULL: the whole provider */
	time_t	 at;
};

struct warp_quota;

struct warp_state {
	struct warp_cooldown	*v;
	size_t			 n;
	struct warp_failure	*f;	/* counted failures, oldest first */
	size_t			 nf;
	struct warp_quota	*q;	/* quota readings ("quota" below) */
	size_t			 nq;
};

/* ~/.acpx/warp/state.json for a home. Caller owns. */
char		*warp_state_path(const char *home);

/*
 * Load the cooldown state. Never NULL: a missing file is empty; a corrupt
 * one is moved aside to state.json.corrupt (so the next load is clean)
 * and the state is empty, with *warning set once (caller frees); entries
 * with bad values are dropped with *warning.
 */
struct warp_state *warp_state_load(const char *home, char **warning);
void		 warp_state_free(struct warp_state *);

/* The active cooldown for provider/model (or provider-wide) at now, or NULL. */
const struct warp_cooldown *warp_state_cooling(const struct warp_state *,
		    const char *provider, const char *model, time_t now);

/* Add or replace the entry for provider/model (model NULL: provider-wide). */
void		 warp_state_set(struct warp_state *, const char *provider,
		    const char *model, time_t until, const char *reason,
		    const char *source, time_t now);

/* Remove the entry for exactly provider/model. Non-zero if one was removed. */
int		 warp_state_clear(struct warp_state *, const char *provider,
		    const char *model);

/*
 * `acpx warp reset`: remove every cooldown and counted failure of
 * provider (model NULL), or those of provider/model and the
 * provider-wide ones, and forgets their quota readings. Each removed
 * cooldown is appended to cleared (JSON, may be NULL). Returns how many
 * cooldowns were removed.
 */
size_t		 warp_state_reset(struct warp_state *, const char *provider,
		    const char *model, json_t *cleared);

/* Count a failure of provider/model at now. */
void		 warp_state_fail_add(struct warp_state *, const char *provider,
		    const char *model, time_t now);

/* The failures of exactly provider/model counted at or after since. */
size_t		 warp_state_fail_count(const struct warp_state *,
		    const char *provider, const char *model, time_t since);

/*
 * Write the state atomically (temp file, fsync, rename; dirs 0700, file
 * 0600), dropping entries expired at now. -1 with *cause.
 */
int		 warp_state_save(const struct warp_state *, const char *home,
		    time_t now, char **cause);

/*
 * Hold ~/.acpx/warp/state.lock (flock, exclusive) around a load-change-save
 * so processes sharing the state (exec runs, queue owners, any number of
 * `warp serve` proxies) never lose each other's updates; the wait is a
 * local lock held for one small file write. Returns the descriptor for
 * warp_state_unlock(), or -1 (then go on unlocked: the write stays atomic).
 */
int		 warp_state_lock(const char *home);
void		 warp_state_unlock(int fd);

/*
 * {provider, model, until, since, reason, source} (ISO times; a cooldown
 * until cleared has until WARP_UNTIL_MANUAL, year 9999). Caller owns.
 */
json_t		*warp_cooldown_json(const struct warp_cooldown *);

/*
 * A cooldown's end for people: the ISO time, or "cleared (acpx warp
 * reset <provider>)" style "cleared" for WARP_UNTIL_MANUAL. Caller owns.
 */
char		*warp_state_until_text(time_t until);

/* ISO-8601 UTC "YYYY-MM-DDTHH:MM:SS.000Z" for t. Caller owns. */
char		*warp_iso_time(time_t);

/* ------------------------------------------------------ cooldown by cause */

/*
 * warp-cooldown.c: what a provider failure costs the provider, by its
 * class. Owns the classes, the config keys that tune them (warp.cooldown,
 * warp.maxRetryAfterSeconds, warp.allowedFails, warp.failWindowSeconds:
 * checked there, kept in struct warp_config) and the one decision every
 * recorder goes through (fallback hops, `warp probe`). No I/O: the caller
 * holds the state and saves it.
 */

enum warp_cause {
	WARP_CAUSE_RATE_LIMIT = 0,
	WARP_CAUSE_QUOTA,
	WARP_CAUSE_SERVER_ERROR,
	WARP_CAUSE_STALLED,
	WARP_CAUSE_AUTH,
	WARP_CAUSE_BILLING,
	WARP_CAUSE_MODEL_UNAVAILABLE,
	WARP_CAUSE_N		/* == WARP_NCAUSES */
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


/* ------------------------------------------------------- harness retries */

/*
 * warp-retries.c: the environment variable that caps a harness's own
 * provider retries ("CLAUDE_CODE_MAX_RETRIES" for claude), NULL when it
 * has none; and the cap for sel, started for a turn of first (the agent
 * id named; sel is first or an agent of its chain): warp.harnessRetries
 * (default 1) when another agent would take the turn after sel fails,
 * else -1 (the harness keeps its own retries). hop: -1 when the caller
 * cannot tell (a start that neither picked nor hops), else 1 when the
 * caller knows another agent would follow (a fallback walker; the launch
 * pick, which walks on past the agent it chose), 0 when none would.
 * Otherwise it is decided now: warp.maxHops > 0 and an agent of [first, chain...]
 * other than sel may take a turn (warp_route_check() on the state, the
 * config's node bindings and the secrets s: not cooling down, no quota
 * skip, secrets present).
 */
const char	*warp_retries_var(const char *harness);
int		 warp_retries_cap(const struct config *,
		    const struct warp_config *, const struct warp_target *first,
		    const struct warp_target *sel, const struct secrets *s,
		    int hop);
/*
 * The same rule for a harness that has no such variable (opencode,
 * gemini): the failures its provider tap lets it retry (warp-tap.h), or
 * -1 for no tap (the last agent; a harness with a variable).
 */
int		 warp_retries_tap(const struct config *,
		    const struct warp_config *, const struct warp_target *first,
		    const struct warp_target *sel, const struct secrets *s,
		    int hop);

/* ---------------------------------------------------------------- quota */

/*
 * warp-quota.c: quota signals from the protocol (acpx-warp(7),
 * "Quota"): what an agent says of its provider's quota, kept per
 * provider/model in the Warp state (~/.acpx/warp/state.json, "quotas";
 * read and written by warp-state.c) and read by the route rule
 * (warp_route_check(): exhausted, or under warp.quotaReserve), `warp
 * list`, `warp route` and `acpx ps`.
 *
 * Two shapes are read: ACP's quota_update session update (a full snapshot
 * of pools and meters, the quotas-and-limits proposal) and Claude's
 * usage_update whose _meta["_claude/rateLimit"] carries one window
 * {status, resetsAt (epoch seconds), rateLimitType, utilization (0..1)}.
 * A quotaExceeded JSON-RPC error (code -32003, or data with resetsAt,
 * poolId or meterId) is a provider failure of class quota; its reset is
 * read here too.
 *
 * Bad values follow one rule: a value that is not a number or is negative
 * is ignored (its meter is dropped), a share above the whole (usedPercent
 * over 100, utilization over 1) counts as exhausted (clamped to 100%), and
 * a reset time that does not parse, lies in the past or more than
 * WARP_QUOTA_MAX_AHEAD ahead is ignored (as not reported). A reading
 * holds until its reset, else for warp.cooldownSeconds from when it came.
 *
 * Ownership: a struct warp_quota_reading is the caller's
 * (warp_quota_reading_clear()); the state's readings are the state's
 * (warp_state_free() frees them); a view borrows from its state; JSON and strings
 * returned are the caller's.
 */
#define WARP_QUOTA_MAX_AHEAD	(31LL * 86400)	/* a reset further is not believed */
#define WARP_QUOTA_ERROR_CODE	(-32003)	/* quotaExceeded (the proposal's) */
#define WARP_QUOTA_MAX_METERS	32		/* per provider/model */

/* One meter of a reading. */
struct warp_quota_meter {
	char	*id;		/* "plan/five_hour" (ACP), "five_hour" (Claude) */
	double	 used;		/* percent used, 0..100; < 0: not reported */
	int	 exhausted;	/* exceeded, exhausted pool, 100%, rejected */
	time_t	 reset;		/* believed reset, 0: none */
	time_t	 until;		/* the meter holds until then */
};

/* What one notification said (or the state holds for a provider/model). */
struct warp_quota_reading {
	int			 snapshot;	/* ACP: replaces every meter */
	const char		*source;	/* "acp", "claude" (static) */
	char			*updated_at;	/* ACP updatedAt, or NULL */
	struct warp_quota_meter	*m;
	size_t			 nm;
};

/* The readings of one provider/model in the state. */
struct warp_quota {
	char			*provider;
	char			*model;
	time_t			 at;		/* when the last reading came */
	char			*source;
	char			*updated_at;
	struct warp_quota_meter	*m;
	size_t			 nm;
};

/* The headline of a provider/model now: its most used meter. */
struct warp_quota_view {
	int		 known;		/* 0: no reading */
	double		 used;		/* percent used, < 0: not reported */
	int		 exhausted;
	time_t		 reset;		/* 0: none */
	time_t		 until;
	const char	*meter;		/* borrowed from the state */
	const char	*source;	/* borrowed from the state */
	time_t		 at;
};

/*
 * Read a session/update notification (a whole JSON-RPC message) at now:
 * 1 with *r filled when it is a quota signal with at least one usable
 * meter (or an ACP snapshot, even empty), 0 otherwise (r untouched).
 * hold_s: how long a meter without a believed reset holds.
 */
int		 warp_quota_parse(const json_t *msg, time_t now,
		    long long hold_s, struct warp_quota_reading *r);
void		 warp_quota_reading_clear(struct warp_quota_reading *);

/*
 * Is error (a JSON-RPC error object) a quotaExceeded? 1 with *reset (its
 * data.resetsAt as given, else 0: the caller judges it with
 * warp_quota_believe()) and *retry_after (its data.retryAfter duration in
 * seconds when there is no resetsAt, else 0); 0 otherwise. Pure.
 */
int		 warp_quota_error(const json_t *error, time_t *reset,
		    long long *retry_after);

/* A reset time t believed at now, else 0. */
time_t		 warp_quota_believe(time_t t, time_t now);

/* RFC 3339 ("2026-10-06T18:00:00Z", fractions, +hh:mm): -1 if malformed. */
time_t		 warp_quota_parse_time(const char *);

/* ISO 8601 duration ("PT5H", "P1DT30M", "P2W"): seconds, -1 if malformed. */
long long	 warp_quota_parse_duration(const char *);

/* Merge r into the state for provider/model; 1 if the state changed. */
int		 warp_quota_apply(struct warp_state *, const char *provider,
		    const char *model, const struct warp_quota_reading *r,
		    time_t now);

/* The view of provider/model at now. */
void		 warp_quota_view(const struct warp_state *, const char *provider,
		    const char *model, time_t now, struct warp_quota_view *);

/*
 * Should the route skip it? 1 when exhausted, or when the share left is
 * under reserve (percent, warp.quotaReserve), with *why ("quota at 97%
 * (five_hour, under the 5% reserve), resets T"; caller frees).
 */
int		 warp_quota_skip(const struct warp_quota_view *, int reserve,
		    char **why);

/* "42% (five_hour), resets T" for people; "-" when unknown. Caller owns. */
char		*warp_quota_text(const struct warp_quota_view *);

/*
 * {usedPercent, remainingPercent, exhausted, meter, resetsAt, until,
 * receivedAt, source}, or JSON null when unknown. Caller owns.
 */
json_t		*warp_quota_json(const struct warp_quota_view *);

/*
 * The view of a Warp agent id (NULL when it is none or unconfigured):
 * the JSON of warp_quota_json(). Caller owns.
 */
json_t		*warp_quota_agent_json(const struct warp_config *,
		    const struct warp_state *, const char *id, time_t now);

/*
 * The hook of every Warp turn (fallback_tap()): when msg is a quota
 * signal, record it for agent id's provider/model in the state (locked
 * load, merge, save when it changed). Cheap for any other message.
 */
void		 warp_quota_tap(const struct warp_config *, const char *id,
		    const json_t *msg);

/*
 * warp_quota_tap() where no turn runs (the agent speaks right after
 * session/new or load, or between turns): c's warp config is loaded only
 * when msg is a quota signal; nothing happens for an id that is not a
 * Warp agent id or a c that is NULL.
 */
void		 warp_quota_tap_config(const struct config *c, const char *id,
		    const json_t *msg);

/* Free one entry's members. */
void		 warp_quota_free(struct warp_quota *);

/* warp.quotaReserve: the config check (1, 0 not ours, -1) and its load. */
int		 warp_quota_check_key(const char *key, const json_t *v,
		    const char *file, char **cause);
void		 warp_quota_load(struct warp_config *);

/* ----------------------------------------------------------------- route */

/*
 * warp-route.c: whether an agent of a chain may take a turn now; the one
 * rule of the launch pick, the fallback's next agent and `acpx warp
 * route`.
 */
enum warp_route_skip {
	WARP_ROUTE_OK = 0,
	WARP_ROUTE_COOLING,		/* "cooling" */
	WARP_ROUTE_SECRETS,		/* "secrets-missing" */
	WARP_ROUTE_FORCED,		/* "forced": --force-fail */
	WARP_ROUTE_QUOTA,		/* "quota": exhausted or under the reserve */
	WARP_ROUTE_NODE_DOWN		/* "node-down": every bound node marked down */
};

struct warp_route_check {
	enum warp_route_skip		 skip;
	const struct warp_cooldown	*cooldown;	/* COOLING: borrowed from the state */
	char				*missing;	/* SECRETS: the variable name */
	char				*why;		/* a line for people, NULL if OK */
	time_t				 until;		/* when the skip ends, 0: unknown */
};

/* What a check looks at; any pointer may be NULL (that check is not made). */
struct warp_route_ctx {
	const struct warp_config	*wc;		/* warp.quotaReserve */
	const struct warp_state		*st;		/* cooldowns, quotas */
	const struct secrets		*secrets;	/* fallback candidates' */
	const struct config		*config;	/* node bindings */
	const char			*home;		/* the nodes' down marks */
	const char			*forced;	/* --force-fail's provider */
	time_t				 now;
	/* When node's down mark ends (ms; node_bind_state_until()), or NULL. */
	long long			(*node_until)(const char *home,
					    const char *node);
};

/*
 * x filled with what every check reads (any may be NULL); forced and
 * node_until left NULL for the caller to set.
 */
void		 warp_route_ctx_init(struct warp_route_ctx *x,
		    const struct warp_config *wc, const struct warp_state *st,
		    const struct secrets *s, const struct config *c,
		    const char *home, time_t now);

/*
 * Check t against ctx: forced, cooling, quota, node down, then with
 * check_secrets its secrets (not for an agent bound to nodes: they are
 * the node's). Fills c (free with warp_route_check_clear()); returns
 * c->skip.
 */
enum warp_route_skip warp_route_check(const struct warp_route_ctx *,
		    const struct warp_target *, int check_secrets,
		    struct warp_route_check *c);
void		 warp_route_check_clear(struct warp_route_check *);

/*
 * Would an agent of ids (NULL-terminated agent ids; skip, if not NULL,
 * left out) take a turn under x now, its secrets checked? The walk a
 * launch goes on with past the agent it picked, to learn whether another
 * would follow it (harness retries).
 */
int		 warp_route_any_free(const struct warp_route_ctx *,
		    const struct warp_config *, char *const *ids,
		    const char *skip);

/* "ok", "cooling", "secrets-missing", "forced", "quota", "node-down". */
const char	*warp_route_skip_name(enum warp_route_skip);

/*
 * Before a persistent session's turn: would the route rule
 * (warp_route_check() on the state and warp.quotaReserve) skip id, the
 * agent serving the session, for its quota now (exhausted, or under the
 * reserve)? 1 with *why (its line, caller frees), else 0. stamp (the
 * caller's, zeroed at first; free with warp_route_stamp_clear()) keeps
 * the state file as last seen with id free: while the file is the same
 * (a save renames a new one in) the answer is the same, and the check
 * costs one stat and no load; a missing file costs the stat alone.
 */
struct warp_route_stamp {
	char		*id;		/* the agent found free, or NULL */
	unsigned long long dev, ino;
	long long	 size, mtime_ns;
};
int		 warp_route_quota_before(const struct warp_config *,
		    const char *home, const char *id, time_t now,
		    struct warp_route_stamp *stamp, char **why);
void		 warp_route_stamp_clear(struct warp_route_stamp *);

#endif
