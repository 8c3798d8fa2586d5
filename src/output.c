#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include <jansson.h>

#include "acpx-error.h"
#include "acpx.h"
#include "js-json.h"
#include "output.h"
#include "output-impl.h"
#include "progress.h"
#include "xmalloc.h"

/*
 * The renderer front end: picks text, json or quiet and owns the writers
 * (stdout flushed once per message, or once per loop iteration with a
 * loop attached; stderr per line, after stdout; EPIPE remembered).
 * The message classifiers the renderers share are in output-msg.c.
 */

/* ---------------------------------------------------------------- writers */

/* Write to stdout unless the pipe broke. */
void
output_out(struct output *o, const char *s, size_t n)
{
	if (o->broken_pipe || n == 0)
		return;
	progress_clear();
	if (fwrite(s, 1, n, o->opts.out) != n && errno == EPIPE)
		o->broken_pipe = 1;
}

/* Flush stdout now; EPIPE marks the pipe broken. */
void
output_flush(struct output *o)
{
	if (o->loop != NULL && ev_is_active(&o->flush_w))
		ev_prepare_stop(o->loop, &o->flush_w);
	if (o->broken_pipe)
		return;
	if (fflush(o->opts.out) == EOF && errno == EPIPE)
		o->broken_pipe = 1;
}

/* The loop is about to block: write what the messages left buffered. */
static void
output_flush_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	output_flush(w->data);
}

/* End of a message: flush now, or before the attached loop blocks. */
void
output_out_flush(struct output *o)
{
	if (o->loop == NULL) {
		output_flush(o);
		return;
	}
	if (!ev_is_active(&o->flush_w))
		ev_prepare_start(o->loop, &o->flush_w);
}

/* Write to stderr and flush, after what stdout holds. */
void
output_err(struct output *o, const char *s, size_t n)
{
	output_flush(o);
	progress_clear();
	if (n > 0)
		fwrite(s, 1, n, o->opts.err);
	fflush(o->opts.err);
}

/* ---------------------------------------------------------------- public */

/* Create a renderer for opts->format. Caller owns (output_free). */
struct output *
output_create(const struct output_opts *opts)
{
	struct output	*o;

	o = xcalloc(1, sizeof *o);
	o->opts = *opts;
	if (o->opts.out == NULL)
		o->opts.out = stdout;
	if (o->opts.err == NULL)
		o->opts.err = stderr;
	switch (o->opts.format) {
	case ACPX_FORMAT_JSON:
		o->r = &output_json_renderer;
		break;
	case ACPX_FORMAT_QUIET:
		o->r = &output_quiet_renderer;
		break;
	case ACPX_FORMAT_TEXT:
	default:
		o->r = &output_text_renderer;
		break;
	}
	o->state = o->r->create(o);
	return (o);
}

/* Defer the per-message flushes to loop (not on a terminal); NULL: now. */
void
output_attach_loop(struct output *o, struct ev_loop *loop)
{
	if (o->loop != NULL)
		output_flush(o);
	o->loop = NULL;
	if (loop == NULL || isatty(fileno(o->opts.out)))
		return;
	o->loop = loop;
	ev_prepare_init(&o->flush_w, output_flush_cb);
	o->flush_w.data = o;
}

/*
 * Free a renderer (NULL is fine). Does not flush, but what an attached
 * loop was to write is written.
 */
void
output_free(struct output *o)
{
	if (o == NULL)
		return;
	output_attach_loop(o, NULL);
	o->r->free(o->state);
	free(o);
}

/* One ACP message of the turn, direction inferred. */
void
output_acp_message(struct output *o, const json_t *msg)
{
	output_acp_message_dir(o, msg, OUTPUT_DIR_UNKNOWN);
}

/* One ACP message of the turn with its direction. */
void
output_acp_message_dir(struct output *o, const json_t *msg,
    enum output_dir dir)
{
	if (o->broken_pipe || !json_is_object(msg))
		return;
	o->r->message(o, o->state, msg, dir);
}

