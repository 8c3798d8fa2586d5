/*
 * Unit tests for reading the event log back: --since as ISO 8601 (zones,
 * fractions, dates, local time) and as a time ago, and what is not a
 * time; the -s and --since filter; the text form of an event.
 */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "events-read.h"
#include "js.h"
#include "tap.h"

int
main(void)
{
	static const char *const bad[] = { "", "yesterday", "10x", "m", "-5m",
	    "2026-13-01", "2026-12-06T25:00", "2026-12-06T10:00:00Q",
	    "2026-12-06T10:00:00.Z", "2026/12/06", "10 m", "1.5h", NULL };
	json_t		*e;
	char		*text;
	int64_t		 now, t;
	size_t		 i;
	struct tm	 tm;

	TEST_START("ISO 8601 in UTC, with and without a fraction");
	ASSERT_INT_EQ(events_read_since("2026-12-06T10:00:00Z"),
	    1796551200000LL);
	ASSERT_INT_EQ(events_read_since("2026-12-06T10:00:00.250Z"),
	    1796551200250LL);
	ASSERT_INT_EQ(events_read_since("2026-12-06T10:00:00.5Z"),
	    1796551200500LL);
	ASSERT_INT_EQ(events_read_since("2026-12-06T10:00Z"), 1796551200000LL);
	TEST_DONE();

	TEST_START("ISO 8601 with an offset");
	ASSERT_INT_EQ(events_read_since("2026-12-06T12:00:00+02:00"),
	    1796551200000LL);
	ASSERT_INT_EQ(events_read_since("2026-12-06T05:30:00-0430"),
	    1796551200000LL);
	TEST_DONE();

	TEST_START("a date or a time without a zone is local time");
	memset(&tm, 0, sizeof tm);
	tm.tm_year = 126;
	tm.tm_mon = 11;
	tm.tm_mday = 6;
	tm.tm_isdst = -1;
	ASSERT_INT_EQ(events_read_since("2026-12-06"),
	    (int64_t)mktime(&tm) * 1000);
	tm.tm_hour = 10;
	tm.tm_isdst = -1;
	ASSERT_INT_EQ(events_read_since("2026-12-06 10:00"),
	    (int64_t)mktime(&tm) * 1000);
	TEST_DONE();

	TEST_START("a time ago: s, m, h, d");
	/* Between the clock before and after each call, however slow. */
	now = js_now_ms();
	t = events_read_since("10m");
	ASSERT_TRUE(t >= now - 600000 && t <= js_now_ms() - 600000);
	now = js_now_ms();
	t = events_read_since("2h");
	ASSERT_TRUE(t >= now - 7200000 && t <= js_now_ms() - 7200000);
	now = js_now_ms();
	t = events_read_since("1d");
	ASSERT_TRUE(t >= now - 86400000 && t <= js_now_ms() - 86400000);
	now = js_now_ms();
	t = events_read_since("90s");
	ASSERT_TRUE(t >= now - 90000 && t <= js_now_ms() - 90000);
	TEST_DONE();

	TEST_START("what is not a time");
	for (i = 0; bad[i] != NULL; i++) {
		if (events_read_since(bad[i]) != -1)
			TAP_FAIL("\"%s\" was taken as a time", bad[i]);
	}
	ASSERT_INT_EQ(events_read_since(NULL), -1);
	TEST_DONE();

	e = json_loads("{\"ts\":\"2026-12-06T10:00:00.000Z\",\"event\":"
	    "\"turn.ended\",\"pid\":42,\"proc\":\"owner\",\"session\":"
	    "\"0123456789abcdef\",\"name\":\"backend\",\"agent\":\"codex\","
	    "\"cwd\":\"/w\",\"ms\":12,\"stopReason\":\"end_turn\",\"title\":"
	    "\"Write a.txt\",\"tokens\":{\"in\":1}}", 0, NULL);
	TEST_START("the filter: --since and -s by name or record id");
	ASSERT_TRUE(events_read_match(e, -1, NULL));
	ASSERT_TRUE(events_read_match(e, 1796551200000LL, NULL));
	ASSERT_TRUE(!events_read_match(e, 1796551200001LL, NULL));
	ASSERT_TRUE(events_read_match(e, -1, "backend"));
	ASSERT_TRUE(events_read_match(e, -1, "0123456789abcdef"));
	ASSERT_TRUE(!events_read_match(e, -1, "0123"));
	ASSERT_TRUE(!events_read_match(e, -1, "frontend"));
	TEST_DONE();

	TEST_START("the text form: columns, then key=value");
	text = events_read_text(e);
	ASSERT_STR_EQ(text, "2026-12-06T10:00:00.000Z turn.ended          "
	    "owner:42 backend agent=codex ms=12 stopReason=end_turn "
	    "title=\"Write a.txt\" tokens={\"in\":1}");
	free(text);
	json_object_del(e, "name");
	json_object_del(e, "proc");
	text = events_read_text(e);
	ASSERT_TRUE(strncmp(text, "2026-12-06T10:00:00.000Z turn.ended          "
	    "acpx:42 01234567 agent=codex", 70) == 0);
	free(text);
	TEST_DONE();
	json_decref(e);

	return (tap_end());
}
