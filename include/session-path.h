/*
 * The names of a session's files under ~/.acpx/sessions (spec
 * acpx-runtime.md §1): the directory, the encodeURIComponent file names,
 * the journal segments and the lock. Pure string work, no I/O; every
 * function returns a new string the caller frees. The records
 * (session-record.h) and the store (session-store.h) both name files
 * through it.
 */
#ifndef ACPX_SESSION_PATH_H
#define ACPX_SESSION_PATH_H

/* $HOME/.acpx/sessions. Caller owns. */
char		*session_path_dir(void);

/* JavaScript encodeURIComponent(s). Caller owns. */
char		*session_path_encode(const char *s);

/*
 * <sessions dir>/<encodeURIComponent(record_id)><suffix>, suffix e.g.
 * ".json", ".stream.ndjson", ".stream.lock". Caller owns.
 */
char		*session_path(const char *record_id, const char *suffix);

/* Journal segment path: n = 0 the active file, else .stream.<n>.ndjson. */
char		*session_path_segment(const char *record_id, int n);

#endif
