/*
 * Reading the event log (events.h) back, for `acpx events`: a time
 * argument (--since), the filter, and one event as a readable line.
 * Pure functions of their arguments, except events_read_since()'s clock.
 *
 * Ownership: returned strings are the caller's; json_t arguments are
 * borrowed.
 */
#ifndef ACPX_EVENTS_READ_H
#define ACPX_EVENTS_READ_H

#include <stdint.h>

#include <jansson.h>

/*
 * --since: an ISO 8601 time (2026-12-06, 2026-12-06T10:00, ...:00Z,
 * ...+02:00; local time without a zone) or a time ago ("90s", "10m",
 * "2h", "1d"). Milliseconds since the epoch, or -1 if it is neither.
 */
int64_t		 events_read_since(const char *text);

/*
 * Does event e pass the filter: since_ms (-1: any) against its "ts";
 * session (NULL: any) equal to its name or its session id?
 */
int		 events_read_match(const json_t *e, int64_t since_ms,
		    const char *session);

/*
 * "<ts> <event> <proc>:<pid> <session name or id[0:8] or -> agent=...
 * k=v ..." (values with spaces as JSON strings). Caller owns.
 */
char		*events_read_text(const json_t *e);

#endif
