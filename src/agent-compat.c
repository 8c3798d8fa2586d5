#include <config.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "acpx.h"
#include "agent-compat.h"
#include "cmdline.h"
#include "js.h"
#include "xmalloc.h"

/*
 * Per-adapter adaptations, as the reference makes them (see the header's
 * table). Recognition follows the reference's basenameToken(): the last
 * path component, lowercased, less one .cmd/.exe/.bat suffix.
 */

/* Claude Code's setting sources acpx lets the adapter load by default. */
#define AGENT_CLAUDE_SOURCES_ENV	"ACPX_CLAUDE_INCLUDE_USER_SETTINGS"
#define AGENT_DEVIN_VERSION_ENV		"ACPX_DEVIN_WINDSURF_VERSION"
#define AGENT_DEVIN_VERSION		"1.110.1"

/* Does argv[0]'s basename token equal name? */
static int
agent_command_is(char *const *argv, const char *name)
{
	const char	*base, *dot;
	size_t		 n, i;

	if (argv == NULL || argv[0] == NULL)
		return (0);
	base = strrchr(argv[0], '/');
	base = base != NULL ? base + 1 : argv[0];
	n = strlen(base);
	if ((dot = strrchr(base, '.')) != NULL && (strcasecmp(dot, ".cmd") == 0 ||
	    strcasecmp(dot, ".exe") == 0 || strcasecmp(dot, ".bat") == 0))
		n = (size_t)(dot - base);
	if (n != strlen(name))
		return (0);
	for (i = 0; i < n; i++) {
		if (tolower((unsigned char)base[i]) != name[i])
			return (0);
	}
	return (1);
}

/* Is one of argv[1..] exactly arg? */
static int
agent_has_arg(char *const *argv, const char *arg)
{
	size_t	i;

	for (i = 1; argv != NULL && argv[0] != NULL && argv[i] != NULL; i++) {
		if (strcmp(argv[i], arg) == 0)
			return (1);
	}
	return (0);
}

/* Is one of argv[1..] the flag, bare or as flag=value? */
static int
agent_has_flag(char *const *argv, const char *flag)
{
	size_t	i, n = strlen(flag);

	for (i = 1; argv[i] != NULL; i++) {
		if (strncmp(argv[i], flag, n) == 0 &&
		    (argv[i][n] == '\0' || argv[i][n] == '='))
			return (1);
	}
	return (0);
}

int
agent_compat_is_claude_acp(char *const *argv)
{
	size_t	i;

	if (agent_command_is(argv, "claude-agent-acp"))
		return (1);
	for (i = 1; argv != NULL && argv[0] != NULL && argv[i] != NULL; i++) {
		if (strstr(argv[i], "claude-agent-acp") != NULL)
			return (1);
	}
	return (0);
}

int
agent_compat_answers_late(char *const *argv)
{
	return (agent_compat_is_claude_acp(argv));
}

int
agent_compat_is_devin_acp(char *const *argv)
{
	return (agent_command_is(argv, "devin") && (agent_has_arg(argv, "acp") ||
	    agent_has_arg(argv, "--acp") ||
	    agent_has_arg(argv, "--experimental-acp")));
}

int
agent_compat_is_cursor_acp(char *const *argv)
{
	return (agent_command_is(argv, "cursor-agent") ||
	    (agent_command_is(argv, "agent") && agent_has_arg(argv, "acp")));
}

int
agent_compat_is_qoder_acp(char *const *argv)
{
	return (agent_command_is(argv, "qodercli") &&
	    agent_has_arg(argv, "--acp"));
}

int
agent_compat_stdin_grace_ms(char *const *argv)
{
	return (agent_command_is(argv, "qodercli") ? 750 : 100);
}

int
agent_compat_benign_line(char *const *argv, const char *line, size_t len)
{
	static const char *const qoder[] = {
	    "Received interrupt signal. Cleaning up resources...",
	    "Cleanup completed. Exiting..." };
	char	*s, *t;
	size_t	 i;
	int	 benign = 0;

	if (!agent_command_is(argv, "qodercli"))
		return (0);
	s = xstrndup(line, len);
	t = js_trim_dup(s);
	for (i = 0; i < sizeof qoder / sizeof qoder[0]; i++) {
		if (strcmp(t, qoder[i]) == 0)
			benign = 1;
	}
	free(t);
	free(s);
	return (benign);
}

