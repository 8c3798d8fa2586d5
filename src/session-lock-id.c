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
#include "jget.h"
#include "procfs.h"
#include "js-json.h"
#include "session-lock-impl.h"
#include "sha256.h"
#include "xmalloc.h"

/*
 * Process identity for the session locks: a record's id, the pid's start
 * time and scope, whether it is alive, and its incarnation.
 */

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
	text = js_json_dumps(key, 0);
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

	if ((n = procfs_read(path, buf, sizeof buf)) < 0)
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
	struct procfs_stat	st;

	if (procfs_stat(pid, &st) == -1 || st.state == '\0' ||
	    strchr("RSDTtKWPI", st.state) == NULL || *st.start == '\0')
		return (NULL);
	return (xstrdup(st.start));
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
	kind = jget_str(expected, "kind");
	if (kind == NULL || strcmp(kind, "linux-proc") != 0)
		return (SESSION_LOCK_UNKNOWN);
	if (lock_scope(&boot, &pidns, &timens) == -1)
		return (SESSION_LOCK_UNKNOWN);
	if (jget_str(expected, "bootId") == NULL ||
	    strcmp(jget_str(expected, "bootId"), boot) != 0)
		rc = SESSION_LOCK_GONE;
	else if (jget_str(expected, "pidNamespace") == NULL ||
	    jget_str(expected, "timeNamespace") == NULL ||
	    strcmp(jget_str(expected, "pidNamespace"), pidns) != 0 ||
	    strcmp(jget_str(expected, "timeNamespace"), timens) != 0)
		rc = SESSION_LOCK_UNKNOWN;
	else if (lock_pid_dead(pid))
		rc = SESSION_LOCK_GONE;
	else if ((now = lock_start_ticks(pid)) == NULL)
		rc = SESSION_LOCK_UNKNOWN;
	else {
		ticks = jget_str(expected, "startTicks");
		rc = ticks != NULL && strcmp(ticks, now) == 0 ?
		    SESSION_LOCK_MATCHING : SESSION_LOCK_GONE;
		free(now);
	}
	free(boot);
	free(pidns);
	free(timens);
	return (rc);
}
