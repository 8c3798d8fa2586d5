#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acpx.h"
#include "buf.h"
#include "js.h"
#include "node-fs.h"
#include "xmalloc.h"

/*
 * Node's fs as the reference meets it: fs.readFile(path, "utf8") (bad
 * UTF-8 replaced as Node's decoder does) and the "<CODE>: <description>,
 * <syscall> '<path>'" text of its errors. Used for the config files, the
 * --mcp-config file, permission policies, prompt files and stdin.
 */

/* ------------------------------------------------------- file errors */

static const struct {
	int		 err_no;
	const char	*code;
	const char	*text;
} node_fs_errnos[] = {
	{ ENOENT, "ENOENT", "no such file or directory" },
	{ EACCES, "EACCES", "permission denied" },
	{ EISDIR, "EISDIR", "illegal operation on a directory" },
	{ ENOTDIR, "ENOTDIR", "not a directory" },
	{ ELOOP, "ELOOP", "too many symbolic links encountered" },
	{ ENAMETOOLONG, "ENAMETOOLONG", "name too long" },
	{ EMFILE, "EMFILE", "too many open files" },
	{ ENFILE, "ENFILE", "file table overflow" },
	{ EPERM, "EPERM", "operation not permitted" },
	{ EIO, "EIO", "i/o error" },
	{ ENXIO, "ENXIO", "no such device or address" },
	{ EBUSY, "EBUSY", "resource busy or locked" },
	{ EAGAIN, "EAGAIN", "resource temporarily unavailable" },
	{ ENOMEM, "ENOMEM", "not enough memory" },
	{ EINVAL, "EINVAL", "invalid argument" },
	{ EROFS, "EROFS", "read-only file system" },
	{ ENOSPC, "ENOSPC", "no space left on device" },
	{ EEXIST, "EEXIST", "file already exists" },
	{ ETXTBSY, "ETXTBSY", "text file is busy" },
	{ EFBIG, "EFBIG", "file too large" },
	{ EOVERFLOW, "EOVERFLOW", "value too large for defined data type" },
	{ EDQUOT, "EDQUOT", "disk quota exceeded" },
};

/* Node's "<CODE>: <description>, <syscall> '<path>'". */
char *
node_fs_errno_message(int err_no, const char *syscall, const char *path)
{
	const char	*code = "UNKNOWN", *text = strerror(err_no);
	char		*out;
	size_t		 i;

	for (i = 0; i < nitems(node_fs_errnos); i++) {
		if (node_fs_errnos[i].err_no == err_no) {
			code = node_fs_errnos[i].code;
			text = node_fs_errnos[i].text;
			break;
		}
	}
	if (path != NULL)
		xasprintf(&out, "%s: %s, %s '%s'", code, text, syscall, path);
	else
		xasprintf(&out, "%s: %s, %s", code, text, syscall);
	return (out);
}

/* Read all of fd; -1 with *err_no on a read error. */
static int
node_fs_slurp(int fd, char **buf, size_t *len, int *err_no)
{
	struct buf	b = BUF_INITIALIZER;

	if (buf_read_fd(&b, fd) == -1) {
		*err_no = errno;
		buf_free(&b);
		return (-1);
	}
	*len = b.len;
	*buf = buf_take(&b);
	return (0);
}

/* Read a whole file as fs.readFile(path, "utf8"). */
int
node_fs_read_file(const char *path, char **text, size_t *len, int *err_no,
    char **cause)
{
	char	*raw;
	size_t	 rawlen;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		*err_no = errno;
		*cause = node_fs_errno_message(errno, "open", path);
		return (-1);
	}
	if (node_fs_slurp(fd, &raw, &rawlen, err_no) == -1) {
		close(fd);
		*cause = node_fs_errno_message(*err_no, "read", NULL);
		return (-1);
	}
	close(fd);
	*text = js_utf8_fix(raw, rawlen, len);
	free(raw);
	return (0);
}

/* Read all of a file descriptor as UTF-8 text. */
int
node_fs_read_fd(int fd, char **text, size_t *len, char **cause)
{
	char	*raw;
	size_t	 rawlen;
	int	 err_no;

	if (node_fs_slurp(fd, &raw, &rawlen, &err_no) == -1) {
		*cause = node_fs_errno_message(err_no, "read", NULL);
		return (-1);
	}
	*text = js_utf8_fix(raw, rawlen, len);
	free(raw);
	return (0);
}

