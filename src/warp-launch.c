#include <config.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "acpx-error.h"
#include "acpx.h"
#include "cmdline.h"
#include "config-file.h"
#include "jget.h"
#include "js-json.h"
#include "secrets.h"
#include "warp.h"
#include "warp-endpoint.h"
#include "xmalloc.h"

/*
 * Launching a warp agent: the harness table and the launch step (spec §4).
 * Each harness row says how that harness takes a provider, base URL, key
 * and pinned model, learned from its own documentation:
 *
 * opencode	OPENCODE_CONFIG_CONTENT (inline config, merged last by opencode)
 *		with a custom provider "warp-<provider>" on
 *		@ai-sdk/openai-compatible, options.baseURL, env [WARP_<P>_API_KEY]
 *		(opencode reads the key from that variable, so the config text
 *		holds no secret), and model/small_model "warp-<provider>/<model>".
 * claude	Claude Code (and its ACP adapter): ANTHROPIC_BASE_URL,
 *		ANTHROPIC_API_KEY (ANTHROPIC_AUTH_TOKEN unset so it cannot win),
 *		ANTHROPIC_MODEL plus the small/fast, opus/sonnet/haiku default
 *		and subagent model variables, all pinned to the one model.
 * gemini	Gemini CLI: GEMINI_API_KEY, GOOGLE_GEMINI_BASE_URL and
 *		GEMINI_MODEL (GOOGLE_API_KEY and GOOGLE_GENAI_USE_VERTEXAI unset).
 *		The model goes through the environment, not --model, so the
 *		command line of a harness is the same for every provider/model
 *		and the launch step can re-pin it after cooldown checks.
 *
 * Secrets travel only through the agent's environment: the launch
 * (agent-launch.h) carries the variables to the spawn, never into acpx's
 * own environment, and lists the key values for redaction. Nothing goes
 * on a command line. A harness may need a different URL than the shared OpenAI-style
 * base URL: WARP_<P>_<HARNESS>_BASE_URL overrides it for that harness, and
 * claude otherwise drops a trailing "/v1" (Claude Code appends /v1/messages).
 */

struct warp_launch_in {
	const char	*provider;
	const char	*model;
	const char	*base_url;
	const char	*key_var;
	const char	*key;
};

struct warp_harness {
	const char	*name;
	const char	*url_var;	/* WARP_<P>_<url_var>_BASE_URL override */
	int		 strip_v1;	/* drop a trailing /v1 from the shared URL */
	const char	*protocol;	/* its LLM protocol over ACP (setLlmEndpoints) */
	void		(*env)(struct warp_env *, const struct warp_launch_in *);
	void		(*host_env)(struct warp_env *, const char *model,
			    const char *base_url);
};

static void	warp_opencode_env(struct warp_env *,
		    const struct warp_launch_in *);
static void	warp_opencode_host(struct warp_env *, const char *,
		    const char *);
static void	warp_claude_env(struct warp_env *, const struct warp_launch_in *);
static void	warp_claude_host(struct warp_env *, const char *, const char *);
static void	warp_gemini_env(struct warp_env *, const struct warp_launch_in *);
static void	warp_gemini_host(struct warp_env *, const char *, const char *);

/* One row per harness; codex and pi are one row each when they come. */
static const struct warp_harness warp_harnesses[] = {
	{ "opencode", "OPENCODE", 0, "openai", warp_opencode_env,
	    warp_opencode_host },
	{ "claude", "CLAUDE", 1, "anthropic", warp_claude_env,
	    warp_claude_host },
	{ "gemini", "GEMINI", 0, "google", warp_gemini_env, warp_gemini_host },
};

/* Names this process exported for the last launch (unset before the next). */

/* The harness row for a name. */
const struct warp_harness *
warp_harness_find(const char *name)
{
	size_t	i;

	for (i = 0; name != NULL && i < nitems(warp_harnesses); i++) {
		if (strcmp(warp_harnesses[i].name, name) == 0)
			return (&warp_harnesses[i]);
	}
	return (NULL);
}

/* Number of harness rows. */
size_t
warp_harness_count(void)
{
	return (nitems(warp_harnesses));
}

