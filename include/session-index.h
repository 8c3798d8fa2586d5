/*
 * The listing index of ~/.acpx/sessions: what `sessions list` (text and
 * quiet) and the session-name completions need of each record (id,
 * agent, cwd, name, closed, last use), kept in ~/.acpx/sessions.index
 * so that a listing neither parses nor even opens or stats every record.
 *
 * The index is a cache, never the truth. It records the sessions
 * directory's own identity and change times as they were when the index
 * was built, if the directory had then been unchanged for two seconds (so
 * a change in the same clock tick cannot hide). A listing that finds the
 * directory so uses the entries as they are: records added, removed or
 * replaced (as every writer of this store, the reference's too, writes
 * them: a new file renamed into place) change the directory. Otherwise
 * (the directory changed, or the index is missing, corrupt or foreign)
 * each record file is stat'ed and its entry used only if the file's inode,
 * size and ctime are those recorded and the file had not changed for the
 * settling time when it was read; the others are read as the store's scan
 * does, with the same warnings, and the index is rewritten atomically
 * (best effort, a failure only costs speed). A record edited in place
 * without a rename is seen by the next listing after a lookup or any other
 * change of the directory. Files that are not valid (or not yet settled)
 * records are never cached: they are read, and warned about, every time.
 * Lookups (session_index_find*) always check every record file's stat.
 * The scan is the one in session-store.h otherwise: the same files, in the
 * same order, skipped for the same reasons.
 *
 * This module owns the index file. The lists it returns own their
 * strings (in the mapped index or copies); session_index_list_free()
 * frees them.
 */
#ifndef ACPX_SESSION_INDEX_H
#define ACPX_SESSION_INDEX_H

#include <stddef.h>

#include "session-record.h"
#include "session-store.h"

/* What listings need of one valid record (strings owned by the list). */
struct session_index_entry {
	const char	*record_id;
	const char	*agent_command;
	const char	*cwd;
	const char	*name;		/* NULL: the cwd session */
	const char	*last_used_at;
	int		 closed;
};

struct session_index_mem;

struct session_index_list {
	struct session_index_entry	*v;
	size_t				 n;
	struct session_index_mem	*mem;	/* the strings */
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
 * the match is chosen among the index's entries (every record file's stat
 * checked), then only its record is read in full. If that record no
 * longer is what its entry said (changed in between), the store's own
 * lookup decides, as if there were no index. Same warnings, same result;
 * the caller owns the record.
 */
struct session_record *session_index_find(const char *agent_command,
		    const char *cwd, const char *name, int include_closed,
		    session_store_warn_fn, void *arg);
struct session_record *session_index_find_walk(const char *agent_command,
		    const char *cwd, const char *name, const char *boundary,
		    session_store_warn_fn, void *arg);

/*
 * What a lookup knows of the record it chose without reading it in full:
 * the fields of its index entry (the file unchanged since it was read,
 * as every record file's stat showed) or of the record the scan had to
 * read anyway. The strings are the caller's (session_index_match_free()).
 */
struct session_index_match {
	char	*record_id;
	char	*agent_command;
	char	*cwd;
	char	*name;		/* NULL: the cwd session */
	char	*last_used_at;
	int	 closed;
};

/*
 * session_index_find_walk() for a caller that needs only the chosen
 * session's identity (prompt: the record id names the owner's lease and
 * socket; cwd and name the banner): the same session, chosen the same
 * way, but no record file read in full unless the scan had to. 1 and
 * *m filled if found, else 0.
 */
int		 session_index_find_walk_match(const char *agent_command,
		    const char *cwd, const char *name, const char *boundary,
		    session_store_warn_fn, void *arg,
		    struct session_index_match *m);
void		 session_index_match_free(struct session_index_match *);

/*
 * The record r was just written to its file as exactly text (len bytes,
 * as session_store_saved_text() gives them): its entry in the index
 * becomes one that holds while the file still has those bytes (checked by
 * size and hash, with no parse), so the next lookup reads the file but
 * does not parse it. Best effort (a cache): nothing happens without an
 * index, and a race with another writer of the index only costs speed.
 */
void		 session_index_note(const struct session_record *r,
		    const char *text, size_t len);

/* Sort newest last_used_at first, stable (session_store_list_sort_recent). */
void		 session_index_sort_recent(struct session_index_list *);

/* Free the entries, their strings and the array. */
void		 session_index_list_free(struct session_index_list *);

#endif
