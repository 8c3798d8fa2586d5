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
#include "error.h"
#include "js.h"
#include "json-util.h"
#include "session-lock.h"
#include "session-store.h"
#include "sha256.h"
#include "xmalloc.h"

/*
 * Guards, turn locks and process identity (§4). A lock file is only ever
 * removed by its holder, or when its holder is confirmed gone by a fresh
 * /proc observation; a missing or foreign identity never authorises it.
 */

#define LOCK_RETRY_MS		15
#define LOCK_NO_PID_GRACE_S	15
#define LOCK_RECLAIM_STALE_S	60
#define LOCK_MAX_FILE		65536

/* Lowercase hex SHA-256 of a string (sha256.h). */
char *
session_lock_sha256_hex(const char *s)
{
	char	hex[65];

	sha256_hex(s, strlen(s), hex);
	return (xstrdup(hex));
}

/* The pseudo lock id of `sessions ensure`. */
char *
session_lock_ensure_id(const char *agent_command, const char *cwd,
    const char *name)
{
	json_t	*key;
	char	*text, *hash, *id;

	key = json_pack("[s, s, s?]", agent_command, cwd, name);
	if (name == NULL)
		json_array_set_new(key, 2, json_null());
	text = json_dumps_js(key, 0);
	hash = session_lock_sha256_hex(text);
	xasprintf(&id, "ensure:%s", hash);
	free(hash);
	free(text);
	json_decref(key);
	return (id);
}

/* ---------------------------------------------------------------- identity */

/* Whole small file, trailing whitespace trimmed; NULL on error. */
static char *
lock_read_small(const char *path)
{
	char	 buf[4096];
	ssize_t	 n;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (NULL);
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0)
		return (NULL);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ' ||
	    buf[n - 1] == '\t' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	return (xstrdup(buf));
}

static char *
lock_readlink(const char *path, int *err)
{
	char	buf[PATH_MAX];
	ssize_t	n;

	*err = 0;
	if ((n = readlink(path, buf, sizeof buf - 1)) == -1) {
		*err = errno;
		return (NULL);
	}
	buf[n] = '\0';
	return (xstrdup(buf));
}

/* Our scope: boot id, pid and time namespaces. -1 if unreadable. */
static int
lock_scope(char **boot, char **pidns, char **timens)
{
	int	err;

	*pidns = *timens = NULL;
	if ((*boot = lock_read_small("/proc/sys/kernel/random/boot_id")) ==
	    NULL || **boot == '\0')
		goto fail;
	if ((*pidns = lock_readlink("/proc/self/ns/pid", &err)) == NULL)
		goto fail;
	if ((*timens = lock_readlink("/proc/self/ns/time", &err)) == NULL) {
		if (err != ENOENT)
			goto fail;
		*timens = xstrdup("unsupported");
	}
	return (0);
fail:
	free(*boot);
	free(*pidns);
	free(*timens);
	*boot = *pidns = *timens = NULL;
	return (-1);
}

/*
 * Start ticks of pid (field 22 of /proc/<pid>/stat) as a decimal string;
 * NULL if gone, unreadable or not in a state the reference accepts.
 */
static char *
lock_start_ticks(pid_t pid)
{
	char		 path[64], buf[4096], *p, *tok, *save;
	ssize_t		 n;
	int		 fd, field;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (NULL);
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return (NULL);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL)
		return (NULL);
	p++;
	/* After ")": field 3 (state) is the first token. */
	field = 3;
	for (tok = strtok_r(p, " \n", &save); tok != NULL;
	    tok = strtok_r(NULL, " \n", &save), field++) {
		if (field == 3 && (strlen(tok) != 1 ||
		    strchr("RSDTtKWPI", *tok) == NULL))
			return (NULL);
		if (field == 22)
			return (strspn(tok, "0123456789") == strlen(tok) ?
			    xstrdup(tok) : NULL);
	}
	return (NULL);
}

