#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "progress.h"
#include "xmalloc.h"

/*
 * The progress line (progress.h). State is static: one terminal, one line.
 * The first draw waits PROGRESS_FIRST seconds, so a wait that ends at once
 * shows nothing; then the line is redrawn every second with the elapsed
 * time. The timer is unref'ed (ev_unref) so a loop that has nothing else
 * to wait for still returns.
 */

#define PROGRESS_FIRST	0.2
#define PROGRESS_EVERY	1.0

static struct {
	int		 enabled;
	struct ev_loop	*loop;		/* the timer's, while active */
	ev_timer	 timer;
	char		*what;
	ev_tstamp	 t0;
	int		 drawn;		/* a line is on the screen */
} progress;

static void
progress_write(const char *s, size_t n)
{
	ssize_t	w;

	while (n > 0) {
		if ((w = write(STDERR_FILENO, s, n)) <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static void
progress_draw(void)
{
	char	line[256];
	int	n;

	n = snprintf(line, sizeof line, "\r\033[K[acpx] %s... %.0fs",
	    progress.what, ev_now(progress.loop) - progress.t0);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof line)
		n = sizeof line - 1;
	progress_write(line, (size_t)n);
	progress.drawn = 1;
}

static void
progress_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	progress_draw();
}

void
progress_init(int on)
{
	const char	*term = getenv("TERM");

	progress.enabled = on && isatty(STDERR_FILENO) &&
	    isatty(STDOUT_FILENO) &&
	    !(term != NULL && strcmp(term, "dumb") == 0);
}

int
progress_enabled(void)
{
	return (progress.enabled);
}

void
progress_show(struct ev_loop *loop, const char *fmt, ...)
{
	va_list	 ap;
	char	*old;

	if (!progress.enabled)
		return;
	old = progress.what;
	va_start(ap, fmt);
	xvasprintf(&progress.what, fmt, ap);
	va_end(ap);
	/* A new phrase is a new wait: its own elapsed time. */
	if (old != NULL && strcmp(old, progress.what) != 0)
		progress.t0 = ev_now(loop);
	free(old);
	if (progress.loop != NULL && progress.loop != loop) {
		ev_ref(progress.loop);
		ev_timer_stop(progress.loop, &progress.timer);
		progress.loop = NULL;
	}
	if (progress.loop == NULL) {
		if (!progress.drawn)
			progress.t0 = ev_now(loop);
		progress.loop = loop;
		ev_timer_init(&progress.timer, progress_timer_cb, PROGRESS_FIRST,
		    PROGRESS_EVERY);
		ev_timer_start(loop, &progress.timer);
		ev_unref(loop);
	} else if (progress.drawn)
		progress_draw();
}

void
progress_clear(void)
{
	if (!progress.enabled)
		return;
	if (progress.loop != NULL) {
		ev_ref(progress.loop);
		ev_timer_stop(progress.loop, &progress.timer);
		progress.loop = NULL;
	}
	if (progress.drawn)
		progress_write("\r\033[K", 4);
	progress.drawn = 0;
	free(progress.what);
	progress.what = NULL;
}
