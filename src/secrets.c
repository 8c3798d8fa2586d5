#include <config.h>

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acpx.h"
#include "buf.h"
#include "secrets.h"
#include "xmalloc.h"

/*
 * The Warp secrets file. The format is deliberately small (spec §2):
 *
 *	# comment
 *	KEY=value
 *	export KEY="value"
 *	KEY='value'
 *
 * Leading blanks, a CR before the newline and blanks around the value are
 * ignored; one pair of matching quotes around the whole value is removed
 * (no escapes, no expansion, no inline comments: '#' inside a value is
 * part of it). Anything else is an error naming the file and the line.
 * A later KEY replaces an earlier one, as a shell would. Values are kept
 * only here and wiped on free.
 */

extern char	**environ;

struct secrets_entry {
	char	*name;
	char	*value;
};

struct secrets {
	char			*path;
	struct secrets_entry	*entries;
	size_t			 n;
};

static const char	secrets_redacted[] = "[redacted]";

/* Overwrite len bytes so the compiler cannot drop it. */
void
secrets_wipe(void *p, size_t len)
{
	volatile unsigned char	*v = p;

	while (len-- > 0)
		*v++ = 0;
}

static char *
secrets_expand(const char *home, const char *p, int relative_to_home)
{
	char	*out, cwd[PATH_MAX];

	if (strcmp(p, "~") == 0)
		return (xstrdup(home));
	if (strncmp(p, "~/", 2) == 0) {
		xasprintf(&out, "%s/%s", home, p + 2);
		return (out);
	}
	if (*p == '/')
		return (xstrdup(p));
	if (relative_to_home) {
		xasprintf(&out, "%s/%s", home, p);
		return (out);
	}
	if (getcwd(cwd, sizeof cwd) == NULL)
		return (xstrdup(p));
	xasprintf(&out, "%s/%s", cwd, p);
	return (out);
}

/* The secrets file to use. */
char *
secrets_path(const char *home, const char *configured)
{
	const char	*e = getenv(SECRETS_ENV_FILE_VAR);

	if (e != NULL && *e != '\0')
		return (secrets_expand(home, e, 0));
	if (configured != NULL && *configured != '\0')
		return (secrets_expand(home, configured, 1));
	return (secrets_expand(home, SECRETS_DEFAULT_FILE, 1));
}

/* An empty set. */
struct secrets *
secrets_empty(void)
{
	return (xcalloc(1, sizeof (struct secrets)));
}

static void
secrets_put(struct secrets *s, const char *name, size_t nlen,
    const char *value, size_t vlen)
{
	struct secrets_entry	*e = NULL;
	size_t			 i;

	for (i = 0; i < s->n; i++) {
		if (strlen(s->entries[i].name) == nlen &&
		    memcmp(s->entries[i].name, name, nlen) == 0) {
			e = &s->entries[i];
			secrets_wipe(e->value, strlen(e->value));
			free(e->value);
			break;
		}
	}
	if (e == NULL) {
		s->entries = xreallocarray(s->entries, s->n + 1,
		    sizeof *s->entries);
		e = &s->entries[s->n++];
		e->name = xstrndup(name, nlen);
	}
	e->value = xstrndup(value, vlen);
}

static int
secrets_blank(char c)
{
	return (c == ' ' || c == '\t');
}

static int
secrets_name_char(char c, int first)
{
	if (c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))
		return (1);
	return (!first && c >= '0' && c <= '9');
}

/*
 * One line (without its newline). Returns NULL on success or a static
 * reason for the error message; never a value.
 */
