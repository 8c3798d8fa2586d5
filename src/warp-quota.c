#include <config.h>

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "acp-update.h"
#include "acpx-error.h"
#include "acpx.h"
#include "config-file.h"
#include "isotime.h"
#include "jget.h"
#include "js.h"
#include "warp.h"
#include "xmalloc.h"

/*
 * Quota signals (warp-quota.h). A reading is a list of meters, each with
 * the share used, whether it is exhausted, its reset and how long it
 * holds; the state keeps one list per provider/model ("quotas" in
 * state.json). An ACP snapshot replaces the list, a Claude window
 * replaces its own meter. The route reads the view: the exhausted meters
 * first, else the most used one.
 */

#define WARP_QUOTA_ID_MAX	64	/* bytes of a meter id kept */
#define WARP_QUOTA_MAX_ENTRIES	256	/* provider/models kept */
#define WARP_QUOTA_CLAUDE_KEY	"_claude/rateLimit"

/* ---------------------------------------------------------------- times */

/* RFC 3339 date-time (isotime.h): -1 if malformed. */
time_t
warp_quota_parse_time(const char *s)
{
	int64_t	ms = isotime_parse_ms(s, 0);

	return (ms < 0 ? (time_t)-1 : (time_t)(ms / 1000));
}

/* ISO 8601 duration with fixed units (W, D, H, M, S): -1 if malformed. */
long long
warp_quota_parse_duration(const char *s)
{
	long long	 total = 0, v;
	int		 time_part = 0, any = 0;
	char		*end;

	if (s == NULL || *s != 'P')
		return (-1);
	for (s++; *s != '\0'; s = end + 1) {
		if (*s == 'T' && !time_part) {
			time_part = 1;
			end = (char *)s;
			continue;
		}
		if (!isdigit((unsigned char)*s))
			return (-1);
		v = strtoll(s, &end, 10);
		if (v < 0 || v > 100000000LL)
			return (-1);
		if (*end == '.') {	/* a fraction of the last unit: dropped */
			for (end++; isdigit((unsigned char)*end); end++)
				;
		}
		switch (*end) {
		case 'W':
			if (time_part)
				return (-1);
			total += v * 7 * 86400;
			break;
		case 'D':
			if (time_part)
				return (-1);
			total += v * 86400;
			break;
		case 'H':
			if (!time_part)
				return (-1);
			total += v * 3600;
			break;
		case 'M':	/* months have no fixed length: refused */
			if (!time_part)
				return (-1);
			total += v * 60;
			break;
		case 'S':
			if (!time_part)
				return (-1);
			total += v;
			break;
		default:
			return (-1);
		}
		any = 1;
	}
	return (any ? total : -1);
}

/* A reset believed at now: after now, at most WARP_QUOTA_MAX_AHEAD on. */
time_t
warp_quota_believe(time_t t, time_t now)
{
	if (t <= now || (long long)t - (long long)now > WARP_QUOTA_MAX_AHEAD)
		return (0);
	return (t);
}

/* --------------------------------------------------------------- meters */

/* A non-negative finite number member: 1 and *out, else 0 (ignored). */
static int
warp_quota_num(const json_t *v, double *out)
{
	double	d;

	if (!json_is_number(v))
		return (0);
	d = json_number_value(v);
	if (!isfinite(d) || d < 0)
		return (0);
	*out = d;
	return (1);
}

/* A Quantity's decimal value ({"value": "12.40"}), >= 0: 1 and *out. */
static int
warp_quota_qty(const json_t *q, double *out)
{
	const char	*s = jget_str(q, "value");
	char		*end;
	double		 d;

	if (s == NULL || *s == '\0')
		return (0);
	d = strtod(s, &end);
	if (*end != '\0' || !isfinite(d) || d < 0)
		return (0);
	*out = d;
	return (1);
}

static double
warp_quota_round(double pct)
{
	if (pct > 100)
		pct = 100;
	return (js_round_away(pct * 100) / 100);
}

static void
warp_quota_push(struct warp_quota_reading *r, const char *id, double used,
    int exhausted, time_t reset, time_t now, long long hold_s)
{
	struct warp_quota_meter	*m;

	if (r->nm >= WARP_QUOTA_MAX_METERS)
		return;
	r->m = xreallocarray(r->m, r->nm + 1, sizeof *r->m);
	m = &r->m[r->nm++];
	m->id = xstrndup(id, WARP_QUOTA_ID_MAX);
	m->used = used >= 0 ? warp_quota_round(used) : -1;
	m->exhausted = exhausted || used >= 100;
	if (m->exhausted && m->used < 0)
		m->used = 100;
	m->reset = reset;
	m->until = reset != 0 ? reset : now + (time_t)hold_s;
}

