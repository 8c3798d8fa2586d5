#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "linebuf.h"
#include "xmalloc.h"

/*
 * A capped line splitter on a struct buf. Bytes live in b.p[off, b.len);
 * b.p[off, tail) holds only complete lines (tail is one past the last '\n'
 * seen), b.p[tail, b.len) is the partial line still arriving. Lines are
 * consumed by advancing off, never by moving memory; the unread part is
 * moved to the front only when the free space at the end runs out, so a
 * stream of small lines costs one short memmove per buffer-full rather
 * than one per line.
 *
 * The cap is checked in raw bytes as data is committed, so a line that never
 * ends cannot grow the buffer past the cap: once the partial line is over
 * it, its bytes are dropped and the buffer is marked too long. The complete
 * lines before it are still returned, then LINEBUF_TOO_LONG for good.
 */

#define LINEBUF_INITIAL	(64 * 1024)
#define LINEBUF_SHRINK	(1024 * 1024)	/* free idle buffers above */

struct linebuf {
	struct buf	 b;		/* b.p[0, b.len): the data */
	size_t		 off;		/* first unread byte */
	size_t		 tail;		/* one past the last '\n' */
	size_t		 max;		/* largest line, 0 = unlimited */
	int		 too_long;	/* sticky: a line exceeded max */
};

/* Create an empty buffer; max is the largest line in bytes, 0 = unlimited. */
struct linebuf *
linebuf_create(size_t max)
{
	struct linebuf	*lb;

	lb = xcalloc(1, sizeof *lb);
	buf_init(&lb->b, 0);	/* lines are capped, not the buffer */
	lb->max = max;
	return (lb);
}

/* Free a buffer (NULL is fine). */
void
linebuf_free(struct linebuf *lb)
{
	if (lb == NULL)
		return;
	buf_free(&lb->b);
	free(lb);
}

/* Free bytes after the data (the buffer keeps one for its NUL). */
static size_t
linebuf_room(const struct linebuf *lb)
{
	return (lb->b.cap > lb->b.len ? lb->b.cap - lb->b.len - 1 : 0);
}

/* Return at least want bytes of free space at the end of the data. */
char *
linebuf_reserve(struct linebuf *lb, size_t want)
{
	if (lb->off == lb->b.len) {
		/* Everything consumed: start again at the front. */
		lb->off = lb->tail = lb->b.len = 0;
		if (lb->b.cap > LINEBUF_SHRINK && want <= LINEBUF_INITIAL)
			buf_free(&lb->b);
	}
	if (linebuf_room(lb) >= want)
		return (lb->b.p + lb->b.len);

	if (lb->off != 0) {
		memmove(lb->b.p, lb->b.p + lb->off, lb->b.len - lb->off);
		lb->b.len -= lb->off;
		lb->tail = lb->tail > lb->off ? lb->tail - lb->off : 0;
		lb->off = 0;
		if (linebuf_room(lb) >= want)
			return (lb->b.p + lb->b.len);
	}
	if (buf_reserve(&lb->b, want < LINEBUF_INITIAL ? LINEBUF_INITIAL :
	    want) == -1)
		fatal("linebuf: buffer too large");
	return (lb->b.p + lb->b.len);
}

/* Account for n bytes written at the pointer linebuf_reserve() returned. */
void
linebuf_commit(struct linebuf *lb, size_t n)
{
	const char	*nl;
	size_t		 start;

	if (n == 0)
		return;
	if (lb->too_long)
		return;		/* the connection is done; drop input */

	start = lb->b.len;
	lb->b.len += n;
	for (nl = lb->b.p + lb->b.len; nl > lb->b.p + start; nl--) {
		if (nl[-1] == '\n') {
			lb->tail = (size_t)(nl - lb->b.p);
			break;
		}
	}

	/* The partial line is over the cap: drop it now, report it later. */
	if (lb->max != 0 && lb->b.len - lb->tail > lb->max) {
		lb->b.len = lb->tail;
		lb->too_long = 1;
	}
}

/* Append bytes read from the peer. */
void
linebuf_feed(struct linebuf *lb, const char *data, size_t n)
{
	char	*p;

	if (n == 0 || lb->too_long)
		return;
	p = linebuf_reserve(lb, n);
	memcpy(p, data, n);
	linebuf_commit(lb, n);
}

/* Take the next complete line; see linebuf.h. */
enum linebuf_status
linebuf_next(struct linebuf *lb, char **line, size_t *len)
{
	char	*start, *nl;
	size_t	 n;

	*line = NULL;
	*len = 0;
	if (lb->off == lb->tail)
		return (lb->too_long ? LINEBUF_TOO_LONG : LINEBUF_NEED_MORE);

	start = lb->b.p + lb->off;
	nl = memchr(start, '\n', lb->tail - lb->off);	/* always found */
	n = (size_t)(nl - start);
	if (lb->max != 0 && n > lb->max) {
		lb->off = lb->tail = lb->b.len = 0;
		lb->too_long = 1;
		return (LINEBUF_TOO_LONG);
	}
	lb->off += n + 1;
	*line = start;
	*len = n;
	return (LINEBUF_OK);
}

/* Bytes buffered but not yet returned (a partial line at EOF). */
size_t
linebuf_pending(const struct linebuf *lb)
{
	return (lb->b.len - lb->off);
}
