/*
 * Inside the listing index (session-index.c, session-index-find.c): the
 * scan the lookups use. Ownership as in session-index.h; the records kept
 * belong to the caller.
 */
#ifndef ACPX_SESSION_INDEX_IMPL_H
#define ACPX_SESSION_INDEX_IMPL_H

#include "session-index.h"
#include "session-store.h"

/* Check every record file's stat against its entry (lookups). */
#define SESSION_INDEX_VALIDATE	0x100

/*
 * session_index_scan() with SESSION_INDEX_* and SESSION_INDEX_VALIDATE
 * flags; the records it had to read in full and lists go to keep (if not
 * NULL; the caller frees them).
 */
int	 session_index_scan_keep(const char *agent_command, int flags,
	    struct session_index_list *, session_store_warn_fn, void *arg,
	    struct session_list *keep, char **cause);

#endif
