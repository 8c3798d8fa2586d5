#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acpx-error.h"
#include "acpx.h"
#include "cmdline.h"
#include "config-file.h"
#include "js.h"
#include "warp.h"
#include "xmalloc.h"

/*
 * The `warp` config key. It is read from the two parsed config files
 * (global, then project over it: object-valued keys per entry, the rest
 * replaced; the project file may not name the secrets file), validated
 * key by key with messages in the config module's style ("Invalid config
 * warp.<key> in <file>: ..."), and turned into a small read-only table:
 * providers with their models in config order.
 */

static int
warp_lower_alnum(char c)
{
	return ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'));
}

static int
warp_family_char(char c)
{
	return (warp_lower_alnum(c) || c == '-' || c == '.' || c == '_');
}

static int
warp_name_ok(const char *s, int family)
{
	const char	*p;

	if (s == NULL || !warp_lower_alnum(*s))
		return (0);
	for (p = s + 1; *p != '\0'; p++) {
		if (family ? !warp_family_char(*p) :
		    !(warp_lower_alnum(*p) || *p == '_'))
			return (0);
	}
	return (1);
}

static int
warp_bad(char **cause, const char *key, const char *file, const char *fmt,
    const char *arg)
{
	char	*what;

	xasprintf(&what, fmt, arg);
	xasprintf(cause, "Invalid config warp%s%s in %s: %s", *key != '\0' ?
	    "." : "", key, file, what);
	free(what);
	return (-1);
}

/* An integer from lo to hi at warp.<key> (warp.h): 0, or -1 with *cause. */
int
warp_config_check_int(const json_t *v, const char *key, const char *file,
    long long lo, long long hi, char **cause)
{
	char	 range[64];

	if (json_is_integer(v) && json_integer_value(v) >= lo &&
	    json_integer_value(v) <= hi)
		return (0);
	snprintf(range, sizeof range, "%lld to %lld", lo, hi);
	return (warp_bad(cause, key, file, "expected an integer from %s",
	    range));
}

static int
warp_check_families(const json_t *arr, const char *key, const char *file,
    char **cause)
{
	const json_t	*e;
	size_t		 i;

	if (!json_is_array(arr))
		return (warp_bad(cause, key, file, "expected an array of model "
		    "families%s", ""));
	json_array_foreach(arr, i, e) {
		if (!warp_name_ok(json_string_value(e), 1))
			return (warp_bad(cause, key, file, "expected model family "
			    "names (lower-case letters, digits, '-', '.', '_')%s",
			    ""));
	}
	return (0);
}

static int
warp_check_provider(const char *name, const json_t *p, const char *file,
    char **cause)
{
	const json_t	*models, *families, *v;
	const char	*k;
	char		*key;
	int		 rc = -1;

	xasprintf(&key, "providers.%s", name);
	if (!warp_name_ok(name, 0)) {
		warp_bad(cause, key, file, "provider names are lower-case letters, "
		    "digits and '_' (no '-': it separates the parts of an agent "
		    "id)%s", "");
		goto out;
	}
	if (!json_is_object(p)) {
		warp_bad(cause, key, file, "expected an object with \"models\"%s",
		    "");
		goto out;
	}
	json_object_foreach((json_t *)p, k, v) {
		if (strcmp(k, "models") != 0 && strcmp(k, "families") != 0) {
			warp_bad(cause, key, file, "unknown key \"%s\" (expected "
			    "models, families)", k);
			goto out;
		}
	}
	free(key);
	xasprintf(&key, "providers.%s.models", name);
	models = json_object_get(p, "models");
	if (!json_is_object(models) || json_object_size(models) == 0) {
		warp_bad(cause, key, file, "expected a non-empty object of model "
		    "family -> model id%s", "");
		goto out;
	}
	json_object_foreach((json_t *)models, k, v) {
		if (!warp_name_ok(k, 1)) {
			warp_bad(cause, key, file, "\"%s\" is not a model family "
			    "name (lower-case letters, digits, '-', '.', '_')", k);
			goto out;
		}
		if (!json_is_string(v) || js_blank(json_string_value(v))) {
			free(key);
			xasprintf(&key, "providers.%s.models.%s", name, k);
			warp_bad(cause, key, file, "expected a model id string%s",
			    "");
			goto out;
		}
	}
	free(key);
	xasprintf(&key, "providers.%s.families", name);
	families = json_object_get(p, "families");
	if (families != NULL && !json_is_object(families)) {
		warp_bad(cause, key, file, "expected an object of model family -> "
		    "routing family%s", "");
		goto out;
	}
	json_object_foreach((json_t *)families, k, v) {
		if (json_object_get(models, k) == NULL) {
			warp_bad(cause, key, file, "\"%s\" is not in this "
			    "provider's models", k);
			goto out;
		}
		if (!warp_name_ok(json_string_value(v), 1)) {
			warp_bad(cause, key, file, "the routing family of \"%s\" "
			    "must be a model family name", k);
			goto out;
		}
	}
	rc = 0;
out:
	free(key);
	return (rc);
}

