#include <config.h>

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "acpx-error.h"
#include "acpx.h"
#include "cli-invocation.h"
#include "cmd-warp.h"
#include "cmd.h"
#include "cmdline.h"
#include "config-file.h"
#include "output.h"
#include "secrets.h"
#include "warp-probe.h"
#include "warp.h"
#include "xmalloc.h"

/*
 * acpx warp doctor: the secrets file (presence, ownership and mode, parse),
 * each provider's variables (set, where from, base URLs that are http(s)),
 * a concurrent probe of every provider whose variables are complete, this
 * host's defaults and the active cooldowns. Read-only: unlike `warp
 * probe`, it records nothing. Exit 0 when nothing is wrong, else 1.
 * Values are never shown, only where they come from; URLs lose userinfo
 * and query.
 */

struct doctor {
	struct cmd_warp	 ctx;
	int		 problems;
	json_t		*json;		/* the --format json report */
	char		**lines;	/* the text report */
	size_t		 nlines;
};

/* One line of the text report. */
#define doctor_line(d, ...) \
	cmdline_appendf(&(d)->lines, &(d)->nlines, __VA_ARGS__)

static void
doctor_secrets(struct doctor *d)
{
	struct stat	 sb;
	json_t		*v;
	char		 mode[16];

	v = json_pack("{s:s, s:s}", "path", d->ctx.env_path, "status",
	    d->ctx.secrets != NULL ? "ok" : secrets_status_code(d->ctx.sst));
	if (d->ctx.secrets != NULL) {
		if (stat(d->ctx.env_path, &sb) == 0) {
			snprintf(mode, sizeof mode, "%04o",
			    (unsigned)(sb.st_mode & 07777));
			json_object_set_new(v, "mode", json_string(mode));
		}
		json_object_set_new(v, "variables", json_integer(
		    (json_int_t)secrets_count(d->ctx.secrets)));
		doctor_line(d, "secrets file %s: ok (mode %s, %zu variables)",
		    d->ctx.env_path, json_string_value(json_object_get(v,
		    "mode")) != NULL ? json_string_value(json_object_get(v,
		    "mode")) : "?", secrets_count(d->ctx.secrets));
	} else {
		d->problems++;
		json_object_set_new(v, "detail", json_string(d->ctx.scause));
		doctor_line(d, "secrets file: %s", d->ctx.scause);
	}
	json_object_set_new(d->json, "secretsFile", v);
}

/* One WARP_<P>_<suffix> variable: where it comes from, URL validity. */
static json_t *
doctor_var(struct doctor *d, const struct warp_provider *p,
    const char *suffix, int url, int required)
{
	const struct secrets	*s = d->ctx.secrets;
	const char		*src, *val;
	char			*name, *disp = NULL;
	json_t			*v;
	int			 ok = 1;

	name = warp_var_name(p->name, suffix);
	src = s != NULL ? secrets_source(s, name) : NULL;
	val = s != NULL ? secrets_get(s, name) : NULL;
	if (src == NULL && !required) {
		free(name);
		return (NULL);
	}
	v = json_pack("{s:s, s:s?}", "name", name, "source", src);
	if (val != NULL && url) {
		disp = warp_probe_display_url(val);
		ok = strncmp(val, "http://", 7) == 0 ||
		    strncmp(val, "https://", 8) == 0;
		json_object_set_new(v, "url", json_string(disp));
		json_object_set_new(v, "ok", json_boolean(ok));
	}
	if (src == NULL) {
		d->problems++;
		doctor_line(d, "  %s: missing", name);
	} else if (!ok) {
		d->problems++;
		doctor_line(d, "  %s: not an http(s) URL (%s)", name, src);
	} else if (url)
		doctor_line(d, "  %s: %s (%s)", name, disp, src);
	else
		doctor_line(d, "  %s: set (%s)", name, src);
	free(disp);
	free(name);
	return (v);
}

static void
doctor_providers(struct doctor *d)
{
	const struct warp_config	 *wc = d->ctx.wc;
	const struct warp_provider	**provs;
	struct cmd_warp_probe_row	 *rows;
	struct warp_probe		 *probe;
	json_t				 *list, *pv, *vars, *v;
	char				 *suffix, *text;
	size_t				  i, h, n = wc->nproviders;

	provs = xcalloc(n + 1, sizeof *provs);
	for (i = 0; i < n; i++)
		provs[i] = &wc->providers[i];
	rows = xcalloc(n + 1, sizeof *rows);
	probe = n > 0 ? cmd_warp_probe(&d->ctx, provs, n, rows) : NULL;
	list = json_array();
	for (i = 0; i < n; i++) {
		doctor_line(d, "provider %s:", provs[i]->name);
		vars = json_array();
		json_array_append_new(vars, doctor_var(d, provs[i], "API_KEY", 0,
		    1));
		json_array_append_new(vars, doctor_var(d, provs[i], "BASE_URL",
		    1, 1));
		for (h = 0; h < warp_harness_count(); h++) {
			xasprintf(&suffix, "%s_BASE_URL", warp_harness_name(h));
			for (char *c = suffix; *c != '\0'; c++) {
				if (*c >= 'a' && *c <= 'z')
					*c = (char)(*c - 'a' + 'A');
			}
			if ((v = doctor_var(d, provs[i], suffix, 1, 0)) != NULL)
				json_array_append_new(vars, v);
			free(suffix);
		}
		text = cmd_warp_probe_text(&rows[i]);
		doctor_line(d, "  probe: %s", text);
		free(text);
		if (rows[i].res != NULL && rows[i].res->cls != WARP_PROBE_OK)
			d->problems++;
		pv = json_pack("{s:s, s:o, s:o}", "name", provs[i]->name,
		    "variables", vars, "probe", cmd_warp_probe_json(&rows[i]));
		json_array_append_new(list, pv);
	}
	if (n == 0) {
		d->problems++;
		doctor_line(d, "providers: none configured (add warp.providers to "
		    "%s)", d->ctx.inv->config->global_path);
	}
	json_object_set_new(d->json, "providers", list);
	if (probe != NULL)
		cmd_warp_probe_free(&d->ctx, probe, rows, n);
	free(rows);
	free(provs);
}

