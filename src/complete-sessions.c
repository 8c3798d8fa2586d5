#include <config.h>

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "acpx.h"
#include "complete.h"
#include "session-path.h"
#include "session-store.h"
#include "xmalloc.h"

/*
 * Live session names for the shell completions: a scan of the session
 * records that reads only what completion needs (name, cwd, agent command,
 * closed) and stays fast with thousands of large records. Matching follows
 * the session store's lookups (exact cwd, or the directory walk up to the
 * git root), but a record is only ever read here, never written.
 */

/* How far the head of a session record is read before parsing it. */
#define COMPLETE_HEAD_BYTES	(64 * 1024)

/* dir is base or inside it (both absolute, normalised). */
static int
complete_within(const char *dir, const char *base)
{
	size_t	n = strlen(base);

	if (strcmp(base, "/") == 0)
		return (dir[0] == '/');
	return (strncmp(dir, base, n) == 0 && (dir[n] == '\0' ||
	    dir[n] == '/'));
}

/* The record parsed from a buffer, NULL unless a JSON object. */
static json_t *
complete_parse(const char *buf, size_t len)
{
	json_t	*j = json_loadb(buf, len, 0, NULL);

	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return (j);
}

/*
 * Read the fields completion needs from a record file, quickly: records
 * are pretty-printed with the small scalar fields first and the
 * conversation last, so the head up to the first of the large top-level
 * keys is parsed alone (a newline never occurs inside a JSON string, so
 * "\n  \"key\"" is a top-level member of a two-space indented object).
 * Anything unexpected falls back to parsing the whole file.
 */
static json_t *
complete_load_record(int dirfd, const char *file)
{
	static const char *const tails[] = { "\n  \"agent_capabilities\"",
	    "\n  \"title\"", "\n  \"messages\"", "\n  \"acpx\"" };
	struct stat	 sb;
	char		*buf, *cut = NULL, *p, *head;
	size_t		 want, len = 0, i;
	ssize_t		 r;
	json_t		*j = NULL;
	int		 fd;

	if ((fd = openat(dirfd, file, O_RDONLY|O_CLOEXEC|O_NOCTTY)) == -1)
		return (NULL);
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return (NULL);
	}
	want = (size_t)sb.st_size < COMPLETE_HEAD_BYTES ? (size_t)sb.st_size :
	    COMPLETE_HEAD_BYTES;
	buf = xmalloc(want + 3);
	while (len < want) {
		if ((r = read(fd, buf + len, want - len)) <= 0) {
			if (r == -1 && errno == EINTR)
				continue;
			break;
		}
		len += (size_t)r;
	}
	if (len < (size_t)sb.st_size) {
		for (i = 0; i < nitems(tails); i++) {
			p = memmem(buf, len, tails[i], strlen(tails[i]));
			if (p != NULL && (cut == NULL || p < cut))
				cut = p;
		}
		if (cut != NULL) {
			/* Drop the comma that ended the member before. */
			head = cut;
			if (head > buf && head[-1] == ',')
				head--;
			memcpy(head, "\n}", 2);
			j = complete_parse(buf, (size_t)(head - buf) + 2);
			if (j != NULL && json_object_get(j, "closed") == NULL) {
				json_decref(j);
				j = NULL;
			}
		}
		if (j == NULL) {
			free(buf);
			buf = NULL;
			if (lseek(fd, 0, SEEK_SET) == 0)
				j = json_loadfd(fd, 0, NULL);
			if (j != NULL && !json_is_object(j)) {
				json_decref(j);
				j = NULL;
			}
		}
	} else
		j = complete_parse(buf, len);
	free(buf);
	close(fd);
	return (j);
}

static const char *
complete_str(const json_t *j, const char *key)
{
	return (json_string_value(json_object_get(j, key)));
}

/* The named sessions of an agent for a directory (see complete.h). */
void
complete_session_names(const char *agent_command, const char *cwd,
    enum complete_scope scope, complete_session_fn cb, void *arg)
{
	struct dirent	*de;
	DIR		*dir;
	json_t		*rec;
	const char	*name, *rcwd, *schema, *command;
	char		*sdir, *boundary = NULL;
	size_t		 len;
	int		 closed;

	if (scope == COMPLETE_WALK_OPEN)
		boundary = session_store_git_root(cwd);
	sdir = session_path_dir();
	if ((dir = opendir(sdir)) == NULL)
		goto out;
	while ((de = readdir(dir)) != NULL) {
		len = strlen(de->d_name);
		if (len <= 5 || strcmp(de->d_name + len - 5, ".json") != 0 ||
		    strcmp(de->d_name, "index.json") == 0)
			continue;
		if ((rec = complete_load_record(dirfd(dir), de->d_name)) == NULL)
			continue;
		schema = complete_str(rec, "schema");
		command = complete_str(rec, "agent_command");
		name = complete_str(rec, "name");
		rcwd = complete_str(rec, "cwd");
		closed = json_is_true(json_object_get(rec, "closed"));
		if (schema == NULL || strcmp(schema, "acpx.session.v1") != 0 ||
		    complete_str(rec, "acpx_record_id") == NULL ||
		    command == NULL || strcmp(command, agent_command) != 0 ||
		    name == NULL || *name == '\0' || rcwd == NULL)
			goto next;
		if (closed && scope != COMPLETE_EXACT_ANY)
			goto next;
		if (scope == COMPLETE_WALK_OPEN) {
			if (strcmp(rcwd, cwd) != 0 && (boundary == NULL ||
			    !complete_within(cwd, rcwd) ||
			    !complete_within(rcwd, boundary)))
				goto next;
		} else if (strcmp(rcwd, cwd) != 0)
			goto next;
		cb(name, rcwd, closed, arg);
next:
		json_decref(rec);
	}
	closedir(dir);
out:
	free(sdir);
	free(boundary);
}
