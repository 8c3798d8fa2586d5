#include <config.h>

#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmdline.h"
#include "config-file.h"
#include "fsutil.h"
#include "js-json.h"
#include "secrets.h"
#include "warp-endpoint.h"
#include "xmalloc.h"

/*
 * A Warp provider over ACP (warp-endpoint.h). The memo file is
 *	{"version": 1, "accepts": {"<harness> <argv joined by spaces>": true}}
 * one entry per harness command that answered setLlmEndpoints: true when
 * it took it, false when it refused it (it is not offered again: the
 * environment table serves it without a notice on every start); no URL
 * and no key. A harness command that stops advertising is removed.
 */

#define WARP_ENDPOINT_MEMO_VERSION	1

struct warp_endpoint {
	char	*harness;
	char	*protocol;
	char	*harness_url;
	char	*shared_url;
	char	*key;
	char	*memo_key;	/* NULL until bound */
	int	 withholds;
	int	 refused;	/* the memo says it refuses: not offered */
	char	**inject_add;	/* the injection environment, when withholds */
	char	**inject_unset;
};

struct warp_endpoint *
warp_endpoint_new(const char *harness, const char *protocol,
    const char *harness_url, const char *shared_url, const char *key)
{
	struct warp_endpoint	*ep = xcalloc(1, sizeof *ep);

	ep->harness = xstrdup(harness);
	ep->protocol = xstrdup(protocol);
	ep->harness_url = xstrdup(harness_url);
	ep->shared_url = xstrdup(shared_url);
	ep->key = xstrdup(key);
	return (ep);
}

static void
warp_endpoint_wipe_list(char **v)
{
	size_t	i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		secrets_wipe(v[i], strlen(v[i]));
	cmdline_free(v);
}

void
warp_endpoint_free(struct warp_endpoint *ep)
{
	if (ep == NULL)
		return;
	secrets_wipe(ep->key, strlen(ep->key));
	free(ep->key);
	free(ep->harness);
	free(ep->protocol);
	free(ep->harness_url);
	free(ep->shared_url);
	free(ep->memo_key);
	warp_endpoint_wipe_list(ep->inject_add);
	cmdline_free(ep->inject_unset);
	free(ep);
}

char *
warp_endpoint_memo_path(const char *home)
{
	char	*p;

	xasprintf(&p, "%s/.acpx/warp/endpoints.json", home);
	return (p);
}

/* The memo's "accepts" object (never NULL). Caller owns. */
static json_t *
warp_endpoint_memo_load(const char *home)
{
	json_t	*root, *acc;
	char	*path = warp_endpoint_memo_path(home);

	root = json_load_file(path, 0, NULL);
	free(path);
	acc = json_object_get(root, "accepts");
	acc = json_is_object(acc) ? json_incref(acc) : json_object();
	json_decref(root);
	return (acc);
}

/* Is NAME=... in env one of the secret values? */
static int
warp_endpoint_secret_var(const char *entry, char *const *secrets)
{
	const char	*eq = strchr(entry, '=');
	size_t		 i;

	for (i = 0; eq != NULL && secrets != NULL && secrets[i] != NULL; i++) {
		if (strcmp(eq + 1, secrets[i]) == 0)
			return (1);
	}
	return (0);
}

void
warp_endpoint_bind(struct warp_endpoint *ep, char *const *argv,
    char *const *env_add, char *const *env_unset, char *const *secrets)
{
	json_t	*acc;
	char	*home, *tmp;
	size_t	 i, na = 0, nu = 0;

	if (ep == NULL || argv == NULL || argv[0] == NULL)
		return;
	free(ep->memo_key);
	ep->memo_key = xstrdup(ep->harness);
	for (i = 0; argv[i] != NULL; i++) {
		xasprintf(&tmp, "%s %s", ep->memo_key, argv[i]);
		free(ep->memo_key);
		ep->memo_key = tmp;
	}
	home = config_home();
	acc = warp_endpoint_memo_load(home);
	free(home);
	ep->withholds = json_is_true(json_object_get(acc, ep->memo_key));
	ep->refused = json_is_false(json_object_get(acc, ep->memo_key));
	json_decref(acc);
	if (!ep->withholds)
		return;
	for (i = 0; env_add != NULL && env_add[i] != NULL; i++)
		;
	ep->inject_add = xcalloc(i + 1, sizeof *ep->inject_add);
	for (i = 0; env_unset != NULL && env_unset[i] != NULL; i++)
		;
	ep->inject_unset = xcalloc(i + 1 + (env_add != NULL ?
	    cmdline_count(env_add) : 0), sizeof *ep->inject_unset);
	for (i = 0; env_unset != NULL && env_unset[i] != NULL; i++)
		ep->inject_unset[nu++] = xstrdup(env_unset[i]);
	for (i = 0; env_add != NULL && env_add[i] != NULL; i++) {
		if (warp_endpoint_secret_var(env_add[i], secrets))
			ep->inject_unset[nu++] = xstrndup(env_add[i],
			    (size_t)(strchr(env_add[i], '=') - env_add[i]));
		else
			ep->inject_add[na++] = xstrdup(env_add[i]);
	}
}

int
warp_endpoint_withholds(const struct warp_endpoint *ep)
{
	return (ep != NULL && ep->withholds);
}

