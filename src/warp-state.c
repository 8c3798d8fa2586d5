#include <config.h>

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "acpx.h"
#include "config-file.h"
#include "fsutil.h"
#include "isotime.h"
#include "jget.h"
#include "js-json.h"
#include "js.h"
#include "warp.h"
#include "xmalloc.h"

/*
 * The cooldown state, ~/.acpx/warp/state.json:
 *
 *	{"version":1,"cooldowns":[{"provider":"infini","model":"kimi-k2.5",
 *	  "until":"...Z","since":"...Z","reason":"rate-limited",
 *	  "source":"fallback"}]}
 *
 *	 "failures":[{"provider":"infini","model":"kimi-k2.5","at":"...Z"}],
 *	 "quotas":[{"provider":"infini","model":"kimi-k2.5","at":"...Z",
 *	   "source":"acp","updatedAt":"...Z","meters":[{"id":
 *	   "plan/five_hour","usedPercent":42,"exhausted":false,
 *	   "resetsAt":"...Z","until":"...Z"}]}]}
 *
 * "model": null marks the whole provider; "until" 9999-12-31T23:59:59Z a
 * cooldown that lasts until `acpx warp reset`; "failures" are the failures
 * counted against warp.allowedFails (kept a day); "quotas" the quota
 * readings (warp-quota.c), a meter dropped once its "until" passed; a
 * file without "failures" or "quotas" (an older one) loads. A file that does not
 * parse is moved aside to state.json.corrupt with one warning: only the
 * cooldowns are lost. Writes are atomic (fsutil.h);
 * this local file I/O is the labelled exception to "nothing blocks". Writers
 * hold ~/.acpx/warp/state.lock (warp_state_lock()) from the load to the
 * write, so processes sharing the state never lose each other's updates.
 * Expired entries are dropped on write.
 */

#define WARP_STATE_VERSION	1
#define WARP_STATE_MAX		(1024 * 1024)
#define WARP_FAIL_KEEP		86400	/* seconds a counted failure is kept */
#define WARP_FAIL_MAX		256	/* counted failures kept at most */

/* ISO-8601 UTC for t. */
char *
warp_iso_time(time_t t)
{
	return (js_iso_time((int64_t)t * 1000));
}

/* A cooldown's end for people. */
char *
warp_state_until_text(time_t until)
{
	if (until >= WARP_UNTIL_MANUAL)
		return (xstrdup("cleared by acpx warp reset"));
	return (warp_iso_time(until));
}

/* An ISO time with its zone (isotime.h) → time_t; -1 if malformed. */
static time_t
warp_parse_iso(const char *s)
{
	int64_t	ms = isotime_parse_ms(s, 0);

	return (ms < 0 ? (time_t)-1 : (time_t)(ms / 1000));
}

/* The state file for a home. */
char *
warp_state_path(const char *home)
{
	char	*p;

	xasprintf(&p, "%s/.acpx/warp/state.json", home);
	return (p);
}

static void
warp_cooldown_clear(struct warp_cooldown *c)
{
	free(c->provider);
	free(c->model);
	free(c->reason);
	free(c->source);
	memset(c, 0, sizeof *c);
}

static int
warp_same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a == b);
	return (strcmp(a, b) == 0);
}

