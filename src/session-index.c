#include <config.h>

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "buf.h"
#include "session-index.h"
#include "session-path.h"
#include "session-record.h"
#include "session-store.h"
#include "xmalloc.h"

/*
 * The listing index (see session-index.h). On disk, compact JSON:
 *	{"schema": INDEX_SCHEMA, "entries": [[record_id, ino, size, ctime_ns,
 *	    agent_command, cwd, name|null, closed, last_used_at], ...]}
 * sorted by file name (encodeURIComponent(record_id).json: a file named
 * otherwise is not a valid record). Only entries that can be trusted are
 * written: those of files unchanged for the settling time before they were
 * read. The ctime covers the mtime (any change of either sets it).
 */

#define INDEX_FILE	".index"
#define INDEX_SCHEMA	"acpx-native.session-index.v2"
#define INDEX_NFIELDS	9
#define INDEX_MAX_BYTES	(256 * 1024 * 1024)
/*
 * A file unchanged for this long before it was read cannot hide a change
 * made in the same clock tick as the read (ACPX_SESSION_INDEX_SETTLE_MS).
 */
#define INDEX_SETTLE_MS	2000

enum {
	IX_RECORD_ID, IX_INO, IX_SIZE, IX_CTIME, IX_AGENT, IX_CWD, IX_NAME,
	IX_CLOSED, IX_LAST_USED
};

/* How long a record must have been unchanged to be trusted, in ns. */
static long long
index_settle_ns(void)
{
	static long long	 ns = -1;
	const char		*v;
	char			*end;
	long			 ms;

	if (ns >= 0)
		return (ns);
	ms = INDEX_SETTLE_MS;
	if ((v = getenv("ACPX_SESSION_INDEX_SETTLE_MS")) != NULL && *v >= '0' &&
	    *v <= '9') {
		errno = 0;
		ms = strtol(v, &end, 10);
		if (errno != 0 || *end != '\0' || ms > 3600000)
			ms = INDEX_SETTLE_MS;
	}
	ns = (long long)ms * 1000000LL;
	return (ns);
}

static long long
index_ns(const struct timespec *ts)
{
	return ((long long)ts->tv_sec * 1000000000LL + ts->tv_nsec);
}

