/*
 * linebuf: splitting, partial lines, the cap, compaction and speed.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "linebuf.h"
#include "xmalloc.h"
#include "tap.h"

/* Take the next line as a NUL-terminated copy in buf; returns the status. */
static enum linebuf_status
next_str(struct linebuf *lb, char *buf, size_t size)
{
	enum linebuf_status	 st;
	char			*line;
	size_t			 len;

	st = linebuf_next(lb, &line, &len);
	buf[0] = '\0';
	if (st == LINEBUF_OK) {
		if (len >= size)
			len = size - 1;
		memcpy(buf, line, len);
		buf[len] = '\0';
	}
	return (st);
}

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec + ts.tv_nsec / 1e9);
}

int
main(void)
{
	struct linebuf	*lb;
	char		 buf[256], *big, *line, *p;
	size_t		 len, i, n, total;
	double		 t0;

	TEST_START("whole lines from one feed, in order");
	lb = linebuf_create(0);
	linebuf_feed(lb, "one\ntwo\nthree\n", 14);
	ASSERT_INT_EQ(next_str(lb, buf, sizeof buf), LINEBUF_OK);
	ASSERT_STR_EQ(buf, "one");
	ASSERT_INT_EQ(next_str(lb, buf, sizeof buf), LINEBUF_OK);
	ASSERT_STR_EQ(buf, "two");
	ASSERT_INT_EQ(next_str(lb, buf, sizeof buf), LINEBUF_OK);
	ASSERT_STR_EQ(buf, "three");
	ASSERT_INT_EQ(next_str(lb, buf, sizeof buf), LINEBUF_NEED_MORE);
	ASSERT_INT_EQ(linebuf_pending(lb), 0);
	linebuf_free(lb);
	TEST_DONE();

	TEST_START("a line split over many feeds, byte by byte");
	lb = linebuf_create(0);
	p = "{\"a\":1}\r\nrest";
	for (i = 0; i < 7; i++) {
		linebuf_feed(lb, p + i, 1);
		ASSERT_INT_EQ(next_str(lb, buf, sizeof buf), LINEBUF_NEED_MORE);
	}
	linebuf_feed(lb, p + 7, 1);	/* the \r */
	ASSERT_INT_EQ(next_str(lb, buf, sizeof buf), LINEBUF_NEED_MORE);
	linebuf_feed(lb, p + 8, strlen(p + 8));
	ASSERT_INT_EQ(next_str(lb, buf, sizeof buf), LINEBUF_OK);
	ASSERT_STR_EQ(buf, "{\"a\":1}\r");	/* \r is the caller's business */
	ASSERT_INT_EQ(next_str(lb, buf, sizeof buf), LINEBUF_NEED_MORE);
	ASSERT_INT_EQ(linebuf_pending(lb), 4);	/* "rest" at EOF */
	linebuf_free(lb);
	TEST_DONE();

	TEST_START("empty lines come out as empty lines");
	lb = linebuf_create(8);
	linebuf_feed(lb, "\n\nx\n", 4);
	ASSERT_INT_EQ(linebuf_next(lb, &line, &len), LINEBUF_OK);
	ASSERT_INT_EQ(len, 0);
	ASSERT_INT_EQ(linebuf_next(lb, &line, &len), LINEBUF_OK);
	ASSERT_INT_EQ(len, 0);
	ASSERT_INT_EQ(next_str(lb, buf, sizeof buf), LINEBUF_OK);
	ASSERT_STR_EQ(buf, "x");
	ASSERT_INT_EQ(linebuf_next(lb, &line, &len), LINEBUF_NEED_MORE);
	ASSERT_PTR_NULL(line);
	linebuf_free(lb);
	TEST_DONE();

	TEST_START("a line exactly at the cap is fine, one byte more is not");
	lb = linebuf_create(5);
	linebuf_feed(lb, "12345\n", 6);
	ASSERT_INT_EQ(next_str(lb, buf, sizeof buf), LINEBUF_OK);
	ASSERT_STR_EQ(buf, "12345");
	linebuf_feed(lb, "123456\n", 7);
	ASSERT_INT_EQ(next_str(lb, buf, sizeof buf), LINEBUF_TOO_LONG);
	linebuf_free(lb);
	TEST_DONE();

	TEST_START("the cap counts raw bytes, \\r included");
	lb = linebuf_create(5);
	linebuf_feed(lb, "12345\r\n", 7);
	ASSERT_INT_EQ(next_str(lb, buf, sizeof buf), LINEBUF_TOO_LONG);
	linebuf_free(lb);
	TEST_DONE();

	TEST_START("over-long line without a newline: earlier lines first");
	lb = linebuf_create(16);
	linebuf_feed(lb, "ok1\nok2\n", 8);
	linebuf_feed(lb, "0123456789", 10);
	ASSERT_INT_EQ(next_str(lb, buf, sizeof buf), LINEBUF_OK);
	linebuf_feed(lb, "0123456789", 10);	/* 20 bytes, no '\n' yet */
	ASSERT_INT_EQ(next_str(lb, buf, sizeof buf), LINEBUF_OK);
	ASSERT_STR_EQ(buf, "ok2");
	ASSERT_INT_EQ(next_str(lb, buf, sizeof buf), LINEBUF_TOO_LONG);
	/* Final: later input is dropped and does not grow the buffer. */
	for (i = 0; i < 1000; i++)
		linebuf_feed(lb, "short\n", 6);
	ASSERT_INT_EQ(next_str(lb, buf, sizeof buf), LINEBUF_TOO_LONG);
	ASSERT_TRUE(linebuf_pending(lb) <= 16);
	linebuf_free(lb);
	TEST_DONE();

	TEST_START("a line that never ends stays bounded by the cap");
	lb = linebuf_create(1000);
	big = xmalloc(4096);
	memset(big, 'a', 4096);
	for (i = 0; i < 1000; i++)
		linebuf_feed(lb, big, 4096);
	ASSERT_TRUE(linebuf_pending(lb) <= 1000);
	ASSERT_INT_EQ(next_str(lb, buf, sizeof buf), LINEBUF_TOO_LONG);
	free(big);
	linebuf_free(lb);
	TEST_DONE();

	TEST_START("no cap: a 10 MB line arriving in pieces");
	lb = linebuf_create(0);
	big = xmalloc(10 * 1024 * 1024 + 1);
	memset(big, 'z', 10 * 1024 * 1024);
	big[10 * 1024 * 1024] = '\n';
	for (i = 0; i <= 10 * 1024 * 1024; i += n) {
		n = 10 * 1024 * 1024 + 1 - i;
		if (n > 65536)
			n = 65536;
		linebuf_feed(lb, big + i, n);
	}
	ASSERT_INT_EQ(linebuf_next(lb, &line, &len), LINEBUF_OK);
	ASSERT_INT_EQ(len, 10 * 1024 * 1024);
	ASSERT_TRUE(line != NULL && line[0] == 'z' && line[len - 1] == 'z');
	ASSERT_INT_EQ(linebuf_next(lb, &line, &len), LINEBUF_NEED_MORE);
	free(big);
	linebuf_free(lb);
	TEST_DONE();

	TEST_START("reserve/commit: zero-copy feeding, lines kept across compaction");
	lb = linebuf_create(64);
	total = 0;
	for (i = 0; i < 100000; i++) {
		/* Each round leaves a partial line behind. */
		p = linebuf_reserve(lb, 32);
		n = (size_t)snprintf(p, 32, "%zu\npart", i);
		linebuf_commit(lb, n);
		while (next_str(lb, buf, sizeof buf) == LINEBUF_OK) {
			if (strncmp(buf, "part", 4) == 0)
				memmove(buf, buf + 4, strlen(buf + 4) + 1);
			if (strtoul(buf, NULL, 10) != i)
				TAP_FAIL("line %zu: got \"%s\"", i, buf);
			total++;
		}
		/* The leftover "part" prefixes the next number. */
	}
	ASSERT_INT_EQ(total, 100000);
	ASSERT_INT_EQ(linebuf_pending(lb), 4);
	linebuf_free(lb);
	TEST_DONE();

	TEST_START("one million small lines straddling feeds");
	lb = linebuf_create(64 * 1024 * 1024);
	big = xmalloc(65536);
	n = 0;
	p = "{\"jsonrpc\":\"2.0\",\"method\":\"x\"}\n";
	while (n + strlen(p) < 65536)
		n += (size_t)snprintf(big + n, 65536 - n, "%s", p);
	total = 0;
	t0 = now();
	while (total < 1000000) {
		/* Feed at an offset so lines straddle feeds. */
		linebuf_feed(lb, big, n - 7);
		linebuf_feed(lb, big + n - 7, 7);
		while (linebuf_next(lb, &line, &len) == LINEBUF_OK) {
			if (len != strlen(p) - 1)
				TAP_FAIL("bad line length %zu", len);
			total++;
		}
	}
	printf("# %zu lines in %.3f s\n", total, now() - t0);
	ASSERT_TRUE(total >= 1000000);
	ASSERT_INT_EQ(linebuf_pending(lb), 0);
	free(big);
	linebuf_free(lb);
	TEST_DONE();

	TEST_START("free(NULL) is fine");
	linebuf_free(NULL);
	TEST_DONE();

	return (tap_end());
}
