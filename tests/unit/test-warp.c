/*
 * Unit tests for warp routing: agent id parsing, the `warp` config key and
 * its validation messages, fallback chains (the seed's two examples), the
 * harness launch environment of each harness row, host defaults, the
 * cooldown state, the launch step's failures and cooldown skip, and probe
 * classification.
 */
#include <config.h>

#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "acpx-error.h"
#include "agent-launch.h"
#include "cli.h"
#include "cmdline.h"
#include "config-file.h"
#include "agent-registry.h"
#include "secrets.h"
#include "warp-probe.h"
#include "warp.h"
#include "xmalloc.h"
#include "tap.h"

static char	home[] = "/tmp/acpx-test-warp.XXXXXX";

static const char *seed_config =
    "{\"warp\": {"
    " \"providers\": {"
    "  \"infini\": {\"models\": {\"kimi\": \"kimi-k2.5\", \"glm\": \"glm-5\","
    "   \"minimax\": \"minimax-m2.5\"}},"
    "  \"ckimi\": {\"models\": {\"kimi-for-coding\": \"kimi-for-coding\"},"
    "   \"families\": {\"kimi-for-coding\": \"kimi\"}}"
    " },"
    " \"adjacent\": {\"kimi\": [\"glm\", \"minimax\"], \"glm\": [\"kimi\","
    "  \"minimax\"]},"
    " \"maxHops\": 3, \"cooldownSeconds\": 900"
    "}}";

static void
write_file(const char *path, const char *text, mode_t mode)
{
	int	fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd == -1 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		perror(path);
	close(fd);
	chmod(path, mode);
}

/* A config from a global config.json text (and optional project text). */
static struct config *
load_config(const char *global, const char *project, char **cause)
{
	char	*path, *cwd;

	xasprintf(&path, "%s/.acpx", home);
	mkdir(path, 0700);
	free(path);
	xasprintf(&path, "%s/.acpx/config.json", home);
	write_file(path, global, 0600);
	free(path);
	xasprintf(&cwd, "%s/proj", home);
	mkdir(cwd, 0700);
	xasprintf(&path, "%s/.acpxrc.json", cwd);
	if (project != NULL)
		write_file(path, project, 0600);
	else
		unlink(path);
	free(path);
	*cause = NULL;
	{
		struct config *c = config_load(home, cwd, NULL, cause);

		free(cwd);
		return (c);
	}
}

static struct warp_config *
seed(struct config **cp)
{
	struct warp_config	*wc;
	char			*cause = NULL;

	*cp = load_config(seed_config, NULL, &cause);
	if (*cp == NULL) {
		printf("# config: %s\n", cause);
		free(cause);
		return (NULL);
	}
	wc = warp_config_load(*cp, &cause);
	if (wc == NULL) {
		printf("# warp config: %s\n", cause);
		free(cause);
	}
	return (wc);
}

static void
test_ids(void)
{
	static const struct {
		const char	*name;
		int		 looks;
		const char	*harness, *provider, *family;
	} t[] = {
		{ "opencode-warp-infini-kimi", 1, "opencode", "infini", "kimi" },
		{ "opencode-warp-ckimi-kimi-for-coding", 1, "opencode", "ckimi",
		    "kimi-for-coding" },
		{ "claude-warp-ckimi-kimi", 1, "claude", "ckimi", "kimi" },
		{ "gemini-warp-infini-minimax-m2.5", 1, "gemini", "infini",
		    "minimax-m2.5" },
		{ "codex-warp-infini-kimi", 1, "codex", "infini", "kimi" },
		{ "opencode-warp-infini", 1, "opencode", "infini", "" },
		{ "opencode", 0, NULL, NULL, NULL },
		{ "warp-infini-kimi", 0, NULL, NULL, NULL },
		{ "-warp-infini-kimi", 0, NULL, NULL, NULL },
		{ "my-opencode-warp-infini-kimi", 0, NULL, NULL, NULL },
		{ "opencode-warp-", 0, NULL, NULL, NULL },
		{ "opencode-warp-infini-kimi --flag", 0, NULL, NULL, NULL },
		{ "/usr/bin/opencode-warp-x-y", 0, NULL, NULL, NULL },
		{ "Opencode-warp-infini-kimi", 0, NULL, NULL, NULL },
	};
	struct warp_id	id;
	char		*s;
	size_t		i;

	TEST_START("warp agent id shapes and parts");
	for (i = 0; i < nitems(t); i++) {
		if (warp_id_looks(t[i].name) != t[i].looks)
			TAP_FAIL("warp_id_looks(%s) != %d", t[i].name,
			    t[i].looks);
		if (!t[i].looks) {
			ASSERT_INT_EQ(warp_id_parse(t[i].name, &id), -1);
			continue;
		}
		ASSERT_INT_EQ(warp_id_parse(t[i].name, &id), 0);
		ASSERT_STR_EQ(id.harness, t[i].harness);
		ASSERT_STR_EQ(id.provider, t[i].provider);
		ASSERT_STR_EQ(id.family, t[i].family);
		warp_id_clear(&id);
	}
	TEST_DONE();

	TEST_START("variable names");
	s = warp_var_name("ckimi", "API_KEY");
	ASSERT_STR_EQ(s, "WARP_CKIMI_API_KEY");
	free(s);
	s = warp_var_name("my-prov_2", "BASE_URL");
	ASSERT_STR_EQ(s, "WARP_MY_PROV_2_BASE_URL");
	free(s);
	TEST_DONE();
}

