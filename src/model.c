#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agent-compat.h"
#include "jget.h"
#include "model.h"
#include "xmalloc.h"

/*
 * Which models a session advertises and whether --model can be applied,
 * as the reference decides it.
 */

static void
model_add(struct model_state *ms, const char *id)
{
	ms->available = xreallocarray(ms->available, ms->navailable + 1,
	    sizeof *ms->available);
	ms->available[ms->navailable++] = xstrdup(id);
}

/* options: [{value,name}] or [{group,name,options:[{value,name}]}]. */
static int
model_parse_options(const json_t *options, struct model_state *ms)
{
	const json_t	*o, *g;
	size_t		 i, j;
	int		 direct = 1, grouped = 1;

	if (!json_is_array(options))
		return (-1);
	json_array_foreach(options, i, o) {
		if (jget_str(o, "value") == NULL || jget_str(o, "name") == NULL)
			direct = 0;
		if (jget_str(o, "group") == NULL || jget_str(o, "name") == NULL ||
		    !json_is_array(json_object_get(o, "options")))
			grouped = 0;
		else {
			json_array_foreach(json_object_get(o, "options"), j, g) {
				if (jget_str(g, "value") == NULL ||
				    jget_str(g, "name") == NULL)
					grouped = 0;
			}
		}
	}
	if (!direct && !grouped)
		return (-1);
	json_array_foreach(options, i, o) {
		if (direct)
			model_add(ms, jget_str(o, "value"));
		else {
			json_array_foreach(json_object_get(o, "options"), j, g)
				model_add(ms, jget_str(g, "value"));
		}
	}
	return (0);
}

/* Model state from a session result. */
int
model_state_parse(const json_t *result, struct model_state *ms)
{
	const json_t	*opts = json_object_get(result, "configOptions"), *o;
	const json_t	*best = NULL, *legacy, *m;
	const char	*type, *cat, *id;
	int		 prio, best_prio = -1;
	size_t		 i;

	memset(ms, 0, sizeof *ms);
	json_array_foreach(opts, i, o) {
		type = jget_str(o, "type");
		cat = jget_str(o, "category");
		id = jget_str(o, "id");
		if (type == NULL || strcmp(type, "select") != 0 || id == NULL ||
		    jget_str(o, "currentValue") == NULL)
			continue;
		if (!(cat != NULL && strcmp(cat, "model") == 0) &&
		    strcmp(id, "model") != 0)
			continue;
		prio = cat == NULL || strcmp(cat, "model") != 0 ? 0 :
		    strcmp(id, "model") == 0 ? 2 : 1;
		{
			struct model_state probe;

			memset(&probe, 0, sizeof probe);
			if (model_parse_options(json_object_get(o, "options"),
			    &probe) == -1) {
				model_state_clear(&probe);
				continue;
			}
			model_state_clear(&probe);
		}
		if (prio > best_prio) {
			best = o;
			best_prio = prio;
		}
	}
	if (best != NULL) {
		ms->config_id = xstrdup(jget_str(best, "id"));
		ms->current = xstrdup(jget_str(best, "currentValue"));
		model_parse_options(json_object_get(best, "options"), ms);
		return (0);
	}
	legacy = json_object_get(result, "models");
	if (jget_str(legacy, "currentModelId") == NULL ||
	    !json_is_array(json_object_get(legacy, "availableModels")))
		return (-1);
	ms->current = xstrdup(jget_str(legacy, "currentModelId"));
	json_array_foreach(json_object_get(legacy, "availableModels"), i, m) {
		if (jget_str(m, "modelId") != NULL && jget_str(m, "name") != NULL)
			model_add(ms, jget_str(m, "modelId"));
	}
	return (0);
}

void
model_state_clear(struct model_state *ms)
{
	size_t	i;

	for (i = 0; i < ms->navailable; i++)
		free(ms->available[i]);
	free(ms->available);
	free(ms->config_id);
	free(ms->current);
	memset(ms, 0, sizeof *ms);
}