/* An in-stream acpx error; marks it emitted. */
void
output_turn_error(struct output *o, struct acpx_error *err)
{
	err->flags |= ACPX_ERROR_EMITTED;
	if (o->broken_pipe)
		return;
	o->r->turn_error(o, o->state, err);
	output_flush(o);
}

/* End of turn: flush what the renderer holds. */
void
output_turn_end(struct output *o)
{
	if (o->broken_pipe)
		return;
	o->r->turn_end(o, o->state);
	output_flush(o);
}

/* Show an error, free it, return its exit status. */
int
output_fail(struct output *o, struct acpx_error *err)
{
	int	rc;

	if (err == NULL)
		return (ACPX_EXIT_ERROR);
	output_error(o, err);
	rc = acpx_error_exit(err);
	acpx_error_free(err);
	return (rc);
}

/*
 * Top-level error. Sub-command parse errors are Commander's own output
 * (printed by cli.c with the help text), so nothing is added here.
 */
void
output_error(struct output *o, const struct acpx_error *err)
{
	if (err == NULL || o->broken_pipe)
		return;
	if (err->flags & (ACPX_ERROR_EMITTED | ACPX_ERROR_SUBCOMMAND))
		return;
	o->r->error(o, o->state, err);
	output_flush(o);
}

/* One compact JSON.stringify line of v on stdout. */
void
output_result_json(struct output *o, const json_t *v)
{
	char	*s;

	if (o->broken_pipe)
		return;
	s = js_json_dumps(v, 0);
	output_out(o, s, strlen(s));
	output_out(o, "\n", 1);
	output_flush(o);
	free(s);
}

/* A result line on stdout, verbatim plus '\n'. */
void
output_result_text(struct output *o, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 n;

	if (o->broken_pipe)
		return;
	va_start(ap, fmt);
	n = xvasprintf(&s, fmt, ap);
	va_end(ap);
	output_out(o, s, (size_t)n);
	output_out(o, "\n", 1);
	output_flush(o);
	free(s);
}

/* "[acpx] <text>" on stderr unless json_strict. */
void
output_notice(struct output *o, const char *fmt, ...)
{
	struct buf	 b = BUF_INITIALIZER;
	va_list		 ap;
	char		*s;
	int		 n;

	if (o->opts.json_strict)
		return;
	va_start(ap, fmt);
	n = xvasprintf(&s, fmt, ap);
	va_end(ap);
	buf_adds(&b, "[acpx] ");
	buf_add(&b, s, (size_t)n);
	buf_addc(&b, '\n');
	output_err(o, b.p, b.len);
	buf_free(&b);
	free(s);
}

/* A warp fallback hop: a stream line (text/json), a stderr note (quiet). */
void
output_fallback(struct output *o, const json_t *n)
{
	const json_t	*p = json_object_get(n, "params");
	const char	*from, *to, *reason;
	char		*line;

	if (o->broken_pipe)
		return;
	if (o->opts.format == ACPX_FORMAT_JSON) {
		output_result_json(o, n);
		return;
	}
	from = json_string_value(json_object_get(p, "from"));
	to = json_string_value(json_object_get(p, "to"));
	reason = json_string_value(json_object_get(p, "reason"));
	if (o->opts.format == ACPX_FORMAT_QUIET) {
		output_notice(o, "fallback: %s \xe2\x86\x92 %s (%s)", from, to,
		    reason);
		return;
	}
	xasprintf(&line, "%s[fallback]%s %s \xe2\x86\x92 %s (%s)\n",
	    o->opts.color ? "\033[1;33m" : "", o->opts.color ? "\033[0m" : "",
	    from, to, reason);
	output_out(o, line, strlen(line));
	output_flush(o);
	free(line);
}

/* Drop the renderer's state of the current turn, unprinted. */
void
output_turn_discard(struct output *o)
{
	o->r->free(o->state);
	o->state = o->r->create(o);
}

/* The format this renderer was made for. */
enum acpx_format
output_format(const struct output *o)
{
	return (o->opts.format);
}

/* Set once stdout reported EPIPE. */
int
output_broken_pipe(const struct output *o)
{
	return (o->broken_pipe);
}
