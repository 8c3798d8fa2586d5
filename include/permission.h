/*
 * Permission policy for session/request_permission (spec acpx-cli.md §9,
 * acpx-runtime.md §10.5). Pure: given the request, the mode, the
 * non-interactive policy, the optional policy rules and whether a TTY
 * prompt is possible, decide what to answer. The caller does any prompting
 * and all I/O.
 */
#ifndef ACPX_PERMISSION_H
#define ACPX_PERMISSION_H

#include <jansson.h>

#include "acpx.h"

enum perm_action {
	PERM_SELECT = 0,	/* answer with option_id */
	PERM_CANCEL,		/* answer {"outcome":"cancelled"} */
	PERM_ASK,		/* ask on the TTY: y → allow_id, else reject_id */
	PERM_UNAVAILABLE	/* --non-interactive-permissions fail: cancel and fail the turn */
};

struct perm_decision {
	enum perm_action	 action;
	const char		*option_id;	/* PERM_SELECT; borrowed from the request */
	const char		*allow_id;	/* PERM_ASK; NULL if none */
	const char		*reject_id;	/* PERM_ASK; NULL if none */
	json_t			*escalation;	/* policy escalation without a TTY; owned */
	char			*prompt;	/* PERM_ASK: the stderr question; owned */
};

/*
 * Decide. params = the request's params (borrowed); policy = parsed policy
 * object or NULL; can_prompt = stdin and stderr are TTYs; now = ISO time for
 * escalation events. Fills *d; release with permission_decision_clear().
 */
void		 permission_decide(const json_t *params, enum acpx_perm_mode,
		    enum acpx_nonint, const json_t *policy, int can_prompt,
		    const char *now, struct perm_decision *d);
void		 permission_decision_clear(struct perm_decision *);

/* The response object for a decision, or for an answered PERM_ASK (allow = y). Caller owns. */
json_t		*permission_response(const struct perm_decision *, int allow);

/* Tool kind as the reference infers it (kind, else title head word); NULL if none. */
const char	*permission_infer_kind(const json_t *params);

/*
 * Codex adapter compatibility (agentInfo.name "@agentclientprotocol/codex-acp"):
 * a copy of params whose reject_once "decline"/"reject_permissions" option
 * comes first (caller owns), or NULL when nothing changes.
 */
json_t		*permission_codex_prefer(const json_t *params);

/*
 * The refusal notice the reference adds for Codex (static string) for a
 * response to params, or NULL.
 */
const char	*permission_codex_notice(const json_t *params, const json_t *response);

/* "approved", "denied" or "cancelled" for a response to params. */
const char	*permission_classify(const json_t *params, const json_t *response);

#endif
