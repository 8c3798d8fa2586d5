#include <config.h>

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <jansson.h>

#include "fsutil.h"
#include "jget.h"
#include "js.h"
#include "proc.h"
#include "run-registry.h"
#include "session-lock.h"
#include "xmalloc.h"

/*
 * ~/.acpx/run/<pid>.json: who runs an agent here, for `acpx ps` (see
 * run-registry.h). The writer keeps the object in memory and rewrites the
 * file when what it says changes (with a loop attached, at most every
 * RUN_WRITE_INTERVAL_S, from a timer: never on the path of the event that
 * changed it); the reader verifies each file against the birth identity it
 * records.
 */

#define RUN_WRITE_INTERVAL_S	0.1	/* at most one write per interval */
#define RUN_WRITE_DELAY_S	0.1	/* after the change that needs one */

static json_t	*run_self;	/* our registration, or NULL */
static pid_t	 run_pid;	/* whose it is (a fork child is not us) */
static int	 run_atexit;
static int	 run_dirty;	/* run_self changed since it was written */
static struct ev_loop *run_loop;	/* the attached loop, or NULL */
static ev_timer	 run_write_w;	/* the throttled write (unref'ed) */
static ev_tstamp run_written;	/* when we last wrote it (ev_time()) */
static int	 run_lazy;	/* the next registration waits for a loop */
static int	 run_on_disk;	/* the file was written */
static int	 run_id_later;	/* "identity" is a placeholder until written */

char *
run_registry_dir(void)
{
	const char	*home = getenv("HOME");
	char		*p;

	if (home == NULL || *home == '\0')
		home = "/";
	xasprintf(&p, "%s%s.acpx/run", home,
	    home[strlen(home) - 1] == '/' ? "" : "/");
	return (p);
}

static char *
run_registry_file(pid_t pid)
{
	char	*dir = run_registry_dir(), *p;

	xasprintf(&p, "%s/%ld.json", dir, (long)pid);
	free(dir);
	return (p);
}

/*
 * Write our object (a labelled blocking local write, no fsync), staged in
 * <pid>.json.tmp beside it: only we write that name, and the scan skips it.
 */
static void
run_registry_write(void)
{
	char	*path, *text, *dir, *home;
	json_t	*id;
	int	 flags = FSUTIL_NOSYNC | FSUTIL_SIBLING;

	if (run_self == NULL || run_pid != proc_pid())
		return;
	run_dirty = 0;
	run_written = ev_time();
	run_on_disk = 1;	/* (a failed write leaves an unlink harmless) */
	if (run_id_later) {
		/* Set in place: the member keeps its position in the file. */
		run_id_later = 0;
		if ((id = session_lock_identity(run_pid)) != NULL)
			json_object_set_new(run_self, "identity", id);
		else
			json_object_del(run_self, "identity");
	}
	if ((text = json_dumps(run_self, JSON_COMPACT)) == NULL)
		return;
	path = run_registry_file(run_pid);
	if (fsutil_write(path, text, strlen(text), flags, NULL) == -1 &&
	    errno == ENOENT) {
		dir = run_registry_dir();
		home = xstrndup(dir, strlen(dir) - strlen("/run"));
		(void)mkdir(home, 0700);
		(void)mkdir(dir, 0700);
		(void)fsutil_write(path, text, strlen(text), flags, NULL);
		free(home);
		free(dir);
	}
	free(path);
	free(text);
}

static void
run_registry_timer_stop(void)
{
	if (run_loop != NULL && ev_is_active(&run_write_w)) {
		ev_ref(run_loop);
		ev_timer_stop(run_loop, &run_write_w);
	}
}

static void
run_registry_write_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	run_registry_timer_stop();
	if (run_dirty)
		run_registry_write();
}

/*
 * What run_self says changed: write it now without a loop, else from the
 * timer, RUN_WRITE_DELAY_S after the change (a short turn's start and end
 * are one write, once the turn is over) and at most every
 * RUN_WRITE_INTERVAL_S.
 */
static void
run_registry_changed(void)
{
	ev_tstamp	wait;

	run_dirty = 1;
	if (run_loop == NULL) {
		run_registry_write();
		return;
	}
	if (ev_is_active(&run_write_w))
		return;
	wait = run_written + RUN_WRITE_INTERVAL_S - ev_time();
	ev_timer_set(&run_write_w, wait > RUN_WRITE_DELAY_S ? wait :
	    RUN_WRITE_DELAY_S, 0.);
	ev_timer_start(run_loop, &run_write_w);
	ev_unref(run_loop);	/* it never keeps the loop running */
}

void
run_registry_loop(struct ev_loop *loop)
{
	run_registry_timer_stop();
	run_loop = loop;
	if (loop == NULL)
		return;
	ev_timer_init(&run_write_w, run_registry_write_cb, 0., 0.);
	if (run_dirty && run_self != NULL && run_pid == proc_pid())
		run_registry_changed();
}

static void
run_registry_atexit(void)
{
	run_registry_unregister();
}

void
run_registry_register(const char *proc, const char *session,
    const char *name, const char *agent, const char *cwd)
{
	char	*now = js_iso_now();
	json_t	*id;

	json_decref(run_self);
	run_pid = proc_pid();
	run_self = json_pack("{s:I, s:s, s:s, s:s}", "pid", (json_int_t)run_pid,
	    "proc", proc, "startedAt", now, "state", "idle");
	free(now);
	/*
	 * The birth identity (four reads of /proc) when the file is written:
	 * a lazy registration a short run never writes never needs it.
	 */
	run_id_later = run_lazy;
	if (run_lazy)
		json_object_set_new(run_self, "identity", json_null());
	else if ((id = session_lock_identity(run_pid)) != NULL)
		json_object_set_new(run_self, "identity", id);
	if (session != NULL)
		json_object_set_new(run_self, "session", json_string(session));
	if (name != NULL)
		json_object_set_new(run_self, "name", json_string(name));
	if (agent != NULL)
		json_object_set_new(run_self, "agent", json_string(agent));
	if (cwd != NULL)
		json_object_set_new(run_self, "cwd", json_string(cwd));
	if (!run_atexit) {
		run_atexit = 1;
		atexit(run_registry_atexit);
	}
	if (run_lazy) {
		/* Written by the loop's timer: a short run never is. */
		run_lazy = 0;
		run_written = ev_time();
		run_dirty = 1;
		if (run_loop != NULL)
			run_registry_changed();
		return;
	}
	run_registry_write();	/* at once: ps sees us from the start */
}