/* One ACP meter of a pool; returns its believed reset (0: none). */
static time_t
warp_quota_acp_meter(struct warp_quota_reading *r, const char *pool,
    const json_t *m, time_t now, long long hold_s, int *exceeded)
{
	const char	*st = jget_str(m, "status"), *mid = jget_str(m, "id");
	double		 used = -1, u, l, rem;
	time_t		 reset;
	int		 ex;
	char		*id;

	reset = warp_quota_believe(warp_quota_parse_time(jget_str(m,
	    "resetsAt")), now);
	if (warp_quota_num(json_object_get(m, "usedPercent"), &u))
		used = u;
	else if (warp_quota_qty(json_object_get(m, "limit"), &l) && l > 0) {
		if (warp_quota_qty(json_object_get(m, "used"), &u))
			used = 100 * u / l;
		else if (warp_quota_qty(json_object_get(m, "remaining"), &rem))
			used = rem >= l ? 0 : 100 * (l - rem) / l;
	}
	ex = (st != NULL && strcmp(st, "exceeded") == 0) ||
	    (warp_quota_qty(json_object_get(m, "remaining"), &rem) &&
	    rem == 0);
	if (used < 0 && !ex)
		return (reset);		/* nothing to route on */
	xasprintf(&id, "%s/%s", pool, mid != NULL ? mid : "?");
	warp_quota_push(r, id, used, ex, reset, now, hold_s);
	free(id);
	*exceeded = *exceeded || r->m[r->nm - 1].exhausted;
	return (reset);
}

/* ACP's quota_update: every pool that applies, every meter. */
static void
warp_quota_acp(const json_t *u, time_t now, long long hold_s,
    struct warp_quota_reading *r)
{
	const json_t	*pools = json_object_get(u, "pools"), *p, *m;
	const char	*state, *pid;
	time_t		 reset, last;
	size_t		 i, j;
	int		 ex;

	r->snapshot = 1;
	r->source = "acp";
	if (jget_str(u, "updatedAt") != NULL &&
	    warp_quota_parse_time(jget_str(u, "updatedAt")) != (time_t)-1)
		r->updated_at = xstrdup(jget_str(u, "updatedAt"));
	json_array_foreach(pools, i, p) {
		state = jget_str(p, "state");
		pid = jget_str(p, "id") != NULL ? jget_str(p, "id") : "?";
		/* not_enabled, not_permitted, not_eligible: not this use's. */
		if (!json_is_object(p) || (state != NULL &&
		    strcmp(state, "available") != 0 &&
		    strcmp(state, "exhausted") != 0))
			continue;
		last = 0;
		ex = 0;
		json_array_foreach(json_object_get(p, "meters"), j, m) {
			if (!json_is_object(m))
				continue;
			reset = warp_quota_acp_meter(r, pid, m, now, hold_s,
			    &ex);
			if (reset > last)
				last = reset;
		}
		if (state != NULL && strcmp(state, "exhausted") == 0 && !ex)
			warp_quota_push(r, pid, 100, 1, last, now, hold_s);
	}
}

/* Claude's usage_update _meta["_claude/rateLimit"]: one window. */
static void
warp_quota_claude(const json_t *rl, time_t now, long long hold_s,
    struct warp_quota_reading *r)
{
	const char	*st = jget_str(rl, "status");
	const char	*type = jget_str(rl, "rateLimitType");
	double		 u, used = -1, at;
	time_t		 reset = 0;
	int		 ex;

	r->source = "claude";
	if (warp_quota_num(json_object_get(rl, "utilization"), &u))
		used = u * 100;
	if (warp_quota_num(json_object_get(rl, "resetsAt"), &at) &&
	    at < 1e11)
		reset = warp_quota_believe((time_t)at, now);
	ex = st != NULL && strcmp(st, "rejected") == 0;
	if (used < 0 && !ex)
		return;
	warp_quota_push(r, type != NULL ? type : "rate_limit", used, ex, reset,
	    now, hold_s);
}

/* Read a notification. */
int
warp_quota_parse(const json_t *msg, time_t now, long long hold_s,
    struct warp_quota_reading *r)
{
	const json_t		*u, *rl;
	enum acp_update_kind	 k;
	struct warp_quota_reading tmp;

