#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "xmalloc.h"

/*
 * The growable buffer every module builds text in. Growth doubles from
 * 64 bytes; the maximum, if any, is checked before anything is copied, so
 * a refused append leaves the buffer as it was.
 */

#define BUF_FIRST	64
#define BUF_READ	65536	/* bytes asked of each read(2) */

void
buf_init(struct buf *b, size_t max)
{
	b->p = NULL;
	b->len = b->cap = 0;
	b->max = max;
	b->secret = 0;
}

void
buf_init_secret(struct buf *b, size_t max)
{
	buf_init(b, max);
	b->secret = 1;
}

/* Zero n bytes at p where the compiler cannot drop the stores. */
static void
buf_wipe(void *p, size_t n)
{
	volatile unsigned char	*v = p;

	while (n-- > 0)
		*v++ = 0;
}

int
buf_reserve(struct buf *b, size_t n)
{
	size_t	 need, old;
	char	*p;

	if (n > SIZE_MAX - b->len - 1 || (b->max != 0 && b->len + n > b->max))
		return (-1);
	need = b->len + n + 1;
	if (need <= b->cap)
		return (0);
	if (b->cap == 0)
		b->cap = BUF_FIRST;
	old = b->cap;
	while (b->cap < need)
		b->cap = b->cap > SIZE_MAX / 2 ? need : b->cap * 2;
	if (b->secret && b->p != NULL) {
		p = xmalloc(b->cap);
		memcpy(p, b->p, b->len + 1);
		buf_wipe(b->p, old);
		free(b->p);
		b->p = p;
	} else
		b->p = xreallocarray(b->p, 1, b->cap);
	return (0);
}

int
buf_read_fd(struct buf *b, int fd)
{
	size_t	want;
	ssize_t	n;
	char	c;

	for (;;) {
		want = BUF_READ;
		if (b->max != 0 && b->max - b->len < want)
			want = b->max - b->len;
		if (want == 0) {
			/* Full: any byte more is past the maximum. */
			if ((n = read(fd, &c, 1)) == -1 && errno == EINTR)
				continue;
			if (n == 1) {
				buf_wipe(&c, 1);
				errno = EFBIG;
				return (-1);
			}
		} else {
			if (buf_reserve(b, want) == -1) {
				errno = EFBIG;
				return (-1);
			}
			n = read(fd, b->p + b->len, want);
			if (n == -1 && errno == EINTR)
				continue;
			if (n > 0) {
				b->len += (size_t)n;
				b->p[b->len] = '\0';
				continue;
			}
		}
		if (n == -1)
			return (-1);
		/* The end: a string even when fd held nothing. */
		(void)buf_reserve(b, 0);
		b->p[b->len] = '\0';
		return (0);
	}
}

int
buf_add(struct buf *b, const void *s, size_t n)
{
	if (buf_reserve(b, n) == -1)
		return (-1);
	if (n > 0)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return (0);
}

int
buf_adds(struct buf *b, const char *s)
{
	return (buf_add(b, s, strlen(s)));
}

int
buf_addc(struct buf *b, char c)
{
	/* Room for it and the NUL, within the maximum: buf_add()'s result. */
	if (b->len + 2 <= b->cap && (b->max == 0 || b->len + 1 <= b->max)) {
		b->p[b->len++] = c;
		b->p[b->len] = '\0';
		return (0);
	}
	return (buf_add(b, &c, 1));
}

int
buf_fill(struct buf *b, char c, size_t n)
{
	if (buf_reserve(b, n) == -1)
		return (-1);
	memset(b->p + b->len, c, n);
	b->len += n;
	b->p[b->len] = '\0';
	return (0);
}

int
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	char	*s;
	int	 n, rc;

	n = xvasprintf(&s, fmt, ap);
	rc = buf_add(b, s, (size_t)n);
	free(s);
	return (rc);
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	ap;
	int	rc;

	va_start(ap, fmt);
	rc = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return (rc);
}

void
buf_drain(struct buf *b, size_t n)
{
	if (n >= b->len) {
		buf_reset(b);
		return;
	}
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
	b->p[b->len] = '\0';
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
}

char *
buf_take(struct buf *b)
{
	char	*p = b->p != NULL ? b->p : xstrdup("");

	b->p = NULL;
	b->len = b->cap = 0;
	return (p);
}

void
buf_free(struct buf *b)
{
	if (b->secret && b->p != NULL)
		buf_wipe(b->p, b->cap);
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}
