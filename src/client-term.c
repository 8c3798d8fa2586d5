#include <config.h>

#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <jansson.h>

#include "acpx.h"
#include "buf.h"
#include "client-fs.h"
#include "client-term.h"
#include "jget.h"
#include "js.h"
#include "jsonrpc.h"
#include "spawn.h"
#include "xmalloc.h"

/*
 * Terminals for the agent. Each runs without a shell (unless the reference
 * would fall back to /bin/sh -c), stdin at EOF, stdout and stderr into one
 * buffer of at most outputByteLimit bytes (the last ones, starting on a
 * UTF-8 boundary), in its own process group so kill reaches its children.
 */

#define TERM_DEFAULT_LIMIT	65536
#define TERM_KILL_GRACE		1.5	/* seconds after SIGTERM, then SIGKILL */

struct term_waiter {
	json_t			*id;
	int			 kind;
#define WAIT_EXIT	0	/* terminal/wait_for_exit */
#define WAIT_KILL	1	/* terminal/kill: answer {} */
#define WAIT_RELEASE	2	/* terminal/release: answer {} and free */
	struct term_waiter	*next;
};

struct term {
	struct client_term	*mgr;
	char			 id[37];
	struct child		*child;
	int			 out_fd;
	ev_io			 out_w;
	struct buf		 out;		/* the kept output */
	size_t			 limit;
	int			 truncated;
	int			 exited;
	int			 status;
	int			 status_unseen;	/* gave up waiting after SIGKILL */
	int			 killing;	/* 0, 1 = TERM sent, 2 = KILL sent */
	ev_timer		 kill_w;
	struct term_waiter	*waiters;
	struct term		*next;
};

struct client_term {
	struct ev_loop		*loop;
	const char		*cwd;
	client_term_reply_cb	 reply;
	void			*arg;
	struct term		*terms;
};

static void	term_settle(struct term *);

/* Random RFC 4122 version 4 UUID. */
static void
term_uuid(char out[37])
{
	unsigned char	b[16];
	size_t		i;
	char		*o = out;

	if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
		for (i = 0; i < sizeof b; i++)
			b[i] = (unsigned char)random();
	}
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	for (i = 0; i < sizeof b; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*o++ = '-';
		o += sprintf(o, "%02x", b[i]);
	}
}

/* Parse ACPX_TERMINAL_MAX_OUTPUT_BYTES. */
int
client_term_ceiling(unsigned long long *ceiling, char **cause)
{
	const char	*v = getenv("ACPX_TERMINAL_MAX_OUTPUT_BYTES");
	const char	*s, *e;

	*ceiling = 0;
	if (v == NULL)
		return (0);
	for (s = v; isspace((unsigned char)*s); s++)
		;
	for (e = s + strlen(s); e > s && isspace((unsigned char)e[-1]); e--)
		;
	if (e == s)
		return (0);
	if (strspn(s, "0123456789") != (size_t)(e - s) || e - s > 16) {
		*cause = xstrdup("ACPX_TERMINAL_MAX_OUTPUT_BYTES must be a "
		    "non-negative safe integer; zero disables the host ceiling");
		return (-1);
	}
	*ceiling = strtoull(s, NULL, 10);
	return (0);
}

/* Exit status as {exitCode, signal}. Caller owns. */
static json_t *
term_exit_json(const struct term *t)
{
	json_t	*code = json_null(), *sig = json_null();
	char	 name[32];

	/* Killed, but its end was never seen: say so, not "exit 0". */
	if (t->status_unseen)
		return (json_pack("{s:n, s:s}", "exitCode", "signal", "SIGKILL"));
	if (WIFEXITED(t->status))
		code = json_integer(WEXITSTATUS(t->status));
	else if (WIFSIGNALED(t->status)) {
		snprintf(name, sizeof name, "SIG%s",
		    sigabbrev_np(WTERMSIG(t->status)) != NULL ?
		    sigabbrev_np(WTERMSIG(t->status)) : "UNKNOWN");
		sig = json_string(name);
	}
	return (json_pack("{s:o, s:o}", "exitCode", code, "signal", sig));
}

/* Keep the last t->limit bytes, starting on a UTF-8 boundary. */
static void
term_append(struct term *t, const char *p, size_t n)
{
	size_t	start;

	if (n == 0)
		return;
	buf_add(&t->out, p, n);
	if (t->out.len > t->limit)
		t->truncated = 1;
	if (!t->truncated)
		return;
	start = t->out.len > t->limit ? t->out.len - t->limit : 0;
	while (start < t->out.len &&
	    ((unsigned char)t->out.p[start] & 0xc0) == 0x80)
		start++;
	if (start > 0) {
		memmove(t->out.p, t->out.p + start, t->out.len - start);
		t->out.len -= start;
		t->out.p[t->out.len] = '\0';
	}
}

