#include <config.h>

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "acpx-error.h"
#include "acpx.h"
#include "buf.h"
#include "journal.h"
#include "journal-impl.h"
#include "js-json.h"
#include "js.h"
#include "session-path.h"
#include "session-record.h"
#include "session-store.h"
#include "xmalloc.h"

/*
 * The session journal (§3): compact JSON lines in <E>.stream.ndjson, a
 * segment anchor at the start of every segment, turn markers, rotation
 * into .stream.<n>.ndjson. Byte sizes are those of js_json_dumps() lines,
 * so rotation points and cursors agree with the reference's. Turns and
 * cursors are in journal-turn.c, reading in journal-read.c.
 */

/* ---------------------------------------------------------------- writer */

static int	journal_append_line(struct journal *, const char *, size_t,
		    int, char **);

/* Pending bytes past this are written at once. */
#define JOURNAL_PENDING_MAX	(64 * 1024)

/*
 * Write the pending bytes to the active segment (O_APPEND|O_NOFOLLOW,
 * 0600), opened on first use and kept open until rotation or
 * journal_close(). A failure poisons the writer (what was not written is
 * dropped: a reopened writer finds the partial line and rotates).
 */
static int
journal_write_pending(struct journal *j, char **cause)
{
	const char	*p = j->pending.p;
	size_t		 len = j->pending.len;
	ssize_t		 n;

	if (j->failure != NULL) {
		*cause = xstrdup(j->failure);
		return (-1);
	}
	if (len == 0)
		return (0);
	if (j->fd == -1) {
		if (session_store_ensure_dir(cause) == -1)
			goto fail;
		if ((j->fd = open(j->active_path, O_WRONLY | O_CREAT |
		    O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
		    0600)) == -1) {
			xasprintf(cause, "%s: %s", j->active_path,
			    strerror(errno));
			goto fail;
		}
	}
	while (len > 0) {
		if ((n = write(j->fd, p, len)) <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			xasprintf(cause, "%s: %s", j->active_path, n == 0 ?
			    "short write" : strerror(errno));
			goto fail;
		}
		p += n;
		len -= n;
	}
	buf_reset(&j->pending);
	return (0);
fail:
	buf_reset(&j->pending);
	j->failure = xstrdup(*cause);
	return (-1);
}

/*
 * Append bytes to the active segment: kept in memory and written by
 * journal_flush() (the owner calls it once per loop iteration), before a
 * rotation, at turn end and when JOURNAL_PENDING_MAX is reached; one
 * write(2) for many lines.
 */
static int
journal_append_file(struct journal *j, const char *bytes, size_t len,
    char **cause)
{
	return (journal_append_line(j, bytes, len, 0, cause));
}

/* The same for a line given without its newline (nl 1): added here. */
static int
journal_append_line(struct journal *j, const char *bytes, size_t len,
    int nl, char **cause)
{
	if (buf_add(&j->pending, bytes, len) == -1 ||
	    (nl && buf_addc(&j->pending, '\n') == -1)) {
		*cause = xstrdup("Session journal buffer is full");
		return (-1);
	}
	if (j->pending.len >= JOURNAL_PENDING_MAX)
		return (journal_write_pending(j, cause));
	return (0);
}

/* Write what is pending. */
int
journal_flush(struct journal *j, char **cause)
{
	return (journal_write_pending(j, cause));
}

/* Write what is pending and fsync the active segment. */
int
journal_sync(struct journal *j, char **cause)
{
	if (journal_write_pending(j, cause) == -1)
		return (-1);
	if (j->fd != -1 && fsync(j->fd) == -1 && errno != EINVAL &&
	    errno != EROFS) {
		xasprintf(cause, "%s: %s", j->active_path, strerror(errno));
		j->failure = xstrdup(*cause);
		return (-1);
	}
	return (0);
}

/* Close the active segment's descriptor (before rotation and at the end). */
static void
journal_close_fd(struct journal *j)
{
	if (j->fd != -1) {
		close(j->fd);
		j->fd = -1;
	}
}

/* Write imported history as an unanchored active segment (atomically). */
int
journal_write_imported(const char *record_id, const json_t *messages,
    char **cause)
{
	const json_t	*m;
	struct buf	 text = BUF_INITIALIZER;
	char		*path, *line;
	size_t		 i;
	int		 rc;

	json_array_foreach(messages, i, m) {
		if ((line = js_json_dumps(m, 0)) == NULL)
			line = xstrdup("null");
		buf_adds(&text, line);
		buf_addc(&text, '\n');
		free(line);
	}
	if (text.p == NULL)
		return (0);
	path = session_path_segment(record_id, 0);
	rc = session_store_write_file(path, text.p, text.len, 1, cause);
	free(path);
	buf_free(&text);
	return (rc);
}

