#include <config.h>

#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <jansson.h>

#include "acpx.h"
#include "js-json.h"
#include "js.h"
#include "session-lock-impl.h"
#include "session-lock.h"
#include "session-path.h"
#include "session-store.h"
#include "xmalloc.h"

/*
 * Turn locks (§4); the guards are in session-lock-guard.c, process identity
 * in session-lock-id.c. A lock file is only ever removed by its holder, or
 * when its holder is confirmed gone by a fresh /proc observation; a missing
 * or foreign identity never authorises it.
 */

#define LOCK_RETRY_MS		15
#define LOCK_NO_PID_GRACE_S	15

/* ---------------------------------------------------------------- turn lock */

struct session_lock {
	char				*path;		/* <E>.stream.lock */
	struct session_lock_guard	*guard;
	struct lock_snap		 marker;	/* what we published */
};

/* created_at strictly increasing per process. */
static char *
lock_created_at(void)
{
	static long long	 last;
	long long		 ms;

	ms = js_now_ms();
	if (ms <= last)
		ms = last + 1;
	last = ms;
	return (js_iso_time(ms));
}

/* Remove a marker left by a holder confirmed gone (twice). 1 if removed. */
static int
lock_recover_marker(const char *path)
{
	struct lock_snap	 s;
	json_t			*identity;
	char			*cause = NULL;
	pid_t			 pid;
	int			 rc = 0;

	if ((rc = session_lock_snap_read(path, &s, &cause)) != 0) {
		free(cause);
		return (rc == 1);
	}
	pid = session_lock_payload_pid(s.bytes, &identity);
	if (pid > 0) {
		if (session_lock_incarnation(pid, identity) == SESSION_LOCK_GONE &&
		    session_lock_incarnation(pid, identity) == SESSION_LOCK_GONE)
			rc = session_lock_remove_if_same(path, &s);
	} else if (time(NULL) - s.mtime.tv_sec > LOCK_NO_PID_GRACE_S)
		rc = session_lock_remove_if_same(path, &s);
	json_decref(identity);
	session_lock_snap_clear(&s);
	return (rc);
}

/*
 * Stage payload in the sibling file <dir>/session-turn-XXXXXX (mkstemp:
 * O_EXCL, 0600) and link it to path, then unlink the stage. No staging
 * directory: its rmdir would free a block, which waits for the device on
 * a file system mounted with discard; the stage's unlink after the link
 * frees nothing (the inode lives on as path).
 */
int
session_lock_publish(const char *dir, const char *path, const char *payload,
    char **cause)
{
	char	*tmp;
	size_t	 len = strlen(payload), off = 0;
	ssize_t	 n;
	int	 fd, rc = -1, saved = 0;

	xasprintf(&tmp, "%s/session-turn-XXXXXX", dir);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		saved = errno;
		xasprintf(cause, "mkstemp %s: %s", dir, strerror(errno));
		free(tmp);
		errno = saved;
		return (-1);
	}
	while (off < len) {
		if ((n = write(fd, payload + off, len - off)) <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			saved = n == -1 ? errno : EIO;
			xasprintf(cause, "%s: %s", tmp, strerror(saved));
			close(fd);
			(void)unlink(tmp);
			free(tmp);
			errno = saved;
			return (-1);
		}
		off += (size_t)n;
	}
	(void)fchmod(fd, 0600);
	close(fd);
	if (link(tmp, path) == 0)
		rc = 0;
	else if (errno == EEXIST)
		saved = EEXIST;
	else if (errno == EPERM || errno == ENOTSUP || errno == EXDEV ||
	    errno == EMLINK) {
		/* No hard links here: exclusive create instead. */
		if (session_lock_write_excl(path, payload, cause) == 0)
			rc = 0;
		else
			saved = errno;
	} else {
		saved = errno;
		xasprintf(cause, "link %s: %s", path, strerror(errno));
	}
	(void)unlink(tmp);
	free(tmp);
	errno = saved;
	return (rc);
}

