/*
 * Inside acpx __complete: the state of one completion, shared by the walk
 * of the partial command line through the command table (cli-complete.c:
 * the protocol, the output and the lists for the docs test;
 * cli-complete-walk.c: the walk) and the candidates (complete.c:
 * from the registry, the config, Warp and the session records, or, after
 * --node, from the node: complete-node.c). The
 * struct lives for one completion; cli_complete_main() frees it.
 */
#ifndef ACPX_COMPLETE_IMPL_H
#define ACPX_COMPLETE_IMPL_H

#include <stddef.h>

#include "complete.h"

struct cmd_entry;

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
	const char		 *node;		/* --node: sessions are the node's */
	char			**words;	/* the command line, as given */
	int			  nwords;
	int			  node_at;	/* the --node option's words */
	int			  node_len;

	char			 *process_cwd;
	struct config		 *config;
	int			  config_tried;
};

/* complete-node.c: the node's own candidates (its __complete, over ssh). */
void		 complete_node_sessions(struct complete *);

/* complete.c */
void		 complete_add_prefixed(struct complete *, const char *prefix,
		    const char *value, const char *desc);
struct config	*complete_config(struct complete *);

#endif
