/*
 * Internal interface of the conversation module, split by concern:
 *   conversation.c          the record-level rules: prompts, trimming,
 *                           token usage, the shared mappings;
 *   conversation-update.c   session/update notifications mapped into
 *                           messages, tool results and acpx state;
 *   conversation-history.c  the previews `sessions history` prints.
 * Nothing outside conversation*.c includes this header.
 */
#ifndef ACPX_CONVERSATION_IMPL_H
#define ACPX_CONVERSATION_IMPL_H

#include <stddef.h>

#include <jansson.h>

#include "session-record.h"

/*
 * trimRuntimeText: if s is longer than max UTF-16 units, its first max-3
 * units and "...". Returns a new string (caller frees) or NULL if s fits.
 */
char	*conversation_trim_text(const char *s, size_t max);

/* updated_at = now (nothing if now is NULL). */
void	 conversation_touch(struct session_record *, const char *now);

/*
 * contentToUserContent of an ACP content block (borrowed). Caller owns
 * the result; NULL if the block does not map.
 */
json_t	*conversation_user_content(const json_t *);

/*
 * sourceToTokenUsage: the usage fields found in src, or NULL. Caller
 * owns.
 */
json_t	*conversation_usage(const json_t *src);

/*
 * Make usage (taken) the cumulative usage and the usage of the user
 * message user_id (the last user message if NULL).
 */
void	 conversation_apply_usage(struct session_record *, json_t *usage,
	    const char *user_id);

#endif
