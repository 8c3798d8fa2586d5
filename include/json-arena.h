/*
 * jansson's allocator. Between json_arena_begin() and json_arena_end()
 * (the parse of one inbound line) jansson's small allocations are carved
 * from 64 KiB blocks instead of malloc'ed one by one; a block is reused
 * once every allocation made in it has been freed through jansson
 * (json_decref), so a value kept from a message stays valid and only
 * keeps its block. Everything else jansson allocates, in particular the
 * text of json_dumps() that callers free(), comes from xmalloc.
 *
 * Ownership: the blocks belong to this module; json_arena_free() tells
 * them from malloc'ed memory by address. Single-threaded, like jansson's
 * use here. Off in sanitizer builds, so that use-after-free of a parsed
 * value is still caught.
 */
#ifndef ACPX_JSON_ARENA_H
#define ACPX_JSON_ARENA_H

#include <stddef.h>

/* jansson's allocation functions (json_set_alloc_funcs; xmalloc_init()). */
void	*json_arena_malloc(size_t);
void	 json_arena_free(void *);

/* Parse from the arena until json_arena_end(). Not nested. */
void	 json_arena_begin(void);
void	 json_arena_end(void);

#endif
