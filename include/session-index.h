/*
 * The listing index of ~/.acpx/sessions: what `sessions list` (text and
 * quiet) and the session-name completions need of each record (id,
 * agent, cwd, name, closed, last use), kept in ~/.acpx/sessions/.index
 * so that a listing does not parse every record in full.
 *
 * The index is a cache, never the truth: each record file is stat'ed on
 * every listing and its entry is used only if the file's inode, size,
 * mtime and ctime are those recorded and the file had not changed for
 * two seconds when it was read (a change in the same clock tick as the
 * read cannot hide). Anything else (a new, changed or removed record, a
 * missing, corrupt or foreign index) reads the record files as the store's
 * scan does, with the same warnings, and rewrites the index atomically
 * (temp file + rename; best effort, a failure only costs speed). Corrupt
 * records are never cached: they are read, and warned about, every time.
 * The scan is the one in session-store.h otherwise: the same files, in the
 * same order, skipped for the same reasons.
 *
 * This module owns the index file. The lists it returns own their
 * strings; session_index_list_free() frees them.
 */
#ifndef ACPX_SESSION_INDEX_H
#define ACPX_SESSION_INDEX_H

#include <stddef.h>

#include "session-store.h"

/* What listings need of one valid record. */
struct session_index_entry {
	char	*record_id;
	char	*agent_command;
	char	*cwd;
	char	*name;		/* NULL: the cwd session */
	char	*last_used_at;
	int	 closed;
};

struct session_index_list {
	struct session_index_entry	*v;
	size_t				 n;
};

/*
 * Also list, as the completions always have, the files the store skips
 * that still are JSON objects with the session schema and string
 * acpx_record_id, agent_command and cwd (read in full every time).
 */
#define SESSION_INDEX_LOOSE	0x1

/*
 * The valid records (sorted by file name), of agent_command only when
 * non-NULL, as session_store_scan() would find them; warn is told about
 * the files it would warn about. flags: SESSION_INDEX_*. 0, or -1 with
 * *cause if the directory cannot be read (a missing one is created, as
 * the scan does).
 */
int		 session_index_scan(const char *agent_command, int flags,
		    struct session_index_list *, session_store_warn_fn,
		    void *arg, char **cause);

/*
 * session_store_find() and session_store_find_walk() through the index:
 * the match is chosen among the index's entries, then only its record is
 * read in full. If that record no longer is what its entry said (changed
 * in between), the store's own lookup decides, as if there were no index.
 * Same warnings, same result; the caller owns the record.
 */
struct session_record *session_index_find(const char *agent_command,
		    const char *cwd, const char *name, int include_closed,
		    session_store_warn_fn, void *arg);
struct session_record *session_index_find_walk(const char *agent_command,
		    const char *cwd, const char *name, const char *boundary,
		    session_store_warn_fn, void *arg);

/* Sort newest last_used_at first, stable (session_store_list_sort_recent). */
void		 session_index_sort_recent(struct session_index_list *);

/* Free the strings of one entry (the array's slot stays). */
void		 session_index_entry_free(struct session_index_entry *);

/* Free the entries and the array. */
void		 session_index_list_free(struct session_index_list *);

#endif
