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
#include "fsutil.h"
#include "jget.h"
#include "journal.h"
#include "journal-impl.h"
#include "js-json.h"
#include "js.h"
#include "session-record.h"
#include "session-store.h"
#include "xmalloc.h"

/*
 * A turn in the journal: its begin and finish records and the completed
 * or failed result that ends it; and the cursor a reader resumes from.
 */

/* turn_started (after recovering an abandoned turn). */
int
journal_begin_turn(struct journal *j, struct session_record *rec,
    const char *request_id, char **cause)
{
	json_t	*m;
	int	 rc;

	if (request_id == NULL || *request_id == '\0') {
		*cause = xstrdup("Session journal request ID must not be empty");
		return (-1);
	}
	if (j->request_id != NULL) {
		if (!j->recovery_pending) {
			*cause = xstrdup("A session journal turn is already "
			    "active");
			return (-1);
		}
		m = json_pack("{s:s, s:s, s:s, s:{s:s, s:{s:s, s:s, s:b}}}",
		    "schema", JOURNAL_SCHEMA, "type", "turn_result", "request_id",
		    j->request_id, "result", "status", "failed", "error",
		    "message", "The previous owner ended without recording a "
		    "settled result; the turn outcome is unknown.",
		    "detailCode", "WATCH_OUTCOME_UNKNOWN", "retryable", 0);
		rc = journal_write(j, rec, m, cause);
		json_decref(m);
		if (rc == -1)
			return (-1);
		free(j->request_id);
		j->request_id = NULL;
	}
	j->recovery_pending = 0;
	m = json_pack("{s:s, s:s, s:s}", "schema", JOURNAL_SCHEMA, "type",
	    "turn_started", "request_id", request_id);
	rc = journal_write(j, rec, m, cause);
	json_decref(m);
	if (rc == -1)
		return (-1);
	j->request_id = xstrdup(request_id);
	return (0);
}

/* turn_result, written (not fsync'ed). */
int
journal_end_turn(struct journal *j, struct session_record *rec,
    const char *request_id, const json_t *result, char **cause)
{
	json_t	*m;
	int	 rc;

	if (j->request_id == NULL || request_id == NULL ||
	    strcmp(j->request_id, request_id) != 0) {
		*cause = xstrdup("Session journal result does not match the "
		    "active request");
		return (-1);
	}
	m = json_pack("{s:s, s:s, s:s, s:O}", "schema", JOURNAL_SCHEMA, "type",
	    "turn_result", "request_id", request_id, "result", result);
	rc = journal_write(j, rec, m, cause);
	json_decref(m);
	if (rc == -1)
		return (-1);
	free(j->request_id);
	j->request_id = NULL;
	return (journal_flush(j, cause));
}

/* turn_result, written and fsync'ed. */
int
journal_finish_turn(struct journal *j, struct session_record *rec,
    const char *request_id, const json_t *result, char **cause)
{
	if (journal_end_turn(j, rec, request_id, result, cause) == -1)
		return (-1);
	return (journal_sync(j, cause));
}

/* journal_flush(), then the active segment's fsync in the background. */
int
journal_sync_background(struct journal *j, char **cause)
{
	if (journal_flush(j, cause) == -1)
		return (-1);
	if (j->fd != -1)
		fsutil_bg_fsync(fcntl(j->fd, F_DUPFD_CLOEXEC, 0));
	return (0);
}

/* {"status":"completed"|"cancelled","stopReason"?,"_meta"?}. */
json_t *
journal_result_completed(const char *stop_reason, const json_t *meta)
{
	json_t	*r;

	r = json_pack("{s:s}", "status", stop_reason != NULL &&
	    strcmp(stop_reason, "cancelled") == 0 ? "cancelled" : "completed");
	if (stop_reason != NULL)
		json_object_set_new(r, "stopReason", json_string(stop_reason));
	if (meta != NULL)
		json_object_set(r, "_meta", (json_t *)meta);
	return (r);
}

