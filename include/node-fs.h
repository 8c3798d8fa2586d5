/*
 * Node's fs emulation: files read as fs.readFile(path, "utf8") and errors
 * worded as Node words them. Blocking reads of small local files.
 *
 * Ownership: *text and *cause are new strings the caller frees.
 */
#ifndef ACPX_NODE_FS_H
#define ACPX_NODE_FS_H

#include <stddef.h>

/*
 * Read a whole file as fs.readFile(path, "utf8") (NUL-terminated, invalid
 * UTF-8 replaced). 0, or -1 with *err_no and Node's message in *cause.
 */
int	 node_fs_read_file(const char *path, char **text, size_t *len,
	    int *err_no, char **cause);

/* Read all of fd as UTF-8 text; 0, or -1 with Node's message in *cause. */
int	 node_fs_read_fd(int fd, char **text, size_t *len, char **cause);

/* Node's "<CODE>: <description>, <syscall> '<path>'" (path may be NULL). */
char	*node_fs_errno_message(int err_no, const char *syscall,
	    const char *path);

#endif
