#include <config.h>

#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <jansson.h>

#include "agent-registry.h"
#include "config-file.h"
#include "jget.h"
#include "js.h"
#include "procfs.h"
#include "slots.h"
#include "xmalloc.h"

/*
 * Agent slots and their FIFO (the design is in slots.h). The only I/O
 * done from the loop: open/flock(LOCK_NB)/close of small local files, the
 * listing of the queue directory, and the holder's few-byte write into
 * its own slot file.
 */

#define SLOTS_POLL_MIN	0.01	/* first poll of a waiter, s */
#define SLOTS_POLL_MAX	0.25	/* backoff limit */
#define SLOTS_EVICT_GAP	2.0	/* before asking another idle owner, s */
#define SLOTS_INFO_MAX	4096

struct slots_hold {
	int	 fd[2];		/* host, agent; -1 if none */
	char	*info_kind;
	char	*session;
	char	*agent;
};

struct slots_wait {
	struct ev_loop		*loop;
	struct slots_caps	 caps;
	char			*kind;
	char			*session;
	char			*dir;
	char			*ticket;	/* its name in queue/ */
	int			 ticket_fd;
	ev_timer		 timer;
	ev_tstamp		 delay;
	pid_t			 asked;		/* the idle owner asked last */
	ev_tstamp		 asked_at;
	slots_ready_cb		 cb;
	void			*arg;
};

/* ---------------------------------------------------------------- caps */

static int
slots_int(const json_t *v)
{
	return (json_is_integer(v) ? (int)json_integer_value(v) : 0);
}

int
slots_caps(const struct config *c, const char *agent_command,
    struct slots_caps *out)
{
	const json_t		*g = c != NULL ? c->global_json : NULL, *a;
	const char		*id;
	struct agent_spec	 spec;
	int			 same;

	memset(out, 0, sizeof *out);
	out->host = slots_int(json_object_get(g, "maxConcurrentAgents"));
	/* The agent whose command this is, among those with a cap. */
	json_object_foreach((json_t *)json_object_get(g, "agents"), id, a) {
		if (agent_command == NULL ||
		    slots_int(json_object_get(a, "maxConcurrent")) <= 0)
			continue;
		agent_registry_resolve(c, id, NULL, &spec);
		same = spec.command != NULL &&
		    strcmp(spec.command, agent_command) == 0;
		agent_registry_spec_clear(&spec);
		if (same) {
			out->agent = slots_int(json_object_get(a,
			    "maxConcurrent"));
			out->agent_id = xstrdup(id);
			break;
		}
	}
	if (out->host < 0)
		out->host = 0;
	if (out->agent < 0)
		out->agent = 0;
	return (out->host > 0 || out->agent > 0);
}

void
slots_caps_clear(struct slots_caps *c)
{
	free(c->agent_id);
	memset(c, 0, sizeof *c);
}

/* ---------------------------------------------------------------- files */

static char *
slots_dir(void)
{
	const char	*home = getenv("HOME");
	char		*d;

	if (home == NULL || *home == '\0')
		home = "/";
	xasprintf(&d, "%s%s.acpx/slots", home, home[strlen(home) - 1] == '/' ?
	    "" : "/");
	return (d);
}

static int
slots_mkdirs(const char *dir, char **cause)
{
	char	*q, *p;

	p = xstrdup(dir);
	q = strrchr(p, '/');
	*q = '\0';
	(void)mkdir(p, 0700);		/* ~/.acpx */
	free(p);
	xasprintf(&q, "%s/queue", dir);
	if ((mkdir(dir, 0700) == -1 && errno != EEXIST) ||
	    (mkdir(q, 0700) == -1 && errno != EEXIST)) {
		xasprintf(cause, "cannot create %s: %s", q, strerror(errno));
		free(q);
		return (-1);
	}
	free(q);
	return (0);
}

/* The file name of slot k: host.<k> or agent.<id>.<k> (id made safe). */
static char *
slots_name(const char *dir, const char *agent, int k)
{
	char	*s, *p;

	if (agent == NULL) {
		xasprintf(&s, "%s/host.%d", dir, k);
		return (s);
	}
	xasprintf(&s, "%s/agent.%s.%d", dir, agent, k);
	for (p = s + strlen(dir) + 7; *p != '\0'; p++) {
		if (*p == '/')
			*p = '_';
	}
	return (s);
}

/* Lock slot file path without waiting: its descriptor, or -1. */
static int
slots_try_file(const char *path)
{
	int	fd;

	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1)
		return (-1);
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		close(fd);
		return (-1);
	}
	return (fd);
}

