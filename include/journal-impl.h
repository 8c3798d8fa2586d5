/*
 * Internals shared by the journal writer (journal.c, and journal-turn.c
 * for turns and cursors) and reader (journal-read.c): the journal itself,
 * line classification and whole-segment reads.
 */
#ifndef ACPX_JOURNAL_IMPL_H
#define ACPX_JOURNAL_IMPL_H

#include <stdint.h>

#include <jansson.h>

#include "buf.h"
#include "journal.h"

#define JOURNAL_SAFE_MAX	9007199254740991LL
#define JOURNAL_MAX_SEGMENTS	1000

/* State of one segment read from its start. */
struct journal_seg {
	int		 anchored;
	long long	 first_seq;
	long long	 sequence;
	long long	 message_sequence;
	char		*request_id;
	long long	 size;
	int		 partial;
};

struct journal_sink;

/* isAcpJsonRpcMessage. */
int		 journal_is_acp(const json_t *);

/* A non-negative safe integer sequence; *out set. */
int		 journal_is_seq(const json_t *, long long *out);

/*
 * Read a segment file from its start into st (sink NULL: counters only).
 * 0, 1 if missing, or -1 with *cause on corruption or an I/O error.
 */
int		 journal_read_segment(const char *path, const char *record_id,
		    struct journal_seg *st, struct journal_sink *sink,
		    char **cause);
void		 journal_seg_clear(struct journal_seg *);

/* max_segments of an event_log object, else the default. */
int		 journal_max_segments(const json_t *event_log);

struct journal {
	char		*record_id;
	char		*active_path;
	long long	 max_segment_bytes;
	int		 max_segments;
	int		 segment_count;
	long long	 active_size;
	long long	 active_entries;
	long long	 sequence;
	char		*request_id;	/* open turn */
	int		 recovery_pending;
	int		 needs_anchor;
	int		 needs_rotation;
	int		 fd;		/* the active segment, or -1 */
	struct buf	 pending;	/* lines not yet written to fd */
	char		*failure;	/* poisoned: why */
	json_t		*event_log;	/* the record's, as last built (a
					   reference) */
	int		 event_log_segments; /* its segment_count */
	char		*now;		/* the last write's time (ISO text) */
	int64_t		 now_ms;	/* and in ms since the epoch */
};

/* Write one entry (writeEntry): rotation, anchor, line, counters. */
int		 journal_write_text(struct journal *j, struct session_record *rec,
		    const char *text, size_t len, char **cause);
int		 journal_write(struct journal *j, struct session_record *rec,
		    const json_t *entry, char **cause);

#endif /* ACPX_JOURNAL_IMPL_H */
