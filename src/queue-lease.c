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

#include "error.h"
#include "fsutil.h"
#include "js.h"
#include "json-util.h"
#include "queue-lease.h"
#include "session-lock.h"
#include "sha256.h"
#include "xmalloc.h"

/*
 * Queue leases on disk. Every mutation (acquire, heartbeat, cleanup, a
 * retirement signal) runs while holding the sidecar guard <K>.lock.guard
 * (session-lock.h), as the reference's withQueueLeaseMutation does; the
 * lease itself is published by hard link (acquire) or rename (heartbeat)
 * of a file staged in queues/owner-XXXXXX/.
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

/* ---------------------------------------------------------------- paths */

/* os.homedir(): $HOME, else the password database. Borrowed. */
static const char *
lease_home(void)
{
	const char	*h = getenv("HOME");
	struct passwd	*pw;

	if (h != NULL && *h != '\0')
		return (h);
	if ((pw = getpwuid(getuid())) != NULL && pw->pw_dir != NULL)
		return (pw->pw_dir);
	return ("/");
}

/* sha256hex(record_id)[0:24]. Caller owns. */
char *
queue_lease_key(const char *record_id)
{
	char	hex[65];

	sha256_hex(record_id, strlen(record_id), hex);
	hex[24] = '\0';
	return (xstrdup(hex));
}

static char *
lease_dir(void)
{
	char	*dir;

	xasprintf(&dir, "%s/.acpx/queues", lease_home());
	return (dir);
}

/* ~/.acpx/queues/<K>.lock. Caller owns. */
char *
queue_lease_path(const char *record_id)
{
	char	*dir = lease_dir(), *key = queue_lease_key(record_id), *p;

	xasprintf(&p, "%s/%s.lock", dir, key);
	free(dir);
	free(key);
	return (p);
}

/* /tmp/acpx-<sha256hex($HOME)[0:10]>. Caller owns. */
char *
queue_lease_socket_dir(void)
{
	const char	*home = lease_home();
	char		 hex[65], *p;

	sha256_hex(home, strlen(home), hex);
	hex[10] = '\0';
	xasprintf(&p, "/tmp/acpx-%s", hex);
	return (p);
}

/* <socket dir>/<K>.sock. Caller owns. */
char *
queue_lease_socket_path(const char *record_id)
{
	char	*dir = queue_lease_socket_dir(), *key = queue_lease_key(record_id);
	char	*p;

	xasprintf(&p, "%s/%s.sock", dir, key);
	free(dir);
	free(key);
	return (p);
}

/* Check (and with create, make) the private socket directory. */
int
queue_lease_socket_dir_check(int create, char **cause)
{
	char		*dir = queue_lease_socket_dir();
	struct stat	 st;
	int		 rc = -1;

	if (lstat(dir, &st) == -1) {
		if (errno != ENOENT || !create) {
			xasprintf(cause, "Queue socket directory %s: %s", dir,
			    strerror(errno));
			goto out;
		}
		if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
			xasprintf(cause, "Failed to prepare queue socket "
			    "directory %s: %s", dir, strerror(errno));
			goto out;
		}
		if (lstat(dir, &st) == -1) {
			xasprintf(cause, "Queue socket directory %s: %s", dir,
			    strerror(errno));
			goto out;
		}
	}
	if (!S_ISDIR(st.st_mode)) {
		xasprintf(cause, "Queue socket directory %s is not a directory; "
		    "refusing to use it", dir);
		goto out;
	}
	if (st.st_uid != geteuid()) {
		xasprintf(cause, "Queue socket directory %s is owned by uid %u, "
		    "not by us; refusing to use it", dir, (unsigned)st.st_uid);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		xasprintf(cause, "Queue socket directory %s is accessible to "
		    "group or others (mode %04o); refusing to use it", dir,
		    (unsigned)(st.st_mode & 07777));
		goto out;
	}
	rc = 0;
