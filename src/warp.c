#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acpx-error.h"
#include "acpx.h"
#include "cmdline.h"
#include "config-file.h"
#include "warp.h"
#include "xmalloc.h"

/*
 * Warp agent ids, their resolution against the warp config, and fallback
 * chains (the config itself is read and validated in warp-config.c).
 */

/* ------------------------------------------------------------------ ids */

static int
warp_lower_alnum(char c)
{
	return ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'));
}

/* Non-zero if name has the shape of a warp agent id. */
int
warp_id_looks(const char *name)
{
	const char	*p = name, *w;

	if ((w = strstr(name, "-warp-")) == NULL || w == name)
		return (0);
	for (; p < w; p++) {
		if (!warp_lower_alnum(*p))
			return (0);
	}
	p = w + 6;
	if (!warp_lower_alnum(*p) && *p != '_')
		return (0);
	for (; *p != '\0'; p++) {
		if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '/' ||
		    *p == '\\')
			return (0);
	}
	return (1);
}

/* Split a warp-looking id into its parts. */
int
warp_id_parse(const char *name, struct warp_id *id)
{
	const char	*w, *p, *dash;

	memset(id, 0, sizeof *id);
	if (!warp_id_looks(name))
		return (-1);
	w = strstr(name, "-warp-");
	id->harness = xstrndup(name, (size_t)(w - name));
	p = w + 6;
	if ((dash = strchr(p, '-')) == NULL) {
		id->provider = xstrdup(p);
		id->family = xstrdup("");
	} else {
		id->provider = xstrndup(p, (size_t)(dash - p));
		id->family = xstrdup(dash + 1);
	}
	return (0);
}

/* Free an id's parts. */
void
warp_id_clear(struct warp_id *id)
{
	free(id->harness);
	free(id->provider);
	free(id->family);
	memset(id, 0, sizeof *id);
}

/* Format an agent id. */
char *
warp_id_format(const char *harness, const char *provider, const char *family)
{
	char	*s;

	xasprintf(&s, "%s-warp-%s-%s", harness, provider, family);
	return (s);
}

/* WARP_<PROVIDER>_<suffix>. */
char *
warp_var_name(const char *provider, const char *suffix)
{
	char	*s, *p;

	xasprintf(&s, "WARP_%s_%s", provider, suffix);
	for (p = s + 5; *p != '\0'; p++) {
		if (*p == '-')
			*p = '_';
		else if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	}
	return (s);
}

/* Comma-separated names for messages. Caller owns. */
static char *
warp_join_names(const struct warp_config *wc, const struct warp_provider *p)
{
	char	*s = xstrdup(""), *t;
	size_t	 i, n = p != NULL ? p->nmodels : wc->nproviders;

	for (i = 0; i < n; i++) {
		xasprintf(&t, "%s%s%s", s, i > 0 ? ", " : "", p != NULL ?
		    p->models[i].family : wc->providers[i].name);
		free(s);
		s = t;
	}
	return (s);
}

/* Check an agent id against the harness table and the config. */
int
warp_target_resolve(const struct warp_config *wc, const char *name,
    struct warp_target *t, struct acpx_error **err)
{
	struct warp_id	 id;
	size_t		 i;
	char		*names, *list = NULL, *tmp;

	memset(t, 0, sizeof *t);
	if (warp_id_parse(name, &id) == -1) {
		*err = acpx_error_new(ACPX_CODE_RUNTIME, "WARP_HARNESS_UNKNOWN",
		    "cli", "'%s' is not a warp agent id (expected "
		    "<harness>-warp-<provider>-<model-family>)", name);
		return (-1);
	}
	if ((t->harness = warp_harness_find(id.harness)) == NULL) {
		list = xstrdup("");
		for (i = 0; i < warp_harness_count(); i++) {
			xasprintf(&tmp, "%s%s%s", list, i > 0 ? ", " : "",
			    warp_harness_name(i));
			free(list);
			list = tmp;
		}
		*err = acpx_error_new(ACPX_CODE_RUNTIME, "WARP_HARNESS_UNKNOWN",
		    "cli", "Unknown warp harness '%s' in agent id '%s' (supported: "
		    "%s)", id.harness, name, list);
		goto fail;
	}
	if ((t->provider = warp_config_provider(wc, id.provider)) == NULL) {
		names = warp_join_names(wc, NULL);
		*err = acpx_error_new(ACPX_CODE_RUNTIME, "WARP_PROVIDER_UNKNOWN",
		    "cli", "Unknown warp provider '%s' in agent id '%s' (%s%s)",
		    id.provider, name, wc->nproviders > 0 ?
		    "configured in warp.providers: " : "no providers configured: "
		    "add warp.providers to ~/.acpx/config.json", names);
		free(names);
		goto fail;
	}
	if (*id.family == '\0' ||
	    (t->model = warp_provider_model(t->provider, id.family)) == NULL) {
		names = warp_join_names(wc, t->provider);
		if (*id.family == '\0')
			*err = acpx_error_new(ACPX_CODE_RUNTIME,
			    "WARP_MODEL_UNKNOWN", "cli", "Agent id '%s' names no "
			    "model family (expected <harness>-warp-<provider>-"
			    "<model-family>; warp.providers.%s.models has: %s)",
			    name, id.provider, names);
		else
			*err = acpx_error_new(ACPX_CODE_RUNTIME,
			    "WARP_MODEL_UNKNOWN", "cli", "Warp provider '%s' has no "
			    "model family '%s' (agent id '%s'; warp.providers.%s."
			    "models has: %s)", id.provider, id.family, name,
			    id.provider, names);
		free(names);
		goto fail;
	}
	t->id = xstrdup(name);
	warp_id_clear(&id);
	return (0);
fail:
	free(list);
	warp_id_clear(&id);
	memset(t, 0, sizeof *t);
	return (-1);
}

