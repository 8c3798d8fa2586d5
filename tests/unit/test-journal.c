/*
 * journal: the writer's bytes against a journal the reference wrote,
 * counters, rotation, anchors, recovery of an abandoned turn, partial
 * lines, the reader (contiguity, corruption) and the watch cursor.
 */
#include <config.h>

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "acpx-error.h"
#include "jget.h"
#include "journal.h"
#include "js-json.h"
#include "session-path.h"
#include "session-record.h"
#include "session-store.h"
#include "xmalloc.h"
#include "tap.h"

/* One turn as acpx 0.19.1 journaled it (first owner start, load, prompt). */
static const char reference[] =
	"{\"schema\":\"acpx.session.journal.v1\",\"type\":\"segment\",\"record_id\":\"mock-session-1\",\"sequence\":0,\"message_sequence\":0,\"request_id\":null}\n"
	"{\"schema\":\"acpx.session.journal.v1\",\"type\":\"turn_started\",\"request_id\":\"e3958f95-f8c6-4573-9f6f-6b15eb905b9e\"}\n"
	"{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":1,\"clientCapabilities\":{\"fs\":{\"readTextFile\":true,\"writeTextFile\":true},\"terminal\":true},\"clientInfo\":{\"name\":\"acpx\",\"version\":\"0.19.1\"}}}\n"
	"{\"jsonrpc\":\"2.0\",\"id\":0,\"result\":{\"protocolVersion\":1,\"agentCapabilities\":{\"loadSession\":true,\"promptCapabilities\":{\"image\":false,\"audio\":false,\"embeddedContext\":false}},\"authMethods\":[],\"agentInfo\":{\"name\":\"mock-agent\",\"version\":\"0.1.0\"}}}\n"
	"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"session/load\",\"params\":{\"sessionId\":\"mock-session-1\",\"cwd\":\"/home/user/proj\",\"mcpServers\":[]}}\n"
	"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n"
	"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"session/prompt\",\"params\":{\"sessionId\":\"mock-session-1\",\"prompt\":[{\"type\":\"text\",\"text\":\"echo hello world\"}]}}\n"
	"{\"jsonrpc\":\"2.0\",\"method\":\"session/update\",\"params\":{\"sessionId\":\"mock-session-1\",\"update\":{\"sessionUpdate\":\"agent_message_chunk\",\"content\":{\"type\":\"text\",\"text\":\"hello world\"}}}}\n"
	"{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"stopReason\":\"end_turn\"}}\n"
	"{\"schema\":\"acpx.session.journal.v1\",\"type\":\"turn_result\",\"request_id\":\"e3958f95-f8c6-4573-9f6f-6b15eb905b9e\",\"result\":{\"status\":\"completed\",\"stopReason\":\"end_turn\"}}\n";

#define REQ	"e3958f95-f8c6-4573-9f6f-6b15eb905b9e"

static char *
slurp(const char *path)
{
	FILE	*f = fopen(path, "r");
	char	*buf;
	long	 n;

	if (f == NULL)
		return (NULL);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = xmalloc(n + 1);
	buf[fread(buf, 1, n, f)] = '\0';
	fclose(f);
	return (buf);
}

static void
append_raw(const char *path, const char *text)
{
	FILE	*f = fopen(path, "a");

	fputs(text, f);
	fclose(f);
}

/* Journal one turn of the reference's messages into rec. */
static int
write_turn(struct journal *j, struct session_record *rec, const char *req,
    int nmsg)
{
	const char	*p = reference, *nl;
	json_t		*m, *res;
	json_error_t	 jerr;
	char		*cause = NULL;
	int		 line = 0, rc = 0, n = 0;

	if (journal_begin_turn(j, rec, req, &cause) == -1) {
		printf("# begin: %s\n", cause);
		free(cause);
		return (-1);
	}
	for (; (nl = strchr(p, '\n')) != NULL && n < nmsg; p = nl + 1, line++) {
		if (line < 2 || line == 9)
			continue;
		m = json_loadb(p, nl - p, 0, &jerr);
		if (journal_append_message(j, rec, m, &cause) == -1) {
			printf("# append: %s\n", cause);
			free(cause);
			rc = -1;
		}
		json_decref(m);
		n++;
	}
	res = journal_result_completed("end_turn", NULL);
	if (journal_finish_turn(j, rec, req, res, &cause) == -1) {
		printf("# finish: %s\n", cause);
		free(cause);
		rc = -1;
	}
	json_decref(res);
	return (rc);
}