static int
warp_check_host_defaults(const json_t *hd, const char *file, char **cause)
{
	const json_t	*hv, *v, *m, *u;
	const char	*host, *h, *k;
	char		*key;
	int		 rc = -1;

	if (!json_is_object(hd))
		return (warp_bad(cause, "hostDefaults", file, "expected an object "
		    "of host name -> harness -> {model, baseUrl}%s", ""));
	json_object_foreach((json_t *)hd, host, hv) {
		xasprintf(&key, "hostDefaults.%s", host);
		if (!json_is_object(hv)) {
			warp_bad(cause, key, file, "expected an object of harness "
			    "-> {model, baseUrl}%s", "");
			goto out;
		}
		json_object_foreach((json_t *)hv, h, v) {
			free(key);
			xasprintf(&key, "hostDefaults.%s.%s", host, h);
			if (warp_harness_find(h) == NULL) {
				warp_bad(cause, key, file, "unknown harness \"%s\"",
				    h);
				goto out;
			}
			if (!json_is_object(v)) {
				warp_bad(cause, key, file, "expected {\"model\": "
				    "..., \"baseUrl\": ...}%s", "");
				goto out;
			}
			json_object_foreach((json_t *)v, k, m) {
				if (strcmp(k, "model") != 0 &&
				    strcmp(k, "baseUrl") != 0) {
					warp_bad(cause, key, file, "unknown key "
					    "\"%s\" (expected model, baseUrl)", k);
					goto out;
				}
			}
			m = json_object_get(v, "model");
			u = json_object_get(v, "baseUrl");
			if (!json_is_string(m) ||
			    js_blank(json_string_value(m))) {
				warp_bad(cause, key, file, "\"model\" must be a "
				    "non-empty string%s", "");
				goto out;
			}
			if (u != NULL && (!json_is_string(u) ||
			    (strncmp(json_string_value(u), "http://", 7) != 0 &&
			    strncmp(json_string_value(u), "https://", 8) != 0))) {
				warp_bad(cause, key, file, "\"baseUrl\" must be an "
				    "http(s) URL%s", "");
				goto out;
			}
		}
		free(key);
		key = NULL;
	}
	rc = 0;
out:
	free(key);
	return (rc);
}

