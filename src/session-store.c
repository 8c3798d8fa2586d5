#include <config.h>

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "buf.h"
#include "fsutil.h"
#include "jget.h"
#include "js-json.h"
#include "session-path.h"
#include "session-record.h"
#include "session-store.h"
#include "session-store-impl.h"
#include "xmalloc.h"

/*
 * ~/.acpx/sessions: atomic private writes, the record scan and the
 * lookups built on it, and pruning. Lookups scan the directory as the
 * reference does; listings go through session-index.h, a cache of what
 * they need, checked against each file's stat.
 */

#define STORE_MAX_RECORD_BYTES	(256 * 1024 * 1024)
#define STORE_REMEMBER		0x100	/* keep the bytes (store_last) */

/*
 * The directories this process has made sure of (mkdir -p done), with
 * their real paths: each is created and checked once per process, not
 * per save. A write or scan that meets ENOENT forgets them all (someone
 * removed a directory under us) and makes sure again.
 */
static struct store_dir {
	char	*path;
	char	*real;		/* realpath(), or a copy of path */
	int	 private;	/* chmod 0700 done */
} *store_dirs;
static size_t	 store_ndirs;

static struct store_dir *
store_dir_find(const char *path)
{
	size_t	i;

	for (i = 0; i < store_ndirs; i++)
		if (strcmp(store_dirs[i].path, path) == 0)
			return (&store_dirs[i]);
	return (NULL);
}

static void
store_dirs_forget(void)
{
	size_t	i;

	for (i = 0; i < store_ndirs; i++) {
		free(store_dirs[i].path);
		free(store_dirs[i].real);
	}
	free(store_dirs);
	store_dirs = NULL;
	store_ndirs = 0;
}

/* mkdir -p path with mode for the directories created (once per process). */
static struct store_dir *
store_mkdirs(const char *path, mode_t mode, char **cause)
{
	char		*p, *s, *real;
	struct stat	 sb;
	struct store_dir *d;

	if ((d = store_dir_find(path)) != NULL)
		return (d);
	p = xstrdup(path);
	for (s = p + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		if (*s == '/' && s[1] == '/')
			continue;
		{
			char c = *s;

			*s = '\0';
			if (mkdir(p, mode) == -1 && errno != EEXIST) {
				xasprintf(cause, "mkdir %s: %s", p,
				    strerror(errno));
				free(p);
				return (NULL);
			}
			*s = c;
		}
		if (*s == '\0')
			break;
	}
	free(p);
	if (stat(path, &sb) == -1 || !S_ISDIR(sb.st_mode)) {
		xasprintf(cause, "%s: not a directory", path);
		return (NULL);
	}
	if ((real = realpath(path, NULL)) == NULL)
		real = xstrdup(path);
	store_dirs = xreallocarray(store_dirs, store_ndirs + 1,
	    sizeof *store_dirs);
	d = &store_dirs[store_ndirs++];
	d->path = xstrdup(path);
	d->real = real;
	d->private = 0;
	return (d);
}

/* mkdir -p the sessions dir (0700). */
int
session_store_ensure_dir(char **cause)
{
	char	*dir = session_path_dir();
	int	 rc;

	rc = store_mkdirs(dir, 0700, cause) != NULL ? 0 : -1;
	free(dir);
	return (rc);
}

/* The sessions dir's real path, made sure of once per process. */
const char *
session_store_real_dir(char **cause)
{
	struct store_dir	*d;
	char			*dir = session_path_dir();

	d = store_mkdirs(dir, 0700, cause);
	free(dir);
	return (d != NULL ? d->real : NULL);
}