/* "a, b" or "none advertised". Caller owns. */
static char *
model_list(const struct model_state *ms)
{
	char	*out = NULL, *tmp;
	size_t	 i;

	for (i = 0; i < ms->navailable; i++) {
		if (strspn(ms->available[i], " \t") == strlen(ms->available[i]))
			continue;
		xasprintf(&tmp, "%s%s%s", out != NULL ? out : "",
		    out != NULL ? ", " : "", ms->available[i]);
		free(out);
		out = tmp;
	}
	return (out != NULL ? out : xstrdup("none advertised"));
}

/* Advertised ids "requested[...]" (Cursor's aliases), as "a, b"; their count. */
static size_t
model_aliases(const char *requested, const struct model_state *ms,
    char **list, const char **first)
{
	size_t	 i, n = 0, len = strlen(requested);
	char	*tmp;

	*list = NULL;
	*first = NULL;
	for (i = 0; ms != NULL && i < ms->navailable; i++) {
		if (strncmp(ms->available[i], requested, len) != 0 ||
		    ms->available[i][len] != '[')
			continue;
		if (n++ == 0)
			*first = ms->available[i];
		xasprintf(&tmp, "%s%s%s", *list != NULL ? *list : "",
		    *list != NULL ? ", " : "", ms->available[i]);
		free(*list);
		*list = tmp;
	}
	return (n);
}

char *
model_resolve(const char *requested, const struct model_state *ms, int kind)
{
	const char	*first;
	char		*list;
	size_t		 i, n;

	if (kind != MODEL_AGENT_CURSOR || ms == NULL)
		return (xstrdup(requested));
	for (i = 0; i < ms->navailable; i++) {
		if (strcmp(ms->available[i], requested) == 0)
			return (xstrdup(requested));
	}
	n = model_aliases(requested, ms, &list, &first);
	free(list);
	return (xstrdup(n == 1 ? first : requested));
}

int
model_agent_kind(char *const *argv)
{
	if (agent_compat_is_claude_acp(argv))
		return (MODEL_AGENT_CLAUDE);
	if (agent_compat_is_cursor_acp(argv))
		return (MODEL_AGENT_CURSOR);
	return (0);
}

/* Can requested be applied? NULL when fine, else the error message. */
char *
model_check(const char *requested, const struct model_state *ms, int kind,
    const char *context, char **warning)
{
	int		 claude = kind == MODEL_AGENT_CLAUDE;
	const char	*first;
	char		*aliases;
	size_t		 naliases;
	const char	*action = strcmp(context, "replay") == 0 ?
	    "replay saved model" : "apply --model";
	char		*msg, *list;
	size_t		 i;

	*warning = NULL;
	if (ms == NULL) {
		if (claude)
			return (NULL);
		xasprintf(&msg, "Cannot %s \"%s\": the ACP agent did not "
		    "advertise model support through a session config option or "
		    "legacy models metadata, and the adapter does not support a "
		    "startup model flag.", action, requested);
		return (msg);
	}
	for (i = 0; i < ms->navailable; i++) {
		if (strcmp(ms->available[i], requested) == 0)
			return (NULL);
	}
	if (kind == MODEL_AGENT_CURSOR) {
		naliases = model_aliases(requested, ms, &aliases, &first);
		if (naliases > 1) {
			xasprintf(&msg, "Cannot select model \"%s\": multiple "
			    "advertised Cursor models match (%s). Use an exact "
			    "advertised model ID.", requested, aliases);
			free(aliases);
			return (msg);
		}
		if (naliases == 1) {
			xasprintf(warning, "Cursor ACP advertised \"%s\" for "
			    "requested model \"%s\"; using the advertised id.",
			    first, requested);
			free(aliases);
			return (NULL);
		}
	}
	list = model_list(ms);
	if (claude) {
		xasprintf(warning, "requested model \"%s\" was not in the Claude "
		    "ACP advertised model list (%s); forwarding it to Claude Code "
		    "so the adapter can accept or reject it.", requested, list);
		free(list);
		return (NULL);
	}
	xasprintf(&msg, "Cannot %s \"%s\": the ACP agent did not advertise that "
	    "model. Available models: %s.", action, requested, list);
	free(list);
	return (msg);
}

/* Claude's ACP adapter, recognised as the reference does (agent-compat.h). */
int
model_is_claude_command(char *const *argv)
{
	return (agent_compat_is_claude_acp(argv));
}
