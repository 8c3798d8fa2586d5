#include <config.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acpx.h"
#include "agent-registry.h"
#include "cmdline.h"
#include "config-file.h"
#include "js.h"
#include "spawn.h"
#include "warp.h"
#include "xmalloc.h"

/*
 * The registry table. The identity (agent command) string of a built-in is
 * its argv joined by single spaces, exactly as the reference builds it, so
 * sessions created by either implementation match.
 */

#define AGENT_ARGV_MAX	5

struct agent_builtin {
	const char	*name;
	const char	*display;
	const char	*argv[AGENT_ARGV_MAX];
};

static const struct agent_builtin agent_builtins[] = {
	{ "pi", "Pi", { "npx", "pi-acp@^0.0.33" } },
	{ "openclaw", "OpenClaw", { "openclaw", "acp" } },
	{ "codex", "Codex",
	    { "npx", "-y", "@agentclientprotocol/codex-acp@^1.1.5" } },
	{ "claude", "Claude Code",
	    { "npx", "-y", "@agentclientprotocol/claude-agent-acp@^0.76.0" } },
	{ "gemini", "Gemini CLI", { "gemini", "--acp" } },
	{ "cursor", "Cursor", { "cursor-agent", "acp" } },
	{ "copilot", "GitHub Copilot", { "copilot", "--acp", "--stdio" } },
#if defined(__linux__)
	{ "antigravity", "Google Antigravity",
	    { "agy_acp_server.par", "--uid=" } },
#else
	{ "antigravity", "Google Antigravity", { "agy_acp_server.par" } },
#endif
	{ "devin", "Devin", { "devin", "acp" } },
	{ "droid", "Factory Droid",
	    { "droid", "exec", "--output-format", "acp" } },
	{ "fast-agent", "Fast Agent", { "uvx", "fast-agent-mcp", "acp" } },
	{ "fx", "fx", { "fx", "acp" } },
	{ "grok-build", "Grok Build", { "grok", "agent", "stdio" } },
	{ "iflow", "iFlow", { "iflow", "--experimental-acp" } },
	{ "junie", "Junie", { "junie", "--acp=true" } },
	{ "kilocode", "Kilo Code", { "npx", "-y", "@kilocode/cli", "acp" } },
	{ "kimi", "Kimi Code", { "kimi", "acp" } },
	{ "kiro", "Kiro", { "kiro-cli-chat", "acp" } },
	{ "mcode", "MCode", { "mcode", "acp" } },
	{ "mux", "Mux", { "npx", "-y", "mux@^0.28.0", "acp" } },
	{ "opencode", "OpenCode", { "npx", "-y", "opencode-ai", "acp" } },
	{ "pool", "Poolside", { "pool", "acp" } },
	{ "qoder", "Qoder", { "qodercli", "--acp" } },
	{ "qwen", "Qwen Code", { "qwen", "--acp" } },
	{ "trae", "Trae", { "traecli", "acp", "serve" } },
	{ "zeroclaw", "ZeroClaw", { "zeroclaw", "acp" } },
	/* acpx-native's own: the demo agent shipped next to acpx. */
	{ "demo", "acpx demo agent", { "acpx-demo-agent" } },
};

static const struct {
	const char	*alias;
	const char	*name;
} agent_aliases[] = {
	{ "factory-droid", "droid" },
	{ "factorydroid", "droid" },
};

/* Number of built-in agents. */
size_t
agent_registry_count(void)
{
	return (nitems(agent_builtins));
}

/* Name of the i-th built-in (help order). */
const char *
agent_registry_name(size_t i)
{
	return (i < nitems(agent_builtins) ? agent_builtins[i].name : NULL);
}

static const struct agent_builtin *
agent_registry_find(const char *name)
{
	size_t	i;

	for (i = 0; i < nitems(agent_builtins); i++) {
		if (strcmp(agent_builtins[i].name, name) == 0)
			return (&agent_builtins[i]);
	}
	return (NULL);
}

/* Display name of a built-in. */
const char *
agent_registry_display(const char *name)
{
	const struct agent_builtin	*b = agent_registry_find(name);

	return (b != NULL ? b->display : NULL);
}

/* Non-zero if name is exactly a built-in's name. */
int
agent_registry_is_builtin(const char *name)
{
	return (agent_registry_find(name) != NULL);
}

/* Trim and lower-case an agent name. */
char *
agent_registry_normalize(const char *name)
{
	char	*n = js_trim_dup(name), *p;

	for (p = n; *p != '\0'; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	}
	return (n);
}

