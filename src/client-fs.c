#include <config.h>

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "acpx.h"
#include "buf.h"
#include "client-fs.h"
#include "jget.h"
#include "jsonrpc.h"
#include "xmalloc.h"

/*
 * fs/read_text_file and fs/write_text_file for the agent, confined to the
 * session cwd as the reference confines them: the path must be absolute,
 * its lexical resolution must lie inside the cwd, and the real path (after
 * symlinks) must too. Regular files only.
 *
 * This file does blocking local file I/O on purpose: it is the labelled
 * exception to "nothing blocks" (DESIGN.md); it never waits on a process,
 * a socket or the network.
 */

#define WRITE_PREVIEW_LINES	16
#define WRITE_PREVIEW_CHARS	1200

/* Lexically resolve an absolute path. Caller owns. */
char *
client_fs_normalize(const char *path)
{
	char	*out = xmalloc(strlen(path) + 2), *o = out;
	const char *p = path, *seg;
	size_t	 n;

	*o = '\0';
	while (*p != '\0') {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		seg = p;
		while (*p != '\0' && *p != '/')
			p++;
		n = (size_t)(p - seg);
		if (n == 1 && seg[0] == '.')
			continue;
		if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			while (o > out && *--o != '/')
				;
			*o = '\0';
			continue;
		}
		*o++ = '/';
		memcpy(o, seg, n);
		o += n;
		*o = '\0';
	}
	if (o == out) {
		out[0] = '/';
		out[1] = '\0';
	}
	return (out);
}

/* Is path equal to root or below it? Both normalized. */
static int
path_inside(const char *root, const char *path)
{
	size_t	n = strlen(root);

	if (strcmp(root, "/") == 0)
		return (1);
	return (strncmp(root, path, n) == 0 &&
	    (path[n] == '\0' || path[n] == '/'));
}

/* file:// URL of an absolute path, percent-encoded like Node's pathToFileURL. */
static char *
file_url(const char *path)
{
	static const char keep[] = "-._~!$&'()*+,;=:@/";
	char	*out = xmalloc(strlen(path) * 3 + 8), *o = out;
	const unsigned char *p;

	o += sprintf(o, "file://");
	for (p = (const unsigned char *)path; *p != '\0'; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr(keep, *p) != NULL)
			*o++ = (char)*p;
		else
			o += sprintf(o, "%%%02X", *p);
	}
	*o = '\0';
	return (out);
}

static json_t *
not_found_error(const char *path)
{
	char	*url = file_url(path), *msg;
	json_t	*e;

	xasprintf(&msg, "Resource not found: %s", url);
	e = json_pack("{s:i, s:s, s:{s:s}}", "code", -32002, "message", msg,
	    "data", "uri", url);
	free(msg);
	free(url);
	return (e);
}

/*
 * Check the request's path: absolute and lexically inside cwd. Returns the
 * path as given (symlinks and .. are resolved by the filesystem) or NULL
 * with *error set.
 */
static const char *
checked_path(const struct client_fs_opts *o, const json_t *params,
    json_t **error)
{
	const char	*path = jget_str(params, "path");
	char		*norm, *root;
	int		 inside;

	if (path == NULL || path[0] != '/') {
		*error = jsonrpc_internal_error("Path must be absolute: %s",
		    path != NULL ? path : "undefined");
		return (NULL);
	}
	norm = client_fs_normalize(path);
	root = client_fs_normalize(o->cwd);
	inside = path_inside(root, norm);
	if (!inside)
		*error = jsonrpc_internal_error("Path is outside allowed cwd subtree: %s",
		    norm);
	free(norm);
	free(root);
	return (inside ? path : NULL);
}

/* The real path of an existing target must stay inside the real cwd. */
static int
real_inside(const struct client_fs_opts *o, const char *path)
{
	char	rroot[PATH_MAX], rpath[PATH_MAX];

	if (realpath(o->cwd, rroot) == NULL || realpath(path, rpath) == NULL)
		return (-1);
	return (path_inside(rroot, rpath));
}

/* Answer fs/read_text_file. */
json_t *
client_fs_read(const struct client_fs_opts *o, const json_t *params,
    json_t **error, enum client_fs_perm *perm)
{
	const char	*path;
	const json_t	*jl, *jlimit;
	struct stat	 st;
	struct buf	 b = BUF_INITIALIZER;
	char		*start, *end;
	long long	 line = 1, limit = -1, i;
	int		 fd, rc, saved;
	json_t		*res;

	*error = NULL;
	*perm = CLIENT_FS_PERM_NONE;
	if ((path = checked_path(o, params, error)) == NULL)
		return (NULL);
	if (o->mode == ACPX_PERM_DENY_ALL) {
		*perm = CLIENT_FS_PERM_DENIED;
		*error = jsonrpc_internal_error("Permission denied for fs/read_text_file "
		    "(--deny-all)");
		return (NULL);
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		*error = errno == ENOENT || errno == ENOTDIR ?
		    not_found_error(path) : jsonrpc_internal_error("%s: %s", path,
		    strerror(errno));
		return (NULL);
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    real_inside(o, path) != 1) {
		close(fd);
		*error = jsonrpc_internal_error("file is outside workspace root");
		return (NULL);
	}
	rc = buf_read_fd(&b, fd);
	saved = errno;
	close(fd);
	if (rc == -1) {
		buf_free(&b);
		*error = jsonrpc_internal_error("%s: %s", path, strerror(saved));
		return (NULL);
	}

	jl = json_object_get(params, "line");
	jlimit = json_object_get(params, "limit");
	start = b.p;
	end = b.p + b.len;
	if (json_is_number(jl) || json_is_number(jlimit)) {
		if (json_is_number(jl))
			line = (long long)json_number_value(jl);
		if (line < 1)
			line = 1;
		if (json_is_number(jlimit)) {
			limit = (long long)json_number_value(jlimit);
			if (limit < 0)
				limit = 0;
		}
		for (i = 1; i < line && start < end; i++) {
			char *nl = memchr(start, '\n', (size_t)(end - start));

			start = nl != NULL ? nl + 1 : end;
		}
		if (i < line)
			start = end;
		if (limit == 0)
			end = start;
		else if (limit > 0) {
			char *p = start;

			for (i = 0; i < limit && p < end; i++) {
				char *nl = memchr(p, '\n', (size_t)(end - p));

				if (nl == NULL) {
					p = end;
					break;
				}
				p = (i == limit - 1) ? nl : nl + 1;
			}
			end = p;
		}
	}
	res = json_object();
	json_object_set_new(res, "content",
	    json_stringn_nocheck(start, (size_t)(end - start)));
	buf_free(&b);
	return (res);
}