/* One attempt at the turn lock of lock_id. */
int
session_lock_try(const char *lock_id, struct session_lock **lockp,
    char **cause)
{
	struct session_lock	*l;
	json_t			*payload;
	char			*path, *guard_path, *dir, *text, *created;
	char			*bytes, *base, *tmp;
	const char		*real;
	int			 rc, tries, busy;

	*lockp = NULL;
	if ((real = session_store_real_dir(cause)) == NULL)
		return (-1);
	path = session_path(lock_id, ".stream.lock");
	base = strrchr(path, '/');
	dir = xstrdup(real);
	xasprintf(&tmp, "%s/%s", real, base + 1);
	free(path);
	path = tmp;
	xasprintf(&guard_path, "%s.guard", path);

	l = xcalloc(1, sizeof *l);
	l->path = path;
	rc = session_lock_guard_try(guard_path, &l->guard, cause);
	free(guard_path);
	if (rc != 0) {
		free(dir);
		free(l->path);
		free(l);
		return (rc);
	}

	payload = session_lock_own_payload();
	created = lock_created_at();
	json_object_set_new(payload, "created_at", json_string(created));
	free(created);
	text = js_json_dumps(payload, 2);
	json_decref(payload);
	xasprintf(&bytes, "%s\n", text);
	free(text);

	for (tries = 0; ; tries++) {
		if (session_lock_publish(dir, path, bytes, cause) == 0)
			break;
		busy = errno == EEXIST;
		if (!busy || tries > 0 || !lock_recover_marker(path)) {
			rc = busy ? 1 : -1;
			if (rc == 1) {
				free(*cause);
				*cause = NULL;
			}
			free(bytes);
			free(dir);
			session_lock_guard_release(l->guard);
			free(l->path);
			free(l);
			return (rc);
		}
	}
	free(dir);
	if (session_lock_snap_read(path, &l->marker, cause) != 0 ||
	    strcmp(l->marker.bytes, bytes) != 0) {
		if (*cause == NULL)
			xasprintf(cause, "Session turn ownership changed before "
			    "admission: %s", path);
		free(bytes);
		session_lock_guard_release(l->guard);
		session_lock_snap_clear(&l->marker);
		free(l->path);
		free(l);
		return (-1);
	}
	free(bytes);
	*lockp = l;
	return (0);
}

/* Remove the marker (if unchanged), release the guard, free. */
void
session_lock_release(struct session_lock *l)
{
	if (l == NULL)
		return;
	(void)session_lock_remove_if_same(l->path, &l->marker);
	session_lock_guard_release(l->guard);
	session_lock_snap_clear(&l->marker);
	free(l->path);
	free(l);
}

/* ---------------------------------------------------------------- waiting */

struct session_lock_wait {
	struct ev_loop	*loop;
	ev_timer	 timer;
	char		*lock_id;
	session_lock_cb	 cb;
	void		*arg;
};

static void
lock_wait_free(struct session_lock_wait *w)
{
	ev_timer_stop(w->loop, &w->timer);
	free(w->lock_id);
	free(w);
}

/* One try; 1 if the wait is over (cb ran). */
static int
lock_wait_try(struct session_lock_wait *w)
{
	struct session_lock	*l;
	char			*cause = NULL;
	int			 rc;

	rc = session_lock_try(w->lock_id, &l, &cause);
	if (rc == 1)
		return (0);
	ev_timer_stop(w->loop, &w->timer);
	w->cb(l, rc == 0 ? 0 : -1, cause, w->arg);
	free(cause);
	return (1);
}

static void
lock_wait_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct session_lock_wait	*w = t->data;

	if (lock_wait_try(w))
		lock_wait_free(w);
}

/* Acquire on the loop: a first try at once, then every 15 ms. */
struct session_lock_wait *
session_lock_acquire(struct ev_loop *loop, const char *lock_id,
    session_lock_cb cb, void *arg)
{
	struct session_lock_wait	*w;

	w = xcalloc(1, sizeof *w);
	w->loop = loop;
	w->lock_id = xstrdup(lock_id);
	w->cb = cb;
	w->arg = arg;
	/*
	 * The first try is on the loop's next iteration, never in this call:
	 * cb may free the caller's object that is to hold the return value.
	 */
	ev_timer_init(&w->timer, lock_wait_cb, 0., LOCK_RETRY_MS / 1000.0);
	w->timer.data = w;
	ev_timer_start(loop, &w->timer);
	return (w);
}

/* Stop waiting; cb does not run. */
void
session_lock_wait_cancel(struct session_lock_wait *w)
{
	if (w != NULL)
		lock_wait_free(w);
}
