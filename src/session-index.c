#include <config.h>

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "buf.h"
#include "fsutil.h"
#include "session-index.h"
#include "session-index-impl.h"
#include "session-path.h"
#include "session-record.h"
#include "session-store.h"
#include "xmalloc.h"

/*
 * The listing index (see session-index.h). On disk, a private cache of
 * this machine in its byte order, read by one mmap and used in place (no
 * parser, no copies):
 *	struct ix_head, then n struct ix_ent sorted by file name, then the
 *	string area (NUL-terminated strings the entries point into by offset).
 * An entry flagged IX_READ is a file name only: that file is read every
 * time (not a valid record, or not yet settled). An entry flagged
 * IX_HASHED was written by the process that had just written the record
 * (session_index_note()): it holds for a file of exactly its size whose
 * bytes hash to its hash, whatever the file's stat and age; a lookup reads
 * such a file (no parse) to check. The head's stamp is the
 * sessions directory's (device, inode, mtime, ctime) when it was last
 * scanned, zero when it had not settled then. Anything that does not
 * check out exactly (magic, sizes, offsets, order) is rebuilt.
 */

#define INDEX_SUFFIX	".index"	/* ~/.acpx/sessions.index */
#define INDEX_OLD	".index"	/* the JSON index of older versions */
#define INDEX_MAGIC	"acpx-native-ix4"
#define INDEX_MAX_BYTES	((size_t)1 << 30)
#define IX_NONE		UINT32_MAX	/* no name */
#define IX_CLOSED	0x1
#define IX_READ		0x2
#define IX_HASHED	0x4	/* trusted by content: size and hash, no stat */
/*
 * A file (or the directory) unchanged for this long before it was read
 * cannot hide a change made in the same clock tick as the read
 * (ACPX_SESSION_INDEX_SETTLE_MS).
 */
#define INDEX_SETTLE_MS	2000

struct ix_head {
	char		magic[16];
	uint64_t	dev, ino, mtime, ctime;	/* the directory; ino 0: none */
	uint64_t	n;			/* entries */
	uint64_t	strbytes;		/* bytes of the string area */
};

struct ix_ent {
	uint64_t	ino, size, ctime;
	uint64_t	hash;			/* IX_HASHED: of the bytes */
	uint32_t	file, id, agent, cwd, name, last;
	uint32_t	flags;
	uint32_t	pad;
};

/* The strings of a list: the mapped index and copies. */
struct session_index_mem {
	void	 *map;
	size_t	  maplen;
	char	**own;
	size_t	  nown;
};

/* A loaded index (in the mapping of mem). */
struct ix_file {
	const struct ix_head	*h;
	const struct ix_ent	*e;
	const char		*s;
	size_t			 n;
};

/* A new index being written. */
struct ix_writer {
	struct buf	ents;
	struct buf	strs;
	size_t		n;
};

/* How long a record must have been unchanged to be trusted, in ns. */
static long long
index_settle_ns(void)
{
	static long long	 ns = -1;
	const char		*v;
	char			*end;
	long			 ms;

	if (ns >= 0)
		return (ns);
	ms = INDEX_SETTLE_MS;
	if ((v = getenv("ACPX_SESSION_INDEX_SETTLE_MS")) != NULL && *v >= '0' &&
	    *v <= '9') {
		errno = 0;
		ms = strtol(v, &end, 10);
		if (errno != 0 || *end != '\0' || ms > 3600000)
			ms = INDEX_SETTLE_MS;
	}
	ns = (long long)ms * 1000000LL;
	return (ns);
}

static long long
index_ns(const struct timespec *ts)
{
	return ((long long)ts->tv_sec * 1000000000LL + ts->tv_nsec);
}

/* Had what sb describes been unchanged for the settling time by now? */
static int
index_settled(const struct stat *sb)
{
	struct timespec	now;

	(void)clock_gettime(CLOCK_REALTIME, &now);
	return (index_ns(&sb->st_ctim) + index_settle_ns() < index_ns(&now));
}