/* The write preview: first 16 lines, a "more lines" note, 1200 chars. Caller owns. */
static char *
write_preview(const char *content)
{
	size_t	 lines = 1, shown = 0, n;
	const char *p;
	char	*out, *tmp;

	for (p = content; *p != '\0'; p++)
		if (*p == '\n')
			lines++;
	for (p = content, n = 0; *p != '\0'; p++) {
		if (*p == '\n' && ++n == WRITE_PREVIEW_LINES)
			break;
	}
	shown = (size_t)(p - content);
	out = xstrndup(content, shown);
	if (lines > WRITE_PREVIEW_LINES) {
		xasprintf(&tmp, "%s\n... (%zu more lines)", out,
		    lines - WRITE_PREVIEW_LINES);
		free(out);
		out = tmp;
	}
	if (strlen(out) > WRITE_PREVIEW_CHARS) {
		out[WRITE_PREVIEW_CHARS - 3] = '\0';
		xasprintf(&tmp, "%s...", out);
		free(out);
		out = tmp;
	}
	return (out);
}

/* mkdir -p for the parents of path. */
static int
make_parents(const char *path)
{
	char	*dir = xstrdup(path), *p;

	for (p = dir + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0777) == -1 && errno != EEXIST) {
			free(dir);
			return (-1);
		}
		*p = '/';
	}
	free(dir);
	return (0);
}

/* Answer fs/write_text_file. */
json_t *
client_fs_write(const struct client_fs_opts *o, const json_t *params,
    json_t **error, enum client_fs_perm *perm)
{
	const char	*path, *content;
	char		*preview, *header, *dir, *slash;
	int		 allowed = 0, fd, inside;
	size_t		 len, off = 0;
	ssize_t		 w;

	*error = NULL;
	*perm = CLIENT_FS_PERM_NONE;
	if ((path = checked_path(o, params, error)) == NULL)
		return (NULL);
	content = jget_str(params, "content");
	if (content == NULL)
		content = "";
	len = json_string_length(json_object_get(params, "content"));

	if (o->mode == ACPX_PERM_APPROVE_ALL)
		allowed = 1;
	else if (o->mode == ACPX_PERM_APPROVE_READS) {
		if (!o->can_prompt && o->nonint == ACPX_NONINT_FAIL) {
			*perm = CLIENT_FS_PERM_UNAVAILABLE;
			*error = jsonrpc_internal_error("Permission prompt unavailable in "
			    "non-interactive mode");
			return (NULL);
		}
		if (o->can_prompt && o->ask != NULL) {
			preview = write_preview(content);
			xasprintf(&header, "[permission] Allow write to %s?", path);
			allowed = o->ask(header, preview, "Allow write? (y/N) ");
			free(header);
			free(preview);
		}
	}
	if (!allowed) {
		*perm = CLIENT_FS_PERM_DENIED;
		*error = jsonrpc_internal_error("Permission denied for fs/write_text_file");
		return (NULL);
	}

	make_parents(path);
	/* The directory it lands in must really be inside the cwd. */
	dir = xstrdup(path);
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	inside = real_inside(o, dir);
	free(dir);
	if (inside != 1) {
		*error = jsonrpc_internal_error("file is outside workspace root");
		return (NULL);
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW | O_NONBLOCK, 0666)) == -1) {
		if (errno == ELOOP && real_inside(o, path) == 1)
			fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC, 0666);
		if (fd == -1 && errno == ELOOP) {
			*error = jsonrpc_internal_error("file is outside workspace root");
			return (NULL);
		}
		if (fd == -1) {
			*error = jsonrpc_internal_error("%s: %s", path, strerror(errno));
			return (NULL);
		}
	}
	while (off < len) {
		if ((w = write(fd, content + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			*error = jsonrpc_internal_error("%s: %s", path, strerror(errno));
			close(fd);
			return (NULL);
		}
		off += (size_t)w;
	}
	if (close(fd) == -1) {
		*error = jsonrpc_internal_error("%s: %s", path, strerror(errno));
		return (NULL);
	}
	return (json_object());
}
