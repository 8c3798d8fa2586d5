#include <config.h>

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ev.h>
#include <jansson.h>

#include "acpx-error.h"
#include "acpx.h"
#include "cli-invocation.h"
#include "cmd-warp.h"
#include "cmd.h"
#include "cmdline.h"
#include "complete.h"
#include "config-file.h"
#include "output.h"
#include "proc.h"
#include "secrets.h"
#include "warp-probe.h"
#include "warp.h"
#include "xmalloc.h"

/*
 * acpx warp list | probe [agent-id|provider]... (doctor is in
 * cmd-warp-doctor.c). Every result is printed three ways: a table in
 * text, one compact JSON object with --format json, bare names in quiet.
 * Secret values are never printed: only whether a variable is set and
 * where it came from; base URLs are shown without userinfo or query.
 * `warp probe` records what it learns in the cooldown state: a provider
 * answering rate-limited, quota-exhausted or auth-failed cools down
 * (Retry-After, else cooldownSeconds); an ok answer ends a provider-wide
 * cooldown.
 */

/* Load the warp config and the secrets file into ctx. -1 with *err. */
int
cmd_warp_open(struct cmd_warp *ctx, const struct invocation *inv,
    struct output *out, struct acpx_error **err)
{
	char	*cause = NULL;

	memset(ctx, 0, sizeof *ctx);
	ctx->inv = inv;
	ctx->out = out;
	if ((ctx->wc = warp_config_load(inv->config, &cause)) == NULL) {
		*err = acpx_error_new(ACPX_CODE_RUNTIME, "WARP_CONFIG_INVALID",
		    "cli", "%s", cause);
		free(cause);
		return (-1);
	}
	ctx->home = config_home();
	ctx->env_path = secrets_path(ctx->home, ctx->wc->env_file);
	ctx->secrets = secrets_load(ctx->env_path, &ctx->sst, &ctx->scause);
	return (0);
}

/* Free what cmd_warp_open() loaded. */
void
cmd_warp_close(struct cmd_warp *ctx)
{
	warp_config_free(ctx->wc);
	secrets_free(ctx->secrets);
	free(ctx->home);
	free(ctx->env_path);
	free(ctx->scause);
	memset(ctx, 0, sizeof *ctx);
}

/* The secrets file's problem as an error, or NULL when it loaded. */
struct acpx_error *
cmd_warp_secrets_error(const struct cmd_warp *ctx)
{
	if (ctx->secrets != NULL)
		return (NULL);
	return (acpx_error_new(ACPX_CODE_RUNTIME, secrets_status_code(ctx->sst),
	    "cli", "%s", ctx->scause));
}

/* The name of the first missing variable of a provider, or NULL. Caller owns. */
char *
cmd_warp_missing_var(const struct cmd_warp *ctx, const char *provider)
{
	static const char *const suffixes[] = { "API_KEY", "BASE_URL" };
	size_t	 i;
	char	*v;

	for (i = 0; i < nitems(suffixes); i++) {
		v = warp_var_name(provider, suffixes[i]);
		if (ctx->secrets == NULL || secrets_get(ctx->secrets, v) == NULL)
			return (v);
		free(v);
	}
	return (NULL);
}

/* ---------------------------------------------------------------- table */

/* Print rows of NULL-terminated columns, padded to the widest cell. */
void
cmd_warp_table(struct output *out, char ***rows, size_t nrows)
{
	size_t	 w[16], i, j, len;
	char	*line, *tmp;

	memset(w, 0, sizeof w);
	for (i = 0; i < nrows; i++) {
		for (j = 0; j < nitems(w) && rows[i][j] != NULL; j++) {
			if ((len = strlen(rows[i][j])) > w[j])
				w[j] = len;
		}
	}
	for (i = 0; i < nrows; i++) {
		line = xstrdup("");
		for (j = 0; j < nitems(w) && rows[i][j] != NULL; j++) {
			if (rows[i][j + 1] == NULL)
				xasprintf(&tmp, "%s%s", line, rows[i][j]);
			else
				xasprintf(&tmp, "%s%-*s  ", line, (int)w[j],
				    rows[i][j]);
			free(line);
			line = tmp;
		}
		output_result_text(out, "%s", line);
		free(line);
	}
}

/* Free table rows. */
void
cmd_warp_rows_free(char ***rows, size_t nrows)
{
	size_t	i;

	for (i = 0; i < nrows; i++)
		cmdline_free(rows[i]);
	free(rows);
}