/* Free a target's id. */
void
warp_target_clear(struct warp_target *t)
{
	free(t->id);
	memset(t, 0, sizeof *t);
}

/* A growing NULL-terminated list of strings. */
struct warp_list {
	char	**v;
	size_t	  n;
};

static void
warp_list_add(struct warp_list *l, char *s)
{
	size_t	i;

	for (i = 0; i < l->n; i++) {
		if (strcmp(l->v[i], s) == 0) {
			free(s);
			return;
		}
	}
	l->v = xreallocarray(l->v, l->n + 2, sizeof *l->v);
	l->v[l->n++] = s;
	l->v[l->n] = NULL;
}

static char **
warp_list_done(struct warp_list *l)
{
	if (l->v == NULL)
		l->v = xcalloc(1, sizeof *l->v);
	return (l->v);
}

/* Every warp agent id the config defines. */
char **
warp_config_agents(const struct warp_config *wc)
{
	struct warp_list	 l = { NULL, 0 };
	size_t			 h, i, j;

	for (h = 0; h < warp_harness_count(); h++) {
		for (i = 0; i < wc->nproviders; i++) {
			for (j = 0; j < wc->providers[i].nmodels; j++)
				warp_list_add(&l, warp_id_format(
				    warp_harness_name(h), wc->providers[i].name,
				    wc->providers[i].models[j].family));
		}
	}
	return (warp_list_done(&l));
}

/* Add every model of provider p whose routing family is fam. */
static void
warp_chain_family(struct warp_list *l, const struct warp_target *t,
    const struct warp_provider *p, const char *fam)
{
	size_t	 j;
	char	*id;

	for (j = 0; j < p->nmodels; j++) {
		if (strcmp(p->models[j].canon, fam) != 0)
			continue;
		id = warp_id_format(warp_harness_id(t->harness), p->name,
		    p->models[j].family);
		if (strcmp(id, t->id) == 0)
			free(id);
		else
			warp_list_add(l, id);
	}
}

/* The fallback chain of an agent. */
char **
warp_chain(const struct warp_config *wc, const struct warp_target *t)
{
	struct warp_list	 l = { NULL, 0 };
	const json_t		*list, *adj, *e;
	const char		*fam = t->model->canon;
	size_t			 i, k;

	if ((list = json_object_get(wc->fallback, t->id)) != NULL) {
		json_array_foreach(list, i, e)
			warp_list_add(&l, xstrdup(json_string_value(e)));
		return (warp_list_done(&l));
	}
	adj = json_object_get(wc->adjacent, fam);
	/* 1. same family, other providers. */
	for (i = 0; i < wc->nproviders; i++) {
		if (&wc->providers[i] != t->provider)
			warp_chain_family(&l, t, &wc->providers[i], fam);
	}
	/* 2. same provider, adjacent families in order. */
	json_array_foreach(adj, k, e)
		warp_chain_family(&l, t, t->provider, json_string_value(e));
	/* 3. other providers, adjacent families in order. */
	json_array_foreach(adj, k, e) {
		for (i = 0; i < wc->nproviders; i++) {
			if (&wc->providers[i] != t->provider)
				warp_chain_family(&l, t, &wc->providers[i],
				    json_string_value(e));
		}
	}
	return (warp_list_done(&l));
}
