/*
 * fsutil.c: the atomic writer. Content and mode, replace and no-replace,
 * failures that leave the old file and no staging behind, and the crash
 * safety a store relies on: a concurrent reader, or a reader after the
 * writer is killed mid-write, sees the old file or the new one whole.
 */
#include <config.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "tap.h"

#define BIG	(4 * 1024 * 1024)

static char	 dir[] = "/tmp/acpx-test-fsutil-XXXXXX";

/* The whole file, or NULL; *len its size. */
static char *
slurp(const char *path, size_t *len)
{
	struct stat	 st;
	char		*buf;
	ssize_t		 n;
	size_t		 off = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY)) == -1)
		return (NULL);
	if (fstat(fd, &st) == -1) {
		close(fd);
		return (NULL);
	}
	buf = malloc((size_t)st.st_size + 1);
	while ((n = read(fd, buf + off, (size_t)st.st_size - off)) > 0)
		off += (size_t)n;
	close(fd);
	buf[off] = '\0';
	*len = off;
	return (buf);
}

/* Entries in dir other than the ones named. */
static int
extra_entries(const char *keep)
{
	DIR		*d = opendir(dir);
	struct dirent	*de;
	int		 n = 0;

	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0 &&
		    (keep == NULL || strcmp(de->d_name, keep) != 0))
			n++;
	}
	closedir(d);
	return (n);
}

/* All of buf[0..len) is byte c. */
static int
all_of(const char *buf, size_t len, char c)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		if (buf[i] != c)
			return (0);
	}
	return (1);
}

/* The file is exactly one of the two contents the writers write. */
static int
whole(const char *buf, size_t len)
{
	return ((len == BIG && all_of(buf, len, 'a')) ||
	    (len == BIG / 2 && all_of(buf, len, 'b')));
}

int
main(void)
{
	char		 path[256], *got, *a, *b;
	const char	*op;
	size_t		 len;
	struct stat	 st;
	pid_t		 pid;
	int		 status, p[2], reads, bad, i;

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return (1);
	}
	snprintf(path, sizeof path, "%s/store.json", dir);
	a = malloc(BIG);
	b = malloc(BIG / 2);
	memset(a, 'a', BIG);
	memset(b, 'b', BIG / 2);

	TEST_START("fsutil_write: content, mode 0600, no staging left");
	ASSERT_INT_EQ(fsutil_write(path, "{}\n", 3, 0, &op), 0);
	got = slurp(path, &len);
	ASSERT_STR_EQ(got, "{}\n");
	free(got);
	ASSERT_INT_EQ(stat(path, &st), 0);
	ASSERT_INT_EQ(st.st_mode & 0777, 0600);
	ASSERT_INT_EQ(extra_entries("store.json"), 0);
	TEST_DONE();

	TEST_START("fsutil_write: replaces an existing file");
	ASSERT_INT_EQ(fsutil_write(path, "new", 3, 0, NULL), 0);
	got = slurp(path, &len);
	ASSERT_STR_EQ(got, "new");
	free(got);
	TEST_DONE();

	TEST_START("FSUTIL_NOREPLACE: EEXIST, old file kept, no staging");
	errno = 0;
	ASSERT_INT_EQ(fsutil_write(path, "other", 5, FSUTIL_NOREPLACE, &op),
	    -1);
	ASSERT_INT_EQ(errno, EEXIST);
	ASSERT_STR_EQ(op, "link");
	got = slurp(path, &len);
	ASSERT_STR_EQ(got, "new");
	free(got);
	ASSERT_INT_EQ(extra_entries("store.json"), 0);
	TEST_DONE();

	TEST_START("a failure names its step and leaves nothing");
	ASSERT_INT_EQ(fsutil_write("/nonexistent-acpx-dir/x.json", "x", 1, 0,
	    &op), -1);
	ASSERT_INT_EQ(errno, ENOENT);
	ASSERT_STR_EQ(op, "mkdtemp");
	TEST_DONE();

	TEST_START("a concurrent reader sees the old file or the new one whole");
	ASSERT_INT_EQ(fsutil_write(path, a, BIG, 0, NULL), 0);
	if (pipe(p) == -1)
		return (1);
	if ((pid = fork()) == 0) {
		close(p[0]);
		for (i = 0; i < 40; i++) {
			if (fsutil_write(path, i % 2 ? a : b, i % 2 ? BIG :
			    BIG / 2, 0, NULL) == -1)
				_exit(1);
			if (i == 0)
				(void)write(p[1], "x", 1);	/* started */
		}
		/* Valgrind checks a forked child's leaks at its exit too. */
		free(a);
		free(b);
		_exit(0);
	}
	close(p[1]);
	(void)read(p[0], &i, 1);
	close(p[0]);
	reads = bad = 0;
	/* Read until the writer is done (at least once). */
	do {
		if ((got = slurp(path, &len)) != NULL) {
			reads++;
			if (!whole(got, len))
				bad++;
			free(got);
		}
	} while (waitpid(pid, &status, WNOHANG) == 0);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ASSERT_TRUE(reads > 0);
	ASSERT_INT_EQ(bad, 0);
	ASSERT_INT_EQ(extra_entries("store.json"), 0);
	TEST_DONE();

	TEST_START("a writer killed mid-write leaves a whole file (old or new)");
	ASSERT_INT_EQ(fsutil_write(path, b, BIG / 2, 0, NULL), 0);
	if (pipe(p) == -1)
		return (1);
	if ((pid = fork()) == 0) {
		close(p[0]);
		(void)write(p[1], "x", 1);
		for (;;)
			(void)fsutil_write(path, a, BIG, 0, NULL);
	}
	close(p[1]);
	(void)read(p[0], &i, 1);		/* it is writing */
	close(p[0]);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	got = slurp(path, &len);
	ASSERT_TRUE(got != NULL && whole(got, len));
	free(got);
	TEST_DONE();

	/* Clean up, including a staging directory the kill may have left. */
	{
		char	cmd[300];

		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		(void)system(cmd);
	}
	free(a);
	free(b);
	return (tap_end());
}
