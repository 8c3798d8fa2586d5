#include <config.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "acpx-error.h"
#include "acpx.h"
#include "agent-registry.h"
#include "cli-invocation.h"
#include "cmd-warp.h"
#include "cmd.h"
#include "cmdline.h"
#include "complete.h"
#include "config-file.h"
#include "node-bind.h"
#include "output.h"
#include "secrets.h"
#include "warp.h"
#include "xmalloc.h"

/*
 * acpx warp route <agent-id>: the chain as it would be walked now, without
 * running anything. Each candidate of [agent, chain...] is checked by the
 * rule the launch and the fallback use (warp_route_check()): the first
 * one that may take a turn is "chosen", the usable ones after it are
 * "standby" (the fallbacks, in order, within warp.maxHops), the others
 * "skipped" with why (cooling down until T for a cause, quota at N%,
 * node down, secrets missing). Each row also carries the quota reading of
 * its provider/model. The agent named itself is never skipped for
 * missing secrets: its launch fails instead ("failing").
 */

struct route_row {
	const char		*id;
	struct warp_target	 t;
	int			 resolved;
	const char		*status;
	struct warp_route_check	 rc;
};

static json_t *
cmd_warp_route_json(const struct route_row *r, size_t pos,
    const struct warp_state *st, time_t now)
{
	struct warp_quota_view	 qv;

	memset(&qv, 0, sizeof qv);
	if (r->resolved)
		warp_quota_view(st, r->t.provider->name, r->t.model->model, now,
		    &qv);
	return (json_pack("{s:s, s:I, s:s?, s:s?, s:s?, s:s, s:s?, s:s?, s:o, "
	    "s:s?, s:o}", "id", r->id, "position", (json_int_t)pos, "harness",
	    r->resolved ? warp_harness_id(r->t.harness) : NULL, "provider",
	    r->resolved ? r->t.provider->name : NULL, "model", r->resolved ?
	    r->t.model->model : NULL, "status", r->status, "skip",
	    r->rc.skip != WARP_ROUTE_OK ? warp_route_skip_name(r->rc.skip) :
	    NULL, "why", r->rc.why, "cooldown", r->rc.cooldown != NULL ?
	    warp_cooldown_json(r->rc.cooldown) : json_null(), "missing",
	    r->rc.missing, "quota", warp_quota_json(&qv)));
}