/* The i-th harness name. */
const char *
warp_harness_name(size_t i)
{
	return (i < nitems(warp_harnesses) ? warp_harnesses[i].name : NULL);
}

/* A harness row's name. */
const char *
warp_harness_id(const struct warp_harness *h)
{
	return (h->name);
}

/* ------------------------------------------------------------- env list */

/*
 * Set name=value; the values of key and token variables (names ending in
 * _KEY or _TOKEN) are also listed in e->secrets, for redaction.
 */
static void
warp_env_set(struct warp_env *e, const char *name, const char *value)
{
	size_t	n = strlen(name);

	e->set = xreallocarray(e->set, e->nset + 2, sizeof *e->set);
	xasprintf(&e->set[e->nset++], "%s=%s", name, value);
	e->set[e->nset] = NULL;
	if ((n > 4 && strcmp(name + n - 4, "_KEY") == 0) ||
	    (n > 6 && strcmp(name + n - 6, "_TOKEN") == 0)) {
		e->secrets = xreallocarray(e->secrets, e->nsecrets + 2,
		    sizeof *e->secrets);
		e->secrets[e->nsecrets++] = xstrdup(value);
		e->secrets[e->nsecrets] = NULL;
	}
}

static void
warp_env_unset(struct warp_env *e, const char *name)
{
	e->unset = xreallocarray(e->unset, e->nunset + 2, sizeof *e->unset);
	e->unset[e->nunset++] = xstrdup(name);
	e->unset[e->nunset] = NULL;
}

/* Free, wiping values. */
void
warp_env_clear(struct warp_env *e)
{
	size_t	i;

	for (i = 0; i < e->nset; i++) {
		secrets_wipe(e->set[i], strlen(e->set[i]));
		free(e->set[i]);
	}
	free(e->set);
	for (i = 0; i < e->nunset; i++)
		free(e->unset[i]);
	free(e->unset);
	for (i = 0; i < e->nsecrets; i++) {
		secrets_wipe(e->secrets[i], strlen(e->secrets[i]));
		free(e->secrets[i]);
	}
	free(e->secrets);
	warp_endpoint_free(e->endpoint);
	warp_tap_spec_free(e->tap);
	memset(e, 0, sizeof *e);
}

/* ------------------------------------------------------------- harnesses */

/* An inline opencode provider on the OpenAI-compatible SDK. */
static json_t *
warp_opencode_provider(const char *name, const char *base_url,
    const char *key_var, const char *model)
{
	json_t	*p;

	p = json_pack("{s:s, s:s, s:{s:s}, s:{s:{s:s}}}",
	    "npm", "@ai-sdk/openai-compatible", "name", name,
	    "options", "baseURL", base_url, "models", model, "name", model);
	if (key_var != NULL)
		json_object_set_new(p, "env", json_pack("[s]", key_var));
	return (p);
}

static void
warp_opencode_set(struct warp_env *e, json_t *cfg)
{
	char	*text = js_json_dumps(cfg, 0);

	warp_env_set(e, "OPENCODE_CONFIG_CONTENT", text);
	free(text);
	json_decref(cfg);
}

static void
warp_opencode_env(struct warp_env *e, const struct warp_launch_in *in)
{
	json_t	*cfg;
	char	*pid, *name, *full;

	xasprintf(&pid, "warp-%s", in->provider);
	xasprintf(&name, "Warp %s", in->provider);
	xasprintf(&full, "%s/%s", pid, in->model);
	cfg = json_pack("{s:s, s:{s:o}, s:s, s:s}",
	    "$schema", "https://opencode.ai/config.json",
	    "provider", pid, warp_opencode_provider(name, in->base_url,
	    in->key_var, in->model), "model", full, "small_model", full);
	warp_opencode_set(e, cfg);
	warp_env_set(e, in->key_var, in->key);
	free(full);
	free(name);
	free(pid);
}