static void
doctor_host(struct doctor *d)
{
	const char	*node = getenv("ACPX_NODE"), *k;
	char		*host = warp_host_name(), *shortname, *dot;
	const json_t	*hd, *v;
	json_t		*j;

	hd = json_object_get(d->ctx.wc->host_defaults, host);
	if (hd == NULL && (dot = strchr(host, '.')) != NULL) {
		shortname = xstrndup(host, (size_t)(dot - host));
		hd = json_object_get(d->ctx.wc->host_defaults, shortname);
		free(shortname);
	}
	j = json_pack("{s:s, s:s, s:O}", "name", host, "source",
	    node != NULL && *node != '\0' ? "ACPX_NODE" : "hostname",
	    "defaults", hd != NULL ? hd : json_null());
	json_object_set_new(d->json, "host", j);
	if (hd == NULL)
		doctor_line(d, "host %s (%s): no hostDefaults", host,
		    node != NULL && *node != '\0' ? "ACPX_NODE" : "hostname");
	else {
		json_object_foreach((json_t *)hd, k, v)
			doctor_line(d, "host %s: %s uses %s%s%s", host, k,
			    json_string_value(json_object_get(v, "model")),
			    json_object_get(v, "baseUrl") != NULL ? " at " : "",
			    json_object_get(v, "baseUrl") != NULL ?
			    json_string_value(json_object_get(v, "baseUrl")) : "");
	}
	free(host);
}

static void
doctor_cooldowns(struct doctor *d)
{
	struct warp_state	*st;
	char			*warning = NULL, *iso;
	json_t			*list;
	time_t			 now = time(NULL);
	size_t			 i, n = 0;

	st = warp_state_load(d->ctx.home, &warning);
	if (warning != NULL) {
		doctor_line(d, "cooldown state: %s", warning);
		free(warning);
	}
	list = json_array();
	for (i = 0; i < st->n; i++) {
		if (st->v[i].until <= now)
			continue;
		n++;
		json_array_append_new(list, warp_cooldown_json(&st->v[i]));
		iso = warp_state_until_text(st->v[i].until);
		doctor_line(d, "cooldown: %s%s%s until %s (%s, from %s)",
		    st->v[i].provider, st->v[i].model != NULL ? "/" : "",
		    st->v[i].model != NULL ? st->v[i].model : "", iso,
		    st->v[i].reason, st->v[i].source);
		free(iso);
	}
	if (n == 0)
		doctor_line(d, "cooldowns: none");
	json_object_set_new(d->json, "cooldowns", list);
	warp_state_free(st);
}

/*
 * The report of acpx warp doctor (also a section of acpx doctor): *json
 * and *lines (NULL-terminated; caller frees both). The number of problems,
 * or -1 with *err when the warp config does not load.
 */
int
cmd_warp_doctor_report(const struct invocation *inv, struct output *out,
    json_t **json, char ***lines, struct acpx_error **err)
{
	struct doctor	 d;
	char		**ids;

	memset(&d, 0, sizeof d);
	*json = NULL;
	*lines = NULL;
	if (cmd_warp_open(&d.ctx, inv, out, err) == -1)
		return (-1);
	d.json = json_object();
	ids = warp_config_agents(d.ctx.wc);
	doctor_line(&d, "config: ok (%zu providers, %zu warp agents)",
	    d.ctx.wc->nproviders, cmdline_count(ids));
	json_object_set_new(d.json, "agents",
	    json_integer((json_int_t)cmdline_count(ids)));
	cmdline_free(ids);
	doctor_secrets(&d);
	doctor_providers(&d);
	doctor_host(&d);
	doctor_cooldowns(&d);
	if (d.problems == 0)
		doctor_line(&d, "doctor: no problems found");
	else
		doctor_line(&d, "doctor: %d problem%s found", d.problems,
		    d.problems == 1 ? "" : "s");
	json_object_set_new(d.json, "ok", json_boolean(d.problems == 0));
	json_object_set_new(d.json, "problems", json_integer(d.problems));
	cmd_warp_close(&d.ctx);
	*json = d.json;
	*lines = d.lines;
	return (d.problems);
}

/* acpx warp doctor. */
int
cmd_warp_doctor(const struct invocation *inv, struct output *out)
{
	struct acpx_error	*err = NULL;
	json_t			*json;
	char			**lines;
	size_t			 i, n;
	int			 problems;

	if ((problems = cmd_warp_doctor_report(inv, out, &json, &lines,
	    &err)) == -1)
		return (output_fail(out, err));
	n = cmdline_count(lines);
	if (inv->format == ACPX_FORMAT_JSON)
		output_result_json(out, json);
	else if (inv->format == ACPX_FORMAT_QUIET)
		output_result_text(out, "%s", lines[n - 1]);
	else {
		for (i = 0; i < n; i++)
			output_result_text(out, "%s", lines[i]);
	}
	cmdline_free(lines);
	json_decref(json);
	return (problems == 0 ? ACPX_EXIT_SUCCESS : ACPX_EXIT_ERROR);
}

/* ------------------------------------------------------- the command row */

const struct cmd_entry cmd_warp_doctor_entry = {
	.name = "doctor",
	.desc = "Check the secrets file and every provider",
	.flags = CMD_ACTION,
	.prepare = cli_prepare_operands,
	.run = cmd_warp_doctor
};
