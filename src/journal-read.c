#include <config.h>

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "jget.h"
#include "journal.h"
#include "journal-impl.h"
#include "session-path.h"
#include "session-record.h"
#include "session-store.h"
#include "xmalloc.h"

/*
 * The journal reader (§3.1, §3.4): line classification as the reference's
 * zod schemas decide it, anchored segments oldest first, contiguity and
 * corruption checks, and the plain ACP-message view used by export.
 */

/* ---------------------------------------------------------------- decode */

/* isAcpJsonRpcMessage. */
int
journal_is_acp(const json_t *v)
{
	const json_t	*id, *err;
	const char	*method, *jr;
	int		 has_id, has_res, has_err;

	if (!json_is_object(v) || (jr = jget_str(v, "jsonrpc")) == NULL ||
	    strcmp(jr, "2.0") != 0)
		return (0);
	method = jget_str(v, "method");
	id = json_object_get(v, "id");
	has_id = id != NULL;
	if (has_id && !json_is_null(id) && !json_is_string(id) &&
	    !json_is_number(id))
		return (0);
	if (method != NULL && *method != '\0')
		return (1);		/* request or notification */
	if (!has_id)
		return (0);
	has_res = json_object_get(v, "result") != NULL;
	err = json_object_get(v, "error");
	has_err = err != NULL;
	if (has_res == has_err)
		return (0);
	if (has_err && (!json_is_object(err) ||
	    !json_is_number(json_object_get(err, "code")) ||
	    !json_is_string(json_object_get(err, "message"))))
		return (0);
	return (1);
}

/* A non-negative safe integer (zod's sequence schema). */
int
journal_is_seq(const json_t *v, long long *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > JOURNAL_SAFE_MAX)
		return (0);
	*out = json_integer_value(v);
	return (1);
}

/* The result of a turn_result marker, normalised as zod parses it, or NULL. */
static json_t *
journal_parse_result(const json_t *r)
{
	const char	*status = jget_str(r, "status");
	const json_t	*v, *e;
	json_t		*out, *err;

	if (status == NULL)
		return (NULL);
	if (strcmp(status, "completed") == 0 ||
	    strcmp(status, "cancelled") == 0) {
		out = json_pack("{s:s}", "status", status);
		if ((v = json_object_get(r, "stopReason")) != NULL) {
			if (!json_is_string(v))
				goto bad;
			json_object_set(out, "stopReason", (json_t *)v);
		}
		if ((v = json_object_get(r, "_meta")) != NULL) {
			if (!json_is_object(v) && !json_is_null(v))
				goto bad;
			json_object_set(out, "_meta", (json_t *)v);
		}
		return (out);
	}
	if (strcmp(status, "failed") != 0)
		return (NULL);
	e = json_object_get(r, "error");
	if (!json_is_object(e) || !json_is_string(json_object_get(e, "message")))
		return (NULL);
	out = json_pack("{s:s}", "status", status);
	err = json_pack("{s:O}", "message", json_object_get(e, "message"));
	json_object_set_new(out, "error", err);
	if ((v = json_object_get(e, "code")) != NULL) {
		if (!json_is_string(v))
			goto bad;
		json_object_set(err, "code", (json_t *)v);
	}
	if ((v = json_object_get(e, "detailCode")) != NULL) {
		if (!json_is_string(v))
			goto bad;
		json_object_set(err, "detailCode", (json_t *)v);
	}
	if ((v = json_object_get(e, "retryable")) != NULL) {
		if (!json_is_boolean(v))
			goto bad;
		json_object_set(err, "retryable", (json_t *)v);
	}
	return (out);
bad:
	json_decref(out);
	return (NULL);
}

enum journal_line {
	LINE_SKIP = 0,
	LINE_MESSAGE,
	LINE_SEGMENT,
	LINE_STARTED,
	LINE_RESULT,
	LINE_CORRUPT
};