static void
expect_chain(const struct warp_config *wc, const char *id, const char *want)
{
	struct warp_target	 t;
	struct acpx_error	*err = NULL;
	char			**chain, *got = xstrdup(""), *tmp;
	size_t			 i;

	if (warp_target_resolve(wc, id, &t, &err) == -1) {
		TAP_FAIL("resolve %s: %s", id, err->message);
		acpx_error_free(err);
		free(got);
		return;
	}
	chain = warp_chain(wc, &t);
	for (i = 0; chain[i] != NULL; i++) {
		xasprintf(&tmp, "%s%s%s", got, i > 0 ? " " : "", chain[i]);
		free(got);
		got = tmp;
	}
	ASSERT_STR_EQ(got, want);
	free(got);
	cmdline_free(chain);
	warp_target_clear(&t);
}

static void
test_chains(void)
{
	struct config		*c;
	struct warp_config	*wc;
	char			*cause = NULL, **ids;

	TEST_START("seed chain: opencode-warp-infini-kimi");
	wc = seed(&c);
	ASSERT_PTR_NOT_NULL(wc);
	if (wc == NULL)
		return;
	expect_chain(wc, "opencode-warp-infini-kimi",
	    "opencode-warp-ckimi-kimi-for-coding opencode-warp-infini-glm "
	    "opencode-warp-infini-minimax");
	TEST_DONE();

	TEST_START("seed chain: opencode-warp-ckimi-kimi-for-coding");
	expect_chain(wc, "opencode-warp-ckimi-kimi-for-coding",
	    "opencode-warp-infini-kimi opencode-warp-infini-glm "
	    "opencode-warp-infini-minimax");
	TEST_DONE();

	TEST_START("chains keep the harness; no adjacency: same family only");
	expect_chain(wc, "claude-warp-infini-glm",
	    "claude-warp-infini-kimi claude-warp-infini-minimax "
	    "claude-warp-ckimi-kimi-for-coding");
	expect_chain(wc, "gemini-warp-infini-minimax", "");
	TEST_DONE();

	TEST_START("every agent id the config defines");
	ids = warp_config_agents(wc);
	ASSERT_INT_EQ(cmdline_count(ids), 12);
	ASSERT_STR_EQ(ids[0], "opencode-warp-infini-kimi");
	ASSERT_STR_EQ(ids[3], "opencode-warp-ckimi-kimi-for-coding");
	ASSERT_STR_EQ(ids[4], "claude-warp-infini-kimi");
	cmdline_free(ids);
	TEST_DONE();
	warp_config_free(wc);
	config_free(c);

	TEST_START("an explicit fallback list is used as written");
	c = load_config("{\"warp\": {\"providers\": {\"a\": {\"models\": "
	    "{\"x\": \"x-1\", \"y\": \"y-1\"}}, \"b\": {\"models\": {\"x\": "
	    "\"x-2\"}}}, \"fallback\": {\"opencode-warp-a-x\": "
	    "[\"opencode-warp-a-y\", \"claude-warp-b-x\"]}}}", NULL, &cause);
	wc = c != NULL ? warp_config_load(c, &cause) : NULL;
	ASSERT_PTR_NOT_NULL(wc);
	if (wc != NULL) {
		expect_chain(wc, "opencode-warp-a-x",
		    "opencode-warp-a-y claude-warp-b-x");
		expect_chain(wc, "opencode-warp-a-y", "");
		expect_chain(wc, "opencode-warp-b-x", "opencode-warp-a-x");
	}
	warp_config_free(wc);
	config_free(c);
	free(cause);
	TEST_DONE();
}

static void
expect_config_error(const char *global, const char *project, const char *want)
{
	struct config		*c;
	struct warp_config	*wc;
	char			*cause = NULL;

	c = load_config(global, project, &cause);
	if (c == NULL) {
		TAP_FAIL("config_load: %s", cause);
		free(cause);
		return;
	}
	wc = warp_config_load(c, &cause);
	ASSERT_PTR_NULL(wc);
	if (cause == NULL || strstr(cause, want) == NULL)
		TAP_FAIL("message \"%s\" lacks \"%s\"", cause ? cause : "(none)",
		    want);
	free(cause);
	warp_config_free(wc);
	config_free(c);
}

