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

#include "acpx.h"
#include "buf.h"
#include "cli-invocation.h"
#include "cmd.h"
#include "events-read.h"
#include "events.h"
#include "jget.h"
#include "output.h"
#include "proc.h"
#include "xmalloc.h"

/*
 * acpx events [--follow] [-s name] [--since TIME]: print the event log
 * (events.ndjson.1, then events.ndjson), text one line per event or json
 * the lines as written; --follow then waits for more with an ev_stat
 * watcher on the file (inotify where libev has it), following a rotation.
 * A line that is not a JSON object is skipped with one warning.
 */

#define EVENTS_READ_CHUNK	65536
#define EVENTS_STAT_INTERVAL	1.0	/* ev_stat's fallback poll, s */

struct events_cmd {
	const struct invocation	*inv;
	struct output		*out;
	int64_t			 since;
	const char		*session;
	int			 warned;
	struct buf		 partial;	/* an unfinished last line */

	/* --follow */
	char			*path;
	int			 fd;
	dev_t			 dev;
	ino_t			 ino;
	struct ev_loop		*loop;
	ev_stat			 stat_w;
	int			 stopped;
};

static void
events_cmd_line(struct events_cmd *ec, const char *line, size_t len,
    const char *file)
{
	json_t	*e;
	char	*text;

	if (len == 0)
		return;
	e = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(e) || jget_str(e, "event") == NULL) {
		json_decref(e);
		if (!ec->warned++)
			fprintf(stderr, "[acpx] skipping a corrupt line in %s "
			    "(further ones are skipped silently)\n", file);
		return;
	}
	if (events_read_match(e, ec->since, ec->session)) {
		if (output_format(ec->out) == ACPX_FORMAT_JSON)
			output_result_json(ec->out, e);
		else {
			text = events_read_text(e);
			output_result_text(ec->out, "%s", text);
			free(text);
		}
	}
	json_decref(e);
}

/* Feed bytes: complete lines are shown, the rest waits in partial. */
static void
events_cmd_feed(struct events_cmd *ec, const char *p, size_t n,
    const char *file)
{
	const char	*nl;

	while (n > 0 && (nl = memchr(p, '\n', n)) != NULL) {
		if (ec->partial.len > 0) {
			buf_add(&ec->partial, p, (size_t)(nl - p));
			events_cmd_line(ec, ec->partial.p,
			    ec->partial.len, file);
			buf_reset(&ec->partial);
		} else
			events_cmd_line(ec, p, (size_t)(nl - p), file);
		n -= (size_t)(nl - p) + 1;
		p = nl + 1;
	}
	if (n > 0)
		buf_add(&ec->partial, p, n);
}

/* Read fd to its end. */
static void
events_cmd_drain(struct events_cmd *ec, int fd, const char *file)
{
	char	*chunk = xmalloc(EVENTS_READ_CHUNK);
	ssize_t	 n;

	for (;;) {
		n = read(fd, chunk, EVENTS_READ_CHUNK);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		events_cmd_feed(ec, chunk, (size_t)n, file);
	}
	free(chunk);
}

/* A file's last line without its newline is a truncated one. */
static void
events_cmd_truncated(struct events_cmd *ec, const char *file)
{
	if (ec->partial.len > 0)
		events_cmd_line(ec, ec->partial.p,
		    ec->partial.len, file);
	buf_reset(&ec->partial);
}

static void
events_cmd_file(struct events_cmd *ec, const char *path, int keep)
{
	int		fd;
	struct stat	st;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	events_cmd_drain(ec, fd, path);
	if (!keep) {
		events_cmd_truncated(ec, path);
		close(fd);
		return;
	}
	if (fstat(fd, &st) == 0) {
		ec->dev = st.st_dev;
		ec->ino = st.st_ino;
	}
	ec->fd = fd;
}

/* The file changed: read what was appended; after a rotation, the new one. */
static void
events_cmd_stat_cb(struct ev_loop *loop, ev_stat *w, int revents)
{
	struct events_cmd	*ec = w->data;
	struct stat		 st;

	if (ec->fd == -1) {
		events_cmd_file(ec, ec->path, 1);
		return;
	}
	events_cmd_drain(ec, ec->fd, ec->path);
	if (stat(ec->path, &st) == 0 && (st.st_ino != ec->ino ||
	    st.st_dev != ec->dev)) {
		events_cmd_truncated(ec, ec->path);
		close(ec->fd);
		ec->fd = -1;
		events_cmd_file(ec, ec->path, 1);
	}
}