static int
index_cmp_names(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

/* Is e a well-formed entry? */
static int
index_entry_ok(const json_t *e)
{
	static const char types[INDEX_NFIELDS] = "siiisssbs";
	const json_t	*v;
	size_t		 i;

	if (!json_is_array(e) || json_array_size(e) != INDEX_NFIELDS)
		return (0);
	for (i = 0; i < INDEX_NFIELDS; i++) {
		v = json_array_get(e, i);
		switch (types[i]) {
		case 's':
			if (!json_is_string(v) && !(i == IX_NAME &&
			    json_is_null(v)))
				return (0);
			break;
		case 'i':
			if (!json_is_integer(v))
				return (0);
			break;
		case 'b':
			if (!json_is_boolean(v))
				return (0);
			break;
		}
	}
	return (1);
}

/*
 * The entries of the index in dirfd and their file names (*files, *n of
 * them), or NULL if it is missing, unreadable or not exactly what this
 * version writes (then it is rebuilt).
 */
static json_t *
index_load(int dirfd, char ***files)
{
	json_t		*root, *entries, *e;
	char		*enc;
	struct buf	 b;
	size_t		 i = 0, len;
	int		 fd, rc;

	*files = NULL;
	if ((fd = openat(dirfd, INDEX_FILE, O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW)) == -1)
		return (NULL);
	buf_init(&b, INDEX_MAX_BYTES);
	rc = buf_read_fd(&b, fd);
	close(fd);
	root = rc == 0 ? json_loadb(b.p, b.len, 0, NULL) : NULL;
	buf_free(&b);
	if (root == NULL)
		return (NULL);
	entries = json_object_get(root, "entries");
	if (!json_is_object(root) || json_object_get(root, "schema") == NULL ||
	    strcmp(json_string_value(json_object_get(root, "schema")) != NULL ?
	    json_string_value(json_object_get(root, "schema")) : "",
	    INDEX_SCHEMA) != 0 || !json_is_array(entries))
		goto bad;
	*files = xreallocarray(NULL, json_array_size(entries) + 1,
	    sizeof **files);
	json_array_foreach(entries, i, e) {
		if (!index_entry_ok(e))
			goto bad;
		enc = session_path_encode(json_string_value(json_array_get(e,
		    IX_RECORD_ID)));
		len = strlen(enc);
		enc = xreallocarray(enc, len + sizeof ".json", 1);
		memcpy(enc + len, ".json", sizeof ".json");
		(*files)[i] = enc;
		if (i > 0 && strcmp((*files)[i - 1], (*files)[i]) >= 0) {
			i++;
			goto bad;
		}
	}
	json_incref(entries);
	json_decref(root);
	return (entries);
bad:
	while (i > 0)
		free((*files)[--i]);
	free(*files);
	*files = NULL;
	json_decref(root);
	return (NULL);
}

static long long
index_int(const json_t *e, size_t i)
{
	return (json_integer_value(json_array_get(e, i)));
}

static const char *
index_str(const json_t *e, size_t i)
{
	return (json_string_value(json_array_get(e, i)));
}

/* Does entry e describe the file as sb shows it? */
static int
index_entry_fresh(const json_t *e, const struct stat *sb)
{
	return (index_int(e, IX_INO) == (long long)sb->st_ino &&
	    index_int(e, IX_SIZE) == (long long)sb->st_size &&
	    index_int(e, IX_CTIME) == index_ns(&sb->st_ctim));
}

/* The entry of record r read as sb. */
static json_t *
index_entry_new(const struct stat *sb, const struct session_record *r)
{
	return (json_pack("[s,I,I,I,s,s,s?,b,s]", r->record_id,
	    (json_int_t)sb->st_ino, (json_int_t)sb->st_size,
	    (json_int_t)index_ns(&sb->st_ctim), r->agent_command, r->cwd,
	    r->name, r->closed, r->last_used_at));
}

static void
index_list_add(struct session_index_list *l, const json_t *e)
{
	struct session_index_entry	*x;

	l->v = xreallocarray(l->v, l->n + 1, sizeof *l->v);
	x = &l->v[l->n++];
	x->record_id = xstrdup(index_str(e, IX_RECORD_ID));
	x->agent_command = xstrdup(index_str(e, IX_AGENT));
	x->cwd = xstrdup(index_str(e, IX_CWD));
	x->name = index_str(e, IX_NAME) != NULL ?
	    xstrdup(index_str(e, IX_NAME)) : NULL;
	x->last_used_at = xstrdup(index_str(e, IX_LAST_USED));
	x->closed = json_is_true(json_array_get(e, IX_CLOSED));
}

/* Replace the index with entries (temp file + rename); best effort. */
static void
index_save(const char *dir, json_t *entries)
{
	json_t	*root;
	char	*text, *tmp, *path;
	size_t	 len, off = 0;
	ssize_t	 w;
	int	 fd;

	root = json_pack("{s:s,s:O}", "schema", INDEX_SCHEMA, "entries",
	    entries);
	text = root != NULL ? json_dumps(root, JSON_COMPACT) : NULL;
	json_decref(root);
	if (text == NULL)
		return;
	xasprintf(&tmp, "%s/%s.XXXXXX", dir, INDEX_FILE);
	xasprintf(&path, "%s/%s", dir, INDEX_FILE);
	/* Local file write of the index; labelled atomic (temp + rename). */
	if ((fd = mkstemp(tmp)) != -1) {
		len = strlen(text);
		while (off < len) {
			if ((w = write(fd, text + off, len - off)) == -1) {
				if (errno == EINTR)
					continue;
				break;
			}
			off += (size_t)w;
		}
		if (close(fd) == -1 || off < len || rename(tmp, path) == -1)
			(void)unlink(tmp);
	}
	free(path);
	free(tmp);
	free(text);
}

/* The .json record files of the directory, sorted; *n of them. */
static char **
index_names(DIR *d, size_t *n)
{
	struct dirent	*de;
	struct stat	 sb;
	char		**names = NULL;
	size_t		  len;
	int		  regular;

	*n = 0;
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len < 5 || strcmp(de->d_name + len - 5, ".json") != 0 ||
		    strcmp(de->d_name, "index.json") == 0)
			continue;
		if (de->d_type == DT_UNKNOWN)
			regular = fstatat(dirfd(d), de->d_name, &sb,
			    AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode);
		else
			regular = de->d_type == DT_REG;
		if (!regular)
			continue;
		names = xreallocarray(names, *n + 1, sizeof *names);
		names[(*n)++] = xstrdup(de->d_name);
	}
	if (*n > 0)
		qsort(names, *n, sizeof *names, index_cmp_names);
	return (names);
}

