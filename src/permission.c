#include <config.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acpx.h"
#include "jget.h"
#include "permission.h"
#include "xmalloc.h"

/*
 * The permission decision for session/request_permission, as the reference
 * makes it: policy rules (autoDeny, autoApprove, escalate, defaultAction),
 * then the mode, then approve-reads' read/search rule, a TTY prompt or the
 * non-interactive policy. No I/O.
 */

static const struct {
	const char	*kind;
	const char	*names[4];
} title_kinds[] = {
	{ "read", { "read", "cat", NULL } },
	{ "search", { "search", "find", "grep", NULL } },
	{ "edit", { "write", "edit", "patch", NULL } },
	{ "delete", { "delete", "remove", NULL } },
	{ "move", { "move", "rename", NULL } },
	{ "execute", { "run", "execute", "bash", NULL } },
	{ "fetch", { "fetch", "http", "url", NULL } },
	{ "think", { "think", NULL } },
};

/* Copy of s trimmed of ASCII/Unicode-ish whitespace (ASCII only here). Caller owns. */
static char *
trim_dup(const char *s)
{
	const char	*e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	return (xstrndup(s, (size_t)(e - s)));
}

static void
lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* First word of a trimmed title, split on ':' or whitespace. Caller owns. */
static char *
title_head(const char *title)
{
	char	*t = trim_dup(title);
	size_t	 n = strcspn(t, ": \t\r\n\f\v");

	t[n] = '\0';
	return (t);
}

static const json_t *
tool_call(const json_t *params)
{
	return (json_object_get(params, "toolCall"));
}

/* Tool kind as the reference infers it; NULL if none. */
const char *
permission_infer_kind(const json_t *params)
{
	const char	*kind, *title;
	char		*head;
	size_t		 i, j;

	kind = jget_str(tool_call(params), "kind");
	if (kind != NULL && *kind != '\0')
		return (kind);
	title = jget_str(tool_call(params), "title");
	if (title == NULL)
		return (NULL);
	head = title_head(title);
	lower(head);
	if (*head == '\0') {
		free(head);
		return (NULL);
	}
	for (i = 0; i < nitems(title_kinds); i++) {
		for (j = 0; title_kinds[i].names[j] != NULL; j++) {
			if (strcmp(head, title_kinds[i].names[j]) == 0) {
				free(head);
				return (title_kinds[i].kind);
			}
		}
	}
	free(head);
	return ("other");
}

/* rawInput.name|tool|toolName, else the title's head word. Caller owns or NULL. */
static char *
tool_name(const json_t *params)
{
	static const char *const keys[] = { "name", "tool", "toolName" };
	const json_t	*raw = json_object_get(tool_call(params), "rawInput");
	const char	*v, *title;
	char		*t;
	size_t		 i;

	for (i = 0; json_is_object(raw) && i < nitems(keys); i++) {
		v = jget_str(raw, keys[i]);
		if (v != NULL && strspn(v, " \t\r\n") != strlen(v))
			return (trim_dup(v));
	}
	if ((title = jget_str(tool_call(params), "title")) == NULL)
		return (NULL);
	t = title_head(title);
	if (*t == '\0') {
		free(t);
		return (NULL);
	}
	return (t);
}

/* First policy rule in rules matching the request's tokens; borrowed or NULL. */
static const char *
policy_rule(const json_t *rules, const json_t *params)
{
	const char	*tok[5] = { NULL }, *rule, *title;
	char		*own[5] = { NULL }, *r;
	size_t		 i, k, n = 0;
	const json_t	*e;
	const char	*found = NULL;

	if (json_array_size(rules) == 0)
		return (NULL);
	tok[n++] = permission_infer_kind(params);
	tok[n++] = jget_str(tool_call(params), "kind");
	if ((title = jget_str(tool_call(params), "title")) != NULL) {
		own[0] = trim_dup(title);
		tok[n++] = own[0];
		own[1] = title_head(title);
		tok[n++] = own[1];
	}
	own[2] = tool_name(params);
	tok[n++] = own[2];
	json_array_foreach(rules, i, e) {
		if ((rule = json_string_value(e)) == NULL)
			continue;
		r = trim_dup(rule);
		lower(r);
		for (k = 0; k < n && found == NULL; k++) {
			char *t;

			if (tok[k] == NULL)
				continue;
			t = trim_dup(tok[k]);
			lower(t);
			if (*t != '\0' && strcmp(t, r) == 0)
				found = rule;
			free(t);
		}
		if (strcmp(r, "*") == 0)
			found = rule;
		free(r);
		if (found != NULL)
			break;
	}
	for (k = 0; k < nitems(own); k++)
		free(own[k]);
	return (found);
}