static void
events_cmd_signal_cb(struct ev_loop *loop, int signo, void *arg)
{
	struct events_cmd	*ec = arg;

	ec->stopped = 1;
	ev_break(loop, EVBREAK_ALL);
}

static void
events_cmd_follow(struct events_cmd *ec)
{
	struct proc	*p = proc_start(0);

	ec->loop = proc_loop(p);
	proc_set_signals(p, events_cmd_signal_cb, ec);
	ev_stat_init(&ec->stat_w, events_cmd_stat_cb, ec->path,
	    EVENTS_STAT_INTERVAL);
	ec->stat_w.data = ec;
	ev_stat_start(ec->loop, &ec->stat_w);
	/* Anything appended between the first read and the watcher. */
	events_cmd_stat_cb(ec->loop, &ec->stat_w, 0);
	while (!ec->stopped && !output_broken_pipe(ec->out))
		ev_run(ec->loop, EVRUN_ONCE);
	ev_stat_stop(ec->loop, &ec->stat_w);
	proc_free(p);
}

static int
cmd_events_run(const struct invocation *inv, struct output *out)
{
	struct events_cmd	 ec;
	const char		*since = jget_str(inv->verb_opts, "since");
	char			*rot = events_path_rotated();

	memset(&ec, 0, sizeof ec);
	ec.inv = inv;
	ec.out = out;
	ec.fd = -1;
	ec.since = since != NULL ? strtoll(since, NULL, 10) : -1;
	ec.session = inv->session;
	buf_init(&ec.partial, 0);
	ec.path = events_path();

	events_cmd_file(&ec, rot, 0);
	free(rot);
	events_cmd_file(&ec, ec.path, json_is_true(json_object_get(
	    inv->verb_opts, "follow")));
	if (ec.fd != -1 || json_is_true(json_object_get(inv->verb_opts,
	    "follow")))
		events_cmd_follow(&ec);
	if (ec.fd != -1)
		close(ec.fd);
	buf_free(&ec.partial);
	free(ec.path);
	return (ACPX_EXIT_SUCCESS);
}

/* ------------------------------------------------------- the command row */

static const struct cmd_opt o_follow = CMD_OPT("--follow", NULL, "--follow",
    "follow", "Keep printing events as they are logged", CMD_OPT_BOOL, NULL);
static const struct cmd_opt o_since = CMD_OPT("--since <time>", NULL,
    "--since", "since", "Only events since an ISO 8601 time or a time ago "
    "(10m, 2h, 1d)", CMD_OPT_VALUE, NULL);
static const struct cmd_opt o_session = CMD_OPTV("-s, --session <name>",
    "-s", "--session", "session", "Only events of this session (name or "
    "record id)", CMD_OPT_VALUE, NULL, CMD_VALUES_SESSION, NULL);
static const struct cmd_opt *const events_opts[] = { &o_follow,
    &o_session, &o_since, NULL };

static int
cmd_events_prepare(struct cli_run *run, struct cli_cmd *leaf,
    struct invocation *inv)
{
	const char	*since = json_string_value(cli_prepare_own(leaf, "since"));
	int64_t		 ms;
	json_t		*v;

	inv->session = cli_prepare_dup(cli_prepare_own(leaf, "session"));
	cli_prepare_verb_opt(inv, "follow", cli_prepare_own(leaf, "follow"));
	if (cli_prepare_plain(run, leaf, inv) == -1)
		return (-1);
	if (since == NULL)
		return (0);
	/* A usage error (exit 2), as every bad option value of ours. */
	if ((ms = events_read_since(since)) < 0) {
		cli_usage_error(run, "--since must be an ISO 8601 time (e.g. "
		    "2026-01-01T10:00:00Z) or a time ago such as 90s, 10m, 2h "
		    "or 1d, not \"%s\"", since);
		return (-1);
	}
	v = json_integer((json_int_t)ms);
	cli_prepare_verb_opt(inv, "since", v);
	json_decref(v);
	return (0);
}

const struct cmd_entry cmd_events_entry = {
	.name = "events",
	.desc = "Show the lifecycle event log of all sessions",
	.opts = events_opts,
	.flags = CMD_ACTION,
	.prepare = cmd_events_prepare,
	.run = cmd_events_run
};
