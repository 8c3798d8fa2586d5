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
#include "session-lock-impl.h"
#include "xmalloc.h"

/*
 * The guard files of the session locks: exclusive create, snapshot,
 * reclaim of a dead holder's guard, release by the holder only.
 */

#define LOCK_RECLAIM_STALE_S	60
#define LOCK_MAX_FILE		65536

void
session_lock_snap_clear(struct lock_snap *s)
{
	free(s->bytes);
	memset(s, 0, sizeof *s);
}

/* 0 with *s, 1 if missing, -1 with *cause (not a regular file, I/O). */
int
session_lock_snap_read(const char *path, struct lock_snap *s, char **cause)
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
int
session_lock_remove_if_same(const char *path, const struct lock_snap *s)
{
	struct lock_snap	now;
	char			*cause = NULL;
	int			 rc, same;

	if ((rc = session_lock_snap_read(path, &now, &cause)) != 0) {
		free(cause);
		return (rc == 1);
	}
	same = now.dev == s->dev && now.ino == s->ino && now.size == s->size &&
	    now.mtime.tv_sec == s->mtime.tv_sec &&
	    now.mtime.tv_nsec == s->mtime.tv_nsec &&
	    strcmp(now.bytes, s->bytes) == 0;
	session_lock_snap_clear(&now);
	if (!same)
		return (0);
	return (unlink(path) == 0 || errno == ENOENT);
}

/* pid and processIdentity of a payload (leading JSON of bytes). */
pid_t
session_lock_payload_pid(const char *bytes, json_t **identity)
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
json_t *
session_lock_own_payload(void)
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

int
session_lock_write_excl(const char *path, const char *bytes, char **cause)
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
	json_t		*payload = session_lock_own_payload();
	char		*json, *out, *p;
	size_t		 i, got = 0;
	ssize_t		 n;
	int		 bit;

	while (got < sizeof r) {
		if ((n = getrandom(r + got, sizeof r - got, 0)) <= 0)
			fatal("getrandom failed");
		got += n;
	}
	json = js_json_dumps(payload, 2);
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

	if (session_lock_snap_read(path, &s, &cause) != 0) {
		free(cause);
		return (1);	/* gone already: retry */
	}
	pid = session_lock_payload_pid(s.bytes, &identity);
	if (pid <= 0 || session_lock_incarnation(pid, identity) !=
	    SESSION_LOCK_GONE) {
		json_decref(identity);
		session_lock_snap_clear(&s);
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
		session_lock_snap_clear(&s);
		return (0);
	}
	/* Fresh observation before the destructive step. */
	if (session_lock_incarnation(pid, identity) == SESSION_LOCK_GONE)
		removed = session_lock_remove_if_same(path, &s);
	(void)rmdir(mutex);
	free(mutex);
	json_decref(identity);
	session_lock_snap_clear(&s);
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
		if (session_lock_publish(dir, path, bytes, cause) == 0) {
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
	if (session_lock_snap_read(g->path, &s, &cause) == 0) {
		if (s.dev == g->dev && s.ino == g->ino &&
		    strcmp(s.bytes, g->bytes) == 0)
			(void)unlink(g->path);
		session_lock_snap_clear(&s);
	}
	free(cause);
	free(g->path);
	free(g->bytes);
	free(g);
}