static void
test_config_errors(void)
{
	TEST_START("config validation names the key and the file");
	expect_config_error("{\"warp\": 3}", NULL,
	    "Invalid config warp in ");
	expect_config_error("{\"warp\": {\"providers\": {\"infini\": {}}}}",
	    NULL, "warp.providers.infini.models in ");
	expect_config_error("{\"warp\": {\"providers\": {\"in-fini\": "
	    "{\"models\": {\"k\": \"m\"}}}}}", NULL, "warp.providers.in-fini in");
	expect_config_error("{\"warp\": {\"providers\": {\"p\": {\"models\": "
	    "{\"k\": 5}}}}}", NULL, "warp.providers.p.models.k in");
	expect_config_error("{\"warp\": {\"providers\": {\"p\": {\"models\": "
	    "{\"k\": \"m\"}, \"families\": {\"z\": \"k\"}}}}}", NULL,
	    "warp.providers.p.families in");
	expect_config_error("{\"warp\": {\"maxHops\": -1}}", NULL,
	    "warp.maxHops in");
	expect_config_error("{\"warp\": {\"cooldownSeconds\": \"x\"}}", NULL,
	    "warp.cooldownSeconds in");
	expect_config_error("{\"warp\": {\"adjacent\": {\"kimi\": \"glm\"}}}",
	    NULL, "warp.adjacent.kimi in");
	expect_config_error("{\"warp\": {\"bogus\": 1}}", NULL,
	    "unknown key \"bogus\"");
	expect_config_error("{\"warp\": {\"hostDefaults\": {\"mac-5\": "
	    "{\"cursor\": {\"model\": \"m\"}}}}}", NULL,
	    "warp.hostDefaults.mac-5.cursor in");
	expect_config_error("{\"warp\": {\"hostDefaults\": {\"mac-5\": "
	    "{\"opencode\": {\"model\": \"m\", \"baseUrl\": \"ftp://x\"}}}}}",
	    NULL, "\"baseUrl\" must be an http(s) URL");
	expect_config_error("{}", "{\"warp\": {\"envFile\": \"/tmp/x.env\"}}",
	    ".acpxrc.json: the secrets file can only be set in the global");
	TEST_DONE();

	TEST_START("fallback lists: no cycles, only known agents");
	expect_config_error("{\"warp\": {\"providers\": {\"a\": {\"models\": "
	    "{\"x\": \"x-1\"}}}, \"fallback\": {\"opencode-warp-a-x\": "
	    "[\"opencode-warp-a-x\"]}}}", NULL, "names the agent itself");
	expect_config_error("{\"warp\": {\"providers\": {\"a\": {\"models\": "
	    "{\"x\": \"x-1\", \"y\": \"y\"}}}, \"fallback\": {\"opencode-warp-a-x\""
	    ": [\"opencode-warp-a-y\", \"opencode-warp-a-y\"]}}}", NULL,
	    "appears twice");
	expect_config_error("{\"warp\": {\"providers\": {\"a\": {\"models\": "
	    "{\"x\": \"x-1\"}}}, \"fallback\": {\"opencode-warp-a-x\": "
	    "[\"opencode-warp-zz-x\"]}}}", NULL,
	    "warp.fallback.opencode-warp-a-x in");
	expect_config_error("{\"warp\": {\"providers\": {\"a\": {\"models\": "
	    "{\"x\": \"x-1\"}}}, \"fallback\": {\"opencode-warp-a-q\": []}}}",
	    NULL, "has no model family 'q'");
	TEST_DONE();
}

static void
test_resolve(void)
{
	struct config		*c;
	struct warp_config	*wc;
	struct warp_target	 t;
	struct acpx_error	*err;
	static const struct {
		const char	*id;
		const char	*code;
	} bad[] = {
		{ "codex-warp-infini-kimi", "WARP_HARNESS_UNKNOWN" },
		{ "opencode-warp-nope-kimi", "WARP_PROVIDER_UNKNOWN" },
		{ "opencode-warp-infini-qwen", "WARP_MODEL_UNKNOWN" },
		{ "opencode-warp-infini", "WARP_MODEL_UNKNOWN" },
	};
	size_t			 i;

	TEST_START("unknown harness, provider or model: detail codes");
	if ((wc = seed(&c)) == NULL)
		return;
	for (i = 0; i < nitems(bad); i++) {
		err = NULL;
		ASSERT_INT_EQ(warp_target_resolve(wc, bad[i].id, &t, &err), -1);
		if (err == NULL)
			continue;
		ASSERT_STR_EQ(err->detail_code, bad[i].code);
		ASSERT_INT_EQ(acpx_error_exit(err), 1);
		acpx_error_free(err);
	}
	ASSERT_INT_EQ(warp_target_resolve(wc, "gemini-warp-ckimi-kimi-for-coding",
	    &t, &err), 0);
	ASSERT_STR_EQ(t.model->model, "kimi-for-coding");
	ASSERT_STR_EQ(t.model->canon, "kimi");
	warp_target_clear(&t);
	TEST_DONE();
	warp_config_free(wc);
	config_free(c);
}

static int
env_has(const struct warp_env *e, const char *kv)
{
	size_t	i;

	for (i = 0; i < e->nset; i++) {
		if (strcmp(e->set[i], kv) == 0)
			return (1);
	}
	return (0);
}

static const char *
env_get(const struct warp_env *e, const char *name)
{
	size_t	i, n = strlen(name);

	for (i = 0; i < e->nset; i++) {
		if (strncmp(e->set[i], name, n) == 0 && e->set[i][n] == '=')
			return (e->set[i] + n + 1);
	}
	return (NULL);
}

