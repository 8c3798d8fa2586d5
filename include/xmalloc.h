/*
 * Allocation that never returns NULL: out of memory is fatal here and only
 * here. xmalloc_init() gives jansson the same policy, so a NULL from a
 * jansson constructor always means bad input.
 */
#ifndef ACPX_XMALLOC_H
#define ACPX_XMALLOC_H

#include <stdarg.h>
#include <stddef.h>

void	 xmalloc_init(void);
void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
int	 xasprintf(char **, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
int	 xvasprintf(char **, const char *, va_list)
	    __attribute__((format(printf, 2, 0)));
void	 fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
