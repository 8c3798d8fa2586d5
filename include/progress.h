/*
 * The progress line: while acpx waits for something the user cannot see
 * (the agent starting, initialize, a queue owner starting, a queued turn,
 * a fallback hop), one status line on stderr with the elapsed time,
 * redrawn in place by a libev timer and erased ("\r\033[K") before any
 * other output. Only when progress_init() enabled it (text format, no
 * --json-strict, no --verbose, stdout and stderr a terminal that is not
 * TERM=dumb); otherwise every call does nothing, so pipes, files, detached
 * processes and an ACP proxy (warp serve, stdout a pipe) never see it.
 * One line per process: the module keeps it in static state; the timer
 * is unref'ed, so it never keeps a loop running.
 */
#ifndef ACPX_PROGRESS_H
#define ACPX_PROGRESS_H

#include <ev.h>

/* Decide once, at start: enabled when on is set and the terminal fits. */
void		 progress_init(int on);

/* Non-zero when progress_init() enabled the line. */
int		 progress_enabled(void);

/*
 * Show what is awaited (printf format; a short phrase such as "starting
 * the agent"), drawn after a short moment and then every second with the
 * time since the first show of this wait. A new phrase replaces the old.
 */
void		 progress_show(struct ev_loop *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));

/* Erase the line (if drawn) and end the wait. Safe at any time. */
void		 progress_clear(void);

#endif
