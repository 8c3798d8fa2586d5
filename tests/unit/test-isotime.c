/*
 * Unit tests for the one ISO 8601 parser (isotime.h): the strict form the
 * files use (a time with seconds and a zone), fractions, offsets in both
 * spellings, the loosened forms of --since, and what is refused in each.
 */
#include <config.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "isotime.h"
#include "tap.h"

int
main(void)
{
	static const char *const bad[] = { "", "garbage", "2026-13-01T00:00:00Z",
	    "2026-12-06T25:00:00Z", "2026-12-06T10:60:00Z", "2026-12-06T10:00:61Z",
	    "2026-12-06T10:00:00.Z", "2026-12-06T10:00:00Q",
	    "2026-12-06T10:00:00Z trailing", "2026-12-06T10:00:00+24:00",
	    "2026-12-06T10:00:00+02:60", "1969-12-31T23:59:59Z",
	    "2026/12/06T10:00:00Z", "2026-12-6T10:00:00Z", NULL };
	struct tm	tm;
	size_t		i;

	TEST_START("the files' form: seconds, a fraction, Z");
	ASSERT_INT_EQ(isotime_parse_ms("1970-01-01T00:00:01.500Z", 0), 1500);
	ASSERT_INT_EQ(isotime_parse_ms("1970-01-01T00:00:02Z", 0), 2000);
	ASSERT_INT_EQ(isotime_parse_ms("2026-12-06T10:00:00Z", 0),
	    1796551200000LL);
	ASSERT_INT_EQ(isotime_parse_ms("2026-12-06t10:00:00.123456z", 0),
	    1796551200123LL);
	ASSERT_INT_EQ(isotime_parse_ms("2026-12-06 10:00:00,5Z", 0),
	    1796551200500LL);
	TEST_DONE();

	TEST_START("offsets, with and without the colon");
	ASSERT_INT_EQ(isotime_parse_ms("2026-12-06T12:00:00+02:00", 0),
	    1796551200000LL);
	ASSERT_INT_EQ(isotime_parse_ms("2026-12-06T05:30:00-0430", 0),
	    1796551200000LL);
	TEST_DONE();

	TEST_START("strict: a zone, a time and its seconds are required");
	ASSERT_INT_EQ(isotime_parse_ms("2026-12-06T10:00:00", 0), -1);
	ASSERT_INT_EQ(isotime_parse_ms("2026-12-06T10:00Z", 0), -1);
	ASSERT_INT_EQ(isotime_parse_ms("2026-12-06", 0), -1);
	ASSERT_INT_EQ(isotime_parse_ms(NULL, 0), -1);
	for (i = 0; bad[i] != NULL; i++)
		ASSERT_INT_EQ(isotime_parse_ms(bad[i],
		    ISOTIME_LOCAL | ISOTIME_SHORT), -1);
	TEST_DONE();

	TEST_START("loosened: short forms, local time without a zone");
	ASSERT_INT_EQ(isotime_parse_ms("2026-12-06T10:00Z", ISOTIME_SHORT),
	    1796551200000LL);
	memset(&tm, 0, sizeof tm);
	tm.tm_year = 126;
	tm.tm_mon = 11;
	tm.tm_mday = 6;
	tm.tm_isdst = -1;
	ASSERT_INT_EQ(isotime_parse_ms("2026-12-06",
	    ISOTIME_LOCAL | ISOTIME_SHORT), (int64_t)mktime(&tm) * 1000);
	ASSERT_INT_EQ(isotime_parse_ms("2026-12-06", ISOTIME_SHORT), -1);
	tm.tm_hour = 10;
	tm.tm_isdst = -1;
	ASSERT_INT_EQ(isotime_parse_ms("2026-12-06T10:00:00", ISOTIME_LOCAL),
	    (int64_t)mktime(&tm) * 1000);
	TEST_DONE();

	TEST_START("a zone: the date worked out as timegm() does, day overflow too");
	{
		int64_t	 want, y;
		int	 m, d, bad_days = 0;
		char	 text[64];

		for (y = 1970; y <= 2470; y += (y < 2110 ? 1 : 7)) {
			for (m = 1; m <= 12; m++) {
				for (d = 1; d <= 31; d += (d < 27 ? 13 : 1)) {
					memset(&tm, 0, sizeof tm);
					tm.tm_year = (int)y - 1900;
					tm.tm_mon = m - 1;
					tm.tm_mday = d;
					tm.tm_hour = 23;
					tm.tm_min = 59;
					tm.tm_sec = 60;
					want = (int64_t)timegm(&tm) * 1000 + 7;
					snprintf(text, sizeof text,
					    "%04d-%02d-%02dT23:59:60.007Z",
					    (int)y, m, d);
					if (isotime_parse_ms(text, 0) != want)
						bad_days++;
				}
			}
		}
		ASSERT_INT_EQ(bad_days, 0);
	}
	TEST_DONE();

	return (tap_end());
}