/* Open the writer for a record. */
struct journal *
journal_open(struct session_record *rec, char **cause)
{
	struct journal		*j;
	struct journal_seg	 st, tail, active;
	char			*path;
	int			 i, rc, found = 0, present = 0;
	json_int_t		 n;

	memset(&tail, 0, sizeof tail);
	memset(&active, 0, sizeof active);
	j = xcalloc(1, sizeof *j);
	j->fd = -1;
	buf_init(&j->pending, 0);
	j->record_id = xstrdup(rec->record_id);
	j->active_path = session_path_segment(rec->record_id, 0);
	n = json_integer_value(json_object_get(rec->event_log,
	    "max_segment_bytes"));
	j->max_segment_bytes = n > 0 ? n : SESSION_EVENT_MAX_SEGMENT_BYTES;
	j->max_segments = journal_max_segments(rec->event_log);

	/* The newest anchored segment tells where the history stands. */
	for (i = 0; i <= j->max_segments && !found; i++) {
		path = session_path_segment(rec->record_id, i);
		rc = journal_read_segment(path, rec->record_id, &st, NULL, cause);
		free(path);
		if (rc == 1)
			continue;
		if (rc == -1) {
			journal_seg_clear(&st);
			journal_close(j);
			return (NULL);
		}
		present++;
		if (i == 0) {
			active = st;
			active.request_id = NULL;
		}
		if (st.anchored) {
			tail = st;
			found = 1;
		} else
			journal_seg_clear(&st);
	}
	if (found)
		rec->last_seq = tail.message_sequence;
	n = json_integer_value(json_object_get(rec->event_log, "segment_count"));
	j->segment_count = n > 0 ? (int)n : (present > 0 ? present : 1);
	j->active_size = active.size;
	j->sequence = tail.sequence;
	j->request_id = tail.request_id;
	j->recovery_pending = j->request_id != NULL;
	j->needs_anchor = !active.anchored;
	j->needs_rotation = active.size > 0 && (!active.anchored ||
	    active.partial);
	j->active_entries = active.anchored ? 1 : 0;
	return (j);
}

void
journal_close(struct journal *j)
{
	char	*cause = NULL;

	if (j == NULL)
		return;
	if (j->failure == NULL && journal_write_pending(j, &cause) == -1)
		free(cause);
	buf_free(&j->pending);
	journal_close_fd(j);
	free(j->record_id);
	free(j->active_path);
	free(j->request_id);
	free(j->failure);
	json_decref(j->event_log);
	free(j->now);
	free(j);
}

/* The request id of the open turn, or NULL. */
const char *
journal_open_turn(const struct journal *j)
{
	return (j->request_id);
}

/* Rotate: .max removed, .k → .k+1, active → .1. */
static int
journal_rotate(struct journal *j, char **cause)
{
	char	*from, *to;
	int	 k;

	/* What is pending belongs to the segment that becomes .1. */
	if (journal_write_pending(j, cause) == -1)
		return (-1);
	journal_close_fd(j);
	from = session_path_segment(j->record_id, j->max_segments);
	if (unlink(from) == -1 && errno != ENOENT) {
		xasprintf(cause, "%s: %s", from, strerror(errno));
		free(from);
		return (-1);
	}
	free(from);
	for (k = j->max_segments - 1; k >= 0; k--) {
		from = session_path_segment(j->record_id, k);
		to = session_path_segment(j->record_id, k + 1);
		if (rename(from, to) == -1 && errno != ENOENT) {
			xasprintf(cause, "%s: %s", from, strerror(errno));
			free(from);
			free(to);
			return (-1);
		}
		free(from);
		free(to);
	}
	return (0);
}

/* The time of this write, as toISOString() text (made once a millisecond). */
static void
journal_now(struct journal *j)
{
	int64_t	ms = js_now_ms();

	if (j->now != NULL && ms == j->now_ms)
		return;
	free(j->now);
	j->now = js_iso_time(ms);
	j->now_ms = ms;
}

/*
 * The record's event_log after a write: rebuilt when the writer's counters
 * changed or the object is not the one it built last (which it holds a
 * reference to) or someone else holds one too; otherwise only
 * last_write_at changes, in place (100,000 streamed lines pack 100,000
 * objects no more).
 */
static void
journal_event_log(struct journal *j, struct session_record *rec,
    const char *now)
{
	json_t	*at;

	if (rec->event_log != NULL && rec->event_log == j->event_log &&
	    rec->event_log->refcount == 2 &&
	    j->event_log_segments == j->segment_count &&
	    (at = json_object_get(rec->event_log, "last_write_at")) != NULL &&
	    at->refcount == 1 && json_is_string(at) &&
	    (strcmp(json_string_value(at), now) == 0 ||
	    json_string_set(at, now) == 0))
		return;
	json_decref(rec->event_log);
	rec->event_log = json_pack("{s:s, s:i, s:I, s:i, s:s, s:n}",
	    "active_path", j->active_path, "segment_count", j->segment_count,
	    "max_segment_bytes", (json_int_t)j->max_segment_bytes,
	    "max_segments", j->max_segments, "last_write_at", now,
	    "last_write_error");
	json_decref(j->event_log);
	j->event_log = json_incref(rec->event_log);
	j->event_log_segments = j->segment_count;
}