static void
test_env(void)
{
	struct config		*c;
	struct warp_config	*wc;
	struct warp_target	 t;
	struct warp_env		 e;
	struct secrets		*s;
	struct acpx_error	*err = NULL;
	char			*cause = NULL;
	const char		*file =
	    "WARP_INFINI_API_KEY=sk-infini-1\n"
	    "WARP_INFINI_BASE_URL=http://127.0.0.1:9/infini/v1/\n"
	    "WARP_CKIMI_API_KEY=sk-ckimi-2\n"
	    "WARP_CKIMI_BASE_URL=https://ckimi.example/coding/v1\n"
	    "WARP_CKIMI_CLAUDE_BASE_URL=https://ckimi.example/anthropic\n";

	if ((wc = seed(&c)) == NULL)
		return;
	s = secrets_parse(file, strlen(file), "/f/.env", &cause);

	TEST_START("opencode: inline provider, key only in its variable");
	warp_target_resolve(wc, "opencode-warp-infini-kimi", &t, &err);
	ASSERT_INT_EQ(warp_env_build(&t, s, &e, &err), 0);
	ASSERT_STR_EQ(env_get(&e, "OPENCODE_CONFIG_CONTENT"),
	    "{\"$schema\":\"https://opencode.ai/config.json\",\"provider\":"
	    "{\"warp-infini\":{\"npm\":\"@ai-sdk/openai-compatible\",\"name\":"
	    "\"Warp infini\",\"options\":{\"baseURL\":\"http://127.0.0.1:9/"
	    "infini/v1\"},\"models\":{\"kimi-k2.5\":{\"name\":\"kimi-k2.5\"}},"
	    "\"env\":[\"WARP_INFINI_API_KEY\"]}},\"model\":\"warp-infini/"
	    "kimi-k2.5\",\"small_model\":\"warp-infini/kimi-k2.5\"}");
	ASSERT_TRUE(env_has(&e, "WARP_INFINI_API_KEY=sk-infini-1"));
	ASSERT_INT_EQ(e.nset, 2);
	ASSERT_INT_EQ(e.nunset, 0);
	warp_env_clear(&e);
	warp_target_clear(&t);
	TEST_DONE();

	TEST_START("claude: base URL without /v1, key, pinned models");
	warp_target_resolve(wc, "claude-warp-infini-glm", &t, &err);
	ASSERT_INT_EQ(warp_env_build(&t, s, &e, &err), 0);
	ASSERT_TRUE(env_has(&e, "ANTHROPIC_BASE_URL=http://127.0.0.1:9/infini"));
	ASSERT_TRUE(env_has(&e, "ANTHROPIC_API_KEY=sk-infini-1"));
	ASSERT_TRUE(env_has(&e, "ANTHROPIC_MODEL=glm-5"));
	ASSERT_TRUE(env_has(&e, "ANTHROPIC_SMALL_FAST_MODEL=glm-5"));
	ASSERT_TRUE(env_has(&e, "ANTHROPIC_DEFAULT_HAIKU_MODEL=glm-5"));
	ASSERT_INT_EQ(e.nunset, 1);
	ASSERT_STR_EQ(e.unset[0], "ANTHROPIC_AUTH_TOKEN");
	warp_env_clear(&e);
	warp_target_clear(&t);
	TEST_DONE();

	TEST_START("claude: WARP_<P>_CLAUDE_BASE_URL wins for that harness");
	warp_target_resolve(wc, "claude-warp-ckimi-kimi-for-coding", &t, &err);
	ASSERT_INT_EQ(warp_env_build(&t, s, &e, &err), 0);
	ASSERT_TRUE(env_has(&e,
	    "ANTHROPIC_BASE_URL=https://ckimi.example/anthropic"));
	ASSERT_TRUE(env_has(&e, "ANTHROPIC_API_KEY=sk-ckimi-2"));
	warp_env_clear(&e);
	warp_target_clear(&t);
	TEST_DONE();

	TEST_START("gemini: key, base URL, model by environment");
	warp_target_resolve(wc, "gemini-warp-ckimi-kimi-for-coding", &t, &err);
	ASSERT_INT_EQ(warp_env_build(&t, s, &e, &err), 0);
	ASSERT_TRUE(env_has(&e, "GEMINI_API_KEY=sk-ckimi-2"));
	ASSERT_TRUE(env_has(&e,
	    "GOOGLE_GEMINI_BASE_URL=https://ckimi.example/coding/v1"));
	ASSERT_TRUE(env_has(&e, "GEMINI_MODEL=kimi-for-coding"));
	ASSERT_INT_EQ(e.nset, 3);
	ASSERT_INT_EQ(e.nunset, 2);
	warp_env_clear(&e);
	warp_target_clear(&t);
	TEST_DONE();
	secrets_free(s);

	TEST_START("missing key, key without URL, non-http URL: no values shown");
	{
		static const struct {
			const char	*file;
			const char	*code;
			const char	*text;
		} bad[] = {
			{ "WARP_INFINI_BASE_URL=http://x/v1\n", "WARP_ENV_MISSING",
			    "WARP_INFINI_API_KEY is not set in /f/.env (needed "
			    "by opencode-warp-infini-kimi)" },
			{ "WARP_INFINI_API_KEY=SENTINEL-KEY-777\n",
			    "WARP_ENV_MISSING", "WARP_INFINI_BASE_URL is not set" },
			{ "WARP_INFINI_API_KEY=SENTINEL-KEY-777\n"
			    "WARP_INFINI_BASE_URL=ftp://x/v1\n", "WARP_ENV_INVALID",
			    "WARP_INFINI_BASE_URL is not an http(s) URL" },
			{ "WARP_INFINI_API_KEY=SENTINEL-KEY-777\n"
			    "WARP_INFINI_BASE_URL=http:///v1\n", "WARP_ENV_INVALID",
			    "not an http(s) URL" },
		};
		size_t	i;

		warp_target_resolve(wc, "opencode-warp-infini-kimi", &t, &err);
		for (i = 0; i < nitems(bad); i++) {
			s = secrets_parse(bad[i].file, strlen(bad[i].file),
			    "/f/.env", &cause);
			err = NULL;
			ASSERT_INT_EQ(warp_env_build(&t, s, &e, &err), -1);
			if (err != NULL) {
				ASSERT_STR_EQ(err->detail_code, bad[i].code);
				if (strstr(err->message, bad[i].text) == NULL)
					TAP_FAIL("\"%s\" lacks \"%s\"",
					    err->message, bad[i].text);
				ASSERT_TRUE(strstr(err->message,
				    "SENTINEL-KEY-777") == NULL);
				acpx_error_free(err);
			}
			secrets_free(s);
		}
		warp_target_clear(&t);
	}
	TEST_DONE();
	warp_config_free(wc);
	config_free(c);
}

