/*
 * The conversation of a session record (spec acpx-runtime.md §2.3-2.4):
 * the Zed-thread-like messages array, title, token usage and cost, and the
 * acpx state that session/update notifications carry (mode, available
 * commands, config options, model state). Mapping from ACP prompt blocks,
 * session/update notifications and prompt responses, trimming to the
 * reference's limits, and the history previews that `sessions history`
 * and `read` print. Pure: operates on a struct session_record, no I/O.
 */
#ifndef ACPX_CONVERSATION_H
#define ACPX_CONVERSATION_H

#include <stddef.h>

#include <jansson.h>

#include "session-record.h"

#define CONVERSATION_MAX_MESSAGES	200
#define CONVERSATION_MAX_TEXT		8000
#define CONVERSATION_MAX_THINKING	4000
#define CONVERSATION_MAX_TOOL		4000
#define CONVERSATION_MAX_REQUEST_USAGE	100

/*
 * A prompt was submitted: push a User message with a new random UUID made
 * from the ACP content blocks (borrowed), set updated_at = now, trim.
 * Returns the new message id (owned by the record).
 */
const char	*conversation_add_prompt(struct session_record *,
		    const json_t *blocks, const char *now);

/*
 * Apply one session/update notification's params (borrowed: the object
 * with "update") or the update object itself. Returns 1 if the record
 * changed, 0 if the update was not one that maps.
 */
int		 conversation_apply_update(struct session_record *,
		    const json_t *params, const char *now);

/*
 * Apply a session/prompt result (borrowed): its usage becomes the
 * cumulative usage and the usage of the last user message.
 */
void		 conversation_apply_prompt_result(struct session_record *,
		    const json_t *result, const char *now);

/*
 * The same, keyed by the prompt's own user message id (the value
 * conversation_add_prompt() returned; copy it, the record owns it), as
 * the reference does when updates added user messages during the turn.
 */
void		 conversation_apply_prompt_usage(struct session_record *,
		    const json_t *result, const char *user_message_id,
		    const char *now);

/* Enforce the message count and text length limits in place. */
void		 conversation_trim(struct session_record *);

/*
 * The same after a change to the last message only (or one appended):
 * only that one is measured when the record says the others are within
 * the limits (session_record.trimmed, set by conversation_trim()).
 */
void		 conversation_trim_last(struct session_record *);

/* One history entry, as `sessions history` shows it. */
struct conversation_entry {
	const char	*role;		/* "user" or "assistant" */
	char		*text;		/* preview text; owned */
};

/*
 * The non-empty history entries of the record's messages, oldest first.
 * Free with conversation_entries_free().
 */
struct conversation_entry *conversation_entries(const struct session_record *,
		    size_t *n);
void		 conversation_entries_free(struct conversation_entry *, size_t n);

/* A random RFC 4122 v4 UUID. Caller owns. */
char		*conversation_uuid(void);

#endif