/* A NULL-terminated row of n copied cells. */
char **
cmd_warp_row(size_t n, ...)
{
	va_list	  ap;
	char	**row = xcalloc(n + 1, sizeof *row);
	size_t	  i;

	va_start(ap, n);
	for (i = 0; i < n; i++)
		row[i] = xstrdup(va_arg(ap, const char *));
	va_end(ap);
	return (row);
}

/* ----------------------------------------------------------------- list */

static char *
cmd_warp_join(char **v, const char *sep)
{
	char	*s = xstrdup(""), *t;
	size_t	 i;

	for (i = 0; v[i] != NULL; i++) {
		xasprintf(&t, "%s%s%s", s, i > 0 ? sep : "", v[i]);
		free(s);
		s = t;
	}
	return (s);
}

static int
cmd_warp_list(const struct invocation *inv, struct output *out)
{
	struct cmd_warp			 ctx;
	struct acpx_error		*err = NULL;
	struct warp_target		 t;
	struct warp_state		*st;
	const struct warp_cooldown	*cd;
	struct warp_quota_view		 qv;
	char				**ids, **chain, ***rows, *missing, *fb;
	char				*status, *iso, *warning = NULL, *quota;
	json_t				*agents, *a, *cdj;
	size_t				 i, n;
	time_t				 now = time(NULL);

	if (cmd_warp_open(&ctx, inv, out, &err) == -1)
		return (output_fail(out, err));
	if (ctx.secrets == NULL && ctx.wc->nproviders > 0)
		output_notice(out, "warning: %s", ctx.scause);
	st = warp_state_load(ctx.home, &warning);
	if (warning != NULL) {
		output_notice(out, "warning: %s", warning);
		free(warning);
	}
	ids = warp_config_agents(ctx.wc);
	n = cmdline_count(ids);
	agents = json_array();
	rows = xcalloc(n + 1, sizeof *rows);
	rows[0] = cmd_warp_row(8, "AGENT", "HARNESS", "PROVIDER", "MODEL",
	    "SECRETS", "STATUS", "QUOTA", "FALLBACK");
	for (i = 0; i < n; i++) {
		if (warp_target_resolve(ctx.wc, ids[i], &t, &err) == -1) {
			acpx_error_free(err);
			err = NULL;
			continue;
		}
		chain = warp_chain(ctx.wc, &t);
		missing = cmd_warp_missing_var(&ctx, t.provider->name);
		cd = warp_state_cooling(st, t.provider->name, t.model->model, now);
		if (cd != NULL) {
			iso = warp_state_until_text(cd->until);
			xasprintf(&status, "cooling until %s (%s)", iso,
			    cd->reason);
			free(iso);
			cdj = warp_cooldown_json(cd);
		} else {
			status = xstrdup("ready");
			cdj = json_null();
		}
		fb = cmd_warp_join(chain, ", ");
		warp_quota_view(st, t.provider->name, t.model->model, now, &qv);
		quota = warp_quota_text(&qv);
		rows[i + 1] = cmd_warp_row(8, t.id, warp_harness_id(t.harness),
		    t.provider->name, t.model->model, missing == NULL ? "yes" :
		    "no", status, quota, *fb != '\0' ? fb : "-");
		free(quota);
		a = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:o, s:o, s:o}",
		    "id", t.id, "harness", warp_harness_id(t.harness),
		    "provider", t.provider->name, "family", t.model->family,
		    "model", t.model->model, "secrets", missing == NULL,
		    "cooldown", cdj, "fallback", json_array(), "quota",
		    warp_quota_json(&qv));
		for (size_t k = 0; chain[k] != NULL; k++)
			json_array_append_new(json_object_get(a, "fallback"),
			    json_string(chain[k]));
		json_array_append_new(agents, a);
		free(fb);
		free(status);
		free(missing);
		cmdline_free(chain);
		warp_target_clear(&t);
	}
	if (inv->format == ACPX_FORMAT_JSON) {
		a = json_pack("{s:s, s:s, s:i, s:I, s:o}", "envFile",
		    ctx.env_path, "envFileStatus", ctx.secrets != NULL ? "ok" :
		    secrets_status_code(ctx.sst), "maxHops", ctx.wc->max_hops,
		    "cooldownSeconds", (json_int_t)ctx.wc->cooldown_s, "agents",
		    agents);
		output_result_json(out, a);
		json_decref(a);
	} else {
		if (inv->format == ACPX_FORMAT_QUIET) {
			for (i = 0; i < n; i++)
				output_result_text(out, "%s", ids[i]);
		} else if (n == 0)
			output_result_text(out, "No warp agents configured (add "
			    "warp.providers to %s)", inv->config->global_path);
		else
			cmd_warp_table(out, rows, n + 1);
		json_decref(agents);
	}
	cmd_warp_rows_free(rows, n + 1);
	cmdline_free(ids);
	warp_state_free(st);
	cmd_warp_close(&ctx);
	return (ACPX_EXIT_SUCCESS);
}

