/*
 * config: JSON.parse-compatible errors, every validation message of the
 * config files (spec acpx-cli.md §6), precedence and merging, the
 * `config show` payload and `config init`.
 */
#include <config.h>

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "config-file.h"
#include "js-json.h"
#include "node-fs.h"
#include "xmalloc.h"

#include "tap.h"

static char	*home, *work, *gpath, *ppath;

static void
write_file(const char *path, const char *text)
{
	FILE	*f = fopen(path, "w");

	if (f == NULL) {
		TAP_FAIL("cannot write %s", path);
		return;
	}
	fputs(text, f);
	fclose(f);
}

/* Write the global and project files (NULL = absent). */
static void
files(const char *global, const char *project)
{
	unlink(gpath);
	unlink(ppath);
	if (global != NULL)
		write_file(gpath, global);
	if (project != NULL)
		write_file(ppath, project);
}

/* The load error for these files, with the paths replaced by G and P. */
static char *
load_error(const char *global, const char *project)
{
	struct config	*c;
	char		*cause = NULL, *out, *p;
	size_t		 n;

	files(global, project);
	if ((c = config_load(home, work, NULL, &cause)) != NULL) {
		config_free(c);
		return (xstrdup("(loaded)"));
	}
	out = xcalloc(1, strlen(cause) + 1);
	for (p = cause; *p != '\0';) {
		if (strncmp(p, gpath, n = strlen(gpath)) == 0) {
			strcat(out, "G");
			p += n;
		} else if (strncmp(p, ppath, n = strlen(ppath)) == 0) {
			strcat(out, "P");
			p += n;
		} else
			strncat(out, p++, 1);
	}
	free(cause);
	return (out);
}

static void
check_error(const char *global, const char *project, const char *want)
{
	char	*got = load_error(global, project);

	ASSERT_STR_EQ(got, want);
	free(got);
}

static void
check_parse_error(const char *text, const char *want)
{
	char	*cause = NULL;
	json_t	*v = js_json_parse(text, strlen(text), &cause);

	ASSERT_PTR_NULL(v);
	ASSERT_STR_EQ(cause, want);
	json_decref(v);
	free(cause);
}

/* Load these files and return the compact `config show` payload. */
static char *
show(const char *global, const char *project)
{
	struct config	*c;
	json_t		*v;
	char		*cause = NULL, *s;

	files(global, project);
	if ((c = config_load(home, work, NULL, &cause)) == NULL) {
		s = cause;
		return (s);
	}
	v = config_display(c);
	json_object_del(v, "paths");
	s = js_json_dumps(v, 0);
	json_decref(v);
	config_free(c);
	return (s);
}

static void
check_show(const char *global, const char *project, const char *want)
{
	char	*got = show(global, project);

	ASSERT_STR_EQ(got, want);
	free(got);
}

static void
check_path(const char *base, const char *p, const char *want)
{
	char	*got = config_path_resolve(base, p);

	ASSERT_STR_EQ(got, want);
	free(got);
}

