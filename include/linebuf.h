/*
 * A capped line buffer for NDJSON peers: bytes go in as they arrive, whole
 * lines come out. A line longer than the cap is an error, never a realloc
 * without bound. Pure: no I/O.
 */
#ifndef ACPX_LINEBUF_H
#define ACPX_LINEBUF_H

#include <stddef.h>

struct linebuf;

enum linebuf_status {
	LINEBUF_OK = 0,		/* a line was returned */
	LINEBUF_NEED_MORE,	/* no complete line buffered */
	LINEBUF_TOO_LONG	/* the current line exceeds the cap */
};

/* max = largest line in bytes (without the '\n'); 0 = unlimited. */
struct linebuf	*linebuf_create(size_t max);
void		 linebuf_free(struct linebuf *);

/* Append bytes read from the peer. */
void		 linebuf_feed(struct linebuf *, const char *, size_t);

/*
 * Zero-copy feed: linebuf_reserve() returns room for at least want bytes
 * (invalidating earlier line pointers); read into it, then tell the buffer
 * how many bytes arrived with linebuf_commit().
 */
char		*linebuf_reserve(struct linebuf *, size_t want);
void		 linebuf_commit(struct linebuf *, size_t);

/*
 * Take the next complete line (without '\n'; a trailing '\r' is kept).
 * *line points into the buffer and is valid until the next call;
 * *len is its length. Returns LINEBUF_TOO_LONG once the pending line
 * exceeds the cap (even before its '\n' arrives); complete lines before it
 * are returned first. TOO_LONG is final: later input is dropped, so memory
 * stays bounded, and every later call returns TOO_LONG again.
 */
enum linebuf_status linebuf_next(struct linebuf *, char **line, size_t *len);

/* Bytes buffered but not yet returned (a partial line at EOF). */
size_t		 linebuf_pending(const struct linebuf *);

#endif