static int
index_cmp_names(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

/* ---------------------------------------------------------------- memory */

static struct session_index_mem *
index_mem(struct session_index_list *l)
{
	if (l->mem == NULL)
		l->mem = xcalloc(1, sizeof *l->mem);
	return (l->mem);
}

/* A copy of s (NULL stays NULL) the list owns. */
static const char *
index_dup(struct session_index_list *l, const char *s)
{
	struct session_index_mem	*m;

	if (s == NULL)
		return (NULL);
	m = index_mem(l);
	m->own = xreallocarray(m->own, m->nown + 1, sizeof *m->own);
	m->own[m->nown] = xstrdup(s);
	return (m->own[m->nown++]);
}

static void
index_add(struct session_index_list *l, const char *id, const char *agent,
    const char *cwd, const char *name, const char *last, int closed)
{
	struct session_index_entry	*x;

	if ((l->n & (l->n - 1)) == 0)	/* 0, 1, 2, 4, ...: grow */
		l->v = xreallocarray(l->v, l->n == 0 ? 1 : l->n * 2,
		    sizeof *l->v);
	x = &l->v[l->n++];
	x->record_id = id;
	x->agent_command = agent;
	x->cwd = cwd;
	x->name = name;
	x->last_used_at = last;
	x->closed = closed;
}

/* ------------------------------------------------------------ the file */

static char *
index_path(const char *dir)
{
	char	*path;

	xasprintf(&path, "%s%s", dir, INDEX_SUFFIX);
	return (path);
}

/* Is off the start of a string of the area? */
static int
index_off_ok(uint32_t off, size_t strbytes)
{
	return ((size_t)off < strbytes);
}

/*
 * Map the index of dir into l's memory as *f; 0 if it is missing,
 * unreadable or not exactly what this version writes (then it is
 * rebuilt).
 */
static int
index_load(const char *dir, struct session_index_list *l, struct ix_file *f)
{
	struct session_index_mem	*m;
	const struct ix_ent		*e;
	struct stat			 sb;
	char				*path;
	void				*map;
	size_t				 len, i, sb_bytes;
	uint64_t			 n, strbytes;
	int				 fd;

	memset(f, 0, sizeof *f);
	path = index_path(dir);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	free(path);
	if (fd == -1)
		return (0);
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    sb.st_size < (off_t)sizeof *f->h ||
	    (uint64_t)sb.st_size > INDEX_MAX_BYTES) {
		close(fd);
		return (0);
	}
	len = (size_t)sb.st_size;
	map = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return (0);
	f->h = map;
	n = f->h->n;
	strbytes = f->h->strbytes;
	sb_bytes = len - sizeof *f->h;
	if (memcmp(f->h->magic, INDEX_MAGIC, sizeof f->h->magic) != 0 ||
	    n > sb_bytes / sizeof *f->e || strbytes == 0 ||
	    n * sizeof *f->e + strbytes != sb_bytes)
		goto bad;
	f->e = (const struct ix_ent *)(f->h + 1);
	f->s = (const char *)(f->e + n);
	f->n = (size_t)n;
	if (f->s[strbytes - 1] != '\0')
		goto bad;
	for (i = 0; i < f->n; i++) {
		e = &f->e[i];
		if (!index_off_ok(e->file, strbytes) ||
		    !index_off_ok(e->id, strbytes) ||
		    !index_off_ok(e->agent, strbytes) ||
		    !index_off_ok(e->cwd, strbytes) ||
		    !index_off_ok(e->last, strbytes) ||
		    (e->name != IX_NONE && !index_off_ok(e->name,
		    strbytes)))
			goto bad;
		if (i > 0 && strcmp(f->s + f->e[i - 1].file, f->s + e->file) >=
		    0)
			goto bad;
	}
	m = index_mem(l);
	m->map = map;
	m->maplen = len;
	return (1);
bad:
	munmap(map, len);
	memset(f, 0, sizeof *f);
	return (0);
}

/* Does the index's stamp say the directory (as sb) is unchanged? */
static int
index_stamp_ok(const struct ix_file *f, const struct stat *sb)
{
	return (f->h != NULL && f->h->ino != 0 &&
	    f->h->dev == (uint64_t)sb->st_dev &&
	    f->h->ino == (uint64_t)sb->st_ino &&
	    f->h->mtime == (uint64_t)index_ns(&sb->st_mtim) &&
	    f->h->ctime == (uint64_t)index_ns(&sb->st_ctim));
}

