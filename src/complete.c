#include <config.h>

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "acpx.h"
#include "agent-registry.h"
#include "cli-opt.h"
#include "cli.h"
#include "cmd.h"
#include "complete.h"
#include "config-file.h"
#include "js.h"
#include "output.h"
#include "warp.h"
#include "xmalloc.h"

/*
 * acpx __complete: what the shell completion scripts ask. The partial
 * command line is walked through the command table the parser uses
 * (cmd.h), so completions never drift from the grammar: verbs
 * and subcommands, options (each command's own, help, and the global
 * options acpx-native accepts after the agent and the verb), enumerated
 * option values, agent names (built-ins, config agents, Warp agent ids of
 * the config's warp section) and live session names read from the
 * session records, scoped to the agent and directory on the command line.
 *
 * Protocol: acpx __complete [--describe] -- WORD... CURRENT
 * WORDs are the words after "acpx", CURRENT the (possibly empty) word under
 * the cursor. The first output line says what to do: ":words" (the
 * candidate lines follow, "value" or "value<TAB>description" with
 * --describe), ":files", ":dirs" (let the shell complete paths) or
 * ":none". The shell filters by CURRENT itself.
 * acpx __complete --list-commands | --list-options prints the command
 * paths / "<path><TAB><flag>" pairs of the tables (for the docs test).
 */

struct complete_cand {
	char	*value;
	char	*desc;
};

struct complete {
	int			  describe;
	enum complete_kind	  kind;
	struct complete_cand	 *v;
	size_t			  n;

	/* What the words before the current one say. */
	const struct cmd_entry	 *cmd;		/* innermost command */
	const char		 *agent;	/* positional agent token */
	const char		 *agent_override; /* --agent */
	const char		 *cwd;		/* --cwd (global or compare's) */
	const char		 *source_cwd;	/* sessions export --cwd */
	int			  npos;		/* operands of cmd so far */
	int			  literal;	/* after --, or prompt text */

	char			 *process_cwd;
	struct config		 *config;
	int			  config_tried;
};

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
static void
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

/* Descriptions are one line without tabs. */
static void
complete_clean(char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\t' || *s == '\n' || *s == '\r')
			*s = ' ';
	}
}

/* A growing output text. */
struct complete_buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

/* Append one line (a newline goes between lines). */
static void
complete_line(struct complete_buf *b, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 n;

	va_start(ap, fmt);
	n = xvasprintf(&s, fmt, ap);
	va_end(ap);
	while (b->len + (size_t)n + 2 > b->cap) {
		b->cap = b->cap == 0 ? 4096 : b->cap * 2;
		b->p = xreallocarray(b->p, 1, b->cap);
	}
	if (b->len > 0)
		b->p[b->len++] = '\n';
	memcpy(b->p + b->len, s, (size_t)n + 1);
	b->len += (size_t)n;
	free(s);
}

static void
complete_render(struct complete *c, struct complete_buf *b)
{
	static const char *const kinds[] = { ":words", ":files", ":dirs",
	    ":none" };
	size_t	i;

	complete_line(b, "%s", kinds[c->kind]);
	for (i = 0; i < c->n; i++) {
		/* A value with a newline cannot be offered in a line protocol. */
		if (strchr(c->v[i].value, '\n') != NULL)
			continue;
		if (c->describe && c->v[i].desc != NULL && *c->v[i].desc != '\0') {
			complete_clean(c->v[i].desc);
			complete_line(b, "%s\t%s", c->v[i].value, c->v[i].desc);
		} else
			complete_line(b, "%s", c->v[i].value);
	}
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
static struct config *
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
	agent_spec_clear(&spec);
}

/* ------------------------------------------------------------ the tables */

