#include <config.h>

#include <sys/types.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procfs.h"
#include "ps-proc.h"
#include "xmalloc.h"

/*
 * /proc for acpx ps (ps-proc.h): statm's resident pages, the children
 * files of a process's threads, walked breadth first.
 */

#define PS_PROC_MAX	4096

/* Resident bytes of one process, or -1. */
static long long
ps_proc_rss(pid_t pid)
{
	char		 path[64], buf[256];
	unsigned long	 size, resident;

	snprintf(path, sizeof path, "/proc/%ld/statm", (long)pid);
	if (procfs_read(path, buf, sizeof buf) == -1 ||
	    sscanf(buf, "%lu %lu", &size, &resident) != 2)
		return (-1);
	return ((long long)resident * sysconf(_SC_PAGESIZE));
}

/* Append the children of pid (all its threads') to list. */
static void
ps_proc_children(pid_t pid, pid_t *list, size_t *n)
{
	char		 path[320], buf[4096], *p, *end;
	DIR		*d;
	struct dirent	*de;
	long		 c;

	snprintf(path, sizeof path, "/proc/%ld/task", (long)pid);
	if ((d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%ld/task/%s/children",
		    (long)pid, de->d_name);
		if (procfs_read(path, buf, sizeof buf) <= 0)
			continue;
		for (p = buf; *n < PS_PROC_MAX; p = end) {
			c = strtol(p, &end, 10);
			if (end == p)
				break;
			if (c > 0)
				list[(*n)++] = (pid_t)c;
		}
	}
	closedir(d);
}

long long
ps_proc_tree_rss(pid_t pid)
{
	pid_t		*list;
	size_t		 n = 1, i;
	long long	 total, r;

	if (pid <= 0 || (total = ps_proc_rss(pid)) < 0)
		return (-1);
	list = xcalloc(PS_PROC_MAX, sizeof *list);
	list[0] = pid;
	for (i = 0; i < n; i++) {
		ps_proc_children(list[i], list, &n);
		if (i > 0 && (r = ps_proc_rss(list[i])) > 0)
			total += r;
	}
	free(list);
	return (total);
}
