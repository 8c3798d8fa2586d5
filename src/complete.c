#include <config.h>

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "acpx.h"
#include "agent-registry.h"
#include "cli-impl.h"
#include "cli.h"
#include "cmdline.h"
#include "complete.h"
#include "config-file.h"
#include "js.h"
#include "output.h"
#include "warp.h"
#include "xmalloc.h"

/*
 * acpx __complete: what the shell completion scripts ask. The partial
 * command line is walked through the command and option tables the parser
 * uses (cli-help.c), so completions never drift from the grammar: verbs
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

enum complete_kind {
	COMPLETE_WORDS = 0,
	COMPLETE_FILES,
	COMPLETE_DIRS,
	COMPLETE_NONE
};

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
	const struct cli_cmddef	 *cmd;		/* innermost command */
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

static void
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
static void
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
static void
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
static void
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

/* A subcommand of def by name, or NULL. */
static const struct cli_cmddef *
complete_sub(const struct cli_cmddef *def, const char *name)
{
	const struct cli_cmddef *const	*s;

	for (s = def->subs; s != NULL && *s != NULL; s++) {
		if (strcmp((*s)->name, name) == 0)
			return (*s);
	}
	return (NULL);
}

/* Look a flag up in a command's own options (and help). */
static const struct cli_opt *
complete_own_opt(const struct cli_cmddef *def, const char *flag)
{
	const struct cli_opt *const	*o;

	for (o = def->opts; o != NULL && *o != NULL; o++) {
		if (((*o)->shortf != NULL && strcmp((*o)->shortf, flag) == 0) ||
		    strcmp((*o)->longf, flag) == 0)
			return (*o);
	}
	if (strcmp(flag, "-h") == 0 || strcmp(flag, "--help") == 0)
		return (&cli_help_opt);
	return (NULL);
}

/*
 * The option a word names in the current command: its own, else (long
 * flags only, as the parser) a global one. *value gets an attached value
 * ("--format=json", "-sname"), else NULL.
 */
static const struct cli_opt *
complete_opt(const struct complete *c, const char *word, const char **value)
{
	const struct cli_opt	*o;
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
	    c->cmd != &cli_root_def && flag[1] == '-' &&
	    (o = complete_own_opt(&cli_root_def, flag)) == &cli_version_opt)
		o = NULL;
	free(flag);
	/* A short boolean with more letters is a group of flags. */
	if (o != NULL && o->kind != CLI_OPT_VALUE)
		*value = NULL;
	return (o);
}

/* Remember what an option says about the session scope. */
static void
complete_note(struct complete *c, const struct cli_opt *o, const char *value)
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
	const struct cli_cmddef	*sub;

	if (c->cmd == &cli_root_def) {
		if (c->npos == 0 && (sub = complete_sub(c->cmd, word)) != NULL) {
			c->cmd = sub;
			return;
		}
		if (c->npos == 0 && c->agent_override == NULL) {
			c->agent = word;
			c->cmd = &cli_agent_def;
			return;
		}
		c->literal = 1;
		return;
	}
	if (c->npos == 0 && (sub = complete_sub(c->cmd, word)) != NULL) {
		c->cmd = sub;
		return;
	}
	if (c->cmd->flags & CLI_CMD_PASSTHROUGH) {
		c->literal = 1;
		return;
	}
	c->npos++;
}

/* The current command's options, then the global ones. */
static void
complete_options(struct complete *c)
{
	const struct cli_opt *const	*o;
	const struct cli_cmddef		*defs[2] = { c->cmd, NULL };
	size_t				 d;

	if (c->cmd != &cli_root_def)
		defs[1] = &cli_root_def;
	for (d = 0; d < nitems(defs) && defs[d] != NULL; d++) {
		for (o = defs[d]->opts; o != NULL && *o != NULL; o++) {
			if (d > 0 && *o == &cli_version_opt)
				continue;
			if (d > 0 && complete_own_opt(c->cmd, (*o)->longf) != NULL)
				continue;
			if ((*o)->shortf != NULL && d == 0)
				complete_add(c, (*o)->shortf, (*o)->desc);
			complete_add(c, (*o)->longf, (*o)->desc);
		}
		if (d == 0) {
			complete_add(c, cli_help_opt.shortf, cli_help_opt.desc);
			complete_add(c, cli_help_opt.longf, cli_help_opt.desc);
		}
	}
}

