#include <config.h>

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "fsutil.h"
#include "js-json.h"
#include "js.h"
#include "queue-lease-impl.h"
#include "queue-lease.h"
#include "xmalloc.h"

/*
 * Queue leases on disk. Every mutation (acquire, heartbeat, cleanup, a
 * retirement signal) runs while holding the sidecar guard <K>.lock.guard
 * (session-lock.h), as the reference's withQueueLeaseMutation does; the
 * lease itself is published by hard link (acquire) or rename (heartbeat)
 * of a file staged in queues/owner-XXXXXX/. This file acquires, refreshes
 * and releases; queue-lease-path.c says where leases and sockets live,
 * queue-lease-read.c reads them and retires or cleans up after owners.
 */

#define LEASE_GUARD_WAIT_MS	2000
#define LEASE_GUARD_RETRY_MS	10

struct queue_lease {
	char		*record_id;
	char		*path;
	char		*socket_path;
	char		*created_at;
	long long	 generation;
	json_t		*identity;
	char		*mcp_path;
	char		*mcp_fingerprint;
	pid_t		 pid;
	int		 released;
};

/* ---------------------------------------------------------------- guard */

/* Hold <K>.lock.guard, retrying for up to 2 s. NULL with *cause. */
struct session_lock_guard *
queue_lease_guard(const char *record_id, char **cause)
{
	struct session_lock_guard	*g = NULL;
	struct timespec			 ts = { 0, LEASE_GUARD_RETRY_MS * 1000000L };
	char				*dir, *path, *lock;
	long long			 deadline = queue_lease_now_ms() + LEASE_GUARD_WAIT_MS;
	int				 rc;

	dir = queue_lease_dir();
	if (mkdir(dir, 0700) == -1 && errno == ENOENT) {
		char *acpx;

		xasprintf(&acpx, "%s/.acpx", queue_lease_home());
		(void)mkdir(acpx, 0700);
		free(acpx);
		(void)mkdir(dir, 0700);
	}
	(void)chmod(dir, 0700);
	free(dir);
	lock = queue_lease_path(record_id);
	xasprintf(&path, "%s.guard", lock);
	for (;;) {
		if ((rc = session_lock_guard_try(path, &g, cause)) == 0)
			break;
		if (rc == -1) {
			g = NULL;
			break;
		}
		if (queue_lease_now_ms() >= deadline) {
			xasprintf(cause, "file lock timeout for %s", lock);
			g = NULL;
			break;
		}
		/* Held by another process for one small file write. */
		nanosleep(&ts, NULL);
	}
	free(path);
	free(lock);
	return (g);
}

/* ---------------------------------------------------------------- owner side */

/* Pretty JSON + "\n" published atomically: link (acquire) or rename. */
static int
lease_publish(const char *record_id, const json_t *o, int replace,
    char **cause)
{
	char		*text, *full, *dst;
	const char	*op;
	int		 rc, e;

	dst = queue_lease_path(record_id);
	text = js_json_dumps(o, 2);
	xasprintf(&full, "%s\n", text);
	free(text);
	rc = fsutil_write(dst, full, strlen(full), replace ? 0 :
	    FSUTIL_NOREPLACE, &op);
	if (rc == -1) {
		e = errno;
		if (e == EEXIST && strcmp(op, "link") == 0)
			*cause = NULL;
		else
			xasprintf(cause, "%s: %s", dst, strerror(e));
		errno = e;
	}
	free(full);
	free(dst);
	return (rc);
}

static char *
iso_now(void)
{
	return (js_iso_now());
}