	if (!json_is_object(msg) || jget_str(msg, "method") == NULL ||
	    strcmp(jget_str(msg, "method"), "session/update") != 0)
		return (0);
	u = json_object_get(json_object_get(msg, "params"), "update");
	k = acp_update_kind_of(jget_str(u, "sessionUpdate"));
	memset(&tmp, 0, sizeof tmp);
	if (k == ACP_UPDATE_QUOTA) {
		if (!json_is_array(json_object_get(u, "pools")))
			return (0);
		warp_quota_acp(u, now, hold_s, &tmp);
	} else if (k == ACP_UPDATE_USAGE &&
	    json_is_object(rl = json_object_get(jget_obj(u, "_meta"),
	    WARP_QUOTA_CLAUDE_KEY)))
		warp_quota_claude(rl, now, hold_s, &tmp);
	else
		return (0);
	if (!tmp.snapshot && tmp.nm == 0) {
		warp_quota_reading_clear(&tmp);
		return (0);
	}
	*r = tmp;
	return (1);
}

static void
warp_quota_meters_free(struct warp_quota_meter *m, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(m[i].id);
	free(m);
}

void
warp_quota_reading_clear(struct warp_quota_reading *r)
{
	warp_quota_meters_free(r->m, r->nm);
	free(r->updated_at);
	memset(r, 0, sizeof *r);
}

/* ---------------------------------------------------------------- error */

/* Is error a quotaExceeded? */
int
warp_quota_error(const json_t *error, time_t *reset, long long *retry_after)
{
	const json_t	*data = json_object_get(error, "data");
	const char	*msg = jget_str(error, "message");
	const char	*kind = jget_str(data, "errorKind");
	long long	 d;

	*reset = 0;
	*retry_after = 0;
	if (!json_is_object(error))
		return (0);
	if (json_integer_value(json_object_get(error, "code")) !=
	    WARP_QUOTA_ERROR_CODE &&
	    !(json_is_object(data) && (json_object_get(data, "resetsAt") ||
	    json_object_get(data, "poolId") || json_object_get(data,
	    "meterId"))) &&
	    !(msg != NULL && strstr(msg, "quotaExceeded") != NULL) &&
	    !(kind != NULL && strcmp(kind, "quotaExceeded") == 0))
		return (0);
	*reset = warp_quota_parse_time(jget_str(data, "resetsAt"));
	if (*reset == (time_t)-1)
		*reset = 0;
	if (*reset == 0 && (d = warp_quota_parse_duration(jget_str(data,
	    "retryAfter"))) > 0)
		*retry_after = d;
	return (1);
}

/* ---------------------------------------------------------------- state */

static struct warp_quota *
warp_quota_find(const struct warp_state *st, const char *provider,
    const char *model)
{
	size_t	i;

	for (i = 0; i < st->nq; i++) {
		if (strcmp(st->q[i].provider, provider) == 0 &&
		    ((model == NULL && st->q[i].model == NULL) ||
		    (model != NULL && st->q[i].model != NULL &&
		    strcmp(st->q[i].model, model) == 0)))
			return (&st->q[i]);
	}
	return (NULL);
}

void
warp_quota_free(struct warp_quota *q)
{
	free(q->provider);
	free(q->model);
	free(q->source);
	free(q->updated_at);
	warp_quota_meters_free(q->m, q->nm);
	memset(q, 0, sizeof *q);
}

static struct warp_quota *
warp_quota_entry(struct warp_state *st, const char *provider,
    const char *model)
{
	struct warp_quota	*q;

	if ((q = warp_quota_find(st, provider, model)) != NULL)
		return (q);
	if (st->nq >= WARP_QUOTA_MAX_ENTRIES) {	/* the oldest goes */
		warp_quota_free(&st->q[0]);
		memmove(&st->q[0], &st->q[1], (st->nq - 1) * sizeof *st->q);
		st->nq--;
	}
	st->q = xreallocarray(st->q, st->nq + 1, sizeof *st->q);
	q = &st->q[st->nq++];
	memset(q, 0, sizeof *q);
	q->provider = xstrdup(provider);
	q->model = model != NULL ? xstrdup(model) : NULL;
	return (q);
}

