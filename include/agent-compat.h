/*
 * agent-compat: what acpx adapts per ACP adapter, recognised from the
 * agent's spawn argv the way the reference recognises it (the basename of
 * argv[0], lowercased, less .cmd/.exe/.bat; or a substring of a later
 * argument). Pure: no I/O (the environment is read for
 * ACPX_CLAUDE_INCLUDE_USER_SETTINGS and ACPX_DEVIN_WINDSURF_VERSION).
 *
 *	adapter		what				where sent
 *	Claude ACP	_meta.claudeCode.options	session/new, load, resume
 *			{settingSources, model, allowedTools, maxTurns},
 *			_meta.systemPrompt
 *	(any other)	the same _meta less settingSources (only when
 *			--model/--allowed-tools/--max-turns/--system-prompt)
 *	Devin		clientInfo windsurf, clientCapabilities._meta,
 *			_cognition.ai/request_diagnostics answered {}
 *	Qoder		--max-turns=N, --allowed-tools=A,B spawn arguments;
 *			750 ms after stdin EOF; its two shutdown lines on
 *			stdout are not reported as bad JSON
 *	Cursor		a requested model "x" sent as the one advertised
 *			"x[...]" id (model.c)
 *	Claude ACP	session/new bounded by 60 s
 *			(ACPX_CLAUDE_ACP_SESSION_CREATE_TIMEOUT_MS; acp-client.c)
 *	Claude ACP	updates after the answer (the session title) are
 *			waited for: exec-turn.c, queue-owner-turn.c
 *			(ACPX_CLAUDE_ACP_SESSION_CREATE_TIMEOUT_MS; acp-client.c)
 */
#ifndef ACPX_AGENT_COMPAT_H
#define ACPX_AGENT_COMPAT_H

#include <stddef.h>

#include <jansson.h>

/* What a session asks of the agent beyond ACP (sent as _meta; all may be unset). */
struct agent_session_opts {
	const char	*model;			/* --model, or NULL */
	const json_t	*allowed_tools;		/* array of strings, or NULL */
	int		 max_turns;		/* 0: not given */
	const char	*system_prompt;		/* or NULL */
	const char	*append_system_prompt;	/* or NULL */
};

/* Claude's ACP adapter: argv[0] named claude-agent-acp, or an argument containing it. */
int		 agent_compat_is_claude_acp(char *const *argv);
/*
 * Does the adapter send session/update notifications after its answer to
 * session/prompt? The Claude adapter sends the session title (a
 * session_info_update) some 10-50 ms after it. The reference waits for a
 * quiet spell after every answer of every agent (1 s for saved sessions),
 * which would cost every turn that second; acpx-native waits only for the
 * adapters known to talk after their answer (docs/compatibility.md).
 */
int		 agent_compat_answers_late(char *const *argv);
/* Devin: argv[0] devin with acp, --acp or --experimental-acp. */
int		 agent_compat_is_devin_acp(char *const *argv);
/* Cursor: argv[0] cursor-agent, or agent with acp. */
int		 agent_compat_is_cursor_acp(char *const *argv);
/* Qoder: argv[0] qodercli with --acp. */
int		 agent_compat_is_qoder_acp(char *const *argv);

/*
 * The _meta for session/new, session/load and session/resume (a new
 * reference), or NULL when there is none. For the Claude adapter it always
 * carries claudeCode.options.settingSources (["project","local"], with
 * "user" first when ACPX_CLAUDE_INCLUDE_USER_SETTINGS=1), so a user's own
 * Claude settings (e.g. a permission allow-list) cannot override acpx's
 * permission mode.
 */
json_t		*agent_compat_session_meta(char *const *argv,
		    const struct agent_session_opts *);

/* initialize's clientInfo {name, version} (a new reference). */
json_t		*agent_compat_client_info(char *const *argv);
/* Add the adapter's clientCapabilities._meta, if any, to caps. */
void		 agent_compat_client_caps(char *const *argv, json_t *caps);

/* Milliseconds an agent gets to exit after stdin EOF (Qoder 750, else 100). */
int		 agent_compat_stdin_grace_ms(char *const *argv);
/* Is this non-JSON stdout line one of the agent's known harmless ones? */
int		 agent_compat_benign_line(char *const *argv, const char *line,
		    size_t len);

/*
 * The argv to spawn for argv: a new NULL-terminated copy (caller frees
 * with cmdline_free) when the adapter needs extra arguments, else NULL.
 */
char		**agent_compat_argv(char *const *argv,
		    const struct agent_session_opts *);

#endif