/* Type checks of one file's warp object (fallback ids are checked later). */
static int
warp_check_file(const json_t *w, const char *file, int project, char **cause)
{
	const json_t	*v, *e;
	const char	*k, *k2;
	char		*key;
	int		 rc;

	if (!json_is_object(w))
		return (warp_bad(cause, "", file, "expected an object%s", ""));
	json_object_foreach((json_t *)w, k, v) {
		if (strcmp(k, "envFile") == 0) {
			if (project)
				return (warp_bad(cause, k, file, "the secrets file "
				    "can only be set in the global config "
				    "(~/.acpx/config.json)%s", ""));
			if (!json_is_string(v) || js_blank(json_string_value(v)))
				return (warp_bad(cause, k, file, "expected a file "
				    "path%s", ""));
		} else if (strcmp(k, "providers") == 0) {
			if (!json_is_object(v))
				return (warp_bad(cause, k, file, "expected an object "
				    "of provider name -> {models}%s", ""));
			json_object_foreach((json_t *)v, k2, e) {
				if (warp_check_provider(k2, e, file, cause) == -1)
					return (-1);
			}
		} else if (strcmp(k, "adjacent") == 0) {
			if (!json_is_object(v))
				return (warp_bad(cause, k, file, "expected an object "
				    "of model family -> [model family]%s", ""));
			json_object_foreach((json_t *)v, k2, e) {
				xasprintf(&key, "adjacent.%s", k2);
				if (warp_check_families(e, key, file, cause) == -1) {
					free(key);
					return (-1);
				}
				free(key);
			}
		} else if (strcmp(k, "fallback") == 0) {
			if (!json_is_object(v))
				return (warp_bad(cause, k, file, "expected an object "
				    "of agent id -> [agent id]%s", ""));
			json_object_foreach((json_t *)v, k2, e) {
				if (json_is_array(e))
					continue;
				xasprintf(&key, "fallback.%s", k2);
				warp_bad(cause, key, file, "expected an array of "
				    "warp agent ids%s", "");
				free(key);
				return (-1);
			}
		} else if (strcmp(k, "maxHops") == 0) {
			if (warp_config_check_int(v, k, file, 0, 20, cause) == -1)
				return (-1);
		} else if (strcmp(k, "cooldownSeconds") == 0) {
			if (warp_config_check_int(v, k, file, 0, 30LL * 86400,
			    cause) == -1)
				return (-1);
		} else if (strcmp(k, "probeTimeoutMs") == 0) {
			if (warp_config_check_int(v, k, file, 100, 120000, cause) == -1)
				return (-1);
		} else if (strcmp(k, "stallSeconds") == 0) {
			if (!json_is_null(v) &&
			    warp_config_check_int(v, k, file, 0, 86400, cause) == -1)
				return (-1);
		} else if (strcmp(k, "hostDefaults") == 0) {
			if (warp_check_host_defaults(v, file, cause) == -1)
				return (-1);
		} else if (strcmp(k, "providerErrorPatterns") == 0) {
			if (!json_is_array(v) && !json_is_object(v))
				return (warp_bad(cause, k, file, "expected an array "
				    "or object of patterns%s", ""));
		} else if ((rc = warp_cooldown_check_key(k, v, file,
		    cause)) == -1 || (rc == 0 &&
		    (rc = warp_quota_check_key(k, v, file, cause)) == -1))
			return (-1);
		else if (rc == 0)
			return (warp_bad(cause, "", file, "unknown key \"%s\" "
			    "(expected envFile, providers, adjacent, fallback, "
			    "maxHops, cooldownSeconds, probeTimeoutMs, hostDefaults, "
			    "stallSeconds, providerErrorPatterns, cooldown, "
			    "maxRetryAfterSeconds, allowedFails, "
			    "failWindowSeconds, harnessRetries, quotaReserve)", k));
	}
	return (0);
}

/* Project over global: object-valued keys per entry, the rest replaced. */
static json_t *
warp_merge(const json_t *g, const json_t *p)
{
	json_t		*m, *gv, *pv;
	const char	*k;

	m = g != NULL ? json_deep_copy(g) : json_object();
	json_object_foreach((json_t *)p, k, pv) {
		gv = json_object_get(m, k);
		if (json_is_object(gv) && json_is_object(pv))
			json_object_update(gv, pv);
		else
			json_object_set(m, k, pv);
	}
	return (m);
}

static void
warp_provider_clear(struct warp_provider *p)
{
	size_t	i;

	for (i = 0; i < p->nmodels; i++) {
		free(p->models[i].family);
		free(p->models[i].canon);
		free(p->models[i].model);
	}
	free(p->models);
	free(p->name);
}

static void
warp_build_providers(struct warp_config *wc)
{
	const json_t		*ps, *p, *models, *families, *v;
	const char		*name, *fam, *canon;
	struct warp_provider	*wp;
	struct warp_model	*wm;

	ps = json_object_get(wc->merged, "providers");
	wc->providers = xcalloc(json_object_size(ps) + 1,
	    sizeof *wc->providers);
	json_object_foreach((json_t *)ps, name, p) {
		wp = &wc->providers[wc->nproviders++];
		wp->name = xstrdup(name);
		models = json_object_get(p, "models");
		families = json_object_get(p, "families");
		wp->models = xcalloc(json_object_size(models) + 1,
		    sizeof *wp->models);
		json_object_foreach((json_t *)models, fam, v) {
			wm = &wp->models[wp->nmodels++];
			wm->family = xstrdup(fam);
			wm->model = js_trim_dup(json_string_value(v));
			canon = json_string_value(json_object_get(families, fam));
			wm->canon = xstrdup(canon != NULL ? canon : fam);
		}
	}
}

