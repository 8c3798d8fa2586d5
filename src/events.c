#include <config.h>

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <jansson.h>

#include "cmdline.h"
#include "events.h"
#include "js.h"
#include "js-json.h"
#include "proc.h"
#include "run-registry.h"
#include "secrets.h"
#include "xmalloc.h"

/*
 * The event log's writer: one line per event, one write(2) per line on
 * an O_APPEND descriptor (atomic against other appenders) kept open while
 * the path still names its file, rotation by size. See events.h.
 */

static struct {
	char	*proc;
	char	*session;
	char	*name;
	char	*agent;
	char	*cwd;
	char	**redact;
} events_ctx;

/* $HOME/.acpx/<file>. */
static char *
events_home_path(const char *file)
{
	const char	*home = getenv("HOME");
	char		*p;

	if (home == NULL || *home == '\0')
		home = "/";
	xasprintf(&p, "%s%s.acpx%s%s", home,
	    home[strlen(home) - 1] == '/' ? "" : "/", *file != '\0' ? "/" : "",
	    file);
	return (p);
}

char *
events_path(void)
{
	return (events_home_path("events.ndjson"));
}

char *
events_path_rotated(void)
{
	return (events_home_path("events.ndjson.1"));
}

long long
events_max_bytes(void)
{
	const char	*v = getenv("ACPX_EVENT_LOG_MAX_BYTES");
	char		*end;
	long long	 n;

	if (v == NULL || *v == '\0')
		return (EVENTS_MAX_BYTES_DEFAULT);
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < EVENTS_MAX_BYTES_MIN)
		return (EVENTS_MAX_BYTES_DEFAULT);
	return (n);
}

int64_t
events_now_ms(void)
{
	return (js_now_ms());
}

static void
events_set(char **field, const char *v)
{
	if (v == NULL)
		return;
	free(*field);
	*field = xstrdup(v);
}

void
events_context(const char *proc, const char *session, const char *name,
    const char *agent, const char *cwd)
{
	events_set(&events_ctx.proc, proc);
	events_set(&events_ctx.session, session);
	events_set(&events_ctx.name, name);
	events_set(&events_ctx.agent, agent);
	events_set(&events_ctx.cwd, cwd);
}

void
events_register(const char *proc, const char *session, const char *name,
    const char *agent, const char *cwd)
{
	events_context(proc, session, name, agent, cwd);
	run_registry_register(proc, session, name, agent, cwd);
}

void
events_redact(char *const *values)
{
	cmdline_free(events_ctx.redact);
	events_ctx.redact = values != NULL ? cmdline_copy(values) : NULL;
}

static void	events_scrub(json_t *);

/* Scrub one member or element: a string in place, a container deeply. */
static void
events_scrub_one(json_t *m)
{
	char	*s;

	if (!json_is_string(m)) {
		events_scrub(m);
		return;
	}
	s = secrets_redact_values(json_string_value(m), events_ctx.redact);
	json_string_set(m, s);
	free(s);
}

/* Scrub the registered secret values from every string in v. */
static void
events_scrub(json_t *v)
{
	const char	*k;
	json_t		*m;
	size_t		 i;

	if (events_ctx.redact == NULL || events_ctx.redact[0] == NULL)
		return;
	if (json_is_object(v)) {
		json_object_foreach(v, k, m)
			events_scrub_one(m);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, m)
			events_scrub_one(m);
	}
}

static int
events_open(const char *path)
{
	return (open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0600));
}

/* The log kept open between events (one per process: a fork opens its own). */
static struct {
	int	 fd;		/* -1: closed */
	pid_t	 pid;		/* the process that opened it */
	dev_t	 dev;		/* the file it is */
	ino_t	 ino;
	off_t	 end;		/* its size after our last whole line */
} events_log = { -1, 0, 0, 0, 0 };

static void
events_log_close(void)
{
	if (events_log.fd != -1)
		close(events_log.fd);
	events_log.fd = -1;
}

/*
 * The descriptor of the log at path: the one kept open while path is still
 * that file (not rotated or removed by anyone since), else a new one
 * (~/.acpx created if missing). -1 if it cannot be opened. *st is the
 * file's status (the stat of path names the same file, so no fstat).
 */
static int
events_log_fd(const char *path, struct stat *st)
{
	char		*dir;
	int		 fd;

	if (events_log.fd != -1 && (events_log.pid != proc_pid() ||
	    stat(path, st) == -1 || st->st_ino != events_log.ino ||
	    st->st_dev != events_log.dev))
		events_log_close();
	if (events_log.fd != -1)
		return (events_log.fd);
	if ((fd = events_open(path)) == -1 && errno == ENOENT) {
		dir = events_home_path("");
		(void)mkdir(dir, 0700);
		free(dir);
		fd = events_open(path);
	}
	if (fd == -1)
		return (-1);
	if (fstat(fd, st) == -1) {
		close(fd);
		return (-1);
	}
	events_log.fd = fd;
	events_log.end = 0;
	events_log.pid = proc_pid();
	events_log.dev = st->st_dev;
	events_log.ino = st->st_ino;
	return (fd);
}

/*
 * Append line (len bytes, ending in a newline; line[-1] is a spare byte
 * holding '\n'): one write(2) on the descriptor kept open. A labelled
 * blocking local write. Rotate first if the file would pass the maximum;
 * only the process that still sees the file it opened renames it, so two
 * writers racing at the limit rotate once. Errors are dropped.
 */