/* ["project","local"], "user" first when the environment opts in. */
static json_t *
agent_claude_sources(void)
{
	const char	*v = getenv(AGENT_CLAUDE_SOURCES_ENV);
	char		*t;
	json_t		*a = json_array();

	if (v != NULL) {
		t = js_trim_dup(v);
		if (strcmp(t, "1") == 0)
			json_array_append_new(a, json_string("user"));
		free(t);
	}
	json_array_append_new(a, json_string("project"));
	json_array_append_new(a, json_string("local"));
	return (a);
}

json_t *
agent_compat_session_meta(char *const *argv,
    const struct agent_session_opts *so)
{
	json_t	*opts = json_object(), *meta = json_object();

	if (agent_compat_is_claude_acp(argv))
		json_object_set_new(opts, "settingSources",
		    agent_claude_sources());
	if (so->model != NULL && !js_blank(so->model))
		json_object_set_new(opts, "model", json_string(so->model));
	if (json_is_array(so->allowed_tools))
		json_object_set_new(opts, "allowedTools",
		    json_deep_copy(so->allowed_tools));
	if (so->max_turns > 0)
		json_object_set_new(opts, "maxTurns", json_integer(so->max_turns));
	if (json_object_size(opts) > 0)
		json_object_set_new(meta, "claudeCode",
		    json_pack("{s:O}", "options", opts));
	json_decref(opts);
	if (so->system_prompt != NULL && *so->system_prompt != '\0')
		json_object_set_new(meta, "systemPrompt",
		    json_string(so->system_prompt));
	else if (so->append_system_prompt != NULL &&
	    *so->append_system_prompt != '\0')
		json_object_set_new(meta, "systemPrompt", json_pack("{s:s}",
		    "append", so->append_system_prompt));
	if (json_object_size(meta) == 0) {
		json_decref(meta);
		return (NULL);
	}
	return (meta);
}

json_t *
agent_compat_client_info(char *const *argv)
{
	const char	*v;

	if (!agent_compat_is_devin_acp(argv))
		return (json_pack("{s:s, s:s}", "name", "acpx", "version",
		    ACPX_COMPAT_VERSION));
	if ((v = getenv(AGENT_DEVIN_VERSION_ENV)) == NULL)
		v = AGENT_DEVIN_VERSION;
	return (json_pack("{s:s, s:s}", "name", "windsurf", "version", v));
}

void
agent_compat_client_caps(char *const *argv, json_t *caps)
{
	if (agent_compat_is_devin_acp(argv))
		json_object_set_new(caps, "_meta", json_pack("{s:b}",
		    "cognition.ai/requestDiagnostics", 1));
}

/* Qoder's upper-case built-in tool names. */
static char *
agent_qoder_tool(const char *tool)
{
	static const char *const upper[] = { "bash", "glob", "grep", "ls",
	    "read", "write" };
	char	*t = js_trim_dup(tool);
	size_t	 i, j;

	for (i = 0; i < sizeof upper / sizeof upper[0]; i++) {
		if (strcasecmp(t, upper[i]) == 0) {
			for (j = 0; t[j] != '\0'; j++)
				t[j] = (char)toupper((unsigned char)t[j]);
			break;
		}
	}
	return (t);
}

char **
agent_compat_argv(char *const *agent_argv, const struct agent_session_opts *so)
{
	char	**argv, *list, *tool, *tmp;
	size_t	  n, i;
	const json_t *v;
	int	  turns, tools;

	if (!agent_compat_is_qoder_acp(agent_argv))
		return (NULL);
	turns = so->max_turns > 0 && !agent_has_flag(agent_argv,
	    "--max-turns");
	tools = json_is_array(so->allowed_tools) &&
	    !agent_has_flag(agent_argv, "--allowed-tools") &&
	    !agent_has_flag(agent_argv, "--disallowed-tools");
	if (!turns && !tools)
		return (NULL);
	n = cmdline_count(agent_argv);
	argv = xcalloc(n + 3, sizeof *argv);
	for (i = 0; i < n; i++)
		argv[i] = xstrdup(agent_argv[i]);
	if (turns)
		xasprintf(&argv[n++], "--max-turns=%d", so->max_turns);
	if (tools) {
		list = xstrdup("");
		json_array_foreach(so->allowed_tools, i, v) {
			tool = agent_qoder_tool(json_is_string(v) ?
			    json_string_value(v) : "");
			xasprintf(&tmp, "%s%s%s", list, i > 0 ? "," : "", tool);
			free(tool);
			free(list);
			list = tmp;
		}
		xasprintf(&argv[n++], "--allowed-tools=%s", list);
		free(list);
	}
	return (argv);
}
