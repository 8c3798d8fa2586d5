#include <config.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "acpx.h"
#include "cmdline.h"
#include "secrets.h"
#include "warp.h"
#include "xmalloc.h"

/*
 * Which agents of a chain may take a turn now, and why the others may not
 * (warp.h, "route"): the one rule the launch pick, the fallback's next
 * agent and `acpx warp route` share. A candidate is skipped when its
 * provider/model (or the whole provider) is cooling down, when a
 * fallback candidate's secrets are missing on this machine, or when the
 * operator forces its provider to fail (--force-fail). The node of a
 * node-bound agent would be one more reason here.
 */

static const char *const warp_route_skip_names[] = {
	"ok", "cooling", "secrets-missing", "forced"
};

const char *
warp_route_skip_name(enum warp_route_skip k)
{
	return ((size_t)k < nitems(warp_route_skip_names) ?
	    warp_route_skip_names[k] : "unknown");
}

void
warp_route_check_clear(struct warp_route_check *c)
{
	free(c->missing);
	free(c->why);
	memset(c, 0, sizeof *c);
}

/* The first missing WARP_<P>_* variable of a provider, or NULL. Caller owns. */
static char *
warp_route_missing(const struct secrets *s, const char *provider)
{
	static const char *const suffixes[] = { "API_KEY", "BASE_URL" };
	size_t	 i;
	char	*v;

	for (i = 0; i < nitems(suffixes); i++) {
		v = warp_var_name(provider, suffixes[i]);
		if (secrets_get(s, v) == NULL)
			return (v);
		free(v);
	}
	return (NULL);
}

/* May t take a turn now? */
enum warp_route_skip
warp_route_check(const struct warp_state *st, const struct secrets *s,
    const struct warp_target *t, const char *forced, int check_secrets,
    time_t now, struct warp_route_check *c)
{
	const struct warp_cooldown	*cd;
	char				*until;

	memset(c, 0, sizeof *c);
	if (forced != NULL && strcmp(forced, t->provider->name) == 0) {
		c->skip = WARP_ROUTE_FORCED;
		xasprintf(&c->why, "provider %s forced to fail (--force-fail)",
		    forced);
	} else if (st != NULL && (cd = warp_state_cooling(st,
	    t->provider->name, t->model->model, now)) != NULL) {
		c->skip = WARP_ROUTE_COOLING;
		c->cooldown = cd;
		until = warp_state_until_text(cd->until);
		xasprintf(&c->why, "cooling down until %s for %s (%s)", until,
		    warp_cooldown_cause_name(warp_cooldown_cause(cd->reason)),
		    cd->reason);
		free(until);
	} else if (check_secrets && s != NULL &&
	    (c->missing = warp_route_missing(s, t->provider->name)) != NULL) {
		c->skip = WARP_ROUTE_SECRETS;
		xasprintf(&c->why, "secrets missing (%s)", c->missing);
	}
	return (c->skip);
}
