#include <config.h>

#include <sys/types.h>

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "procfs.h"

/*
 * /proc readers (procfs.h): the stat line of a process and its command
 * line, for the reaper, the session lock's birth identity, the queue
 * lease, the host slots, sessions close and acpx ps.
 */

ssize_t
procfs_read(const char *path, char *buf, size_t size)
{
	ssize_t	n;
	int	fd;

	if (size == 0 || (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return (-1);
	buf[n] = '\0';
	return (n);
}

int
procfs_stat(pid_t pid, struct procfs_stat *st)
{
	char	 path[64], buf[1024], *p, *tok, *save;
	long	 ppid, pgrp;
	int	 field;

	memset(st, 0, sizeof *st);
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if (procfs_read(path, buf, sizeof buf) <= 0)
		return (-1);
	/* "pid (comm) state ppid pgrp ...": comm may hold anything. */
	if ((p = strrchr(buf, ')')) == NULL || p[1] != ' ')
		return (-1);
	if (sscanf(p + 2, "%c %ld %ld", &st->state, &ppid, &pgrp) != 3)
		return (-1);
	st->ppid = (pid_t)ppid;
	st->pgrp = (pid_t)pgrp;
	/* After ")": the state is field 3. */
	field = 3;
	for (tok = strtok_r(p + 1, " \n", &save); tok != NULL;
	    tok = strtok_r(NULL, " \n", &save), field++) {
		if (field != 22)
			continue;
		if (strspn(tok, "0123456789") == strlen(tok) &&
		    strlen(tok) < sizeof st->start)
			memcpy(st->start, tok, strlen(tok) + 1);
		break;
	}
	return (0);
}

ssize_t
procfs_cmdline(pid_t pid, char *buf, size_t size)
{
	char	path[64];
	ssize_t	n;

	snprintf(path, sizeof path, "/proc/%ld/cmdline", (long)pid);
	if ((n = procfs_read(path, buf, size)) <= 0)
		return (-1);
	return (n);
}