void
run_registry_lazy(void)
{
	run_lazy = 1;
}

void
run_registry_unregister(void)
{
	char	*path;

	if (run_self == NULL)
		return;
	run_dirty = 0;
	if (run_pid == proc_pid()) {
		run_registry_timer_stop();
		path = run_registry_file(run_pid);
		/* A lazy one never written: nothing to remove. */
		if (run_on_disk)
			(void)unlink(path);
		run_on_disk = 0;
		free(path);
	}
	json_decref(run_self);
	run_self = NULL;
}

/* Copy line's string key into ours (if present). */
static void
run_copy(const json_t *line, const char *key, const char *as)
{
	const json_t	*v = json_object_get(line, key);

	if (json_is_string(v) || json_is_integer(v))
		json_object_set_new(run_self, as, json_deep_copy(v));
}

void
run_registry_note(const char *event, const json_t *line)
{
	const char	*state = NULL;

	if (run_self == NULL || run_pid != proc_pid())
		return;
	run_copy(line, "session", "session");
	run_copy(line, "name", "name");
	run_copy(line, "agent", "agent");
	run_copy(line, "cwd", "cwd");
	if (strcmp(event, "agent.spawned") == 0) {
		run_copy(line, "agentPid", "agentPid");
		run_copy(line, "harness", "harness");
		state = "starting";
	} else if (strcmp(event, "agent.initialized") == 0 ||
	    strcmp(event, "turn.ended") == 0)
		state = "idle";
	else if (strcmp(event, "turn.started") == 0)
		state = "running";
	else if (strcmp(event, "agent.exited") == 0) {
		json_object_del(run_self, "agentPid");
		if (jget_str(run_self, "state") != NULL &&
		    strcmp(jget_str(run_self, "state"), "running") != 0)
			state = "idle";
	} else if (strcmp(event, "fallback.hop") == 0)
		run_copy(line, "to", "warpAgent");
	else if (strcmp(event, "warp.serving") == 0)
		run_copy(line, "warpAgent", "warpAgent");
	if (state != NULL)
		json_object_set_new(run_self, "state", json_string(state));
	run_copy(line, "event", "lastEvent");
	run_copy(line, "ts", "lastEventAt");
	run_registry_changed();
}

/* A file name "<digits>.json": its pid, else 0. */
static pid_t
run_name_pid(const char *name)
{
	size_t	n = strspn(name, "0123456789");
	long	pid;

	if (n == 0 || n > 9 || strcmp(name + n, ".json") != 0)
		return (0);
	pid = strtol(name, NULL, 10);
	return (pid > 0 ? (pid_t)pid : 0);
}

/* A dead process's <pid>.json.tmp (it died while writing): removed. */
static void
run_registry_leftover(const char *dir, const char *name)
{
	size_t	 n = strspn(name, "0123456789");
	char	*path;
	long	 pid;

	if (n == 0 || n > 9 || strcmp(name + n, ".json.tmp") != 0)
		return;
	pid = strtol(name, NULL, 10);
	if (pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
		return;
	xasprintf(&path, "%s/%s", dir, name);
	(void)unlink(path);
	free(path);
}

/* The file's object if it is a live process's, else NULL (stale: removed). */
static json_t *
run_registry_check(const char *dir, const char *name, pid_t pid,
    run_registry_stale_cb stale)
{
	char		*path;
	json_t		*o;
	enum session_lock_incarnation inc;

	xasprintf(&path, "%s/%s", dir, name);
	if ((o = json_load_file(path, 0, NULL)) == NULL && errno == ENOENT) {
		free(path);
		return (NULL);
	}
	if (!json_is_object(o) || json_integer_value(json_object_get(o,
	    "pid")) != pid) {
		/* Half-written files never exist (atomic); junk is removed. */
		json_decref(o);
		(void)unlink(path);
		free(path);
		return (NULL);
	}
	if (pid == proc_pid())
		inc = SESSION_LOCK_MATCHING;
	else
		inc = session_lock_incarnation(pid,
		    json_object_get(o, "identity"));
	if (inc == SESSION_LOCK_GONE) {
		/* Only the remover reports it: once per vanished process. */
		if (unlink(path) == 0 && stale != NULL)
			stale(o);
		json_decref(o);
		free(path);
		return (NULL);
	}
	free(path);
	return (o);
}

json_t *
run_registry_scan(run_registry_stale_cb stale)
{
	char		*dir = run_registry_dir();
	DIR		*d;
	struct dirent	*de;
	json_t		*all = json_array(), *o;
	pid_t		 pid;

	if ((d = opendir(dir)) == NULL) {
		free(dir);
		return (all);
	}
	while ((de = readdir(d)) != NULL) {
		if ((pid = run_name_pid(de->d_name)) == 0) {
			run_registry_leftover(dir, de->d_name);
			continue;
		}
		if ((o = run_registry_check(dir, de->d_name, pid, stale)) !=
		    NULL)
			json_array_append_new(all, o);
	}
	closedir(d);
	free(dir);
	return (all);
}
