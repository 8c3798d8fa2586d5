#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "acpx.h"
#include "agent-registry.h"
#include "cli-impl.h"
#include "cmd.h"
#include "complete-impl.h"
#include "complete.h"
#include "config-file.h"
#include "xmalloc.h"

/*
 * The walk of a partial command line through the command table (cmd.h),
 * as the parser reads it: verbs and subcommands, agent tokens, options
 * (each command's own, help, and the global options acpx-native accepts
 * after the agent and the verb) and their values, then what the word
 * under the cursor may be. A command's row completes its own operands and
 * option values (its complete function); the rest is the option rows'
 * values (enumerations, files, directories, sessions, agents).
 */

/* Look a flag up in a command's own options (and help). */
static const struct cmd_opt *
complete_own_opt(const struct cmd_entry *def, const char *flag)
{
	const struct cmd_opt	*o;

	if ((o = cmd_find_opt(def, flag)) != NULL)
		return (o);
	if (strcmp(flag, "-h") == 0 || strcmp(flag, "--help") == 0)
		return (&cmd_opt_help);
	return (NULL);
}

/*
 * The option a word names in the current command: its own, else (long
 * flags only, as the parser) a global one. *value gets an attached value
 * ("--format=json", "-sname"), else NULL.
 */
static const struct cmd_opt *
complete_opt(const struct complete *c, const char *word, const char **value)
{
	const struct cmd_opt	*o;
	const char		*eq;
	char			*flag, sh[3];

	*value = NULL;
	if (strncmp(word, "--", 2) == 0 && (eq = strchr(word, '=')) != NULL) {
		flag = xstrndup(word, (size_t)(eq - word));
		*value = eq + 1;
	} else if (word[1] != '-' && strlen(word) > 2) {
		sh[0] = '-';
		sh[1] = word[1];
		sh[2] = '\0';
		flag = xstrdup(sh);
		*value = word + 2;
	} else
		flag = xstrdup(word);
	if ((o = complete_own_opt(c->cmd, flag)) == NULL &&
	    c->cmd != &cmd_root_entry && flag[1] == '-' &&
	    (o = complete_own_opt(&cmd_root_entry, flag)) == &cmd_opt_version)
		o = NULL;
	free(flag);
	/* A short boolean with more letters is a group of flags. */
	if (o != NULL && o->kind != CMD_OPT_VALUE)
		*value = NULL;
	return (o);
}

/* Remember what an option says about the session scope. */
static void
complete_note(struct complete *c, const struct cmd_opt *o, const char *value)
{
	if (strcmp(o->key, "node") == 0)
		c->node = value;
	else if (strcmp(o->key, "agent") == 0)
		c->agent_override = value;
	else if (strcmp(o->key, "cwd") == 0)
		c->cwd = value;
	else if (strcmp(o->key, "sourceCwd") == 0)
		c->source_cwd = value;
}

/* An operand of the current command. */
static void
complete_operand(struct complete *c, const char *word)
{
	const struct cmd_entry	*sub;

	if (c->cmd == &cmd_root_entry) {
		if (c->npos == 0 && (sub = cmd_find(c->cmd, word)) != NULL) {
			c->cmd = sub;
			return;
		}
		if (c->npos == 0 && c->agent_override == NULL) {
			c->agent = word;
			c->cmd = &cmd_agent_entry;
			return;
		}
		c->literal = 1;
		return;
	}
	if (c->npos == 0 && (sub = cmd_find(c->cmd, word)) != NULL) {
		c->cmd = sub;
		return;
	}
	if (c->cmd->flags & CMD_PASSTHROUGH) {
		c->literal = 1;
		return;
	}
	c->npos++;
}

/* The current command's options, then the global ones. */
static void
complete_options(struct complete *c)
{
	const struct cmd_opt *const	*o;
	const struct cmd_entry		*defs[2] = { c->cmd, NULL };
	size_t				 d;

	if (c->cmd != &cmd_root_entry)
		defs[1] = &cmd_root_entry;
	for (d = 0; d < nitems(defs) && defs[d] != NULL; d++) {
		for (o = defs[d]->opts; o != NULL && *o != NULL; o++) {
			if (d > 0 && *o == &cmd_opt_version)
				continue;
			if (d > 0 && complete_own_opt(c->cmd, (*o)->longf) != NULL)
				continue;
			if ((*o)->shortf != NULL && d == 0)
				complete_add(c, (*o)->shortf, (*o)->desc);
			complete_add(c, (*o)->longf, (*o)->desc);
		}
		if (d == 0) {
			complete_add(c, cmd_opt_help.shortf, cmd_opt_help.desc);
			complete_add(c, cmd_opt_help.longf, cmd_opt_help.desc);
		}
	}
}

