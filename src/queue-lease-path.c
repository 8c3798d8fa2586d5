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

#include "queue-lease-impl.h"
#include "sha256.h"
#include "xmalloc.h"

/*
 * Where the queue leases and the owners' sockets live: the key of a
 * session, the lease path, the socket directory (checked private) and path.
 */

/* ---------------------------------------------------------------- paths */

/* os.homedir(): $HOME, else the password database. Borrowed. */
const char *
queue_lease_home(void)
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

char *
queue_lease_dir(void)
{
	char	*dir;

	xasprintf(&dir, "%s/.acpx/queues", queue_lease_home());
	return (dir);
}

/* ~/.acpx/queues/<K>.lock. Caller owns. */
char *
queue_lease_path(const char *record_id)
{
	char	*dir = queue_lease_dir(), *key = queue_lease_key(record_id), *p;

	xasprintf(&p, "%s/%s.lock", dir, key);
	free(dir);
	free(key);
	return (p);
}

/* /tmp/acpx-<sha256hex($HOME)[0:10]>. Caller owns. */
char *
queue_lease_socket_dir(void)
{
	const char	*home = queue_lease_home();
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
