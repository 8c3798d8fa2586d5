#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "acpx.h"
#include "config-file.h"
#include "utf8.h"
#include "xmalloc.h"

/*
 * Reading the files users give us the way the reference (Node) does:
 * fs.readFile(path, "utf8") with Node's error messages, and JSON.parse
 * with V8's error messages and positions. Used for the config files, the
 * --mcp-config file, permission policies and prompt files.
 */

#define CONFIG_MAX_DEPTH	4096

/* ------------------------------------------------------- file errors */

static const struct {
	int		 err_no;
	const char	*code;
	const char	*text;
} config_errnos[] = {
	{ ENOENT, "ENOENT", "no such file or directory" },
	{ EACCES, "EACCES", "permission denied" },
	{ EISDIR, "EISDIR", "illegal operation on a directory" },
	{ ENOTDIR, "ENOTDIR", "not a directory" },
	{ ELOOP, "ELOOP", "too many symbolic links encountered" },
	{ ENAMETOOLONG, "ENAMETOOLONG", "name too long" },
	{ EMFILE, "EMFILE", "too many open files" },
	{ ENFILE, "ENFILE", "file table overflow" },
	{ EPERM, "EPERM", "operation not permitted" },
	{ EIO, "EIO", "i/o error" },
	{ ENXIO, "ENXIO", "no such device or address" },
	{ EBUSY, "EBUSY", "resource busy or locked" },
	{ EAGAIN, "EAGAIN", "resource temporarily unavailable" },
	{ ENOMEM, "ENOMEM", "not enough memory" },
	{ EINVAL, "EINVAL", "invalid argument" },
	{ EROFS, "EROFS", "read-only file system" },
	{ ENOSPC, "ENOSPC", "no space left on device" },
	{ EEXIST, "EEXIST", "file already exists" },
	{ ETXTBSY, "ETXTBSY", "text file is busy" },
	{ EFBIG, "EFBIG", "file too large" },
	{ EOVERFLOW, "EOVERFLOW", "value too large for defined data type" },
	{ EDQUOT, "EDQUOT", "disk quota exceeded" },
};

/* Node's "<CODE>: <description>, <syscall> '<path>'". */
char *
config_errno_message(int err_no, const char *syscall, const char *path)
{
	const char	*code = "UNKNOWN", *text = strerror(err_no);
	char		*out;
	size_t		 i;

	for (i = 0; i < nitems(config_errnos); i++) {
		if (config_errnos[i].err_no == err_no) {
			code = config_errnos[i].code;
			text = config_errnos[i].text;
			break;
		}
	}
	if (path != NULL)
		xasprintf(&out, "%s: %s, %s '%s'", code, text, syscall, path);
	else
		xasprintf(&out, "%s: %s, %s", code, text, syscall);
	return (out);
}

/* Read all of fd; -1 with *err_no on a read error. */
static int
config_slurp(int fd, char **buf, size_t *len, int *err_no)
{
	size_t	 cap = 8192, n = 0;
	char	*p = xmalloc(cap);
	ssize_t	 r;

	for (;;) {
		if (n == cap)
			p = xreallocarray(p, 2, cap), cap *= 2;
		r = read(fd, p + n, cap - n);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			*err_no = errno;
			free(p);
			return (-1);
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*buf = p;
	*len = n;
	return (0);
}

/* Read a whole file as fs.readFile(path, "utf8"). */
int
config_read_file(const char *path, char **text, size_t *len, int *err_no,
    char **cause)
{
	char	*raw;
	size_t	 rawlen;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		*err_no = errno;
		*cause = config_errno_message(errno, "open", path);
		return (-1);
	}
	if (config_slurp(fd, &raw, &rawlen, err_no) == -1) {
		close(fd);
		*cause = config_errno_message(*err_no, "read", NULL);
		return (-1);
	}
	close(fd);
	*text = utf8_fix(raw, rawlen, len);
	free(raw);
	return (0);
}