/* {"status":"failed","error":{...}}. */
json_t *
journal_result_failed(const struct acpx_error *e)
{
	json_t		*err;
	const char	*msg;

	/* An agent's error is journaled with its own message (not details). */
	msg = jget_str(e->acp, "message");
	if (msg == NULL)
		msg = e->message != NULL ? e->message : "";
	err = json_pack("{s:s}", "message", msg);
	json_object_set_new(err, "code", json_string(acpx_error_code_name(e->code)));
	if (e->detail_code != NULL)
		json_object_set_new(err, "detailCode",
		    json_string(e->detail_code));
	if (e->retryable >= 0)
		json_object_set_new(err, "retryable", json_boolean(e->retryable));
	return (json_pack("{s:s, s:o}", "status", "failed", "error", err));
}

/* ---------------------------------------------------------------- cursor */

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* base64url (no padding) of ["<record_id>",seq]. */
char *
journal_cursor_encode(const char *record_id, long long seq)
{
	json_t			*t;
	char			*text, *out, *o;
	const unsigned char	*p;
	size_t			 len, i;
	unsigned int		 v;

	t = json_pack("[s, I]", record_id, (json_int_t)seq);
	text = js_json_dumps(t, 0);
	json_decref(t);
	len = strlen(text);
	p = (const unsigned char *)text;
	out = o = xmalloc(len / 3 * 4 + 5);
	for (i = 0; i + 2 < len; i += 3) {
		v = p[i] << 16 | p[i + 1] << 8 | p[i + 2];
		*o++ = b64url[v >> 18];
		*o++ = b64url[(v >> 12) & 63];
		*o++ = b64url[(v >> 6) & 63];
		*o++ = b64url[v & 63];
	}
	if (len - i == 1) {
		v = p[i] << 16;
		*o++ = b64url[v >> 18];
		*o++ = b64url[(v >> 12) & 63];
	} else if (len - i == 2) {
		v = p[i] << 16 | p[i + 1] << 8;
		*o++ = b64url[v >> 18];
		*o++ = b64url[(v >> 12) & 63];
		*o++ = b64url[(v >> 6) & 63];
	}
	*o = '\0';
	free(text);
	return (out);
}

/* Decode a cursor; it must round-trip exactly. */
int
journal_cursor_decode(const char *cursor, char **record_id, long long *seq,
    char **cause)
{
	size_t		 len = strlen(cursor), i, n = 0;
	unsigned char	*buf;
	unsigned int	 acc = 0;
	int		 bits = 0;
	const char	*p;
	json_t		*v;
	json_error_t	 jerr;
	char		*again;

	*record_id = NULL;
	buf = xmalloc(len + 1);
	for (i = 0; i < len; i++) {
		if ((p = strchr(b64url, cursor[i])) == NULL || cursor[i] == '\0')
			goto invalid;
		acc = (acc << 6) | (unsigned int)(p - b64url);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[n++] = (acc >> bits) & 0xff;
		}
	}
	v = json_loadb((char *)buf, n, JSON_DECODE_ANY, &jerr);
	free(buf);
	buf = NULL;
	if (v == NULL || !json_is_array(v) || json_array_size(v) != 2 ||
	    !json_is_string(json_array_get(v, 0)) ||
	    !journal_is_seq(json_array_get(v, 1), seq)) {
		json_decref(v);
		goto invalid;
	}
	again = journal_cursor_encode(json_string_value(json_array_get(v, 0)),
	    *seq);
	if (strcmp(again, cursor) != 0) {
		free(again);
		json_decref(v);
		goto invalid;
	}
	free(again);
	*record_id = xstrdup(json_string_value(json_array_get(v, 0)));
	json_decref(v);
	return (0);
invalid:
	free(buf);
	*cause = xstrdup("Invalid session watch cursor");
	return (-1);
}