/* Does entry e describe the file as sb shows it? */
static int
index_entry_fresh(const struct ix_ent *e, const struct stat *sb)
{
	return (!(e->flags & (IX_READ|IX_HASHED)) &&
	    e->ino == (uint64_t)sb->st_ino &&
	    e->size == (uint64_t)sb->st_size &&
	    e->ctime == (uint64_t)index_ns(&sb->st_ctim));
}

/* List entry e (its strings in the mapping). */
static void
index_list_ent(struct session_index_list *l, const struct ix_file *f,
    const struct ix_ent *e)
{
	index_add(l, f->s + e->id, f->s + e->agent, f->s + e->cwd,
	    e->name == IX_NONE ? NULL : f->s + e->name, f->s + e->last,
	    (e->flags & IX_CLOSED) != 0);
}

static uint32_t
index_w_str(struct ix_writer *w, const char *s)
{
	uint32_t	off = (uint32_t)w->strs.len;

	if (s == NULL)
		return (IX_NONE);
	(void)buf_add(&w->strs, s, strlen(s) + 1);
	return (off);
}

/* Append an entry; a file to read every time when id is NULL. */
static void
index_w_add(struct ix_writer *w, const char *file, const struct stat *sb,
    const char *id, const char *agent, const char *cwd, const char *name,
    const char *last, int closed)
{
	struct ix_ent	e;

	memset(&e, 0, sizeof e);
	e.file = index_w_str(w, file);
	if (id == NULL) {
		e.flags = IX_READ;
		e.id = e.agent = e.cwd = e.last = e.file;
		e.name = IX_NONE;
	} else {
		e.ino = (uint64_t)sb->st_ino;
		e.size = (uint64_t)sb->st_size;
		e.ctime = (uint64_t)index_ns(&sb->st_ctim);
		e.id = index_w_str(w, id);
		e.agent = index_w_str(w, agent);
		e.cwd = index_w_str(w, cwd);
		e.name = index_w_str(w, name);
		e.last = index_w_str(w, last);
		e.flags = closed ? IX_CLOSED : 0;
	}
	(void)buf_add(&w->ents, &e, sizeof e);
	w->n++;
}

/* Copy entry e of f (its flags and hash too). */
static void
index_w_copy(struct ix_writer *w, const struct ix_file *f,
    const struct ix_ent *e)
{
	struct ix_ent	c = *e;

	c.file = index_w_str(w, f->s + e->file);
	c.id = index_w_str(w, f->s + e->id);
	c.agent = index_w_str(w, f->s + e->agent);
	c.cwd = index_w_str(w, f->s + e->cwd);
	c.name = e->name == IX_NONE ? IX_NONE : index_w_str(w,
	    f->s + e->name);
	c.last = index_w_str(w, f->s + e->last);
	(void)buf_add(&w->ents, &c, sizeof c);
	w->n++;
}

/* A 64-bit hash of n bytes (FNV-1a's primes, a word at a time). */
static uint64_t
index_hash(const char *p, size_t n)
{
	uint64_t	h = 0xcbf29ce484222325ULL ^ (uint64_t)n, v;

	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&v, p, 8);
		h = (h ^ v) * 0x100000001b3ULL;
		h ^= h >> 32;
	}
	for (; n > 0; p++, n--)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	return (h ^ (h >> 32));
}