/* The lease object in the reference's key order. Caller owns. */
static json_t *
lease_json(const struct queue_lease *l, const char *heartbeat, long long depth)
{
	json_t	*o = json_object();

	json_object_set_new(o, "pid", json_integer(l->pid));
	json_object_set_new(o, "sessionId", json_string(l->record_id));
	json_object_set_new(o, "socketPath", json_string(l->socket_path));
	json_object_set_new(o, "createdAt", json_string(l->created_at));
	json_object_set_new(o, "heartbeatAt", json_string(heartbeat));
	json_object_set_new(o, "ownerGeneration", json_integer(l->generation));
	if (l->identity != NULL)
		json_object_set(o, "processIdentity", l->identity);
	json_object_set_new(o, "queueDepth", json_integer(depth));
	json_object_set_new(o, "sharedRuntime", json_true());
	json_object_set_new(o, "sessionWatch", json_true());
	json_object_set_new(o, "persistsControlState", json_true());
	if (l->mcp_path != NULL)
		json_object_set_new(o, "mcpConfigPath", json_string(l->mcp_path));
	if (l->mcp_fingerprint != NULL)
		json_object_set_new(o, "mcpConfigFingerprint",
		    json_string(l->mcp_fingerprint));
	return (o);
}

static void
lease_free(struct queue_lease *l)
{
	free(l->record_id);
	free(l->path);
	free(l->socket_path);
	free(l->created_at);
	json_decref(l->identity);
	free(l->mcp_path);
	free(l->mcp_fingerprint);
	free(l);
}

/* A random generation in [1, 2^48). */
static long long
lease_generation(void)
{
	uint64_t	v = 0;

	while (v == 0) {
		if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v)
			v = (uint64_t)queue_lease_now_ms() ^ ((uint64_t)getpid() << 20);
		v &= (UINT64_C(1) << 48) - 1;
	}
	return ((long long)v);
}

/*
 * EEXIST on acquire: an unparsable reservation older than 15 s (unchanged
 * while we look) is removed with its socket; a lease whose owner is
 * confirmed gone is cleared. Returns 1 if the way is free now.
 */
static int
lease_collision(const char *record_id)
{
	struct queue_lease_info	*li;
	struct stat		 st, st2;
	char			*path, *sock, *cause = NULL;
	int			 freed = 0;

	if ((li = queue_lease_read(record_id)) != NULL) {
		if (queue_lease_owner_gone(li) &&
		    queue_lease_cleanup(li, &cause) == 0)
			freed = 1;
		free(cause);
		queue_lease_info_free(li);
		return (freed);
	}
	path = queue_lease_path(record_id);
	if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    (long long)time(NULL) - (long long)st.st_mtime >
	    QUEUE_LEASE_STALE_MS / 1000 && (li = queue_lease_read(record_id)) ==
	    NULL && lstat(path, &st2) == 0 && st.st_ino == st2.st_ino &&
	    st.st_mtime == st2.st_mtime && st.st_size == st2.st_size) {
		sock = queue_lease_socket_path(record_id);
		(void)unlink(sock);
		(void)unlink(path);
		free(sock);
		freed = 1;
	}
	queue_lease_info_free(li);
	free(path);
	return (freed);
}

/* Take the lease for record_id. */
struct queue_lease *
queue_lease_acquire(const char *record_id, const char *mcp_path,
    const char *mcp_fingerprint, char **cause)
{
	struct queue_lease		*l;
	struct session_lock_guard	*g;
	json_t				*o;
	char				*now;
	int				 attempt, rc;

	*cause = NULL;
	l = xcalloc(1, sizeof *l);
	l->record_id = xstrdup(record_id);
	l->path = queue_lease_path(record_id);
	l->socket_path = queue_lease_socket_path(record_id);
	l->pid = getpid();
	l->identity = session_lock_identity(l->pid);
	l->generation = lease_generation();
	if (mcp_path != NULL && *mcp_path != '\0')
		l->mcp_path = xstrdup(mcp_path);
	if (mcp_fingerprint != NULL && *mcp_fingerprint != '\0')
		l->mcp_fingerprint = xstrdup(mcp_fingerprint);
	l->created_at = iso_now();

	for (attempt = 0; attempt < 2; attempt++) {
		if ((g = queue_lease_guard(record_id, cause)) == NULL)
			break;
		now = iso_now();
		o = lease_json(l, now, 0);
		rc = lease_publish(record_id, o, 0, cause);
		json_decref(o);
		free(now);
		if (rc == 0) {
			/* Ours now: any socket file left at the path is stale. */
			(void)unlink(l->socket_path);
			session_lock_guard_release(g);
			return (l);
		}
		session_lock_guard_release(g);
		if (*cause != NULL || attempt == 1 || !lease_collision(record_id))
			break;
	}
	lease_free(l);
	return (NULL);
}