/* One "quotas" entry: 0, or 1 when it was dropped for bad values. */
static size_t
warp_state_quota_parse(struct warp_state *st, const json_t *e)
{
	struct warp_quota	*q;
	struct warp_quota_meter	*m;
	const json_t		*me, *u;
	const char		*provider = jget_str(e, "provider"), *id;
	time_t			 at = warp_parse_iso(jget_str(e, "at")), until;
	size_t			 j;

	if (provider == NULL || *provider == '\0' || at == (time_t)-1 ||
	    !json_is_array(json_object_get(e, "meters")))
		return (1);
	st->q = xreallocarray(st->q, st->nq + 1, sizeof *st->q);
	q = &st->q[st->nq++];
	memset(q, 0, sizeof *q);
	q->provider = xstrdup(provider);
	q->model = jget_str(e, "model") != NULL ?
	    xstrdup(jget_str(e, "model")) : NULL;
	q->at = at;
	q->source = xstrdup(jget_str(e, "source") != NULL ?
	    jget_str(e, "source") : "acp");
	q->updated_at = jget_str(e, "updatedAt") != NULL ?
	    xstrdup(jget_str(e, "updatedAt")) : NULL;
	json_array_foreach(json_object_get(e, "meters"), j, me) {
		id = jget_str(me, "id");
		until = warp_parse_iso(jget_str(me, "until"));
		u = json_object_get(me, "usedPercent");
		if (id == NULL || until == (time_t)-1 || q->nm >=
		    WARP_QUOTA_MAX_METERS || (u != NULL && !json_is_null(u) &&
		    (!json_is_number(u) || json_number_value(u) < 0 ||
		    json_number_value(u) > 100)))
			continue;
		q->m = xreallocarray(q->m, q->nm + 1, sizeof *q->m);
		m = &q->m[q->nm++];
		m->id = xstrdup(id);
		m->used = json_is_number(u) ? json_number_value(u) : -1;
		m->exhausted = json_is_true(json_object_get(me, "exhausted"));
		m->reset = warp_parse_iso(jget_str(me, "resetsAt"));
		if (m->reset == (time_t)-1)
			m->reset = 0;
		m->until = until;
	}
	return (0);
}

/* The "quotas" list to write: the meters still holding at now. */
static json_t *
warp_state_quota_json(const struct warp_state *st, time_t now)
{
	const struct warp_quota		*q;
	const struct warp_quota_meter	*m;
	json_t				*list = json_array(), *meters;
	char				*at, *reset, *until;
	size_t				 i, j;

	for (i = 0; i < st->nq; i++) {
		q = &st->q[i];
		meters = json_array();
		for (j = 0; j < q->nm; j++) {
			m = &q->m[j];
			if (m->until <= now)
				continue;
			reset = m->reset != 0 ? warp_iso_time(m->reset) : NULL;
			until = warp_iso_time(m->until);
			json_array_append_new(meters, json_pack("{s:s, s:o, s:b,"
			    " s:s*, s:s}", "id", m->id, "usedPercent", m->used >=
			    0 ? json_real(m->used) : json_null(), "exhausted",
			    m->exhausted, "resetsAt", reset, "until", until));
			free(reset);
			free(until);
		}
		if (json_array_size(meters) == 0) {
			json_decref(meters);
			continue;
		}
		at = warp_iso_time(q->at);
		json_array_append_new(list, json_pack("{s:s, s:s?, s:s, s:s?, "
		    "s:s*, s:o}", "provider", q->provider, "model", q->model,
		    "at", at, "source", q->source, "updatedAt", q->updated_at,
		    "meters", meters));
		free(at);
	}
	return (list);
}

/* Parse the entries; returns how many were dropped for bad values. */
static size_t
warp_state_parse(struct warp_state *st, const json_t *root)
{
	const json_t	*list, *e;
	const char	*provider, *model;
	time_t		 until, since, at;
	size_t		 i, bad = 0;

	list = json_object_get(root, "cooldowns");
	json_array_foreach(list, i, e) {
		provider = jget_str(e, "provider");
		model = jget_str(e, "model");
		until = warp_parse_iso(jget_str(e, "until"));
		since = warp_parse_iso(jget_str(e, "since"));
		if (provider == NULL || *provider == '\0' ||
		    until == (time_t)-1) {
			bad++;
			continue;
		}
		warp_state_set(st, provider, model, until,
		    jget_str(e, "reason"), jget_str(e, "source"),
		    since == (time_t)-1 ? until : since);
	}
	list = json_object_get(root, "failures");
	json_array_foreach(list, i, e) {
		provider = jget_str(e, "provider");
		at = warp_parse_iso(jget_str(e, "at"));
		if (provider == NULL || *provider == '\0' || at == (time_t)-1) {
			bad++;
			continue;
		}
		warp_state_fail_add(st, provider, jget_str(e, "model"), at);
	}
	list = json_object_get(root, "quotas");
	json_array_foreach(list, i, e)
		bad += warp_state_quota_parse(st, e);
	return (bad);
}

