#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "acpx.h"
#include "agent-registry.h"
#include "complete-impl.h"
#include "complete.h"
#include "config-file.h"
#include "js.h"
#include "warp.h"
#include "xmalloc.h"

/*
 * The candidates of a completion: the words offered (deduplicated, with
 * descriptions), agent names (built-ins, config agents, the Warp agent ids
 * of the config's warp section) and live session names scoped to the
 * agent and directory on the command line. The config is loaded once,
 * for that directory.
 */

/* ------------------------------------------------------------ candidates */

void
complete_add(struct complete *c, const char *value, const char *desc)
{
	size_t	i;

	for (i = 0; i < c->n; i++) {
		if (strcmp(c->v[i].value, value) == 0)
			return;
	}
	c->v = xreallocarray(c->v, c->n + 1, sizeof *c->v);
	c->v[c->n].value = xstrdup(value);
	c->v[c->n].desc = desc != NULL ? xstrdup(desc) : NULL;
	c->n++;
}

/* A candidate with a prefix ("--format=") in front of the value. */
void
complete_add_prefixed(struct complete *c, const char *prefix,
    const char *value, const char *desc)
{
	char	*s;

	xasprintf(&s, "%s%s", prefix, value);
	complete_add(c, s, desc);
	free(s);
}

/* What the shell is to do instead of (or with) the candidates. */
void
complete_set_kind(struct complete *c, enum complete_kind kind)
{
	c->kind = kind;
}

/* ---------------------------------------------------------------- config */

/* The directory the command line is about (absolute). Caller owns. */
static char *
complete_cwd(struct complete *c)
{
	return (config_path_resolve(c->process_cwd, c->cwd != NULL ? c->cwd :
	    c->process_cwd));
}

/* Load config once, for the cwd on the command line; NULL if broken. */
struct config *
complete_config(struct complete *c)
{
	char	*home, *cwd, *cause = NULL;

	if (c->config_tried)
		return (c->config);
	c->config_tried = 1;
	home = config_home();
	cwd = complete_cwd(c);
	c->config = config_load(home, cwd, NULL, &cause);
	free(cause);
	free(home);
	free(cwd);
	return (c->config);
}

/*
 * The Warp agent ids the config defines (harness x provider x model
 * family, warp.h) with what they run; with providers, the provider names
 * too (warp probe targets). Nothing if the warp section is invalid.
 */
void
complete_warp(struct complete *c, int providers)
{
	const struct config	*cfg = complete_config(c);
	struct warp_config	*wc;
	const struct warp_model	*m;
	char			*cause = NULL, *id, *desc;
	size_t			 h, i, j;

	if (cfg == NULL || (wc = warp_config_load(cfg, &cause)) == NULL) {
		free(cause);
		return;
	}
	for (h = 0; h < warp_harness_count(); h++) {
		for (i = 0; i < wc->nproviders; i++) {
			for (j = 0; j < wc->providers[i].nmodels; j++) {
				m = &wc->providers[i].models[j];
				id = warp_id_format(warp_harness_name(h),
				    wc->providers[i].name, m->family);
				xasprintf(&desc, "Warp: %s on %s (%s)",
				    warp_harness_name(h),
				    wc->providers[i].name, m->model);
				complete_add(c, id, desc);
				free(desc);
				free(id);
			}
		}
	}
	for (i = 0; providers && i < wc->nproviders; i++)
		complete_add(c, wc->providers[i].name, "Warp provider");
	warp_config_free(wc);
}

/* Built-in agents, config agents and Warp agent ids. */
void
complete_agents(struct complete *c)
{
	const struct config	*cfg = complete_config(c);
	const char		*name;
	char			*desc;
	size_t			 i;

	for (i = 0; i < agent_registry_count(); i++) {
		name = agent_registry_name(i);
		complete_add(c, name, agent_registry_display(name));
	}
	if (cfg != NULL) {
		for (i = 0; i < cfg->nagents; i++) {
			xasprintf(&desc, "configured: %s",
			    cfg->agents[i].command);
			complete_add(c, cfg->agents[i].name, desc);
			free(desc);
		}
	}
	complete_warp(c, 0);
}

/* The config's node names (--node, nodes check). */
void
complete_nodes(struct complete *c)
{
	const struct config	*cfg = complete_config(c);
	char			*desc;
	size_t			 i;

	for (i = 0; cfg != NULL && i < cfg->nnodes; i++) {
		xasprintf(&desc, "ssh %s", cfg->nodes[i].ssh);
		complete_add(c, cfg->nodes[i].name, desc);
		free(desc);
	}
}

/* -------------------------------------------------------------- sessions */

static void
complete_session_cb(const char *name, const char *cwd, int closed, void *arg)
{
	struct complete	*c = arg;
	char		*desc;

	xasprintf(&desc, "%s%s", closed ? "closed: " : "", cwd);
	complete_add(c, name, desc);
	free(desc);
}

/* Names of the agent's sessions for the directory on the command line. */
void
complete_sessions(struct complete *c, enum complete_scope scope)
{
	struct config		*cfg = complete_config(c);
	struct agent_spec	 spec;
	const char		*override = NULL, *aname;
	char			*cwd, *t = NULL;

	if (c->node != NULL) {		/* the node's sessions, not ours */
		complete_node_sessions(c);
		return;
	}
	memset(&spec, 0, sizeof spec);
	if (c->agent_override != NULL) {
		t = js_trim_dup(c->agent_override);
		override = t;
	}
	aname = c->agent != NULL ? c->agent : cfg != NULL &&
	    cfg->default_agent != NULL ? cfg->default_agent :
	    AGENT_REGISTRY_DEFAULT;
	agent_registry_resolve(cfg, aname, override, &spec);
	free(t);
	if (spec.command != NULL) {
		if (c->source_cwd != NULL)
			cwd = config_path_resolve(c->process_cwd,
			    c->source_cwd);
		else
			cwd = complete_cwd(c);
		complete_session_names(spec.command, cwd, scope,
		    complete_session_cb, c);
		free(cwd);
	}
	agent_registry_spec_clear(&spec);
}