/* Is the slot file locked by someone (1), free (0)? */
static int
slots_is_held(const char *path)
{
	int	fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (0);
	if (flock(fd, LOCK_SH | LOCK_NB) == -1) {
		close(fd);
		return (1);
	}
	close(fd);
	return (0);
}

/* Take one of n slots (agent NULL: the host's); the descriptor or -1. */
static int
slots_take(const char *dir, const char *agent, int n)
{
	char	*path;
	int	 k, fd;

	for (k = 0; k < n; k++) {
		path = slots_name(dir, agent, k);
		fd = slots_try_file(path);
		free(path);
		if (fd != -1)
			return (fd);
	}
	return (-1);
}

static int
slots_count_held(const char *dir, const char *agent, int n)
{
	char	*path;
	int	 k, busy = 0;

	for (k = 0; k < n; k++) {
		path = slots_name(dir, agent, k);
		busy += slots_is_held(path);
		free(path);
	}
	return (busy);
}

/* The slot file's holder information, or NULL. Caller owns. */
static json_t *
slots_read_info(const char *path)
{
	char	 buf[SLOTS_INFO_MAX];
	ssize_t	 n;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (NULL);
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return (NULL);
	return (json_loadb(buf, (size_t)n, 0, NULL));
}

/* ---------------------------------------------------------------- queue */

static int
slots_ticket_cmp(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

/*
 * The live tickets before ours (dead waiters' tickets are removed), or
 * with mine NULL all live ones.
 */
static int
slots_ahead(const char *dir, const char *mine)
{
	DIR		*d;
	struct dirent	*de;
	char		*q, *path, **names = NULL;
	size_t		 n = 0, i;
	int		 fd, ahead = 0;

	xasprintf(&q, "%s/queue", dir);
	if ((d = opendir(q)) == NULL) {
		free(q);
		return (0);
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		if (mine != NULL && strcmp(de->d_name, mine) >= 0)
			continue;
		names = xreallocarray(names, n + 1, sizeof *names);
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof *names, slots_ticket_cmp);
	for (i = 0; i < n; i++) {
		xasprintf(&path, "%s/%s", q, names[i]);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
			if (flock(fd, LOCK_SH | LOCK_NB) == 0)
				(void)unlink(path);	/* its waiter is gone */
			else
				ahead++;
			close(fd);
		}
		free(path);
		free(names[i]);
	}
	free(names);
	free(q);
	return (ahead);
}

/* Create our locked ticket in the queue. -1 with *cause. */
static int
slots_ticket(struct slots_wait *w, char **cause)
{
	struct timespec	 ts;
	char		*tmp, *path;

	clock_gettime(CLOCK_REALTIME, &ts);
	xasprintf(&w->ticket, "%020lld.%ld", (long long)ts.tv_sec *
	    1000000000LL + ts.tv_nsec, (long)getpid());
	xasprintf(&tmp, "%s/.t.%ld", w->dir, (long)getpid());
	xasprintf(&path, "%s/queue/%s", w->dir, w->ticket);
	w->ticket_fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (w->ticket_fd == -1 || flock(w->ticket_fd, LOCK_EX | LOCK_NB) == -1 ||
	    rename(tmp, path) == -1) {
		xasprintf(cause, "cannot queue for an agent slot in %s: %s",
		    w->dir, strerror(errno));
		if (w->ticket_fd != -1)
			close(w->ticket_fd);
		w->ticket_fd = -1;
		(void)unlink(tmp);
		free(tmp);
		free(path);
		return (-1);
	}
	free(tmp);
	free(path);
	return (0);
}

static void
slots_ticket_drop(struct slots_wait *w)
{
	char	*path;

	if (w->ticket_fd == -1)
		return;
	xasprintf(&path, "%s/queue/%s", w->dir, w->ticket);
	(void)unlink(path);
	free(path);
	close(w->ticket_fd);
	w->ticket_fd = -1;
}

/* ---------------------------------------------------------------- eviction */

/* Is pid a queue owner of ours (its command line says so)? */
static int
slots_pid_is_owner(pid_t pid)
{
	char	 buf[4096];
	ssize_t	 n, i;

	if ((n = procfs_cmdline(pid, buf, sizeof buf)) == -1)
		return (0);
	for (i = 0; i < n; i++) {
		if (buf[i] == '\0')
			buf[i] = ' ';
	}
	buf[n] = '\0';
	return (strstr(buf, "__queue-owner") != NULL);
}

/*
 * No slot is free for the first waiter: ask the least recently used idle
 * owner holding one of the slots it needs to stop its agent.
 */
