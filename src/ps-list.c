#include <config.h>

#include <sys/types.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "events.h"
#include "jget.h"
#include "ps-list.h"
#include "ps-proc.h"
#include "queue-lease.h"
#include "run-registry.h"
#include "session-record.h"
#include "session-store.h"
#include "xmalloc.h"

/*
 * Gathering the rows of acpx ps (ps-list.h): the registrations first,
 * then the leases of owners that did not register.
 */

/* A registration found stale: an owner gone without a word crashed. */
static void
ps_list_stale(const json_t *reg)
{
	const char	*proc = jget_str(reg, "proc");

	if (proc == NULL || strcmp(proc, "owner") != 0)
		return;
	events_emit("owner.stopped", json_pack("{s:s, s:I, s:s*, s:s*, s:s*,"
	    " s:s*, s:s}", "reason", "crash", "ownerPid", json_integer_value(
	    json_object_get(reg, "pid")), "session", jget_str(reg, "session"),
	    "name", jget_str(reg, "name"), "agent", jget_str(reg, "agent"),
	    "cwd", jget_str(reg, "cwd"), "detectedBy", "ps"));
}

static void
ps_list_copy(json_t *row, const json_t *from, const char *key)
{
	const json_t	*v = json_object_get(from, key);

	json_object_set_new(row, key, v != NULL ? json_deep_copy(v) :
	    json_null());
}

/* uptimeMs and rssBytes of a row. */
static void
ps_list_measure(json_t *row, pid_t tree, int64_t now_ms)
{
	long long	 started = queue_lease_parse_iso(jget_str(row,
			    "startedAt")), rss;

	json_object_set_new(row, "uptimeMs", started >= 0 ?
	    json_integer(now_ms - started) : json_null());
	rss = tree > 0 ? ps_proc_tree_rss(tree) : -1;
	json_object_set_new(row, "rssBytes", rss >= 0 ? json_integer(rss) :
	    json_null());
}

/*
 * A row from a registration; the owner's lease file name goes into seen
 * (not read again by ps_list_leases()).
 */
static json_t *
ps_list_registered(const json_t *reg, int64_t now_ms, json_t *seen)
{
	static const char *const keys[] = { "pid", "proc", "session", "name",
	    "agent", "harness", "warpAgent", "cwd", "agentPid", "state" };
	json_t				*row = json_object();
	struct queue_lease_info		*li;
	const char			*sid = jget_str(reg, "session");
	size_t				 i;
	char				*path;

	for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
		ps_list_copy(row, reg, keys[i]);
	json_object_set_new(row, "queued", json_integer(0));
	if (sid != NULL && jget_str(reg, "proc") != NULL &&
	    strcmp(jget_str(reg, "proc"), "owner") == 0 &&
	    (li = queue_lease_read(sid)) != NULL) {
		path = queue_lease_path(sid);
		json_object_set_new(seen, strrchr(path, '/') + 1, json_true());
		free(path);
		if ((json_int_t)li->pid == json_integer_value(
		    json_object_get(reg, "pid")))
			json_object_set_new(row, "queued",
			    json_integer(li->queue_depth));
		queue_lease_info_free(li);
	}
	ps_list_copy(row, reg, "startedAt");
	ps_list_copy(row, reg, "lastEvent");
	ps_list_copy(row, reg, "lastEventAt");
	ps_list_measure(row, (pid_t)json_integer_value(json_object_get(row,
	    "agentPid")), now_ms);
	return (row);
}

/* Is pid one of the rows'? */
static int
ps_list_seen(const json_t *rows, json_int_t pid)
{
	const json_t	*r;
	size_t		 i;

	json_array_foreach(rows, i, r) {
		if (json_integer_value(json_object_get(r, "pid")) == pid)
			return (1);
	}
	return (0);
}

/* A row for a live owner known only by its lease (session id sid). */
static json_t *
ps_list_leased(const char *sid, int64_t now_ms)
{
	struct queue_lease_info	*li;
	struct session_record	*rec;
	char			*cause = NULL;
	json_t			*row;

	if ((li = queue_lease_read(sid)) == NULL)
		return (NULL);
	if (!queue_lease_usable(li)) {
		queue_lease_info_free(li);
		return (NULL);
	}
	rec = session_store_load(sid, &cause);
	free(cause);
	row = json_pack("{s:I, s:s, s:s, s:s?, s:s?, s:n, s:n, s:s?, s:n,"
	    " s:s, s:I, s:n, s:n, s:n}", "pid", (json_int_t)li->pid, "proc",
	    "owner", "session", sid, "name", rec != NULL ? rec->name : NULL,
	    "agent", rec != NULL ? rec->agent_command : NULL, "harness",
	    "warpAgent", "cwd", rec != NULL ? rec->cwd : NULL, "agentPid",
	    "state", "unknown", "queued", (json_int_t)li->queue_depth,
	    "startedAt", "lastEvent", "lastEventAt");
	/* Its agent is among its children: the owner's tree, it included. */
	ps_list_measure(row, li->pid, now_ms);
	session_record_free(rec);
	queue_lease_info_free(li);
	return (row);
}

/* Owners with a lease and no registration (another acpx's). */
static void
ps_list_leases(json_t *rows, int64_t now_ms, const json_t *seen)
{
	char		*dir, *path;
	DIR		*d;
	struct dirent	*de;
	size_t		 n;
	json_t		*o, *row;
	const char	*sid;

	path = queue_lease_path("x");
	dir = xstrndup(path, (size_t)(strrchr(path, '/') - path));
	free(path);
	if ((d = opendir(dir)) == NULL) {
		free(dir);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (n < 6 || strcmp(de->d_name + n - 5, ".lock") != 0 ||
		    json_object_get(seen, de->d_name) != NULL)
			continue;
		xasprintf(&path, "%s/%s", dir, de->d_name);
		o = json_load_file(path, 0, NULL);
		free(path);
		if ((sid = jget_str(o, "sessionId")) != NULL &&
		    json_is_integer(json_object_get(o, "pid")) &&
		    !ps_list_seen(rows, json_integer_value(json_object_get(o,
		    "pid"))) && (row = ps_list_leased(sid, now_ms)) != NULL)
			json_array_append_new(rows, row);
		json_decref(o);
	}
	closedir(d);
	free(dir);
}

static int
ps_list_cmp(const void *a, const void *b)
{
	const json_t	*x = *(const json_t *const *)a;
	const json_t	*y = *(const json_t *const *)b;
	json_int_t	 ux = json_integer_value(json_object_get(x, "uptimeMs"));
	json_int_t	 uy = json_integer_value(json_object_get(y, "uptimeMs"));

	if (ux != uy)
		return (ux > uy ? -1 : 1);
	return (json_integer_value(json_object_get(x, "pid")) <
	    json_integer_value(json_object_get(y, "pid")) ? -1 : 1);
}

json_t *
ps_list(int64_t now_ms)
{
	json_t		*regs = run_registry_scan(ps_list_stale), *rows, *r;
	json_t		**v, *seen = json_object();
	size_t		 i, n;

	rows = json_array();
	json_array_foreach(regs, i, r)
		json_array_append_new(rows, ps_list_registered(r, now_ms,
		    seen));
	json_decref(regs);
	ps_list_leases(rows, now_ms, seen);
	json_decref(seen);

	/* Oldest first. */
	n = json_array_size(rows);
	v = xcalloc(n + 1, sizeof *v);
	for (i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(rows, i));
	qsort(v, n, sizeof *v, ps_list_cmp);
	json_array_clear(rows);
	for (i = 0; i < n; i++)
		json_array_append_new(rows, v[i]);
	free(v);
	return (rows);
}