/* The linux-proc birth identity of pid. */
json_t *
session_lock_identity(pid_t pid)
{
	char	*boot, *pidns, *timens, *ticks;
	json_t	*id;

	if (pid <= 0 || lock_scope(&boot, &pidns, &timens) == -1)
		return (NULL);
	if ((ticks = lock_start_ticks(pid)) == NULL) {
		free(boot);
		free(pidns);
		free(timens);
		return (NULL);
	}
	id = json_pack("{s:s, s:s, s:s, s:s, s:s}", "kind", "linux-proc",
	    "bootId", boot, "pidNamespace", pidns, "timeNamespace", timens,
	    "startTicks", ticks);
	free(boot);
	free(pidns);
	free(timens);
	free(ticks);
	return (id);
}

/* kill(pid, 0) says ESRCH. */
static int
lock_pid_dead(pid_t pid)
{
	return (kill(pid, 0) == -1 && errno == ESRCH);
}

/* kill(pid, 0) succeeds and pid is not us. */
int
session_lock_pid_alive(pid_t pid)
{
	if (pid <= 0 || pid == getpid())
		return (0);
	return (kill(pid, 0) == 0 || errno == EPERM);
}

/* Is pid still the process with the expected identity? */
enum session_lock_incarnation
session_lock_incarnation(pid_t pid, const json_t *expected)
{
	const char	*kind, *ticks;
	char		*boot, *pidns, *timens, *now;
	enum session_lock_incarnation rc;

	if (pid <= 0)
		return (SESSION_LOCK_UNKNOWN);
	if (expected == NULL || !json_is_object(expected))
		return (lock_pid_dead(pid) ? SESSION_LOCK_GONE :
		    SESSION_LOCK_UNKNOWN);
	kind = json_str(expected, "kind");
	if (kind == NULL || strcmp(kind, "linux-proc") != 0)
		return (SESSION_LOCK_UNKNOWN);
	if (lock_scope(&boot, &pidns, &timens) == -1)
		return (SESSION_LOCK_UNKNOWN);
	if (json_str(expected, "bootId") == NULL ||
	    strcmp(json_str(expected, "bootId"), boot) != 0)
		rc = SESSION_LOCK_GONE;
	else if (json_str(expected, "pidNamespace") == NULL ||
	    json_str(expected, "timeNamespace") == NULL ||
	    strcmp(json_str(expected, "pidNamespace"), pidns) != 0 ||
	    strcmp(json_str(expected, "timeNamespace"), timens) != 0)
		rc = SESSION_LOCK_UNKNOWN;
	else if (lock_pid_dead(pid))
		rc = SESSION_LOCK_GONE;
	else if ((now = lock_start_ticks(pid)) == NULL)
		rc = SESSION_LOCK_UNKNOWN;
	else {
		ticks = json_str(expected, "startTicks");
		rc = ticks != NULL && strcmp(ticks, now) == 0 ?
		    SESSION_LOCK_MATCHING : SESSION_LOCK_GONE;
		free(now);
	}
	free(boot);
	free(pidns);
	free(timens);
	return (rc);
}

/* ---------------------------------------------------------------- files */

/* A snapshot of a lock file: its identity and bytes. */
struct lock_snap {
	dev_t		 dev;
	ino_t		 ino;
	struct timespec	 mtime;
	off_t		 size;
	char		*bytes;
};

static void
lock_snap_clear(struct lock_snap *s)
{
	free(s->bytes);
	memset(s, 0, sizeof *s);
}