/* First option whose kind is a, else b; borrowed optionId or NULL. */
static const char *
pick(const json_t *options, const char *a, const char *b)
{
	const json_t	*o;
	size_t		 i;
	const char	*want[2] = { a, b }, *k;
	int		 w;

	for (w = 0; w < 2; w++) {
		json_array_foreach(options, i, o) {
			k = jget_str(o, "kind");
			if (k != NULL && strcmp(k, want[w]) == 0)
				return (jget_str(o, "optionId"));
		}
	}
	return (NULL);
}

static void
select_or_cancel(struct perm_decision *d, const char *id)
{
	d->action = id != NULL ? PERM_SELECT : PERM_CANCEL;
	d->option_id = id;
}

static json_t *
escalation_event(const json_t *params, const char *rule, const char *now)
{
	const json_t	*tc = tool_call(params), *raw;
	const char	*kind = permission_infer_kind(params), *title;
	char		*ttitle, *name, *msg;
	json_t		*ev;

	title = jget_str(tc, "title");
	ttitle = title != NULL ? trim_dup(title) : xstrdup("");
	if (*ttitle == '\0') {
		free(ttitle);
		ttitle = xstrdup("tool");
	}
	name = tool_name(params);
	ev = json_object();
	json_object_set_new(ev, "type", json_string("permission_escalation"));
	if (json_object_get(params, "sessionId") != NULL)
		json_object_set(ev, "sessionId", json_object_get(params, "sessionId"));
	if (json_object_get(tc, "toolCallId") != NULL)
		json_object_set(ev, "toolCallId", json_object_get(tc, "toolCallId"));
	if (name != NULL)
		json_object_set_new(ev, "toolName", json_string(name));
	json_object_set_new(ev, "toolTitle", json_string(ttitle));
	if ((raw = json_object_get(tc, "rawInput")) != NULL)
		json_object_set(ev, "toolInput", (json_t *)raw);
	if (kind != NULL)
		json_object_set_new(ev, "toolKind", json_string(kind));
	json_object_set_new(ev, "action", json_string("escalate"));
	if (rule != NULL)
		json_object_set_new(ev, "matchedRule", json_string(rule));
	xasprintf(&msg, "Permission escalation required for %s", ttitle);
	json_object_set_new(ev, "message", json_string(msg));
	json_object_set_new(ev, "timestamp", json_string(now));
	free(msg);
	free(name);
	free(ttitle);
	return (ev);
}

static void
ask(struct perm_decision *d, const json_t *params, const char *allow,
    const char *reject)
{
	const char	*title = jget_str(tool_call(params), "title");
	const char	*kind = permission_infer_kind(params);

	d->action = PERM_ASK;
	d->allow_id = allow;
	d->reject_id = reject;
	xasprintf(&d->prompt, "\n[permission] Allow %s [%s]? (y/N) ",
	    title != NULL ? title : "tool", kind != NULL ? kind : "other");
}

/* Decide how to answer a permission request. */
void
permission_decide(const json_t *params, enum acpx_perm_mode mode,
    enum acpx_nonint nonint, const json_t *policy, int can_prompt,
    const char *now, struct perm_decision *d)
{
	const json_t	*options = json_object_get(params, "options");
	const char	*allow, *reject, *rule, *kind, *def;

	memset(d, 0, sizeof *d);
	if (json_array_size(options) == 0) {
		d->action = PERM_CANCEL;
		return;
	}
	allow = pick(options, "allow_once", "allow_always");
	reject = pick(options, "reject_once", "reject_always");

	if (json_is_object(policy)) {
		if ((rule = policy_rule(json_object_get(policy, "autoDeny"),
		    params)) != NULL) {
			select_or_cancel(d, reject);
			return;
		}
		if ((rule = policy_rule(json_object_get(policy, "autoApprove"),
		    params)) != NULL) {
			d->action = PERM_SELECT;
			d->option_id = allow != NULL ? allow :
			    jget_str(json_array_get(options, 0), "optionId");
			return;
		}
		rule = policy_rule(json_object_get(policy, "escalate"), params);
		def = jget_str(policy, "defaultAction");
		if (rule == NULL && def != NULL && strcmp(def, "approve") == 0) {
			d->action = PERM_SELECT;
			d->option_id = allow != NULL ? allow :
			    jget_str(json_array_get(options, 0), "optionId");
			return;
		}
		if (rule == NULL && def != NULL && strcmp(def, "deny") == 0) {
			select_or_cancel(d, reject);
			return;
		}
		if (rule != NULL || (def != NULL && strcmp(def, "escalate") == 0)) {
			if (can_prompt) {
				ask(d, params, allow, reject);
				return;
			}
			select_or_cancel(d, reject);
			d->escalation = escalation_event(params, rule, now);
			return;
		}
	}

	if (mode == ACPX_PERM_APPROVE_ALL) {
		d->action = PERM_SELECT;
		d->option_id = allow != NULL ? allow :
		    jget_str(json_array_get(options, 0), "optionId");
		return;
	}
	if (mode == ACPX_PERM_DENY_ALL) {
		select_or_cancel(d, reject);
		return;
	}
	kind = permission_infer_kind(params);
	if (kind != NULL && (strcmp(kind, "read") == 0 ||
	    strcmp(kind, "search") == 0) && allow != NULL) {
		d->action = PERM_SELECT;
		d->option_id = allow;
		return;
	}
	if (can_prompt) {
		ask(d, params, allow, reject);
		return;
	}
	if (nonint == ACPX_NONINT_FAIL) {
		d->action = PERM_UNAVAILABLE;
		return;
	}
	select_or_cancel(d, reject);
}

