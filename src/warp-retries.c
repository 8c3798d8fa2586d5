#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "acpx.h"
#include "cmdline.h"
#include "warp.h"

/*
 * A harness's own provider retries (warp.h, "harness retries"): Claude
 * Code retries a failing provider ten times over minutes without a word
 * on ACP, so Warp would see the failure late. Where Warp has a next agent
 * to fall back to, each harness is started with its retries capped
 * (warp.harnessRetries, default 1); the last agent of a chain keeps the
 * harness's own setting. One row per harness that has a knob: opencode
 * and gemini have none that their released packages read from the
 * environment.
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

/* The cap for t's harness now, or -1 to leave its retries alone. */
int
warp_retries_cap(const struct warp_config *wc, const struct warp_target *t)
{
	char	**chain;
	int	  next;

	if (wc->harness_retries < 0 || wc->max_hops == 0 ||
	    warp_retries_var(warp_harness_id(t->harness)) == NULL)
		return (-1);
	chain = warp_chain(wc, t);
	next = chain[0] != NULL;
	cmdline_free(chain);
	return (next ? wc->harness_retries : -1);
}