/* ---------------------------------------------------------------- probe */

/* Probe rows: the providers, their probe results once run. */
static const struct warp_provider *
cmd_warp_target_provider(const struct cmd_warp *ctx, const char *name,
    struct acpx_error **err)
{
	const struct warp_provider	*p;
	struct warp_target		 t;
	char				*norm = xstrdup(name), *s;

	for (s = norm; *s != '\0'; s++) {
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
	}
	if ((p = warp_config_provider(ctx->wc, norm)) == NULL &&
	    warp_id_looks(norm) && warp_target_resolve(ctx->wc, norm, &t,
	    err) == 0) {
		p = t.provider;
		warp_target_clear(&t);
	} else if (p == NULL && *err == NULL)
		*err = acpx_error_new(ACPX_CODE_RUNTIME, "WARP_PROVIDER_UNKNOWN",
		    "cli", "'%s' is neither a configured warp provider nor a warp "
		    "agent id (see acpx warp list)", name);
	free(norm);
	return (p);
}

/* Probe the given providers concurrently; fills rows (cmd_warp_probe_free()). */
struct warp_probe *
cmd_warp_probe(struct cmd_warp *ctx, const struct warp_provider **provs,
    size_t n, struct cmd_warp_probe_row *rows)
{
	struct proc		*proc;
	struct ev_loop		*loop;
	struct warp_probe	*probe;
	const char		*key, *url;
	char			*kv, *uv;
	size_t			 i;

	proc = proc_start(PROC_OWN_LOOP);
	loop = proc_loop(proc);
	probe = warp_probe_create(loop, ctx->wc->probe_timeout_ms);
	for (i = 0; i < n; i++) {
		memset(&rows[i], 0, sizeof rows[i]);
		rows[i].prov = provs[i];
		rows[i].index = (size_t)-1;
		kv = warp_var_name(provs[i]->name, "API_KEY");
		uv = warp_var_name(provs[i]->name, "BASE_URL");
		key = ctx->secrets != NULL ? secrets_get(ctx->secrets, kv) : NULL;
		url = ctx->secrets != NULL ? secrets_get(ctx->secrets, uv) : NULL;
		if (key == NULL)
			xasprintf(&rows[i].skip, "%s is not set", kv);
		else if (url == NULL)
			xasprintf(&rows[i].skip, "%s is not set", uv);
		else if (strncmp(url, "http://", 7) != 0 &&
		    strncmp(url, "https://", 8) != 0)
			xasprintf(&rows[i].skip, "%s is not an http(s) URL", uv);
		else {
			rows[i].url = warp_probe_display_url(url);
			rows[i].index = warp_probe_add(probe, url, key);
		}
		free(kv);
		free(uv);
	}
	warp_probe_start(probe);
	while (!warp_probe_done(probe))
		ev_run(loop, EVRUN_ONCE);
	for (i = 0; i < n; i++) {
		if (rows[i].index != (size_t)-1)
			rows[i].res = warp_probe_result(probe, rows[i].index);
	}
	ctx->proc = proc;
	return (probe);
}

/* Free the probe set and its loop. */
void
cmd_warp_probe_free(struct cmd_warp *ctx, struct warp_probe *probe,
    struct cmd_warp_probe_row *rows, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(rows[i].skip);
		free(rows[i].url);
	}
	warp_probe_free(probe);
	proc_free(ctx->proc);
	ctx->proc = NULL;
}

/* Models of the provider its /models answer does not list. Caller owns. */
static json_t *
cmd_warp_unlisted(const struct cmd_warp_probe_row *r)
{
	json_t		*missing;
	const json_t	*e;
	size_t		 i, j;
	int		 found;

	if (r->res == NULL || r->res->models == NULL)
		return (NULL);
	missing = json_array();
	for (i = 0; i < r->prov->nmodels; i++) {
		found = 0;
		json_array_foreach(r->res->models, j, e) {
			if (strcmp(json_string_value(e),
			    r->prov->models[i].model) == 0)
				found = 1;
		}
		if (!found)
			json_array_append_new(missing,
			    json_string(r->prov->models[i].model));
	}
	return (missing);
}

