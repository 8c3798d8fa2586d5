#include <config.h>

#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "mock-verify.h"

/*
 * A scriptable ACP agent for tests. It speaks NDJSON JSON-RPC 2.0 on
 * stdin/stdout and does what a scenario file (JSON, see README.md) says:
 * stream updates, ask the client for permissions or files, fail, crash, hang.
 * Everything it receives can be appended to a record file so tests can assert
 * on what the client sent. Its output is fully deterministic.
 *
 * It is a peer, not the client: plain blocking I/O with poll() is fine here,
 * but every wait reads stdin so a session/cancel is seen promptly.
 */

#define MOCK_READ_SIZE	65536
#define MOCK_PAD_CHUNK	(1024 * 1024)
#define MOCK_PAD_MARK	"@@mock-pad@@"

/* stdin, split into lines. */
struct mock_in {
	char		*buf;
	size_t		 off;		/* start of unconsumed bytes */
	size_t		 len;		/* end of read bytes */
	size_t		 size;
	size_t		 scan;		/* no '\n' in [off, scan) */
	int		 eof;
};

struct mock {
	json_t		*scenario;	/* the scenario file; {} if none */
	int		 supports_load;	/* --supports-load-session */
	const char	*fixed_id;	/* --session-id */
	int		 ignore_cancel;

	struct mock_in	 in;
	json_t		*backlog;	/* requests put off while busy (FIFO) */
	json_t		*responses;	/* client responses by id, unclaimed */
	json_t		*saved;		/* save_as name -> response message */
	json_t		*config_options; /* of the current session */
	json_t		*endpoints;	/* setLlmEndpoints params.endpoints, once answered */

	char		*session_id;	/* current session */
	int		 nsessions;
	size_t		 nprompts;
	json_int_t	 next_id;	/* ids of our requests to the client */

	int		 busy;		/* depth of requests being handled */
	int		 in_turn;
	int		 cancelled;	/* session/cancel seen during the turn */
};

/* How a list of steps ended. */
enum mock_end {
	MOCK_END_NONE,		/* ran off the end of the list */
	MOCK_END_ANSWERED,	/* a step answered the request */
	MOCK_END_CANCELLED	/* session/cancel arrived */
};

/*
 * Signals by name. Caught ones append a prebuilt line to the record file
 * (the handler may only write()) and exit 128+N.
 */
static struct mock_sig {
	int		 sig;
	const char	*name;
	int		 caught;
	char		*line;
} mock_sigs[] = {
	{ SIGTERM, "SIGTERM", 1, NULL }, { SIGINT, "SIGINT", 1, NULL },
	{ SIGHUP, "SIGHUP", 1, NULL }, { SIGKILL, "SIGKILL", 0, NULL },
	{ SIGQUIT, "SIGQUIT", 0, NULL }, { SIGABRT, "SIGABRT", 0, NULL },
	{ SIGSEGV, "SIGSEGV", 0, NULL },
};
#define MOCK_NSIGS (sizeof mock_sigs / sizeof mock_sigs[0])

static struct mock	*mock_self;	/* for mock_exit() */
static int		 mock_record_fd = -1;

static void	mock_run_method(struct mock *, json_t *, const char *);

static void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n == 0 ? 1 : n)) == NULL)
		abort();
	return (p);
}

static char *
xstrndup(const char *s, size_t n)
{
	char	*p;

	if ((p = strndup(s, n)) == NULL)
		abort();
	return (p);
}

static char *
xstrdup(const char *s)
{
	return (xstrndup(s, strlen(s)));
}

static void __attribute__((format(printf, 1, 2), noreturn))
usage_error(const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, "mock-agent: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(2);
}