/* Read all of a file descriptor as UTF-8 text. */
int
config_read_fd(int fd, char **text, size_t *len, char **cause)
{
	char	*raw;
	size_t	 rawlen;
	int	 err_no;

	if (config_slurp(fd, &raw, &rawlen, &err_no) == -1) {
		*cause = config_errno_message(err_no, "read", NULL);
		return (-1);
	}
	*text = utf8_fix(raw, rawlen, len);
	free(raw);
	return (0);
}

/* ------------------------------------------------------ JSON.parse */

struct config_jp {
	const char	*s;
	size_t		 len;
	size_t		 i;
	int		 depth;
	char		*cause;
};

/* UTF-16 offset of byte offset at (V8 positions count code units). */
static size_t
config_jp_pos16(const struct config_jp *p, size_t at)
{
	size_t	i, n = 0;

	for (i = 0; i < at && i < p->len; i++) {
		unsigned char c = (unsigned char)p->s[i];

		if ((c & 0xc0) == 0x80)
			continue;
		n += c >= 0xf0 ? 2 : 1;
	}
	return (n);
}

/* Append the source's UTF-16 units [from, to) as UTF-8 (split pairs: U+FFFD). */
static void
config_jp_substr(const struct config_jp *p, size_t from, size_t to,
    char **out)
{
	size_t	 i = 0, u = 0, clen, units, olen = 0;
	char	*buf = xmalloc(p->len * 3 + 4);

	while (i < p->len && u < to) {
		unsigned char c = (unsigned char)p->s[i];

		clen = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
		if (clen > p->len - i)
			clen = p->len - i;	/* truncated sequence (argv) */
		units = clen == 4 ? 2 : 1;
		if (u >= from && u + units <= to) {
			memcpy(buf + olen, p->s + i, clen);
			olen += clen;
		} else if (u + units > from && u < to) {
			memcpy(buf + olen, "\xef\xbf\xbd", 3);
			olen += 3;
		}
		u += units;
		i += clen;
	}
	buf[olen] = '\0';
	*out = buf;
}

static void
config_jp_fail(struct config_jp *p, size_t at, const char *what)
{
	if (p->cause != NULL)
		return;
	xasprintf(&p->cause, "%s in JSON at position %zu", what,
	    config_jp_pos16(p, at));
}

/* The message for an unexpected token at byte offset at (V8's lookup). */
static void
config_jp_unexpected(struct config_jp *p, size_t at)
{
	static const char *const special[] = { "[object Object]", "undefined",
	    "Infinity", "NaN" };
	char		 tok[8], *ctx;
	unsigned char	 c;
	size_t		 i, clen, len16, pos16;

	if (p->cause != NULL)
		return;
	if (at >= p->len) {
		p->cause = xstrdup("Unexpected end of JSON input");
		return;
	}
	c = (unsigned char)p->s[at];
	if (c == '"') {
		config_jp_fail(p, at, "Unexpected string");
		return;
	}
	if (c == '-' || (c >= '0' && c <= '9')) {
		config_jp_fail(p, at, "Unexpected number");
		return;
	}
	for (i = 0; i < nitems(special); i++) {
		if (p->len == strlen(special[i]) &&
		    memcmp(p->s, special[i], p->len) == 0) {
			xasprintf(&p->cause, "\"%s\" is not valid JSON",
			    special[i]);
			return;
		}
	}
	clen = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
	if (clen > p->len - at)
		clen = p->len - at;	/* truncated sequence (argv) */
	if (clen == 4)
		strcpy(tok, "\xef\xbf\xbd");	/* a lone high surrogate */
	else {
		memcpy(tok, p->s + at, clen);
		tok[clen] = '\0';
	}
	len16 = config_jp_pos16(p, p->len);
	pos16 = config_jp_pos16(p, at);
	if (len16 <= 20) {
		config_jp_substr(p, 0, len16, &ctx);
		xasprintf(&p->cause, "Unexpected token '%s', \"%s\" is not "
		    "valid JSON", tok, ctx);
	} else if (pos16 < 10) {
		config_jp_substr(p, 0, pos16 + 10, &ctx);
		xasprintf(&p->cause, "Unexpected token '%s', \"%s\"... is not "
		    "valid JSON", tok, ctx);
	} else if (pos16 < len16 - 10) {
		config_jp_substr(p, pos16 - 10, pos16 + 10, &ctx);
		xasprintf(&p->cause, "Unexpected token '%s', ...\"%s\"... is "
		    "not valid JSON", tok, ctx);
	} else {
		config_jp_substr(p, pos16 - 10, len16, &ctx);
		xasprintf(&p->cause, "Unexpected token '%s', ...\"%s\" is not "
		    "valid JSON", tok, ctx);
	}
	free(ctx);
}