static void
warp_opencode_host(struct warp_env *e, const char *model, const char *url)
{
	json_t		*cfg;
	const char	*slash;
	char		*pid;

	cfg = json_pack("{s:s, s:s}", "$schema",
	    "https://opencode.ai/config.json", "model", model);
	if (url != NULL) {
		if ((slash = strchr(model, '/')) != NULL && slash != model) {
			pid = xstrndup(model, (size_t)(slash - model));
			model = slash + 1;
		} else {
			pid = xstrdup("warp-host");
			json_object_set_new(cfg, "model", json_pack("s++",
			    pid, "/", model));
		}
		json_object_set_new(cfg, "provider", json_pack("{s:o}", pid,
		    warp_opencode_provider(pid, url, NULL, model)));
		free(pid);
	}
	json_object_set(cfg, "small_model", json_object_get(cfg, "model"));
	warp_opencode_set(e, cfg);
}

static void
warp_claude_models(struct warp_env *e, const char *model)
{
	static const char *const vars[] = { "ANTHROPIC_MODEL",
	    "ANTHROPIC_SMALL_FAST_MODEL", "ANTHROPIC_DEFAULT_OPUS_MODEL",
	    "ANTHROPIC_DEFAULT_SONNET_MODEL", "ANTHROPIC_DEFAULT_HAIKU_MODEL",
	    "CLAUDE_CODE_SUBAGENT_MODEL" };
	size_t	i;

	for (i = 0; i < nitems(vars); i++)
		warp_env_set(e, vars[i], model);
}

static void
warp_claude_env(struct warp_env *e, const struct warp_launch_in *in)
{
	warp_env_set(e, "ANTHROPIC_BASE_URL", in->base_url);
	warp_env_set(e, "ANTHROPIC_API_KEY", in->key);
	warp_env_unset(e, "ANTHROPIC_AUTH_TOKEN");
	warp_claude_models(e, in->model);
}

static void
warp_claude_host(struct warp_env *e, const char *model, const char *url)
{
	if (url != NULL)
		warp_env_set(e, "ANTHROPIC_BASE_URL", url);
	warp_claude_models(e, model);
}

static void
warp_gemini_env(struct warp_env *e, const struct warp_launch_in *in)
{
	warp_env_set(e, "GEMINI_API_KEY", in->key);
	warp_env_set(e, "GOOGLE_GEMINI_BASE_URL", in->base_url);
	warp_env_set(e, "GEMINI_MODEL", in->model);
	warp_env_unset(e, "GOOGLE_API_KEY");
	warp_env_unset(e, "GOOGLE_GENAI_USE_VERTEXAI");
}

static void
warp_gemini_host(struct warp_env *e, const char *model, const char *url)
{
	if (url != NULL)
		warp_env_set(e, "GOOGLE_GEMINI_BASE_URL", url);
	warp_env_set(e, "GEMINI_MODEL", model);
}

/* ------------------------------------------------------------ launching */

/* An http(s) URL with a host and no blanks or control characters. */
static int
warp_url_ok(const char *u)
{
	const char	*p;

	if (strncmp(u, "http://", 7) == 0)
		p = u + 7;
	else if (strncmp(u, "https://", 8) == 0)
		p = u + 8;
	else
		return (0);
	if (*p == '\0' || *p == '/' || *p == '?' || *p == '#')
		return (0);
	for (; *p != '\0'; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return (0);
	}
	return (1);
}

static char *
warp_url_trim(const char *u, int strip_v1)
{
	char	*s = xstrdup(u);
	size_t	 n = strlen(s);

	while (n > 0 && s[n - 1] == '/')
		s[--n] = '\0';
	if (strip_v1 && n > 3 && strcmp(s + n - 3, "/v1") == 0)
		s[n -= 3] = '\0';
	return (s);
}

static struct acpx_error *
warp_env_error(const char *code, const struct secrets *s, const char *var,
    const char *id, const char *what)
{
	const char	*file = secrets_file(s);

	return (acpx_error_new(ACPX_CODE_RUNTIME, code, "cli", "%s %s%s%s "
	    "(needed by %s)", var, what, file != NULL ? " in " : "",
	    file != NULL ? file : "", id));
}

static int	warp_env_make(const struct warp_target *,
		    const struct secrets *, const struct warp_tap_want *,
		    struct warp_env *, struct acpx_error **);