static void
events_append(const char *line, size_t len)
{
	char		*path = events_path(), *rot;
	struct stat	 fst, pst;
	int		 fd;
	ssize_t		 n;
	char		 last;

	if ((fd = events_log_fd(path, &fst)) == -1) {
		free(path);
		return;
	}
	if (fst.st_size > 0 &&
	    (long long)fst.st_size + (long long)len > events_max_bytes() &&
	    stat(path, &pst) == 0 && pst.st_ino == fst.st_ino &&
	    pst.st_dev == fst.st_dev) {
		rot = events_path_rotated();
		if (rename(path, rot) == 0) {
			events_log_close();
			fd = events_log_fd(path, &fst);
		}
		free(rot);
	}
	free(path);
	if (fd == -1)
		return;
	/*
	 * A file that does not end a line (a crash or a full disk cut its
	 * last one): start ours on a new line, in the same write(2), so the
	 * cut one stays alone and ours whole.
	 */
	if (fst.st_size > 0 && fst.st_size != events_log.end &&
	    pread(fd, &last, 1, fst.st_size - 1) == 1 && last != '\n') {
		n = write(fd, line - 1, len + 1);
		events_log.end = n == (ssize_t)len + 1 ? fst.st_size + n : 0;
		n = n > 0 ? n - 1 : n;
	} else {
		/* Still where our last line ended: that was a newline. */
		n = write(fd, line, len);
		events_log.end = n == (ssize_t)len ? fst.st_size + n : 0;
	}
	/* A short write (a full disk) ends its line so the next one is whole. */
	if (n > 0 && (size_t)n < len && write(fd, "\n", 1) != 1) {
		/* nothing more to do: the file is full */
	}
}

/*
 * The lines of one loop iteration while a loop batches them
 * (events_batch_loop()): p[0] is the spare '\n' events_append() may use,
 * the lines follow. Flushed by the loop's prepare watcher (before it
 * waits), when batching stops, and at exit; a fork's copy is not ours.
 */
static struct {
	struct ev_loop	*loop;
	ev_prepare	 w;
	char		*p;
	size_t		 len;		/* bytes of lines after p[0] */
	size_t		 cap;
	pid_t		 pid;
	int		 registered;
} events_batch;

static void
events_flush(void)
{
	if (events_batch.len == 0)
		return;
	if (events_batch.pid == proc_pid())
		events_append(events_batch.p + 1, events_batch.len);
	events_batch.len = 0;
}

static void
events_batch_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	events_flush();
}

void
events_batch_loop(struct ev_loop *loop)
{
	if (events_batch.loop != NULL) {
		ev_ref(events_batch.loop);
		ev_prepare_stop(events_batch.loop, &events_batch.w);
		events_batch.loop = NULL;
	}
	events_flush();
	if (loop == NULL)
		return;
	if (!events_batch.registered) {
		events_batch.registered = 1;
		atexit(events_flush);
	}
	events_batch.loop = loop;
	events_batch.pid = proc_pid();
	ev_prepare_init(&events_batch.w, events_batch_cb);
	ev_prepare_start(loop, &events_batch.w);
	ev_unref(loop);		/* it never keeps the loop running */
}

/* Queue line (len bytes, newline-ended) for the flush, or append it now. */
static void
events_put(const char *line, size_t len)
{
	if (events_batch.loop == NULL || events_batch.pid != proc_pid()) {
		events_append(line, len);
		return;
	}
	if (events_batch.cap < 1 + events_batch.len + len) {
		events_batch.cap = (1 + events_batch.len + len) * 2;
		events_batch.p = xreallocarray(events_batch.p, 1, events_batch.cap);
	}
	events_batch.p[0] = '\n';
	memcpy(events_batch.p + 1 + events_batch.len, line, len);
	events_batch.len += len;
}

void
events_emit(const char *event, json_t *fields)
{
	json_t	*o = json_object();
	char	*ts = js_iso_time(events_now_ms()), *text, *line;
	size_t	 len;

	json_object_set_new(o, "ts", json_string(ts));
	free(ts);
	json_object_set_new(o, "event", json_string(event));
	json_object_set_new(o, "pid", json_integer((json_int_t)proc_pid()));
	if (events_ctx.proc != NULL)
		json_object_set_new(o, "proc", json_string(events_ctx.proc));
	if (events_ctx.session != NULL)
		json_object_set_new(o, "session",
		    json_string(events_ctx.session));
	if (events_ctx.name != NULL)
		json_object_set_new(o, "name", json_string(events_ctx.name));
	if (events_ctx.agent != NULL)
		json_object_set_new(o, "agent", json_string(events_ctx.agent));
	if (events_ctx.cwd != NULL)
		json_object_set_new(o, "cwd", json_string(events_ctx.cwd));
	if (fields != NULL) {
		json_object_update(o, fields);
		json_decref(fields);
	}
	events_scrub(o);
	if ((text = js_json_dumps(o, 0)) != NULL) {
		len = strlen(text);
		line = xmalloc(len + 3);
		line[0] = '\n';
		memcpy(line + 1, text, len);
		line[len + 1] = '\n';
		line[len + 2] = '\0';
		events_put(line + 1, len + 1);
		free(line);
		free(text);
	}
	run_registry_note(event, o);
	json_decref(o);
}
