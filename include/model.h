/*
 * Session model state (spec acpx-cli.md §2 --model, §3.5): which models a
 * session advertises (a "model" select config option, else the legacy
 * "models" metadata), whether a requested model can be applied, and with
 * which request. Pure: no I/O.
 */
#ifndef ACPX_MODEL_H
#define ACPX_MODEL_H

#include <stddef.h>

#include <jansson.h>

struct model_state {
	char	 *config_id;	/* config option id, or NULL for session/set_model */
	char	 *current;	/* current model id */
	char	**available;	/* advertised model ids */
	size_t	  navailable;
};

/*
 * Model state of a session/new (or load) result: configOptions first,
 * else legacy models. Returns 0 and fills *ms, or -1 if none advertised.
 */
int		 model_state_parse(const json_t *result, struct model_state *ms);
void		 model_state_clear(struct model_state *);

/*
 * Can requested be applied? ms NULL = nothing advertised. claude = the
 * agent is Claude's ACP adapter (forwarded through _meta, never an error).
 * Returns NULL when fine (maybe with *warning, caller frees), else the
 * reference's error message (caller frees).
 */
char		*model_check(const char *requested, const struct model_state *ms,
		    int claude, const char *context, char **warning);

/* Is this agent command Claude's ACP adapter? */
int		 model_is_claude_command(char *const *argv);

#endif