/* The harness environment for a target. */
int
warp_env_build(const struct warp_target *t, const struct secrets *s,
    struct warp_env *e, struct acpx_error **err)
{
	return (warp_env_make(t, s, NULL, e, err));
}

/* The same, through a provider tap when tp says so. */
static int
warp_env_make(const struct warp_target *t, const struct secrets *s,
    const struct warp_tap_want *tp, struct warp_env *e, struct acpx_error **err)
{
	struct warp_launch_in	 in;
	const char		*key, *url, *hurl;
	char			*kv, *uv, *hv, *base = NULL, *suffix, *shared;
	int			 rc = -1;

	memset(e, 0, sizeof *e);
	kv = warp_var_name(t->provider->name, "API_KEY");
	uv = warp_var_name(t->provider->name, "BASE_URL");
	xasprintf(&suffix, "%s_BASE_URL", t->harness->url_var);
	hv = warp_var_name(t->provider->name, suffix);
	free(suffix);
	if ((key = secrets_get(s, kv)) == NULL) {
		*err = warp_env_error("WARP_ENV_MISSING", s, kv, t->id,
		    "is not set");
		goto out;
	}
	if ((url = secrets_get(s, uv)) == NULL) {
		*err = warp_env_error("WARP_ENV_MISSING", s, uv, t->id,
		    "is not set (a provider with a key needs its base URL)");
		goto out;
	}
	if (!warp_url_ok(url)) {
		*err = warp_env_error("WARP_ENV_INVALID", s, uv, t->id,
		    "is not an http(s) URL");
		goto out;
	}
	if ((hurl = secrets_get(s, hv)) != NULL) {
		if (!warp_url_ok(hurl)) {
			*err = warp_env_error("WARP_ENV_INVALID", s, hv, t->id,
			    "is not an http(s) URL");
			goto out;
		}
		base = warp_url_trim(hurl, 0);
	} else
		base = warp_url_trim(url, t->harness->strip_v1);
	in.provider = t->provider->name;
	in.model = t->model->model;
	in.base_url = base;
	in.key_var = kv;
	in.key = key;
	if (tp != NULL) {
		/* The harness talks to the tap; only the tap holds the key. */
		if ((e->tap = warp_tap_spec_new(tp, base, key, err)) == NULL)
			goto out;
		in.base_url = e->tap->url;
		in.key = e->tap->token;
	}
	t->harness->env(e, &in);
	/* The same provider over ACP, for a harness that takes it so. */
	if (e->tap != NULL) {
		/* Should the harness echo it, it is still redacted. */
		e->secrets = xreallocarray(e->secrets, e->nsecrets + 2,
		    sizeof *e->secrets);
		e->secrets[e->nsecrets++] = xstrdup(key);
		e->secrets[e->nsecrets] = NULL;
		e->endpoint = warp_endpoint_new(t->harness->name,
		    t->harness->protocol, in.base_url, in.base_url, in.key);
	} else {
		shared = warp_url_trim(url, 0);
		e->endpoint = warp_endpoint_new(t->harness->name,
		    t->harness->protocol, base, shared, key);
		free(shared);
	}
	rc = 0;
out:
	free(base);
	free(hv);
	free(uv);
	free(kv);
	return (rc);
}

/* This machine's name for hostDefaults. */
char *
warp_host_name(void)
{
	const char	*n = getenv("ACPX_NODE");
	char		 buf[HOST_NAME_MAX + 1];

	if (n != NULL && *n != '\0')
		return (xstrdup(n));
	if (gethostname(buf, sizeof buf) == -1)
		return (xstrdup(""));
	buf[sizeof buf - 1] = '\0';
	return (xstrdup(buf));
}