/* Classify one line; *value owns the parsed JSON, *result a turn result. */
static enum journal_line
journal_decode(const char *line, size_t len, int anchored, json_t **value,
    json_t **result)
{
	json_error_t	 jerr;
	json_t		*v;
	const char	*schema, *type, *rid;
	long long	 n;

	*value = *result = NULL;
	xmalloc_arena_begin();
	v = json_loadb(line, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	xmalloc_arena_end();
	if (v == NULL)
		return (anchored ? LINE_CORRUPT : LINE_SKIP);
	*value = v;
	if (journal_is_acp(v))
		return (LINE_MESSAGE);
	schema = jget_str(v, "schema");
	type = jget_str(v, "type");
	if (schema != NULL && strcmp(schema, JOURNAL_SCHEMA) == 0 &&
	    type != NULL) {
		rid = jget_str(v, "request_id");
		if (strcmp(type, "segment") == 0 &&
		    json_is_string(json_object_get(v, "record_id")) &&
		    journal_is_seq(json_object_get(v, "sequence"), &n) &&
		    journal_is_seq(json_object_get(v, "message_sequence"), &n) &&
		    (rid != NULL || json_is_null(json_object_get(v,
		    "request_id"))))
			return (LINE_SEGMENT);
		if (strcmp(type, "turn_started") == 0 && rid != NULL &&
		    *rid != '\0')
			return (LINE_STARTED);
		if (strcmp(type, "turn_result") == 0 && rid != NULL &&
		    *rid != '\0' && (*result = journal_parse_result(
		    json_object_get(v, "result"))) != NULL)
			return (LINE_RESULT);
	}
	if (anchored || (json_is_object(v) && json_object_get(v, "schema") !=
	    NULL))
		return (LINE_CORRUPT);
	return (LINE_SKIP);
}

/* ---------------------------------------------------------------- segments */

struct journal_sink {
	struct journal_snapshot	*snap;
	long long		 after;
	const char		*record_id;
};

static void
journal_set_rid(char **rid, const char *v)
{
	free(*rid);
	*rid = v != NULL ? xstrdup(v) : NULL;
}

static void
journal_emit(struct journal_sink *sink, enum journal_entry_type type,
    long long seq, const char *rid, json_t *value, json_t *result)
{
	struct journal_snapshot	*s;
	struct journal_entry	*e;
	json_t			*keep;

	if (sink == NULL || (s = sink->snap) == NULL || seq <= sink->after)
		return;
	/* lines owns what entries point at: the value and a rid string. */
	keep = json_pack("{s:O, s:O?, s:s?}", "v", value, "r", result,
	    "rid", rid);
	json_array_append_new(s->lines, keep);
	s->v = xreallocarray(s->v, s->n + 1, sizeof *s->v);
	e = &s->v[s->n++];
	memset(e, 0, sizeof *e);
	e->type = type;
	e->seq = seq;
	e->request_id = jget_str(keep, "rid");
	if (type == JOURNAL_MESSAGE)
		e->message = json_object_get(keep, "v");
	if (type == JOURNAL_TURN_RESULT)
		e->result = json_object_get(keep, "r");
}

/*
 * Read a segment file from its start. Returns 0, 1 if missing, or -1 with
 * *cause on corruption (or an I/O error).
 */
int
journal_read_segment(const char *path, const char *record_id,
    struct journal_seg *st, struct journal_sink *sink, char **cause)
{
	struct stat	 sb;
	char		*buf, *p, *nl, *end;
	ssize_t		 n;
	size_t		 got = 0;
	int		 fd, rc = 0;
	json_t		*value, *result;
	enum journal_line kind;
	const char	*why = NULL;

	memset(st, 0, sizeof *st);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK)) == -1) {
		if (errno == ENOENT)
			return (1);
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return (-1);
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		close(fd);
		xasprintf(cause, "%s: not a regular file", path);
		return (-1);
	}
	buf = xmalloc((size_t)sb.st_size + 1);
	while (got < (size_t)sb.st_size) {
		if ((n = read(fd, buf + got, sb.st_size - got)) <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			break;
		}
		got += n;
	}
	close(fd);
	buf[got] = '\0';
	st->size = got;
	end = buf + got;

	for (p = buf; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', end - p)) == NULL) {
			st->partial = 1;
			break;
		}
		kind = journal_decode(p, nl - p, st->anchored, &value, &result);
		switch (kind) {
		case LINE_SKIP:
			break;
		case LINE_CORRUPT:
			why = st->anchored && value == NULL ?
			    "Invalid complete line in session journal" :
			    "Invalid record in session journal";
			break;
		case LINE_SEGMENT:
			if (st->anchored || strcmp(jget_str(value, "record_id"),
			    record_id) != 0) {
				why = "Invalid session journal segment anchor";
				break;
			}
			st->anchored = 1;
			st->first_seq = st->sequence = json_integer_value(
			    json_object_get(value, "sequence"));
			st->message_sequence = json_integer_value(
			    json_object_get(value, "message_sequence"));
			journal_set_rid(&st->request_id, jget_str(value,
			    "request_id"));
			break;
		case LINE_STARTED:
		case LINE_RESULT:
			if (!st->anchored) {
				why = "Session journal lifecycle record has no "
				    "segment anchor";
				break;
			}
			st->sequence++;
			if (kind == LINE_STARTED) {
				journal_set_rid(&st->request_id, jget_str(value,
				    "request_id"));
				journal_emit(sink, JOURNAL_TURN_STARTED,
				    st->sequence, st->request_id, value, NULL);
				break;
			}
			if (st->request_id == NULL || strcmp(st->request_id,
			    jget_str(value, "request_id")) != 0) {
				why = "Session journal result does not match the "
				    "active request";
				break;
			}
			journal_emit(sink, JOURNAL_TURN_RESULT, st->sequence,
			    st->request_id, value, result);
			journal_set_rid(&st->request_id, NULL);
			break;
		case LINE_MESSAGE:
			if (!st->anchored)
				break;
			st->sequence++;
			st->message_sequence++;
			journal_emit(sink, JOURNAL_MESSAGE, st->sequence,
			    st->request_id, value, NULL);
			break;
		}
		json_decref(value);
		json_decref(result);
		if (why != NULL) {
			*cause = xstrdup(why);
			rc = -1;
			break;
		}
	}
	free(buf);
	return (rc);
}