static struct session_record *
new_record(const char *id)
{
	return (session_record_create(id, "mock-agent --supports-load-session",
	    NULL, "/home/user/proj", NULL, "2026-01-01T00:00:00.000Z"));
}

/* Append m until rec's last_used_at is no longer was (the clock moved on). */
static int
append_until_tick(struct journal *j, struct session_record *rec,
    const json_t *m, const char *was)
{
	char	*cause = NULL;
	long	 n;

	for (n = 0; n < 50000000L; n++) {
		if (journal_append_message(j, rec, m, &cause) == -1) {
			free(cause);
			return (-1);
		}
		if (strcmp(rec->last_used_at, was) != 0)
			return (0);
	}
	return (-1);	/* a clock that does not move: a hang, bounded */
}

/* The event_log a write leaves, rebuilt or changed in place. */
static void
test_event_log(void)
{
	struct session_record	*rec = new_record("evlog");
	struct journal		*j = journal_open(rec, NULL);
	json_t			*m, *held;
	char			*before, *after, *want, *text, *cause = NULL;
	char			*path = session_path_segment("evlog", 0), *was;
	const char		*nl;

	TEST_START("event_log: last_write_at follows each write, a holder's copy stays");
	ASSERT_PTR_NOT_NULL(j);
	m = json_pack("{s:s, s:s, s:{s:s}}", "jsonrpc", "2.0", "method",
	    "session/update", "params", "sessionId", "s\u00e9");
	ASSERT_INT_EQ(journal_append_message(j, rec, m, &cause), 0);
	/* Someone holds the record's event_log (a record view being written). */
	held = json_incref(rec->event_log);
	before = js_json_dumps(held, 0);
	was = xstrdup(rec->last_used_at);
	ASSERT_INT_EQ(append_until_tick(j, rec, m, was), 0);
	after = js_json_dumps(held, 0);
	ASSERT_STR_EQ(after, before);
	ASSERT_TRUE(rec->event_log != held);
	free(after);
	json_decref(held);
	/* Nobody else holds it now: each write keeps it current, in place. */
	free(was);
	was = xstrdup(rec->last_used_at);
	ASSERT_INT_EQ(append_until_tick(j, rec, m, was), 0);
	/* As the first write built it, with only last_write_at changed. */
	held = json_loads(before, 0, NULL);
	ASSERT_TRUE(json_object_size(held) == 6 && strcmp(jget_str(held,
	    "active_path"), path) == 0);
	json_object_set_new(held, "last_write_at",
	    json_string(rec->last_used_at));
	want = js_json_dumps(held, 0);
	json_decref(held);
	after = js_json_dumps(rec->event_log, 0);
	ASSERT_STR_EQ(after, want);
	free(after);
	free(want);
	/* A message serialised by the caller is the line as written. */
	text = js_json_dumps(m, 0);
	ASSERT_INT_EQ(journal_append_message_text(j, rec, m, text,
	    strlen(text), &cause), 0);
	ASSERT_INT_EQ(journal_flush(j, &cause), 0);
	after = slurp(path);
	ASSERT_TRUE(strlen(after) > strlen(text) + 1);
	nl = after + strlen(after) - strlen(text) - 1;
	ASSERT_TRUE(nl[-1] == '\n' && strncmp(nl, text, strlen(text)) == 0);
	free(after);
	free(text);
	free(before);
	free(was);
	free(path);
	json_decref(m);
	journal_close(j);
	session_record_free(rec);
	TEST_DONE();
}