static void
config_jp_ws(struct config_jp *p)
{
	while (p->i < p->len && (p->s[p->i] == ' ' || p->s[p->i] == '\t' ||
	    p->s[p->i] == '\n' || p->s[p->i] == '\r'))
		p->i++;
}

static int
config_jp_hex(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

static void
config_jp_put(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		while (*len + n + 1 > *cap)
			*cap = *cap == 0 ? 64 : *cap * 2;
		*buf = xreallocarray(*buf, 1, *cap);
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
}

static void
config_jp_put_cp(char **buf, size_t *len, size_t *cap, unsigned int cp)
{
	char	u[4];
	size_t	n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	config_jp_put(buf, len, cap, u, n);
}

/* Four hex digits at p->i; -1 and an error if not. */
static long
config_jp_u4(struct config_jp *p)
{
	long	v = 0;
	int	k, h;

	for (k = 0; k < 4; k++) {
		if (p->i >= p->len || (h = config_jp_hex(p->s[p->i])) == -1) {
			config_jp_fail(p, p->i, "Bad Unicode escape");
			return (-1);
		}
		v = v * 16 + h;
		p->i++;
	}
	return (v);
}

/* A string at p->i (the opening quote). */
static char *
config_jp_string(struct config_jp *p, size_t *outlen)
{
	char		*buf = NULL;
	size_t		 len = 0, cap = 0, clen;
	long		 cp, lo;
	unsigned char	 c;

	config_jp_put(&buf, &len, &cap, "", 0);
	p->i++;
	for (;;) {
		if (p->i >= p->len) {
			config_jp_fail(p, p->len, "Unterminated string");
			goto fail;
		}
		c = (unsigned char)p->s[p->i];
		if (c == '"') {
			p->i++;
			break;
		}
		if (c == '\\') {
			if (++p->i >= p->len) {
				config_jp_unexpected(p, p->len);
				goto fail;
			}
			c = (unsigned char)p->s[p->i];
			switch (c) {
			case '"': case '\\': case '/':
				config_jp_put(&buf, &len, &cap, (char *)&c, 1);
				break;
			case 'b':
				config_jp_put(&buf, &len, &cap, "\b", 1);
				break;
			case 'f':
				config_jp_put(&buf, &len, &cap, "\f", 1);
				break;
			case 'n':
				config_jp_put(&buf, &len, &cap, "\n", 1);
				break;
			case 'r':
				config_jp_put(&buf, &len, &cap, "\r", 1);
				break;
			case 't':
				config_jp_put(&buf, &len, &cap, "\t", 1);
				break;
			case 'u':
				p->i++;
				if ((cp = config_jp_u4(p)) == -1)
					goto fail;
				if (cp >= 0xd800 && cp <= 0xdbff &&
				    p->i + 1 < p->len && p->s[p->i] == '\\' &&
				    p->s[p->i + 1] == 'u') {
					size_t save = p->i;

					p->i += 2;
					if ((lo = config_jp_u4(p)) == -1)
						goto fail;
					if (lo >= 0xdc00 && lo <= 0xdfff)
						cp = 0x10000 + ((cp - 0xd800) << 10) +
						    (lo - 0xdc00);
					else {
						p->i = save;
						cp = 0xfffd;
					}
				} else if (cp >= 0xd800 && cp <= 0xdfff)
					cp = 0xfffd;	/* lone surrogate */
				config_jp_put_cp(&buf, &len, &cap,
				    (unsigned int)cp);
				continue;
			default:
				config_jp_fail(p, p->i, "Bad escaped character");
				goto fail;
			}
			p->i++;
			continue;
		}
		if (c < 0x20) {
			config_jp_fail(p, p->i,
			    "Bad control character in string literal");
			goto fail;
		}
		clen = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
		if (p->i + clen > p->len)
			clen = p->len - p->i;
		config_jp_put(&buf, &len, &cap, p->s + p->i, clen);
		p->i += clen;
	}
	*outlen = len;
	return (buf);
fail:
	free(buf);
	return (NULL);
}

static int
config_jp_digit(const struct config_jp *p)
{
	return (p->i < p->len && p->s[p->i] >= '0' && p->s[p->i] <= '9');
}

/* A number at p->i. */
static json_t *
config_jp_number(struct config_jp *p)
{
	size_t		 start = p->i;
	int		 real = 0;
	char		*text, *end;
	long long	 ll;
	double		 d;

	if (p->s[p->i] == '-')
		p->i++;
	if (p->i < p->len && p->s[p->i] == '0') {
		p->i++;
		if (config_jp_digit(p)) {
			config_jp_unexpected(p, p->i);
			return (NULL);
		}
	} else if (config_jp_digit(p)) {
		while (config_jp_digit(p))
			p->i++;
	} else {
		config_jp_fail(p, p->i, "No number after minus sign");
		return (NULL);
	}
	if (p->i < p->len && p->s[p->i] == '.') {
		real = 1;
		p->i++;
		if (!config_jp_digit(p)) {
			config_jp_fail(p, p->i, "Unterminated fractional number");
			return (NULL);
		}
		while (config_jp_digit(p))
			p->i++;
	}
	if (p->i < p->len && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
		real = 1;
		p->i++;
		if (p->i < p->len && (p->s[p->i] == '+' || p->s[p->i] == '-'))
			p->i++;
		if (!config_jp_digit(p)) {
			config_jp_fail(p, p->i,
			    "Exponent part is missing a number");
			return (NULL);
		}
		while (config_jp_digit(p))
			p->i++;
	}
	text = xstrndup(p->s + start, p->i - start);
	if (!real) {
		errno = 0;
		ll = strtoll(text, &end, 10);
		if (errno == 0 && *end == '\0' && ll <= (1LL << 53) &&
		    ll >= -(1LL << 53)) {
			free(text);
			return (json_integer(ll));
		}
	}
	d = strtod(text, NULL);
	free(text);
	/* JS has Infinity; jansson cannot hold it: the largest double stands in. */
	if (isinf(d))
		d = d > 0 ? DBL_MAX : -DBL_MAX;
	return (json_real(d));
}

/* true/false/null at p->i (V8's ScanLiteral). */
static json_t *
config_jp_literal(struct config_jp *p, const char *lit, json_t *v)
{
	size_t	n = strlen(lit), remaining = p->len - p->i, k;

	if (remaining >= n && memcmp(p->s + p->i, lit, n) == 0) {
		p->i += n;
		return (v);
	}
	p->i++;
	for (k = 1; k < n && k < remaining; k++) {
		if (p->s[p->i] != lit[k]) {
			config_jp_unexpected(p, p->i);
			return (NULL);
		}
		p->i++;
	}
	config_jp_unexpected(p, p->len);
	return (NULL);
}

static json_t	*config_jp_value(struct config_jp *);

static json_t *
config_jp_object(struct config_jp *p)
{
	json_t	*obj = json_object(), *v;
	char	*key;
	size_t	 klen;
	int	 first = 1;

	p->i++;
	config_jp_ws(p);
	if (p->i < p->len && p->s[p->i] == '}') {
		p->i++;
		return (obj);
	}
	for (;;) {
		config_jp_ws(p);
		if (p->i >= p->len || p->s[p->i] != '"') {
			config_jp_fail(p, p->i, first ?
			    "Expected property name or '}'" :
			    "Expected double-quoted property name");
			goto fail;
		}
		if ((key = config_jp_string(p, &klen)) == NULL)
			goto fail;
		config_jp_ws(p);
		if (p->i >= p->len || p->s[p->i] != ':') {
			free(key);
			/* V8 names the colon only for the first property. */
			if (first)
				config_jp_fail(p, p->i,
				    "Expected ':' after property name");
			else
				config_jp_unexpected(p, p->i);
			goto fail;
		}
		p->i++;
		if ((v = config_jp_value(p)) == NULL) {
			free(key);
			goto fail;
		}
		json_object_setn_new_nocheck(obj, key, klen, v);
		free(key);
		first = 0;
		config_jp_ws(p);
		if (p->i < p->len && p->s[p->i] == ',') {
			p->i++;
			continue;
		}
		if (p->i < p->len && p->s[p->i] == '}') {
			p->i++;
			return (obj);
		}
		config_jp_fail(p, p->i, "Expected ',' or '}' after property value");
		goto fail;
	}
fail:
	json_decref(obj);
	return (NULL);
}

static json_t *
config_jp_array(struct config_jp *p)
{
	json_t	*arr = json_array(), *v;

	p->i++;
	config_jp_ws(p);
	if (p->i < p->len && p->s[p->i] == ']') {
		p->i++;
		return (arr);
	}
	for (;;) {
		if ((v = config_jp_value(p)) == NULL)
			goto fail;
		json_array_append_new(arr, v);
		config_jp_ws(p);
		if (p->i < p->len && p->s[p->i] == ',') {
			p->i++;
			continue;
		}
		if (p->i < p->len && p->s[p->i] == ']') {
			p->i++;
			return (arr);
		}
		config_jp_fail(p, p->i, "Expected ',' or ']' after array element");
		goto fail;
	}
fail:
	json_decref(arr);
	return (NULL);
}

static json_t *
config_jp_value(struct config_jp *p)
{
	json_t	*v = NULL;
	char	*s;
	size_t	 n;

	config_jp_ws(p);
	if (p->i >= p->len) {
		config_jp_unexpected(p, p->i);
		return (NULL);
	}
	if (++p->depth > CONFIG_MAX_DEPTH) {
		if (p->cause == NULL)
			p->cause = xstrdup("Maximum call stack size exceeded");
		return (NULL);
	}
	switch (p->s[p->i]) {
	case '"':
		if ((s = config_jp_string(p, &n)) != NULL) {
			v = json_stringn_nocheck(s, n);
			free(s);
		}
		break;
	case '-': case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		v = config_jp_number(p);
		break;
	case '{':
		v = config_jp_object(p);
		break;
	case '[':
		v = config_jp_array(p);
		break;
	case 't':
		v = config_jp_literal(p, "true", json_true());
		break;
	case 'f':
		v = config_jp_literal(p, "false", json_false());
		break;
	case 'n':
		v = config_jp_literal(p, "null", json_null());
		break;
	default:
		config_jp_unexpected(p, p->i);
		break;
	}
	p->depth--;
	return (v);
}

/* JSON.parse with Node 20's messages. */
json_t *
config_json_parse(const char *text, size_t len, char **cause)
{
	struct config_jp	 p;
	json_t			*v;

	memset(&p, 0, sizeof p);
	p.s = text;
	p.len = len;
	if ((v = config_jp_value(&p)) != NULL) {
		config_jp_ws(&p);
		if (p.i < p.len) {
			xasprintf(&p.cause, "Unexpected non-whitespace "
			    "character after JSON at position %zu",
			    config_jp_pos16(&p, p.i));
			json_decref(v);
			v = NULL;
		}
	}
	if (v == NULL) {
		*cause = p.cause != NULL ? p.cause :
		    xstrdup("Unexpected end of JSON input");
		return (NULL);
	}
	return (v);
}
