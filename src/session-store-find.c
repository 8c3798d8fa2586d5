#include <config.h>

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "session-path.h"
#include "session-record.h"
#include "session-store.h"
#include "xmalloc.h"

/*
 * Lookups over the scanned records (findSession, the directory walk to the
 * git root, resolution by id) and pruning, with path.resolve semantics.
 */

static void
store_list_add(struct session_list *l, struct session_record *r)
{
	l->v = xreallocarray(l->v, l->n + 1, sizeof *l->v);
	l->v[l->n++] = r;
}

/* path.resolve(base, p). */
char *
session_store_abspath(const char *base, const char *p)
{
	char	*joined, *out, *seg, *save, *o;
	char	 cwdbuf[PATH_MAX];
	size_t	 len;

	if (p == NULL || *p == '\0')
		p = ".";
	if (*p == '/')
		joined = xstrdup(p);
	else {
		if (base == NULL || *base == '\0')
			base = getcwd(cwdbuf, sizeof cwdbuf) != NULL ? cwdbuf :
			    "/";
		if (*base != '/') {
			char *b = session_store_abspath(NULL, base);

			xasprintf(&joined, "%s/%s", b, p);
			free(b);
		} else
			xasprintf(&joined, "%s/%s", base, p);
	}
	out = xmalloc(strlen(joined) + 2);
	*out = '\0';
	o = out;
	for (seg = strtok_r(joined, "/", &save); seg != NULL;
	    seg = strtok_r(NULL, "/", &save)) {
		if (strcmp(seg, ".") == 0)
			continue;
		if (strcmp(seg, "..") == 0) {
			if ((o = strrchr(out, '/')) != NULL)
				*o = '\0';
			else
				*out = '\0';
			o = out + strlen(out);
			continue;
		}
		len = strlen(out);
		out[len] = '/';
		strcpy(out + len + 1, seg);
	}
	if (*out == '\0')
		strcpy(out, "/");
	free(joined);
	return (out);
}