/* Free what a segment read left in st. */
void
journal_seg_clear(struct journal_seg *st)
{
	free(st->request_id);
	st->request_id = NULL;
}

/* max_segments of the record's event log, else the default. */
int
journal_max_segments(const json_t *event_log)
{
	json_int_t	n = json_integer_value(json_object_get(event_log,
			    "max_segments"));

	if (n <= 0 || n > JOURNAL_MAX_SEGMENTS)
		return (SESSION_EVENT_MAX_SEGMENTS);
	return ((int)n);
}

/* ---------------------------------------------------------------- reader */

/* Read every retained segment, oldest first. */
int
journal_read(const char *record_id, long long after_seq,
    struct journal_snapshot *s, char **cause)
{
	struct session_record	*rec;
	struct journal_sink	 sink;
	struct journal_seg	 st, tail;
	char			*path, *why = NULL;
	int			 max = SESSION_EVENT_MAX_SEGMENTS, i, rc, first = 1;

	memset(s, 0, sizeof *s);
	memset(&tail, 0, sizeof tail);
	s->lines = json_array();
	s->first_seq = -1;
	if ((rec = session_store_load(record_id, &why)) != NULL) {
		max = journal_max_segments(rec->event_log);
		session_record_free(rec);
	}
	free(why);
	sink.snap = s;
	sink.after = after_seq;
	sink.record_id = record_id;
	for (i = max; i >= 0; i--) {
		path = session_path_segment(record_id, i);
		rc = journal_read_segment(path, record_id, &st, &sink, cause);
		free(path);
		if (rc == 1)
			continue;
		if (rc == -1) {
			journal_seg_clear(&st);
			journal_seg_clear(&tail);
			s->error_code = xstrdup("WATCH_JOURNAL_CORRUPT");
			return (-1);
		}
		if (st.anchored) {
			if (first) {
				s->first_seq = st.first_seq;
				first = 0;
			} else if (st.first_seq != tail.sequence) {
				journal_seg_clear(&st);
				journal_seg_clear(&tail);
				*cause = xstrdup("Session journal segments are not "
				    "contiguous");
				s->error_code = xstrdup("WATCH_JOURNAL_CORRUPT");
				return (-1);
			}
			journal_seg_clear(&tail);
			tail = st;
		} else
			journal_seg_clear(&st);
	}
	s->last_seq = tail.sequence;
	s->open_request_id = tail.request_id;
	return (0);
}

void
journal_snapshot_free(struct journal_snapshot *s)
{
	free(s->v);
	json_decref(s->lines);
	free(s->open_request_id);
	free(s->error_code);
	memset(s, 0, sizeof *s);
}

/* Every ACP message of the retained history (export). */
json_t *
journal_messages(const char *record_id)
{
	struct session_record	*rec;
	json_t			*out = json_array(), *v;
	json_error_t		 jerr;
	char			*path, *why = NULL, *buf, *p, *nl, *end;
	int			 max = SESSION_EVENT_MAX_SEGMENTS, i, fd;
	struct stat		 sb;
	size_t			 got;
	ssize_t			 n;

	if ((rec = session_store_load(record_id, &why)) != NULL) {
		max = journal_max_segments(rec->event_log);
		session_record_free(rec);
	}
	free(why);
	for (i = max; i >= 0; i--) {
		path = session_path_segment(record_id, i);
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		free(path);
		if (fd == -1)
			continue;
		if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
			close(fd);
			continue;
		}
		buf = xmalloc((size_t)sb.st_size + 1);
		got = 0;
		while (got < (size_t)sb.st_size &&
		    (n = read(fd, buf + got, sb.st_size - got)) > 0)
			got += n;
		close(fd);
		end = buf + got;
		for (p = buf; p < end; p = nl + 1) {
			if ((nl = memchr(p, '\n', end - p)) == NULL)
				nl = end;
			v = json_loadb(p, nl - p, JSON_DECODE_ANY, &jerr);
			if (v != NULL && journal_is_acp(v))
				json_array_append(out, v);
			json_decref(v);
		}
		free(buf);
	}
	return (out);
}

