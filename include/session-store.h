/*
 * The session store: ~/.acpx/sessions and the files in it (spec
 * acpx-runtime.md §1, §2.1, §2.7-2.8). This module owns the atomic
 * private write (temp dir + rename, 0600 files, 0700 dirs), reading
 * and saving records, the directory scan (corrupt files skipped with a
 * warning, never deleted), the lookups (exact scope, directory walk up to
 * the git root, by id) and pruning. Local file I/O only.
 */
#ifndef ACPX_SESSION_STORE_H
#define ACPX_SESSION_STORE_H

#include <sys/stat.h>

#include <dirent.h>
#include <stddef.h>

#include <jansson.h>

#include "session-record.h"

/*
 * Told about each file the scan skips (corrupt, truncated, unreadable,
 * newer schema, name mismatch): path and reason. NULL = skip silently.
 */
typedef void	(*session_store_warn_fn)(const char *path, const char *why,
		    void *arg);

/* Records from a scan, sorted as the function says. */
struct session_list {
	struct session_record	**v;
	size_t			  n;
};

/*
 * mkdir -p the sessions dir (0700). -1 with *cause on failure. A
 * directory is made sure of once per process (then remembered, with its
 * real path); a write or scan that meets ENOENT makes sure again.
 */
int		 session_store_ensure_dir(char **cause);

/*
 * The sessions dir's real path (session_store_ensure_dir() first), owned
 * by the store; NULL with *cause.
 */
const char	*session_store_real_dir(char **cause);

/*
 * Open the sessions dir for a scan, creating it first as the reference
 * does on every scan: 1 with *d and *dir (caller closes and frees both),
 * 0 when it does not exist, -1 with *cause.
 */
int		 session_store_open_dir(DIR **d, char **dir, char **cause);

/*
 * Write v as pretty JSON + "\n" to path atomically and privately: mkdir -p
 * the parent 0700 (chmod 0700, once per process), stage in
 * <dir>/acpx-write-XXXXXX/record.json (O_EXCL, 0600), rename over path,
 * remove the temp dir (a record's save keeps it for the process's next
 * save: FSUTIL_KEEP_STAGE). On any failure
 * (ENOSPC, ...) the old file is untouched. -1 with *cause.
 */
int		 session_store_write_private(const char *path, const json_t *v,
		    char **cause);

/*
 * The same atomic write for raw bytes; private_dir = 0 leaves the parent
 * directory's mode alone (exports to a user's directory).
 */
int		 session_store_write_file(const char *path, const char *bytes,
		    size_t len, int private_dir, char **cause);

/*
 * Save a record to <E>.json (key policy checked first). -1 with *cause;
 * the previous file survives a failed save.
 */
int		 session_store_save(const struct session_record *, char **cause);

/*
 * session_store_save() whose last step, the fsync of the directory (which
 * makes the rename durable), is left to session_store_sync_saved(): the
 * record's bytes are on disk before its rename, so a reader, a crash or a
 * power loss never finds a torn or empty record; a power loss before
 * that sync may find the previous one. The queue owner answers a turn in
 * between.
 */
int		 session_store_save_deferred(const struct session_record *,
		    char **cause);

/*
 * fsync the directory of the record this process saved last, in the
 * background (fsutil_bg_sync_dir(): the caller does not wait). 0 or -1.
 */
int		 session_store_sync_saved(void);

/*
 * The record files the saves replaced are kept open, so their blocks are
 * not freed inside the save (on a file system mounted with discard,
 * freeing waits for the device): this frees them, at a moment nobody
 * waits for (the queue owner: after a turn's reply), by the background
 * worker's closes (fsutil_bg_close()). Exit does too.
 */
void		 session_store_release_replaced(void);

/*
 * session_store_save() without the fsyncs (atomic for readers, not durable
 * across a power loss): the checkpoints a durable save follows.
 */
int		 session_store_checkpoint(const struct session_record *,
		    char **cause);

/*
 * The bytes the last save of r wrote (the whole file as saved), NULL if r
 * is not the record this process saved last. The store's: valid until
 * the next save.
 */
const char	*session_store_saved_text(const struct session_record *r,
		    size_t *len);

/*
 * After an answer: free the records the saves replaced
 * (session_store_release_replaced()), and keep *rp (taken over, *rp set
 * to NULL; NULL frees the kept one) for the next session_store_take_kept():
 * only if it is the record this process saved last and is unchanged since
 * that save (the caller's word), else freed.
 */
