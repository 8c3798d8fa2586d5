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

/* Adapters whose models acpx treats specially (model_agent_kind()). */
#define MODEL_AGENT_CLAUDE	1	/* unadvertised models forwarded */
#define MODEL_AGENT_CURSOR	2	/* "x" means the one advertised "x[...]" */

/*
 * Can requested be applied? ms NULL = nothing advertised. kind: 0 or a
 * MODEL_AGENT_* of the agent (Claude: forwarded through _meta, never an
 * error; Cursor: an alias of one advertised id is fine, with a warning).
 * Returns NULL when fine (maybe with *warning, caller frees), else the
 * reference's error message (caller frees).
 */
char		*model_check(const char *requested, const struct model_state *ms,
		    int kind, const char *context, char **warning);

/*
 * The model id to send for requested (caller frees): for Cursor the one
 * advertised "requested[...]" id when requested itself is not advertised,
 * else requested. ms may be NULL.
 */
char		*model_resolve(const char *requested, const struct model_state *ms,
		    int kind);

/* The agent's MODEL_AGENT_* kind (0 for any other), from its argv. */
int		 model_agent_kind(char *const *argv);

/* Is this agent command Claude's ACP adapter? */
int		 model_is_claude_command(char *const *argv);

#endif
