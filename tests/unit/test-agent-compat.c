/* Unit tests for the per-adapter adaptations (src/agent-compat.c). */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agent-compat.h"
#include "cli.h"
#include "cmdline.h"
#include "model.h"
#include "xmalloc.h"
#include "tap.h"

/* The session _meta for argv with no session options, as compact JSON (caller frees). */
static char *
meta(char **argv)
{
	struct agent_session_opts so;
	json_t			*m;
	char			*s;

	memset(&so, 0, sizeof so);
	if ((m = agent_compat_session_meta(argv, &so)) == NULL)
		return (xstrdup("null"));
	s = json_dumps(m, JSON_COMPACT);
	json_decref(m);
	return (s);
}

int
main(void)
{
	char	*npx[] = { "npx", "-y",
	    "@agentclientprotocol/claude-agent-acp@^0.76.0", NULL };
	char	*bin[] = { "/opt/x/CLAUDE-AGENT-ACP.cmd", NULL };
	char	*wrapper[] = { "/opt/claude-agent-acp/bin/run", NULL };
	char	*prefix[] = { "claude-agent-acp-wrapper", NULL };
	char	*zed[] = { "npx", "@zed-industries/claude-code-acp", NULL };
	char	*devin[] = { "devin", "acp", NULL };
	char	*devin_no[] = { "devin", "chat", NULL };
	char	*cursor[] = { "cursor-agent", NULL };
	char	*agent_acp[] = { "/usr/bin/agent", "acp", NULL };
	char	*qoder[] = { "qodercli", "--acp", NULL };
	char	*qoder_no[] = { "qodercli", NULL };
	char	*s;

	xmalloc_init();
	unsetenv("ACPX_CLAUDE_INCLUDE_USER_SETTINGS");

	TEST_START("Claude adapter recognised as the reference does");
	ASSERT_INT_EQ(agent_compat_is_claude_acp(npx), 1);
	ASSERT_INT_EQ(agent_compat_is_claude_acp(bin), 1);
	ASSERT_INT_EQ(agent_compat_is_claude_acp(wrapper), 0);
	ASSERT_INT_EQ(agent_compat_is_claude_acp(prefix), 0);
	ASSERT_INT_EQ(agent_compat_is_claude_acp(zed), 0);
	ASSERT_INT_EQ(agent_compat_is_claude_acp(NULL), 0);
	TEST_DONE();

	TEST_START("Devin, Cursor, Qoder recognised as the reference does");
	ASSERT_INT_EQ(agent_compat_is_devin_acp(devin), 1);
	ASSERT_INT_EQ(agent_compat_is_devin_acp(devin_no), 0);
	ASSERT_INT_EQ(agent_compat_is_cursor_acp(cursor), 1);
	ASSERT_INT_EQ(agent_compat_is_cursor_acp(agent_acp), 1);
	ASSERT_INT_EQ(agent_compat_is_cursor_acp(qoder), 0);
	ASSERT_INT_EQ(agent_compat_is_qoder_acp(qoder), 1);
	ASSERT_INT_EQ(agent_compat_is_qoder_acp(qoder_no), 0);
	ASSERT_INT_EQ(model_agent_kind(npx), MODEL_AGENT_CLAUDE);
	ASSERT_INT_EQ(model_agent_kind(cursor), MODEL_AGENT_CURSOR);
	ASSERT_INT_EQ(model_agent_kind(devin), 0);
	TEST_DONE();

	TEST_START("Claude session _meta: settingSources, user only on request");
	s = meta(npx);
	ASSERT_STR_EQ(s, "{\"claudeCode\":{\"options\":{\"settingSources\":[\"project\",\"local\"]}}}");
	free(s);
	setenv("ACPX_CLAUDE_INCLUDE_USER_SETTINGS", " 1\n", 1);
	s = meta(npx);
	ASSERT_STR_EQ(s, "{\"claudeCode\":{\"options\":{\"settingSources\":[\"user\",\"project\",\"local\"]}}}");
	free(s);
	setenv("ACPX_CLAUDE_INCLUDE_USER_SETTINGS", "yes", 1);
	s = meta(npx);
	ASSERT_STR_EQ(s, "{\"claudeCode\":{\"options\":{\"settingSources\":[\"project\",\"local\"]}}}");
	free(s);
	unsetenv("ACPX_CLAUDE_INCLUDE_USER_SETTINGS");
	s = meta(devin);
	ASSERT_STR_EQ(s, "null");
	free(s);
	TEST_DONE();

	TEST_START("Qoder: stdin grace and benign shutdown lines");
	ASSERT_INT_EQ(agent_compat_stdin_grace_ms(qoder_no), 750);
	ASSERT_INT_EQ(agent_compat_stdin_grace_ms(npx), 100);
	ASSERT_INT_EQ(agent_compat_benign_line(qoder, "  Cleanup completed. Exiting...\r", 32), 1);
	ASSERT_INT_EQ(agent_compat_benign_line(qoder,
	    "Received interrupt signal. Cleaning up resources...", 51), 1);
	ASSERT_INT_EQ(agent_compat_benign_line(qoder, "Cleanup completed.", 18), 0);
	ASSERT_INT_EQ(agent_compat_benign_line(npx, "Cleanup completed. Exiting...", 29), 0);
	TEST_DONE();

	return (tap_end());
}