out:
	free(dir);
	return (rc);
}

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
	    json_str(o, "sessionId") == NULL ||
	    json_str(o, "socketPath") == NULL ||
	    json_str(o, "createdAt") == NULL ||
	    json_str(o, "heartbeatAt") == NULL ||
	    !json_posint(json_object_get(o, "ownerGeneration"),
	    &li->generation, 0) ||
	    !json_posint(json_object_get(o, "queueDepth"), &li->queue_depth,
	    1)) {
		free(li);
		return (NULL);
	}
	li->pid = (pid_t)pid;
	li->session_id = xstrdup(json_str(o, "sessionId"));
	li->socket_path = xstrdup(json_str(o, "socketPath"));
	li->heartbeat_at = xstrdup(json_str(o, "heartbeatAt"));
	id = json_object_get(o, "processIdentity");
	if (json_is_object(id) && json_str(id, "kind") != NULL)
		li->identity = json_deep_copy(id);
	li->retirement = json_object_get(o, "retirement") != NULL;
	li->shared_runtime = json_is_true(json_object_get(o, "sharedRuntime"));
	li->persists_control = json_is_true(json_object_get(o,
	    "persistsControlState"));
	if (json_str(o, "mcpConfigPath") != NULL)
		li->mcp_config_path = xstrdup(json_str(o, "mcpConfigPath"));
	if (json_str(o, "mcpConfigFingerprint") != NULL)
		li->mcp_config_fingerprint = xstrdup(json_str(o,
		    "mcpConfigFingerprint"));
	li->raw = json_incref(o);
	return (li);
}

/* The lease of record_id, or NULL. Caller owns. */
struct queue_lease_info *
queue_lease_read(const char *record_id)
{
	char			*path = queue_lease_path(record_id);
	json_t			*o;
	struct queue_lease_info	*li = NULL;

	o = json_load_file(path, 0, NULL);
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

/* Milliseconds since the epoch of an ISO time (Date.parse subset), or -1. */
long long
queue_lease_parse_iso(const char *s)
{
	struct tm	tm;
	int		y, mo, d, h, mi, sec, ms = 0, n = 0;
	char		frac[16];

	if (s == NULL)
		return (-1);
	memset(&tm, 0, sizeof tm);
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec,
	    &n) != 6)
		return (-1);
	s += n;
	if (*s == '.') {
		s++;
		n = 0;
		if (sscanf(s, "%15[0-9]%n", frac, &n) != 1)
			return (-1);
		s += n;
		frac[3] = frac[3] != '\0' ? frac[3] : '\0';
		while (strlen(frac) < 3)
			strcat(frac, "0");
		frac[3] = '\0';
		ms = atoi(frac);
	}
	if (strcmp(s, "Z") != 0)
		return (-1);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	return ((long long)timegm(&tm) * 1000 + ms);
}

static long long
now_ms(void)
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

	return (t < 0 || now_ms() - t > QUEUE_LEASE_STALE_MS);
}

/*
 * A zombie: dead, only not reaped yet. Its pid cannot be reused before it
 * is reaped, so a zombie at the lease's pid is that owner, gone.
 */
static int
lease_zombie(pid_t pid)
{
	char	path[64], buf[512], *p;
	FILE	*f;
	size_t	 n;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return (0);
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL || p[1] != ' ')
		return (0);
	return (p[2] == 'Z');
}

/* Usable: no retirement key, pid alive (or us), heartbeat fresh. */
int
queue_lease_usable(const struct queue_lease_info *li)
{
	return (!li->retirement && (li->pid == getpid() ||
	    (session_lock_pid_alive(li->pid) && !lease_zombie(li->pid))) &&
	    !queue_lease_stale(li));
}

/* ---------------------------------------------------------------- guard */

/* Hold <K>.lock.guard, retrying for up to 2 s. NULL with *cause. */
static struct session_lock_guard *
lease_guard(const char *record_id, char **cause)
{
	struct session_lock_guard	*g = NULL;
	struct timespec			 ts = { 0, LEASE_GUARD_RETRY_MS * 1000000L };
	char				*dir, *path, *lock;
	long long			 deadline = now_ms() + LEASE_GUARD_WAIT_MS;
	int				 rc;

	dir = lease_dir();
	if (mkdir(dir, 0700) == -1 && errno == ENOENT) {
		char *acpx;

		xasprintf(&acpx, "%s/.acpx", lease_home());
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
		if (now_ms() >= deadline) {
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
	text = json_dumps_js(o, 2);
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
			v = (uint64_t)now_ms() ^ ((uint64_t)getpid() << 20);
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
		if ((g = lease_guard(record_id, cause)) == NULL)
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
	if ((g = lease_guard(l->record_id, cause)) == NULL)
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

/* ---------------------------------------------------------------- recovery */

/* Is the expected owner confirmed gone? */
int
queue_lease_owner_gone(const struct queue_lease_info *li)
{
	if (li->pid == getpid())
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
	if ((g = lease_guard(expected->session_id, cause)) == NULL)
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
	if ((g = lease_guard(expected->session_id, cause)) == NULL)
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