static void
test_host_defaults(void)
{
	struct config		*c;
	struct warp_config	*wc;
	struct warp_env		 e;
	char			*cause = NULL;

	TEST_START("hostDefaults: the seed's free cloud model and shared vLLM");
	c = load_config("{\"warp\": {\"hostDefaults\": {"
	    "\"mac-5\": {\"opencode\": {\"model\": \"opencode/minimax-m2.5-free\"}},"
	    "\"mac-6\": {\"opencode\": {\"model\": \"vllm/Qwen3.5-27B\", "
	    "\"baseUrl\": \"http://100.64.0.5:8000/v1\"}, \"claude\": {\"model\": "
	    "\"qwen\", \"baseUrl\": \"http://100.64.0.5:8001\"}}}}}", NULL,
	    &cause);
	wc = c != NULL ? warp_config_load(c, &cause) : NULL;
	ASSERT_PTR_NOT_NULL(wc);
	if (wc == NULL) {
		printf("# %s\n", cause);
		free(cause);
		return;
	}
	warp_env_host_defaults(wc, "opencode", "mac-5.local", &e);
	ASSERT_STR_EQ(env_get(&e, "OPENCODE_CONFIG_CONTENT"),
	    "{\"$schema\":\"https://opencode.ai/config.json\",\"model\":"
	    "\"opencode/minimax-m2.5-free\",\"small_model\":"
	    "\"opencode/minimax-m2.5-free\"}");
	warp_env_clear(&e);
	warp_env_host_defaults(wc, "opencode", "mac-6", &e);
	ASSERT_STR_EQ(env_get(&e, "OPENCODE_CONFIG_CONTENT"),
	    "{\"$schema\":\"https://opencode.ai/config.json\",\"model\":"
	    "\"vllm/Qwen3.5-27B\",\"provider\":{\"vllm\":{\"npm\":"
	    "\"@ai-sdk/openai-compatible\",\"name\":\"vllm\",\"options\":"
	    "{\"baseURL\":\"http://100.64.0.5:8000/v1\"},\"models\":"
	    "{\"Qwen3.5-27B\":{\"name\":\"Qwen3.5-27B\"}}}},\"small_model\":"
	    "\"vllm/Qwen3.5-27B\"}");
	warp_env_clear(&e);
	warp_env_host_defaults(wc, "claude", "mac-6", &e);
	ASSERT_TRUE(env_has(&e, "ANTHROPIC_BASE_URL=http://100.64.0.5:8001"));
	ASSERT_TRUE(env_has(&e, "ANTHROPIC_MODEL=qwen"));
	warp_env_clear(&e);
	warp_env_host_defaults(wc, "opencode", "mac-7", &e);
	ASSERT_INT_EQ(e.nset, 0);
	warp_env_clear(&e);
	warp_env_host_defaults(wc, "gemini", "mac-6", &e);
	ASSERT_INT_EQ(e.nset, 0);
	warp_env_clear(&e);
	TEST_DONE();
	warp_config_free(wc);
	config_free(c);
}

static void
test_state(void)
{
	struct warp_state		*st;
	const struct warp_cooldown	*cd;
	char				*warning = NULL, *cause = NULL, *path;
	time_t				 now = 1700000000;
	struct stat			 sb;

	TEST_START("cooldown state: model and provider-wide entries");
	st = warp_state_load(home, &warning);
	ASSERT_PTR_NULL(warning);
	ASSERT_INT_EQ(st->n, 0);
	warp_state_set(st, "infini", "kimi-k2.5", now + 60, "rate-limited",
	    "fallback", now);
	warp_state_set(st, "ckimi", NULL, now + 120, "quota-exhausted", "probe",
	    now);
	warp_state_set(st, "old", NULL, now - 1, "server-error", "probe",
	    now - 100);
	cd = warp_state_cooling(st, "infini", "kimi-k2.5", now);
	ASSERT_TRUE(cd != NULL && strcmp(cd->reason, "rate-limited") == 0);
	ASSERT_PTR_NULL(warp_state_cooling(st, "infini", "glm-5", now));
	ASSERT_PTR_NULL(warp_state_cooling(st, "infini", "kimi-k2.5", now + 60));
	ASSERT_PTR_NOT_NULL(warp_state_cooling(st, "ckimi", "anything", now));
	ASSERT_PTR_NULL(warp_state_cooling(st, "old", "x", now));
	TEST_DONE();

	TEST_START("cooldown state: atomic save (0600), reload, expiry dropped");
	ASSERT_INT_EQ(warp_state_save(st, home, now, &cause), 0);
	warp_state_free(st);
	path = warp_state_path(home);
	ASSERT_INT_EQ(stat(path, &sb), 0);
	ASSERT_INT_EQ(sb.st_mode & 0777, 0600);
	st = warp_state_load(home, &warning);
	ASSERT_INT_EQ(st->n, 2);
	cd = warp_state_cooling(st, "infini", "kimi-k2.5", now);
	ASSERT_TRUE(cd != NULL && cd->until == now + 60 && cd->since == now);
	ASSERT_TRUE(cd != NULL && strcmp(cd->source, "fallback") == 0);
	ASSERT_INT_EQ(warp_state_clear(st, "ckimi", NULL), 1);
	ASSERT_INT_EQ(warp_state_clear(st, "ckimi", NULL), 0);
	ASSERT_INT_EQ(st->n, 1);
	warp_state_free(st);
	TEST_DONE();

	TEST_START("cooldown state: a corrupt file is ignored with a warning");
	write_file(path, "{not json", 0600);
	st = warp_state_load(home, &warning);
	ASSERT_INT_EQ(st->n, 0);
	ASSERT_PTR_NOT_NULL(warning);
	free(warning);
	warp_state_free(st);
	unlink(path);
	free(path);
	TEST_DONE();
}

