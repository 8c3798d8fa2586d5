#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acpx-error.h"
#include "acpx.h"
#include "cli-invocation.h"
#include "cli-validate.h"
#include "cmd-sessions.h"
#include "cmd.h"
#include "jget.h"
#include "js.h"
#include "output.h"
#include "session-record.h"
#include "session-store.h"
#include "xmalloc.h"

/*
 * sessions prune: delete closed session records (and with
 * --include-history their event streams) closed before a date or more
 * than N days ago, or preview it with --dry-run.
 */

static int
prune_flag(const struct invocation *inv, const char *key)
{
	const json_t	*v = json_object_get(inv->verb_opts, key);

	return (v != NULL && !json_is_false(v) && !json_is_null(v));
}

/* formatBytes. */
static void
sessions_bytes(long long b, char *buf, size_t size)
{
	if (b >= 1073741824LL)
		snprintf(buf, size, "%.1f GB", b / 1073741824.0);
	else if (b >= 1048576LL)
		snprintf(buf, size, "%.1f MB", b / 1048576.0);
	else if (b >= 1024)
		snprintf(buf, size, "%.1f KB", b / 1024.0);
	else
		snprintf(buf, size, "%lld B", b);
}

/* Cutoff ISO string from --before or --older-than. Caller owns. */
static char *
sessions_cutoff(const struct invocation *inv)
{
	const char	*before = jget_str(inv->verb_opts, "before");
	const char	*older = jget_str(inv->verb_opts, "older-than");

	if (before != NULL)
		return (xstrdup(before));
	if (older == NULL)
		return (NULL);
	return (js_iso_time(js_now_ms() -
	    strtoll(older, NULL, 10) * 86400000LL));
}

static int
sessions_prune_run(const struct invocation *inv, struct output *out)
{
	struct session_prune_opts	 o;
	struct session_list		 l;
	long long			 bytes = 0;
	char				*cause = NULL, *cutoff, size[32];
	json_t				*j, *ids;
	size_t				 i;
	struct session_record		*r;

	memset(&o, 0, sizeof o);
	o.agent_command = inv->agent.command;
	o.cutoff = cutoff = sessions_cutoff(inv);
	o.include_history = prune_flag(inv, "include-history");
	o.dry_run = prune_flag(inv, "dry-run");
	if (session_store_prune(&o, &l, &bytes, cmd_sessions_warn, out, &cause) ==
	    -1) {
		free(cutoff);
		return (output_fail(out, acpx_error_new(ACPX_CODE_RUNTIME,
		    NULL, "cli", "%s", cause)));
	}
	free(cutoff);
	switch (output_format(out)) {
	case ACPX_FORMAT_JSON:
		ids = json_array();
		for (i = 0; i < l.n; i++)
			json_array_append_new(ids, json_string(l.v[i]->record_id));
		j = json_pack("{s:s, s:b, s:i, s:I, s:o}", "action", o.dry_run ?
		    "sessions_prune_dry_run" : "sessions_pruned", "dryRun",
		    o.dry_run, "count", (int)l.n, "bytesFreed", (json_int_t)bytes,
		    "pruned", ids);
		output_result_json(out, j);
		json_decref(j);
		break;
	case ACPX_FORMAT_QUIET:
		for (i = 0; i < l.n; i++)
			output_result_text(out, "%s", l.v[i]->record_id);
		break;
	case ACPX_FORMAT_TEXT:
		if (l.n == 0) {
			output_result_text(out, "%s", o.dry_run ?
			    "[DRY RUN] No sessions to prune" :
			    "No sessions pruned");
			break;
		}
		sessions_bytes(bytes, size, sizeof size);
		output_result_text(out, "%s %zu session%s%s%s", o.dry_run ?
		    "[DRY RUN] Would prune" : "Pruned", l.n, l.n == 1 ? "" : "s",
		    !o.dry_run && bytes > 0 ? ", freed " : "",
		    !o.dry_run && bytes > 0 ? size : "");
		for (i = 0; i < l.n; i++) {
			r = l.v[i];
			output_result_text(out, "  %s%s%s%s\t%s", r->record_id,
			    r->name != NULL ? " (" : "", r->name != NULL ?
			    r->name : "", r->name != NULL ? ")" : "",
			    r->closed_at != NULL ? r->closed_at : r->last_used_at);
		}
		break;
	}
	session_store_list_free(&l);
	return (ACPX_EXIT_SUCCESS);
}

/* ------------------------------------------------------- the command row */

static const struct cmd_opt o_dry_run = CMD_OPT("--dry-run", NULL,
    "--dry-run", "dryRun", "Preview what would be pruned without deleting "
    "anything", CMD_OPT_BOOL, NULL);
static const struct cmd_opt o_before = CMD_OPT("--before <date>", NULL,
    "--before", "before", "Prune sessions closed before this date",
    CMD_OPT_VALUE, cli_validate_before);
static const struct cmd_opt o_older = CMD_OPT("--older-than <days>", NULL,
    "--older-than", "olderThan", "Prune sessions closed more than N days ago",
    CMD_OPT_VALUE, cli_validate_days);
static const struct cmd_opt o_include_history = CMD_OPT("--include-history",
    NULL, "--include-history", "includeHistory",
    "Also delete event stream files (.stream.ndjson)", CMD_OPT_BOOL, NULL);
static const struct cmd_opt *const prune_opts[] = { &o_dry_run, &o_before,
    &o_older, &o_include_history, NULL };

const struct cmd_entry cmd_sessions_prune_entry = {
	.name = "prune",
	.desc = "Delete closed sessions and free disk space",
	.opts = prune_opts,
	.flags = CMD_ACTION,
	.prepare = cmd_sessions_prepare,
	.run = sessions_prune_run
};
