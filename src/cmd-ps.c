#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acpx.h"
#include "cli-invocation.h"
#include "cmd.h"
#include "config-file.h"
#include "events.h"
#include "jget.h"
#include "output.h"
#include "ps-list.h"
#include "queue-lease.h"
#include "warp.h"
#include "xmalloc.h"

/*
 * acpx ps: every live queue owner, exec and warp serve of this user on
 * this host (ps-list.h), as a table or, with --format json, one array of
 * the rows. Local state only; nothing is asked of the processes. A row
 * serving a Warp agent gets its provider/model's quota reading from the
 * Warp state ("quota", null when none; a QUOTA column before CWD when a
 * row has one).
 */

#define PS_COLS	11
#define PS_QUOTA	9	/* the column shown only when a row has a reading */

static const char *const ps_heads[PS_COLS] = { "PID", "KIND", "SESSION",
    "AGENT", "STATE", "UPTIME", "RSS", "AGENT-PID", "LAST EVENT", "QUOTA",
    "CWD" };

/* "45s", "3m12s", "2h05m", "3d04h". */
static char *
ps_duration(long long ms)
{
	long long	 s = ms / 1000;
	char		*out;

	if (s < 0)
		s = 0;
	if (s < 60)
		xasprintf(&out, "%llds", s);
	else if (s < 3600)
		xasprintf(&out, "%lldm%02llds", s / 60, s % 60);
	else if (s < 86400)
		xasprintf(&out, "%lldh%02lldm", s / 3600, (s % 3600) / 60);
	else
		xasprintf(&out, "%lldd%02lldh", s / 86400, (s % 86400) / 3600);
	return (out);
}

/* "812K", "61.2M", "1.4G", "-". */
static char *
ps_bytes(const json_t *v)
{
	double	 b = (double)json_integer_value(v);
	char	*out;

	if (!json_is_integer(v))
		return (xstrdup("-"));
	if (b < 1024.0 * 1024)
		xasprintf(&out, "%.0fK", b / 1024);
	else if (b < 1024.0 * 1024 * 1024)
		xasprintf(&out, "%.1fM", b / (1024 * 1024));
	else
		xasprintf(&out, "%.1fG", b / (1024 * 1024 * 1024));
	return (out);
}

/* The agent column: a name, else the harness; "a → b" after a Warp hop. */
static char *
ps_agent(const json_t *r)
{
	const char	*a = jget_str(r, "agent"), *h = jget_str(r, "harness");
	const char	*w = jget_str(r, "warpAgent");
	char		*out;

	if (a == NULL || strchr(a, ' ') != NULL || strchr(a, '/') != NULL)
		a = h != NULL ? h : a;
	if (a == NULL)
		a = "-";
	if (w != NULL && strcmp(w, a) != 0)
		xasprintf(&out, "%s \xe2\x86\x92 %s", a, w);
	else
		out = xstrdup(a);
	return (out);
}

/* The state column: "queued N" when prompts wait. */
static char *
ps_state(const json_t *r)
{
	json_int_t	 q = json_integer_value(json_object_get(r, "queued"));
	const char	*s = jget_str(r, "state");
	char		*out;

	if (q > 0)
		xasprintf(&out, "queued %lld", (long long)q);
	else
		out = xstrdup(s != NULL ? s : "-");
	return (out);
}

static char *
ps_last(const json_t *r, int64_t now)
{
	const char	*e = jget_str(r, "lastEvent");
	long long	 t = queue_lease_parse_iso(jget_str(r, "lastEventAt"));
	char		*ago, *out;

	if (e == NULL)
		return (xstrdup("-"));
	if (t < 0)
		return (xstrdup(e));
	ago = ps_duration(now - t);
	xasprintf(&out, "%s %s ago", e, ago);
	free(ago);
	return (out);
}

static char *
ps_cwd(const json_t *r)
{
	const char	*c = jget_str(r, "cwd"), *home = getenv("HOME");
	size_t		 n = home != NULL ? strlen(home) : 0;
	char		*out;

	if (c == NULL)
		return (xstrdup("-"));
	if (n > 1 && strncmp(c, home, n) == 0 && (c[n] == '/' || c[n] == '\0')) {
		xasprintf(&out, "~%s", c + n);
		return (out);
	}
	return (xstrdup(c));
}

/* "97% used (five_hour), resets T", "exhausted (...)", "-". */
static char *
ps_quota(const json_t *r)
{
	const json_t	*q = jget_obj(r, "quota");
	const json_t	*u = json_object_get(q, "usedPercent");
	const char	*m = jget_str(q, "meter"), *reset = jget_str(q, "resetsAt");
	char		*out;

	if (q == NULL)
		return (xstrdup("-"));
	if (json_is_true(json_object_get(q, "exhausted")))
		xasprintf(&out, "exhausted (%s)", m != NULL ? m : "?");
	else if (json_is_number(u))
		xasprintf(&out, "%d%% used (%s)", (int)json_number_value(u),
		    m != NULL ? m : "?");
	else
		out = xstrdup("-");
	if (reset != NULL) {
		char *tmp;

		xasprintf(&tmp, "%s, resets %s", out, reset);
		free(out);
		out = tmp;
	}
	return (out);
}