static void
term_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct term	*t = w->data;
	char		 buf[65536];
	ssize_t		 n;

	for (;;) {
		n = read(t->out_fd, buf, sizeof buf);
		if (n > 0) {
			term_append(t, buf, (size_t)n);
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		/* EOF or error: the output is complete. */
		ev_io_stop(loop, w);
		close(t->out_fd);
		t->out_fd = -1;
		term_settle(t);
		return;
	}
}

static struct term *
term_find(struct client_term *m, const char *id)
{
	struct term	*t;

	for (t = m->terms; id != NULL && t != NULL; t = t->next) {
		if (strcmp(t->id, id) == 0)
			return (t);
	}
	return (NULL);
}

static void
term_add_waiter(struct term *t, const json_t *id, int kind)
{
	struct term_waiter	*w = xcalloc(1, sizeof *w), **pp;

	w->id = json_deep_copy(id);
	w->kind = kind;
	for (pp = &t->waiters; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = w;
}

static void
term_destroy(struct term *t)
{
	struct client_term	*m = t->mgr;
	struct term		**pp;
	struct term_waiter	*w;

	for (pp = &m->terms; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	}
	ev_timer_stop(m->loop, &t->kill_w);
	if (t->out_fd != -1) {
		ev_io_stop(m->loop, &t->out_w);
		close(t->out_fd);
	}
	while ((w = t->waiters) != NULL) {
		t->waiters = w->next;
		json_decref(w->id);
		free(w);
	}
	spawn_free(t->child);
	buf_free(&t->out);
	free(t);
}

/*
 * Once the process has exited and its output is drained, answer the
 * waiters in order; a release frees the terminal.
 */
static void
term_settle(struct term *t)
{
	struct client_term	*m = t->mgr;
	struct term_waiter	*w;
	int			 release = 0;

	if (!t->exited || t->out_fd != -1)
		return;
	ev_timer_stop(m->loop, &t->kill_w);
	while ((w = t->waiters) != NULL) {
		t->waiters = w->next;
		if (w->kind == WAIT_EXIT)
			m->reply(m->arg, w->id, term_exit_json(t), NULL);
		else
			m->reply(m->arg, w->id, json_object(), NULL);
		if (w->kind == WAIT_RELEASE)
			release = 1;
		json_decref(w->id);
		free(w);
	}
	if (release)
		term_destroy(t);
}

static void
term_exit_cb(struct child *child, int status, void *arg)
{
	struct term	*t = arg;

	t->exited = 1;
	t->status = status;
	t->status_unseen = 0;	/* seen late: the real status from now on */
	/*
	 * Members of the group that outlive the leader keep the pipe open;
	 * a kill in progress goes on against the group.
	 */
	term_settle(t);
}

static void
term_kill_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct term	*t = w->data;

	if (t->killing == 1) {
		t->killing = 2;
		spawn_signal(t->child, SIGKILL);
		ev_timer_set(&t->kill_w, TERM_KILL_GRACE, 0.);
		ev_timer_start(loop, &t->kill_w);
		return;
	}
	/* Still not gone after SIGKILL: answer anyway, dropping the pipe. */
	if (t->out_fd != -1) {
		ev_io_stop(loop, &t->out_w);
		close(t->out_fd);
		t->out_fd = -1;
	}
	if (!t->exited)
		t->status_unseen = 1;
	t->exited = 1;
	term_settle(t);
}

/* SIGTERM the group, SIGKILL after the grace period. */
static void
term_kill(struct term *t)
{
	if (t->killing)
		return;
	t->killing = 1;
	spawn_signal(t->child, SIGTERM);
	ev_timer_set(&t->kill_w, TERM_KILL_GRACE, 0.);
	ev_timer_start(t->mgr->loop, &t->kill_w);
}

/* Would the reference retry this command under /bin/sh -c? */
static int
term_wants_shell(const char *cmd, const json_t *args)
{
	struct stat	st;

	if (json_array_size(args) > 0 || stat(cmd, &st) == 0)
		return (0);
	return (strpbrk(cmd, " \t\n\r\f\v|&;<>()$`*?[]{}'\"\\") != NULL);
}