/* Canonical name for a normalised name. */
const char *
agent_registry_canonical(const char *normalized)
{
	size_t	i;

	for (i = 0; i < nitems(agent_aliases); i++) {
		if (strcmp(agent_aliases[i].alias, normalized) == 0)
			return (agent_aliases[i].name);
	}
	return (normalized);
}

/* The demo agent: next to the running acpx if it is there, else from PATH. */
static char *
agent_registry_demo_path(void)
{
	char	*self, *slash, *path;

	if ((self = spawn_self_path()) != NULL &&
	    (slash = strrchr(self, '/')) != NULL) {
		*slash = '\0';
		xasprintf(&path, "%s/acpx-demo-agent", self);
		free(self);
		if (access(path, X_OK) == 0)
			return (path);
		free(path);
	} else
		free(self);
	return (xstrdup("acpx-demo-agent"));
}

static void
agent_registry_builtin_spec(const struct agent_builtin *b,
    struct agent_spec *spec)
{
	size_t	n, i, len = 0;

	for (n = 0; n < AGENT_ARGV_MAX && b->argv[n] != NULL; n++)
		len += strlen(b->argv[n]) + 1;
	spec->argv = xcalloc(n + 1, sizeof *spec->argv);
	spec->command = xcalloc(1, len + 1);
	for (i = 0; i < n; i++) {
		spec->argv[i] = xstrdup(b->argv[i]);
		if (i > 0)
			strcat(spec->command, " ");
		strcat(spec->command, b->argv[i]);
	}
	if (strcmp(b->name, "demo") == 0) {
		free(spec->argv[0]);
		spec->argv[0] = agent_registry_demo_path();
	}
}

/* A raw command line: split now, or keep the spawn-time error. */
static void
agent_registry_raw_spec(const char *command, struct agent_spec *spec)
{
	char	*cause;

	spec->command = xstrdup(command);
	if (cmdline_split(command, &spec->argv, &cause) == -1) {
		spec->argv = NULL;
		spec->argv_error = cause;
	}
}

/*
 * A warp-looking agent id: command = the id (the session identity), argv =
 * the registry's command for the harness name (so a config override of
 * agents.<harness> applies). An unknown harness is refused at launch
 * (WARP_HARNESS_UNKNOWN), never run as a raw command.
 */
static void
agent_registry_warp_spec(const struct config *c, const char *id,
    struct agent_spec *spec)
{
	struct warp_id		wid;
	struct agent_spec	h;

	spec->command = xstrdup(id);
	if (warp_id_parse(id, &wid) == 0 &&
	    warp_harness_find(wid.harness) != NULL) {
		agent_registry_resolve(c, wid.harness, NULL, &h);
		spec->argv = h.argv;
		spec->argv_error = h.argv_error;
		h.argv = NULL;
		h.argv_error = NULL;
		agent_registry_spec_clear(&h);
	} else {
		spec->argv = xcalloc(2, sizeof *spec->argv);
		spec->argv[0] = xstrdup(id);
	}
	warp_id_clear(&wid);
}

/* Resolve an agent name or --agent override (§7.2). */
void
agent_registry_resolve(const struct config *c, const char *name,
    const char *override, struct agent_spec *spec)
{
	const struct config_agent	*ca = NULL;
	const struct agent_builtin	*b;
	char				*normalized;
	const char			*canonical;

	memset(spec, 0, sizeof *spec);
	spec->name = xstrdup(name);
	if (override != NULL) {
		agent_registry_raw_spec(override, spec);
		return;
	}
	normalized = agent_registry_normalize(name);
	canonical = agent_registry_canonical(normalized);
	if (c != NULL) {
		if ((ca = config_find_agent(c, normalized)) == NULL)
			ca = config_find_agent(c, canonical);
	}
	if (ca != NULL) {
		if (ca->argv != NULL) {
			spec->command = xstrdup(ca->command);
			spec->argv = cmdline_copy(ca->argv);
		} else
			agent_registry_raw_spec(ca->command, spec);
	} else if ((b = agent_registry_find(normalized)) != NULL ||
	    (b = agent_registry_find(canonical)) != NULL)
		agent_registry_builtin_spec(b, spec);
	else if (warp_id_looks(normalized))
		agent_registry_warp_spec(c, normalized, spec);
	else
		agent_registry_raw_spec(name, spec);
	free(normalized);
}

/* Free an agent spec's contents. */
void
agent_registry_spec_clear(struct agent_spec *spec)
{
	free(spec->name);
	free(spec->command);
	cmdline_free(spec->argv);
	free(spec->argv_error);
	memset(spec, 0, sizeof *spec);
}