/* Look a flag up in a command's own options (and help). */
static const struct cmd_opt *
complete_own_opt(const struct cmd_entry *def, const char *flag)
{
	const struct cmd_opt	*o;

	if ((o = cmd_find_opt(def, flag)) != NULL)
		return (o);
	if (strcmp(flag, "-h") == 0 || strcmp(flag, "--help") == 0)
		return (&cli_opt_help);
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
	    (o = complete_own_opt(&cmd_root_entry, flag)) == &cli_opt_version)
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
	if (strcmp(o->key, "agent") == 0)
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
			if (d > 0 && *o == &cli_opt_version)
				continue;
			if (d > 0 && complete_own_opt(c->cmd, (*o)->longf) != NULL)
				continue;
			if ((*o)->shortf != NULL && d == 0)
				complete_add(c, (*o)->shortf, (*o)->desc);
			complete_add(c, (*o)->longf, (*o)->desc);
		}
		if (d == 0) {
			complete_add(c, cli_opt_help.shortf, cli_opt_help.desc);
			complete_add(c, cli_opt_help.longf, cli_opt_help.desc);
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
static void
complete_words(struct complete *c, char **words, int n)
{
	const struct cmd_opt	*o, *pending = NULL;
	const char		*w, *value, *cur;
	char			*prefix;
	int			 i;

	c->cmd = &cmd_root_entry;
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
		if (o->kind == CMD_OPT_VALUE && value == NULL) {
			if (i + 1 == n - 1) {
				pending = o;
				break;
			}
			value = words[++i];
		}
		if (value != NULL)
			complete_note(c, o, value);
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

/* ------------------------------------------------------------ the lists */

static void
complete_list_commands(const struct cmd_entry *def, const char *path,
    struct complete_buf *b)
{
	const struct cmd_entry	*s;
	char			*p;
	size_t			 i;

	for (i = 0; (s = cmd_sub(def, i)) != NULL; i++) {
		if (*path == '\0')
			p = xstrdup(s->name);
		else
			xasprintf(&p, "%s %s", path, s->name);
		complete_line(b, "%s", p);
		complete_list_commands(s, p, b);
		free(p);
	}
}

static void
complete_list_options(const struct cmd_entry *def, const char *path,
    struct complete_buf *b)
{
	const struct cmd_opt *const	*o;
	const struct cmd_entry		*s;
	char				*p;
	size_t				 i;

	for (o = def->opts; o != NULL && *o != NULL; o++) {
		if ((*o)->desc == NULL)
			continue;	/* ours, kept off the --help screens */
		if ((*o)->shortf != NULL)
			complete_line(b, "%s\t%s", path, (*o)->shortf);
		complete_line(b, "%s\t%s", path, (*o)->longf);
	}
	complete_line(b, "%s\t%s", path, cli_opt_help.shortf);
	complete_line(b, "%s\t%s", path, cli_opt_help.longf);
	for (i = 0; (s = cmd_sub(def, i)) != NULL; i++) {
		if (def == &cmd_root_entry)
			p = xstrdup(s->name);
		else
			xasprintf(&p, "%s %s", path, s->name);
		complete_list_options(s, p, b);
		free(p);
	}
}

/* acpx __complete (see complete.h). */
int
complete_main(int argc, char **argv)
{
	struct complete		 c;
	struct complete_buf	 b = { NULL, 0, 0 };
	struct output_opts	 oo;
	struct output		*out;
	char			 cwdbuf[8192], *empty[] = { "" };
	int			 i, rc = ACPX_EXIT_SUCCESS;
	size_t			 j;

	memset(&c, 0, sizeof c);
	if (getcwd(cwdbuf, sizeof cwdbuf) == NULL)
		strcpy(cwdbuf, "/");
	c.process_cwd = xstrdup(cwdbuf);

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--describe") == 0)
			c.describe = 1;
		else if (strcmp(argv[i], "--list-commands") == 0) {
			complete_list_commands(&cmd_root_entry, "", &b);
			break;
		} else if (strcmp(argv[i], "--list-options") == 0) {
			complete_list_options(&cmd_root_entry, "acpx", &b);
			/* The agent command's own (acpx <agent> -s ...). */
			complete_list_options(&cmd_agent_entry, "<agent>", &b);
			break;
		} else if (strcmp(argv[i], "--") == 0) {
			i++;
			if (i < argc)
				complete_words(&c, argv + i, argc - i);
			else
				complete_words(&c, empty, 1);
			complete_render(&c, &b);
			break;
		} else {
			rc = ACPX_EXIT_USAGE;
			break;
		}
	}
	if (b.p != NULL) {
		memset(&oo, 0, sizeof oo);
		oo.format = ACPX_FORMAT_TEXT;
		out = output_create(&oo);
		output_result_text(out, "%s", b.p);
		output_free(out);
		free(b.p);
	}
	for (j = 0; j < c.n; j++) {
		free(c.v[j].value);
		free(c.v[j].desc);
	}
	free(c.v);
	free(c.process_cwd);
	config_free(c.config);
	return (rc);
}
