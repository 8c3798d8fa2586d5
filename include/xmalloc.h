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

/*
 * xmalloc-arena.c: jansson's allocator (installed by xmalloc_init()).
 * Between xmalloc_arena_begin() and xmalloc_arena_end() (the parse of one
 * inbound line) jansson's small allocations are carved from 64 KiB blocks
 * instead of malloc'ed one by one; a block is carved again once every
 * allocation made in it has been freed through jansson (json_decref), so
 * a value kept from a message stays valid and only keeps its block.
 * Everything else jansson allocates, in particular the text of
 * json_dumps() that callers free(), comes from xmalloc. The blocks belong
 * to the module, which tells them from malloc'ed memory by address.
 * Single-threaded, like jansson's use here; off in sanitizer builds, so
 * that use-after-free of a parsed value is still caught. Not nested.
 */
void	*xmalloc_arena_malloc(size_t);
void	 xmalloc_arena_free(void *);
void	 xmalloc_arena_begin(void);
void	 xmalloc_arena_end(void);

#endif
