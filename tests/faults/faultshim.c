/*
 * Fault injection for tests: an LD_PRELOAD shim making write(), writev(),
 * pwrite(), rename(), fsync() and fdatasync() fail on files whose path
 * matches a pattern, and open()/openat() for writing or creating them
 * (op "open": with EROFS, a read-only directory even for root).
 *
 *   FAULTSHIM_PATTERN  fnmatch(3) pattern for the absolute path (required)
 *   FAULTSHIM_ERRNO    ENOSPC (default), EIO, EROFS or EDQUOT
 *   FAULTSHIM_OPS      comma list of write,rename,fsync,open (default:
 *                      write,rename,fsync)
 *   FAULTSHIM_AFTER    let this many matching calls succeed first (default 0)
 *
 * A file descriptor's path is read from /proc/self/fd at each call, so no
 * open() needs to be seen. rename() matches on either path.
 */
#define _GNU_SOURCE
#include <sys/types.h>
#include <sys/uio.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long	fs_seen;

static int
fs_errno(void)
{
	const char	*e = getenv("FAULTSHIM_ERRNO");

	if (e == NULL || strcmp(e, "ENOSPC") == 0)
		return (ENOSPC);
	if (strcmp(e, "EIO") == 0)
		return (EIO);
	if (strcmp(e, "EROFS") == 0)
		return (EROFS);
	if (strcmp(e, "EDQUOT") == 0)
		return (EDQUOT);
	return (ENOSPC);
}

/* Non-zero if op is enabled and path matches (and the budget is spent). */
static int
fs_match(const char *op, const char *path)
{
	const char	*pat = getenv("FAULTSHIM_PATTERN");
	const char	*ops = getenv("FAULTSHIM_OPS");
	const char	*after = getenv("FAULTSHIM_AFTER");

	if (pat == NULL || *pat == '\0' || path == NULL)
		return (0);
	if (ops == NULL || *ops == '\0')
		ops = "write,rename,fsync";
	if (strstr(ops, op) == NULL)
		return (0);
	if (fnmatch(pat, path, 0) != 0)
		return (0);
	if (after != NULL && fs_seen++ < atol(after))
		return (0);
	return (1);
}

static int
fs_match_fd(const char *op, int fd)
{
	char	link[64], path[4096];
	ssize_t	n;

	if (getenv("FAULTSHIM_PATTERN") == NULL)
		return (0);
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	if ((n = readlink(link, path, sizeof path - 1)) <= 0)
		return (0);
	path[n] = '\0';
	return (fs_match(op, path));
}

#define FS_REAL(type, name, args) \
	static type (*real) args; \
	if (real == NULL) \
		real = (type (*) args)dlsym(RTLD_NEXT, name)

ssize_t
write(int fd, const void *buf, size_t len)
{
	FS_REAL(ssize_t, "write", (int, const void *, size_t));
	if (len > 0 && fs_match_fd("write", fd)) {
		errno = fs_errno();
		return (-1);
	}
	return (real(fd, buf, len));
}

ssize_t
writev(int fd, const struct iovec *iov, int n)
{
	FS_REAL(ssize_t, "writev", (int, const struct iovec *, int));
	if (fs_match_fd("write", fd)) {
		errno = fs_errno();
		return (-1);
	}
	return (real(fd, iov, n));
}

ssize_t
pwrite(int fd, const void *buf, size_t len, off_t off)
{
	FS_REAL(ssize_t, "pwrite", (int, const void *, size_t, off_t));
	if (len > 0 && fs_match_fd("write", fd)) {
		errno = fs_errno();
		return (-1);
	}
	return (real(fd, buf, len, off));
}

int
rename(const char *from, const char *to)
{
	FS_REAL(int, "rename", (const char *, const char *));
	if (fs_match("rename", from) || fs_match("rename", to)) {
		errno = fs_errno();
		return (-1);
	}
	return (real(from, to));
}

int
fsync(int fd)
{
	FS_REAL(int, "fsync", (int));
	if (fs_match_fd("fsync", fd)) {
		errno = fs_errno();
		return (-1);
	}
	return (real(fd));
}

int
fdatasync(int fd)
{
	FS_REAL(int, "fdatasync", (int));
	if (fs_match_fd("fsync", fd)) {
		errno = fs_errno();
		return (-1);
	}
	return (real(fd));
}

/* A relative path made absolute against the current directory. */
static int
fs_match_open(const char *path, int flags)
{
	char	cwd[4096], abs[8192];

	if ((flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)) == 0)
		return (0);
	if (path[0] == '/' || getcwd(cwd, sizeof cwd) == NULL)
		return (fs_match("open", path));
	snprintf(abs, sizeof abs, "%s/%s", cwd, path);
	return (fs_match("open", abs));
}

int
open(const char *path, int flags, ...)
{
	va_list	ap;
	mode_t	mode = 0;

	FS_REAL(int, "open", (const char *, int, ...));
	if (flags & O_CREAT) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if (fs_match_open(path, flags)) {
		errno = fs_errno();
		return (-1);
	}
	return (real(path, flags, mode));
}

int
open64(const char *path, int flags, ...)
{
	va_list	ap;
	mode_t	mode = 0;

	FS_REAL(int, "open64", (const char *, int, ...));
	if (flags & O_CREAT) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if (fs_match_open(path, flags)) {
		errno = fs_errno();
		return (-1);
	}
	return (real(path, flags, mode));
}

int
openat(int dirfd, const char *path, int flags, ...)
{
	va_list	ap;
	mode_t	mode = 0;

	FS_REAL(int, "openat", (int, const char *, int, ...));
	if (flags & O_CREAT) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if ((dirfd == AT_FDCWD || path[0] == '/') &&
	    fs_match_open(path, flags)) {
		errno = fs_errno();
		return (-1);
	}
	return (real(dirfd, path, flags, mode));
}