/* Value of an option; prefix is "--flag=" when completing that form. */
static void
complete_value(struct complete *c, const struct cmd_opt *o,
    const char *prefix)
{
	const char *const	*v;
	size_t			 i, first = c->n;
	char			*s;

	if (c->cmd->complete == NULL || !c->cmd->complete(c, o, c->npos)) {
		switch (o->values) {
		case CMD_VALUES_LIST:
			for (v = o->choices; *v != NULL; v++)
				complete_add_prefixed(c, prefix, *v, NULL);
			break;
		case CMD_VALUES_SESSION:
			complete_sessions(c, COMPLETE_WALK_OPEN);
			break;
		case CMD_VALUES_AGENT:
			complete_agents(c);
			break;
		case CMD_VALUES_NODE:
			complete_nodes(c);
			break;
		case CMD_VALUES_FILE:
			c->kind = COMPLETE_FILES;
			return;
		case CMD_VALUES_DIR:
			c->kind = COMPLETE_DIRS;
			return;
		case CMD_VALUES_NONE:
			c->kind = COMPLETE_NONE;
			return;
		}
	}
	/* Session names after "--session=" keep the prefix too. */
	if (*prefix != '\0') {
		for (i = first; i < c->n; i++) {
			if (strncmp(c->v[i].value, prefix, strlen(prefix)) == 0)
				continue;
			xasprintf(&s, "%s%s", prefix, c->v[i].value);
			free(c->v[i].value);
			c->v[i].value = s;
		}
	}
}

static void
complete_subs(struct complete *c, const struct cmd_entry *def)
{
	const struct cmd_entry	*s;
	const struct config	*cfg;
	char			*desc;
	size_t			 i;

	for (i = 0; (s = cmd_sub(def, i)) != NULL; i++) {
		if (def == &cmd_agent_entry && s->agent_desc != NULL)
			desc = xstrdup(s->agent_desc);
		else if (s->flags & CMD_DEFAULT_DESC) {
			cfg = complete_config(c);
			xasprintf(&desc, s->desc, cfg != NULL &&
			    cfg->default_agent != NULL ? cfg->default_agent :
			    AGENT_REGISTRY_DEFAULT);
		} else
			desc = xstrdup(s->desc);
		complete_add(c, s->name, desc);
		free(desc);
	}
}

/* Operands: subcommands, agents, or what the command's row offers. */
static void
complete_operands(struct complete *c)
{
	const struct cmd_entry	*d = c->cmd;

	if (d == &cmd_root_entry) {
		if (c->npos == 0) {
			complete_subs(c, d);
			if (c->agent_override == NULL)
				complete_agents(c);
		}
		return;
	}
	if (cmd_sub(d, 0) != NULL && c->npos == 0) {
		complete_subs(c, d);
		return;
	}
	if (d->complete != NULL)
		d->complete(c, NULL, c->npos);
	if (c->n == 0 && c->kind == COMPLETE_WORDS)
		c->kind = COMPLETE_NONE;
}

/* Walk the words before the current one, then complete the current one. */
void
cli_complete_words(struct complete *c, char **words, int n)
{
	const struct cmd_opt	*o, *pending = NULL;
	const char		*w, *value, *cur;
	char			*prefix;
	int			 i, at;

	c->cmd = &cmd_root_entry;
	c->words = words;
	c->nwords = n;
	for (i = 0; i < n - 1; i++) {
		w = words[i];
		if (c->literal)
			break;
		if (strcmp(w, "--") == 0) {
			c->literal = 1;
			break;
		}
		if (w[0] != '-' || w[1] == '\0') {
			complete_operand(c, w);
			continue;
		}
		if ((o = complete_opt(c, w, &value)) == NULL)
			continue;
		at = i;
		if (o->kind == CMD_OPT_VALUE && value == NULL) {
			if (i + 1 == n - 1) {
				pending = o;
				break;
			}
			value = words[++i];
		}
		if (value != NULL)
			complete_note(c, o, value);
		if (value != NULL && c->node == value) {
			/* The node is asked without it. */
			c->node_at = at;
			c->node_len = i - at + 1;
		}
	}
	cur = n > 0 ? words[n - 1] : "";
	if (pending != NULL) {
		complete_value(c, pending, "");
		return;
	}
	if (c->literal) {
		c->kind = COMPLETE_NONE;
		return;
	}
	if (strncmp(cur, "--", 2) == 0 && strchr(cur, '=') != NULL) {
		o = complete_opt(c, cur, &value);
		if (o == NULL || o->kind != CMD_OPT_VALUE) {
			c->kind = COMPLETE_NONE;
			return;
		}
		prefix = xstrndup(cur, (size_t)(value - cur));
		complete_value(c, o, prefix);
		free(prefix);
		return;
	}
	if (cur[0] == '-') {
		complete_options(c);
		return;
	}
	complete_operands(c);
}
