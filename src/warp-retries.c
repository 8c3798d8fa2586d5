#include <config.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acpx.h"
#include "cmdline.h"
#include "config-file.h"
#include "warp.h"

/*
 * A harness's own provider retries (warp.h, "harness retries"): Claude
 * Code retries a failing provider ten times over minutes without a word
 * on ACP, so Warp would see the failure late. Where Warp has a next agent
 * to fall back to, each harness is started with its retries capped
 * (warp.harnessRetries, default 1); the last agent of a chain keeps the
 * harness's own setting. The last agent is the one after which the walk
 * would find no other: a fallback walker knows it (its tried agents, its
 * hops left), and so does the launch pick (it walks on past the agent it
 * chose, on the state it loaded); any other start looks at the chain now
 * (the agents cooling down or without secrets would be skipped). One row
 * per harness that has
 * a knob: opencode and gemini have none that their released packages read
 * from the environment.
 */

static const struct {
	const char	*harness;
	const char	*var;
} warp_retries_rows[] = {
	{ "claude",	"CLAUDE_CODE_MAX_RETRIES" },
};

const char *
warp_retries_var(const char *harness)
{
	size_t	i;

	for (i = 0; harness != NULL && i < nitems(warp_retries_rows); i++) {
		if (strcmp(warp_retries_rows[i].harness, harness) == 0)
			return (warp_retries_rows[i].var);
	}
	return (NULL);
}

/* Would an agent of [first, chain...] other than sel take a turn now? */
static int
warp_retries_next(const struct config *c, const struct warp_config *wc,
    const struct warp_target *first, const struct warp_target *sel,
    const struct secrets *s)
{
	struct warp_state	*st;
	struct warp_route_check	 rc;
	struct warp_route_ctx	 x;
	char			**chain, *home, *warning = NULL;
	time_t			 now = time(NULL);
	int			 next = 0;

	home = config_home();
	st = warp_state_load(home, &warning);
	free(warning);
	warp_route_ctx_init(&x, wc, st, s, c, home, now);
	chain = warp_chain(wc, first);
	if (strcmp(first->id, sel->id) != 0) {
		next = warp_route_check(&x, first, 1, &rc) == WARP_ROUTE_OK;
		warp_route_check_clear(&rc);
	}
	if (!next)
		next = warp_route_any_free(&x, wc, chain, sel->id);
	cmdline_free(chain);
	warp_state_free(st);
	free(home);
	return (next);
}

/* The cap when another agent would follow sel, else -1. */
static int
warp_retries_wanted(const struct config *c, const struct warp_config *wc,
    const struct warp_target *first, const struct warp_target *sel,
    const struct secrets *s, int hop)
{
	if (wc->harness_retries < 0 || wc->max_hops == 0)
		return (-1);
	if (hop >= 0)
		return (hop ? wc->harness_retries : -1);
	return (warp_retries_next(c, wc, first, sel, s) ? wc->harness_retries :
	    -1);
}

/* The cap for sel's harness now, or -1 to leave its retries alone. */
int
warp_retries_cap(const struct config *c, const struct warp_config *wc,
    const struct warp_target *first, const struct warp_target *sel,
    const struct secrets *s, int hop)
{
	if (warp_retries_var(warp_harness_id(sel->harness)) == NULL)
		return (-1);
	return (warp_retries_wanted(c, wc, first, sel, s, hop));
}

/* The same rule for a harness without a knob: its provider tap's. */
int
warp_retries_tap(const struct config *c, const struct warp_config *wc,
    const struct warp_target *first, const struct warp_target *sel,
    const struct secrets *s, int hop)
{
	if (warp_retries_var(warp_harness_id(sel->harness)) != NULL)
		return (-1);
	return (warp_retries_wanted(c, wc, first, sel, s, hop));
}
