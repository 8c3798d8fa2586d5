/*
 * Internals shared by the parts of the session record: session-record.c
 * (the record in memory), session-record-disk.c (as written),
 * session-record-agent.c (what the agent tells it), session-record-parse.c
 * (the record's keys), session-record-msg.c (the conversation's messages)
 * and session-record-state.c (usage, cost and the acpx state). Nothing here
 * is for other modules.
 */
#ifndef ACPX_SESSION_RECORD_IMPL_H
#define ACPX_SESSION_RECORD_IMPL_H

#include <jansson.h>

#include "session-record.h"

int		 session_record_is_nonneg(const json_t *v);

int		 session_record_is_pos_int(const json_t *v);

int		 session_record_valid_message(const json_t *m);

/* parseTokenUsage: NULL (absent/null) → *out NULL; invalid → -1. */
int		 session_record_parse_usage(const json_t *raw, json_t **out);

int		 session_record_parse_cost(const json_t *raw, json_t **out);

int		 session_record_parse_request_usage(const json_t *raw, json_t **out);

int		 session_record_string_array(const json_t *v);

/* parseAcpxState: the reference's normalised acpx object, or NULL. */
json_t		*session_record_parse_acpx(const json_t *raw);

json_t		*session_record_parse_event_log(const json_t *raw,
		    const char *record_id);


void		 session_record_set_json(json_t **field, json_t *v);

#endif /* ACPX_SESSION_RECORD_IMPL_H */