/* 0 with *s, 1 if missing, -1 with *cause (not a regular file, I/O). */
static int
lock_snap_read(const char *path, struct lock_snap *s, char **cause)
{
	struct stat	sb;
	ssize_t		n;
	size_t		got = 0;
	int		fd;

	memset(s, 0, sizeof *s);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)) ==
	    -1) {
		if (errno == ENOENT)
			return (1);
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return (-1);
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    sb.st_size > LOCK_MAX_FILE) {
		close(fd);
		xasprintf(cause, "Session lock is not a regular file: %s", path);
		return (-1);
	}
	s->dev = sb.st_dev;
	s->ino = sb.st_ino;
	s->mtime = sb.st_mtim;
	s->size = sb.st_size;
	s->bytes = xmalloc((size_t)sb.st_size + 1);
	while (got < (size_t)sb.st_size) {
		if ((n = read(fd, s->bytes + got, sb.st_size - got)) <= 0)
			break;
		got += n;
	}
	s->bytes[got] = '\0';
	close(fd);
	return (0);
}

/* Unlink path if it is still exactly what s saw. */
static int
lock_remove_if_same(const char *path, const struct lock_snap *s)
{
	struct lock_snap	now;
	char			*cause = NULL;
	int			 rc, same;

	if ((rc = lock_snap_read(path, &now, &cause)) != 0) {
		free(cause);
		return (rc == 1);
	}
	same = now.dev == s->dev && now.ino == s->ino && now.size == s->size &&
	    now.mtime.tv_sec == s->mtime.tv_sec &&
	    now.mtime.tv_nsec == s->mtime.tv_nsec &&
	    strcmp(now.bytes, s->bytes) == 0;
	lock_snap_clear(&now);
	if (!same)
		return (0);
	return (unlink(path) == 0 || errno == ENOENT);
}

/* pid and processIdentity of a payload (leading JSON of bytes). */
static pid_t
lock_payload_pid(const char *bytes, json_t **identity)
{
	json_t		*o;
	json_error_t	 jerr;
	json_int_t	 pid;
	pid_t		 rc = 0;

	*identity = NULL;
	o = json_loads(bytes, JSON_DISABLE_EOF_CHECK, &jerr);
	if (o == NULL)
		return (0);
	if (json_is_integer(json_object_get(o, "pid")) &&
	    (pid = json_integer_value(json_object_get(o, "pid"))) > 0 &&
	    pid <= INT_MAX)
		rc = (pid_t)pid;
	if (json_is_object(json_object_get(o, "processIdentity")))
		*identity = json_incref(json_object_get(o, "processIdentity"));
	json_decref(o);
	return (rc);
}

/* Our {"pid","processIdentity"} payload object. Caller owns. */
static json_t *
lock_own_payload(void)
{
	static json_t	*own;
	static pid_t	 own_pid;
	json_t		*o;

	/* Cached per process: a forked child has another birth. */
	if (own == NULL || own_pid != getpid()) {
		json_decref(own);
		own = session_lock_identity(getpid());
		own_pid = getpid();
	}
	o = json_pack("{s:i}", "pid", (int)getpid());
	if (own != NULL)
		json_object_set(o, "processIdentity", own);
	return (o);
}

static int
lock_write_excl(const char *path, const char *bytes, char **cause)
{
	size_t	len = strlen(bytes), off = 0;
	ssize_t	n;
	int	fd;

	if ((fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) == -1) {
		if (errno != EEXIST)
			xasprintf(cause, "%s: %s", path, strerror(errno));
		return (-1);
	}
	while (off < len) {
		if ((n = write(fd, bytes + off, len - off)) <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			xasprintf(cause, "%s: %s", path, strerror(errno));
			close(fd);
			(void)unlink(path);
			errno = EIO;
			return (-1);
		}
		off += n;
	}
	(void)fchmod(fd, 0600);
	close(fd);
	return (0);
}

/* ---------------------------------------------------------------- guard */

static int	lock_publish(const char *, const char *, const char *, char **);

struct session_lock_guard {
	char		*path;
	char		*bytes;
	dev_t		 dev;
	ino_t		 ino;
};