void
warp_endpoint_spawn_env(const struct warp_endpoint *ep, int fallback,
    char *const *add, char *const *unset, char *const **add_out,
    char *const **unset_out)
{
	if (warp_endpoint_withholds(ep) && !fallback) {
		*add_out = ep->inject_add;
		*unset_out = ep->inject_unset;
	} else {
		*add_out = add;
		*unset_out = unset;
	}
}

json_t *
warp_endpoint_params(const struct warp_endpoint *ep, const json_t *init)
{
	const json_t	*protos;
	const char	*proto, *url, *hname;
	char		*hval;
	json_t		*params;

	if (ep == NULL || ep->refused)
		return (NULL);
	protos = json_object_get(json_object_get(json_object_get(init,
	    "agentCapabilities"), "llmEndpoints"), "protocols");
	if (!json_is_object(protos))
		return (NULL);
	if (json_object_get(protos, ep->protocol) != NULL) {
		proto = ep->protocol;
		url = ep->harness_url;
	} else if (json_object_get(protos, "openai") != NULL) {
		proto = "openai";
		url = ep->shared_url;
	} else
		return (NULL);
	if (strcmp(proto, "anthropic") == 0) {
		hname = "x-api-key";
		hval = xstrdup(ep->key);
	} else if (strcmp(proto, "google") == 0) {
		hname = "x-goog-api-key";
		hval = xstrdup(ep->key);
	} else {
		hname = "Authorization";
		xasprintf(&hval, "Bearer %s", ep->key);
	}
	params = json_pack("{s:{s:{s:s, s:{s:s}}}}", "endpoints", proto,
	    "url", url, "headers", hname, hval);
	secrets_wipe(hval, strlen(hval));
	free(hval);
	return (params);
}

void
warp_endpoint_learn(const struct warp_endpoint *ep, int accepted)
{
	json_t		*acc, *root, *was;
	char		*home, *dir, *path, *text;

	if (ep == NULL || ep->memo_key == NULL)
		return;
	home = config_home();
	acc = warp_endpoint_memo_load(home);
	was = json_object_get(acc, ep->memo_key);
	if ((accepted < 0 && was == NULL) || (accepted == 1 &&
	    json_is_true(was)) || (accepted == 0 && json_is_false(was))) {
		json_decref(acc);
		free(home);
		return;
	}
	if (accepted < 0)
		json_object_del(acc, ep->memo_key);
	else
		json_object_set_new(acc, ep->memo_key, json_boolean(accepted));
	root = json_pack("{s:i, s:o}", "version", WARP_ENDPOINT_MEMO_VERSION,
	    "accepts", acc);
	xasprintf(&dir, "%s/.acpx", home);
	(void)mkdir(dir, 0700);
	free(dir);
	xasprintf(&dir, "%s/.acpx/warp", home);
	(void)mkdir(dir, 0700);
	free(dir);
	path = warp_endpoint_memo_path(home);
	text = js_json_dumps(root, 2);
	json_decref(root);
	dir = text;
	xasprintf(&text, "%s\n", dir);
	free(dir);
	/* A small local file, written atomically; a failure costs a restart. */
	(void)fsutil_write(path, text, strlen(text), 0, NULL);
	free(text);
	free(path);
	free(home);
}

json_t *
warp_endpoint_scrub(const json_t *msg)
{
	json_t		*copy, *eps, *e, *h;
	const char	*method, *proto, *name;
	void		*tmp;

	method = json_string_value(json_object_get(msg, "method"));
	if (method == NULL || strcmp(method, WARP_ENDPOINT_METHOD) != 0)
		return (NULL);
	copy = json_deep_copy(msg);
	eps = json_object_get(json_object_get(copy, "params"), "endpoints");
	json_object_foreach(eps, proto, e) {
		json_object_foreach_safe(json_object_get(e, "headers"), tmp,
		    name, h)
			json_object_set_new(json_object_get(e, "headers"), name,
			    json_string("[redacted]"));
	}
	return (copy);
}

json_t *
warp_endpoint_after_init(const struct warp_endpoint *ep, int fallback,
    const json_t *init, const char *agent, int *restart, char **notice)
{
	json_t	*params;

	*restart = 0;
	*notice = NULL;
	/* Started again with the environment table: not offered again. */
	if (ep == NULL || fallback)
		return (NULL);
	if ((params = warp_endpoint_params(ep, init)) != NULL)
		return (params);
	if (warp_endpoint_withholds(ep)) {
		warp_endpoint_learn(ep, -1);
		*restart = 1;
		xasprintf(notice, "[acpx] warp: %s no longer advertises "
		    "llmEndpoints; starting it again with its provider in the "
		    "environment", agent);
	}
	return (NULL);
}

int
warp_endpoint_answer(const struct warp_endpoint *ep, int fallback,
    const json_t *error, char *const *redact, const char *agent,
    char **notice)
{
	const char	*msg;
	char		*red;
	int		 restart;

	*notice = NULL;
	warp_endpoint_learn(ep, error == NULL);
	if (error == NULL)
		return (0);
	msg = json_string_value(json_object_get(error, "message"));
	red = secrets_redact_values(msg != NULL ? msg : "error", redact);
	restart = warp_endpoint_withholds(ep) && !fallback;
	xasprintf(notice, "[acpx] warp: %s rejected its provider endpoint over "
	    "ACP (%s: %s); %s", agent, WARP_ENDPOINT_METHOD, red, restart ?
	    "starting it again with its provider in the environment" :
	    "it keeps its provider from the environment");
	free(red);
	return (restart);
}
