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

#include "isotime.h"
#include "buf.h"
#include "jget.h"
#include "proc.h"
#include "procfs.h"
#include "queue-lease-impl.h"
#include "xmalloc.h"

/*
 * Reading a queue lease: parse, compare, staleness and liveness of its
 * owner; signalling a retiring owner and cleaning up after a dead one
 * (both under the lease's guard).
 */

/* ---------------------------------------------------------------- reading */

static int
json_posint(const json_t *v, long long *out, int allow_zero)
{
	double	d;

	if (json_is_integer(v))
		d = (double)json_integer_value(v);
	else if (json_is_real(v))
		d = json_real_value(v);
	else
		return (0);
	/* Out of range (or NaN) first: the cast below would be undefined. */
	if (!(d > -9007199254740992.0 && d < 9007199254740992.0) ||
	    d != (double)(long long)d || d < (allow_zero ? 0 : 1))
		return (0);
	*out = (long long)d;
	return (1);
}

/* Parse a lease object as parseQueueOwnerRecord does; NULL if invalid. */
static struct queue_lease_info *
lease_parse(json_t *o)
{
	struct queue_lease_info	*li;
	long long		 pid;
	const json_t		*id;

	li = xcalloc(1, sizeof *li);
	if (!json_is_object(o) ||
	    !json_posint(json_object_get(o, "pid"), &pid, 0) ||
	    jget_str(o, "sessionId") == NULL ||
	    jget_str(o, "socketPath") == NULL ||
	    jget_str(o, "createdAt") == NULL ||
	    jget_str(o, "heartbeatAt") == NULL ||
	    !json_posint(json_object_get(o, "ownerGeneration"),
	    &li->generation, 0) ||
	    !json_posint(json_object_get(o, "queueDepth"), &li->queue_depth,
	    1)) {
		free(li);
		return (NULL);
	}
	li->pid = (pid_t)pid;
	li->session_id = xstrdup(jget_str(o, "sessionId"));
	li->socket_path = xstrdup(jget_str(o, "socketPath"));
	li->heartbeat_at = xstrdup(jget_str(o, "heartbeatAt"));
	id = json_object_get(o, "processIdentity");
	/* Shared with raw, which holds it as long as li lives; read only. */
	if (json_is_object(id) && jget_str(id, "kind") != NULL)
		li->identity = json_incref((json_t *)id);
	li->retirement = json_object_get(o, "retirement") != NULL;
	li->shared_runtime = json_is_true(json_object_get(o, "sharedRuntime"));
	li->persists_control = json_is_true(json_object_get(o,
	    "persistsControlState"));
	if (jget_str(o, "mcpConfigPath") != NULL)
		li->mcp_config_path = xstrdup(jget_str(o, "mcpConfigPath"));
	if (jget_str(o, "mcpConfigFingerprint") != NULL)
		li->mcp_config_fingerprint = xstrdup(jget_str(o,
		    "mcpConfigFingerprint"));
	li->raw = json_incref(o);
	return (li);
}

/*
 * The JSON of the file at path, or NULL. A lease is a few hundred bytes:
 * one read(2) into the stack (jansson's json_load_file() reads through
 * stdio a byte at a time), a buffer only for a larger file.
 */