/* Open the sessions dir for a scan (created first). 1, 0 or -1. */
int
session_store_open_dir(DIR **d, char **dir, char **cause)
{
	char	*why;
	int	 missing;

	*dir = session_path_dir();
	if (store_mkdirs(*dir, 0700, &why) == NULL)
		free(why);
	if ((*d = opendir(*dir)) != NULL)
		return (1);
	if (errno == ENOENT && store_dir_find(*dir) != NULL) {
		/* Removed since this process made sure of it. */
		store_dirs_forget();
		if (store_mkdirs(*dir, 0700, &why) == NULL)
			free(why);
		if ((*d = opendir(*dir)) != NULL)
			return (1);
	}
	if (!(missing = errno == ENOENT))
		xasprintf(cause, "%s: %s", *dir, strerror(errno));
	free(*dir);
	*dir = NULL;
	return (missing ? 0 : -1);
}

static int	store_write_file(const char *, const char *, size_t, int, int,
		    char **);

/* Atomic write of bytes to path (fsutil_write) after mkdir -p. */
int
session_store_write_file(const char *path, const char *bytes, size_t len,
    int private_dir, char **cause)
{
	return (store_write_file(path, bytes, len, private_dir, 0, cause));
}

/* The same with fsutil_write()'s flags. */
static int
store_write_file(const char *path, const char *bytes, size_t len,
    int private_dir, int flags, char **cause)
{
	struct store_dir	*d;
	char			*dir, *real;
	const char		*op, *base;
	int			 rc = -1, saved, tries;

	dir = fsutil_dirname(path);
	base = strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 : path;
	for (tries = 0; tries < 2; tries++) {
		if ((d = store_mkdirs(dir, private_dir ? 0700 : 0777,
		    cause)) == NULL)
			goto out;
		if (private_dir && !d->private) {
			(void)chmod(d->real, 0700);
			d->private = 1;
		}
		xasprintf(&real, "%s/%s", d->real, base);
		rc = fsutil_write(real, bytes, len, flags, &op);
		saved = errno;
		free(real);
		if (rc == 0 || saved != ENOENT || tries > 0)
			break;
		/* A directory removed since this process made sure of it. */
		store_dirs_forget();
	}
	if (rc == -1)
		xasprintf(cause, "%s %s: %s", op, path, strerror(saved));
	errno = saved;
out:
	saved = errno;
	free(dir);
	errno = saved;
	return (rc);
}

static int	store_write_private(const char *, const json_t *, int, char **);

/* The last record this process saved: its path and bytes. */
static struct {
	char	*path;
	char	*text;
	size_t	 len;
	int	 closed;	/* the record said closed */
	const struct session_record *rec;	/* the object saved (compared
						   only, never dereferenced) */
} store_last;

/* A record whose last save wrote store_last's bytes (session_store_keep). */
static struct session_record	*store_kept;

static void
store_remember(const char *path, char *text)
{
	free(store_last.path);
	free(store_last.text);
	store_last.path = xstrdup(path);
	store_last.text = text;
	store_last.len = strlen(text);
}

/* Atomic private write of pretty JSON + "\n". */
int
session_store_write_private(const char *path, const json_t *v, char **cause)
{
	return (store_write_private(path, v, 0, cause));
}

static int
store_write_private(const char *path, const json_t *v, int flags,
    char **cause)
{
	char	*text, *full;
	int	 rc;

	if ((text = js_json_dumps(v, 2)) == NULL) {
		xasprintf(cause, "cannot serialise %s", path);
		return (-1);
	}
	xasprintf(&full, "%s\n", text);
	free(text);
	rc = store_write_file(path, full, strlen(full), 1,
	    flags & ~STORE_REMEMBER, cause);
	if (rc == 0 && (flags & STORE_REMEMBER))
		store_remember(path, full);
	else
		free(full);
	return (rc);
}

static int	store_save(const struct session_record *, int, char **);

/* Save a record to <E>.json. */
int
session_store_save(const struct session_record *r, char **cause)
{
	return (store_save(r, 0, cause));
}

void
session_store_release_replaced(void)
{
	fsutil_release_replaced();
}

