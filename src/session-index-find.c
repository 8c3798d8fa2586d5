#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "session-index.h"
#include "session-index-impl.h"
#include "session-record.h"
#include "session-store.h"
#include "xmalloc.h"

/*
 * Lookups through the listing index (session-index.h): the match is
 * chosen among the entries of a scan that checks every record file's
 * stat, then only its record is read in full (or, for a caller that needs
 * only its identity, nothing more: session_index_find_walk_match()); and
 * the listings' sort.
 */

/* Free the records session_index_scan_keep() kept (slots taken are NULL). */
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

	if (session_index_scan_keep(agent_command,
	    SESSION_INDEX_VALIDATE, &l, warn, arg, &keep,
	    &cause) == -1) {
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

/*
 * The entry findSessionByDirectoryWalk chooses among l (scanned with
 * keep), or NULL: the nearest directory from cwd up to boundary, then the
 * newest last use. The records the scan read in full go to keep (if not
 * NULL).
 */
static const struct session_index_entry *
index_walk_choose(const char *agent_command, const char *cwd,
    const char *name, const char *boundary, session_store_warn_fn warn,
    void *arg, struct session_index_list *l, struct session_list *keep)
{
	const struct session_index_entry	*x, *m = NULL;
	char					**dirs, *norm, *cause = NULL;
	size_t					  ndirs, i, j, best = (size_t)-1;

	if (session_index_scan_keep(agent_command,
	    SESSION_INDEX_VALIDATE, l, warn, arg, keep,
	    &cause) == -1) {
		free(cause);
		memset(l, 0, sizeof *l);
	}
	dirs = session_store_walk_dirs(cwd, boundary, &ndirs);
	norm = session_record_normalize_name(name);
	for (i = 0; i < l->n; i++) {
		x = &l->v[i];
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
	for (j = 0; j < ndirs; j++)
		free(dirs[j]);
	free(dirs);
	free(norm);
	return (m);
}

/* findSessionByDirectoryWalk through the index. */
struct session_record *
session_index_find_walk(const char *agent_command, const char *cwd,
    const char *name, const char *boundary, session_store_warn_fn warn,
    void *arg)
{
	struct session_index_list		 l;
	struct session_list			 keep = { NULL, 0 };
	const struct session_index_entry	*m;
	struct session_record			*r = NULL;

	m = index_walk_choose(agent_command, cwd, name, boundary, warn, arg,
	    &l, &keep);
	if (m != NULL && (r = index_take(m, &keep)) == NULL)
		r = session_store_find_walk(agent_command, cwd, name,
		    boundary, NULL, NULL);
	index_keep_free(&keep);
	session_index_list_free(&l);
	return (r);
}

/*
 * The same choice, identity only: the entry is the truth as far as the
 * scan could see (a fresh entry of a settled file, or a record the scan
 * read just now), so nothing more is read.
 */
int
session_index_find_walk_match(const char *agent_command, const char *cwd,
    const char *name, const char *boundary, session_store_warn_fn warn,
    void *arg, struct session_index_match *out)
{
	struct session_index_list		 l;
	const struct session_index_entry	*m;

	memset(out, 0, sizeof *out);
	m = index_walk_choose(agent_command, cwd, name, boundary, warn, arg,
	    &l, NULL);
	if (m != NULL) {
		out->record_id = xstrdup(m->record_id);
		out->agent_command = xstrdup(m->agent_command);
		out->cwd = xstrdup(m->cwd);
		out->name = m->name != NULL ? xstrdup(m->name) : NULL;
		out->last_used_at = xstrdup(m->last_used_at);
		out->closed = m->closed;
	}
	session_index_list_free(&l);
	return (m != NULL);
}

void
session_index_match_free(struct session_index_match *m)
{
	free(m->record_id);
	free(m->agent_command);
	free(m->cwd);
	free(m->name);
	free(m->last_used_at);
	memset(m, 0, sizeof *m);
}

/* Stable merge sort of v[0..n) newest last_used_at first, via tmp. */
static void
index_msort(const struct session_index_entry **v,
    const struct session_index_entry **tmp, size_t n)
{
	size_t	h = n / 2, a = 0, b = h, k = 0;

	if (n < 2)
		return;
	index_msort(v, tmp, h);
	index_msort(v + h, tmp, n - h);
	while (a < h && b < n) {
		if (strcmp(v[b]->last_used_at, v[a]->last_used_at) > 0)
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

/* Sort newest last_used_at first (pointers sorted, then the entries). */
void
session_index_sort_recent(struct session_index_list *l)
{
	const struct session_index_entry	**p;
	struct session_index_entry		 *out;
	size_t					  i;

	if (l->n < 2)
		return;
	p = xreallocarray(NULL, l->n * 2, sizeof *p);
	for (i = 0; i < l->n; i++)
		p[i] = &l->v[i];
	index_msort(p, p + l->n, l->n);
	out = xreallocarray(NULL, l->n, sizeof *out);
	for (i = 0; i < l->n; i++)
		out[i] = *p[i];
	memcpy(l->v, out, l->n * sizeof *out);
	free(out);
	free(p);
}