static void
slots_evict(struct slots_wait *w, const char *agent, int n)
{
	json_t		*info;
	char		*path;
	pid_t		 best = 0, pid;
	long long	 best_since = 0, since;
	int		 k;

	if (w->asked != 0 && ev_now(w->loop) - w->asked_at < SLOTS_EVICT_GAP)
		return;
	for (k = 0; k < n; k++) {
		path = slots_name(w->dir, agent, k);
		if (slots_is_held(path) && (info = slots_read_info(path)) !=
		    NULL) {
			pid = (pid_t)json_integer_value(json_object_get(info,
			    "pid"));
			since = json_integer_value(json_object_get(info,
			    "since"));
			if (json_is_true(json_object_get(info, "idle")) &&
			    pid > 0 && pid != getpid() &&
			    (best == 0 || since < best_since)) {
				best = pid;
				best_since = since;
			}
			json_decref(info);
		}
		free(path);
	}
	if (best == 0 || !slots_pid_is_owner(best))
		return;
	if (kill(best, SIGUSR1) == 0) {
		w->asked = best;
		w->asked_at = ev_now(w->loop);
	}
}

/* ---------------------------------------------------------------- hold */

static void
slots_write_info(struct slots_hold *h, int idle)
{
	json_t	*o;
	char	*s;
	int	 i;

	o = json_pack("{s:I, s:s, s:b, s:I}", "pid", (json_int_t)getpid(),
	    "kind", h->info_kind, "idle", idle, "since",
	    (json_int_t)js_now_ms());
	if (h->session != NULL)
		json_object_set_new(o, "session", json_string(h->session));
	if (h->agent != NULL)
		json_object_set_new(o, "agent", json_string(h->agent));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	/* Labelled: a few bytes into our own locked slot file. */
	for (i = 0; i < 2; i++) {
		if (h->fd[i] == -1)
			continue;
		if (ftruncate(h->fd[i], 0) == 0)
			(void)!pwrite(h->fd[i], s, strlen(s), 0);
	}
	free(s);
}

void
slots_hold_set_idle(struct slots_hold *h, int idle)
{
	if (h != NULL)
		slots_write_info(h, idle);
}

void
slots_hold_release(struct slots_hold *h)
{
	int	i;

	if (h == NULL)
		return;
	for (i = 0; i < 2; i++) {
		if (h->fd[i] == -1)
			continue;
		/* Emptied for readers; a failure leaves stale info that
		   the next holder overwrites, and the lock still goes. */
		if (ftruncate(h->fd[i], 0) == -1) {
			/* nothing else to do */
		}
		close(h->fd[i]);	/* the lock goes with it */
	}
	free(h->info_kind);
	free(h->session);
	free(h->agent);
	free(h);
}

/* ---------------------------------------------------------------- wait */

/* The first in line: take the slots, or ask an idle owner for one. */
static struct slots_hold *
slots_try_take(struct slots_wait *w)
{
	struct slots_hold	*h;
	int			 fh = -1, fa = -1;

	if (w->caps.host > 0 &&
	    (fh = slots_take(w->dir, NULL, w->caps.host)) == -1) {
		slots_evict(w, NULL, w->caps.host);
		return (NULL);
	}
	if (w->caps.agent > 0 && (fa = slots_take(w->dir, w->caps.agent_id,
	    w->caps.agent)) == -1) {
		if (fh != -1)
			close(fh);
		slots_evict(w, w->caps.agent_id, w->caps.agent);
		return (NULL);
	}
	h = xcalloc(1, sizeof *h);
	h->fd[0] = fh;
	h->fd[1] = fa;
	h->info_kind = xstrdup(w->kind);
	h->session = w->session != NULL ? xstrdup(w->session) : NULL;
	h->agent = w->caps.agent_id != NULL ? xstrdup(w->caps.agent_id) : NULL;
	slots_write_info(h, 0);
	return (h);
}

static void
slots_wait_free(struct slots_wait *w)
{
	ev_timer_stop(w->loop, &w->timer);
	slots_ticket_drop(w);
	slots_caps_clear(&w->caps);
	free(w->kind);
	free(w->session);
	free(w->dir);
	free(w->ticket);
	free(w);
}

static void
slots_wait_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct slots_wait	*w = t->data;
	struct slots_hold	*h;

	ev_timer_stop(loop, t);
	if (slots_ahead(w->dir, w->ticket) == 0 &&
	    (h = slots_try_take(w)) != NULL) {
		slots_ticket_drop(w);
		w->cb(h, w->arg);
		slots_wait_free(w);
		return;
	}
	w->delay *= 2;
	if (w->delay > SLOTS_POLL_MAX)
		w->delay = SLOTS_POLL_MAX;
	ev_timer_set(t, w->delay, 0.);
	ev_timer_start(loop, t);
}