/* Value of an option; prefix is "--flag=" when completing that form. */
static void
complete_value(struct complete *c, const struct cli_opt *o,
    const char *prefix)
{
	static const char *const formats[] = { "text", "json", "quiet" };
	static const char *const auth[] = { "skip", "fail" };
	static const char *const nonint[] = { "deny", "fail" };
	static const char *const files[] = { "file", "mcpConfig",
	    "permissionPolicy", "policy", "output", "promptFile", "inputFile" };
	static const char *const dirs[] = { "cwd", "filterCwd", "sourceCwd",
	    "destinationCwd" };
	const char	*key = o->key, *sub = c->cmd->subverb;
	size_t		 i, first = c->n;

	if (strcmp(key, "format") == 0) {
		for (i = 0; i < nitems(formats); i++)
			complete_add_prefixed(c, prefix, formats[i], NULL);
	} else if (strcmp(key, "authPolicy") == 0) {
		for (i = 0; i < nitems(auth); i++)
			complete_add_prefixed(c, prefix, auth[i], NULL);
	} else if (strcmp(key, "nonInteractivePermissions") == 0) {
		for (i = 0; i < nitems(nonint); i++)
			complete_add_prefixed(c, prefix, nonint[i], NULL);
	} else if (strcmp(key, "session") == 0) {
		complete_sessions(c, c->cmd->verb == CLI_VERB_STATUS ?
		    COMPLETE_EXACT_OPEN : COMPLETE_WALK_OPEN);
	} else if (strcmp(key, "name") == 0 && sub != NULL &&
	    strcmp(sub, "watch") == 0) {
		complete_sessions(c, COMPLETE_EXACT_ANY);
	} else if (strcmp(key, "name") == 0 && sub != NULL &&
	    strcmp(sub, "ensure") == 0) {
		complete_sessions(c, COMPLETE_WALK_OPEN);
	} else if (strcmp(key, "defaultAgent") == 0) {
		complete_agents(c);
	} else {
		for (i = 0; i < nitems(files); i++) {
			if (strcmp(key, files[i]) == 0)
				c->kind = COMPLETE_FILES;
		}
		for (i = 0; i < nitems(dirs); i++) {
			if (strcmp(key, dirs[i]) == 0)
				c->kind = COMPLETE_DIRS;
		}
		if (c->kind == COMPLETE_WORDS)
			c->kind = COMPLETE_NONE;
		return;
	}
	/* Session names after "--session=" keep the prefix too. */
	if (*prefix != '\0') {
		for (i = first; i < c->n; i++) {
			char *v;

			if (strncmp(c->v[i].value, prefix, strlen(prefix)) == 0)
				continue;
			xasprintf(&v, "%s%s", prefix, c->v[i].value);
			free(c->v[i].value);
			c->v[i].value = v;
		}
	}
}

static void
complete_subs(struct complete *c, const struct cli_cmddef *def)
{
	const struct cli_cmddef *const	*s;
	const struct config		*cfg;
	char				*desc;

	for (s = def->subs; s != NULL && *s != NULL; s++) {
		if ((*s)->flags & CLI_CMD_DEFAULT_DESC) {
			cfg = complete_config(c);
			xasprintf(&desc, (*s)->desc, cfg != NULL &&
			    cfg->default_agent != NULL ? cfg->default_agent :
			    AGENT_REGISTRY_DEFAULT);
		} else
			desc = xstrdup((*s)->desc);
		complete_add(c, (*s)->name, desc);
		free(desc);
	}
}

