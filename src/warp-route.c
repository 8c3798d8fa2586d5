#include <config.h>

#include <sys/stat.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "acpx.h"
#include "cmdline.h"
#include "config-file.h"
#include "secrets.h"
#include "warp.h"
#include "xmalloc.h"

/*
 * Which agents of a chain may take a turn now, and why the others may not
 * (warp.h, "route"): the one rule the launch pick, the fallback's next
 * agent and `acpx warp route` share. A candidate is skipped when the
 * operator forces its provider to fail (--force-fail), when its
 * provider/model (or the whole provider) is cooling down, when its quota
 * is exhausted or under warp.quotaReserve (warp-quota.h), when it is
 * bound to execution nodes that are all marked down, or when a fallback
 * candidate's secrets are missing on this machine (an agent bound to
 * nodes has its secrets there).
 */

static const char *const warp_route_skip_names[] = {
	"ok", "cooling", "secrets-missing", "forced", "quota", "node-down"
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

/*
 * Every node t is bound to marked down at now: 1 with why ("node down
 * (n1 until T, ...)") and until (the first mark to end).
 */
static int
warp_route_nodes_down(const struct warp_route_ctx *x,
    const struct config_bind *b, struct warp_route_check *c)
{
	long long	 until, first = 0;
	char		*list = xstrdup(""), *iso, *tmp;
	size_t		 i;

	for (i = 0; i < b->nnodes; i++) {
		until = x->node_until(x->home, b->nodes[i]) / 1000;
		if (until <= (long long)x->now) {
			free(list);
			return (0);
		}
		if (first == 0 || until < first)
			first = until;
		iso = warp_iso_time((time_t)until);
		xasprintf(&tmp, "%s%s%s until %s", list, i > 0 ? ", " : "",
		    b->nodes[i], iso);
		free(iso);
		free(list);
		list = tmp;
	}
	if (b->nnodes == 0) {
		free(list);
		return (0);
	}
	c->skip = WARP_ROUTE_NODE_DOWN;
	c->until = (time_t)first;
	xasprintf(&c->why, "node down (%s)", list);
	free(list);
	return (1);
}

/* x with what every route check reads; the rest (forced, node_until) 0. */
void
warp_route_ctx_init(struct warp_route_ctx *x, const struct warp_config *wc,
    const struct warp_state *st, const struct secrets *s,
    const struct config *c, const char *home, time_t now)
{
	memset(x, 0, sizeof *x);
	x->wc = wc;
	x->st = st;
	x->secrets = s;
	x->config = c;
	x->home = home;
	x->now = now;
}

/* May t take a turn now? */
enum warp_route_skip
warp_route_check(const struct warp_route_ctx *x, const struct warp_target *t,
    int check_secrets, struct warp_route_check *c)
{
	const struct warp_cooldown	*cd;
	const struct config_bind	*b = NULL;
	struct warp_quota_view		 qv;
	char				*until;

	memset(c, 0, sizeof *c);
	if (x->config != NULL)
		b = config_find_bind(x->config, t->id);
	if (x->forced != NULL && strcmp(x->forced, t->provider->name) == 0) {
		c->skip = WARP_ROUTE_FORCED;
		xasprintf(&c->why, "provider %s forced to fail (--force-fail)",
		    x->forced);
		return (c->skip);
	}
	if (x->st != NULL && (cd = warp_state_cooling(x->st,
	    t->provider->name, t->model->model, x->now)) != NULL) {
		c->skip = WARP_ROUTE_COOLING;
		c->cooldown = cd;
		c->until = cd->until;
		until = warp_state_until_text(cd->until);
		xasprintf(&c->why, "cooling down until %s for %s (%s)", until,
		    warp_cooldown_cause_name(warp_cooldown_cause(cd->reason)),
		    cd->reason);
		free(until);
		return (c->skip);
	}
	if (x->st != NULL) {
		warp_quota_view(x->st, t->provider->name, t->model->model,
		    x->now, &qv);
		if (warp_quota_skip(&qv, x->wc != NULL ? x->wc->quota_reserve :
		    0, &c->why)) {
			c->skip = WARP_ROUTE_QUOTA;
			c->until = qv.reset != 0 ? qv.reset : qv.until;
			return (c->skip);
		}
	}
	if (b != NULL && x->home != NULL && x->node_until != NULL &&
	    warp_route_nodes_down(x, b, c))
		return (c->skip);
	if (check_secrets && b == NULL && x->secrets != NULL &&
	    (c->missing = warp_route_missing(x->secrets,
	    t->provider->name)) != NULL) {
		c->skip = WARP_ROUTE_SECRETS;
		xasprintf(&c->why, "secrets missing (%s)", c->missing);
	}
	return (c->skip);
}

/* Would an agent of ids other than skip take a turn now? */
int
warp_route_any_free(const struct warp_route_ctx *x,
    const struct warp_config *wc, char *const *ids, const char *skip)
{
	struct warp_route_check	 rc;
	struct warp_target	 cand;
	struct acpx_error	*err = NULL;
	size_t			 i;
	int			 free_ = 0;

	for (i = 0; !free_ && ids[i] != NULL; i++) {
		if (skip != NULL && strcmp(ids[i], skip) == 0)
			continue;
		if (warp_target_resolve(wc, ids[i], &cand, &err) == -1) {
			acpx_error_free(err);
			err = NULL;
			continue;
		}
		free_ = warp_route_check(x, &cand, 1, &rc) == WARP_ROUTE_OK;
		warp_route_check_clear(&rc);
		warp_target_clear(&cand);
	}
	return (free_);
}

void
warp_route_stamp_clear(struct warp_route_stamp *sp)
{
	free(sp->id);
	memset(sp, 0, sizeof *sp);
}

/* The serving agent id, before its turn: skipped for its quota? */
int
warp_route_quota_before(const struct warp_config *wc, const char *home,
    const char *id, time_t now, struct warp_route_stamp *sp, char **why)
{
	struct warp_state	*st;
	struct warp_route_check	 rc;
	struct warp_route_ctx	 x;
	struct warp_target	 t;
	struct acpx_error	*err = NULL;
	struct stat		 sb;
	char			*path, *warning = NULL;
	int			 skip = 0, have;

	*why = NULL;
	path = warp_state_path(home);
	have = stat(path, &sb) == 0;
	free(path);
	if (!have)
		return (0);	/* no state: no reading */
	if (sp->id != NULL && strcmp(sp->id, id) == 0 &&
	    sp->dev == (unsigned long long)sb.st_dev &&
	    sp->ino == (unsigned long long)sb.st_ino &&
	    sp->size == (long long)sb.st_size &&
	    sp->mtime_ns == (long long)sb.st_mtim.tv_sec * 1000000000LL +
	    sb.st_mtim.tv_nsec)
		return (0);	/* the same file found id free */
	if (warp_target_resolve(wc, id, &t, &err) == -1) {
		acpx_error_free(err);
		return (0);
	}
	st = warp_state_load(home, &warning);
	free(warning);
	warp_route_ctx_init(&x, wc, st, NULL, NULL, NULL, now);
	switch (warp_route_check(&x, &t, 0, &rc)) {
	case WARP_ROUTE_QUOTA:
		skip = 1;
		*why = rc.why;
		rc.why = NULL;
		break;
	case WARP_ROUTE_OK:
		/* A reading only ends with time: free now, free while the same. */
		free(sp->id);
		sp->id = xstrdup(id);
		sp->dev = (unsigned long long)sb.st_dev;
		sp->ino = (unsigned long long)sb.st_ino;
		sp->size = (long long)sb.st_size;
		sp->mtime_ns = (long long)sb.st_mtim.tv_sec * 1000000000LL +
		    sb.st_mtim.tv_nsec;
		break;
	default:	/* cooling down: the session stays where it is */
		break;
	}
	warp_route_check_clear(&rc);
	warp_state_free(st);
	warp_target_clear(&t);
	return (skip);
}