static const char *
secrets_line(struct secrets *s, const char *p, size_t len)
{
	const char	*end = p + len, *name, *v, *ve;
	size_t		 nlen;
	char		 q;

	if (len > 0 && end[-1] == '\r')
		end--;
	while (p < end && secrets_blank(*p))
		p++;
	while (end > p && secrets_blank(end[-1]))
		end--;
	if (p == end || *p == '#')
		return (NULL);
	if ((size_t)(end - p) > 7 && memcmp(p, "export", 6) == 0 &&
	    secrets_blank(p[6])) {
		p += 6;
		while (p < end && secrets_blank(*p))
			p++;
	}
	name = p;
	if (p == end || !secrets_name_char(*p, 1))
		return ("expected KEY=value (a variable name first)");
	while (p < end && secrets_name_char(*p, 0))
		p++;
	nlen = (size_t)(p - name);
	if (p == end)
		return ("expected KEY=value (no '=')");
	if (*p != '=') {
		if (secrets_blank(*p))
			return ("expected KEY=value (no blanks before '=')");
		return ("invalid character in variable name");
	}
	v = p + 1;
	while (v < end && secrets_blank(*v))
		v++;
	ve = end;
	if (v < ve && (*v == '"' || *v == '\'')) {
		q = *v;
		if (ve - v < 2 || ve[-1] != q) {
			if (memchr(v + 1, q, (size_t)(ve - v - 1)) != NULL)
				return ("text after the closing quote");
			return ("unterminated quote");
		}
		v++;
		ve--;
		if (memchr(v, q, (size_t)(ve - v)) != NULL)
			return ("text after the closing quote");
	} else if (memchr(v, ' ', (size_t)(ve - v)) != NULL ||
	    memchr(v, '\t', (size_t)(ve - v)) != NULL)
		return ("blanks in an unquoted value (quote the value; "
		    "comments go on their own line)");
	secrets_put(s, name, nlen, v, (size_t)(ve - v));
	return (NULL);
}

/* Parse secrets file text. */
struct secrets *
secrets_parse(const char *text, size_t len, const char *path, char **cause)
{
	struct secrets	*s = secrets_empty();
	const char	*p = text, *end = text + len, *nl, *why;
	size_t		 line = 0;

	if (path != NULL)
		s->path = xstrdup(path);
	else
		path = "(secrets)";
	if (memchr(text, '\0', len) != NULL) {
		xasprintf(cause, "Warp secrets file %s: contains a NUL byte; "
		    "expected KEY=value lines", path);
		secrets_free(s);
		return (NULL);
	}
	while (p < end) {
		line++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if ((why = secrets_line(s, p, (size_t)(nl - p))) != NULL) {
			xasprintf(cause, "Warp secrets file %s:%zu: %s", path,
			    line, why);
			secrets_free(s);
			return (NULL);
		}
		p = nl < end ? nl + 1 : end;
	}
	return (s);
}

static int
secrets_fail(enum secrets_status *status, enum secrets_status st)
{
	*status = st;
	return (-1);
}