static json_t *
lease_load(const char *path)
{
	struct buf	 b = BUF_INITIALIZER;
	char		 small[4096];
	size_t		 len = 0;
	ssize_t		 n;
	json_t		*o = NULL;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (NULL);
	while (len < sizeof small &&
	    (n = read(fd, small + len, sizeof small - len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto out;
		len += (size_t)n;
	}
	if (len < sizeof small)
		o = json_loadb(small, len, 0, NULL);
	else if (buf_add(&b, small, len) == 0 && buf_read_fd(&b, fd) == 0)
		o = json_loadb(b.p, b.len, 0, NULL);
out:
	buf_free(&b);
	close(fd);
	return (o);
}

/* The lease of record_id, or NULL. Caller owns. */
struct queue_lease_info *
queue_lease_read(const char *record_id)
{
	char			*path = queue_lease_path(record_id);
	json_t			*o;
	struct queue_lease_info	*li = NULL;

	o = lease_load(path);
	free(path);
	if (o == NULL)
		return (NULL);
	li = lease_parse(o);
	json_decref(o);
	if (li != NULL && strcmp(li->session_id, record_id) != 0) {
		queue_lease_info_free(li);
		li = NULL;
	}
	return (li);
}

void
queue_lease_info_free(struct queue_lease_info *li)
{
	if (li == NULL)
		return;
	free(li->session_id);
	free(li->socket_path);
	free(li->heartbeat_at);
	json_decref(li->identity);
	free(li->mcp_config_path);
	free(li->mcp_config_fingerprint);
	json_decref(li->raw);
	free(li);
}

/* Same pid, session and generation. */
int
queue_lease_same(const struct queue_lease_info *a,
    const struct queue_lease_info *b)
{
	return (a != NULL && b != NULL && a->pid == b->pid &&
	    a->generation == b->generation &&
	    strcmp(a->session_id, b->session_id) == 0);
}

/* Milliseconds since the epoch of an ISO time with its zone, or -1. */
long long
queue_lease_parse_iso(const char *s)
{
	return (isotime_parse_ms(s, 0));
}

long long
queue_lease_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Heartbeat older than 15 s or unparsable. */
int
queue_lease_stale(const struct queue_lease_info *li)
{
	long long	t = queue_lease_parse_iso(li->heartbeat_at);

	return (t < 0 || queue_lease_now_ms() - t > QUEUE_LEASE_STALE_MS);
}

/*
 * A zombie: dead, only not reaped yet. Its pid cannot be reused before it
 * is reaped, so a zombie at the lease's pid is that owner, gone.
 */
static int
lease_zombie(pid_t pid)
{
	struct procfs_stat	st;

	return (procfs_stat(pid, &st) == 0 && st.state == 'Z');
}

/* Usable: no retirement key, pid alive (or us), heartbeat fresh. */
int
queue_lease_usable(const struct queue_lease_info *li)
{
	return (!li->retirement && (li->pid == proc_pid() ||
	    (session_lock_pid_alive(li->pid) && !lease_zombie(li->pid))) &&
	    !queue_lease_stale(li));
}

/* ---------------------------------------------------------------- recovery */

/* Is the expected owner confirmed gone? */
int
queue_lease_owner_gone(const struct queue_lease_info *li)
{
	if (li->pid == proc_pid())
		return (0);
	return (session_lock_incarnation(li->pid, li->identity) ==
	    SESSION_LOCK_GONE || lease_zombie(li->pid));
}

/* One verified signal step of retirement. */
enum queue_lease_signal
queue_lease_signal_owner(const struct queue_lease_info *expected, int sig,
    int require_stale, char **cause)
{
	struct session_lock_guard	*g;
	struct queue_lease_info		*cur;
	enum queue_lease_signal		 rc;

	*cause = NULL;
	if ((g = queue_lease_guard(expected->session_id, cause)) == NULL)
		return (QUEUE_LEASE_ERROR);
	cur = queue_lease_read(expected->session_id);
	if (!queue_lease_same(cur, expected))
		rc = QUEUE_LEASE_RELEASED;
	else if (require_stale && !cur->retirement && sig == SIGTERM &&
	    !queue_lease_stale(cur))
		rc = QUEUE_LEASE_FRESH;
	else {
		switch (session_lock_incarnation(cur->pid, cur->identity)) {
		case SESSION_LOCK_GONE:
			rc = QUEUE_LEASE_OWNER_GONE;
			break;
		case SESSION_LOCK_MATCHING:
			rc = kill(cur->pid, sig) == 0 ? QUEUE_LEASE_SIGNALLED :
			    QUEUE_LEASE_OWNER_GONE;
			break;
		default:
			rc = lease_zombie(cur->pid) ? QUEUE_LEASE_OWNER_GONE :
			    QUEUE_LEASE_UNVERIFIED;
			break;
		}
	}
	queue_lease_info_free(cur);
	session_lock_guard_release(g);
	return (rc);
}

/* The owner is gone: remove its socket and lease if still expected. */
int
queue_lease_cleanup(const struct queue_lease_info *expected, char **cause)
{
	struct session_lock_guard	*g;
	struct queue_lease_info		*cur;
	char				*path;

	*cause = NULL;
	if ((g = queue_lease_guard(expected->session_id, cause)) == NULL)
		return (-1);
	cur = queue_lease_read(expected->session_id);
	if (queue_lease_same(cur, expected)) {
		if (cur->retirement) {
			*cause = xstrdup("Queue owner retirement is incomplete; "
			    "its lease was retained");
			queue_lease_info_free(cur);
			session_lock_guard_release(g);
			return (-1);
		}
		(void)unlink(expected->socket_path);
		path = queue_lease_path(expected->session_id);
		(void)unlink(path);
		free(path);
	}
	queue_lease_info_free(cur);
	session_lock_guard_release(g);
	return (0);
}