/*
 * The lease as the reference rewrites it on a heartbeat: its parsed fields
 * in parse order, then the new heartbeat and depth. Caller owns.
 */
static json_t *
lease_refreshed(const struct queue_lease_info *cur, const char *now,
    long long depth)
{
	static const char *const keys[] = { "pid", "sessionId", "socketPath",
	    "createdAt", "heartbeatAt", "ownerGeneration", "queueDepth",
	    "processIdentity", NULL };
	static const char *const flags[] = { "sharedRuntime", "sessionWatch",
	    "persistsControlState", NULL };
	const char *const	*k;
	const json_t		*v;
	json_t			*o = json_object();

	for (k = keys; *k != NULL; k++) {
		if ((v = json_object_get(cur->raw, *k)) != NULL)
			json_object_set(o, *k, (json_t *)v);
	}
	for (k = flags; *k != NULL; k++) {
		if (json_is_true(json_object_get(cur->raw, *k)))
			json_object_set_new(o, *k, json_true());
	}
	if (cur->mcp_config_path != NULL)
		json_object_set_new(o, "mcpConfigPath",
		    json_string(cur->mcp_config_path));
	if (cur->mcp_config_fingerprint != NULL)
		json_object_set_new(o, "mcpConfigFingerprint",
		    json_string(cur->mcp_config_fingerprint));
	json_object_set_new(o, "heartbeatAt", json_string(now));
	json_object_set_new(o, "queueDepth", json_integer(depth));
	return (o);
}

/* Refresh heartbeatAt and queueDepth if the lease is still ours. */
int
queue_lease_refresh(struct queue_lease *l, long long depth, char **cause)
{
	struct session_lock_guard	*g;
	struct queue_lease_info		*cur;
	json_t				*o;
	char				*now;
	int				 rc = 0;

	if (l->released)
		return (0);
	if ((g = queue_lease_guard(l->record_id, cause)) == NULL)
		return (-1);
	cur = queue_lease_read(l->record_id);
	if (cur != NULL && cur->pid == l->pid &&
	    cur->generation == l->generation) {
		if (cur->retirement) {
			*cause = xstrdup("Queue owner retirement is incomplete; "
			    "its lease was retained");
			rc = -1;
		} else {
			now = iso_now();
			o = lease_refreshed(cur, now, depth);
			rc = lease_publish(l->record_id, o, 1, cause);
			json_decref(o);
			free(now);
		}
	}
	queue_lease_info_free(cur);
	session_lock_guard_release(g);
	return (rc);
}

/* Remove socket and lease if still ours, then free. */
void
queue_lease_release(struct queue_lease *l)
{
	struct queue_lease_info	 me;
	char			*cause = NULL;

	if (l == NULL)
		return;
	l->released = 1;
	memset(&me, 0, sizeof me);
	me.pid = l->pid;
	me.session_id = l->record_id;
	me.generation = l->generation;
	me.socket_path = l->socket_path;
	(void)queue_lease_cleanup(&me, &cause);
	free(cause);
	lease_free(l);
}

long long
queue_lease_generation(const struct queue_lease *l)
{
	return (l->generation);
}

const char *
queue_lease_socket(const struct queue_lease *l)
{
	return (l->socket_path);
}