/* Does file (in dfd) hold exactly the bytes hashed entry e describes? */
static int
index_hash_ok(int dfd, const char *file, const struct ix_ent *e)
{
	struct buf	b;
	int		fd, ok;

	if ((fd = openat(dfd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return (0);
	buf_init(&b, (size_t)e->size + 1);
	ok = buf_read_fd(&b, fd) == 0 && b.len == e->size &&
	    index_hash(b.p, b.len) == e->hash;
	close(fd);
	buf_free(&b);
	return (ok);
}

/*
 * Replace the index of dir with w's entries, stamped with the directory
 * as dsb shows it (NULL: no stamp). Atomic (fsutil_write, not durable:
 * a cache); best effort.
 */
static void
index_save(const char *dir, struct ix_writer *w, const struct stat *dsb)
{
	struct ix_head	 h;
	struct buf	 b;
	char		*path;

	if (w->strs.len == 0)
		(void)buf_addc(&w->strs, '\0');
	if (w->strs.len > UINT32_MAX)
		return;
	memset(&h, 0, sizeof h);
	memcpy(h.magic, INDEX_MAGIC, sizeof h.magic);
	if (dsb != NULL) {
		h.dev = (uint64_t)dsb->st_dev;
		h.ino = (uint64_t)dsb->st_ino;
		h.mtime = (uint64_t)index_ns(&dsb->st_mtim);
		h.ctime = (uint64_t)index_ns(&dsb->st_ctim);
	}
	h.n = w->n;
	h.strbytes = w->strs.len;
	buf_init(&b, 0);
	if (buf_reserve(&b, sizeof h + w->ents.len + w->strs.len) == 0) {
		(void)buf_add(&b, &h, sizeof h);
		(void)buf_add(&b, w->ents.p, w->ents.len);
		(void)buf_add(&b, w->strs.p, w->strs.len);
		path = index_path(dir);
		(void)fsutil_write(path, b.p, b.len, FSUTIL_NOSYNC, NULL);
		free(path);
	}
	buf_free(&b);
}

/* ------------------------------------------------------------- the scan */

/* The .json record files of the directory, sorted; *n of them. */
static char **
index_names(DIR *d, size_t *n)
{
	struct dirent	*de;
	struct stat	 sb;
	char		**names = NULL;
	size_t		  len;
	int		  regular;

	*n = 0;
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len < 5 || strcmp(de->d_name + len - 5, ".json") != 0 ||
		    strcmp(de->d_name, "index.json") == 0)
			continue;
		if (de->d_type == DT_UNKNOWN)
			regular = fstatat(dirfd(d), de->d_name, &sb,
			    AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode);
		else
			regular = de->d_type == DT_REG;
		if (!regular)
			continue;
		names = xreallocarray(names, *n + 1, sizeof *names);
		names[(*n)++] = xstrdup(de->d_name);
	}
	if (*n > 0)
		qsort(names, *n, sizeof *names, index_cmp_names);
	return (names);
}

static const char *
index_jstr(const json_t *o, const char *key)
{
	return (json_string_value(json_object_get(o, key)));
}

/*
 * A file the store skips, read loosely as the completions always have: a
 * JSON object with the session schema and string acpx_record_id,
 * agent_command and cwd is offered. Never cached.
 */
static void
index_read_loose(int dfd, const char *file, const char *agent_command,
    struct session_index_list *l)
{
	struct buf	 b;
	json_t		*o = NULL;
	const char	*schema, *cmd, *last;
	int		 fd;

	if ((fd = openat(dfd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return;
	buf_init(&b, INDEX_MAX_BYTES);
	if (buf_read_fd(&b, fd) == 0)
		o = json_loadb(b.p, b.len, 0, NULL);
	close(fd);
	buf_free(&b);
	schema = index_jstr(o, "schema");
	cmd = index_jstr(o, "agent_command");
	if (schema != NULL && strcmp(schema, SESSION_RECORD_SCHEMA) == 0 &&
	    index_jstr(o, "acpx_record_id") != NULL && cmd != NULL &&
	    index_jstr(o, "cwd") != NULL && (agent_command == NULL ||
	    strcmp(cmd, agent_command) == 0)) {
		last = index_jstr(o, "last_used_at");
		index_add(l, index_dup(l, index_jstr(o, "acpx_record_id")),
		    index_dup(l, cmd), index_dup(l, index_jstr(o, "cwd")),
		    index_dup(l, index_jstr(o, "name")),
		    index_dup(l, last != NULL ? last : ""),
		    json_is_true(json_object_get(o, "closed")));
	}
	json_decref(o);
}

/*
 * A file whose entry cannot be used: read it as the scan does (listed if
 * valid, warned about if not). Its new entry goes to w (if not NULL): the
 * record if it had settled, else the file to read every time. The record
 * read goes to keep when it is listed and keep is not NULL. Returns 1 if
 * the entry written is a record.
 */
static int
index_read(int dfd, const char *dir, const char *file,
    const char *agent_command, int flags, session_store_warn_fn warn,
    void *arg, struct session_index_list *l, struct ix_writer *w,
    struct session_list *keep)
{
	struct session_record	*r;
	struct stat		 sb;
	char			*why = NULL, *path;
	int			 settled;

	r = session_store_read_at(dfd, file, NULL, &sb, &why);
	if (r == NULL && why != NULL && agent_command != NULL) {
		/* The scan of one agent skips some files unread. */
		free(why);
		why = NULL;
		r = session_store_read_at(dfd, file, agent_command, &sb, &why);
	}
	if (r == NULL) {
		if (why != NULL && (flags & SESSION_INDEX_LOOSE))
			index_read_loose(dfd, file, agent_command, l);
		if (why != NULL && warn != NULL) {
			xasprintf(&path, "%s/%s", dir, file);
			warn(path, why, arg);
			free(path);
		}
		free(why);
		if (w != NULL)
			index_w_add(w, file, NULL, NULL, NULL, NULL, NULL,
			    NULL, 0);
		return (0);
	}
	settled = index_settled(&sb);
	if (w != NULL)
		index_w_add(w, file, &sb, settled ? r->record_id : NULL,
		    r->agent_command, r->cwd, r->name, r->last_used_at,
		    r->closed);
	if (agent_command == NULL || strcmp(r->agent_command,
	    agent_command) == 0) {
		index_add(l, index_dup(l, r->record_id),
		    index_dup(l, r->agent_command), index_dup(l, r->cwd),
		    index_dup(l, r->name), index_dup(l, r->last_used_at),
		    r->closed);
		if (keep != NULL) {
			keep->v = xreallocarray(keep->v, keep->n + 1,
			    sizeof *keep->v);
			keep->v[keep->n++] = r;
			r = NULL;
		}
	}
	session_record_free(r);
	return (settled);
}

/*
 * The directory has not changed since the index was built: its entries
 * are the listing (the files to read every time read again).
 */
static void
index_scan_fast(int dfd, const char *dir, const struct ix_file *f,
    const char *agent_command, int flags, struct session_index_list *l,
    session_store_warn_fn warn, void *arg)
{
	const struct ix_ent	*e;
	size_t			 i;

	for (i = 0; i < f->n; i++) {
		e = &f->e[i];
		if (e->flags & IX_READ)
			(void)index_read(dfd, dir, f->s + e->file,
			    agent_command, flags, warn, arg, l, NULL, NULL);
		else if (agent_command == NULL || strcmp(f->s + e->agent,
		    agent_command) == 0)
			index_list_ent(l, f, e);
	}
}

/* Every record file stat'ed against its entry; the index rewritten. */
static void
index_scan_check(DIR *d, const char *dir, const struct ix_file *f,
    const struct stat *dsb, const char *agent_command, int flags,
    struct session_index_list *l, session_store_warn_fn warn, void *arg,
    struct session_list *keep)
{
	struct ix_writer	 w;
	const struct ix_ent	*e;
	struct stat		 sb;
	char			**names;
	size_t			 n, i, j = 0;
	int			 dfd = dirfd(d), cmp, dirty = f->h == NULL, stamp;

	memset(&w, 0, sizeof w);
	buf_init(&w.ents, 0);
	buf_init(&w.strs, 0);
	stamp = index_settled(dsb);
	names = index_names(d, &n);
	for (i = 0; i < n; i++) {
		/* Both lists are sorted: entries of removed files drop out. */
		e = NULL;
		for (; j < f->n; j++) {
			if ((cmp = strcmp(f->s + f->e[j].file, names[i])) >= 0) {
				if (cmp == 0)
					e = &f->e[j++];
				break;
			}
			dirty = 1;
		}
		if (e != NULL && !(e->flags & IX_READ) && fstatat(dfd,
		    names[i], &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
		    (index_entry_fresh(e, &sb) || ((e->flags & IX_HASHED) &&
		    (uint64_t)sb.st_size == e->size &&
		    index_hash_ok(dfd, names[i], e)))) {
			if (agent_command == NULL || strcmp(f->s + e->agent,
			    agent_command) == 0)
				index_list_ent(l, f, e);
			index_w_copy(&w, f, e);
			continue;
		}
		/* Changed, new, or read every time: read it. */
		if (index_read(dfd, dir, names[i], agent_command, flags, warn,
		    arg, l, &w, keep) || e == NULL || !(e->flags & IX_READ))
			dirty = 1;
	}
	if (j < f->n)
		dirty = 1;
	/* Stamped only when no change can hide in the clock's tick. */
	if (dirty || (stamp && !index_stamp_ok(f, dsb)))
		index_save(dir, &w, stamp ? dsb : NULL);
	buf_free(&w.ents);
	buf_free(&w.strs);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* The valid records, through the index; those read in full to keep. */
int
session_index_scan_keep(const char *agent_command, int flags,
    struct session_index_list *l, session_store_warn_fn warn, void *arg,
    struct session_list *keep, char **cause)
{
	struct ix_file	 f;
	struct stat	 dsb;
	DIR		*d;
	char		*dir;
	int		 rc;

	memset(l, 0, sizeof *l);
	if ((rc = session_store_open_dir(&d, &dir, cause)) != 1)
		return (rc);
	(void)index_load(dir, l, &f);
	if (fstat(dirfd(d), &dsb) == -1)
		memset(&dsb, 0, sizeof dsb);
	if (!(flags & SESSION_INDEX_VALIDATE) && index_stamp_ok(&f, &dsb))
		index_scan_fast(dirfd(d), dir, &f, agent_command, flags, l,
		    warn, arg);
	else {
		/* The older versions' JSON index, inside the directory. */
		if (f.h == NULL)
			(void)unlinkat(dirfd(d), INDEX_OLD, 0);
		index_scan_check(d, dir, &f, &dsb, agent_command, flags, l,
		    warn, arg, keep);
	}
	closedir(d);
	free(dir);
	return (0);
}

/* The valid records, through the index. */
int
session_index_scan(const char *agent_command, int flags,
    struct session_index_list *l, session_store_warn_fn warn, void *arg,
    char **cause)
{
	return (session_index_scan_keep(agent_command,
	    flags & SESSION_INDEX_LOOSE, l, warn, arg, NULL, cause));
}

/* Free the entries, their strings and the array. */
void
session_index_list_free(struct session_index_list *l)
{
	struct session_index_mem	*m = l->mem;
	size_t				 i;

	if (m != NULL) {
		for (i = 0; i < m->nown; i++)
			free(m->own[i]);
		free(m->own);
		if (m->map != NULL)
			munmap(m->map, m->maplen);
		free(m);
	}
	free(l->v);
	memset(l, 0, sizeof *l);
}

/* Note the record r just written to its file as text (len bytes). */
void
session_index_note(const struct session_record *r, const char *text,
    size_t len)
{
	struct session_index_list	 l;
	struct ix_writer		 w;
	struct ix_file			 f;
	struct ix_ent			 e;
	char				*dir, *path, *file;
	size_t				 i;
	int				 added = 0, cmp;

	memset(&l, 0, sizeof l);
	dir = session_path_dir();
	path = session_path(r->record_id, ".json");
	file = strrchr(path, '/') + 1;
	if (!index_load(dir, &l, &f))
		goto out;	/* none yet: the next lookup builds it */
	memset(&w, 0, sizeof w);
	buf_init(&w.ents, 0);
	buf_init(&w.strs, 0);
	memset(&e, 0, sizeof e);
	e.size = (uint64_t)len;
	e.hash = index_hash(text, len);
	e.flags = IX_HASHED | (r->closed ? IX_CLOSED : 0);
	for (i = 0; i <= f.n; i++) {
		cmp = i < f.n ? strcmp(f.s + f.e[i].file, file) : 1;
		if (cmp > 0 && !added) {	/* sorted by file name */
			e.file = index_w_str(&w, file);
			e.id = index_w_str(&w, r->record_id);
			e.agent = index_w_str(&w, r->agent_command);
			e.cwd = index_w_str(&w, r->cwd);
			e.name = index_w_str(&w, r->name);
			e.last = index_w_str(&w, r->last_used_at);
			(void)buf_add(&w.ents, &e, sizeof e);
			w.n++;
			added = 1;
		}
		if (i < f.n && cmp != 0)
			index_w_copy(&w, &f, &f.e[i]);
	}
	/* No stamp: the next listing checks every file (and restamps). */
	index_save(dir, &w, NULL);
	buf_free(&w.ents);
	buf_free(&w.strs);
out:
	session_index_list_free(&l);
	free(path);
	free(dir);
}