struct slots_wait *
slots_wait(struct ev_loop *loop, const struct slots_caps *caps,
    const char *kind, const char *session, slots_ready_cb cb, void *arg,
    char **cause)
{
	struct slots_wait	*w;

	w = xcalloc(1, sizeof *w);
	w->loop = loop;
	w->caps.host = caps->host;
	w->caps.agent = caps->agent;
	w->caps.agent_id = caps->agent_id != NULL ? xstrdup(caps->agent_id) :
	    NULL;
	w->kind = xstrdup(kind);
	w->session = session != NULL ? xstrdup(session) : NULL;
	w->dir = slots_dir();
	w->ticket_fd = -1;
	w->cb = cb;
	w->arg = arg;
	w->delay = SLOTS_POLL_MIN / 2;
	if (slots_mkdirs(w->dir, cause) == -1 || slots_ticket(w, cause) == -1) {
		slots_wait_free(w);
		return (NULL);
	}
	ev_timer_init(&w->timer, slots_wait_cb, 0., 0.);
	w->timer.data = w;
	ev_timer_start(loop, &w->timer);
	return (w);
}

void
slots_wait_cancel(struct slots_wait *w)
{
	if (w != NULL)
		slots_wait_free(w);
}

/* ---------------------------------------------------------------- views */

void
slots_busy(const struct slots_caps *c, int *busy, int *cap, int *waiting)
{
	char	*dir = slots_dir();

	if (c->host > 0) {
		*cap = c->host;
		*busy = slots_count_held(dir, NULL, c->host);
	} else {
		*cap = c->agent;
		*busy = slots_count_held(dir, c->agent_id, c->agent);
	}
	*waiting = slots_ahead(dir, NULL);
	free(dir);
}

int
slots_free_now(const struct slots_caps *c)
{
	char	*dir = slots_dir();
	int	 ok = 1;

	if (slots_ahead(dir, NULL) > 0 ||
	    (c->host > 0 && slots_count_held(dir, NULL, c->host) >= c->host) ||
	    (c->agent > 0 && slots_count_held(dir, c->agent_id, c->agent) >=
	    c->agent))
		ok = 0;
	free(dir);
	return (ok);
}

int
slots_session_holds(const char *session_id)
{
	DIR		*d;
	struct dirent	*de;
	json_t		*info;
	char		*dir = slots_dir(), *path;
	const char	*s;
	int		 found = 0;

	if ((d = opendir(dir)) == NULL) {
		free(dir);
		return (0);
	}
	while (!found && (de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "host.", 5) != 0 &&
		    strncmp(de->d_name, "agent.", 6) != 0)
			continue;
		xasprintf(&path, "%s/%s", dir, de->d_name);
		if (slots_is_held(path) && (info = slots_read_info(path)) !=
		    NULL) {
			s = jget_str(info, "session");
			found = s != NULL && strcmp(s, session_id) == 0;
			json_decref(info);
		}
		free(path);
	}
	closedir(d);
	free(dir);
	return (found);
}

/* The parent of pid from /proc, or 0. */
static pid_t
slots_parent(pid_t pid)
{
	struct procfs_stat	st;

	return (procfs_stat(pid, &st) == 0 ? st.ppid : 0);
}

int
slots_ancestor_holds(void)
{
	DIR		*d;
	struct dirent	*de;
	json_t		*info;
	char		*dir = slots_dir(), *path;
	pid_t		*holders = NULL, pid;
	size_t		 n = 0, i;
	int		 depth, found = 0;

	if ((d = opendir(dir)) == NULL) {
		free(dir);
		return (0);
	}
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "host.", 5) != 0 &&
		    strncmp(de->d_name, "agent.", 6) != 0)
			continue;
		xasprintf(&path, "%s/%s", dir, de->d_name);
		if (slots_is_held(path) && (info = slots_read_info(path)) !=
		    NULL) {
			holders = xreallocarray(holders, n + 1, sizeof *holders);
			holders[n++] = (pid_t)json_integer_value(
			    json_object_get(info, "pid"));
			json_decref(info);
		}
		free(path);
	}
	closedir(d);
	free(dir);
	pid = getppid();
	for (depth = 0; !found && pid > 1 && depth < 16; depth++) {
		for (i = 0; i < n; i++)
			found |= holders[i] == pid;
		pid = slots_parent(pid);
	}
	free(holders);
	return (found);
}