static void
set_invocation(struct invocation *inv, struct config *c, const char *name)
{
	memset(inv, 0, sizeof *inv);
	inv->config = c;
	agent_registry_resolve(c, name, NULL, &inv->agent);
}

/* The launch of inv's agent as exec prepares it (with the cooldown pick). */
static int
launch(struct invocation *inv, struct agent_launch *l, char **notice,
    struct acpx_error **err)
{
	int	rc;

	rc = agent_launch_prepare(inv->config, inv->agent.name,
	    inv->agent.argv, AGENT_LAUNCH_PICK, l, err);
	*notice = l->notice != NULL ? xstrdup(l->notice) : NULL;
	return (rc);
}

/* NAME's value in the launch's environment additions, or NULL. */
static const char *
launch_env(const struct agent_launch *l, const char *name)
{
	size_t	i, n = strlen(name);

	for (i = 0; l->env_add != NULL && l->env_add[i] != NULL; i++) {
		if (strncmp(l->env_add[i], name, n) == 0 &&
		    l->env_add[i][n] == '=')
			return (l->env_add[i] + n + 1);
	}
	return (NULL);
}

static void
test_launch(void)
{
	struct config		*c;
	struct invocation	 inv;
	struct acpx_error	*err = NULL;
	struct warp_state	*st;
	char			*cause = NULL, *notice = NULL, *envfile, *cfg;
	struct agent_launch	 l;
	struct warp_env		 we;
	const char		*v;
	time_t			 now = time(NULL);

	xasprintf(&envfile, "%s/secrets.env", home);
	xasprintf(&cfg, "{\"agents\": {\"opencode\": {\"command\": "
	    "\"/bin/fake-opencode acp\"}}, \"warp\": {\"envFile\": \"%s\", "
	    "\"providers\": {\"infini\": {\"models\": {\"kimi\": \"kimi-k2.5\", "
	    "\"glm\": \"glm-5\"}}}, \"adjacent\": {\"kimi\": [\"glm\"]}}}",
	    envfile);
	c = load_config(cfg, NULL, &cause);
	free(cfg);
	ASSERT_PTR_NOT_NULL(c);
	if (c == NULL)
		return;

	TEST_START("registry: a warp id runs the harness's (overridden) command");
	set_invocation(&inv, c, "opencode-warp-infini-kimi");
	ASSERT_STR_EQ(inv.agent.command, "opencode-warp-infini-kimi");
	ASSERT_TRUE(inv.agent.argv != NULL &&
	    strcmp(inv.agent.argv[0], "/bin/fake-opencode") == 0 &&
	    strcmp(inv.agent.argv[1], "acp") == 0 && inv.agent.argv[2] == NULL);
	agent_registry_spec_clear(&inv.agent);
	set_invocation(&inv, c, "Claude-Warp-Infini-Kimi");
	ASSERT_STR_EQ(inv.agent.command, "claude-warp-infini-kimi");
	ASSERT_STR_EQ(inv.agent.argv[0], "npx");
	agent_registry_spec_clear(&inv.agent);
	TEST_DONE();

	TEST_START("launch: missing secrets file fails fast (WARP_ENV_MISSING)");
	unlink(envfile);
	set_invocation(&inv, c, "opencode-warp-infini-kimi");
	ASSERT_INT_EQ(launch(&inv, &l, &notice, &err), -1);
	ASSERT_TRUE(err != NULL && strcmp(err->detail_code,
	    "WARP_ENV_MISSING") == 0);
	ASSERT_PTR_NULL(l.argv);
	acpx_error_free(err);
	TEST_DONE();

	TEST_START("launch: a world-readable file fails (WARP_ENV_INSECURE)");
	write_file(envfile, "WARP_INFINI_API_KEY=SENTINEL-LAUNCH-1\n"
	    "WARP_INFINI_BASE_URL=http://127.0.0.1:9/v1\n", 0644);
	err = NULL;
	ASSERT_INT_EQ(launch(&inv, &l, &notice, &err), -1);
	ASSERT_TRUE(err != NULL && strcmp(err->detail_code,
	    "WARP_ENV_INSECURE") == 0);
	ASSERT_TRUE(err != NULL && strstr(err->message, "chmod 600") != NULL);
	ASSERT_TRUE(err != NULL && strstr(err->message, "SENTINEL") == NULL);
	acpx_error_free(err);
	TEST_DONE();

	TEST_START("launch: the harness environment, in the launch only");
	chmod(envfile, 0600);
	err = NULL;
	unsetenv("WARP_INFINI_API_KEY");
	unsetenv("OPENCODE_CONFIG_CONTENT");
	ASSERT_INT_EQ(launch(&inv, &l, &notice, &err), 0);
	ASSERT_PTR_NULL(notice);
	v = launch_env(&l, "OPENCODE_CONFIG_CONTENT");
	ASSERT_TRUE(v != NULL && strstr(v, "\"model\":\"warp-infini/kimi-k2.5\"")
	    != NULL);
	ASSERT_STR_EQ(launch_env(&l, "WARP_INFINI_API_KEY"), "SENTINEL-LAUNCH-1");
	ASSERT_STR_EQ(l.agent, "opencode-warp-infini-kimi");
	ASSERT_TRUE(l.argv != NULL &&
	    strcmp(l.argv[0], "/bin/fake-opencode") == 0);
	/* Never exported into acpx's own environment. */
	ASSERT_PTR_NULL(getenv("WARP_INFINI_API_KEY"));
	ASSERT_PTR_NULL(getenv("OPENCODE_CONFIG_CONTENT"));
	agent_registry_spec_clear(&inv.agent);
	TEST_DONE();

	TEST_START("launch: its keys are redacted from agent output");
	{
		char *r = secrets_redact_values("agent said SENTINEL-LAUNCH-1 "
		    "twice SENTINEL-LAUNCH-1 at http://127.0.0.1:9/v1",
		    l.secrets);

		ASSERT_STR_EQ(r, "agent said [redacted] twice [redacted] at "
		    "http://127.0.0.1:9/v1");
		free(r);
	}
	agent_launch_clear(&l);
	ASSERT_PTR_NULL(l.secrets);
	TEST_DONE();

	TEST_START("launch: unknown provider fails before the secrets file");
	unlink(envfile);
	set_invocation(&inv, c, "opencode-warp-nope-kimi");
	err = NULL;
	ASSERT_INT_EQ(launch(&inv, &l, &notice, &err), -1);
	ASSERT_TRUE(err != NULL && strcmp(err->detail_code,
	    "WARP_PROVIDER_UNKNOWN") == 0);
	acpx_error_free(err);
	agent_registry_spec_clear(&inv.agent);
	set_invocation(&inv, c, "codex-warp-infini-kimi");
	ASSERT_STR_EQ(inv.agent.argv[0], "codex-warp-infini-kimi");
	err = NULL;
	ASSERT_INT_EQ(launch(&inv, &l, &notice, &err), -1);
	ASSERT_TRUE(err != NULL && strcmp(err->detail_code,
	    "WARP_HARNESS_UNKNOWN") == 0);
	acpx_error_free(err);
	agent_registry_spec_clear(&inv.agent);
	TEST_DONE();

	TEST_START("launch: a cooling primary starts the next of its chain");
	write_file(envfile, "WARP_INFINI_API_KEY=k\n"
	    "WARP_INFINI_BASE_URL=http://127.0.0.1:9/v1\n", 0600);
	st = warp_state_load(home, &cause);
	warp_state_set(st, "infini", "kimi-k2.5", now + 600, "rate-limited",
	    "fallback", now);
	warp_state_save(st, home, now, &cause);
	set_invocation(&inv, c, "opencode-warp-infini-kimi");
	err = NULL;
	ASSERT_INT_EQ(launch(&inv, &l, &notice, &err), 0);
	ASSERT_TRUE(notice != NULL && strstr(notice, "starting "
	    "opencode-warp-infini-glm") != NULL);
	free(notice);
	v = launch_env(&l, "OPENCODE_CONFIG_CONTENT");
	ASSERT_TRUE(v != NULL && strstr(v, "\"model\":\"warp-infini/glm-5\"")
	    != NULL);
	ASSERT_STR_EQ(l.agent, "opencode-warp-infini-glm");
	agent_launch_clear(&l);
	TEST_DONE();

	TEST_START("launch of an exact id (a fallback hop) ignores cooldowns");
	{
		char *sel = NULL;

		err = NULL;
		ASSERT_INT_EQ(warp_launch_id(c, "opencode-warp-infini-kimi", 0,
		    &sel, &notice, &we, &err), 0);
		ASSERT_STR_EQ(sel, "opencode-warp-infini-kimi");
		ASSERT_PTR_NULL(notice);
		free(sel);
		warp_env_clear(&we);
		ASSERT_INT_EQ(warp_launch_id(c, "opencode-warp-infini-kimi", 1,
		    &sel, &notice, &we, &err), 0);
		ASSERT_STR_EQ(sel, "opencode-warp-infini-glm");
		free(sel);
		free(notice);
		warp_env_clear(&we);
	}
	TEST_DONE();

	TEST_START("launch: every agent cooling fails with WARP_COOLDOWN");
	warp_state_set(st, "infini", NULL, now + 300, "quota-exhausted", "probe",
	    now);
	warp_state_save(st, home, now, &cause);
	warp_state_free(st);
	err = NULL;
	notice = NULL;
	ASSERT_INT_EQ(launch(&inv, &l, &notice, &err), -1);
	ASSERT_PTR_NULL(notice);
	ASSERT_TRUE(err != NULL && strcmp(err->detail_code, "WARP_COOLDOWN")
	    == 0);
	acpx_error_free(err);
	agent_registry_spec_clear(&inv.agent);
	TEST_DONE();

	TEST_START("launch: other agents are left alone");
	set_invocation(&inv, c, "codex");
	err = NULL;
	ASSERT_INT_EQ(launch(&inv, &l, &notice, &err), 0);
	ASSERT_PTR_NULL(l.env_add);
	ASSERT_PTR_NULL(l.agent);
	ASSERT_TRUE(l.argv != NULL && inv.agent.argv != NULL &&
	    strcmp(l.argv[0], inv.agent.argv[0]) == 0);
	agent_launch_clear(&l);
	agent_registry_spec_clear(&inv.agent);
	TEST_DONE();

	free(envfile);
	config_free(c);
}