/* One probe row as JSON. Caller owns. */
json_t *
cmd_warp_probe_json(const struct cmd_warp_probe_row *r)
{
	json_t	*v, *missing;

	if (r->res == NULL)
		return (json_pack("{s:s, s:n, s:s, s:n, s:n, s:s}", "provider",
		    r->prov->name, "url", "result", "skipped", "httpStatus",
		    "retryAfter", "detail", r->skip));
	v = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}", "provider",
	    r->prov->name, "url", r->url, "result",
	    warp_probe_class_name(r->res->cls), "httpStatus",
	    r->res->status > 0 ? json_integer(r->res->status) : json_null(),
	    "retryAfter", r->res->retry_after >= 0 ?
	    json_integer(r->res->retry_after) : json_null(), "detail",
	    r->res->detail != NULL ? json_string(r->res->detail) : json_null());
	if (r->res->models != NULL) {
		json_object_set_new(v, "models",
		    json_integer((json_int_t)json_array_size(r->res->models)));
		if ((missing = cmd_warp_unlisted(r)) != NULL)
			json_object_set_new(v, "modelsNotListed", missing);
	}
	json_object_set_new(v, "elapsedMs", json_integer(r->res->elapsed_ms));
	return (v);
}

/* One probe row as text (after the provider name). Caller owns. */
char *
cmd_warp_probe_text(const struct cmd_warp_probe_row *r)
{
	const struct warp_probe_result	*res = r->res;
	json_t				*missing;
	char				*s, *t, *list;
	size_t				 i;

	if (res == NULL) {
		xasprintf(&s, "skipped: %s", r->skip);
		return (s);
	}
	if (res->status > 0)
		xasprintf(&s, "%s (HTTP %ld)", warp_probe_class_name(res->cls),
		    res->status);
	else
		s = xstrdup(warp_probe_class_name(res->cls));
	if (res->retry_after >= 0) {
		xasprintf(&t, "%s, retry after %lds", s, res->retry_after);
		free(s);
		s = t;
	}
	if (res->models != NULL) {
		missing = cmd_warp_unlisted(r);
		list = xstrdup("");
		for (i = 0; i < json_array_size(missing); i++) {
			xasprintf(&t, "%s%s%s", list, i > 0 ? ", " : "",
			    json_string_value(json_array_get(missing, i)));
			free(list);
			list = t;
		}
		xasprintf(&t, "%s: %zu models listed%s%s", s,
		    json_array_size(res->models), *list != '\0' ?
		    "; not listed: " : "", list);
		free(list);
		json_decref(missing);
		free(s);
		s = t;
	}
	if (res->detail != NULL) {
		xasprintf(&t, "%s: %s", s, res->detail);
		free(s);
		s = t;
	}
	return (s);
}

/* Record what a probe learnt in the cooldown state (by cause). */
static void
cmd_warp_record(struct cmd_warp *ctx, struct cmd_warp_probe_row *rows,
    size_t n)
{
	struct warp_cooldown_failure	 fl;
	struct warp_state		*st;
	char				*warning = NULL, *cause = NULL, *note;
	time_t				 now = time(NULL);
	size_t				 i;
	int				 changed = 0, lock;
	enum warp_probe_class		 c;

	lock = warp_state_lock(ctx->home);
	st = warp_state_load(ctx->home, &warning);
	if (warning != NULL)
		output_notice(ctx->out, "warning: %s", warning);
	free(warning);
	for (i = 0; i < n; i++) {
		if (rows[i].res == NULL)
			continue;
		c = rows[i].res->cls;
		if (c == WARP_PROBE_OK)
			changed |= warp_state_clear(st, rows[i].prov->name, NULL);
		else if (c == WARP_PROBE_RATE_LIMITED ||
		    c == WARP_PROBE_QUOTA_EXHAUSTED ||
		    c == WARP_PROBE_AUTH_FAILED) {
			memset(&fl, 0, sizeof fl);
			fl.provider = rows[i].prov->name;
			fl.reason = warp_probe_class_name(c);
			fl.retry_after = rows[i].res->retry_after;
			fl.source = "probe";
			warp_cooldown_record(ctx->wc, st, &fl, now, &note);
			if (note != NULL)
				output_notice(ctx->out, "%s", note);
			free(note);
			changed = 1;
		}
	}
	if (changed && warp_state_save(st, ctx->home, now, &cause) == -1) {
		output_notice(ctx->out, "warning: %s", cause);
		free(cause);
	}
	warp_state_unlock(lock);
	warp_state_free(st);
}

