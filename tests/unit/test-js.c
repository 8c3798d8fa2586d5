/*
 * js.c and js-json.c: the JavaScript semantics the reference applies
 * (whitespace, trim, UTF-16 lengths and slices, Math.round, Number(),
 * toISOString) and JSON.parse with V8's messages.
 */
#include <config.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "js.h"
#include "js-json.h"
#include "tap.h"

static void
check_parse_error(const char *text, const char *want)
{
	char	*cause = NULL;
	json_t	*v = js_json_parse(text, strlen(text), &cause);

	ASSERT_TRUE(v == NULL);
	ASSERT_STR_EQ(cause, want);
	json_decref(v);
	free(cause);
}

int
main(void)
{
	const char	*s;
	size_t		 n;
	char		*t, *cause;
	double		 d;
	int		 split;
	json_t		*v;

	TEST_START("js_space: the \\s set, ASCII and Unicode");
	ASSERT_INT_EQ(js_space(" ", 1), 1);
	ASSERT_INT_EQ(js_space("\v", SIZE_MAX), 1);
	ASSERT_INT_EQ(js_space("\xc2\xa0", 2), 2);		/* U+00A0 */
	ASSERT_INT_EQ(js_space("\xe2\x80\x8a", 3), 3);	/* U+200A */
	ASSERT_INT_EQ(js_space("\xe2\x80\x8b", 3), 0);	/* U+200B: no */
	ASSERT_INT_EQ(js_space("\xef\xbb\xbf", 3), 3);	/* U+FEFF */
	ASSERT_INT_EQ(js_space("\xe3\x80\x80", 2), 0);	/* cut short */
	ASSERT_INT_EQ(js_space("\xe2\x80", SIZE_MAX), 0);	/* NUL ends it */
	ASSERT_INT_EQ(js_space("x", 1), 0);
	ASSERT_INT_EQ(js_space("", 0), 0);
	TEST_DONE();

	TEST_START("js_trim / js_trim_dup / js_blank");
	s = "\xe3\x80\x80 a b\t\xc2\xa0";
	n = strlen(s);
	js_trim(&s, &n);
	ASSERT_INT_EQ(n, 3);
	ASSERT_TRUE(memcmp(s, "a b", 3) == 0);
	t = js_trim_dup("\n\xef\xbb\xbfx\xe2\x80\xa9");
	ASSERT_STR_EQ(t, "x");
	free(t);
	t = js_trim_dup(" \t ");
	ASSERT_STR_EQ(t, "");
	free(t);
	ASSERT_TRUE(js_blank(" \xe2\x80\xa8\n"));
	ASSERT_TRUE(!js_blank(" \xe2\x80\x8b "));
	s = "a \n";
	n = 3;
	js_trim_end(&s, &n);
	ASSERT_INT_EQ(n, 1);
	s = "\xc3\xa9 \xe2\x80\x8a\r";	/* é, a hair space, ASCII */
	n = strlen(s);
	js_trim_end(&s, &n);
	ASSERT_INT_EQ(n, 2);
	s = "a\xe2\x80 ";	/* a cut sequence stays (U+FFFD) */
	n = strlen(s);
	js_trim_end(&s, &n);
	ASSERT_INT_EQ(n, 3);
	s = " \t";
	n = 2;
	js_trim_end(&s, &n);
	ASSERT_INT_EQ(n, 0);
	TEST_DONE();

	TEST_START("js_length / js_slice count UTF-16 units");
	ASSERT_INT_EQ(js_strlen("abc"), 3);
	ASSERT_INT_EQ(js_strlen("\xc3\xa9\xe2\x82\xac"), 2);	/* é€ */
	ASSERT_INT_EQ(js_strlen("\xf0\x9f\x98\x80"), 2);	/* one pair */
	ASSERT_INT_EQ(js_length("\xff\xfe", 2), 2);	/* bad bytes: one each */
	ASSERT_INT_EQ(js_slice("a\xf0\x9f\x98\x80" "b", 6, 2, &split), 1);
	ASSERT_INT_EQ(split, 1);
	ASSERT_INT_EQ(js_slice("a\xf0\x9f\x98\x80" "b", 6, 3, &split), 5);
	ASSERT_INT_EQ(split, 0);
	ASSERT_INT_EQ(js_slice("abc", 3, 10, &split), 3);
	ASSERT_INT_EQ(split, 0);
	t = js_truncate_dup("abcdefgh", 6);
	ASSERT_STR_EQ(t, "abc...");
	free(t);
	t = js_truncate_dup("abcdef", 6);
	ASSERT_STR_EQ(t, "abcdef");
	free(t);
	t = js_truncate_dup("ab\xf0\x9f\x98\x80" "cdef", 6);	/* pair dropped */
	ASSERT_STR_EQ(t, "ab...");
	free(t);
	TEST_DONE();

	TEST_START("into a buf: truncate, collapse, String(v), truthiness");
	{
		struct buf	 b = BUF_INITIALIZER;
		json_t		*a = json_pack("[i,n,[s,f],{}]", 1, "x", 2.5);

		js_truncate(&b, "ab\xf0\x9f\x98\x80" "cdef", 10, 6);
		ASSERT_STR_EQ(b.p, "ab\xef\xbf\xbd...");	/* pair split: U+FFFD */
		buf_reset(&b);
		js_collapse_ws(&b, "  a \xe3\x80\x80\n b  ", 12);
		ASSERT_STR_EQ(b.p, "a b");
		ASSERT_INT_EQ(b.len, 3);
		buf_reset(&b);
		js_string_of(&b, a);
		ASSERT_STR_EQ(b.p, "1,,x,2.5,[object Object]");
		buf_reset(&b);
		js_string_of(&b, NULL);
		ASSERT_STR_EQ(b.p, "undefined");
		ASSERT_TRUE(!js_truthy(NULL) && !js_truthy(json_array_get(a, 1)));
		ASSERT_TRUE(js_truthy(a));
		buf_free(&b);
		json_decref(a);
	}
	TEST_DONE();

	TEST_START("js_round is Math.round (halves up, no x + 0.5 error)");
	ASSERT_TRUE(js_round(2.5) == 3);
	ASSERT_TRUE(js_round(-2.5) == -2);
	ASSERT_TRUE(js_round(-2.6) == -3);
	ASSERT_TRUE(js_round(0.49999999999999994) == 0);
	ASSERT_TRUE(js_round(4503599627370497.0) == 4503599627370497.0);
	TEST_DONE();

	TEST_START("js_floor is floor(), js_round_away is round(), exactly");
	{
		static const double xs[] = { 0.0, -0.0, 0.5, -0.5, 1.5, -1.5,
		    2.5, -2.5, 0.49999999999999994, -0.49999999999999994,
		    0.3, -0.3, 1e-300, -1e-300, 7.0, -7.0, 123456.789,
		    -123456.789, 4503599627370495.5, -4503599627370495.5,
		    4503599627370497.0, -4503599627370497.0, 1e300, -1e300,
		    INFINITY, -INFINITY };
		size_t	i;

		for (i = 0; i < sizeof xs / sizeof xs[0]; i++) {
			ASSERT_TRUE(js_floor(xs[i]) == floor(xs[i]));
			ASSERT_TRUE(signbit(js_floor(xs[i])) ==
			    signbit(floor(xs[i])));
			ASSERT_TRUE(js_round_away(xs[i]) == round(xs[i]));
			ASSERT_TRUE(signbit(js_round_away(xs[i])) ==
			    signbit(round(xs[i])));
		}
		ASSERT_TRUE(isnan(js_floor(NAN)) && isnan(js_round_away(NAN)));
	}
	TEST_DONE();

	TEST_START("js_iso_time's date is gmtime_r()'s, 1600 years around 1970");
	{
		struct tm	tm;
		time_t		tt;
		int64_t		ms;
		char		want[64];
		int		bad = 0;

		for (ms = -800LL * 366 * 86400000; ms < 800LL * 366 * 86400000;
		    ms += 86400000LL * 7 + 3723001) {
			tt = (time_t)(ms / 1000 - (ms % 1000 < 0));
			gmtime_r(&tt, &tm);
			snprintf(want, sizeof want,
			    "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
			    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			    tm.tm_hour, tm.tm_min, tm.tm_sec,
			    (int)(((ms % 1000) + 1000) % 1000));
			t = js_iso_time(ms);
			if (strcmp(t, want) != 0 && bad++ == 0)
				ASSERT_STR_EQ(t, want);
			free(t);
		}
		ASSERT_INT_EQ(bad, 0);
	}
	TEST_DONE();

	TEST_START("js_number is Number()");
	ASSERT_INT_EQ(js_number(" 12.5e1 ", &d), 0);
	ASSERT_TRUE(d == 125);
	ASSERT_INT_EQ(js_number("", &d), 0);
	ASSERT_TRUE(d == 0);
	ASSERT_INT_EQ(js_number("0x1F", &d), 0);
	ASSERT_TRUE(d == 31);
	ASSERT_INT_EQ(js_number("0b102", &d), -1);
	ASSERT_INT_EQ(js_number("-Infinity", &d), 0);
	ASSERT_TRUE(isinf(d) && d < 0);
	ASSERT_INT_EQ(js_number("inf", &d), -1);
	ASSERT_INT_EQ(js_number("1.", &d), 0);
	ASSERT_TRUE(d == 1);
	ASSERT_INT_EQ(js_number(".", &d), -1);
	ASSERT_INT_EQ(js_number("1e", &d), -1);
	ASSERT_INT_EQ(js_number("-0x10", &d), -1);
	ASSERT_INT_EQ(js_number("\xc2\xa0" "7\n", &d), 0);
	ASSERT_TRUE(d == 7);
	TEST_DONE();

	TEST_START("js_iso_time is toISOString");
	t = js_iso_time(0);
	ASSERT_STR_EQ(t, "1970-01-01T00:00:00.000Z");
	free(t);
	t = js_iso_time(1700000000123LL);
	ASSERT_STR_EQ(t, "2023-11-14T22:13:20.123Z");
	free(t);
	t = js_iso_time(-1);
	ASSERT_STR_EQ(t, "1969-12-31T23:59:59.999Z");
	free(t);
	t = js_iso_time(253402300799999LL);
	ASSERT_STR_EQ(t, "9999-12-31T23:59:59.999Z");
	free(t);
	t = js_iso_time(253402300800000LL);
	ASSERT_STR_EQ(t, "10000-01-01T00:00:00.000Z");
	free(t);
	t = js_iso_now();
	ASSERT_INT_EQ(strlen(t), 24);
	ASSERT_TRUE(t[10] == 'T' && t[23] == 'Z');
	free(t);
	TEST_DONE();

	TEST_START("js_json_parse: values as JSON.parse makes them");
	s = " {\"a\":[1,2.5,\"\\u00e9\\ud83d\\ude00\",true,null],"
	    "\"a\":9007199254740993} ";
	v = js_json_parse(s, strlen(s), &cause);
	ASSERT_TRUE(v != NULL);
	ASSERT_TRUE(json_is_real(json_object_get(v, "a")));	/* last wins */
	json_decref(v);
	v = js_json_parse("[\"\\u00e9\\ud83d\\ude00\"]", 22, &cause);
	ASSERT_STR_EQ(json_string_value(json_array_get(v, 0)),
	    "\xc3\xa9\xf0\x9f\x98\x80");
	json_decref(v);
	v = js_json_parse("[\"\\ud800x\"]", 11, &cause);
	ASSERT_TRUE(v != NULL);
	ASSERT_STR_EQ(json_string_value(json_array_get(v, 0)), "\xef\xbf\xbdx");
	json_decref(v);
	TEST_DONE();

	TEST_START("js_json_parse: V8's messages, positions in UTF-16 units");
	check_parse_error("", "Unexpected end of JSON input");
	check_parse_error("{", "Expected property name or '}' in JSON at position 1");
	check_parse_error("{\"a\" 1}", "Expected ':' after property name in JSON at position 5");
	check_parse_error("{\"a\":1,\"b\" 1}", "Unexpected number in JSON at position 11");
	check_parse_error("{\"a\":1 x", "Expected ',' or '}' after property value in JSON at position 7");
	check_parse_error("[1 2]", "Expected ',' or ']' after array element in JSON at position 3");
	check_parse_error("{\"a\":1,}", "Expected double-quoted property name in JSON at position 7");
	check_parse_error("\"\xf0\x9f\x98\x80\\x\"", "Bad escaped character in JSON at position 4");
	check_parse_error("\"\\\xc3\xa9\"", "Bad escaped character in JSON at position 2");
	/* Past Latin-1 V8 names the character instead. */
	check_parse_error("\"\\\xc4\x80\"", "Unexpected token '\xc4\x80', \"\"\\\xc4\x80\"\" is not valid JSON");
	check_parse_error("\"a\nb\"", "Bad control character in string literal in JSON at position 2");
	check_parse_error("\"ab", "Unterminated string in JSON at position 3");
	check_parse_error("-x", "No number after minus sign in JSON at position 1");
	check_parse_error("1.x", "Unterminated fractional number in JSON at position 2");
	check_parse_error("1e+", "Exponent part is missing a number in JSON at position 3");
	check_parse_error("tru", "Unexpected end of JSON input");
	check_parse_error("trUe", "Unexpected token 'U', \"trUe\" is not valid JSON");
	check_parse_error("undefined", "\"undefined\" is not valid JSON");
	check_parse_error("[\"\xf0\x9f\x98\x80\"] x", "Unexpected non-whitespace character after JSON at position 7");
	check_parse_error("{\"aaaaaaaaaaaaaaaaaaaaaaaaa\": x}", "Unexpected token 'x', ...\"aaaaaaa\": x}\" is not valid JSON");
	TEST_DONE();

	TEST_START("js_json_parse: a NUL never cuts the message short");
	cause = NULL;
	ASSERT_TRUE(js_json_parse("[\0]", 3, &cause) == NULL);
	ASSERT_STR_EQ(cause, "Unexpected token '\xef\xbf\xbd', \"[\xef\xbf\xbd]\" is not valid JSON");
	free(cause);
	TEST_DONE();

	TEST_START("js_json_syntax_error: prefixed, NULL when valid");
	t = js_json_syntax_error("[1,", 3);
	ASSERT_STR_EQ(t, "SyntaxError: Unexpected end of JSON input");
	free(t);
	ASSERT_TRUE(js_json_syntax_error("{\"a\":[]}", 8) == NULL);
	TEST_DONE();

	return (tap_end());
}