/* Meter m into q (replacing the one of the same id); 1 if it changed. */
static int
warp_quota_put(struct warp_quota *q, const struct warp_quota_meter *m)
{
	struct warp_quota_meter	*o = NULL;
	size_t			 i;
	int			 changed;

	for (i = 0; i < q->nm; i++) {
		if (strcmp(q->m[i].id, m->id) == 0) {
			o = &q->m[i];
			break;
		}
	}
	if (o == NULL) {
		if (q->nm >= WARP_QUOTA_MAX_METERS)
			return (0);
		q->m = xreallocarray(q->m, q->nm + 1, sizeof *q->m);
		o = &q->m[q->nm++];
		memset(o, 0, sizeof *o);
		o->id = xstrdup(m->id);
		changed = 1;
	} else
		changed = o->used != m->used || o->exhausted != m->exhausted ||
		    o->reset != m->reset || llabs((long long)(o->until -
		    m->until)) > 60;
	o->used = m->used;
	o->exhausted = m->exhausted;
	o->reset = m->reset;
	o->until = m->until;
	return (changed);
}

/* Merge a reading. */
int
warp_quota_apply(struct warp_state *st, const char *provider,
    const char *model, const struct warp_quota_reading *r, time_t now)
{
	struct warp_quota	*q = warp_quota_entry(st, provider, model);
	size_t			 i;
	int			 changed = 0;
	time_t			 was, is;

	if (r->snapshot) {
		/* updatedAt decides which snapshot is newer. */
		if (q->updated_at != NULL && r->updated_at != NULL) {
			was = warp_quota_parse_time(q->updated_at);
			is = warp_quota_parse_time(r->updated_at);
			if (is < was)
				return (0);
		}
		changed = q->nm != r->nm;
		for (i = 0; i < q->nm && !changed; i++)
			changed = strcmp(q->m[i].id, r->m[i].id) != 0;
		if (changed) {
			warp_quota_meters_free(q->m, q->nm);
			q->m = NULL;
			q->nm = 0;
		}
		free(q->updated_at);
		q->updated_at = r->updated_at != NULL ?
		    xstrdup(r->updated_at) : NULL;
	}
	for (i = 0; i < r->nm; i++)
		changed |= warp_quota_put(q, &r->m[i]);
	if (q->source == NULL || strcmp(q->source, r->source) != 0) {
		free(q->source);
		q->source = xstrdup(r->source);
		changed = 1;
	}
	if (changed || now - q->at > 60)
		changed = 1;
	q->at = now;
	return (changed);
}

/* The view of provider/model. */
void
warp_quota_view(const struct warp_state *st, const char *provider,
    const char *model, time_t now, struct warp_quota_view *v)
{
	const struct warp_quota		*q;
	const struct warp_quota_meter	*m, *best = NULL;
	size_t				 i;

	memset(v, 0, sizeof *v);
	v->used = -1;
	if (st == NULL || (q = warp_quota_find(st, provider, model)) == NULL)
		return;
	for (i = 0; i < q->nm; i++) {
		m = &q->m[i];
		if (m->until <= now)
			continue;
		if (best == NULL || (m->exhausted && !best->exhausted) ||
		    (m->exhausted == best->exhausted && (m->exhausted ?
		    m->until > best->until : m->used > best->used)))
			best = m;
	}
	if (best == NULL)
		return;
	v->known = 1;
	v->used = best->used;
	v->exhausted = best->exhausted;
	v->reset = best->reset;
	v->until = best->until;
	v->meter = best->id;
	v->source = q->source;
	v->at = q->at;
}

/* The end of a view's text: ", resets T" or ", held until T". */
static char *
warp_quota_when(const struct warp_quota_view *v)
{
	char	*iso, *s;

	iso = warp_iso_time(v->reset != 0 ? v->reset : v->until);
	xasprintf(&s, "%s %s", v->reset != 0 ? "resets" : "reading held until",
	    iso);
	free(iso);
	return (s);
}

/* Should the route skip it? */
int
warp_quota_skip(const struct warp_quota_view *v, int reserve, char **why)
{
	char	*when;

	*why = NULL;
	if (!v->known)
		return (0);
	if (!v->exhausted && (v->used < 0 || 100 - v->used >= reserve))
		return (0);
	when = warp_quota_when(v);
	if (v->exhausted)
		xasprintf(why, "quota at 100%% (%s, exhausted), %s", v->meter,
		    when);
	else
		xasprintf(why, "quota at %d%% (%s, under the %d%% reserve), %s",
		    (int)js_floor(v->used), v->meter, reserve, when);
	free(when);
	return (1);
}