/* Move a state file that does not parse out of the way. */
static void
warp_state_aside(const char *path, const char *why, char **warning)
{
	char	*aside;

	xasprintf(&aside, "%s.corrupt", path);
	if (rename(path, aside) == 0)
		xasprintf(warning, "warp state %s was not valid (%s): its "
		    "cooldowns are reset; the old file is %s", path, why,
		    aside);
	else if (errno != ENOENT)
		xasprintf(warning, "ignoring malformed warp state %s (%s)",
		    path, why);
	free(aside);
}

/* Load the cooldown state. */
struct warp_state *
warp_state_load(const char *home, char **warning)
{
	struct warp_state	*st = xcalloc(1, sizeof *st);
	json_t			*root;
	json_error_t		 jerr;
	char			*path = warp_state_path(home);

	size_t			 bad;

	*warning = NULL;
	root = json_load_file(path, 0, &jerr);
	if (root == NULL) {
		if (access(path, F_OK) != 0)
			;	/* no state yet */
		else if (access(path, R_OK) != 0)
			xasprintf(warning, "ignoring unreadable warp state %s: "
			    "%s", path, jerr.text);
		else
			warp_state_aside(path, jerr.text, warning);
	} else if (!json_is_object(root) ||
	    !json_is_array(json_object_get(root, "cooldowns")))
		warp_state_aside(path, "no \"cooldowns\" list", warning);
	else if ((bad = warp_state_parse(st, root)) > 0)
		xasprintf(warning, "warp state %s: dropped %zu entr%s with bad "
		    "values", path, bad, bad == 1 ? "y" : "ies");
	json_decref(root);
	free(path);
	return (st);
}

/* Free a state. */
void
warp_state_free(struct warp_state *st)
{
	size_t	i;

	if (st == NULL)
		return;
	for (i = 0; i < st->n; i++)
		warp_cooldown_clear(&st->v[i]);
	free(st->v);
	for (i = 0; i < st->nf; i++) {
		free(st->f[i].provider);
		free(st->f[i].model);
	}
	free(st->f);
	for (i = 0; i < st->nq; i++)
		warp_quota_free(&st->q[i]);
	free(st->q);
	free(st);
}

/* The active cooldown for provider/model or the whole provider. */
const struct warp_cooldown *
warp_state_cooling(const struct warp_state *st, const char *provider,
    const char *model, time_t now)
{
	const struct warp_cooldown	*best = NULL;
	size_t				 i;

	for (i = 0; i < st->n; i++) {
		if (strcmp(st->v[i].provider, provider) != 0 ||
		    st->v[i].until <= now)
			continue;
		if (st->v[i].model != NULL && (model == NULL ||
		    strcmp(st->v[i].model, model) != 0))
			continue;
		if (best == NULL || st->v[i].until > best->until)
			best = &st->v[i];
	}
	return (best);
}

/* Add or replace an entry. */
void
warp_state_set(struct warp_state *st, const char *provider, const char *model,
    time_t until, const char *reason, const char *source, time_t now)
{
	struct warp_cooldown	*c = NULL;
	size_t			 i;

	for (i = 0; i < st->n; i++) {
		if (strcmp(st->v[i].provider, provider) == 0 &&
		    warp_same(st->v[i].model, model)) {
			c = &st->v[i];
			warp_cooldown_clear(c);
			break;
		}
	}
	if (c == NULL) {
		st->v = xreallocarray(st->v, st->n + 1, sizeof *st->v);
		c = &st->v[st->n++];
	}
	c->provider = xstrdup(provider);
	c->model = model != NULL ? xstrdup(model) : NULL;
	c->until = until;
	c->since = now;
	c->reason = xstrdup(reason != NULL ? reason : "provider-failure");
	c->source = xstrdup(source != NULL ? source : "unknown");
}

