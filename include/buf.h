/*
 * The one growable byte buffer: amortised doubling, always NUL-terminated
 * once anything was added, with an optional maximum size so a peer can
 * never make it grow without bound.
 *
 *	struct buf b = BUF_INITIALIZER;		(or buf_init(&b, max))
 *	buf_adds(&b, "x"); ... s = buf_take(&b);	(caller frees s)
 *
 * Ownership: the buffer owns b->p until buf_take() hands it to the caller
 * or buf_free() releases it. b->p and b->len may be read directly.
 * A buffer made with buf_init_secret() never leaves its bytes behind in
 * freed memory: growth copies and wipes, buf_free() wipes (after
 * buf_take() the caller wipes).
 */
#ifndef ACPX_BUF_H
#define ACPX_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char	*p;		/* NULL until the first add */
	size_t	 len;		/* bytes held, without the NUL */
	size_t	 cap;		/* bytes allocated */
	size_t	 max;		/* largest len allowed; 0 = no limit */
	int	 secret;	/* wipe what it frees */
};

#define BUF_INITIALIZER	{ NULL, 0, 0, 0, 0 }

/* An empty buffer that refuses to hold more than max bytes (0: no limit). */
void	 buf_init(struct buf *, size_t max);

/* The same, for secrets: freed memory is wiped first. */
void	 buf_init_secret(struct buf *, size_t max);

/*
 * Append n bytes / a C string / one byte / n copies of c / printf output.
 * 0, or -1 (nothing appended) if the result would pass the maximum.
 */
int	 buf_add(struct buf *, const void *, size_t n);
int	 buf_adds(struct buf *, const char *);
int	 buf_addc(struct buf *, char);
int	 buf_fill(struct buf *, char c, size_t n);
int	 buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
int	 buf_vprintf(struct buf *, const char *, va_list);

/* Room for at least n more bytes; -1 past the maximum. */
int	 buf_reserve(struct buf *, size_t n);

/*
 * Append what fd holds up to its end (read(2) in chunks, EINTR retried).
 * 0 at the end (b->p is then a string, "" if nothing was read); -1 with
 * errno on a read error, or with EFBIG when there is more than the maximum
 * (the bytes read so far stay in the buffer).
 */
int	 buf_read_fd(struct buf *, int fd);

/* Remove the first n bytes (all if n >= len), keeping the memory. */
void	 buf_drain(struct buf *, size_t n);

/* Empty the buffer, keeping its memory. */
void	 buf_reset(struct buf *);

/* The contents as a string the caller frees ("" if empty); b is emptied. */
char	*buf_take(struct buf *);

/* Release the memory. */
void	 buf_free(struct buf *);

#endif
