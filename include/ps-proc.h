/*
 * What `acpx ps` reads of a process in /proc (Linux): the resident memory
 * of a process and all its descendants. Blocking reads of small procfs
 * files; nothing is kept.
 */
#ifndef ACPX_PS_PROC_H
#define ACPX_PS_PROC_H

#include <sys/types.h>

/*
 * The resident set of pid and its descendants, in bytes (through
 * /proc/<pid>/task/<tid>/children, at most 4096 processes), or -1 if pid
 * is not there.
 */
long long	 ps_proc_tree_rss(pid_t pid);

#endif