static int
cmd_warp_route(const struct invocation *inv, struct output *out)
{
	struct cmd_warp		 ctx;
	struct acpx_error	*err = NULL;
	struct warp_target	 t;
	struct warp_state	*st;
	struct route_row	*rows;
	struct warp_route_ctx	 x;
	char			**chain, ***table, *id, *warning = NULL, *iso;
	char			 num[32];
	const char		*chosen = NULL;
	json_t			*list, *v;
	size_t			 n, i, standby = 0;
	time_t			 now = time(NULL);
	int			 rc = ACPX_EXIT_SUCCESS;

	if (inv->nwords < 1)
		return (output_fail(out, acpx_error_new(ACPX_CODE_USAGE, NULL,
		    "cli", "warp route needs a warp agent id")));
	if (cmd_warp_open(&ctx, inv, out, &err) == -1)
		return (output_fail(out, err));
	id = agent_registry_normalize(inv->words[0]);
	if (warp_target_resolve(ctx.wc, id, &t, &err) == -1) {
		free(id);
		cmd_warp_close(&ctx);
		return (output_fail(out, err));
	}
	if (ctx.secrets == NULL)
		output_notice(out, "warning: %s (every launch fails until it is "
		    "fixed)", ctx.scause);
	st = warp_state_load(ctx.home, &warning);
	if (warning != NULL)
		output_notice(out, "warning: %s", warning);
	free(warning);
	chain = warp_chain(ctx.wc, &t);
	n = cmdline_count(chain) + 1;
	warp_route_ctx_init(&x, ctx.wc, st, ctx.secrets, inv->config,
	    ctx.home, now);
	x.node_until = node_bind_state_until;
	rows = xcalloc(n, sizeof *rows);
	for (i = 0; i < n; i++) {
		rows[i].id = i == 0 ? t.id : chain[i - 1];
		if (warp_target_resolve(ctx.wc, rows[i].id, &rows[i].t,
		    &err) == -1) {
			/* Not expected: chains are checked when loaded. */
			acpx_error_free(err);
			err = NULL;
			rows[i].status = "skipped";
			continue;
		}
		rows[i].resolved = 1;
		warp_route_check(&x, &rows[i].t, i > 0, &rows[i].rc);
		if (rows[i].rc.skip != WARP_ROUTE_OK)
			rows[i].status = "skipped";
		else if (chosen == NULL) {
			rows[i].status = "chosen";
			chosen = rows[i].id;
		} else if (standby < (size_t)ctx.wc->max_hops) {
			rows[i].status = "standby";
			standby++;
		} else {
			rows[i].status = "beyond-maxhops";
			xasprintf(&rows[i].rc.why, "past warp.maxHops (%d)",
			    ctx.wc->max_hops);
		}
	}
	/* The agent named itself fails its launch without its secrets. */
	if (rows[0].resolved && rows[0].rc.skip == WARP_ROUTE_OK &&
	    ctx.secrets != NULL && config_find_bind(inv->config, t.id) == NULL) {
		char *miss = cmd_warp_missing_var(&ctx, t.provider->name);

		if (miss != NULL) {
			rows[0].status = "failing";
			xasprintf(&rows[0].rc.why, "secrets missing (%s): the "
			    "launch fails", miss);
			rows[0].rc.missing = miss;
			chosen = NULL;
		}
	}
	if (chosen == NULL || ctx.secrets == NULL)
		rc = ACPX_EXIT_ERROR;
	if (inv->format == ACPX_FORMAT_JSON) {
		list = json_array();
		for (i = 0; i < n; i++)
			json_array_append_new(list, cmd_warp_route_json(&rows[i],
			    i, st, now));
		iso = warp_iso_time(now);
		v = json_pack("{s:s, s:s, s:i, s:s?, s:o}", "agent", t.id, "at",
		    iso, "maxHops", ctx.wc->max_hops, "chosen", chosen,
		    "candidates", list);
		free(iso);
		output_result_json(out, v);
		json_decref(v);
	} else if (inv->format == ACPX_FORMAT_QUIET) {
		if (chosen != NULL)
			output_result_text(out, "%s", chosen);
	} else {
		table = xcalloc(n + 1, sizeof *table);
		table[0] = cmd_warp_row(6, "#", "AGENT", "PROVIDER", "MODEL",
		    "STATUS", "WHY");
		for (i = 0; i < n; i++) {
			snprintf(num, sizeof num, "%zu", i);
			table[i + 1] = cmd_warp_row(6, num, rows[i].id,
			    rows[i].resolved ? rows[i].t.provider->name : "-",
			    rows[i].resolved ? rows[i].t.model->model : "-",
			    rows[i].status, rows[i].rc.why != NULL ?
			    rows[i].rc.why : "-");
		}
		cmd_warp_table(out, table, n + 1);
		cmd_warp_rows_free(table, n + 1);
		if (chosen == NULL)
			output_result_text(out, "No agent of the chain may take "
			    "a turn now.");
	}
	for (i = 0; i < n; i++) {
		warp_route_check_clear(&rows[i].rc);
		if (rows[i].resolved)
			warp_target_clear(&rows[i].t);
	}
	free(rows);
	cmdline_free(chain);
	warp_state_free(st);
	warp_target_clear(&t);
	free(id);
	cmd_warp_close(&ctx);
	return (rc);
}

static const struct cmd_arg route_args[] = { { "<agent-id>",
    "Warp agent id", NULL } };

/* route's operand: the Warp agent ids. */
static int
cmd_warp_route_complete(struct complete *c, const struct cmd_opt *o,
    int npos)
{
	if (o != NULL || npos > 0)
		return (0);
	complete_warp(c, 0);
	return (1);
}

const struct cmd_entry cmd_warp_route_entry = {
	.name = "route",
	.desc = "Show the fallback chain of an agent as it would be walked now",
	.args = route_args,
	.nargs = 1,
	.flags = CMD_ACTION,
	.prepare = cli_prepare_operands,
	.run = cmd_warp_route,
	.complete = cmd_warp_route_complete
};