/* warp.hostDefaults for a plain harness alias on host. */
int
warp_env_host_defaults(const struct warp_config *wc, const char *harness,
    const char *host, struct warp_env *e)
{
	const struct warp_harness	*h = warp_harness_find(harness);
	const json_t			*hd, *v;
	const char			*dot;
	char				*shortname;

	memset(e, 0, sizeof *e);
	if (h == NULL || host == NULL || *host == '\0')
		return (0);
	if ((hd = json_object_get(wc->host_defaults, host)) == NULL &&
	    (dot = strchr(host, '.')) != NULL) {
		shortname = xstrndup(host, (size_t)(dot - host));
		hd = json_object_get(wc->host_defaults, shortname);
		free(shortname);
	}
	if ((v = json_object_get(hd, harness)) == NULL)
		return (0);
	h->host_env(e, jget_str(v, "model"), jget_str(v, "baseUrl"));
	return (0);
}

/*
 * Pick the first agent of [t, chain...] that may take a turn
 * (warp_route_check(): not cooling down; a fallback candidate also needs
 * its secrets). Returns the index (0 = t itself) and fills sel, and
 * *next_free (whether an agent after sel would take a turn too: the walk
 * goes on, on the same state), or -1 with *err.
 */
static int
warp_pick(const struct config *c, const struct warp_config *wc,
    const struct warp_target *t, const struct secrets *s,
    struct warp_target *sel, int *next_free, char **notice,
    struct acpx_error **err)
{
	struct warp_state		*st;
	struct warp_route_check		 rc0, rc1;
	struct warp_route_ctx		 x;
	struct warp_target		 cand;
	struct acpx_error		*e = NULL;
	char				**chain, *home, *warning = NULL, *iso;
	time_t				 now = time(NULL), soonest;
	size_t				 i;
	int				 rc = -1;

	home = config_home();
	st = warp_state_load(home, &warning);
	if (warning != NULL)
		xasprintf(notice, "warning: %s", warning);
	free(warning);
	chain = warp_chain(wc, t);
	warp_route_ctx_init(&x, wc, st, s, c, home, now);
	if (warp_route_check(&x, t, 0, &rc0) == WARP_ROUTE_OK) {
		warp_target_resolve(wc, t->id, sel, &e);
		*next_free = warp_route_any_free(&x, wc, chain, NULL);
		rc = 0;
		goto out;
	}
	soonest = rc0.until;
	for (i = 0; chain[i] != NULL; i++) {
		if (warp_target_resolve(wc, chain[i], &cand, &e) == -1) {
			acpx_error_free(e);
			e = NULL;
			continue;
		}
		if (warp_route_check(&x, &cand, 1, &rc1) == WARP_ROUTE_OK) {
			*sel = cand;
			free(*notice);	/* the state warning: the file is reset */
			if (rc0.cooldown != NULL) {
				iso = warp_state_until_text(rc0.until);
				xasprintf(notice, "warp: %s is cooling down until "
				    "%s (%s); starting %s", t->id, iso,
				    rc0.cooldown->reason, cand.id);
				free(iso);
			} else
				xasprintf(notice, "warp: %s: %s; starting %s",
				    t->id, rc0.why, cand.id);
			rc = (int)i + 1;
			*next_free = warp_route_any_free(&x, wc, chain + rc,
			    NULL);
			goto out;
		}
		if (rc1.until != 0 && rc1.until < soonest)
			soonest = rc1.until;
		warp_route_check_clear(&rc1);
		warp_target_clear(&cand);
	}
	if (soonest == WARP_UNTIL_MANUAL)
		*err = acpx_error_new(ACPX_CODE_RUNTIME, "WARP_COOLDOWN", "cli",
		    "%s and every agent of its fallback chain are cooling down "
		    "after provider failures (or lack secrets), until cleared "
		    "(see acpx warp route %s; acpx warp reset clears a "
		    "provider)", t->id, t->id);
	else {
		iso = warp_iso_time(soonest);
		*err = acpx_error_new(ACPX_CODE_RUNTIME, "WARP_COOLDOWN", "cli",
		    "%s and every agent of its fallback chain are cooling down "
		    "after provider failures; the first is free again at %s "
		    "(see acpx warp list; acpx warp probe re-checks providers)",
		    t->id, iso);
		free(iso);
	}
out:
	warp_route_check_clear(&rc0);
	cmdline_free(chain);
	warp_state_free(st);
	free(home);
	return (rc);
}

