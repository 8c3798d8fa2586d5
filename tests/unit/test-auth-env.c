/* Unit tests for auth credentials and the agent environment (src/auth-env.c). */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "auth-env.h"
#include "xmalloc.h"
#include "tap.h"

static const char *
env_get(char **env, const char *name)
{
	size_t	n = strlen(name), i;

	for (i = 0; env[i] != NULL; i++) {
		if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
			return (env[i] + n + 1);
	}
	return (NULL);
}

int
main(void)
{
	char	*t, **env;
	json_t	*auth;

	xmalloc_init();
	unsetenv("API_KEY");
	unsetenv("ACPX_AUTH_API_KEY");

	TEST_START("env token");
	t = auth_env_token("  api-key ");
	ASSERT_STR_EQ(t, "API_KEY");
	free(t);
	t = auth_env_token("--my..token__x--");
	ASSERT_STR_EQ(t, "MY_TOKEN_X");
	free(t);
	t = auth_env_token("---");
	ASSERT_STR_EQ(t, "");
	free(t);
	TEST_DONE();

	TEST_START("credential source: env first, then config by id or token");
	auth = json_pack("{s:s, s:s, s:s}", "zeta", "z", "CHAT_GPT", "c", "blank", "  ");
	ASSERT_PTR_NULL(auth_env_source("api-key", auth));
	setenv("ACPX_AUTH_API_KEY", "from-env", 1);
	ASSERT_STR_EQ(auth_env_source("api-key", auth), "env");
	ASSERT_STR_EQ(auth_env_source("zeta", auth), "config");
	ASSERT_STR_EQ(auth_env_source("chat-gpt", auth), "config");
	ASSERT_PTR_NULL(auth_env_source("blank", auth));
	TEST_DONE();

	TEST_START("agent environment: promoted env and config credentials, existing kept");
	setenv("ACPX_AUTH_my_token", "abc", 1);
	setenv("ZETA", "already", 1);
	env = auth_env_build(auth, NULL, NULL);
	ASSERT_STR_EQ(env_get(env, "API_KEY"), "from-env");
	ASSERT_STR_EQ(env_get(env, "MY_TOKEN"), "abc");
	ASSERT_STR_EQ(env_get(env, "zeta"), "z");
	ASSERT_STR_EQ(env_get(env, "ACPX_AUTH_ZETA"), "z");
	ASSERT_STR_EQ(env_get(env, "ZETA"), "already");
	ASSERT_STR_EQ(env_get(env, "CHAT_GPT"), "c");
	ASSERT_PTR_NULL(env_get(env, "blank"));
	auth_env_free(env);
	TEST_DONE();

	TEST_START("agent environment: the launch's additions and removals, ours untouched");
	{
		char *add[] = { "ZETA=from-launch", "LAUNCH_ONLY=1", NULL };
		char *unset[] = { "ACPX_AUTH_my_token", NULL };

		env = auth_env_build(auth, unset, add);
		ASSERT_STR_EQ(env_get(env, "ZETA"), "from-launch");
		ASSERT_STR_EQ(env_get(env, "LAUNCH_ONLY"), "1");
		ASSERT_PTR_NULL(env_get(env, "ACPX_AUTH_my_token"));
		ASSERT_STR_EQ(env_get(env, "API_KEY"), "from-env");
		auth_env_free(env);
		ASSERT_STR_EQ(getenv("ZETA"), "already");
		ASSERT_PTR_NULL(getenv("LAUNCH_ONLY"));
		ASSERT_STR_EQ(getenv("ACPX_AUTH_my_token"), "abc");
	}
	json_decref(auth);
	TEST_DONE();

	return (tap_end());
}
