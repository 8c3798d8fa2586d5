#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "acpx.h"
#include "complete.h"
#include "session-index.h"
#include "session-store.h"
#include "xmalloc.h"

/*
 * Live session names for the shell completions, from the listing index
 * (session-index.h): no record is parsed in full unless it changed since
 * the index saw it. Matching follows the session store's lookups (exact
 * cwd, or the directory walk up to the git root); a record is only ever
 * read here, never written.
 */

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

/* The named sessions of an agent for a directory (see complete.h). */
void
complete_session_names(const char *agent_command, const char *cwd,
    enum complete_scope scope, complete_session_fn cb, void *arg)
{
	struct session_index_list	 l;
	const struct session_index_entry *e;
	char				*boundary = NULL, *cause = NULL;
	size_t				 i;

	if (session_index_scan(agent_command, SESSION_INDEX_LOOSE, &l, NULL,
	    NULL, &cause) == -1) {
		free(cause);
		return;
	}
	if (scope == COMPLETE_WALK_OPEN)
		boundary = session_store_git_root(cwd);
	for (i = 0; i < l.n; i++) {
		e = &l.v[i];
		if (e->name == NULL || *e->name == '\0')
			continue;
		if (e->closed && scope != COMPLETE_EXACT_ANY)
			continue;
		if (scope == COMPLETE_WALK_OPEN) {
			if (strcmp(e->cwd, cwd) != 0 && (boundary == NULL ||
			    !complete_within(cwd, e->cwd) ||
			    !complete_within(e->cwd, boundary)))
				continue;
		} else if (strcmp(e->cwd, cwd) != 0)
			continue;
		cb(e->name, e->cwd, e->closed, arg);
	}
	session_index_list_free(&l);
	free(boundary);
}
