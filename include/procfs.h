/*
 * procfs: the one place that reads Linux's /proc for a process: its stat
 * line (state, parent, process group, start time) and its command line.
 * Every reader is a blocking read of a small kernel file, which never
 * waits on a disk; a process that exits between two reads simply reads as
 * gone.
 *
 * Ownership: nothing is allocated; results are written into the caller's
 * struct or buffer.
 */
#ifndef ACPX_PROCFS_H
#define ACPX_PROCFS_H

#include <sys/types.h>

/* What /proc/<pid>/stat says of a process. */
struct procfs_stat {
	char	state;		/* field 3: R, S, D, Z, T, ... */
	pid_t	ppid;		/* field 4 */
	pid_t	pgrp;		/* field 5 */
	char	start[24];	/* field 22, start ticks, as the kernel
				   printed it; "" if not all digits */
};

/*
 * Read a small procfs (or any small) file in one read into buf
 * (NUL-terminated, at most size - 1 bytes): its length, or -1 if it
 * cannot be opened or read.
 */
ssize_t	 procfs_read(const char *path, char *buf, size_t size);

/*
 * Parse /proc/<pid>/stat into *st: 0, or -1 when the process is gone, the
 * file is unreadable or its line is not "pid (comm) state ppid pgrp ...".
 * comm may hold spaces and parentheses: it ends at the last ')'.
 */
int	 procfs_stat(pid_t pid, struct procfs_stat *st);

/*
 * /proc/<pid>/cmdline into buf (arguments separated by NUL bytes,
 * NUL-terminated, truncated to size - 1): its length, or -1 (gone,
 * unreadable, or empty: a zombie or a kernel thread).
 */
ssize_t	 procfs_cmdline(pid_t pid, char *buf, size_t size);

#endif