/* The cells of row r. */
static void
ps_cells(const json_t *r, int64_t now, char **cell)
{
	const char	*name = jget_str(r, "name"), *sid = jget_str(r, "session");
	json_int_t	 up = json_integer_value(json_object_get(r, "uptimeMs"));

	xasprintf(&cell[0], "%lld", (long long)json_integer_value(
	    json_object_get(r, "pid")));
	cell[1] = xstrdup(jget_str(r, "proc") != NULL ? jget_str(r, "proc") :
	    "-");
	if (name != NULL)
		cell[2] = xstrdup(name);
	else if (sid != NULL)
		xasprintf(&cell[2], "%.8s", sid);
	else
		cell[2] = xstrdup("-");
	cell[3] = ps_agent(r);
	cell[4] = ps_state(r);
	cell[5] = json_is_integer(json_object_get(r, "uptimeMs")) ?
	    ps_duration(up) : xstrdup("-");
	cell[6] = ps_bytes(json_object_get(r, "rssBytes"));
	if (json_is_integer(json_object_get(r, "agentPid")))
		xasprintf(&cell[7], "%lld", (long long)json_integer_value(
		    json_object_get(r, "agentPid")));
	else
		cell[7] = xstrdup("-");
	cell[8] = ps_last(r, now);
	cell[9] = ps_quota(r);
	cell[10] = ps_cwd(r);
}

/* Display width of UTF-8 text (one column per character). */
static size_t
ps_width(const char *s)
{
	size_t	w = 0;

	for (; *s != '\0'; s++) {
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	}
	return (w);
}

static void
ps_table(struct output *out, const json_t *rows, int64_t now)
{
	size_t		 n = json_array_size(rows), i, c, width[PS_COLS], w;
	char		**cells = xcalloc((n + 1) * PS_COLS, sizeof *cells);
	char		*line, *tmp;
	const json_t	*r;
	int		 quota = 0;

	json_array_foreach(rows, i, r)
		quota |= jget_obj(r, "quota") != NULL;

	for (c = 0; c < PS_COLS; c++) {
		cells[c] = xstrdup(ps_heads[c]);
		width[c] = ps_width(cells[c]);
	}
	for (i = 0; i < n; i++) {
		ps_cells(json_array_get(rows, i), now, cells + (i + 1) * PS_COLS);
		for (c = 0; c < PS_COLS; c++) {
			if ((w = ps_width(cells[(i + 1) * PS_COLS + c])) >
			    width[c])
				width[c] = w;
		}
	}
	for (i = 0; i <= n; i++) {
		line = xstrdup("");
		for (c = 0; c < PS_COLS; c++) {
			const char *s = cells[i * PS_COLS + c];

			w = ps_width(s);
			if (c == PS_QUOTA && !quota)
				tmp = xstrdup(line);
			else if (c == PS_COLS - 1)
				xasprintf(&tmp, "%s%s", line, s);
			else
				xasprintf(&tmp, "%s%s%*s  ", line, s,
				    (int)(width[c] - w), "");
			free(line);
			line = tmp;
			free(cells[i * PS_COLS + c]);
		}
		output_result_text(out, "%s", line);
		free(line);
	}
	free(cells);
}

/* Each row's quota reading (rows serving a Warp agent). */
static void
ps_quotas(const struct invocation *inv, json_t *rows, int64_t now)
{
	struct warp_config	*wc = NULL;
	struct warp_state	*st = NULL;
	const char		*id;
	char			*cause = NULL, *home, *warning = NULL;
	json_t			*r;
	size_t			 i;

	json_array_foreach(rows, i, r) {
		id = jget_str(r, "warpAgent");
		if (id == NULL && jget_str(r, "agent") != NULL &&
		    warp_id_looks(jget_str(r, "agent")))
			id = jget_str(r, "agent");
		if (id != NULL && wc == NULL && cause == NULL &&
		    (wc = warp_config_load(inv->config, &cause)) != NULL) {
			home = config_home();
			st = warp_state_load(home, &warning);
			free(warning);
			free(home);
		}
		json_object_set_new(r, "quota", id != NULL && wc != NULL ?
		    warp_quota_agent_json(wc, st, id, (time_t)(now / 1000)) :
		    json_null());
	}
	free(cause);
	warp_state_free(st);
	warp_config_free(wc);
}

static int
cmd_ps_run(const struct invocation *inv, struct output *out)
{
	int64_t	 now = events_now_ms();
	json_t	*rows = ps_list(now);

	ps_quotas(inv, rows, now);

	if (output_format(out) == ACPX_FORMAT_JSON)
		output_result_json(out, rows);
	else if (output_format(out) == ACPX_FORMAT_QUIET) {
		size_t		 i;
		const json_t	*r;

		/* quiet: the pids, one a line. */
		json_array_foreach(rows, i, r)
			output_result_text(out, "%lld", (long long)
			    json_integer_value(json_object_get(r, "pid")));
	} else
		ps_table(out, rows, now);
	json_decref(rows);
	return (ACPX_EXIT_SUCCESS);
}

const struct cmd_entry cmd_ps_entry = {
	.name = "ps",
	.desc = "List the queue owners, execs and warp serves running here",
	.flags = CMD_ACTION,
	.prepare = cli_prepare_plain,
	.run = cmd_ps_run
};