void
permission_decision_clear(struct perm_decision *d)
{
	json_decref(d->escalation);
	free(d->prompt);
	memset(d, 0, sizeof *d);
}

/* The response object for a decision (allow = the TTY answer for PERM_ASK). Caller owns. */
json_t *
permission_response(const struct perm_decision *d, int allow)
{
	const char	*id = NULL;
	json_t		*resp;

	switch (d->action) {
	case PERM_SELECT:
		id = d->option_id;
		break;
	case PERM_ASK:
		id = allow ? d->allow_id : d->reject_id;
		break;
	case PERM_CANCEL:
	case PERM_UNAVAILABLE:
		break;
	}
	if (id != NULL)
		resp = json_pack("{s:{s:s, s:s}}", "outcome", "outcome",
		    "selected", "optionId", id);
	else
		resp = json_pack("{s:{s:s}}", "outcome", "outcome", "cancelled");
	if (d->escalation != NULL)
		json_object_set_new(resp, "_meta", json_pack("{s:{s:O}}",
		    "acpx", "permissionEscalation", d->escalation));
	return (resp);
}

/* "approved", "denied" or "cancelled" for a response to params. */
const char *
permission_classify(const json_t *params, const json_t *response)
{
	const json_t	*outcome = json_object_get(response, "outcome"), *o;
	const char	*oc = jget_str(outcome, "outcome"), *id, *kind;
	size_t		 i;

	if (oc == NULL || strcmp(oc, "selected") != 0)
		return ("cancelled");
	if ((id = jget_str(outcome, "optionId")) == NULL)
		return ("cancelled");
	json_array_foreach(json_object_get(params, "options"), i, o) {
		const char *oid = jget_str(o, "optionId");

		if (oid == NULL || strcmp(oid, id) != 0)
			continue;
		kind = jget_str(o, "kind");
		if (kind != NULL && (strcmp(kind, "allow_once") == 0 ||
		    strcmp(kind, "allow_always") == 0))
			return ("approved");
		return ("denied");
	}
	return ("cancelled");
}

/* Codex: move its refusal option first so "reject" picks it. Caller owns or NULL. */
json_t *
permission_codex_prefer(const json_t *params)
{
	const json_t	*options = json_object_get(params, "options"), *o;
	json_t		*copy, *reordered;
	const char	*kind, *id;
	size_t		 i, found = (size_t)-1;

	json_array_foreach(options, i, o) {
		kind = jget_str(o, "kind");
		id = jget_str(o, "optionId");
		if (kind != NULL && id != NULL && strcmp(kind, "reject_once") == 0 &&
		    (strcmp(id, "decline") == 0 ||
		    strcmp(id, "reject_permissions") == 0)) {
			found = i;
			break;
		}
	}
	if (found == (size_t)-1)
		return (NULL);
	reordered = json_array();
	json_array_append(reordered, json_array_get(options, found));
	json_array_foreach(options, i, o) {
		if (i != found)
			json_array_append(reordered, (json_t *)o);
	}
	copy = json_copy((json_t *)params);
	json_object_set_new(copy, "options", reordered);
	return (copy);
}

/* Codex refusal notice for a response, or NULL. */
const char *
permission_codex_notice(const json_t *params, const json_t *response)
{
	const json_t	*outcome = json_object_get(response, "outcome"), *o;
	const char	*oc = jget_str(outcome, "outcome"), *id, *kind;
	size_t		 i;

	if (oc != NULL && strcmp(oc, "cancelled") == 0)
		return ("No matching permission option was available. The request "
		    "was safely cancelled; Codex may end the current turn.");
	if ((id = jget_str(outcome, "optionId")) == NULL || strcmp(id, "cancel") != 0)
		return (NULL);
	json_array_foreach(json_object_get(params, "options"), i, o) {
		kind = jget_str(o, "kind");
		if (jget_str(o, "optionId") != NULL &&
		    strcmp(jget_str(o, "optionId"), id) == 0)
			return (kind != NULL && strcmp(kind, "reject_once") == 0 ?
			    "Permission refused using Codex's cancellation option; "
			    "this can end the current turn. The operation was not "
			    "approved." : NULL);
	}
	return (NULL);
}