int
main(void)
{
	char		 tmpl[] = "/tmp/acpx-test-config.XXXXXX", *root, *dir;
	struct config	*c;
	json_t		*v;
	char		*cause, *path, *text, *s;
	size_t		 len;
	int		 created, err_no;
	struct stat	 sb;

	xmalloc_init();
	root = mkdtemp(tmpl);
	xasprintf(&home, "%s/home", root);
	xasprintf(&work, "%s/work", root);
	xasprintf(&dir, "%s/.acpx", home);
	mkdir(home, 0700);
	mkdir(work, 0700);
	mkdir(dir, 0700);
	xasprintf(&gpath, "%s/config.json", dir);
	xasprintf(&ppath, "%s/.acpxrc.json", work);

	TEST_START("JSON.parse messages: unexpected tokens with context");
	check_parse_error("{\"a\":}",
	    "Unexpected token '}', \"{\"a\":}\" is not valid JSON");
	check_parse_error("aaaaaaaaaabbbbbbbbbbc",
	    "Unexpected token 'a', \"aaaaaaaaaa\"... is not valid JSON");
	check_parse_error("{\"abc\":1, \"def\": x, \"ghi\": 3333333}",
	    "Unexpected token 'x', ...\"1, \"def\": x, \"ghi\": \"... is not "
	    "valid JSON");
	check_parse_error("[1,1,1,1,1,1,1,1,1,1,x]",
	    "Unexpected token 'x', ...\"1,1,1,1,1,x]\" is not valid JSON");
	check_parse_error("NaN", "\"NaN\" is not valid JSON");
	check_parse_error("{\"q\":1,\"t\"a}",
	    "Unexpected token 'a', \"{\"q\":1,\"t\"a}\" is not valid JSON");
	TEST_DONE();

	TEST_START("JSON.parse messages: positions");
	check_parse_error("", "Unexpected end of JSON input");
	check_parse_error("{", "Expected property name or '}' in JSON at "
	    "position 1");
	check_parse_error("{\"a\":1,}", "Expected double-quoted property name "
	    "in JSON at position 7");
	check_parse_error("{\"a\" 1}", "Expected ':' after property name in "
	    "JSON at position 5");
	check_parse_error("{\"ttl\": 5\n", "Expected ',' or '}' after property "
	    "value in JSON at position 10");
	check_parse_error("[1,2", "Expected ',' or ']' after array element in "
	    "JSON at position 4");
	check_parse_error("\"abc", "Unterminated string in JSON at position 4");
	check_parse_error("{\"a\":1}x", "Unexpected non-whitespace character "
	    "after JSON at position 7");
	check_parse_error("{\"a\":\"\\q\"}", "Bad escaped character in JSON at "
	    "position 7");
	check_parse_error("{\"a\":\"\\u12\"}", "Bad Unicode escape in JSON at "
	    "position 10");
	check_parse_error("\"\t\"", "Bad control character in string literal "
	    "in JSON at position 1");
	check_parse_error("{\"a\":01}", "Unexpected number in JSON at position "
	    "6");
	check_parse_error("1.", "Unterminated fractional number in JSON at "
	    "position 2");
	check_parse_error("1e+", "Exponent part is missing a number in JSON at "
	    "position 3");
	check_parse_error("-x", "No number after minus sign in JSON at "
	    "position 1");
	check_parse_error("{\"\xc3\xa9\":1, x}", "Expected double-quoted "
	    "property name in JSON at position 8");
	TEST_DONE();

	TEST_START("JSON.parse values: order, duplicates, numbers, escapes");
	text = "{\"b\":1,\"a\":[true,null,-0.5,1e2],\"b\":2,"
	    "\"s\":\"\\u00e9\\ud83d\\ude00\"}";
	cause = NULL;
	v = js_json_parse(text, strlen(text), &cause);
	ASSERT_PTR_NOT_NULL(v);
	free(cause);
	s = js_json_dumps(v, 0);
	ASSERT_STR_EQ(s, "{\"b\":2,\"a\":[true,null,-0.5,100],"
	    "\"s\":\"\xc3\xa9\xf0\x9f\x98\x80\"}");
	free(s);
	json_decref(v);
	TEST_DONE();

	TEST_START("defaults when no file exists");
	check_show(NULL, NULL, "{\"defaultAgent\":\"codex\",\"defaultPermissions\":"
	    "\"approve-reads\",\"nonInteractivePermissions\":\"deny\","
	    "\"authPolicy\":\"skip\",\"ttl\":300,\"timeout\":null,"
	    "\"queueMaxDepth\":16,\"format\":\"text\",\"agents\":{},"
	    "\"authMethods\":[],\"disableExec\":false,\"loaded\":{\"global\":"
	    "false,\"project\":false}}");
	TEST_DONE();

	TEST_START("file-level errors");
	check_error(NULL, "{\"ttl\": 5,}", "Invalid JSON in P: Expected "
	    "double-quoted property name in JSON at position 10");
	check_error("{bad", "{bad", "Invalid JSON in G: Expected property name "
	    "or '}' in JSON at position 1");
	check_error(NULL, "[1]", "Invalid config in P: expected top-level JSON "
	    "object");
	check_error("null", NULL, "Invalid config in G: expected top-level "
	    "JSON object");
	TEST_DONE();

	TEST_START("scalar key errors");
	check_error(NULL, "{\"defaultAgent\":\"  \"}", "Invalid config "
	    "defaultAgent in P: expected non-empty string");
	check_error(NULL, "{\"defaultPermissions\":\"all\"}", "Invalid config "
	    "defaultPermissions in P: expected approve-all, approve-reads, or "
	    "deny-all");
	check_error(NULL, "{\"nonInteractivePermissions\":1}", "Invalid config "
	    "nonInteractivePermissions in P: expected deny or fail");
	check_error("{\"authPolicy\":\"x\"}", NULL, "Invalid config authPolicy "
	    "in G: expected skip or fail");
	check_error(NULL, "{\"ttl\":-1}", "Invalid config ttl in P: expected "
	    "non-negative seconds");
	check_error(NULL, "{\"ttl\":\"5\"}", "Invalid config ttl in P: expected "
	    "non-negative seconds");
	check_error(NULL, "{\"ttl\":3000000}", "Invalid config ttl in P: exceeds "
	    "maximum supported timer delay");
	check_error(NULL, "{\"timeout\":0}", "Invalid config timeout in P: "
	    "expected positive seconds or null");
	check_error(NULL, "{\"timeout\":3000000}", "Invalid config timeout in P: "
	    "exceeds maximum supported timer delay");
	check_error(NULL, "{\"queueMaxDepth\":1.5}", "Invalid config "
	    "queueMaxDepth in P: expected positive integer");
	check_error(NULL, "{\"format\":\"xml\"}", "Invalid config format in P: "
	    "expected text, json, or quiet");
	check_error(NULL, "{\"disableExec\":\"yes\"}", "Invalid config "
	    "disableExec in P: expected boolean");
	TEST_DONE();

	TEST_START("scalar keys: the first failing key in the reference's order");
	check_error(NULL, "{\"format\":\"xml\",\"ttl\":-1}", "Invalid config ttl "
	    "in P: expected non-negative seconds");
	check_error(NULL, "{\"disableExec\":1,\"agents\":[]}", "Invalid config "
	    "agents in P: expected object");
	TEST_DONE();

	TEST_START("agents entry errors");
	check_error(NULL, "{\"agents\":[]}", "Invalid config agents in P: "
	    "expected object");
	check_error(NULL, "{\"agents\":{\"A\":5}}", "Invalid config agents.A in "
	    "P: expected object with command");
	check_error(NULL, "{\"agents\":{\"A\":{\"argv\":[\"x\"],\"args\":[]}}}",
	    "Invalid config agents.A in P: use argv alone, not command or args");
	check_error(NULL, "{\"agents\":{\"A\":{\"argv\":[]}}}", "Invalid config "
	    "agents.A.argv in P: expected non-empty array of strings");
	check_error(NULL, "{\"agents\":{\"A\":{\"argv\":[\"x\",1]}}}", "Invalid "
	    "config agents.A.argv[1] in P: expected string");
	check_error(NULL, "{\"agents\":{\"A\":{\"argv\":[\"\"]}}}", "Invalid "
	    "config agents.A.argv[0] in P: expected non-empty executable");
	check_error(NULL, "{\"agents\":{\"A\":{\"command\":\" \"}}}", "Invalid "
	    "config agents.A.command in P: expected non-empty string");
	check_error(NULL, "{\"agents\":{\"A\":{\"command\":\"a b\",\"args\":[]}}}",
	    "Invalid config agents.A.command in P: command must be an unquoted "
	    "executable with no whitespace when args is present; migrate the "
	    "complete launch to argv");
	check_error(NULL, "{\"agents\":{\"A\":{\"command\":\"a\",\"args\":\"x\"}}}",
	    "Invalid config agents.A.args in P: expected array of strings");
	check_error(NULL, "{\"agents\":{\"A\":{\"command\":\"a\",\"args\":[1]}}}",
	    "Invalid config agents.A.args[0] in P: expected string");
	TEST_DONE();

	TEST_START("auth errors");
	check_error(NULL, "{\"auth\":[]}", "Invalid config auth in P: expected "
	    "object");
	check_error(NULL, "{\"auth\":{\"k\":\" \"}}", "Invalid config auth.k in "
	    "P: expected non-empty string");
	TEST_DONE();

	TEST_START("mcpServers errors");
	check_error(NULL, "{\"mcpServers\":{}}", "Invalid mcpServers in P: "
	    "expected array");
	check_error(NULL, "{\"mcpServers\":[5]}", "Invalid mcpServers[0] in P: "
	    "expected object");
	check_error(NULL, "{\"mcpServers\":[{\"name\":\" \"}]}", "Invalid "
	    "mcpServers[0] in P.name: expected non-empty string");
	check_error(NULL, "{\"mcpServers\":[{\"name\":\"a\",\"_meta\":[]}]}",
	    "Invalid mcpServers[0] in P._meta: expected object or null");
	check_error(NULL, "{\"mcpServers\":[{\"name\":\"a\",\"type\":\"ws\"}]}",
	    "Invalid mcpServers[0] in P.type: expected http, sse, or stdio");
	check_error(NULL, "{\"mcpServers\":[{\"name\":\"a\",\"type\":\"http\"}]}",
	    "Invalid mcpServers[0] in P.url: expected non-empty string");
	check_error(NULL, "{\"mcpServers\":[{\"name\":\"a\",\"type\":\"sse\","
	    "\"url\":\"u\",\"headers\":[{\"name\":\"x\"}]}]}", "Invalid "
	    "mcpServers[0] in P.headers[0].value: expected string");
	check_error(NULL, "{\"mcpServers\":[{\"name\":\"a\"}]}", "Invalid "
	    "mcpServers[0] in P.command: expected non-empty string");
	check_error(NULL, "{\"mcpServers\":[{\"name\":\"a\",\"command\":\"c\","
	    "\"args\":[1]}]}", "Invalid mcpServers[0] in P.args[0]: expected "
	    "string");
	check_error(NULL, "{\"mcpServers\":[{\"name\":\"a\",\"command\":\"c\","
	    "\"env\":5}]}", "Invalid mcpServers[0] in P.env: expected array");
	TEST_DONE();

	TEST_START("project wins; an invalid global value is then never read");
	check_show("{\"ttl\":-5,\"format\":\"json\"}", "{\"ttl\":5.5}",
	    "{\"defaultAgent\":\"codex\",\"defaultPermissions\":"
	    "\"approve-reads\",\"nonInteractivePermissions\":\"deny\","
	    "\"authPolicy\":\"skip\",\"ttl\":5.5,\"timeout\":null,"
	    "\"queueMaxDepth\":16,\"format\":\"json\",\"agents\":{},"
	    "\"authMethods\":[],\"disableExec\":false,\"loaded\":{\"global\":"
	    "true,\"project\":true}}");
	check_error("{\"ttl\":-5}", "{\"ttl\":null}", "Invalid config ttl in G: "
	    "expected non-negative seconds");
	TEST_DONE();

	TEST_START("a present null timeout in the project hides the global one");
	files("{\"timeout\":5}", "{\"timeout\":null}");
	c = config_load(home, work, NULL, &cause);
	ASSERT_PTR_NOT_NULL(c);
	if (c != NULL)
		ASSERT_INT_EQ(c->timeout_ms, -1);
	config_free(c);
	files("{\"timeout\":0.0001}", "{}");
	c = config_load(home, work, NULL, &cause);
	if (c != NULL)
		ASSERT_INT_EQ(c->timeout_ms, 1);
	config_free(c);
	TEST_DONE();

	TEST_START("agents and auth merge; display forms; key order");
	check_show("{\"agents\":{\"a\":{\"command\":\" g1 \"},\"b\":{\"command\":"
	    "\"g2\"}},\"auth\":{\"zeta\":\"1\",\"alpha\":\"2\"},\"defaultAgent\":"
	    "\" MoCk \"}", "{\"agents\":{\"c\":{\"argv\":[\"c\",\"d e\"]},\"A\":"
	    "{\"command\":\"p1\",\"args\":[\"x y\"]},\"10\":{\"command\":\"n\","
	    "\"args\":null}},\"auth\":{\"Mid\":\"3\"}}",
	    "{\"defaultAgent\":\"mock\",\"defaultPermissions\":\"approve-reads\","
	    "\"nonInteractivePermissions\":\"deny\",\"authPolicy\":\"skip\","
	    "\"ttl\":300,\"timeout\":null,\"queueMaxDepth\":16,\"format\":"
	    "\"text\",\"agents\":{\"10\":{\"argv\":[\"n\"]},\"a\":{\"argv\":"
	    "[\"p1\",\"x y\"]},\"b\":{\"command\":\"g2\"},\"c\":{\"argv\":[\"c\","
	    "\"d e\"]}},\"authMethods\":[\"Mid\",\"alpha\",\"zeta\"],"
	    "\"disableExec\":false,\"loaded\":{\"global\":true,\"project\":true}}");
	files(NULL, "{\"agents\":{\"A\":{\"command\":\"p1\",\"args\":[\"x y\"]},"
	    "\"c\":{\"argv\":[\"c\",\"d e\"]},\"s\":{\"command\":\" run me \"}}}");
	c = config_load(home, work, NULL, &cause);
	ASSERT_PTR_NOT_NULL(c);
	if (c != NULL) {
		ASSERT_STR_EQ(config_find_agent(c, "a")->command,
		    "p1 \"x y\"");
		ASSERT_STR_EQ(config_find_agent(c, "c")->command, "c \"d e\"");
		ASSERT_STR_EQ(config_find_agent(c, "s")->command, "run me");
		ASSERT_PTR_NULL(config_find_agent(c, "s")->argv);
		ASSERT_PTR_NULL(config_find_agent(c, "A"));
	}
	config_free(c);
	TEST_DONE();

	TEST_START("mcpServers are normalised");
	files("{\"mcpServers\":[{\"name\":\"g\",\"command\":\"x\"}]}",
	    "{\"mcpServers\":[{\"name\":\" a \",\"command\":\" c \",\"args\":"
	    "[\" x \"],\"env\":[{\"name\":\" N \",\"value\":\" v \"}],\"_meta\":"
	    "null},{\"type\":\" http \",\"name\":\"h\",\"url\":\" u \","
	    "\"_meta\":{\"k\":1}}]}");
	c = config_load(home, work, NULL, &cause);
	ASSERT_PTR_NOT_NULL(c);
	if (c != NULL) {
		s = js_json_dumps(c->mcp_servers, 0);
		ASSERT_STR_EQ(s, "[{\"name\":\"a\",\"command\":\"c\",\"args\":"
		    "[\" x \"],\"env\":[{\"name\":\"N\",\"value\":\" v \"}],"
		    "\"_meta\":null},{\"type\":\"http\",\"name\":\"h\",\"url\":"
		    "\"u\",\"headers\":[],\"_meta\":{\"k\":1}}]");
		free(s);
	}
	config_free(c);
	TEST_DONE();

	TEST_START("--mcp-config replaces mcpServers; missing file is an error");
	files(NULL, "{\"mcpServers\":[{\"name\":\"p\",\"command\":\"x\"}]}");
	xasprintf(&path, "%s/m.json", work);
	write_file(path, "{\"mcpServers\":[]}");
	c = config_load(home, work, "m.json", &cause);
	ASSERT_PTR_NOT_NULL(c);
	if (c != NULL) {
		ASSERT_INT_EQ(json_array_size(c->mcp_servers), 0);
		ASSERT_STR_EQ(c->mcp_path, path);
	}
	config_free(c);
	write_file(path, "{}");
	c = config_load(home, work, path, &cause);
	ASSERT_PTR_NULL(c);
	xasprintf(&text, "Invalid mcpServers in %s: expected array", path);
	ASSERT_STR_EQ(cause, text);
	free(text);
	free(cause);
	c = config_load(home, work, "nope.json", &cause);
	ASSERT_PTR_NULL(c);
	xasprintf(&text, "MCP config file not found: %s/nope.json", work);
	ASSERT_STR_EQ(cause, text);
	free(text);
	free(cause);
	free(path);
	TEST_DONE();

	TEST_START("unreadable config files report Node's error");
	files(NULL, NULL);
	mkdir(ppath, 0700);
	check_error(NULL, NULL, "EISDIR: illegal operation on a directory, read");
	rmdir(ppath);
	xasprintf(&path, "%s/file", work);
	write_file(path, "x");
	ASSERT_INT_EQ(node_fs_read_file("/nonexistent-dir-xyz/a", &text, &len,
	    &err_no, &cause), -1);
	ASSERT_STR_EQ(cause, "ENOENT: no such file or directory, open "
	    "'/nonexistent-dir-xyz/a'");
	free(cause);
	c = config_load(home, path, NULL, &cause);
	ASSERT_PTR_NULL(c);
	xasprintf(&text, "ENOTDIR: not a directory, open '%s/.acpxrc.json'",
	    path);
	ASSERT_STR_EQ(cause, text);
	free(text);
	free(cause);
	unlink(path);
	free(path);
	TEST_DONE();

	TEST_START("config init writes the template once, 0600 in a 0700 dir");
	files(NULL, NULL);
	rmdir(dir);
	ASSERT_INT_EQ(config_init_file(home, &path, &created, &cause), 0);
	ASSERT_STR_EQ(path, gpath);
	ASSERT_INT_EQ(created, 1);
	ASSERT_INT_EQ(stat(dir, &sb), 0);
	ASSERT_INT_EQ(sb.st_mode & 0777, 0700);
	ASSERT_INT_EQ(stat(gpath, &sb), 0);
	ASSERT_INT_EQ(sb.st_mode & 0777, 0600);
	ASSERT_INT_EQ(node_fs_read_file(gpath, &text, &len, &err_no, &cause), 0);
	ASSERT_STR_EQ(text, "{\n  \"defaultAgent\": \"codex\",\n"
	    "  \"defaultPermissions\": \"approve-all\",\n"
	    "  \"nonInteractivePermissions\": \"deny\",\n"
	    "  \"authPolicy\": \"skip\",\n  \"ttl\": 300,\n"
	    "  \"timeout\": null,\n  \"queueMaxDepth\": 16,\n"
	    "  \"format\": \"text\",\n  \"agents\": {},\n  \"auth\": {}\n}\n");
	free(text);
	free(path);
	ASSERT_INT_EQ(config_init_file(home, &path, &created, &cause), 0);
	ASSERT_INT_EQ(created, 0);
	free(path);
	TEST_DONE();

	TEST_START("path.resolve and path.normalize");
	check_path("/a/b", "../c/./d/", "/a/c/d");
	check_path("/a/b", "/x//y/..", "/x");
	check_path("/", "..", "/");
	check_path("/a", "", "/a");
	s = config_path_normalize("a/../../b/");
	ASSERT_STR_EQ(s, "../b/");
	free(s);
	s = config_global_path("/h/");
	ASSERT_STR_EQ(s, "/h/.acpx/config.json");
	free(s);
	TEST_DONE();

	unlink(gpath);
	rmdir(dir);
	rmdir(home);
	rmdir(work);
	rmdir(root);
	free(home);
	free(work);
	free(dir);
	free(gpath);
	free(ppath);
	return (tap_end());
}