/* Operands: subcommands, agents, session names, shells, ... */
static void
complete_operands(struct complete *c)
{
	const struct cli_cmddef	*d = c->cmd;
	const char		*sub = d->subverb;

	if (d == &cli_root_def) {
		if (c->npos == 0) {
			complete_subs(c, d);
			if (c->agent_override == NULL)
				complete_agents(c);
		}
		return;
	}
	if (d->subs != NULL && c->npos == 0) {
		complete_subs(c, d);
		return;
	}
	switch (d->verb) {
	case CLI_VERB_SESSIONS:
		if (c->npos != 0 || sub == NULL)
			break;
		if (strcmp(sub, "close") == 0)
			complete_sessions(c, COMPLETE_EXACT_OPEN);
		else if (strcmp(sub, "show") == 0 || strcmp(sub, "history") ==
		    0 || strcmp(sub, "read") == 0 || strcmp(sub, "export") == 0)
			complete_sessions(c, COMPLETE_EXACT_ANY);
		else if (strcmp(sub, "import") == 0)
			c->kind = COMPLETE_FILES;
		break;
	case CLI_VERB_COMPARE:
		complete_agents(c);
		break;
	case CLI_VERB_FLOW:
		if (c->npos == 0)
			c->kind = COMPLETE_FILES;
		break;
	case CLI_VERB_WARP:
		if (sub != NULL && strcmp(sub, "probe") == 0) {
			complete_warp(c, 1);
		}
		break;
	case CLI_VERB_COMPLETION:
		if (c->npos == 0) {
			complete_add(c, "bash", NULL);
			complete_add(c, "zsh", NULL);
			complete_add(c, "fish", NULL);
		}
		break;
	default:
		break;
	}
	if (c->n == 0 && c->kind == COMPLETE_WORDS)
		c->kind = COMPLETE_NONE;
}

/* Walk the words before the current one, then complete the current one. */
static void
complete_words(struct complete *c, char **words, int n)
{
	const struct cli_opt	*o, *pending = NULL;
	const char		*w, *value, *cur;
	char			*prefix;
	int			 i;

	c->cmd = &cli_root_def;
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
		if (o->kind == CLI_OPT_VALUE && value == NULL) {
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
		if (o == NULL || o->kind != CLI_OPT_VALUE) {
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
complete_list_commands(const struct cli_cmddef *def, const char *path,
    struct complete_buf *b)
{
	const struct cli_cmddef *const	*s;
	char				*p;

	for (s = def->subs; s != NULL && *s != NULL; s++) {
		if (*path == '\0')
			p = xstrdup((*s)->name);
		else
			xasprintf(&p, "%s %s", path, (*s)->name);
		complete_line(b, "%s", p);
		complete_list_commands(*s, p, b);
		free(p);
	}
}

static void
complete_list_options(const struct cli_cmddef *def, const char *path,
    struct complete_buf *b)
{
	const struct cli_opt *const	*o;
	const struct cli_cmddef *const	*s;
	char				*p;

	for (o = def->opts; o != NULL && *o != NULL; o++) {
		if ((*o)->desc == NULL)
			continue;	/* ours, kept off the --help screens */
		if ((*o)->shortf != NULL)
			complete_line(b, "%s\t%s", path, (*o)->shortf);
		complete_line(b, "%s\t%s", path, (*o)->longf);
	}
	complete_line(b, "%s\t%s", path, cli_help_opt.shortf);
	complete_line(b, "%s\t%s", path, cli_help_opt.longf);
	for (s = def->subs; s != NULL && *s != NULL; s++) {
		if (def == &cli_root_def)
			p = xstrdup((*s)->name);
		else
			xasprintf(&p, "%s %s", path, (*s)->name);
		complete_list_options(*s, p, b);
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
			complete_list_commands(&cli_root_def, "", &b);
			break;
		} else if (strcmp(argv[i], "--list-options") == 0) {
			complete_list_options(&cli_root_def, "acpx", &b);
			/* The agent command's own (acpx <agent> -s ...). */
			complete_list_options(&cli_agent_def, "<agent>", &b);
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