/* For people. */
char *
warp_quota_text(const struct warp_quota_view *v)
{
	char	*when, *s;

	if (!v->known)
		return (xstrdup("-"));
	when = warp_quota_when(v);
	if (v->exhausted)
		xasprintf(&s, "exhausted (%s), %s", v->meter, when);
	else
		xasprintf(&s, "%d%% used (%s), %s", (int)js_floor(v->used),
		    v->meter, when);
	free(when);
	return (s);
}

/* As JSON. */
json_t *
warp_quota_json(const struct warp_quota_view *v)
{
	char	*reset, *until, *at;
	json_t	*j;

	if (!v->known)
		return (json_null());
	reset = v->reset != 0 ? warp_iso_time(v->reset) : NULL;
	until = warp_iso_time(v->until);
	at = warp_iso_time(v->at);
	j = json_pack("{s:o, s:o, s:b, s:s, s:s?, s:s, s:s, s:s?}",
	    "usedPercent", v->used >= 0 ? json_real(v->used) : json_null(),
	    "remainingPercent", v->used >= 0 ? json_real(warp_quota_round(
	    100 - v->used)) : json_null(), "exhausted", v->exhausted, "meter",
	    v->meter, "resetsAt", reset, "until", until, "receivedAt", at,
	    "source", v->source);
	free(reset);
	free(until);
	free(at);
	return (j);
}

/* The view of a Warp agent id, as JSON. */
json_t *
warp_quota_agent_json(const struct warp_config *wc,
    const struct warp_state *st, const char *id, time_t now)
{
	struct warp_target	 t;
	struct warp_quota_view	 v;
	struct acpx_error	*err = NULL;

	if (wc == NULL || id == NULL || !warp_id_looks(id) ||
	    warp_target_resolve(wc, id, &t, &err) == -1) {
		acpx_error_free(err);
		return (json_null());
	}
	warp_quota_view(st, t.provider->name, t.model->model, now, &v);
	warp_target_clear(&t);
	return (warp_quota_json(&v));
}

/* The hook of every Warp turn. */
void
warp_quota_tap(const struct warp_config *wc, const char *id,
    const json_t *msg)
{
	struct warp_quota_reading	 r;
	struct warp_target		 t;
	struct warp_state		*st;
	struct acpx_error		*err = NULL;
	char				*home, *warning = NULL, *cause = NULL;
	time_t				 now = time(NULL);
	int				 lock;

	if (wc == NULL || id == NULL ||
	    !warp_quota_parse(msg, now, wc->cooldown_s, &r))
		return;
	if (warp_target_resolve(wc, id, &t, &err) == -1) {
		acpx_error_free(err);
		warp_quota_reading_clear(&r);
		return;
	}
	home = config_home();
	/* A labelled blocking local write: the state file (fsutil.h). */
	lock = warp_state_lock(home);
	st = warp_state_load(home, &warning);
	if (warp_quota_apply(st, t.provider->name, t.model->model, &r, now) &&
	    warp_state_save(st, home, now, &cause) == -1)
		free(cause);
	warp_state_unlock(lock);
	warp_state_free(st);
	free(warning);
	free(home);
	warp_target_clear(&t);
	warp_quota_reading_clear(&r);
}

/* Outside a turn: load the warp config only for a quota signal. */
void
warp_quota_tap_config(const struct config *c, const char *id,
    const json_t *msg)
{
	struct warp_quota_reading	 r;
	struct warp_config		*wc;
	char				*cause = NULL;

	if (c == NULL || id == NULL || !warp_id_looks(id) ||
	    !warp_quota_parse(msg, time(NULL), 0, &r))
		return;
	warp_quota_reading_clear(&r);
	if ((wc = warp_config_load(c, &cause)) == NULL) {
		free(cause);
		return;
	}
	warp_quota_tap(wc, id, msg);
	warp_config_free(wc);
}

/* ---------------------------------------------------------------- config */

/* warp.quotaReserve: a percent from 0 to 99. */
int
warp_quota_check_key(const char *key, const json_t *v, const char *file,
    char **cause)
{
	if (strcmp(key, "quotaReserve") != 0)
		return (0);
	return (warp_config_check_int(v, key, file, 0, 99, cause) == -1 ? -1 :
	    1);
}

void
warp_quota_load(struct warp_config *wc)
{
	const json_t	*v = json_object_get(wc->merged, "quotaReserve");

	wc->quota_reserve = json_is_integer(v) ? (int)json_integer_value(v) : 0;
}
