/* Unit tests for session model state and the --model check (src/model.c). */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "model.h"
#include "xmalloc.h"
#include "tap.h"

static int
parse(const char *text, struct model_state *ms)
{
	json_t	*j = json_loads(text, 0, NULL);
	int	 r = model_state_parse(j, ms);

	json_decref(j);
	return (r);
}

int
main(void)
{
	struct model_state	 ms;
	char			*err, *warn;
	char			*claude[] = { "npx", "-y",
	    "@agentclientprotocol/claude-agent-acp@^0.76.0", NULL };
	char			*codex[] = { "npx", "-y",
	    "@agentclientprotocol/codex-acp@^1.1.5", NULL };

	xmalloc_init();

	TEST_START("config option with category model wins over id model");
	ASSERT_INT_EQ(parse("{\"configOptions\":["
	    "{\"id\":\"model\",\"type\":\"select\",\"currentValue\":\"a\",\"options\":[{\"value\":\"a\",\"name\":\"A\"}]},"
	    "{\"id\":\"m\",\"type\":\"select\",\"category\":\"model\",\"currentValue\":\"b\",\"options\":[{\"value\":\"b\",\"name\":\"B\"},{\"value\":\"c\",\"name\":\"C\"}]}]}",
	    &ms), 0);
	ASSERT_STR_EQ(ms.config_id, "m");
	ASSERT_STR_EQ(ms.current, "b");
	ASSERT_INT_EQ(ms.navailable, 2);
	model_state_clear(&ms);
	TEST_DONE();

	TEST_START("grouped options and legacy models");
	ASSERT_INT_EQ(parse("{\"configOptions\":[{\"id\":\"model\",\"type\":\"select\","
	    "\"category\":\"model\",\"currentValue\":\"x\",\"options\":[{\"group\":\"g\","
	    "\"name\":\"G\",\"options\":[{\"value\":\"x\",\"name\":\"X\"},{\"value\":\"y\",\"name\":\"Y\"}]}]}]}",
	    &ms), 0);
	ASSERT_INT_EQ(ms.navailable, 2);
	ASSERT_STR_EQ(ms.available[1], "y");
	model_state_clear(&ms);
	ASSERT_INT_EQ(parse("{\"models\":{\"currentModelId\":\"m1\",\"availableModels\":"
	    "[{\"modelId\":\"m1\",\"name\":\"One\"},{\"modelId\":\"m2\",\"name\":\"Two\"}]}}", &ms), 0);
	ASSERT_PTR_NULL(ms.config_id);
	ASSERT_STR_EQ(ms.current, "m1");
	model_state_clear(&ms);
	ASSERT_INT_EQ(parse("{\"sessionId\":\"s\"}", &ms), -1);
	model_state_clear(&ms);
	TEST_DONE();

	TEST_START("check: advertised, unadvertised, missing capability");
	parse("{\"models\":{\"currentModelId\":\"m1\",\"availableModels\":"
	    "[{\"modelId\":\"m1\",\"name\":\"One\"},{\"modelId\":\"m2\",\"name\":\"Two\"}]}}", &ms);
	ASSERT_PTR_NULL(model_check("m2", &ms, 0, "apply", &warn));
	err = model_check("m9", &ms, 0, "apply", &warn);
	ASSERT_STR_EQ(err, "Cannot apply --model \"m9\": the ACP agent did not "
	    "advertise that model. Available models: m1, m2.");
	free(err);
	ASSERT_PTR_NULL(model_check("m9", &ms, 1, "apply", &warn));
	ASSERT_TRUE(warn != NULL && strstr(warn, "forwarding it to Claude Code") != NULL);
	free(warn);
	model_state_clear(&ms);
	err = model_check("m9", NULL, 0, "replay", &warn);
	ASSERT_TRUE(err != NULL && strncmp(err, "Cannot replay saved model \"m9\"", 30) == 0);
	free(err);
	ASSERT_PTR_NULL(model_check("m9", NULL, 1, "apply", &warn));
	ASSERT_PTR_NULL(warn);
	TEST_DONE();

	TEST_START("claude adapter detection");
	ASSERT_INT_EQ(model_is_claude_command(claude), 1);
	ASSERT_INT_EQ(model_is_claude_command(codex), 0);
	TEST_DONE();

	return (tap_end());
}