static char *
body_message(const char *s)
{
	return (warp_probe_body_message(s, strlen(s)));
}

static void
test_probe_pure(void)
{
	char	*m;
	time_t	 now = 1445412480;	/* Wed, 21 Oct 2015 07:28:00 GMT */

	TEST_START("probe classification");
	ASSERT_INT_EQ(warp_probe_classify(200, "", 0), WARP_PROBE_OK);
	ASSERT_INT_EQ(warp_probe_classify(401, "bad key", 7),
	    WARP_PROBE_AUTH_FAILED);
	ASSERT_INT_EQ(warp_probe_classify(403, "Billing hard limit", 18),
	    WARP_PROBE_QUOTA_EXHAUSTED);
	ASSERT_INT_EQ(warp_probe_classify(402, NULL, 0),
	    WARP_PROBE_QUOTA_EXHAUSTED);
	ASSERT_INT_EQ(warp_probe_classify(429, "slow down", 9),
	    WARP_PROBE_RATE_LIMITED);
	ASSERT_INT_EQ(warp_probe_classify(429, "insufficient QUOTA", 18),
	    WARP_PROBE_QUOTA_EXHAUSTED);
	ASSERT_INT_EQ(warp_probe_classify(529, NULL, 0),
	    WARP_PROBE_SERVER_ERROR);
	ASSERT_INT_EQ(warp_probe_classify(404, NULL, 0), WARP_PROBE_UNEXPECTED);
	ASSERT_STR_EQ(warp_probe_class_name(WARP_PROBE_QUOTA_EXHAUSTED),
	    "quota-exhausted");
	TEST_DONE();

	TEST_START("Retry-After: seconds and HTTP-date");
	ASSERT_INT_EQ(warp_probe_retry_after(" 120\r\n", now), 120);
	ASSERT_INT_EQ(warp_probe_retry_after("Wed, 21 Oct 2015 07:30:00 GMT",
	    now), 120);
	ASSERT_INT_EQ(warp_probe_retry_after("Wed, 21 Oct 2015 07:00:00 GMT",
	    now), 0);
	ASSERT_INT_EQ(warp_probe_retry_after("soon", now), -1);
	ASSERT_INT_EQ(warp_probe_retry_after("12x", now), -1);
	ASSERT_INT_EQ(warp_probe_retry_after(NULL, now), -1);
	TEST_DONE();

	TEST_START("provider messages and display URLs");
	m = body_message("{\"error\":{\"message\":\"Rate\\nlimit\"}}");
	ASSERT_STR_EQ(m, "Rate limit");
	free(m);
	m = body_message("{\"message\":\"m2\"}");
	ASSERT_STR_EQ(m, "m2");
	free(m);
	m = body_message("  plain text  ");
	ASSERT_STR_EQ(m, "plain text");
	free(m);
	ASSERT_PTR_NULL(warp_probe_body_message("", 0));
	/* A body with a NUL byte, and one cut inside a UTF-8 character
	 * (both found by fuzz-provider): bytes in, valid text out. */
	m = warp_probe_body_message("ab\0cd", 5);
	ASSERT_STR_EQ(m, "ab cd");
	free(m);
	{
		char	body[300];

		memset(body, 'x', 199);
		memcpy(body + 199, "\xc3\xa9tail", 6);
		m = warp_probe_body_message(body, 205);
		ASSERT_INT_EQ((int)strlen(m), 199);
		free(m);
		memcpy(body + 190, "\xff\xfe", 2);
		m = warp_probe_body_message(body, 205);
		ASSERT_PTR_NOT_NULL(strstr(m, "\xef\xbf\xbd"));
		free(m);
	}
	m = warp_probe_display_url("https://user:pw@host:8443/v1?key=abc#x");
	ASSERT_STR_EQ(m, "https://host:8443/v1");
	free(m);
	m = warp_probe_display_url("http://h/v1/");
	ASSERT_STR_EQ(m, "http://h/v1/");
	free(m);
	TEST_DONE();
}

int
main(void)
{
	char	cmd[128];
	int	rc;

	xmalloc_init();
	if (mkdtemp(home) == NULL) {
		perror("mkdtemp");
		return (1);
	}
	setenv("HOME", home, 1);
	unsetenv("ACPX_WARP_ENV_FILE");
	unsetenv("ACPX_NODE");
	test_ids();
	test_chains();
	test_config_errors();
	test_resolve();
	test_env();
	test_host_defaults();
	test_state();
	test_launch();
	test_probe_pure();
	rc = tap_end();
	snprintf(cmd, sizeof cmd, "rm -rf %s", home);
	if (system(cmd) != 0)
		rc = 1;
	return (rc);
}