/* Open and check the file: ours, regular, not a symlink, mode & 077 == 0. */
static int
secrets_open(const char *path, enum secrets_status *status, char **cause)
{
	struct stat	 sb;
	char		 target[PATH_MAX];
	ssize_t		 n;
	int		 fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1) {
		if (errno == ENOENT || errno == ENOTDIR) {
			xasprintf(cause, "Warp secrets file %s does not exist; "
			    "create it (mode 600) with the WARP_<PROVIDER>_API_KEY "
			    "and WARP_<PROVIDER>_BASE_URL lines", path);
			return (secrets_fail(status, SECRETS_MISSING));
		}
		if (errno == ELOOP && lstat(path, &sb) == 0 &&
		    S_ISLNK(sb.st_mode)) {
			n = readlink(path, target, sizeof target - 1);
			target[n > 0 ? n : 0] = '\0';
			xasprintf(cause, "Warp secrets file %s is a symbolic link "
			    "(to %s); acpx reads only a regular file: point "
			    "warp.envFile or " SECRETS_ENV_FILE_VAR " at the real "
			    "file", path, target);
			return (secrets_fail(status, SECRETS_INSECURE));
		}
		xasprintf(cause, "Cannot open warp secrets file %s: %s%s", path,
		    strerror(errno), errno == EACCES ? " (fix: chmod 600 "
		    "the file as its owner)" : "");
		return (secrets_fail(status, SECRETS_UNREADABLE));
	}
	if (fstat(fd, &sb) == -1) {
		xasprintf(cause, "Cannot stat warp secrets file %s: %s", path,
		    strerror(errno));
		close(fd);
		return (secrets_fail(status, SECRETS_UNREADABLE));
	}
	if (!S_ISREG(sb.st_mode)) {
		xasprintf(cause, "Warp secrets file %s is not a regular file",
		    path);
		close(fd);
		return (secrets_fail(status, SECRETS_INSECURE));
	}
	if (sb.st_uid != geteuid()) {
		xasprintf(cause, "Warp secrets file %s is owned by uid %lu, not "
		    "by you (uid %lu); acpx refuses it: fix with chown "
		    "$(id -u) %s && chmod 600 %s", path,
		    (unsigned long)sb.st_uid, (unsigned long)geteuid(), path,
		    path);
		close(fd);
		return (secrets_fail(status, SECRETS_INSECURE));
	}
	if ((sb.st_mode & 077) != 0) {
		xasprintf(cause, "Warp secrets file %s is accessible by group or "
		    "others (mode %04o); acpx refuses it: fix with chmod 600 %s",
		    path, (unsigned)(sb.st_mode & 07777), path);
		close(fd);
		return (secrets_fail(status, SECRETS_INSECURE));
	}
	if (sb.st_size > SECRETS_MAX_FILE) {
		xasprintf(cause, "Warp secrets file %s is larger than %d bytes",
		    path, SECRETS_MAX_FILE);
		close(fd);
		return (secrets_fail(status, SECRETS_INVALID));
	}
	return (fd);
}

/* Check and read the secrets file. */
struct secrets *
secrets_load(const char *path, enum secrets_status *status, char **cause)
{
	struct secrets	*s;
	struct buf	 b;
	int		 fd, rc, saved;

	*status = SECRETS_OK;
	if ((fd = secrets_open(path, status, cause)) == -1)
		return (NULL);
	/* The file grown since secrets_open() is refused as well. */
	buf_init_secret(&b, SECRETS_MAX_FILE);
	rc = buf_read_fd(&b, fd);
	saved = errno;
	close(fd);
	if (rc == -1 && saved == EFBIG) {
		xasprintf(cause, "Warp secrets file %s is larger than %d bytes",
		    path, SECRETS_MAX_FILE);
		*status = SECRETS_INVALID;
		buf_free(&b);
		return (NULL);
	}
	if (rc == -1) {
		xasprintf(cause, "Cannot read warp secrets file %s: %s", path,
		    strerror(saved));
		*status = SECRETS_UNREADABLE;
		buf_free(&b);
		return (NULL);
	}
	s = secrets_parse(b.p, b.len, path, cause);
	buf_free(&b);
	if (s == NULL)
		*status = SECRETS_INVALID;
	return (s);
}

/* Free, wiping values. */
void
secrets_free(struct secrets *s)
{
	size_t	i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++) {
		secrets_wipe(s->entries[i].value, strlen(s->entries[i].value));
		free(s->entries[i].value);
		free(s->entries[i].name);
	}
	free(s->entries);
	free(s->path);
	free(s);
}

static const struct secrets_entry *
secrets_find(const struct secrets *s, const char *name)
{
	size_t	i;

	for (i = 0; s != NULL && i < s->n; i++) {
		if (strcmp(s->entries[i].name, name) == 0)
			return (&s->entries[i]);
	}
	return (NULL);
}

/* A variable's value: file first, then the environment. */
const char *
secrets_get(const struct secrets *s, const char *name)
{
	const struct secrets_entry	*e = secrets_find(s, name);
	const char			*v;

	if (e != NULL && *e->value != '\0')
		return (e->value);
	if ((v = getenv(name)) != NULL && *v != '\0')
		return (v);
	return (NULL);
}