/* Nearest ancestor of dir with a .git file or directory. */
char *
session_store_git_root(const char *dir)
{
	char		*cur = session_store_abspath(NULL, dir), *git, *slash;
	struct stat	 sb;

	for (;;) {
		xasprintf(&git, "%s%s.git", cur, strcmp(cur, "/") == 0 ? "" :
		    "/");
		if (stat(git, &sb) == 0 && (S_ISDIR(sb.st_mode) ||
		    S_ISREG(sb.st_mode))) {
			free(git);
			return (cur);
		}
		free(git);
		if (strcmp(cur, "/") == 0)
			break;
		slash = strrchr(cur, '/');
		if (slash == cur)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	free(cur);
	return (NULL);
}

/* Does r match agent/name/closed? (matchesSession) */
static int
store_matches(const struct session_record *r, const char *agent_command,
    const char *name, int include_closed)
{
	if (strcmp(r->agent_command, agent_command) != 0)
		return (0);
	if (!include_closed && r->closed)
		return (0);
	if (name == NULL)
		return (r->name == NULL);
	return (r->name != NULL && strcmp(r->name, name) == 0);
}

/* findSession: exact cwd, newest wins. */
struct session_record *
session_store_find(const char *agent_command, const char *cwd,
    const char *name, int include_closed, session_store_warn_fn warn,
    void *arg)
{
	struct session_list	 l;
	struct session_record	*match = NULL;
	char			*abs = session_store_abspath(NULL, cwd);
	char			*norm = session_record_normalize_name(name), *cause;
	size_t			 i;

	if (session_store_scan(agent_command, &l, warn, arg, &cause) == -1) {
		free(cause);
		free(abs);
		free(norm);
		return (NULL);
	}
	for (i = 0; i < l.n; i++) {
		if (strcmp(l.v[i]->cwd, abs) != 0 ||
		    !store_matches(l.v[i], agent_command, norm, include_closed))
			continue;
		if (match == NULL || strcmp(l.v[i]->last_used_at,
		    match->last_used_at) > 0)
			match = l.v[i];
	}
	for (i = 0; i < l.n; i++) {
		if (l.v[i] != match)
			session_record_free(l.v[i]);
	}
	free(l.v);
	free(abs);
	free(norm);
	return (match);
}

/* Is target boundary itself or below it? */
static int
store_within(const char *boundary, const char *target)
{
	size_t	n = strlen(boundary);

	if (strcmp(boundary, "/") == 0)
		return (1);
	return (strncmp(boundary, target, n) == 0 &&
	    (target[n] == '\0' || target[n] == '/'));
}

/*
 * The directories findSessionByDirectoryWalk tries, nearest first: cwd up
 * to boundary (cwd itself when boundary is NULL or not above it). *n of
 * them; caller frees each and the array.
 */
char **
session_store_walk_dirs(const char *cwd, const char *boundary, size_t *n)
{
	char	*start, *bound, **dirs = NULL, *cur, *slash;
	size_t	 ndirs = 0;

	start = session_store_abspath(NULL, cwd);
	bound = session_store_abspath(NULL, boundary != NULL ? boundary : cwd);
	if (!store_within(bound, start)) {
		free(bound);
		bound = xstrdup(start);
	}
	cur = xstrdup(start);
	for (;;) {
		dirs = xreallocarray(dirs, ndirs + 1, sizeof *dirs);
		dirs[ndirs++] = xstrdup(cur);
		if (strcmp(cur, bound) == 0 || strcmp(cur, "/") == 0)
			break;
		slash = strrchr(cur, '/');
		if (slash == cur)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (!store_within(bound, cur))
			break;
	}
	free(cur);
	free(start);
	free(bound);
	*n = ndirs;
	return (dirs);
}

/* findSessionByDirectoryWalk: nearest directory wins, ties the newest. */
struct session_record *
session_store_find_walk(const char *agent_command, const char *cwd,
    const char *name, const char *boundary, session_store_warn_fn warn,
    void *arg)
{
	struct session_list	 l;
	struct session_record	*match = NULL;
	char			**dirs, *cause, *norm;
	size_t			 ndirs, i, j, best = (size_t)-1;

	dirs = session_store_walk_dirs(cwd, boundary, &ndirs);
	norm = session_record_normalize_name(name);
	if (session_store_scan(agent_command, &l, warn, arg, &cause) == -1) {
		free(cause);
		l.v = NULL;
		l.n = 0;
	}
	for (i = 0; i < l.n; i++) {
		for (j = 0; j < ndirs; j++) {
			if (strcmp(dirs[j], l.v[i]->cwd) == 0)
				break;
		}
		if (j == ndirs || !store_matches(l.v[i], agent_command, norm, 0))
			continue;
		if (match == NULL || j < best || (j == best &&
		    strcmp(l.v[i]->last_used_at, match->last_used_at) > 0)) {
			match = l.v[i];
			best = j;
		}
	}
	for (i = 0; i < l.n; i++) {
		if (l.v[i] != match)
			session_record_free(l.v[i]);
	}
	free(l.v);
	for (j = 0; j < ndirs; j++)
		free(dirs[j]);
	free(dirs);
	free(norm);
	return (match);
}

static int
store_ends_with(const char *s, const char *suffix)
{
	size_t	ls = strlen(s), lx = strlen(suffix);

	return (ls >= lx && strcmp(s + ls - lx, suffix) == 0);
}

/* resolveSessionRecord(id). */
struct session_record *
session_store_resolve(const char *id, char **cause)
{
	struct session_list	 l;
	struct session_record	*r, *exact = NULL, *suffix = NULL;
	size_t			 nexact = 0, nsuffix = 0, i;
	char			*why = NULL;

	*cause = NULL;
	(void)session_store_ensure_dir(&why);
	free(why);
	why = NULL;
	if ((r = session_store_load(id, &why)) != NULL)
		return (r);
	free(why);
	if (session_store_scan(NULL, &l, NULL, NULL, &why) == -1) {
		*cause = why;
		return (NULL);
	}
	for (i = 0; i < l.n; i++) {
		r = l.v[i];
		if (strcmp(r->record_id, id) == 0 ||
		    strcmp(r->acp_session_id, id) == 0) {
			if (nexact++ == 0)
				exact = r;
		}
		if (store_ends_with(r->record_id, id) ||
		    store_ends_with(r->acp_session_id, id)) {
			if (nsuffix++ == 0)
				suffix = r;
		}
	}
	r = NULL;
	if (nexact == 1)
		r = exact;
	else if (nexact > 1)
		xasprintf(cause, "Multiple sessions match id: %s", id);
	else if (nsuffix == 1)
		r = suffix;
	else if (nsuffix > 1)
		xasprintf(cause, "Session id is ambiguous: %s", id);
	else
		xasprintf(cause, "Session not found: %s", id);
	for (i = 0; i < l.n; i++) {
		if (l.v[i] != r)
			session_record_free(l.v[i]);
	}
	free(l.v);
	return (r);
}

/* Size of path (0 if gone), then unlink it. */
static long long
store_unlink_counting(const char *path)
{
	struct stat	sb;
	long long	n = 0;

	if (stat(path, &sb) == 0)
		n = sb.st_size;
	(void)unlink(path);
	return (n);
}

/* <E>.stream.ndjson, <E>.stream.lock or <E>.stream.<digits>.ndjson. */
static int
store_is_stream_file(const char *file, const char *enc)
{
	size_t		 n = strlen(enc);
	const char	*rest, *p;

	if (strncmp(file, enc, n) != 0)
		return (0);
	rest = file + n;
	if (strcmp(rest, ".stream.ndjson") == 0 ||
	    strcmp(rest, ".stream.lock") == 0)
		return (1);
	if (strncmp(rest, ".stream.", 8) != 0)
		return (0);
	for (p = rest + 8; *p >= '0' && *p <= '9'; p++)
		;
	return (p > rest + 8 && strcmp(p, ".ndjson") == 0);
}

/* Prune closed records. */
int
session_store_prune(const struct session_prune_opts *o,
    struct session_list *pruned, long long *bytes, session_store_warn_fn warn,
    void *arg, char **cause)
{
	struct session_list	 l;
	struct session_record	*r;
	const char		*when;
	char			*dir, *path, *enc, **names = NULL;
	size_t			 i, j, n = 0;
	DIR			*d;
	struct dirent		*de;

	memset(pruned, 0, sizeof *pruned);
	*bytes = 0;
	if (session_store_scan(o->agent_command, &l, warn, arg, cause) == -1)
		return (-1);
	for (i = 0; i < l.n; i++) {
		r = l.v[i];
		when = r->closed_at != NULL ? r->closed_at : r->last_used_at;
		if (r->closed && (o->cutoff == NULL ||
		    strcmp(when, o->cutoff) < 0))
			store_list_add(pruned, r);
		else
			session_record_free(r);
	}
	free(l.v);
	session_store_list_sort_recent(pruned);
	if (o->dry_run)
		return (0);

	dir = session_path_dir();
	if (o->include_history && (d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			names = xreallocarray(names, n + 1, sizeof *names);
			names[n++] = xstrdup(de->d_name);
		}
		closedir(d);
	}
	for (i = 0; i < pruned->n; i++) {
		r = pruned->v[i];
		path = session_path(r->record_id, ".json");
		*bytes += store_unlink_counting(path);
		free(path);
		if (!o->include_history)
			continue;
		enc = session_path_encode(r->record_id);
		for (j = 0; j < n; j++) {
			if (!store_is_stream_file(names[j], enc))
				continue;
			xasprintf(&path, "%s/%s", dir, names[j]);
			*bytes += store_unlink_counting(path);
			free(path);
		}
		free(enc);
	}
	for (j = 0; j < n; j++)
		free(names[j]);
	free(names);
	free(dir);
	return (0);
}
