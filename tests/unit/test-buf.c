/*
 * buf.c: the growable buffer. Appends of every kind, NUL termination,
 * growth past the first allocation, take/reset/drain/free, and the maximum: an
 * append that would pass it is refused whole and leaves the buffer as it
 * was; buf_read_fd() reads to the end of a file, up to the maximum and not
 * a byte more; a secret buffer holds its bytes across growth.
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "tap.h"

static int	fds[8];
static int	nfds;

/* A read-only descriptor of an unlinked file of n bytes 'a'..'z' repeated. */
static int
file_of(size_t n)
{
	FILE	*f = tmpfile();
	size_t	 i;

	if (f == NULL) {
		perror("tmpfile");
		exit(99);
	}
	for (i = 0; i < n; i++)
		fputc('a' + (int)(i % 26), f);
	fflush(f);
	rewind(f);
	fds[nfds] = dup(fileno(f));
	fclose(f);
	return (fds[nfds++]);
}

int
main(void)
{
	struct buf	 b = BUF_INITIALIZER;
	char		*s, big[1000];
	size_t		 cap;
	int		 i;

	TEST_START("appends, always NUL-terminated");
	ASSERT_INT_EQ(buf_adds(&b, "ab"), 0);
	ASSERT_INT_EQ(buf_addc(&b, 'c'), 0);
	ASSERT_INT_EQ(buf_add(&b, "dxx", 1), 0);
	ASSERT_INT_EQ(buf_fill(&b, ' ', 2), 0);
	ASSERT_INT_EQ(buf_printf(&b, "%d-%s", 42, "z"), 0);
	ASSERT_INT_EQ(b.len, 10);
	ASSERT_STR_EQ(b.p, "abcd  42-z");
	TEST_DONE();

	TEST_START("grows past its first allocation, bytes intact");
	memset(big, 'q', sizeof big);
	for (i = 0; i < 100; i++)
		ASSERT_INT_EQ(buf_add(&b, big, sizeof big), 0);
	ASSERT_INT_EQ(b.len, 10 + 100 * sizeof big);
	ASSERT_TRUE(b.cap > b.len);
	ASSERT_TRUE(b.p[b.len] == '\0');
	ASSERT_TRUE(b.p[10] == 'q' && b.p[b.len - 1] == 'q');
	TEST_DONE();

	TEST_START("reset keeps the memory, take hands it over");
	cap = b.cap;
	buf_reset(&b);
	ASSERT_INT_EQ(b.len, 0);
	ASSERT_INT_EQ(b.cap, cap);
	ASSERT_STR_EQ(b.p, "");
	buf_adds(&b, "kept");
	s = buf_take(&b);
	ASSERT_STR_EQ(s, "kept");
	ASSERT_TRUE(b.p == NULL && b.len == 0 && b.cap == 0);
	free(s);
	s = buf_take(&b);		/* empty: "" */
	ASSERT_STR_EQ(s, "");
	free(s);
	TEST_DONE();

	TEST_START("the maximum is enforced and a refused append changes nothing");
	buf_init(&b, 8);
	ASSERT_INT_EQ(buf_adds(&b, "12345"), 0);
	ASSERT_INT_EQ(buf_adds(&b, "6789"), -1);
	ASSERT_INT_EQ(b.len, 5);
	ASSERT_STR_EQ(b.p, "12345");
	ASSERT_INT_EQ(buf_fill(&b, 'x', 4), -1);
	ASSERT_INT_EQ(buf_printf(&b, "%s", "abcd"), -1);
	ASSERT_INT_EQ(buf_reserve(&b, 4), -1);
	ASSERT_INT_EQ(buf_adds(&b, "678"), 0);	/* exactly the maximum */
	ASSERT_INT_EQ(b.len, 8);
	ASSERT_INT_EQ(buf_addc(&b, '9'), -1);
	ASSERT_STR_EQ(b.p, "12345678");
	ASSERT_INT_EQ(buf_add(&b, "", 0), 0);	/* nothing more is fine */
	ASSERT_INT_EQ(buf_reserve(&b, (size_t)-1), -1);	/* no overflow */
	buf_free(&b);
	ASSERT_TRUE(b.p == NULL);
	TEST_DONE();

	TEST_START("no maximum: only overflow is refused");
	buf_init(&b, 0);
	ASSERT_INT_EQ(buf_reserve(&b, (size_t)-1), -1);
	ASSERT_INT_EQ(buf_reserve(&b, 1 << 20), 0);
	ASSERT_TRUE(b.cap > 1 << 20);
	buf_free(&b);
	TEST_DONE();

	TEST_START("drain drops bytes from the front, keeping the memory");
	ASSERT_INT_EQ(buf_adds(&b, "hello world"), 0);
	cap = b.cap;
	buf_drain(&b, 6);
	ASSERT_INT_EQ(b.len, 5);
	ASSERT_STR_EQ(b.p, "world");
	ASSERT_INT_EQ(b.cap, cap);
	buf_drain(&b, 99);
	ASSERT_INT_EQ(b.len, 0);
	ASSERT_STR_EQ(b.p, "");
	buf_drain(&b, 0);
	ASSERT_INT_EQ(b.len, 0);
	buf_free(&b);
	buf_drain(&b, 1);		/* an empty, unallocated buffer */
	ASSERT_TRUE(b.p == NULL && b.len == 0);
	TEST_DONE();

	TEST_START("buf_read_fd: an empty file is an empty string");
	ASSERT_INT_EQ(buf_read_fd(&b, file_of(0)), 0);
	ASSERT_PTR_NOT_NULL(b.p);
	ASSERT_INT_EQ(b.len, 0);
	ASSERT_STR_EQ(b.p, "");
	buf_free(&b);
	TEST_DONE();

	TEST_START("buf_read_fd: a file larger than one read, bytes intact");
	ASSERT_INT_EQ(buf_read_fd(&b, file_of(200000)), 0);
	ASSERT_INT_EQ(b.len, 200000);
	ASSERT_TRUE(b.p[0] == 'a' && b.p[199999] == 'a' + 199999 % 26);
	ASSERT_TRUE(b.p[b.len] == '\0');
	buf_free(&b);
	TEST_DONE();

	TEST_START("buf_read_fd: up to the maximum, and EFBIG one byte past");
	buf_init(&b, 70000);
	ASSERT_INT_EQ(buf_read_fd(&b, file_of(70000)), 0);
	ASSERT_INT_EQ(b.len, 70000);
	buf_free(&b);
	buf_init(&b, 70000);
	errno = 0;
	ASSERT_INT_EQ(buf_read_fd(&b, file_of(70001)), -1);
	ASSERT_INT_EQ(errno, EFBIG);
	ASSERT_INT_EQ(b.len, 70000);
	buf_free(&b);
	TEST_DONE();

	TEST_START("buf_read_fd: a read error is -1 with errno");
	errno = 0;
	ASSERT_INT_EQ(buf_read_fd(&b, -1), -1);
	ASSERT_INT_EQ(errno, EBADF);
	buf_free(&b);
	TEST_DONE();

	TEST_START("a secret buffer keeps its bytes as it grows, and its maximum");
	buf_init_secret(&b, 100 * sizeof big);
	for (i = 0; i < 100; i++)
		ASSERT_INT_EQ(buf_add(&b, big, sizeof big), 0);
	ASSERT_INT_EQ(buf_addc(&b, 'x'), -1);
	ASSERT_INT_EQ(b.len, 100 * sizeof big);
	ASSERT_TRUE(b.p[0] == 'q' && b.p[b.len - 1] == 'q' &&
	    b.p[b.len] == '\0');
	buf_free(&b);
	ASSERT_TRUE(b.p == NULL && b.len == 0);
	TEST_DONE();

	for (i = 0; i < nfds; i++)
		close(fds[i]);
	return (tap_end());
}
