#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

/*
 * Block allocation for the values jansson builds while parsing a line: a
 * parse makes some forty small allocations that are all freed together
 * when the message has been handled, which malloc serves slowly (its
 * per-size caches overflow). A block counts its live allocations and is
 * carved again from the start once they are all freed.
 */

#if defined(__SANITIZE_ADDRESS__)
#define ARENA_ENABLED	0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_ENABLED	0
#endif
#endif
#ifndef ARENA_ENABLED
#define ARENA_ENABLED	1
#endif

#define ARENA_BLOCK	((size_t)64 * 1024)	/* also the blocks' alignment */
#define ARENA_MAX	((size_t)2048)	/* larger requests go to malloc */
#define ARENA_ALIGN	((size_t)16)
#define ARENA_SPARES	2		/* empty blocks kept for reuse */

struct arena_block {
	size_t			 used;	/* from the block start, header included */
	size_t			 live;	/* allocations not yet freed */
	struct arena_block	*next;	/* on the spare list */
};

#define ARENA_HDR	((sizeof (struct arena_block) + ARENA_ALIGN - 1) & \
			    ~(ARENA_ALIGN - 1))

static int			 arena_on;
static struct arena_block	*arena_cur;	/* being carved */
static struct arena_block	*arena_spare;	/* empty, for reuse */
static int			 arena_nspare;

/* Every block's address (open addressing, linear probing; 0 is empty). */
static uintptr_t	*arena_set;
static size_t		 arena_set_cap;	/* a power of two */
static size_t		 arena_set_n;

static size_t
arena_slot(uintptr_t a)
{
	return ((size_t)(((uint64_t)(a / ARENA_BLOCK) *
	    0x9e3779b97f4a7c15ULL) >> 20) & (arena_set_cap - 1));
}

static int
arena_set_has(uintptr_t a)
{
	size_t	i;

	if (arena_set_n == 0)
		return (0);
	for (i = arena_slot(a); arena_set[i] != 0; i = (i + 1) &
	    (arena_set_cap - 1))
		if (arena_set[i] == a)
			return (1);
	return (0);
}

static void	arena_set_add(uintptr_t);

static void
arena_set_grow(void)
{
	uintptr_t	*old = arena_set;
	size_t		 i, n = arena_set_cap;

	arena_set_cap = n == 0 ? 16 : n * 2;
	arena_set = xcalloc(arena_set_cap, sizeof *arena_set);
	arena_set_n = 0;
	for (i = 0; i < n; i++)
		if (old[i] != 0)
			arena_set_add(old[i]);
	free(old);
}

static void
arena_set_add(uintptr_t a)
{
	size_t	i;

	if ((arena_set_n + 1) * 2 > arena_set_cap)
		arena_set_grow();
	for (i = arena_slot(a); arena_set[i] != 0; i = (i + 1) &
	    (arena_set_cap - 1))
		;
	arena_set[i] = a;
	arena_set_n++;
}

/* Remove a, moving back the entries its slot had pushed along. */
static void
arena_set_del(uintptr_t a)
{
	size_t	i, j, k, mask = arena_set_cap - 1;

	for (i = arena_slot(a); arena_set[i] != a; i = (i + 1) & mask)
		;
	arena_set[i] = 0;
	arena_set_n--;
	for (j = (i + 1) & mask; arena_set[j] != 0; j = (j + 1) & mask) {
		k = arena_slot(arena_set[j]);
		/* Entry j stays unless its home k lies cyclically in (i, j]. */
		if ((i <= j) ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		arena_set[i] = arena_set[j];
		arena_set[j] = 0;
		i = j;
	}
}

/* An empty block: a spare, or a new one. */
static struct arena_block *
arena_block_new(void)
{
	struct arena_block	*b;
	void			*p;

	if ((b = arena_spare) != NULL) {
		arena_spare = b->next;
		arena_nspare--;
	} else {
		if (posix_memalign(&p, ARENA_BLOCK, ARENA_BLOCK) != 0)
			fatal("out of memory");
		b = p;
		arena_set_add((uintptr_t)b);
	}
	b->used = ARENA_HDR;
	b->live = 0;
	b->next = NULL;
	return (b);
}

/* A block nothing lives in any more (and not being carved). */
static void
arena_block_done(struct arena_block *b)
{
	if (arena_nspare < ARENA_SPARES) {
		b->next = arena_spare;
		arena_spare = b;
		arena_nspare++;
		return;
	}
	arena_set_del((uintptr_t)b);
	free(b);
}

void *
xmalloc_arena_malloc(size_t size)
{
	struct arena_block	*b = arena_cur;
	void			*p;

	if (!arena_on || size > ARENA_MAX)
		return (xmalloc(size));
	size = (size + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
	if (b == NULL || b->used + size > ARENA_BLOCK) {
		if (b != NULL && b->live == 0) {
			b->used = ARENA_HDR;	/* all freed: carve again */
		} else {
			arena_cur = b = arena_block_new();
		}
	}
	p = (char *)b + b->used;
	b->used += size;
	b->live++;
	return (p);
}

void
xmalloc_arena_free(void *p)
{
	struct arena_block	*b;

	if (p == NULL)
		return;
	b = (struct arena_block *)((uintptr_t)p & ~(uintptr_t)(ARENA_BLOCK - 1));
	/* Most frees are of the block being carved: known ours, no lookup. */
	if (b == arena_cur && b != NULL &&
	    (char *)p - (char *)b >= (ptrdiff_t)ARENA_HDR) {
		if (--b->live == 0)
			b->used = ARENA_HDR;
		return;
	}
	if ((char *)p - (char *)b < (ptrdiff_t)ARENA_HDR ||
	    !arena_set_has((uintptr_t)b)) {
		free(p);
		return;
	}
	if (--b->live > 0)
		return;
	if (b == arena_cur)
		b->used = ARENA_HDR;
	else
		arena_block_done(b);
}

void
xmalloc_arena_begin(void)
{
	arena_on = ARENA_ENABLED;
}

void
xmalloc_arena_end(void)
{
	arena_on = 0;
}
