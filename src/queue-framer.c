#include <config.h>

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acpx.h"
#include "linebuf.h"
#include "queue-proto.h"
#include "queue-proto-impl.h"
#include "xmalloc.h"

/*
 * Framing of the queue IPC stream (queue-proto.h): a capped line splitter
 * over the bytes read from the socket.
 */

struct queue_framer {
	struct linebuf	*lb;
};

/* A capped line splitter. */
struct queue_framer *
queue_framer_create(size_t max)
{
	struct queue_framer	*f;

	f = xcalloc(1, sizeof *f);
	f->lb = linebuf_create(max);
	return (f);
}

void
queue_framer_free(struct queue_framer *f)
{
	if (f == NULL)
		return;
	linebuf_free(f->lb);
	free(f);
}

/* Room for at least want bytes. */
char *
queue_framer_reserve(struct queue_framer *f, size_t want)
{
	return (linebuf_reserve(f->lb, want));
}

/* Commit bytes read into the reserved room. */
void
queue_framer_commit(struct queue_framer *f, size_t n)
{
	linebuf_commit(f->lb, n);
}

/* Append bytes. */
void
queue_framer_feed(struct queue_framer *f, const char *p, size_t n)
{
	linebuf_feed(f->lb, p, n);
}

/* Next non-empty trimmed line. */
enum queue_frame_status
queue_framer_next(struct queue_framer *f, char **line, size_t *len)
{
	char	*p;
	size_t	 n;

	for (;;) {
		switch (linebuf_next(f->lb, &p, &n)) {
		case LINEBUF_NEED_MORE:
			return (QUEUE_FRAME_NEED_MORE);
		case LINEBUF_TOO_LONG:
			return (QUEUE_FRAME_TOO_LONG);
		case LINEBUF_OK:
			break;
		}
		while (n > 0 && isspace((unsigned char)*p)) {
			p++;
			n--;
		}
		while (n > 0 && isspace((unsigned char)p[n - 1]))
			n--;
		if (n == 0)
			continue;
		*line = p;
		*len = n;
		return (QUEUE_FRAME_LINE);
	}
}