/*
 * Write one entry (writeEntry) given as its line, the compact
 * JSON.stringify text (js_json_dumps(entry, 0), len bytes, no newline):
 * rotation, anchor, line, counters.
 */
int
journal_write_text(struct journal *j, struct session_record *rec,
    const char *text, size_t len, char **cause)
{
	char		*anchor_text, *now;
	json_t		*anchor;

	if (j->failure != NULL) {
		*cause = xstrdup(j->failure);
		return (-1);
	}
	if (j->sequence + 1 > JOURNAL_SAFE_MAX) {
		*cause = xstrdup("Session journal sequence exceeds its supported "
		    "range");
		return (-1);
	}
	if (j->needs_rotation || (j->active_entries > 0 &&
	    j->active_size + (long long)len + 1 > j->max_segment_bytes)) {
		if (journal_rotate(j, cause) == -1)
			goto fail;
		j->active_size = 0;
		j->active_entries = 0;
		j->needs_anchor = 1;
		j->needs_rotation = 0;
		if (j->segment_count + 1 < j->max_segments)
			j->segment_count++;
		else
			j->segment_count = j->max_segments;
	}
	if (j->needs_anchor) {
		anchor = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s?}", "schema",
		    JOURNAL_SCHEMA, "type", "segment", "record_id", j->record_id,
		    "sequence", (json_int_t)j->sequence, "message_sequence",
		    (json_int_t)rec->last_seq, "request_id", j->request_id);
		if (j->request_id == NULL)
			json_object_set_new(anchor, "request_id", json_null());
		anchor_text = js_json_dumps(anchor, 0);
		json_decref(anchor);
		xasprintf(&now, "%s\n", anchor_text);
		free(anchor_text);
		if (journal_append_file(j, now, strlen(now),
		    cause) == -1) {
			free(now);
			goto fail;
		}
		j->active_size += strlen(now);
		free(now);
		j->needs_anchor = 0;
	}
	if (journal_append_line(j, text, len, 1, cause) == -1)
		goto fail;
	j->active_size += len + 1;
	j->active_entries++;
	j->sequence++;
	journal_now(j);
	if (rec->last_used_at == NULL || strcmp(rec->last_used_at, j->now) != 0)
		session_record_set(&rec->last_used_at, j->now);
	journal_event_log(j, rec, j->now);
	return (0);
fail:
	/* An incomplete append needs a newly recovered writer. */
	if (j->failure == NULL)
		j->failure = xstrdup(*cause);
	return (-1);
}

/* Write one entry (writeEntry): rotation, anchor, line, counters. */
int
journal_write(struct journal *j, struct session_record *rec, const json_t *entry,
    char **cause)
{
	char	*line;
	int	 rc;

	if (j->failure != NULL) {
		*cause = xstrdup(j->failure);
		return (-1);
	}
	if ((line = js_json_dumps(entry, 0)) == NULL) {
		*cause = xstrdup("Attempted to persist invalid ACP JSON-RPC "
		    "payload");
		return (-1);
	}
	rc = journal_write_text(j, rec, line, strlen(line), cause);
	free(line);
	return (rc);
}

/*
 * Append one ACP message, serialised by the caller (text: its
 * js_json_dumps(msg, 0), len bytes) or here (text NULL).
 */
int
journal_append_message_text(struct journal *j, struct session_record *rec,
    const json_t *msg, const char *text, size_t len, char **cause)
{
	const json_t	*id;
	char		 buf[64];
	int		 rc;

	if (!journal_is_acp(msg)) {
		*cause = xstrdup("Attempted to persist invalid ACP JSON-RPC "
		    "payload");
		return (-1);
	}
	if (text != NULL)
		rc = journal_write_text(j, rec, text, len, cause);
	else
		rc = journal_write(j, rec, msg, cause);
	if (rc == -1)
		return (-1);
	rec->last_seq++;
	id = json_object_get(msg, "id");
	if (json_is_string(id))
		session_record_set(&rec->last_request_id, json_string_value(id));
	else if (json_is_number(id)) {
		js_number_string(json_number_value(id), buf, sizeof buf);
		session_record_set(&rec->last_request_id, buf);
	}
	return (0);
}

/* Append one ACP message. */
int
journal_append_message(struct journal *j, struct session_record *rec,
    const json_t *msg, char **cause)
{
	return (journal_append_message_text(j, rec, msg, NULL, 0, cause));
}
