#include <config.h>

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "xmalloc.h"

/*
 * The atomic writer: stage, write, fsync, rename (or link), fsync the
 * directory. The staging directory (or, with FSUTIL_SIBLING, the staging
 * file) is created beside the target so the rename never crosses a file
 * system.
 */

#define FSUTIL_STAGE_DIR	"acpx-write-XXXXXX"
#define FSUTIL_STAGE_FILE	"record.json"

/* A copy of the directory part of path ("." if none, "/" for "/x"). */
static char *
fsutil_dirname(const char *path)
{
	const char	*slash = strrchr(path, '/');

	if (slash == NULL)
		return (xstrdup("."));
	if (slash == path)
		return (xstrdup("/"));
	return (xstrndup(path, (size_t)(slash - path)));
}

static int
fsutil_write_all(int fd, const char *p, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		if (n == 0) {
			errno = EIO;
			return (-1);
		}
		p += n;
		len -= (size_t)n;
	}
	return (0);
}

int
fsutil_sync_dir(const char *path)
{
	char	*dir = fsutil_dirname(path);
	int	 fd, rc = 0, saved;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd == -1)
		return (-1);
	/* Some file systems cannot sync a directory: not an error. */
	if (fsync(fd) == -1 && errno != EINVAL && errno != EBADF)
		rc = -1;
	saved = errno;
	close(fd);
	errno = saved;
	return (rc);
}

int
fsutil_write(const char *path, const void *bytes, size_t len, int flags,
    const char **op)
{
	char		*dir, *stage = NULL, *tmp = NULL;
	const char	*step = NULL;
	int		 fd = -1, rc = -1, saved;

	dir = fsutil_dirname(path);
	if (flags & FSUTIL_SIBLING) {
		/* One writer of path: <path>.tmp is ours to replace. */
		xasprintf(&tmp, "%s.tmp", path);
		if ((fd = open(tmp, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC |
		    O_NOFOLLOW, 0600)) == -1) {
			step = "open";
			free(tmp);
			tmp = NULL;
			goto out;
		}
		goto staged;
	}
	xasprintf(&stage, "%s/" FSUTIL_STAGE_DIR, dir);
	if (mkdtemp(stage) == NULL) {
		step = "mkdtemp";
		free(stage);
		stage = NULL;
		goto out;
	}
	xasprintf(&tmp, "%s/" FSUTIL_STAGE_FILE, stage);
	if ((fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) == -1) {
		step = "open";
		goto out;
	}
staged:
	if (fsutil_write_all(fd, bytes, len) == -1) {
		step = "write";
		goto out;
	}
	(void)fchmod(fd, 0600);		/* whatever the umask */
	if (!(flags & FSUTIL_NOSYNC) && fsync(fd) == -1) {
		step = "fsync";
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		step = "close";
		goto out;
	}
	fd = -1;
	if (flags & FSUTIL_NOREPLACE) {
		if (link(tmp, path) == -1) {
			step = "link";
			goto out;
		}
	} else if (rename(tmp, path) == -1) {
		step = "rename";
		goto out;
	} else {
		free(tmp);	/* renamed: nothing left to remove */
		tmp = NULL;
	}
	if (!(flags & FSUTIL_NOSYNC) && fsutil_sync_dir(path) == -1) {
		step = "fsync";
		goto out;
	}
	rc = 0;
out:
	saved = errno;
	if (fd != -1)
		close(fd);
	if (tmp != NULL)
		(void)unlink(tmp);	/* a failed write's, or the link's twin */
	if (stage != NULL)
		(void)rmdir(stage);
	free(tmp);
	free(stage);
	free(dir);
	if (op != NULL)
		*op = step;
	errno = saved;
	return (rc);
}