/* Remove the entry for exactly provider/model. */
int
warp_state_clear(struct warp_state *st, const char *provider,
    const char *model)
{
	size_t	i;

	for (i = 0; i < st->n; i++) {
		if (strcmp(st->v[i].provider, provider) == 0 &&
		    warp_same(st->v[i].model, model)) {
			warp_cooldown_clear(&st->v[i]);
			memmove(&st->v[i], &st->v[i + 1],
			    (st->n - i - 1) * sizeof *st->v);
			st->n--;
			return (1);
		}
	}
	return (0);
}

/* Remove failures of provider (model NULL: any) from index 0 on. */
static void
warp_state_fail_drop(struct warp_state *st, const char *provider,
    const char *model, int any_model)
{
	size_t	i = 0;

	while (i < st->nf) {
		if (strcmp(st->f[i].provider, provider) == 0 && (any_model ||
		    warp_same(st->f[i].model, model))) {
			free(st->f[i].provider);
			free(st->f[i].model);
			memmove(&st->f[i], &st->f[i + 1],
			    (st->nf - i - 1) * sizeof *st->f);
			st->nf--;
		} else
			i++;
	}
}

/* `acpx warp reset`: see warp.h. */
size_t
warp_state_reset(struct warp_state *st, const char *provider,
    const char *model, json_t *cleared)
{
	size_t	i = 0, n = 0;

	while (i < st->n) {
		if (strcmp(st->v[i].provider, provider) == 0 &&
		    (model == NULL || st->v[i].model == NULL ||
		    strcmp(st->v[i].model, model) == 0)) {
			if (cleared != NULL)
				json_array_append_new(cleared,
				    warp_cooldown_json(&st->v[i]));
			warp_cooldown_clear(&st->v[i]);
			memmove(&st->v[i], &st->v[i + 1],
			    (st->n - i - 1) * sizeof *st->v);
			st->n--;
			n++;
		} else
			i++;
	}
	warp_state_fail_drop(st, provider, model, model == NULL);
	i = 0;
	while (i < st->nq) {	/* the quota readings too */
		if (strcmp(st->q[i].provider, provider) == 0 && (model == NULL ||
		    st->q[i].model == NULL || strcmp(st->q[i].model,
		    model) == 0)) {
			warp_quota_free(&st->q[i]);
			memmove(&st->q[i], &st->q[i + 1],
			    (st->nq - i - 1) * sizeof *st->q);
			st->nq--;
		} else
			i++;
	}
	return (n);
}

/* Count a failure. */
void
warp_state_fail_add(struct warp_state *st, const char *provider,
    const char *model, time_t now)
{
	struct warp_failure	*f;

	if (st->nf >= WARP_FAIL_MAX) {
		free(st->f[0].provider);
		free(st->f[0].model);
		memmove(&st->f[0], &st->f[1], (st->nf - 1) * sizeof *st->f);
		st->nf--;
	}
	st->f = xreallocarray(st->f, st->nf + 1, sizeof *st->f);
	f = &st->f[st->nf++];
	f->provider = xstrdup(provider);
	f->model = model != NULL ? xstrdup(model) : NULL;
	f->at = now;
}

/* Failures of provider/model since a time. */
size_t
warp_state_fail_count(const struct warp_state *st, const char *provider,
    const char *model, time_t since)
{
	size_t	i, n = 0;

	for (i = 0; i < st->nf; i++) {
		if (strcmp(st->f[i].provider, provider) == 0 &&
		    warp_same(st->f[i].model, model) && st->f[i].at >= since)
			n++;
	}
	return (n);
}

