/*
 * Inside acpx __complete (complete.c: the protocol, the output and the
 * lists for the docs test; complete-walk.c: the walk of a partial command
 * line through the command table; complete-cands.c: candidates from the
 * registry, the config, Warp and the session records). The struct lives
 * for one completion; complete_main() frees it.
 */
#ifndef ACPX_COMPLETE_IMPL_H
#define ACPX_COMPLETE_IMPL_H

#include <stddef.h>

#include "cmd.h"
#include "complete.h"

struct complete_cand {
	char	*value;
	char	*desc;
};

struct complete {
	int			  describe;
	enum complete_kind	  kind;
	struct complete_cand	 *v;
	size_t			  n;

	/* What the words before the current one say. */
	const struct cmd_entry	 *cmd;		/* innermost command */
	const char		 *agent;	/* positional agent token */
	const char		 *agent_override; /* --agent */
	const char		 *cwd;		/* --cwd (global or compare's) */
	const char		 *source_cwd;	/* sessions export --cwd */
	int			  npos;		/* operands of cmd so far */
	int			  literal;	/* after --, or prompt text */

	char			 *process_cwd;
	struct config		 *config;
	int			  config_tried;
};

/* complete-cands.c */
void		 complete_add_prefixed(struct complete *, const char *prefix,
		    const char *value, const char *desc);
struct config	*complete_config(struct complete *);

/* complete-walk.c: walk words[0..n-2], complete words[n-1]. */
void		 complete_words(struct complete *, char **words, int n);

#endif