int
main(void)
{
	char			 tmpl[] = "/tmp/acpx-test-journal-XXXXXX";
	struct session_record	*rec;
	struct journal		*j;
	struct journal_snapshot	 s;
	char			*path, *text, *cause = NULL, *id;
	long long		 seq;
	size_t			 i;
	int			 k, anchors;

	xmalloc_init();
	if (mkdtemp(tmpl) == NULL)
		return (1);
	setenv("HOME", tmpl, 1);

	TEST_START("writer bytes equal the reference's for one turn");
	rec = new_record("mock-session-1");
	j = journal_open(rec, &cause);
	ASSERT_PTR_NOT_NULL(j);
	ASSERT_INT_EQ(write_turn(j, rec, REQ, 7), 0);
	path = session_path_segment("mock-session-1", 0);
	text = slurp(path);
	ASSERT_STR_EQ(text, reference);
	free(text);
	ASSERT_INT_EQ(rec->last_seq, 7);
	ASSERT_STR_EQ(rec->last_request_id, "2");
	ASSERT_STR_EQ(jget_str(rec->event_log, "last_write_at"),
	    rec->last_used_at);
	journal_close(j);
	TEST_DONE();

	TEST_START("appends are written at a flush, in one piece");
	{
		struct session_record	*b = new_record("batch");
		struct journal		*bj = journal_open(b, &cause);
		char			*bp = session_path_segment("batch", 0);
		json_t			*m = json_pack("{s:s, s:s}", "jsonrpc",
					    "2.0", "method", "x/y");
		struct stat		 sb;

		ASSERT_PTR_NOT_NULL(bj);
		for (k = 0; k < 3; k++)
			ASSERT_INT_EQ(journal_append_message(bj, b, m, &cause),
			    0);
		ASSERT_INT_EQ(stat(bp, &sb) == -1 || sb.st_size == 0, 1);
		ASSERT_INT_EQ(journal_flush(bj, &cause), 0);
		text = slurp(bp);
		for (k = 0, i = 0; text[i] != '\0'; i++)
			k += text[i] == '\n';
		ASSERT_INT_EQ(k, 4);	/* the anchor and three messages */
		free(text);
		journal_close(bj);

		/* A write that fails poisons the writer. */
		ASSERT_INT_EQ(unlink(bp), 0);
		bj = journal_open(b, &cause);
		ASSERT_PTR_NOT_NULL(bj);
		ASSERT_INT_EQ(mkdir(bp, 0700), 0);
		ASSERT_INT_EQ(journal_append_message(bj, b, m, &cause), 0);
		ASSERT_INT_EQ(journal_flush(bj, &cause), -1);
		ASSERT_PTR_NOT_NULL(cause);
		free(cause);
		cause = NULL;
		ASSERT_INT_EQ(journal_append_message(bj, b, m, &cause), -1);
		free(cause);
		cause = NULL;
		journal_close(bj);
		ASSERT_INT_EQ(rmdir(bp), 0);
		json_decref(m);
		free(bp);
		session_record_free(b);
	}
	TEST_DONE();

	TEST_START("reader: events, sequences, request ids, cursors");
	ASSERT_INT_EQ(session_store_save(rec, &cause), 0);
	ASSERT_INT_EQ(journal_read("mock-session-1", -1, &s, &cause), 0);
	ASSERT_INT_EQ(s.n, 9);
	ASSERT_INT_EQ(s.first_seq, 0);
	ASSERT_INT_EQ(s.last_seq, 9);
	ASSERT_PTR_NULL(s.open_request_id);
	if (s.n == 9) {
		ASSERT_INT_EQ(s.v[0].type, JOURNAL_TURN_STARTED);
		ASSERT_INT_EQ(s.v[0].seq, 1);
		ASSERT_INT_EQ(s.v[4].type, JOURNAL_MESSAGE);
		ASSERT_STR_EQ(s.v[4].request_id, REQ);
		ASSERT_INT_EQ(s.v[8].type, JOURNAL_TURN_RESULT);
		text = js_json_dumps(s.v[8].result, 0);
		ASSERT_STR_EQ(text, "{\"status\":\"completed\",\"stopReason\":"
		    "\"end_turn\"}");
		free(text);
	}
	journal_snapshot_free(&s);
	ASSERT_INT_EQ(journal_read("mock-session-1", 7, &s, &cause), 0);
	ASSERT_INT_EQ(s.n, 2);
	journal_snapshot_free(&s);
	text = journal_cursor_encode("mock-session-1", 1);
	ASSERT_STR_EQ(text, "WyJtb2NrLXNlc3Npb24tMSIsMV0");
	ASSERT_INT_EQ(journal_cursor_decode(text, &id, &seq, &cause), 0);
	ASSERT_STR_EQ(id, "mock-session-1");
	ASSERT_INT_EQ(seq, 1);
	free(id);
	free(text);
	ASSERT_INT_EQ(journal_cursor_decode("WyJtb2NrLXNlc3Npb24tMSIsMV0=",
	    &id, &seq, &cause), -1);
	free(cause);
	ASSERT_INT_EQ(journal_cursor_decode("!!", &id, &seq, &cause), -1);
	free(cause);
	TEST_DONE();

	TEST_START("export sees every ACP message");
	{
		json_t *msgs = journal_messages("mock-session-1");

		ASSERT_INT_EQ(json_array_size(msgs), 7);
		json_decref(msgs);
	}
	TEST_DONE();

	TEST_START("reopen recovers counters; an abandoned turn is settled");
	rec->last_seq = 0;
	j = journal_open(rec, &cause);
	ASSERT_INT_EQ(rec->last_seq, 7);
	ASSERT_INT_EQ(journal_begin_turn(j, rec, "req-2", &cause), 0);
	journal_close(j);	/* the owner dies mid-turn */
	j = journal_open(rec, &cause);
	ASSERT_STR_EQ(journal_open_turn(j), "req-2");
	ASSERT_INT_EQ(journal_begin_turn(j, rec, "req-3", &cause), 0);
	journal_close(j);
	text = slurp(path);
	ASSERT_TRUE(strstr(text, "{\"schema\":\"acpx.session.journal.v1\","
	    "\"type\":\"turn_result\",\"request_id\":\"req-2\",\"result\":"
	    "{\"status\":\"failed\",\"error\":{\"message\":\"The previous "
	    "owner ended without recording a settled result; the turn outcome "
	    "is unknown.\",\"detailCode\":\"WATCH_OUTCOME_UNKNOWN\","
	    "\"retryable\":false}}}\n{\"schema\":\"acpx.session.journal.v1\","
	    "\"type\":\"turn_started\",\"request_id\":\"req-3\"}\n") != NULL);
	free(text);
	ASSERT_INT_EQ(journal_read("mock-session-1", -1, &s, &cause), 0);
	ASSERT_STR_EQ(s.open_request_id, "req-3");
	journal_snapshot_free(&s);
	TEST_DONE();

	TEST_START("a partial last line makes the next append rotate");
	append_raw(path, "{\"jsonrpc\":\"2.0\",\"met");
	j = journal_open(rec, &cause);
	{
		json_t *m = json_pack("{s:s, s:s}", "jsonrpc", "2.0", "method",
		    "x/y");

		ASSERT_INT_EQ(journal_append_message(j, rec, m, &cause), 0);
		json_decref(m);
	}
	journal_close(j);
	free(path);
	path = session_path_segment("mock-session-1", 1);
	ASSERT_INT_EQ(access(path, F_OK), 0);
	free(path);
	path = session_path_segment("mock-session-1", 0);
	text = slurp(path);
	{
		const char *want = "{\"schema\":\"acpx.session.journal.v1\","
		    "\"type\":\"segment\",\"record_id\":\"mock-session-1\","
		    "\"sequence\":12,\"message_sequence\":7,\"request_id\":"
		    "\"req-3\"}\n";

		ASSERT_TRUE(strncmp(text, want, strlen(want)) == 0);
	}
	free(text);
	ASSERT_INT_EQ(json_integer_value(json_object_get(rec->event_log,
	    "segment_count")), 5);
	TEST_DONE();

	TEST_START("rotation: size limit, numbering, anchors, contiguous reads");
	session_record_free(rec);
	rec = new_record("rot");
	json_object_set_new(rec->event_log, "max_segment_bytes",
	    json_integer(400));
	json_object_set_new(rec->event_log, "max_segments", json_integer(3));
	json_object_set_new(rec->event_log, "segment_count", json_integer(1));
	ASSERT_INT_EQ(session_store_save(rec, &cause), 0);
	j = journal_open(rec, &cause);
	for (k = 0; k < 12; k++)
		ASSERT_INT_EQ(write_turn(j, rec, "r", 2), 0);
	journal_close(j);
	ASSERT_INT_EQ(session_store_save(rec, &cause), 0);
	ASSERT_INT_EQ(json_integer_value(json_object_get(rec->event_log,
	    "segment_count")), 3);
	free(path);
	path = session_path_segment("rot", 4);
	ASSERT_INT_EQ(access(path, F_OK), -1);
	free(path);
	anchors = 0;
	for (k = 0; k <= 3; k++) {
		struct stat sb;

		path = session_path_segment("rot", k);
		if ((text = slurp(path)) != NULL) {
			if (strncmp(text, "{\"schema\":\"acpx.session.journal."
			    "v1\",\"type\":\"segment\"", 52) == 0)
				anchors++;
			ASSERT_INT_EQ(stat(path, &sb), 0);
			ASSERT_INT_EQ(sb.st_mode & 0777, 0600);
			free(text);
		}
		free(path);
	}
	ASSERT_INT_EQ(anchors, 4);
	ASSERT_INT_EQ(journal_read("rot", -1, &s, &cause), 0);
	ASSERT_TRUE(s.first_seq > 0);
	ASSERT_INT_EQ(s.last_seq, 48);
	for (i = 1; i < s.n; i++)
		ASSERT_INT_EQ(s.v[i].seq, s.v[i - 1].seq + 1);
	journal_snapshot_free(&s);
	ASSERT_INT_EQ(rec->last_seq, 24);
	TEST_DONE();

	TEST_START("corruption after an anchor is reported, not skipped");
	path = session_path_segment("rot", 0);
	append_raw(path, "not json\n");
	ASSERT_INT_EQ(journal_read("rot", -1, &s, &cause), -1);
	ASSERT_STR_EQ(s.error_code, "WATCH_JOURNAL_CORRUPT");
	ASSERT_STR_EQ(cause, "Invalid complete line in session journal");
	free(cause);
	journal_snapshot_free(&s);
	free(path);
	TEST_DONE();

	TEST_START("imported history: unanchored lines are tolerated");
	{
		json_t *msgs = json_pack("[{s:s, s:s}, {s:s, s:i, s:{}}]",
		    "jsonrpc", "2.0", "method", "a", "jsonrpc", "2.0", "id", 1,
		    "result");

		ASSERT_INT_EQ(journal_write_imported("imp", msgs, &cause), 0);
		ASSERT_INT_EQ(journal_read("imp", -1, &s, &cause), 0);
		ASSERT_INT_EQ(s.n, 0);
		journal_snapshot_free(&s);
		json_decref(msgs);
		msgs = journal_messages("imp");
		ASSERT_INT_EQ(json_array_size(msgs), 2);
		json_decref(msgs);
	}
	TEST_DONE();
	test_event_log();

	session_record_free(rec);
	xasprintf(&text, "rm -rf '%s'", tmpl);
	if (system(text) != 0)
		printf("# cleanup failed\n");
	free(text);
	return (tap_end());
}