/* Fallback lists name configured agents, not the agent itself, no repeats. */
static int
warp_check_fallback(const struct warp_config *wc, const json_t *pw,
    const struct config *c, char **cause)
{
	struct warp_target	 t;
	struct acpx_error	*err = NULL;
	const json_t		*list, *e, *pf;
	const char		*id, *file, *s;
	char			*key;
	size_t			 i, j;

	pf = json_object_get(pw, "fallback");
	json_object_foreach(wc->fallback, id, list) {
		file = json_object_get(pf, id) != NULL ? c->project_path :
		    c->global_path;
		xasprintf(&key, "fallback.%s", id);
		if (warp_target_resolve(wc, id, &t, &err) == -1) {
			warp_bad(cause, key, file, "%s", err->message);
			acpx_error_free(err);
			free(key);
			return (-1);
		}
		warp_target_clear(&t);
		json_array_foreach(list, i, e) {
			s = json_string_value(e);
			if (s == NULL) {
				warp_bad(cause, key, file, "expected warp agent id "
				    "strings%s", "");
				goto fail;
			}
			if (strcmp(s, id) == 0) {
				warp_bad(cause, key, file, "the list names the "
				    "agent itself (%s): a chain may not cycle", s);
				goto fail;
			}
			for (j = 0; j < i; j++) {
				if (json_equal(json_array_get(list, j), e)) {
					warp_bad(cause, key, file, "\"%s\" appears "
					    "twice: a chain may not cycle", s);
					goto fail;
				}
			}
			if (warp_target_resolve(wc, s, &t, &err) == -1) {
				warp_bad(cause, key, file, "%s", err->message);
				acpx_error_free(err);
				goto fail;
			}
			warp_target_clear(&t);
		}
		free(key);
	}
	return (0);
fail:
	free(key);
	return (-1);
}

static long long
warp_int(const json_t *w, const char *key, long long dflt)
{
	const json_t	*v = json_object_get(w, key);

	return (json_is_integer(v) ? json_integer_value(v) : dflt);
}

static json_t *
warp_object_or_empty(const json_t *w, const char *key)
{
	json_t	*v = json_object_get(w, key);

	return (json_is_object(v) ? json_incref(v) : json_object());
}

/* The warp config from the parsed config files. */
struct warp_config *
warp_config_load(const struct config *c, char **cause)
{
	struct warp_config	*wc;
	const json_t		*gw, *pw, *ef;

	gw = json_object_get(c->global_json, "warp");
	pw = json_object_get(c->project_json, "warp");
	if (gw != NULL && warp_check_file(gw, c->global_path, 0, cause) == -1)
		return (NULL);
	if (pw != NULL && warp_check_file(pw, c->project_path, 1, cause) == -1)
		return (NULL);
	wc = xcalloc(1, sizeof *wc);
	wc->merged = warp_merge(gw, pw);
	if ((ef = json_object_get(gw, "envFile")) != NULL)
		wc->env_file = xstrdup(json_string_value(ef));
	wc->adjacent = warp_object_or_empty(wc->merged, "adjacent");
	wc->fallback = warp_object_or_empty(wc->merged, "fallback");
	wc->host_defaults = warp_object_or_empty(wc->merged, "hostDefaults");
	wc->max_hops = (int)warp_int(wc->merged, "maxHops",
	    WARP_DEFAULT_MAX_HOPS);
	wc->cooldown_s = warp_int(wc->merged, "cooldownSeconds",
	    WARP_DEFAULT_COOLDOWN);
	wc->probe_timeout_ms = warp_int(wc->merged, "probeTimeoutMs",
	    WARP_DEFAULT_PROBE_TIMEOUT);
	wc->stall_s = warp_int(wc->merged, "stallSeconds", 0);
	warp_cooldown_load(wc);
	warp_quota_load(wc);
	warp_build_providers(wc);
	if (warp_check_fallback(wc, pw, c, cause) == -1) {
		warp_config_free(wc);
		return (NULL);
	}
	return (wc);
}

/* Free a warp config. */
void
warp_config_free(struct warp_config *wc)
{
	size_t	i;

	if (wc == NULL)
		return;
	for (i = 0; i < wc->nproviders; i++)
		warp_provider_clear(&wc->providers[i]);
	free(wc->providers);
	free(wc->env_file);
	json_decref(wc->adjacent);
	json_decref(wc->fallback);
	json_decref(wc->host_defaults);
	json_decref(wc->merged);
	free(wc);
}

/* The warp object for `config show`. */
json_t *
warp_config_display(const struct config *c)
{
	return (warp_merge(json_object_get(c->global_json, "warp"),
	    json_object_get(c->project_json, "warp")));
}

/* A provider by name. */
const struct warp_provider *
warp_config_provider(const struct warp_config *wc, const char *name)
{
	size_t	i;

	for (i = 0; i < wc->nproviders; i++) {
		if (strcmp(wc->providers[i].name, name) == 0)
			return (&wc->providers[i]);
	}
	return (NULL);
}

/* A provider's model by family (the name in agent ids). */
const struct warp_model *
warp_provider_model(const struct warp_provider *p, const char *family)
{
	size_t	i;

	for (i = 0; i < p->nmodels; i++) {
		if (strcmp(p->models[i].family, family) == 0)
			return (&p->models[i]);
	}
	return (NULL);
}