static int
cmd_warp_probe_run(const struct invocation *inv, struct output *out)
{
	struct cmd_warp			  ctx;
	struct acpx_error		 *err = NULL;
	const struct warp_provider	**provs;
	struct cmd_warp_probe_row	 *rows;
	struct warp_probe		 *probe;
	char				***table, *text;
	json_t				 *list, *v;
	size_t				  n = 0, i, j;
	int				  rc = ACPX_EXIT_SUCCESS, dup;

	if (cmd_warp_open(&ctx, inv, out, &err) == -1)
		return (output_fail(out, err));
	provs = xcalloc((size_t)inv->nwords + ctx.wc->nproviders + 1,
	    sizeof *provs);
	for (i = 0; i < (size_t)inv->nwords; i++) {
		if ((provs[n] = cmd_warp_target_provider(&ctx, inv->words[i],
		    &err)) == NULL)
			goto fail;
		for (dup = 0, j = 0; j < n; j++)
			dup |= provs[j] == provs[n];
		if (!dup)
			n++;
	}
	if (inv->nwords == 0) {
		for (i = 0; i < ctx.wc->nproviders; i++)
			provs[n++] = &ctx.wc->providers[i];
	}
	if (n == 0) {
		err = acpx_error_new(ACPX_CODE_RUNTIME, "WARP_PROVIDER_UNKNOWN",
		    "cli", "No warp providers configured (add warp.providers to "
		    "%s)", inv->config->global_path);
		goto fail;
	}
	if ((err = cmd_warp_secrets_error(&ctx)) != NULL)
		goto fail;
	rows = xcalloc(n, sizeof *rows);
	probe = cmd_warp_probe(&ctx, provs, n, rows);
	cmd_warp_record(&ctx, rows, n);
	list = json_array();
	table = xcalloc(n + 1, sizeof *table);
	table[0] = cmd_warp_row(3, "PROVIDER", "URL", "RESULT");
	for (i = 0; i < n; i++) {
		if (rows[i].res == NULL || rows[i].res->cls != WARP_PROBE_OK)
			rc = ACPX_EXIT_ERROR;
		json_array_append_new(list, cmd_warp_probe_json(&rows[i]));
		text = cmd_warp_probe_text(&rows[i]);
		table[i + 1] = cmd_warp_row(3, rows[i].prov->name,
		    rows[i].url != NULL ? rows[i].url : "-", text);
		if (inv->format == ACPX_FORMAT_QUIET)
			output_result_text(out, "%s %s", rows[i].prov->name,
			    rows[i].res != NULL ?
			    warp_probe_class_name(rows[i].res->cls) : "skipped");
		free(text);
	}
	if (inv->format == ACPX_FORMAT_JSON) {
		v = json_pack("{s:b, s:o}", "ok", rc == ACPX_EXIT_SUCCESS,
		    "probes", list);
		output_result_json(out, v);
		json_decref(v);
	} else {
		if (inv->format == ACPX_FORMAT_TEXT)
			cmd_warp_table(out, table, n + 1);
		json_decref(list);
	}
	cmd_warp_rows_free(table, n + 1);
	cmd_warp_probe_free(&ctx, probe, rows, n);
	free(rows);
	free(provs);
	cmd_warp_close(&ctx);
	return (rc);
fail:
	free(provs);
	cmd_warp_close(&ctx);
	return (output_fail(out, err));
}

/* ------------------------------------------------------ the command rows */

static const struct cmd_arg probe_args[] = { { "[targets...]",
    "Warp agent ids or provider names", NULL } };

/* probe's targets: the Warp agent ids and the provider names. */
static int
cmd_warp_probe_complete(struct complete *c, const struct cmd_opt *o,
    int npos)
{
	if (o != NULL)
		return (0);
	complete_warp(c, 1);
	return (1);
}

static const struct cmd_entry cmd_warp_list_entry = {
	.name = "list",
	.desc = "List warp agents with provider, model, harness and fallback "
	    "chain",
	.flags = CMD_ACTION,
	.prepare = cli_prepare_operands,
	.run = cmd_warp_list
};

static const struct cmd_entry cmd_warp_probe_entry = {
	.name = "probe",
	.desc = "Probe providers for reachability, auth and quota",
	.args = probe_args,
	.nargs = 1,
	.flags = CMD_ACTION,
	.prepare = cli_prepare_operands,
	.run = cmd_warp_probe_run,
	.complete = cmd_warp_probe_complete
};

static const struct cmd_entry *const cmd_warp_subs[] = {
	&cmd_warp_list_entry,
	&cmd_warp_doctor_entry,
	&cmd_warp_probe_entry,
	&cmd_warp_reset_entry,
	&cmd_warp_route_entry,
	&cmd_warp_serve_entry,
	NULL
};

const struct cmd_entry cmd_warp_entry = {
	.name = "warp",
	.desc = "Route agents through Warp providers with fallback",
	.subs = cmd_warp_subs
};
