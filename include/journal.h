/*
 * The session event log, <E>.stream.ndjson and its rotated segments (spec
 * acpx-runtime.md §3): the writer (one per session at a time, under the
 * turn lock) that appends ACP messages and the acpx.session.journal.v1
 * markers (segment anchors, turn_started, turn_result) with the reference's
 * counters and rotation, keeping the record's last_seq, last_request_id,
 * last_used_at and event_log in step; and the reader behind `sessions
 * watch`, `export` and history replay, with the opaque watch cursor.
 * Local file I/O only; lines are JSON.stringify bytes (js_json_dumps).
 */
#ifndef ACPX_JOURNAL_H
#define ACPX_JOURNAL_H

#include <stddef.h>

#include <jansson.h>

#include "acpx-error.h"
#include "session-record.h"

#define JOURNAL_SCHEMA	"acpx.session.journal.v1"

struct journal;

/*
 * Open the writer for a record: recover sequence, message sequence (which
 * becomes rec->last_seq, as the reference does), the open turn's request
 * id, the active size, and whether the active segment is anchored / ends
 * in a partial line. NULL with *cause on failure (corrupt journal).
 */
struct journal	*journal_open(struct session_record *rec, char **cause);

/* Write what is pending (best effort) and free. */
void		 journal_close(struct journal *);

/*
 * Append one ACP JSON-RPC message (borrowed) exactly as it crossed the
 * pipe. Updates rec: last_seq, last_request_id (when the message has a
 * string/number id), last_used_at, event_log.last_write_at and
 * last_write_error, segment_count on rotation. A failed append poisons the
 * writer: this and every later append return -1 with *cause.
 */
int		 journal_append_message(struct journal *, struct session_record *rec,
		    const json_t *msg, char **cause);

/*
 * The same, with msg already serialised by the caller: text is its
 * js_json_dumps(msg, 0) (len bytes, no newline), written as the line.
 */
int		 journal_append_message_text(struct journal *,
		    struct session_record *rec, const json_t *msg,
		    const char *text, size_t len, char **cause);

/*
 * Appends are kept in memory and written in one write(2): write them now
 * (the owner calls this once per loop iteration, before it waits). -1 with
 * *cause (the writer is poisoned) if the write fails.
 */
int		 journal_flush(struct journal *, char **cause);

/* journal_flush(), then fsync the active segment (a turn's end). */
int		 journal_sync(struct journal *, char **cause);

/*
 * journal_flush(), then the active segment's fsync handed to the
 * background worker (fsutil_bg_fsync(): not waited for, a failure not
 * reported). -1 with *cause if the flush fails.
 */
int		 journal_sync_background(struct journal *, char **cause);

/*
 * turn_started for request_id; if a previous turn is still open (its owner
 * died), first a failed turn_result WATCH_OUTCOME_UNKNOWN for it.
 */
int		 journal_begin_turn(struct journal *, struct session_record *rec,
		    const char *request_id, char **cause);

/*
 * turn_result for request_id with result (borrowed; see journal_result_*),
 * then journal_sync(): the turn's history is on disk when it returns 0.
 */
int		 journal_finish_turn(struct journal *, struct session_record *rec,
		    const char *request_id, const json_t *result, char **cause);

/*
 * The same without the fsync: the turn_result line is written (a crash of
 * the process loses nothing) when it returns 0; journal_sync() makes it
 * durable (the queue owner: right after the turn's answer).
 */
int		 journal_end_turn(struct journal *, struct session_record *rec,
		    const char *request_id, const json_t *result, char **cause);

/* {"status":"completed"|"cancelled","stopReason"?,"_meta"?}. Caller owns. */
json_t		*journal_result_completed(const char *stop_reason,
		    const json_t *meta);

/* {"status":"failed","error":{"message",code?,detailCode?,retryable?}}. Caller owns. */
json_t		*journal_result_failed(const struct acpx_error *);

/* The request id of the open turn, or NULL. Borrowed. */
const char	*journal_open_turn(const struct journal *);

/* ---------------------------------------------------------------- reader */

enum journal_entry_type {
	JOURNAL_TURN_STARTED = 0,
	JOURNAL_MESSAGE,
	JOURNAL_TURN_RESULT
};

/* One entry of the history after the anchors are resolved. */
struct journal_entry {
	enum journal_entry_type	 type;
	long long		 seq;		/* its sequence (the cursor position) */
	const char		*request_id;	/* open turn's id or NULL (borrowed) */
	const json_t		*message;	/* JOURNAL_MESSAGE: the ACP message */
	const json_t		*result;	/* JOURNAL_TURN_RESULT */
};

/* A snapshot of the retained history. */
struct journal_snapshot {
	struct journal_entry	*v;
	size_t			 n;
	long long		 first_seq;	/* oldest retained sequence - 1 */
	long long		 last_seq;	/* sequence of the newest line */
	char			*open_request_id; /* open turn at the end, or NULL */
	json_t			*lines;		/* owns the parsed lines */
	char			*error_code;	/* WATCH_JOURNAL_CORRUPT, ... or NULL */
};

/*
 * Read every retained segment of record_id, oldest first. Entries with
 * seq > after_seq only (after_seq < 0: all). Lines before a segment's
 * anchor are tolerated as in the reference (legacy / imported). Returns 0,
 * or -1 with *cause (and snapshot->error_code) on corruption.
 */
int		 journal_read(const char *record_id, long long after_seq,
		    struct journal_snapshot *, char **cause);
void		 journal_snapshot_free(struct journal_snapshot *);

/*
 * Every ACP message of the retained history in order (export), including
 * unanchored ones. Caller owns the array.
 */
json_t		*journal_messages(const char *record_id);

/*
 * Write an imported history as an unanchored active segment, one message
 * per line. -1 with *cause.
 */
int		 journal_write_imported(const char *record_id, const json_t *messages,
		    char **cause);

/* base64url (no padding) of ["<record_id>",seq]. Caller owns. */
char		*journal_cursor_encode(const char *record_id, long long seq);

/*
 * Decode a cursor; -1 with *cause if it does not round-trip exactly
 * (WATCH_CURSOR_INVALID). *record_id caller owns.
 */
int		 journal_cursor_decode(const char *cursor, char **record_id,
		    long long *seq, char **cause);

#endif