/* pretty payload + "\n" + 8 TABs + 128 TAB/SPACE bits + "\n". */
static char *
lock_guard_bytes(void)
{
	unsigned char	 r[16];
	json_t		*payload = lock_own_payload();
	char		*json, *out, *p;
	size_t		 i, got = 0;
	ssize_t		 n;
	int		 bit;

	while (got < sizeof r) {
		if ((n = getrandom(r + got, sizeof r - got, 0)) <= 0)
			fatal("getrandom failed");
		got += n;
	}
	json = json_dumps_js(payload, 2);
	json_decref(payload);
	out = xmalloc(strlen(json) + 1 + 8 + 128 + 2);
	p = out + sprintf(out, "%s\n", json);
	free(json);
	for (i = 0; i < 8; i++)
		*p++ = '\t';
	for (i = 0; i < 16; i++) {
		for (bit = 7; bit >= 0; bit--)
			*p++ = (r[i] >> bit) & 1 ? '\t' : ' ';
	}
	*p++ = '\n';
	*p = '\0';
	return (out);
}

/* Reclaim a guard whose holder is confirmed gone. 1 if removed. */
static int
lock_guard_reclaim(const char *path)
{
	struct lock_snap	 s;
	struct stat		 sb;
	json_t			*identity;
	char			*mutex, *cause = NULL;
	pid_t			 pid;
	int			 removed = 0;

	if (lock_snap_read(path, &s, &cause) != 0) {
		free(cause);
		return (1);	/* gone already: retry */
	}
	pid = lock_payload_pid(s.bytes, &identity);
	if (pid <= 0 || session_lock_incarnation(pid, identity) !=
	    SESSION_LOCK_GONE) {
		json_decref(identity);
		lock_snap_clear(&s);
		return (0);
	}
	xasprintf(&mutex, "%s.reclaim", path);
	if (mkdir(mutex, 0700) == -1) {
		/* A reclaimer that died leaves its mutex: expire it. */
		if (errno == EEXIST && stat(mutex, &sb) == 0 &&
		    time(NULL) - sb.st_mtime > LOCK_RECLAIM_STALE_S)
			(void)rmdir(mutex);
		free(mutex);
		json_decref(identity);
		lock_snap_clear(&s);
		return (0);
	}
	/* Fresh observation before the destructive step. */
	if (session_lock_incarnation(pid, identity) == SESSION_LOCK_GONE)
		removed = lock_remove_if_same(path, &s);
	(void)rmdir(mutex);
	free(mutex);
	json_decref(identity);
	lock_snap_clear(&s);
	return (removed);
}

/* Try to create the guard file at path. */
int
session_lock_guard_try(const char *path, struct session_lock_guard **guard,
    char **cause)
{
	struct session_lock_guard	*g;
	struct stat			 sb;
	char				*bytes, *dir, *slash;
	int				 attempt;

	*guard = NULL;
	bytes = lock_guard_bytes();
	/* Staged and linked, as the marker: never seen empty or half written. */
	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	for (attempt = 0; attempt < 2; attempt++) {
		if (lock_publish(dir, path, bytes, cause) == 0) {
			g = xcalloc(1, sizeof *g);
			g->path = xstrdup(path);
			g->bytes = bytes;
			if (lstat(path, &sb) == 0) {
				g->dev = sb.st_dev;
				g->ino = sb.st_ino;
			}
			*guard = g;
			free(dir);
			return (0);
		}
		if (errno != EEXIST) {
			free(bytes);
			free(dir);
			return (-1);
		}
		if (!lock_guard_reclaim(path))
			break;
	}
	free(bytes);
	free(dir);
	return (1);
}