/* Export the environment of one warp agent id (see warp.h). */
int
warp_launch_id(const struct config *c, const char *id, int flags,
    char **selected, char **notice, struct warp_env *env,
    struct acpx_error **err)
{
	struct warp_config	*wc;
	struct warp_target	 t, sel;
	struct secrets		*s = NULL;
	enum secrets_status	 st;
	struct warp_tap_want	 tp;
	char			*cause = NULL, *home, *path, num[16];
	int			 rc = -1, cap, hop, next_free = -1;

	*notice = NULL;
	memset(env, 0, sizeof *env);
	if (selected != NULL)
		*selected = NULL;
	if ((wc = warp_config_load(c, &cause)) == NULL) {
		*err = acpx_error_new(ACPX_CODE_RUNTIME, "WARP_CONFIG_INVALID",
		    "cli", "%s", cause);
		free(cause);
		return (-1);
	}
	memset(&sel, 0, sizeof sel);
	if (warp_target_resolve(wc, id, &t, err) == -1)
		goto out;
	home = config_home();
	path = secrets_path(home, wc->env_file);
	free(home);
	s = secrets_load(path, &st, &cause);
	free(path);
	if (s == NULL) {
		*err = acpx_error_new(ACPX_CODE_RUNTIME, secrets_status_code(st),
		    "cli", "%s", cause);
		free(cause);
		goto out_t;
	}
	if (!(flags & WARP_LAUNCH_PICK))
		warp_target_resolve(wc, id, &sel, err);
	else if (warp_pick(c, wc, &t, s, &sel, &next_free, notice, err) == -1)
		goto out_t;
	/* A pick bound to nodes starts there, with the node's secrets. */
	if ((flags & WARP_LAUNCH_PICK) && strcmp(sel.id, t.id) != 0 &&
	    config_find_bind(c, sel.id) != NULL) {
		if (selected != NULL)
			*selected = xstrdup(sel.id);
		rc = 0;
		goto out_t;
	}
	/* The pick walked on past its agent: it knows whether one follows. */
	hop = !(flags & WARP_LAUNCH_HOP) ? next_free :
	    !(flags & WARP_LAUNCH_LAST);
	memset(&tp, 0, sizeof tp);
	if ((flags & WARP_LAUNCH_TAP) &&
	    (tp.retries = warp_retries_tap(c, wc, &t, &sel, s, hop)) >= 0) {
		tp.max_ra = wc->max_retry_after_s;
		tp.patterns = json_object_get(wc->merged,
		    "providerErrorPatterns");
	}
	if (warp_env_make(&sel, s, (flags & WARP_LAUNCH_TAP) && tp.retries >= 0 ?
	    &tp : NULL, env, err) == -1)
		goto out_t;
	if ((cap = warp_retries_cap(c, wc, &t, &sel, s, hop)) >= 0) {
		/* A next agent waits: the harness must not hide the failure. */
		snprintf(num, sizeof num, "%d", cap);
		warp_env_set(env, warp_retries_var(warp_harness_id(sel.harness)),
		    num);
	}
	if (selected != NULL)
		*selected = xstrdup(sel.id);
	rc = 0;
out_t:
	warp_target_clear(&sel);
	warp_target_clear(&t);
out:
	secrets_free(s);
	warp_config_free(wc);
	if (rc == -1) {
		warp_env_clear(env);
		free(*notice);
		*notice = NULL;
	}
	return (rc);
}

/* warp.hostDefaults of this host for a plain harness alias. */
int
warp_launch_host(const struct config *c, const char *harness,
    struct warp_env *env, struct acpx_error **err)
{
	struct warp_config	*wc;
	char			*cause = NULL, *host;

	memset(env, 0, sizeof *env);
	if ((wc = warp_config_load(c, &cause)) == NULL) {
		*err = acpx_error_new(ACPX_CODE_RUNTIME, "WARP_CONFIG_INVALID",
		    "cli", "%s", cause);
		free(cause);
		return (-1);
	}
	host = warp_host_name();
	warp_env_host_defaults(wc, harness, host, env);
	free(host);
	warp_config_free(wc);
	return (0);
}