/* Where a variable comes from. */
const char *
secrets_source(const struct secrets *s, const char *name)
{
	const struct secrets_entry	*e = secrets_find(s, name);
	const char			*v;

	if (e != NULL && *e->value != '\0')
		return ("file");
	if ((v = getenv(name)) != NULL && *v != '\0')
		return ("environment");
	return (NULL);
}

/* Number of entries from the file. */
size_t
secrets_count(const struct secrets *s)
{
	return (s != NULL ? s->n : 0);
}

/* The file's name. */
const char *
secrets_file(const struct secrets *s)
{
	return (s != NULL ? s->path : NULL);
}

static int
secrets_hideable(const char *name, size_t nlen, const char *value)
{
	if (value == NULL || strlen(value) < 4)
		return (0);
	return (!(nlen >= 4 && memcmp(name + nlen - 4, "_URL", 4) == 0));
}

/* Call fn for every value that must not be shown. */
static void
secrets_each(const struct secrets *s, void (*fn)(const char *, void *),
    void *arg)
{
	size_t		 i;
	char		**e;
	const char	*eq;

	for (i = 0; s != NULL && i < s->n; i++) {
		if (secrets_hideable(s->entries[i].name,
		    strlen(s->entries[i].name), s->entries[i].value))
			fn(s->entries[i].value, arg);
	}
	for (e = environ; e != NULL && *e != NULL; e++) {
		if (strncmp(*e, "WARP_", 5) != 0 || (eq = strchr(*e, '=')) == NULL)
			continue;
		if (secrets_hideable(*e, (size_t)(eq - *e), eq + 1))
			fn(eq + 1, arg);
	}
}

static void
secrets_redact_one(const char *value, void *arg)
{
	char		**text = arg, *hit, *out;
	size_t		  vlen = strlen(value), off = 0;

	while ((hit = strstr(*text + off, value)) != NULL) {
		xasprintf(&out, "%.*s%s%s", (int)(hit - *text), *text,
		    secrets_redacted, hit + vlen);
		off = (size_t)(hit - *text) + sizeof secrets_redacted - 1;
		secrets_wipe(*text, strlen(*text));
		free(*text);
		*text = out;
	}
}

/* A redacted copy of text. */
char *
secrets_redact(const struct secrets *s, const char *text)
{
	char	*out = xstrdup(text);

	secrets_each(s, secrets_redact_one, &out);
	return (out);
}

/* A copy of text without the given values (4 bytes or longer). */
char *
secrets_redact_values(const char *text, char *const *values)
{
	char	*out = xstrdup(text);
	size_t	 i;

	for (i = 0; values != NULL && values[i] != NULL; i++) {
		if (strlen(values[i]) >= 4)
			secrets_redact_one(values[i], &out);
	}
	return (out);
}

static void
secrets_leak_one(const char *value, void *arg)
{
	const char	**text = arg;

	if (*text != NULL && strstr(*text, value) != NULL)
		*text = NULL;
}

/* Non-zero if text contains a secret value. */
int
secrets_leaks(const struct secrets *s, const char *text)
{
	const char	*t = text;

	secrets_each(s, secrets_leak_one, &t);
	return (t == NULL);
}

/* A status as a detail code. */
const char *
secrets_status_code(enum secrets_status st)
{
	switch (st) {
	case SECRETS_OK:
		return (NULL);
	case SECRETS_MISSING:
		return ("WARP_ENV_MISSING");
	case SECRETS_INSECURE:
		return ("WARP_ENV_INSECURE");
	case SECRETS_UNREADABLE:
		return ("WARP_ENV_UNREADABLE");
	case SECRETS_INVALID:
		return ("WARP_ENV_INVALID");
	}
	return (NULL);
}
