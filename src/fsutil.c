#include <config.h>

#include <sys/stat.h>
#include <sys/types.h>

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

/*
 * The staging directory FSUTIL_KEEP_STAGE keeps between writes: one per
 * process (a forked child makes its own), in one directory at a time,
 * removed at exit or when a write through it fails.
 */
static struct {
	pid_t	 pid;
	char	*dir;		/* the target directory */
	char	*stage;		/* <dir>/acpx-write-XXXXXX */
	int	 registered;
} fsutil_kept;

/* Remove the kept staging directory (if this process made it); forget it. */
static void
fsutil_kept_drop(void)
{
	if (fsutil_kept.stage != NULL && fsutil_kept.pid == getpid())
		(void)rmdir(fsutil_kept.stage);
	free(fsutil_kept.stage);
	free(fsutil_kept.dir);
	fsutil_kept.stage = fsutil_kept.dir = NULL;
}

static void
fsutil_kept_atexit(void)
{
	if (fsutil_kept.pid == getpid())
		fsutil_kept_drop();
}

/*
 * The replaced files FSUTIL_HOLD_REPLACED keeps open (their inodes, and
 * so their blocks, live until fsutil_release_replaced() or exit).
 */
#define FSUTIL_HELD_MAX	4
static struct {
	pid_t	 pid;
	int	 fd[FSUTIL_HELD_MAX];
	int	 n;
} fsutil_held;

void
fsutil_release_replaced(void)
{
	int	i;

	/* The last close frees the blocks: the background worker's. */
	if (fsutil_held.pid == getpid())
		for (i = 0; i < fsutil_held.n; i++)
			fsutil_bg_close(fsutil_held.fd[i]);
	fsutil_held.n = 0;
}

/* Hold path's current inode (if any) open; the oldest goes when full. */
static void
fsutil_hold(const char *path)
{
	int	fd;

	if (fsutil_held.pid != getpid()) {
		fsutil_held.pid = getpid();	/* a fork's copies are not ours */
		fsutil_held.n = 0;
	}
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) == -1)
		return;
	if (fsutil_held.n == FSUTIL_HELD_MAX) {
		fsutil_bg_close(fsutil_held.fd[0]);
		memmove(fsutil_held.fd, fsutil_held.fd + 1,
		    (FSUTIL_HELD_MAX - 1) * sizeof fsutil_held.fd[0]);
		fsutil_held.n--;
	}
	fsutil_held.fd[fsutil_held.n++] = fd;
}

/* A copy of the directory part of path ("." if none, "/" for "/x"). */
char *
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

void
fsutil_release_stage(void)
{
	fsutil_kept_drop();
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
	if ((flags & FSUTIL_KEEP_STAGE) && fsutil_kept.stage != NULL &&
	    fsutil_kept.pid == getpid() && strcmp(fsutil_kept.dir, dir) == 0) {
		/* This process's staging directory, kept from its last write. */
		stage = fsutil_kept.stage;
		fsutil_kept.stage = NULL;
		xasprintf(&tmp, "%s/" FSUTIL_STAGE_FILE, stage);
		if ((fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC |
		    O_NOFOLLOW, 0600)) != -1)
			goto staged;
		/* Removed under us (or not ours any more): a fresh one. */
		(void)rmdir(stage);
		free(stage);
		free(tmp);
		stage = tmp = NULL;
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
	} else {
		if (flags & FSUTIL_HOLD_REPLACED)
			fsutil_hold(path);
		if (rename(tmp, path) == -1) {
			step = "rename";
			goto out;
		}
		free(tmp);	/* renamed: nothing left to remove */
		tmp = NULL;
	}
	if (!(flags & (FSUTIL_NOSYNC | FSUTIL_DEFER_DIRSYNC)) &&
	    fsutil_sync_dir(path) == -1) {
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
	if (stage != NULL && rc == 0 && (flags & FSUTIL_KEEP_STAGE)) {
		/* Kept (empty again) for the next write: no rmdir, no mkdir. */
		fsutil_kept_drop();
		fsutil_kept.pid = getpid();
		fsutil_kept.dir = dir;
		fsutil_kept.stage = stage;
		if (!fsutil_kept.registered) {
			fsutil_kept.registered = 1;
			atexit(fsutil_kept_atexit);
		}
		stage = NULL;
		dir = NULL;
	}
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
