/*
 * isotime: ISO 8601 / RFC 3339 date-times to milliseconds since the
 * epoch, one parser for every file and argument that carries one (the
 * event log's --since, queue leases and run records, the Warp state,
 * quota readings).
 *
 * The grammar: YYYY-MM-DD, then (T|t|space)HH:MM[:SS[(.|,)fraction]],
 * then Z|z|±HH:MM|±HHMM. A fraction keeps its first three digits. Years
 * before 1970 are refused (every caller deals in epoch times). Flags
 * loosen it:
 *	ISOTIME_LOCAL		no zone means local time (else a zone is
 *				required)
 *	ISOTIME_SHORT		the time may be left out (midnight) and the
 *				seconds too
 * Pure functions; nothing is allocated.
 */
#ifndef ACPX_ISOTIME_H
#define ACPX_ISOTIME_H

#include <stdint.h>

#define ISOTIME_LOCAL	0x01
#define ISOTIME_SHORT	0x02

/* Milliseconds since the epoch, or -1 if s is not such a time. */
int64_t		 isotime_parse_ms(const char *s, int flags);

#endif