static long long
mock_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static int
mock_write_all(int fd, const char *p, size_t n)
{
	ssize_t	 r;

	while (n > 0) {
		if ((r = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		p += r;
		n -= (size_t)r;
	}
	return (0);
}

/* A value as one compact line with '\n'; caller frees. */
static char *
mock_dump_line(const json_t *v, size_t *lenp)
{
	char	*s;
	size_t	 n;

	if ((s = json_dumps(v, JSON_COMPACT|JSON_ENCODE_ANY)) == NULL)
		abort();
	n = strlen(s);
	s = xrealloc(s, n + 2);
	memcpy(s + n, "\n", 2);
	*lenp = n + 1;
	return (s);
}

/* Append a value to the record file, if there is one; v is stolen. */
static void
mock_record(json_t *v)
{
	char	*s;
	size_t	 n;

	if (mock_record_fd != -1 && v != NULL) {
		s = mock_dump_line(v, &n);
		mock_write_all(mock_record_fd, s, n);	/* one write() */
		free(s);
	}
	json_decref(v);
}

/* Leave cleanly: free everything so sanitizer runs stay quiet. */
static void __attribute__((noreturn))
mock_exit(int status)
{
	struct mock	*m = mock_self;
	size_t		 i;

	json_decref(m->scenario);
	json_decref(m->backlog);
	json_decref(m->responses);
	json_decref(m->saved);
	json_decref(m->config_options);
	json_decref(m->endpoints);
	free(m->session_id);
	free(m->in.buf);
	/* A signal during the exit must not reach the freed lines. */
	for (i = 0; i < MOCK_NSIGS; i++) {
		if (mock_sigs[i].caught)
			signal(mock_sigs[i].sig, SIG_DFL);
		free(mock_sigs[i].line);
		mock_sigs[i].line = NULL;
	}
	exit(status);
}

static void
mock_signal_cb(int sig)
{
	size_t	 i;

	for (i = 0; i < MOCK_NSIGS; i++) {
		if (mock_sigs[i].sig == sig && mock_record_fd != -1 &&
		    mock_sigs[i].line != NULL)
			(void)!write(mock_record_fd, mock_sigs[i].line,
			    strlen(mock_sigs[i].line));
	}
	_exit(128 + sig);
}

static void
mock_signals(void)
{
	struct sigaction sa;
	json_t		*v;
	size_t		 i, n;

	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = mock_signal_cb;
	for (i = 0; i < MOCK_NSIGS; i++) {
		if (!mock_sigs[i].caught)
			continue;
		v = json_pack("{s:s, s:s}", "_mock", "signal", "signal",
		    mock_sigs[i].name);
		mock_sigs[i].line = mock_dump_line(v, &n);
		json_decref(v);
		sigaction(mock_sigs[i].sig, &sa, NULL);
	}
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/* Write bytes to the client; a client that went away means we are done. */
static void
mock_send_raw(const char *s, size_t n, int newline)
{
	if (mock_write_all(STDOUT_FILENO, s, n) == -1 ||
	    (newline && mock_write_all(STDOUT_FILENO, "\n", 1) == -1)) {
		mock_record(json_pack("{s:s}", "_mock", "stdout_closed"));
		mock_exit(0);
	}
}

/* Write one message (stolen) to the client. */
static void
mock_send(json_t *msg)
{
	char	*s;
	size_t	 n;

	s = mock_dump_line(msg, &n);
	json_decref(msg);
	mock_send_raw(s, n, 0);
	free(s);
}

/* Answer request id with "result" or "error" (what is stolen). */
static void
mock_reply(const json_t *id, const char *key, json_t *what)
{
	mock_send(json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id, key,
	    what));
}

static void
mock_reply_error(const json_t *id, int code, const char *message)
{
	mock_reply(id, "error", json_pack("{s:i, s:s}", "code", code,
	    "message", message));
}

/* Send a session/update for the current session; update is stolen. */
static void
mock_update(struct mock *m, json_t *update)
{
	mock_send(json_pack("{s:s, s:s, s:{s:s, s:o}}", "jsonrpc", "2.0",
	    "method", "session/update", "params", "sessionId",
	    m->session_id != NULL ? m->session_id : "", "update", update));
}

static void
mock_chunk(struct mock *m, const char *kind, const char *text)
{
	mock_update(m, json_pack("{s:s, s:{s:s, s:s}}", "sessionUpdate", kind,
	    "content", "type", "text", "text", text));
}

/* Look a dotted path ("result.items.0.id") up; borrowed, NULL if absent. */
static json_t *
mock_path(json_t *v, const char *path)
{
	char	*key;
	size_t	 n;

	while (v != NULL && *path != '\0') {
		n = strcspn(path, ".");
		key = xstrndup(path, n);
		if (json_is_array(v))
			v = json_array_get(v, strtoul(key, NULL, 10));
		else
			v = json_object_get(v, key);
		free(key);
		path += n + (path[n] == '.');
	}
	return (v);
}

/* Merge src over dst, recursing into objects; a null in src deletes. */
static void
mock_merge(json_t *dst, json_t *src)
{
	const char	*k;
	json_t		*v, *d;

	json_object_foreach(src, k, v) {
		d = json_object_get(dst, k);
		if (json_is_null(v))
			json_object_del(dst, k);
		else if (json_is_object(v) && json_is_object(d))
			mock_merge(d, v);
		else
			json_object_set_new(dst, k, json_deep_copy(v));
	}
}

static void
mock_set_session(struct mock *m, const char *id)
{
	if (id != NULL) {
		free(m->session_id);
		m->session_id = xstrdup(id);
	}
}

/* A value as text: strings as they are, the rest as JSON; caller frees. */
static char *
mock_value_text(const json_t *v)
{
	if (v == NULL)
		return (xstrdup("(none)"));
	if (json_is_string(v))
		return (xstrndup(json_string_value(v), json_string_length(v)));
	return (json_dumps(v, JSON_COMPACT|JSON_ENCODE_ANY));
}

/* The value of a {{name}} in a scenario string, or NULL; caller frees. */
static char *
mock_var(struct mock *m, const char *name)
{
	json_t	*v;
	char	*key, cwd[4096];
	size_t	 n = strcspn(name, ".");

	if (strcmp(name, "cwd") == 0)
		return (xstrdup(getcwd(cwd, sizeof cwd) != NULL ? cwd : "."));
	if (strcmp(name, "session") == 0)
		return (xstrdup(m->session_id != NULL ? m->session_id : ""));
	key = xstrndup(name, n);
	v = json_object_get(m->saved, key);
	free(key);
	if (v == NULL)
		return (NULL);
	return (mock_value_text(name[n] == '.' ? mock_path(v, name + n + 1) :
	    v));
}

static void
mock_append(char **out, size_t *len, const char *p, size_t n)
{
	*out = xrealloc(*out, *len + n + 1);
	memcpy(*out + *len, p, n);
	(*out)[*len += n] = '\0';
}

/*
 * Expand {{cwd}}, {{session}} and {{NAME.path}} (a field of the response
 * saved as NAME) in a string; unknown names stay as they are. Caller frees.
 */
static char *
mock_expand_str(struct mock *m, const char *s)
{
	const char	*open, *close;
	char		*out = NULL, *name, *val;
	size_t		 len = 0;

	mock_append(&out, &len, "", 0);
	while ((open = strstr(s, "{{")) != NULL &&
	    (close = strstr(open + 2, "}}")) != NULL) {
		mock_append(&out, &len, s, (size_t)(open - s));
		name = xstrndup(open + 2, (size_t)(close - open - 2));
		if ((val = mock_var(m, name)) != NULL)
			mock_append(&out, &len, val, strlen(val));
		else
			mock_append(&out, &len, open, (size_t)(close + 2 - open));
		free(val);
		free(name);
		s = close + 2;
	}
	mock_append(&out, &len, s, strlen(s));
	return (out);
}

/* A deep copy of v with every string expanded; caller owns. */
static json_t *
mock_expand(struct mock *m, json_t *v)
{
	const char	*k;
	json_t		*c, *e;
	size_t		 i;
	char		*s;

	if (json_is_string(v)) {
		s = mock_expand_str(m, json_string_value(v));
		c = json_string(s);
		free(s);
		return (c != NULL ? c : json_deep_copy(v));
	}
	if (json_is_object(v)) {
		c = json_object();
		json_object_foreach(v, k, e)
			json_object_set_new(c, k, mock_expand(m, e));
		return (c);
	}
	if (json_is_array(v)) {
		c = json_array();
		json_array_foreach(v, i, e)
			json_array_append_new(c, mock_expand(m, e));
		return (c);
	}
	return (json_deep_copy(v));
}

/* The next line in the input buffer (the last may lack '\n'), or NULL. */
static char *
mock_in_line(struct mock_in *in, size_t *lenp)
{
	char	*nl, *line;

	if (in->buf == NULL)
		return (NULL);
	if ((nl = memchr(in->buf + in->scan, '\n', in->len - in->scan)) ==
	    NULL) {
		in->scan = in->len;
		if (!in->eof || in->off == in->len)
			return (NULL);
		nl = in->buf + in->len;
	}
	line = in->buf + in->off;
	*lenp = (size_t)(nl - line);
	in->off = in->scan = (size_t)(nl - in->buf) + (nl < in->buf + in->len);
	return (line);
}

/* Wait up to timeout_ms for input and read it: 1 read, 0 none, -1 error. */
static int
mock_in_fill(struct mock_in *in, int timeout_ms)
{
	struct pollfd	 pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	ssize_t		 r;
	int		 n;

	if ((n = poll(&pfd, 1, timeout_ms)) <= 0)
		return (n == -1 && errno != EINTR ? -1 : 0);
	if (in->off > 0) {	/* only a partial line is left */
		memmove(in->buf, in->buf + in->off, in->len - in->off);
		in->len -= in->off;
		in->scan -= in->off;
		in->off = 0;
	}
	if (in->size - in->len < MOCK_READ_SIZE) {
		in->size = in->size * 2 + MOCK_READ_SIZE;
		in->buf = xrealloc(in->buf, in->size);
	}
	if ((r = read(STDIN_FILENO, in->buf + in->len, in->size - in->len)) ==
	    -1)
		return (errno == EINTR || errno == EAGAIN ? 0 : -1);
	in->eof = r == 0;
	in->len += (size_t)r;
	return (1);
}

/*
 * The next message from stdin. Returns 1 with *msgp set, 0 on timeout
 * (timeout_ms < 0 waits forever) and -1 at EOF. Everything read is recorded;
 * blank lines and lines that are not JSON objects are skipped.
 */
static int
mock_read(struct mock *m, int timeout_ms, json_t **msgp)
{
	json_t		*v;
	char		*line;
	size_t		 len;
	long long	 deadline = mock_now_ms() + timeout_ms;
	int		 r;

	for (;;) {
		while ((line = mock_in_line(&m->in, &len)) != NULL) {
			while (len > 0 && strchr(" \t\r", line[len - 1]))
				len--;
			for (; len > 0 && strchr(" \t\r", *line); len--)
				line++;
			if (len == 0)
				continue;
			v = json_loadb(line, len, JSON_DECODE_ANY|JSON_ALLOW_NUL,
			    NULL);
			if (v == NULL) {
				v = json_pack("{s:s, s:s%}", "_mock",
				    "invalid_json", "line", line,
				    len > 1024 ? (size_t)1024 : len);
				mock_record(v != NULL ? v : json_pack("{s:s}",
				    "_mock", "invalid_json"));  /* not UTF-8 */
				continue;
			}
			mock_record(json_incref(v));
			if (!json_is_object(v)) {
				json_decref(v);
				continue;
			}
			*msgp = v;
			return (1);
		}
		if (m->in.eof)
			return (-1);
		r = mock_in_fill(&m->in, timeout_ms < 0 ? -1 :
		    (int)(deadline > mock_now_ms() ? deadline - mock_now_ms() :
		    0));
		if (r == -1)
			m->in.eof = 1;
		else if (r == 0 && timeout_ms >= 0)
			return (0);
	}
}

/*
 * Handle a message. Responses are filed for whoever waits on them;
 * session/cancel marks the running turn. Other requests are handled at once,
 * even during a turn (a client may set a mode mid-turn), except a second
 * prompt, or anything arriving while such a request is handled: those wait.
 */
static void
mock_dispatch(struct mock *m, json_t *msg)
{
	json_t		*id = json_object_get(msg, "id");
	json_t		*method = json_object_get(msg, "method");
	const char	*name = json_string_value(method);
	char		*key;

	if (method == NULL && id != NULL) {
		key = json_dumps(id, JSON_ENCODE_ANY);
		json_object_set(m->responses, key, msg);
		free(key);
	} else if (name == NULL) {
		if (id != NULL)
			mock_reply_error(id, -32600, "Invalid Request");
	} else if (strcmp(name, "session/cancel") == 0)
		m->cancelled = m->in_turn;
	else if (m->busy > 1 || (m->busy &&
	    strcmp(name, "session/prompt") == 0)) {
		json_array_append(m->backlog, msg);
	} else {
		m->busy++;
		mock_run_method(m, msg, name);
		m->busy--;
	}
	json_decref(msg);
}

/*
 * Read and handle one message, waiting up to timeout_ms (forever if
 * negative). Returns 0 on timeout; exits 0 at EOF.
 */
static int
mock_pump(struct mock *m, int timeout_ms)
{
	json_t	*msg;

	switch (mock_read(m, timeout_ms, &msg)) {
	case -1:
		mock_record(json_pack("{s:s}", "_mock", "eof"));
		mock_exit(0);
	case 0:
		return (0);
	}
	mock_dispatch(m, msg);
	return (1);
}

static int
mock_interrupted(struct mock *m)
{
	return (m->in_turn && m->cancelled && !m->ignore_cancel);
}

/* Wait ms, still reading; 1 if cancellable and a cancel ends the turn. */
static int
mock_sleep(struct mock *m, long long ms, int cancellable)
{
	long long	 deadline = mock_now_ms() + ms, left;

	while ((left = deadline - mock_now_ms()) > 0) {
		if (cancellable && mock_interrupted(m))
			return (1);
		mock_pump(m, left > 60000 ? 60000 : (int)left);
	}
	return (cancellable && mock_interrupted(m));
}

/*
 * Wait until the file exists (path expanded), still reading; 1 if a cancel
 * ends the turn. The ceiling only bounds a hang (the test then fails on
 * what follows, with a note on stderr).
 */
#define MOCK_WAIT_FILE_MAX_MS	300000
static int
mock_wait_file(struct mock *m, const char *path)
{
	char		*p = mock_expand_str(m, path);
	long long	 deadline = mock_now_ms() + MOCK_WAIT_FILE_MAX_MS;
	int		 r = 0;

	while (access(p, F_OK) != 0) {
		if (mock_now_ms() >= deadline) {
			fprintf(stderr, "mock-agent: %s never appeared\n", p);
			break;
		}
		if ((r = mock_sleep(m, 20, 1)) != 0)
			break;
	}
	free(p);
	return (r);
}

/* Send a request to the client and wait for its response (caller owns). */
static json_t *
mock_request(struct mock *m, json_t *req)
{
	json_t		*params, *resp;
	const char	*method = json_string_value(json_object_get(req,
			    "method"));
	char		 key[32];
	json_int_t	 id = m->next_id++;

	params = json_object_get(req, "params");
	params = json_is_object(params) ? mock_expand(m, params) :
	    json_object();
	if (json_object_get(params, "sessionId") == NULL && m->session_id)
		json_object_set_new(params, "sessionId",
		    json_string(m->session_id));
	mock_send(json_pack("{s:s, s:I, s:s, s:o}", "jsonrpc", "2.0", "id", id,
	    "method", method != NULL ? method : "", "params", params));

	snprintf(key, sizeof key, "%lld", (long long)id);
	while ((resp = json_object_get(m->responses, key)) == NULL) {
		if (mock_interrupted(m))
			return (NULL);
		mock_pump(m, -1);
	}
	json_incref(resp);
	json_object_del(m->responses, key);
	return (resp);
}

static int
mock_signal_number(const json_t *v)
{
	const char	*s = json_string_value(v);
	size_t		 i;

	if (json_is_integer(v))
		return ((int)json_integer_value(v));
	for (i = 0; s != NULL && i < MOCK_NSIGS; i++) {
		if (strcmp(s, mock_sigs[i].name) == 0 ||
		    strcmp(s, mock_sigs[i].name + 3) == 0)
			return (mock_sigs[i].sig);
	}
	return (SIGKILL);
}

/*
 * Write one line of exactly n bytes (plus '\n') in pieces: an
 * agent_message_chunk whose text is padded with 'a's, or only 'a's if as_json
 * is false or n is too small for the envelope.
 */
static void
mock_long_line(struct mock *m, long long n, int as_json)
{
	json_t	*msg;
	char	*s, *pad, *mark = NULL, *p;
	size_t	 len, pre = 0, post = 0, chunk;

	pad = xrealloc(NULL, MOCK_PAD_CHUNK);
	memset(pad, 'a', MOCK_PAD_CHUNK);
	msg = json_pack("{s:s, s:s, s:{s:s, s:{s:s, s:{s:s, s:s}}}}",
	    "jsonrpc", "2.0", "method", "session/update", "params",
	    "sessionId", m->session_id != NULL ? m->session_id : "",
	    "update", "sessionUpdate", "agent_message_chunk", "content",
	    "type", "text", "text", MOCK_PAD_MARK);
	p = s = mock_dump_line(msg, &len);
	json_decref(msg);
	len--;			/* without the '\n' */
	while ((p = strstr(p, MOCK_PAD_MARK)) != NULL)
		mark = p++;
	if (as_json && mark != NULL) {
		pre = (size_t)(mark - s);
		post = len - pre - strlen(MOCK_PAD_MARK);
		if ((long long)(pre + post) > n)
			pre = post = 0;
	}
	mock_send_raw(s, pre, 0);
	for (n -= (long long)(pre + post); n > 0; n -= (long long)chunk) {
		chunk = n > MOCK_PAD_CHUNK ? MOCK_PAD_CHUNK : (size_t)n;
		mock_send_raw(pad, chunk, 0);
	}
	mock_send_raw(s + len - post, post, 1);
	free(pad);
	free(s);
}

/* Answer the request being worked on with a step's value (stolen). */
static int
mock_step_answer(json_t *reply_id, const char *key, json_t *what)
{
	if (reply_id == NULL) {
		fprintf(stderr, "mock-agent: no request to answer here\n");
		json_decref(what);
		return (-1);
	}
	mock_reply(reply_id, key, what);
	return (MOCK_END_ANSWERED);
}

static void
mock_stderr(const json_t *v)
{
	if (json_is_string(v)) {
		fwrite(json_string_value(v), 1, json_string_length(v), stderr);
		fflush(stderr);
	}
}

/*
 * One HTTP/1.1 POST to a loopback URL (http://127.0.0.1:PORT/path);
 * *status and the response body (caller frees), NULL on a transport
 * failure with *why. Blocking: the mock is a peer, not the client.
 */
static char *
mock_http_post(const char *url, const char *key, const char *body,
    int *status, const char **why)
{
	struct sockaddr_in	 sin;
	const char		*p, *path;
	char			*req, *buf = NULL, *hend;
	size_t			 len = 0, size = 0;
	ssize_t			 n;
	long			 port;
	int			 fd, rn;

	*why = "not a http://127.0.0.1 URL";
	if (strncmp(url, "http://127.0.0.1:", 17) != 0)
		return (NULL);
	p = url + 17;
	port = strtol(p, (char **)&path, 10);
	if (port <= 0 || port > 65535 || (*path != '/' && *path != '\0'))
		return (NULL);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	*why = "Cannot connect to API";
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return (NULL);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) == -1) {
		close(fd);
		return (NULL);
	}
	rn = asprintf(&req, "POST %s/chat/completions HTTP/1.1\r\nHost: "
	    "127.0.0.1:%ld\r\nAuthorization: Bearer %s\r\nContent-Type: "
	    "application/json\r\nContent-Length: %zu\r\nConnection: close"
	    "\r\n\r\n%s", path, port, key, strlen(body), body);
	if (rn == -1 || write(fd, req, (size_t)rn) != rn) {
		if (rn != -1)
			free(req);
		close(fd);
		return (NULL);
	}
	free(req);
	for (;;) {
		if (len + 4096 + 1 > size) {
			size = size == 0 ? 8192 : size * 2;
			if ((buf = realloc(buf, size)) == NULL)
				abort();
		}
		if ((n = read(fd, buf + len, size - len - 1)) <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	*why = "bad HTTP response";
	if (buf == NULL)
		return (NULL);
	buf[len] = '\0';
	if (sscanf(buf, "HTTP/1.%*d %d", status) != 1 ||
	    (hend = strstr(buf, "\r\n\r\n")) == NULL) {
		free(buf);
		return (NULL);
	}
	memmove(buf, hend + 4, strlen(hend + 4) + 1);
	return (buf);
}

/*
 * The "provider" step: call the model provider the way an opencode
 * harness does, from OPENCODE_CONFIG_CONTENT (the pinned model, its
 * provider's baseURL and key variable). A 2xx answer becomes a chunk; any
 * other answers the prompt with opencode's error (-32603 "Internal error:
 * <provider message>", data.errorName "APIError").
 */
static int
mock_provider(struct mock *m, json_t *reply_id)
{
	json_t		*cfg, *prov, *body, *resp, *data, *ep;
	const char	*full, *slash, *url, *keyvar, *key, *why, *msg;
	char		*pid, *text, *answer, *emsg;
	int		 status = 0;

	cfg = json_loads(getenv("OPENCODE_CONFIG_CONTENT") != NULL ?
	    getenv("OPENCODE_CONFIG_CONTENT") : "", 0, NULL);
	full = json_string_value(json_object_get(cfg, "model"));
	if (full == NULL || (slash = strchr(full, '/')) == NULL) {
		json_decref(cfg);
		return (mock_step_answer(reply_id, "error", json_pack(
		    "{s:i, s:s, s:{s:s}}", "code", -32603, "message",
		    "Internal error: no model configured", "data", "errorName",
		    "ProviderModelNotFoundError")));
	}
	pid = strndup(full, (size_t)(slash - full));
	prov = json_object_get(json_object_get(cfg, "provider"), pid);
	free(pid);
	url = json_string_value(json_object_get(json_object_get(prov,
	    "options"), "baseURL"));
	keyvar = json_string_value(json_array_get(json_object_get(prov, "env"),
	    0));
	key = keyvar != NULL && getenv(keyvar) != NULL ? getenv(keyvar) : "";
	/* An "openai" endpoint taken with setLlmEndpoints wins. */
	if ((ep = json_object_get(m->endpoints, "openai")) != NULL) {
		url = json_string_value(json_object_get(ep, "url"));
		key = json_string_value(json_object_get(json_object_get(ep,
		    "headers"), "Authorization"));
		key = key != NULL && strncmp(key, "Bearer ", 7) == 0 ?
		    key + 7 : "";
	}
	body = json_pack("{s:s, s:[{s:s, s:s}]}", "model", slash + 1,
	    "messages", "role", "user", "content", "continue the task");
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	answer = mock_http_post(url != NULL ? url : "", key, text, &status,
	    &why);
	free(text);
	json_decref(cfg);
	if (answer == NULL) {
		if (asprintf(&emsg, "Internal error: %s", why) == -1)
			abort();
		resp = json_pack("{s:i, s:s, s:{s:s}}", "code", -32603,
		    "message", emsg, "data", "errorName", "APIError");
		free(emsg);
		return (mock_step_answer(reply_id, "error", resp));
	}
	resp = json_loads(answer, 0, NULL);
	if (status >= 200 && status < 300) {
		msg = json_string_value(json_object_get(json_object_get(
		    json_array_get(json_object_get(resp, "choices"), 0),
		    "message"), "content"));
		mock_chunk(m, "agent_message_chunk", msg != NULL ? msg : "");
		json_decref(resp);
		free(answer);
		return (-1);
	}
	msg = json_string_value(json_object_get(json_object_get(resp, "error"),
	    "message"));
	if (asprintf(&emsg, "Internal error: %s", msg != NULL ? msg :
	    answer) == -1)
		abort();
	data = json_pack("{s:s, s:i, s:b, s:s}", "errorName", "APIError",
	    "statusCode", status, "isRetryable", status == 429 || status >= 500,
	    "responseBody", answer);
	json_decref(resp);
	free(answer);
	resp = json_pack("{s:i, s:s, s:o}", "code", -32603, "message", emsg,
	    "data", data);
	free(emsg);
	return (mock_step_answer(reply_id, "error", resp));
}

/* Run one step (see README.md); -1 means go on with the next. */
static int
mock_step(struct mock *m, json_t *step, json_t *reply_id)
{
	json_t		*v, *resp;
	const char	*s;
	char		*text;

	if ((s = json_string_value(json_object_get(step, "chunk"))) != NULL ||
	    (s = json_string_value(json_object_get(step, "thought")))) {
		text = mock_expand_str(m, s);
		mock_chunk(m, json_object_get(step, "chunk") != NULL ?
		    "agent_message_chunk" : "agent_thought_chunk", text);
		free(text);
	} else if ((v = json_object_get(step, "update")) != NULL)
		mock_update(m, mock_expand(m, v));
	else if ((v = json_object_get(step, "notify")) != NULL) {
		s = json_string_value(json_object_get(v, "method"));
		v = json_object_get(v, "params");
		mock_send(json_pack("{s:s, s:s, s:o*}", "jsonrpc", "2.0",
		    "method", s != NULL ? s : "", "params",
		    v != NULL ? mock_expand(m, v) : NULL));
	} else if ((v = json_object_get(step, "sleep_ms")) != NULL) {
		if (mock_sleep(m, json_integer_value(v), 1))
			return (MOCK_END_CANCELLED);
	} else if ((s = json_string_value(json_object_get(step,
	    "wait_file"))) != NULL) {
		if (mock_wait_file(m, s))
			return (MOCK_END_CANCELLED);
	} else if (json_object_get(step, "wait_cancel") != NULL) {
		while (!m->cancelled)
			mock_pump(m, -1);
		if (mock_interrupted(m))
			return (MOCK_END_CANCELLED);
	} else if ((v = json_object_get(step, "request")) != NULL) {
		if ((resp = mock_request(m, v)) == NULL)
			return (MOCK_END_CANCELLED);
		s = json_string_value(json_object_get(step, "save_as"));
		json_object_set_new(m->saved, s != NULL ? s : "", resp);
	} else if ((v = json_object_get(step, "chunk_from")) != NULL) {
		resp = json_object_get(m->saved, json_is_string(v) ?
		    json_string_value(v) : "");
		s = json_string_value(json_object_get(step, "path"));
		text = mock_value_text(s != NULL ? mock_path(resp, s) : resp);
		mock_chunk(m, "agent_message_chunk", text);
		free(text);
	} else if ((v = json_object_get(step, "raw")) != NULL ||
	    (v = json_object_get(step, "raw_no_newline")) != NULL)
		mock_send_raw(json_string_value(v), json_string_length(v),
		    json_object_get(step, "raw") != NULL);
	else if ((v = json_object_get(step, "long_line_bytes")) != NULL)
		mock_long_line(m, json_integer_value(v),
		    !json_is_false(json_object_get(step, "json")));
	else if ((v = json_object_get(step, "stderr")) != NULL)
		mock_stderr(v);
	else if (json_object_get(step, "provider") != NULL)
		return (mock_provider(m, reply_id));
	else if ((s = json_string_value(json_object_get(step, "stop"))))
		return (mock_step_answer(reply_id, "result",
		    json_pack("{s:s}", "stopReason", s)));
	else if ((v = json_object_get(step, "result")) != NULL)
		return (mock_step_answer(reply_id, "result", json_deep_copy(v)));
	else if ((v = json_object_get(step, "error")) != NULL)
		return (mock_step_answer(reply_id, "error", json_deep_copy(v)));
	else if ((v = json_object_get(step, "exit")) != NULL)
		mock_exit((int)json_integer_value(v));
	else if ((v = json_object_get(step, "signal")) != NULL)
		raise(mock_signal_number(v));
	else if (json_object_get(step, "hang") != NULL) {
		for (;;)
			mock_pump(m, -1);
	} else {
		text = mock_value_text(step);
		fprintf(stderr, "mock-agent: unknown step %s\n", text);
		free(text);
	}
	return (-1);
}

/*
 * Run a list of steps. Input is read between steps, so a cancel sent while
 * the agent streams ends the turn at the next step (but a hang never answers).
 */
static enum mock_end
mock_run_steps(struct mock *m, json_t *steps, json_t *reply_id)
{
	json_t	*step;
	size_t	 i;
	int	 end;

	json_array_foreach(steps, i, step) {
		while (mock_pump(m, 0))
			/* nothing */;
		if (mock_interrupted(m) && !json_object_get(step, "hang"))
			return (MOCK_END_CANCELLED);
		if ((end = mock_step(m, step, reply_id)) != -1)
			return ((enum mock_end)end);
	}
	return (MOCK_END_NONE);
}

/* The initialize result: defaults with the scenario's merged over. */
static json_t *
mock_init_result(struct mock *m, json_t *params)
{
	json_t	*r, *over;

	r = json_pack("{s:i, s:{s:b, s:{s:b, s:b, s:b}}, s:[], s:{s:s, s:s}}",
	    "protocolVersion", 1,
	    "agentCapabilities", "loadSession", m->supports_load,
	    "promptCapabilities", "image", 0, "audio", 0, "embeddedContext", 0,
	    "authMethods",
	    "agentInfo", "name", "mock-agent", "version", "0.1.0");
	if (json_is_object(over = mock_path(m->scenario, "initialize.result")))
		mock_merge(r, over);
	return (r);
}

static json_t *
mock_empty_result(struct mock *m, json_t *params)
{
	return (json_object());
}

static json_t *
mock_new_result(struct mock *m, json_t *params)
{
	char	 id[64];

	snprintf(id, sizeof id, "mock-session-%d", ++m->nsessions);
	return (json_pack("{s:s}", "sessionId", m->fixed_id != NULL ?
	    m->fixed_id : id));
}

static json_t *
mock_list_result(struct mock *m, json_t *params)
{
	return (json_pack("{s:[]}", "sessions"));
}

/* set_config_option: remember the value, answer with all options. */
static json_t *
mock_config_result(struct mock *m, json_t *params)
{
	json_t	*opt, *value = json_object_get(params, "value");
	size_t	 i;

	json_array_foreach(m->config_options, i, opt) {
		if (value != NULL && json_equal(json_object_get(opt, "id"),
		    json_object_get(params, "configId")))
			json_object_set(opt, "currentValue", value);
	}
	return (json_pack("{s:O}", "configOptions", m->config_options));
}

/* After session/new, load or resume: the session and its options. */
static void
mock_session_after(struct mock *m, json_t *params, json_t *result)
{
	json_t	*opts = json_object_get(result, "configOptions");

	mock_set_session(m, json_string_value(json_object_get(result,
	    "sessionId")));
	if (json_is_array(opts)) {
		json_decref(m->config_options);
		m->config_options = json_deep_copy(opts);
	}
}

/*
 * The methods the mock answers besides session/prompt. One whose capability
 * ("needs", a path in the initialize result) is not advertised is answered
 * "Method not found", unless the scenario has an entry for it.
 */
static const struct mock_method {
	const char	*method;
	const char	*key;		/* scenario key */
	const char	*needs;
	json_t		*(*result)(struct mock *, json_t *);
	void		 (*after)(struct mock *, json_t *, json_t *);
} mock_methods[] = {
	{ "initialize", "initialize", NULL, mock_init_result, NULL },
	{ "authenticate", "authenticate", NULL, mock_empty_result, NULL },
	{ "session/new", "session_new", NULL, mock_new_result,
	  mock_session_after },
	{ "session/load", "session_load", "agentCapabilities.loadSession",
	  mock_empty_result, mock_session_after },
	{ "session/resume", "session_resume",
	  "agentCapabilities.sessionCapabilities.resume", mock_empty_result,
	  mock_session_after },
	{ "session/close", "session_close",
	  "agentCapabilities.sessionCapabilities.close", mock_empty_result,
	  NULL },
	{ "session/list", "session_list",
	  "agentCapabilities.sessionCapabilities.list", mock_list_result,
	  NULL },
	{ "session/set_mode", "set_mode", NULL, mock_empty_result, NULL },
	{ "session/set_config_option", "set_config_option", NULL,
	  mock_config_result, NULL },
	{ "session/set_model", "set_model", NULL, mock_empty_result, NULL },
};

static int
mock_advertised(struct mock *m, const char *path)
{
	json_t	*init, *v;
	int	 yes;

	init = mock_init_result(m, NULL);
	v = mock_path(init, path);
	yes = v != NULL && !json_is_false(v) && !json_is_null(v);
	json_decref(init);
	return (yes);
}

/* The prompt's text blocks joined by newlines, trimmed; caller frees. */
static char *
mock_prompt_text(json_t *params)
{
	json_t		*block;
	const char	*t;
	char		*s = NULL, *p;
	size_t		 i, len = 0, n;

	json_array_foreach(json_object_get(params, "prompt"), i, block) {
		if ((t = json_string_value(json_object_get(block, "text"))) ==
		    NULL)
			continue;
		n = strlen(t);
		s = xrealloc(s, len + n + 2);
		if (len > 0)
			s[len++] = '\n';
		memcpy(s + len, t, n + 1);
		len += n;
	}
	for (p = s != NULL ? s : ""; *p != '\0' && strchr(" \t\r\n", *p); p++)
		/* nothing */;
	for (n = strlen(p); n > 0 && strchr(" \t\r\n", p[n - 1]); n--)
		/* nothing */;
	p = xstrndup(p, n);
	free(s);
	return (p);
}

/* A turn without a scenario: a few text commands for manual testing. */
static enum mock_end
mock_text_turn(struct mock *m, json_t *params, json_t *id)
{
	char		*text = mock_prompt_text(params), *rest, *msg;
	long		 n;
	enum mock_end	 end = MOCK_END_NONE;

	if (strncmp(text, "echo ", 5) == 0)
		mock_chunk(m, "agent_message_chunk", text + 5);
	else if (strncmp(text, "chunks ", 7) == 0) {
		n = strtol(text + 7, &rest, 10);
		rest += *rest == ' ';
		while (n-- > 0)
			mock_chunk(m, "agent_message_chunk", rest);
	} else if (strncmp(text, "sleep ", 6) == 0) {
		if (mock_sleep(m, strtol(text + 6, NULL, 10), 1))
			end = MOCK_END_CANCELLED;
	} else if (strncmp(text, "fail ", 5) == 0 && id != NULL) {
		mock_reply_error(id, -32603, text + 5);
		end = MOCK_END_ANSWERED;
	} else {
		if (asprintf(&msg, "mock: %s", text) == -1)
			abort();
		mock_chunk(m, "agent_message_chunk", msg);
		free(msg);
	}
	free(text);
	return (end);
}

/* session/prompt: run turns[N], else default_turn, else text commands. */
static void
mock_prompt(struct mock *m, json_t *msg)
{
	json_t		*id = json_object_get(msg, "id");
	json_t		*params = json_object_get(msg, "params");
	json_t		*steps, *step;
	enum mock_end	 end;
	size_t		 i;

	mock_set_session(m, json_string_value(json_object_get(params,
	    "sessionId")));
	steps = json_array_get(json_object_get(m->scenario, "turns"),
	    m->nprompts++);
	if (!json_is_array(steps))
		steps = json_object_get(m->scenario, "default_turn");

	m->in_turn = 1;
	m->cancelled = 0;
	if (json_is_array(steps))
		end = mock_run_steps(m, steps, id);
	else
		end = mock_text_turn(m, params, id);
	if (end != MOCK_END_ANSWERED && id != NULL)
		mock_reply(id, "result", json_pack("{s:s}", "stopReason",
		    end == MOCK_END_CANCELLED ? "cancelled" : "end_turn"));
	m->in_turn = m->cancelled = 0;
	/*
	 * Late output: what an agent sends right after the answer (a session
	 * title...), written before any further input is read, so a client
	 * that closes stdin at the answer still gets it.
	 */
	steps = json_object_get(m->scenario, "after_answer");
	json_array_foreach(steps, i, step)
		(void)mock_step(m, step, NULL);
}

/*
 * Answer a request as its scenario entry says: stderr, delay_ms, steps, then
 * exit, never_reply, error or result (merged over the default result).
 */
static void
mock_run_method(struct mock *m, json_t *msg, const char *name)
{
	const struct mock_method *mm = NULL;
	json_t		*id = json_object_get(msg, "id");
	json_t		*params = json_object_get(msg, "params");
	json_t		*h, *v, *result;
	size_t		 i;

	if (strcmp(name, "session/prompt") == 0) {
		mock_prompt(m, msg);
		return;
	}
	for (i = 0; i < sizeof mock_methods / sizeof mock_methods[0]; i++) {
		if (strcmp(mock_methods[i].method, name) == 0)
			mm = &mock_methods[i];
	}
	if (mm != NULL)
		h = json_object_get(m->scenario, mm->key);
	else
		h = mock_path(json_object_get(m->scenario, "methods"), name);
	if (h == NULL && (mm == NULL ||
	    (mm->needs != NULL && !mock_advertised(m, mm->needs)))) {
		if (id != NULL)
			mock_reply_error(id, -32601, "Method not found");
		return;
	}

	mock_stderr(json_object_get(h, "stderr"));
	if ((v = json_object_get(h, "delay_ms")) != NULL)
		mock_sleep(m, json_integer_value(v), 0);
	if (mm != NULL && mm->after != NULL)	/* a load's replay goes here */
		mock_set_session(m, json_string_value(json_object_get(params,
		    "sessionId")));
	if ((v = json_object_get(h, "steps")) != NULL)
		mock_run_steps(m, v, NULL);
	if ((v = json_object_get(h, "exit")) != NULL)
		mock_exit((int)json_integer_value(v));
	if (json_is_true(json_object_get(h, "never_reply")) || id == NULL)
		return;
	if ((v = json_object_get(h, "error")) != NULL) {
		mock_reply(id, "error", json_deep_copy(v));
		return;
	}
	result = mm != NULL ? mm->result(m, params) : json_object();
	if (json_is_object(v = json_object_get(h, "result")))
		mock_merge(result, v);
	else if (v != NULL) {
		json_decref(result);
		result = json_deep_copy(v);
	}
	if (mm != NULL && mm->after != NULL)
		mm->after(m, params, result);
	/* An endpoint given over ACP: the provider step uses it. */
	if (strcmp(name, "setLlmEndpoints") == 0) {
		json_decref(m->endpoints);
		m->endpoints = json_deep_copy(json_object_get(params,
		    "endpoints"));
	}
	mock_reply(id, "result", result);
}

/* Startup: stderr text, noise lines, then an unresponsive pause. */
static void
mock_start(struct mock *m)
{
	json_t	*v;
	char	*line;
	size_t	 i, n;

	mock_stderr(json_object_get(m->scenario, "stderr_before_initialize"));
	json_array_foreach(json_object_get(m->scenario,
	    "noise_before_initialize"), i, v) {
		if (json_is_string(v))
			mock_send_raw(json_string_value(v),
			    json_string_length(v), 1);
		else {
			line = mock_dump_line(v, &n);
			mock_send_raw(line, n, 0);
			free(line);
		}
	}
	v = json_object_get(m->scenario, "start_delay_ms");
	if (json_integer_value(v) > 0)
		poll(NULL, 0, (int)json_integer_value(v));
}

int
main(int argc, char **argv)
{
	static struct mock	 m;
	json_error_t		 jerr;
	const char		*scenario = getenv("MOCK_SCENARIO");
	const char		*record = getenv("MOCK_RECORD");
	json_t			*msg;
	int			 i, verify = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--scenario") == 0 && i + 1 < argc)
			scenario = argv[++i];
		else if (strcmp(argv[i], "--record") == 0 && i + 1 < argc)
			record = argv[++i];
		else if (strcmp(argv[i], "--session-id") == 0 && i + 1 < argc)
			m.fixed_id = argv[++i];
		else if (strcmp(argv[i], "--supports-load-session") == 0)
			m.supports_load = 1;
		else if (strcmp(argv[i], "--verify") == 0)
			verify = 1;
		else
			usage_error("usage: mock-agent [--scenario FILE] "
			    "[--record FILE] [--supports-load-session] "
			    "[--session-id ID] | --verify --scenario FILE "
			    "--record FILE");
	}
	if (scenario == NULL || *scenario == '\0')
		m.scenario = json_object();
	else if ((m.scenario = json_load_file(scenario, 0, &jerr)) == NULL)
		usage_error("%s:%d: %s", scenario, jerr.line, jerr.text);
	if (!json_is_object(m.scenario))
		usage_error("%s: a scenario is a JSON object", scenario);
	if (verify)
		exit(mock_verify(m.scenario, record));
	if (record != NULL && *record != '\0' && (mock_record_fd = open(record,
	    O_WRONLY|O_CREAT|O_APPEND|O_CLOEXEC, 0644)) == -1)
		usage_error("%s: %s", record, strerror(errno));
	mock_self = &m;
	m.ignore_cancel = json_is_true(json_object_get(m.scenario,
	    "ignore_cancel"));
	m.backlog = json_array();
	m.responses = json_object();
	m.saved = json_object();
	m.config_options = json_array();
	mock_signals();
	mock_start(&m);

	for (;;) {
		if ((msg = json_array_get(m.backlog, 0)) != NULL) {
			json_incref(msg);
			json_array_remove(m.backlog, 0);
			mock_dispatch(&m, msg);
		} else
			mock_pump(&m, -1);
	}
}