/* Unlink the guard if it is still ours; free. */
void
session_lock_guard_release(struct session_lock_guard *g)
{
	struct lock_snap	 s;
	char			*cause = NULL;

	if (g == NULL)
		return;
	if (lock_snap_read(g->path, &s, &cause) == 0) {
		if (s.dev == g->dev && s.ino == g->ino &&
		    strcmp(s.bytes, g->bytes) == 0)
			(void)unlink(g->path);
		lock_snap_clear(&s);
	}
	free(cause);
	free(g->path);
	free(g->bytes);
	free(g);
}

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

	if ((rc = lock_snap_read(path, &s, &cause)) != 0) {
		free(cause);
		return (rc == 1);
	}
	pid = lock_payload_pid(s.bytes, &identity);
	if (pid > 0) {
		if (session_lock_incarnation(pid, identity) == SESSION_LOCK_GONE &&
		    session_lock_incarnation(pid, identity) == SESSION_LOCK_GONE)
			rc = lock_remove_if_same(path, &s);
	} else if (time(NULL) - s.mtime.tv_sec > LOCK_NO_PID_GRACE_S)
		rc = lock_remove_if_same(path, &s);
	json_decref(identity);
	lock_snap_clear(&s);
	return (rc);
}

/* Stage payload in <dir>/session-turn-XXXXXX/lock and link it to path. */
static int
lock_publish(const char *dir, const char *path, const char *payload,
    char **cause)
{
	char	*tmpl, *tmp;
	int	 rc = -1, saved = 0;

	xasprintf(&tmpl, "%s/session-turn-XXXXXX", dir);
	if (mkdtemp(tmpl) == NULL) {
		xasprintf(cause, "mkdtemp %s: %s", dir, strerror(errno));
		free(tmpl);
		return (-1);
	}
	xasprintf(&tmp, "%s/lock", tmpl);
	if (lock_write_excl(tmp, payload, cause) == 0) {
		if (link(tmp, path) == 0)
			rc = 0;
		else if (errno == EEXIST)
			saved = EEXIST;
		else if (errno == EPERM || errno == ENOTSUP || errno == EXDEV ||
		    errno == EMLINK) {
			/* No hard links here: exclusive create instead. */
			if (lock_write_excl(path, payload, cause) == 0)
				rc = 0;
			else
				saved = errno;
		} else {
			saved = errno;
			xasprintf(cause, "link %s: %s", path, strerror(errno));
		}
		(void)unlink(tmp);
	} else
		saved = errno;
	(void)rmdir(tmpl);
	free(tmp);
	free(tmpl);
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
	char			*bytes, *real, *base;
	int			 rc, tries, busy;

	*lockp = NULL;
	if (session_store_ensure_dir(cause) == -1)
		return (-1);
	path = session_store_path(lock_id, ".stream.lock");
	dir = xstrdup(path);
	base = strrchr(dir, '/');
	*base = '\0';
	if ((real = realpath(dir, NULL)) != NULL) {
		free(path);
		xasprintf(&path, "%s/%s", real, base + 1);
		free(dir);
		dir = real;
	}
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

	payload = lock_own_payload();
	created = lock_created_at();
	json_object_set_new(payload, "created_at", json_string(created));
	free(created);
	text = json_dumps_js(payload, 2);
	json_decref(payload);
	xasprintf(&bytes, "%s\n", text);
	free(text);

	for (tries = 0; ; tries++) {
		if (lock_publish(dir, path, bytes, cause) == 0)
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
	if (lock_snap_read(path, &l->marker, cause) != 0 ||
	    strcmp(l->marker.bytes, bytes) != 0) {
		if (*cause == NULL)
			xasprintf(cause, "Session turn ownership changed before "
			    "admission: %s", path);
		free(bytes);
		session_lock_guard_release(l->guard);
		lock_snap_clear(&l->marker);
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
	(void)lock_remove_if_same(l->path, &l->marker);
	session_lock_guard_release(l->guard);
	lock_snap_clear(&l->marker);
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

/* Acquire on the loop, retrying every 15 ms. */
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
	ev_timer_init(&w->timer, lock_wait_cb, LOCK_RETRY_MS / 1000.0,
	    LOCK_RETRY_MS / 1000.0);
	w->timer.data = w;
	if (lock_wait_try(w)) {
		lock_wait_free(w);
		return (NULL);
	}
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