void		 session_store_keep(struct session_record **rp);

/*
 * The kept record of id (the caller owns it) if its file still holds
 * exactly the bytes of that save and it is not closed: no re-read and
 * re-parse of a record this process wrote itself. NULL otherwise (the kept
 * one freed): load it.
 */
struct session_record *session_store_take_kept(const char *id);

/* The kept record of id, else session_store_resolve(). */
struct session_record *session_store_resolve_kept(const char *id,
		    char **cause);

/*
 * 1 if r's file still holds exactly the bytes this process's last save
 * wrote to it (nobody else has saved it since; *closed: whether that save
 * was of a closed record), else 0.
 */
int		 session_store_unchanged(const struct session_record *r,
		    int *closed);

/*
 * Read <E(record_id)>.json. Returns the record; NULL with *cause NULL if
 * the file does not exist; NULL with *cause if it is unreadable, invalid or
 * belongs to another id.
 */
struct session_record *session_store_load(const char *record_id, char **cause);

/*
 * The record file name (a file name, no slash) of the directory dirfd, as
 * the scan reads it, with the fstat of what was read in *sb. NULL with
 * *cause as the scan would warn (NULL cause: gone, or another agent's
 * when agent_command is non-NULL).
 */
struct session_record *session_store_read_at(int dirfd, const char *name,
		    const char *agent_command, struct stat *sb, char **cause);

/*
 * All valid records (sorted by file name, as the reference scans them).
 * agent_command non-NULL keeps only that agent's. Returns 0, or -1 with
 * *cause if the directory cannot be read (a missing one is empty).
 */
int		 session_store_scan(const char *agent_command,
		    struct session_list *, session_store_warn_fn, void *arg,
		    char **cause);

/* Sort newest last_used_at first (listings, prune). */
void		 session_store_list_sort_recent(struct session_list *);

/* Free the records and the array. */
void		 session_store_list_free(struct session_list *);

/*
 * findSession: exact cwd (made absolute), same agent command, same name
 * (NULL matches only unnamed), open unless include_closed; the newest
 * last_used_at wins. NULL if none. Caller owns.
 */
struct session_record *session_store_find(const char *agent_command,
		    const char *cwd, const char *name, int include_closed,
		    session_store_warn_fn, void *arg);

/*
 * findSessionByDirectoryWalk: open records of the agent and name whose cwd
 * is cwd or an ancestor up to boundary (NULL or not an ancestor: cwd
 * only); the nearest directory wins, ties the newest. NULL if none.
 */
struct session_record *session_store_find_walk(const char *agent_command,
		    const char *cwd, const char *name, const char *boundary,
		    session_store_warn_fn, void *arg);

/*
 * Nearest ancestor of dir (inclusive) holding a .git file or directory,
 * or NULL. Caller owns.
 */
char		*session_store_git_root(const char *dir);

/*
 * The directories session_store_find_walk() tries, nearest first (*n of
 * them); caller frees each and the array.
 */
char		**session_store_walk_dirs(const char *cwd, const char *boundary,
		    size_t *n);

/*
 * resolveSessionRecord(id): the file of that record id, else the unique
 * record whose record id or ACP session id equals id, else the unique one
 * ending with id. NULL with *cause "Session not found: <id>",
 * "Multiple sessions match id: <id>" or "Session id is ambiguous: <id>".
 */
struct session_record *session_store_resolve(const char *id, char **cause);

/* Prune: what to delete. */
struct session_prune_opts {
	const char	*agent_command;	/* NULL: every agent */
	const char	*cutoff;	/* ISO; NULL: every closed record */
	int		 include_history; /* also .stream*.ndjson and .stream.lock */
	int		 dry_run;
};

/*
 * Closed records of the agent whose closed_at (else last_used_at) is
 * before the cutoff, newest first, into *pruned; unless dry_run, delete
 * their files and add the bytes freed to *bytes. Returns 0 or -1 with *cause.
 */
int		 session_store_prune(const struct session_prune_opts *,
		    struct session_list *pruned, long long *bytes,
		    session_store_warn_fn, void *arg, char **cause);

/* path.resolve(base, p) without touching the filesystem. Caller owns. */
char		*session_store_abspath(const char *base, const char *p);

#endif