/* envp: our environment plus the request's {name,value} pairs. Caller frees. */
static char **
term_env(const json_t *env)
{
	extern char	**environ;
	char		**envp;
	size_t		  n = 0, i, k;
	const json_t	 *e;
	const char	 *name, *value;

	if (json_array_size(env) == 0)
		return (NULL);
	while (environ[n] != NULL)
		n++;
	envp = xcalloc(n + json_array_size(env) + 1, sizeof *envp);
	for (i = 0; i < n; i++)
		envp[i] = xstrdup(environ[i]);
	json_array_foreach(env, k, e) {
		size_t	 len;

		name = jget_str(e, "name");
		value = jget_str(e, "value");
		if (name == NULL || value == NULL || *name == '\0')
			continue;
		len = strlen(name);
		for (i = 0; i < n; i++) {
			if (strncmp(envp[i], name, len) == 0 && envp[i][len] == '=')
				break;
		}
		if (i == n)
			n++;
		else
			free(envp[i]);
		xasprintf(&envp[i], "%s=%s", name, value);
	}
	return (envp);
}

static void
term_free_strv(char **v)
{
	size_t	i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* "cmd" or `cmd "arg" "arg"` with JSON-quoted args, for the permission question. */
static char *
term_command_line(const char *cmd, const json_t *args)
{
	char		*line = xstrdup(cmd), *q, *tmp;
	const json_t	*a;
	size_t		 i;

	json_array_foreach(args, i, a) {
		q = json_dumps(a, JSON_ENCODE_ANY | JSON_COMPACT);
		xasprintf(&tmp, "%s %s", line, q != NULL ? q : "null");
		free(q);
		free(line);
		line = tmp;
	}
	return (line);
}

static json_t *
term_create(struct client_term *m, const json_t *params,
    const struct client_fs_opts *perm, enum client_fs_perm *perm_out,
    json_t **error)
{
	const char		*cmd = jget_str(params, "command"), *cwd;
	const json_t		*args = json_object_get(params, "args"), *a;
	const json_t		*jlimit = json_object_get(params, "outputByteLimit");
	struct child_opts	 o;
	struct term		*t;
	char			**argv, **envp, *line, *q, *cause = NULL;
	unsigned long long	 ceiling;
	double			 lim;
	int			 allowed = 0, err_no, in_fd, out_fd;
	size_t			 i, n;

	if (cmd == NULL) {
		*error = jsonrpc_internal_error("terminal/create requires a command");
		return (NULL);
	}
	line = term_command_line(cmd, args);
	if (perm->mode == ACPX_PERM_APPROVE_ALL)
		allowed = 1;
	else if (perm->mode == ACPX_PERM_APPROVE_READS) {
		if (!perm->can_prompt && perm->nonint == ACPX_NONINT_FAIL) {
			free(line);
			*perm_out = CLIENT_FS_PERM_UNAVAILABLE;
			*error = jsonrpc_internal_error("Permission prompt unavailable in "
			    "non-interactive mode");
			return (NULL);
		}
		if (perm->can_prompt && perm->ask != NULL) {
			xasprintf(&q, "\n[permission] Allow terminal command "
			    "\"%s\"? (y/N) ", line);
			allowed = perm->ask(NULL, NULL, q);
			free(q);
		}
	}
	free(line);
	if (!allowed) {
		*perm_out = CLIENT_FS_PERM_DENIED;
		*error = jsonrpc_internal_error("Permission denied for terminal/create");
		return (NULL);
	}
	if (client_term_ceiling(&ceiling, &cause) == -1) {
		*error = jsonrpc_internal_error("%s", cause);
		free(cause);
		return (NULL);
	}

	n = json_array_size(args);
	argv = xcalloc(n + 4, sizeof *argv);
	argv[0] = xstrdup(cmd);
	json_array_foreach(args, i, a)
		argv[i + 1] = xstrdup(json_is_string(a) ? json_string_value(a) : "");
	envp = term_env(json_object_get(params, "env"));
	cwd = jget_str(params, "cwd");
	memset(&o, 0, sizeof o);
	o.argv = argv;
	o.envp = envp;
	o.cwd = cwd != NULL ? cwd : m->cwd;
	o.stderr_mode = CHILD_STDERR_MERGE;
	o.new_pgrp = 1;

	t = xcalloc(1, sizeof *t);
	t->mgr = m;
	t->out_fd = -1;
	t->child = spawn_child(m->loop, &o, term_exit_cb, t, &err_no, &cause);
	if (t->child == NULL && err_no == ENOENT && term_wants_shell(cmd, args)) {
		free(cause);
		cause = NULL;
		term_free_strv(argv);
		argv = xcalloc(4, sizeof *argv);
		argv[0] = xstrdup("/bin/sh");
		argv[1] = xstrdup("-c");
		argv[2] = xstrdup(cmd);
		o.argv = argv;
		t->child = spawn_child(m->loop, &o, term_exit_cb, t, &err_no,
		    &cause);
	}
	term_free_strv(argv);
	term_free_strv(envp);
	if (t->child == NULL) {
		*error = err_no == ENOENT ?
		    jsonrpc_internal_error("spawn %s ENOENT", cmd) :
		    jsonrpc_internal_error("%s", cause != NULL ? cause : "spawn failed");
		free(cause);
		free(t);
		return (NULL);
	}
	spawn_take_fds(t->child, &in_fd, &out_fd);
	close(in_fd);			/* stdin "ignore": EOF at once */
	t->out_fd = out_fd;
	(void)fcntl(out_fd, F_SETFL, fcntl(out_fd, F_GETFL) | O_NONBLOCK);

	lim = json_is_number(jlimit) ? json_number_value(jlimit) : TERM_DEFAULT_LIMIT;
	if (lim < 0)
		lim = 0;
	t->limit = (size_t)(lim + 0.5);
	if (ceiling > 0 && ceiling < t->limit)
		t->limit = (size_t)ceiling;
	term_uuid(t->id);
	ev_io_init(&t->out_w, term_read_cb, out_fd, EV_READ);
	t->out_w.data = t;
	ev_io_start(m->loop, &t->out_w);
	ev_init(&t->kill_w, term_kill_cb);
	t->kill_w.data = t;
	t->next = m->terms;
	m->terms = t;
	return (json_pack("{s:s}", "terminalId", t->id));
}

/* Handle one terminal request. */
void
client_term_request(struct client_term *m, const char *method,
    const json_t *id, const json_t *params, const struct client_fs_opts *perm,
    enum client_fs_perm *perm_out)
{
	const char	*tid = jget_str(params, "terminalId");
	struct term	*t;
	json_t		*res, *err = NULL;

	*perm_out = CLIENT_FS_PERM_NONE;
	if (strcmp(method, "terminal/create") == 0) {
		res = term_create(m, params, perm, perm_out, &err);
		m->reply(m->arg, id, res, err);
		return;
	}
	t = term_find(m, tid);
	if (strcmp(method, "terminal/release") == 0) {
		if (t == NULL) {
			m->reply(m->arg, id, json_object(), NULL);
			return;
		}
		term_add_waiter(t, id, WAIT_RELEASE);
		if (!t->exited)
			term_kill(t);
		term_settle(t);
		return;
	}
	if (t == NULL) {
		m->reply(m->arg, id, NULL, jsonrpc_internal_error("Unknown terminal: %s",
		    tid != NULL ? tid : "undefined"));
		return;
	}
	if (strcmp(method, "terminal/output") == 0) {
		char	*text;
		size_t	 tlen;

		/* Node decodes the buffer; a cut sequence becomes U+FFFD. */
		text = js_utf8_fix(t->out.p != NULL ? t->out.p : "", t->out.len,
		    &tlen);
		res = json_pack("{s:s%, s:b}", "output", text, tlen,
		    "truncated", t->truncated);
		free(text);
		if (t->exited)
			json_object_set_new(res, "exitStatus", term_exit_json(t));
		m->reply(m->arg, id, res, NULL);
	} else if (strcmp(method, "terminal/wait_for_exit") == 0) {
		term_add_waiter(t, id, WAIT_EXIT);
		term_settle(t);
	} else if (strcmp(method, "terminal/kill") == 0) {
		if (t->exited && t->out_fd == -1) {
			m->reply(m->arg, id, json_object(), NULL);
			return;
		}
		term_add_waiter(t, id, WAIT_KILL);
		term_kill(t);
	} else
		m->reply(m->arg, id, NULL, json_pack("{s:i, s:s}", "code",
		    -32601, "message", "Method not found"));
}

/* Is method one of ours? */
int
client_term_handles(const char *method)
{
	return (strncmp(method, "terminal/", 9) == 0);
}

struct client_term *
client_term_create(struct ev_loop *loop, const char *cwd,
    client_term_reply_cb reply, void *arg)
{
	struct client_term	*m = xcalloc(1, sizeof *m);

	m->loop = loop;
	m->cwd = cwd;
	m->reply = reply;
	m->arg = arg;
	return (m);
}

/* Kill every terminal's process group and free everything. */
void
client_term_free(struct client_term *m)
{
	if (m == NULL)
		return;
	while (m->terms != NULL)
		term_destroy(m->terms);	/* spawn_free SIGKILLs the group */
	free(m);
}