/* The same, the directory's fsync left to session_store_sync_saved(). */
int
session_store_save_deferred(const struct session_record *r, char **cause)
{
	return (store_save(r, FSUTIL_DEFER_DIRSYNC, cause));
}

int
session_store_sync_saved(void)
{
	if (store_last.path == NULL)
		return (0);
	return (fsutil_bg_sync_dir(store_last.path));
}

/* The same, atomic but not fsync'ed. */
int
session_store_checkpoint(const struct session_record *r, char **cause)
{
	return (store_save(r, FSUTIL_NOSYNC, cause));
}

int
session_store_unchanged(const struct session_record *r, int *closed)
{
	char	*path = session_path(r->record_id, ".json"), *b;
	ssize_t	 n;
	size_t	 got = 0;
	int	 fd, same = 0;

	if (store_last.path == NULL || strcmp(store_last.path, path) != 0 ||
	    (fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		free(path);
		return (0);
	}
	free(path);
	/* One byte more than ours: a longer file is not ours. */
	b = xmalloc(store_last.len + 1);
	while (got < store_last.len + 1 && (n = read(fd, b + got,
	    store_last.len + 1 - got)) > 0)
		got += (size_t)n;
	close(fd);
	same = got == store_last.len && memcmp(b, store_last.text, got) == 0;
	free(b);
	*closed = store_last.closed;
	return (same);
}

const char *
session_store_saved_text(const struct session_record *r, size_t *len)
{
	if (r == NULL || store_last.rec != r || store_last.text == NULL)
		return (NULL);
	*len = store_last.len;
	return (store_last.text);
}

void
session_store_keep(struct session_record **rp)
{
	struct session_record	*r = *rp;

	*rp = NULL;
	fsutil_release_replaced();
	session_record_free(store_kept);
	store_kept = NULL;
	if (r == NULL)
		return;
	if (store_last.rec != r || store_last.path == NULL) {
		session_record_free(r);
		return;
	}
	store_kept = r;
}

struct session_record *
session_store_take_kept(const char *id)
{
	struct session_record	*r = store_kept;
	int			 closed;

	store_kept = NULL;
	if (r == NULL)
		return (NULL);
	if (strcmp(r->record_id, id) != 0 || store_last.rec != r ||
	    !session_store_unchanged(r, &closed) || closed) {
		session_record_free(r);
		return (NULL);
	}
	store_last.rec = NULL;	/* the caller's to change now */
	return (r);
}

struct session_record *
session_store_resolve_kept(const char *id, char **cause)
{
	struct session_record	*r;

	*cause = NULL;
	if ((r = session_store_take_kept(id)) != NULL)
		return (r);
	return (session_store_resolve(id, cause));
}

static int
store_save(const struct session_record *r, int flags, char **cause)
{
	json_t	*disk, *known;
	char	*path, *text;
	size_t	 len;
	int	 rc = -1;

	disk = session_record_to_disk_view(r);	/* read-only: not copied */
	/* The key policy covers what we write, not keys we only carry. */
	known = json_copy(disk);	/* shallow: only its members go */
	{
		const char	*k;
		json_t		*v;
		void		*tmp;

		json_object_foreach_safe(r->extra, tmp, k, v)
			json_object_del(known, k);
	}
	/* Checked and made, the unchanged messages' text reused. */
	text = session_store_text(r, disk, known, &len, cause);
	json_decref(known);
	if (text != NULL) {
		path = session_path(r->record_id, ".json");
		rc = store_write_file(path, text, len, 1, flags |
		    FSUTIL_KEEP_STAGE | FSUTIL_HOLD_REPLACED, cause);
		if (rc == 0) {
			store_remember(path, text);
			store_last.closed = r->closed;
		} else
			free(text);
		store_last.rec = rc == 0 ? r : NULL;
		free(path);
	}
	json_decref(disk);
	return (rc);
}

/*
 * The whole file name (in dirfd) into b (a string; at most
 * STORE_MAX_RECORD_BYTES), its fstat into *sb; -1 with errno (EFBIG past
 * the maximum). b is the caller's to free either way.
 */
static int
store_slurp(int dirfd, const char *name, struct buf *b, struct stat *sb)
{
	int		 fd, rc, saved;

	buf_init(b, STORE_MAX_RECORD_BYTES);
	if ((fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) ==
	    -1)
		return (-1);
	if (fstat(fd, sb) == -1 || !S_ISREG(sb->st_mode) ||
	    sb->st_size > STORE_MAX_RECORD_BYTES) {
		close(fd);
		errno = EFBIG;
		return (-1);
	}
	(void)buf_reserve(b, (size_t)sb->st_size);	/* one allocation */
	rc = buf_read_fd(b, fd);
	saved = errno;
	close(fd);
	errno = saved;
	return (rc);
}

/*
 * Cheap pre-filter for scans of one agent: does the top-level
 * "agent_command" (before "messages") hold another command? Files that
 * do not look as expected are parsed in full.
 */
static int
store_other_agent(const char *text, const char *agent_command)
{
	const char	*p, *q, *msgs;
	json_t		*s;
	char		*want;
	int		 other;

	if ((p = strstr(text, "\"agent_command\"")) == NULL ||
	    ((msgs = strstr(text, "\"messages\"")) != NULL && msgs < p) ||
	    strstr(p + 1, "\"agent_command\"") != NULL)
		return (0);
	p += strlen("\"agent_command\"");
	p += strspn(p, " \t\r\n");
	if (*p++ != ':')
		return (0);
	p += strspn(p, " \t\r\n");
	s = json_string(agent_command);
	want = js_json_dumps(s, 0);
	json_decref(s);
	/* Only a plain string value (no escapes) is compared as bytes. */
	other = want != NULL && *p == '"' && (q = strchr(p + 1, '"')) != NULL &&
	    memchr(p + 1, '\\', q - p - 1) == NULL &&
	    strchr(want, '\\') == NULL && strncmp(p, want, strlen(want)) != 0;
	free(want);
	return (other);
}

/*
 * Read and parse one file; NULL with *cause (NULL cause: ENOENT). With
 * agent_command, a record of another agent is skipped (NULL, no cause)
 * before the full parse.
 */
static struct session_record *
store_read_file(int dirfd, const char *path, const char *expect_name,
    const char *agent_command, struct stat *sb, char **cause)
{
	json_t			*o;
	json_error_t		 jerr;
	struct session_record	*r;
	char			*enc, *why = NULL;
	const char		*cmd;
	struct buf		 b;

	*cause = NULL;
	if (store_slurp(dirfd, path, &b, sb) == -1) {
		if (errno != ENOENT)
			xasprintf(cause, "%s", strerror(errno));
		buf_free(&b);
		return (NULL);
	}
	if (agent_command != NULL && store_other_agent(b.p, agent_command)) {
		buf_free(&b);
		return (NULL);
	}
	o = json_loadb(b.p, b.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	buf_free(&b);
	if (o == NULL) {
		xasprintf(cause, "invalid JSON (%s)", jerr.text);
		return (NULL);
	}
	if (agent_command != NULL && (cmd = jget_str(o, "agent_command")) !=
	    NULL && strcmp(cmd, agent_command) != 0 &&
	    jget_str(o, "schema") != NULL &&
	    strcmp(jget_str(o, "schema"), SESSION_RECORD_SCHEMA) == 0) {
		json_decref(o);
		return (NULL);
	}
	r = session_record_parse(o, &why);
	json_decref(o);
	if (r == NULL) {
		xasprintf(cause, "not a valid %s record (%s)",
		    SESSION_RECORD_SCHEMA, why != NULL ? why : "invalid");
		free(why);
		return (NULL);
	}
	enc = session_path_encode(r->record_id);
	if (strncmp(expect_name, enc, strlen(enc)) != 0 ||
	    strcmp(expect_name + strlen(enc), ".json") != 0) {
		xasprintf(cause, "file name does not match record id %s",
		    r->record_id);
		session_record_free(r);
		r = NULL;
	}
	free(enc);
	return (r);
}

/* One record file of the sessions directory, with its fstat. */
struct session_record *
session_store_read_at(int dirfd, const char *name, const char *agent_command,
    struct stat *sb, char **cause)
{
	return (store_read_file(dirfd, name, name, agent_command, sb, cause));
}

/* Read <E(record_id)>.json. */
struct session_record *
session_store_load(const char *record_id, char **cause)
{
	char			*path, *enc, *name;
	struct session_record	*r;
	struct stat		 sb;

	path = session_path(record_id, ".json");
	enc = session_path_encode(record_id);
	xasprintf(&name, "%s.json", enc);
	r = store_read_file(AT_FDCWD, path, name, NULL, &sb, cause);
	free(name);
	free(enc);
	free(path);
	if (r != NULL && strcmp(r->record_id, record_id) != 0) {
		session_record_free(r);
		r = NULL;
	}
	return (r);
}

static int
store_cmp_names(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

static void
store_list_add(struct session_list *l, struct session_record *r)
{
	l->v = xreallocarray(l->v, l->n + 1, sizeof *l->v);
	l->v[l->n++] = r;
}

/* All valid records, by file name. */
int
session_store_scan(const char *agent_command, struct session_list *l,
    session_store_warn_fn warn, void *arg, char **cause)
{
	DIR			*d;
	struct dirent		*de;
	struct stat		 sb;
	char			*dir, **names = NULL, *path, *why;
	size_t			 n = 0, i, len;
	struct session_record	*r;
	int			 regular, rc;

	memset(l, 0, sizeof *l);
	if ((rc = session_store_open_dir(&d, &dir, cause)) != 1)
		return (rc);
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len < 5 || strcmp(de->d_name + len - 5, ".json") != 0 ||
		    strcmp(de->d_name, "index.json") == 0)
			continue;
		if (de->d_type == DT_UNKNOWN) {
			xasprintf(&path, "%s/%s", dir, de->d_name);
			regular = lstat(path, &sb) == 0 && S_ISREG(sb.st_mode);
			free(path);
		} else
			regular = de->d_type == DT_REG;
		if (!regular)
			continue;
		names = xreallocarray(names, n + 1, sizeof *names);
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof *names, store_cmp_names);
	for (i = 0; i < n; i++) {
		xasprintf(&path, "%s/%s", dir, names[i]);
		r = store_read_file(AT_FDCWD, path, names[i], agent_command,
		    &sb, &why);
		if (r == NULL) {
			/* Removed meanwhile (ENOENT) is not worth a warning. */
			if (why != NULL && warn != NULL)
				warn(path, why, arg);
			free(why);
		} else if (agent_command != NULL &&
		    strcmp(r->agent_command, agent_command) != 0)
			session_record_free(r);
		else
			store_list_add(l, r);
		free(path);
		free(names[i]);
	}
	free(names);
	free(dir);
	return (0);
}

/* Sort newest last_used_at first. */
void
session_store_list_sort_recent(struct session_list *l)
{
	struct session_record	**copy;
	size_t			  i, j;

	/* A stable insertion of pointers keeps the scan order for ties. */
	if (l->n < 2)
		return;
	copy = xreallocarray(NULL, l->n, sizeof *copy);
	for (i = 0; i < l->n; i++) {
		for (j = i; j > 0 && strcmp(copy[j - 1]->last_used_at,
		    l->v[i]->last_used_at) < 0; j--)
			copy[j] = copy[j - 1];
		copy[j] = l->v[i];
	}
	memcpy(l->v, copy, l->n * sizeof *copy);
	free(copy);
}

/* Free the records and the array. */
void
session_store_list_free(struct session_list *l)
{
	size_t	i;

	for (i = 0; i < l->n; i++)
		session_record_free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