/* An entry as JSON. */
json_t *
warp_cooldown_json(const struct warp_cooldown *c)
{
	char	*until = warp_iso_time(c->until), *since = warp_iso_time(c->since);
	json_t	*v;

	v = json_pack("{s:s, s:s?, s:s, s:s, s:s, s:s}", "provider", c->provider,
	    "model", c->model, "until", until, "since", since, "reason",
	    c->reason, "source", c->source);
	free(until);
	free(since);
	return (v);
}

static int
warp_mkdir(const char *dir, char **cause)
{
	struct stat	sb;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		xasprintf(cause, "cannot create %s: %s", dir, strerror(errno));
		return (-1);
	}
	if (stat(dir, &sb) == -1 || !S_ISDIR(sb.st_mode)) {
		xasprintf(cause, "%s is not a directory", dir);
		return (-1);
	}
	return (0);
}

/* Write the state atomically. */
int
warp_state_save(const struct warp_state *st, const char *home, time_t now,
    char **cause)
{
	json_t		*root, *list;
	char		*dir, *path, *text, *full = NULL;
	const char	*op;
	size_t		 i;
	int		 rc = -1;

	xasprintf(&dir, "%s/.acpx", home);
	if (warp_mkdir(dir, cause) == -1) {
		free(dir);
		return (-1);
	}
	free(dir);
	xasprintf(&dir, "%s/.acpx/warp", home);
	if (warp_mkdir(dir, cause) == -1) {
		free(dir);
		return (-1);
	}
	path = warp_state_path(home);
	list = json_array();
	for (i = 0; i < st->n; i++) {
		if (st->v[i].until > now)
			json_array_append_new(list, warp_cooldown_json(&st->v[i]));
	}
	root = json_pack("{s:i, s:o}", "version", WARP_STATE_VERSION,
	    "cooldowns", list);
	if (st->nf > 0) {
		list = json_array();
		for (i = 0; i < st->nf; i++) {
			if (st->f[i].at + WARP_FAIL_KEEP <= now)
				continue;
			text = warp_iso_time(st->f[i].at);
			json_array_append_new(list, json_pack("{s:s, s:s?, s:s}",
			    "provider", st->f[i].provider, "model",
			    st->f[i].model, "at", text));
			free(text);
		}
		if (json_array_size(list) > 0)
			json_object_set_new(root, "failures", list);
		else
			json_decref(list);
	}
	list = warp_state_quota_json(st, now);
	if (json_array_size(list) > 0)
		json_object_set_new(root, "quotas", list);
	else
		json_decref(list);
	text = js_json_dumps(root, 2);
	json_decref(root);
	xasprintf(&full, "%s\n", text);
	if (fsutil_write(path, full, strlen(full), 0, &op) == -1) {
		xasprintf(cause, "cannot %s %s: %s", strcmp(op, "rename") == 0 ?
		    "rename" : "write", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(full);
	free(text);
	free(path);
	free(dir);
	return (rc);
}

/* Lock the state for a load-change-save; see warp.h. */
int
warp_state_lock(const char *home)
{
	char	*dir, *path, *cause = NULL;
	int	 fd;

	xasprintf(&dir, "%s/.acpx", home);
	if (warp_mkdir(dir, &cause) == -1) {
		free(cause);
		free(dir);
		return (-1);
	}
	free(dir);
	xasprintf(&dir, "%s/.acpx/warp", home);
	if (warp_mkdir(dir, &cause) == -1) {
		free(cause);
		free(dir);
		return (-1);
	}
	free(dir);
	xasprintf(&path, "%s/.acpx/warp/state.lock", home);
	fd = open(path, O_RDWR|O_CREAT|O_CLOEXEC, 0600);
	free(path);
	if (fd == -1)
		return (-1);
	while (flock(fd, LOCK_EX) == -1) {
		if (errno != EINTR) {
			close(fd);
			return (-1);
		}
	}
	return (fd);
}

void
warp_state_unlock(int fd)
{
	if (fd != -1)
		close(fd);	/* releases the flock */
}