static const char *
index_jstr(const json_t *o, const char *key)
{
	return (json_string_value(json_object_get(o, key)));
}

/*
 * A file the store skips, read loosely as the completions always have: a
 * JSON object with the session schema and string acpx_record_id,
 * agent_command and cwd is offered. Never cached.
 */
static void
index_read_loose(int dfd, const char *file, const char *agent_command,
    struct session_index_list *l)
{
	struct session_index_entry	*x;
	struct buf			 b;
	json_t				*o = NULL;
	const char			*schema, *cmd;
	int				 fd;

	if ((fd = openat(dfd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return;
	buf_init(&b, INDEX_MAX_BYTES);
	if (buf_read_fd(&b, fd) == 0)
		o = json_loadb(b.p, b.len, 0, NULL);
	close(fd);
	buf_free(&b);
	schema = index_jstr(o, "schema");
	cmd = index_jstr(o, "agent_command");
	if (schema != NULL && strcmp(schema, SESSION_RECORD_SCHEMA) == 0 &&
	    index_jstr(o, "acpx_record_id") != NULL && cmd != NULL &&
	    index_jstr(o, "cwd") != NULL && (agent_command == NULL ||
	    strcmp(cmd, agent_command) == 0)) {
		l->v = xreallocarray(l->v, l->n + 1, sizeof *l->v);
		x = &l->v[l->n++];
		x->record_id = xstrdup(index_jstr(o, "acpx_record_id"));
		x->agent_command = xstrdup(cmd);
		x->cwd = xstrdup(index_jstr(o, "cwd"));
		x->name = index_jstr(o, "name") != NULL ?
		    xstrdup(index_jstr(o, "name")) : NULL;
		x->last_used_at = xstrdup(index_jstr(o, "last_used_at") !=
		    NULL ? index_jstr(o, "last_used_at") : "");
		x->closed = json_is_true(json_object_get(o, "closed"));
	}
	json_decref(o);
}

/*
 * A file whose entry cannot be used: read it as the scan does. Returns the
 * new entry (NULL if the file is gone or invalid; warned about then). The
 * record read goes to keep when it is listed and keep is not NULL.
 */
static json_t *
index_read(int dfd, const char *dir, const char *file,
    const char *agent_command, int flags, session_store_warn_fn warn,
    void *arg, struct session_index_list *l, int *settled,
    struct session_list *keep)
{
	struct session_record	*r;
	struct stat		 sb;
	struct timespec		 now;
	char			*why = NULL, *path;
	json_t			*e = NULL;

	r = session_store_read_at(dfd, file, NULL, &sb, &why);
	if (r == NULL && why != NULL && agent_command != NULL) {
		/* The scan of one agent skips some files unread. */
		free(why);
		why = NULL;
		r = session_store_read_at(dfd, file, agent_command, &sb, &why);
	}
	if (r == NULL) {
		if (why != NULL && (flags & SESSION_INDEX_LOOSE))
			index_read_loose(dfd, file, agent_command, l);
		if (why != NULL && warn != NULL) {
			xasprintf(&path, "%s/%s", dir, file);
			warn(path, why, arg);
			free(path);
		}
		free(why);
		return (NULL);
	}
	(void)clock_gettime(CLOCK_REALTIME, &now);
	*settled = index_ns(&sb.st_ctim) + index_settle_ns() < index_ns(&now);
	e = index_entry_new(&sb, r);
	if (e != NULL && (agent_command == NULL ||
	    strcmp(r->agent_command, agent_command) == 0)) {
		index_list_add(l, e);
		if (keep != NULL) {
			keep->v = xreallocarray(keep->v, keep->n + 1,
			    sizeof *keep->v);
			keep->v[keep->n++] = r;
			r = NULL;
		}
	}
	session_record_free(r);
	return (e);
}

/* The valid records, through the index; those read in full to keep. */
static int
index_scan(const char *agent_command, int flags,
    struct session_index_list *l, session_store_warn_fn warn, void *arg,
    struct session_list *keep, char **cause)
{
	DIR		*d;
	struct stat	 sb;
	json_t		*old, *out, *e;
	char		*dir, **names, **files = NULL;
	size_t		 n, i, j = 0, nold;
	int		 dfd, cmp, settled, dirty = 0, rc;

	memset(l, 0, sizeof *l);
	if ((rc = session_store_open_dir(&d, &dir, cause)) != 1)
		return (rc);
	dfd = dirfd(d);
	names = index_names(d, &n);
	old = index_load(dfd, &files);
	nold = json_array_size(old);
	if (old == NULL)
		dirty = 1;
	out = json_array();
	for (i = 0; i < n; i++) {
		/* Both lists are sorted: entries of removed files drop out. */
		e = NULL;
		for (; j < nold; j++) {
			if ((cmp = strcmp(files[j], names[i])) >= 0) {
				if (cmp == 0)
					e = json_array_get(old, j++);
				break;
			}
			dirty = 1;
		}
		if (e != NULL && fstatat(dfd, names[i], &sb,
		    AT_SYMLINK_NOFOLLOW) == 0 && index_entry_fresh(e, &sb)) {
			if (agent_command == NULL || strcmp(index_str(e,
			    IX_AGENT), agent_command) == 0)
				index_list_add(l, e);
			json_array_append(out, e);
			continue;
		}
		/* Changed (or new): read it; kept once it can be trusted. */
		settled = 0;
		if (e != NULL)
			dirty = 1;
		e = index_read(dfd, dir, names[i], agent_command, flags, warn,
		    arg, l, &settled, keep);
		if (e != NULL && settled) {
			dirty = 1;
			json_array_append(out, e);
		}
		json_decref(e);
	}
	if (j < nold)
		dirty = 1;
	closedir(d);
	if (dirty)
		index_save(dir, out);
	json_decref(out);
	json_decref(old);
	for (i = 0; i < nold; i++)
		free(files[i]);
	free(files);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(dir);
	return (0);
}

/* The valid records, through the index. */
int
session_index_scan(const char *agent_command, int flags,
    struct session_index_list *l, session_store_warn_fn warn, void *arg,
    char **cause)
{
	return (index_scan(agent_command, flags, l, warn, arg, NULL, cause));
}

/* Free the records index_scan() kept (slots taken are NULL). */
static void
index_keep_free(struct session_list *keep)
{
	size_t	i;

	for (i = 0; i < keep->n; i++)
		session_record_free(keep->v[i]);
	free(keep->v);
}

/* matchesSession over an entry (name already normalized). */
static int
index_matches(const struct session_index_entry *x, const char *agent_command,
    const char *name, int include_closed)
{
	if (strcmp(x->agent_command, agent_command) != 0)
		return (0);
	if (!include_closed && x->closed)
		return (0);
	if (name == NULL)
		return (x->name == NULL);
	return (x->name != NULL && strcmp(x->name, name) == 0);
}

/*
 * The record of x: the one the scan just read it from, else read in full
 * if it still is what x says; else NULL.
 */
static struct session_record *
index_take(const struct session_index_entry *x, struct session_list *keep)
{
	struct session_record	*r;
	char			*why = NULL;
	size_t			 i;

	for (i = 0; i < keep->n; i++) {
		if (keep->v[i] != NULL &&
		    strcmp(keep->v[i]->record_id, x->record_id) == 0) {
			r = keep->v[i];
			keep->v[i] = NULL;
			return (r);
		}
	}
	if ((r = session_store_load(x->record_id, &why)) == NULL) {
		free(why);
		return (NULL);
	}
	if (strcmp(r->record_id, x->record_id) != 0 ||
	    strcmp(r->agent_command, x->agent_command) != 0 ||
	    strcmp(r->cwd, x->cwd) != 0 || (r->name == NULL) !=
	    (x->name == NULL) || (r->name != NULL && strcmp(r->name,
	    x->name) != 0) || (r->closed != 0) != (x->closed != 0) ||
	    r->last_used_at == NULL ||
	    strcmp(r->last_used_at, x->last_used_at) != 0) {
		session_record_free(r);
		return (NULL);
	}
	return (r);
}

/* findSession through the index. */
struct session_record *
session_index_find(const char *agent_command, const char *cwd,
    const char *name, int include_closed, session_store_warn_fn warn,
    void *arg)
{
	struct session_index_list	 l;
	struct session_list		 keep = { NULL, 0 };
	struct session_index_entry	*x, *m = NULL;
	struct session_record		*r = NULL;
	char				*abs, *norm, *cause = NULL;
	size_t				 i;

	if (index_scan(agent_command, 0, &l, warn, arg, &keep, &cause) == -1) {
		free(cause);
		index_keep_free(&keep);
		return (NULL);
	}
	abs = session_store_abspath(NULL, cwd);
	norm = session_record_normalize_name(name);
	for (i = 0; i < l.n; i++) {
		x = &l.v[i];
		if (strcmp(x->cwd, abs) != 0 ||
		    !index_matches(x, agent_command, norm, include_closed))
			continue;
		if (m == NULL || strcmp(x->last_used_at, m->last_used_at) > 0)
			m = x;
	}
	/* Changed since it was listed: the store decides (warned already). */
	if (m != NULL && (r = index_take(m, &keep)) == NULL)
		r = session_store_find(agent_command, cwd, name,
		    include_closed, NULL, NULL);
	index_keep_free(&keep);
	session_index_list_free(&l);
	free(abs);
	free(norm);
	return (r);
}

/* findSessionByDirectoryWalk through the index. */
struct session_record *
session_index_find_walk(const char *agent_command, const char *cwd,
    const char *name, const char *boundary, session_store_warn_fn warn,
    void *arg)
{
	struct session_index_list	 l;
	struct session_list		 keep = { NULL, 0 };
	struct session_index_entry	*x, *m = NULL;
	struct session_record		*r = NULL;
	char				**dirs, *norm, *cause = NULL;
	size_t				 ndirs, i, j, best = (size_t)-1;

	if (index_scan(agent_command, 0, &l, warn, arg, &keep, &cause) == -1) {
		free(cause);
		memset(&l, 0, sizeof l);
	}
	dirs = session_store_walk_dirs(cwd, boundary, &ndirs);
	norm = session_record_normalize_name(name);
	for (i = 0; i < l.n; i++) {
		x = &l.v[i];
		for (j = 0; j < ndirs; j++) {
			if (strcmp(dirs[j], x->cwd) == 0)
				break;
		}
		if (j == ndirs || !index_matches(x, agent_command, norm, 0))
			continue;
		if (m == NULL || j < best || (j == best &&
		    strcmp(x->last_used_at, m->last_used_at) > 0)) {
			m = x;
			best = j;
		}
	}
	if (m != NULL && (r = index_take(m, &keep)) == NULL)
		r = session_store_find_walk(agent_command, cwd, name,
		    boundary, NULL, NULL);
	index_keep_free(&keep);
	session_index_list_free(&l);
	for (j = 0; j < ndirs; j++)
		free(dirs[j]);
	free(dirs);
	free(norm);
	return (r);
}

/* Stable merge sort of v[0..n) newest last_used_at first, via tmp. */
static void
index_msort(struct session_index_entry *v, struct session_index_entry *tmp,
    size_t n)
{
	size_t	h = n / 2, a = 0, b = h, k = 0;

	if (n < 2)
		return;
	index_msort(v, tmp, h);
	index_msort(v + h, tmp, n - h);
	while (a < h && b < n) {
		if (strcmp(v[b].last_used_at, v[a].last_used_at) > 0)
			tmp[k++] = v[b++];
		else
			tmp[k++] = v[a++];
	}
	while (a < h)
		tmp[k++] = v[a++];
	while (b < n)
		tmp[k++] = v[b++];
	memcpy(v, tmp, n * sizeof *v);
}

/* Sort newest last_used_at first. */
void
session_index_sort_recent(struct session_index_list *l)
{
	struct session_index_entry	*tmp;

	if (l->n < 2)
		return;
	tmp = xreallocarray(NULL, l->n, sizeof *tmp);
	index_msort(l->v, tmp, l->n);
	free(tmp);
}

/* Free the strings of one entry. */
void
session_index_entry_free(struct session_index_entry *e)
{
	free(e->record_id);
	free(e->agent_command);
	free(e->cwd);
	free(e->name);
	free(e->last_used_at);
	memset(e, 0, sizeof *e);
}

/* Free the entries and the array. */
void
session_index_list_free(struct session_index_list *l)
{
	size_t	i;

	for (i = 0; i < l->n; i++)
		session_index_entry_free(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
