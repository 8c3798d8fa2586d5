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
 *   FAULTSHIM_ACTION   "stop": a matching call stops the process (SIGSTOP)
 *                      instead of failing, and goes through if continued
 *                      (a test sees a moment, then kills the process)
 *
 * A file descriptor's path is read from /proc/self/fd at each call, so no
 * open() needs to be seen. rename() matches on either path.
 *
 * And clock jumps (FAULT_CLOCK_OFFSET, FAULT_CLOCK_FILE; see below),
 * which work without FAULTSHIM_PATTERN.
 */
#define _GNU_SOURCE
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <dlfcn.h>
#include <signal.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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
	const char	*action = getenv("FAULTSHIM_ACTION");

	if (pat == NULL || *pat == '\0' || path == NULL)
		return (0);
	if (ops == NULL || *ops == '\0')
		ops = "write,rename,fsync";
	if (strstr(ops, op) == NULL)
		return (0);
	if (fnmatch(pat, path, 0) != 0)
		return (0);
	/* Counted atomically: a process may call from two threads. */
	if (after != NULL && __atomic_fetch_add(&fs_seen, 1,
	    __ATOMIC_SEQ_CST) < atol(after))
		return (0);
	if (action != NULL && strcmp(action, "stop") == 0) {
		raise(SIGSTOP);
		return (0);
	}
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

/*
 * Clock jumps: the wall clock (clock_gettime(CLOCK_REALTIME*),
 * gettimeofday(), time()) is moved by an offset in seconds; monotonic
 * clocks are left alone.
 *
 *   FAULT_CLOCK_OFFSET  the offset (may be negative or fractional)
 *   FAULT_CLOCK_FILE    a file holding the offset, read at each call, so a
 *                       test can make a running process's clock jump
 *                       (wins over FAULT_CLOCK_OFFSET while it is readable)
 */
static double
fs_clock_offset(void)
{
	const char	*f = getenv("FAULT_CLOCK_FILE");
	const char	*v = getenv("FAULT_CLOCK_OFFSET");
	char		 buf[64];
	ssize_t		 n;
	int		 fd;

	FS_REAL(int, "open", (const char *, int, ...));
	if (f != NULL && *f != '\0' &&
	    (fd = real(f, O_RDONLY|O_CLOEXEC)) != -1) {
		n = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (n > 0) {
			buf[n] = '\0';
			return (strtod(buf, NULL));
		}
	}
	return (v != NULL ? strtod(v, NULL) : 0.0);
}

static void
fs_clock_shift(struct timespec *ts, double off)
{
	long long	ns;

	ns = (long long)ts->tv_sec * 1000000000LL + ts->tv_nsec +
	    (long long)(off * 1e9);
	ts->tv_sec = (time_t)(ns / 1000000000LL);
	ts->tv_nsec = (long)(ns % 1000000000LL);
	if (ts->tv_nsec < 0) {
		ts->tv_nsec += 1000000000L;
		ts->tv_sec--;
	}
}

int
clock_gettime(clockid_t id, struct timespec *ts)
{
	int	rc;
	double	off;

	FS_REAL(int, "clock_gettime", (clockid_t, struct timespec *));
	rc = real(id, ts);
	if (rc == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE) &&
	    (off = fs_clock_offset()) != 0.0)
		fs_clock_shift(ts, off);
	return (rc);
}

int
gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
	struct timespec	ts;
	int		rc;

	if (tv == NULL)
		return (0);
	if ((rc = clock_gettime(CLOCK_REALTIME, &ts)) == 0) {
		tv->tv_sec = ts.tv_sec;
		tv->tv_usec = ts.tv_nsec / 1000;
	}
	return (rc);
}

time_t
time(time_t *t)
{
	struct timespec	ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return ((time_t)-1);
	if (t != NULL)
		*t = ts.tv_sec;
	return (ts.tv_sec);
}
