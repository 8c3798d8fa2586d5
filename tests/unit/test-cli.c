/*
 * cli: argv -> invocation. Agent-token detection, global options and their
 * validation, verbs and their options, Commander-style errors (root: usage
 * error, exit 2, help on stderr; subcommand: exit 1), config files,
 * help/version, and acpx-native's superset (global options after the agent
 * and the verb). Expected texts are the reference's (spec acpx-cli.md
 * §1-3, §5.3-5.4).
 */
#include <config.h>

#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "acpx-error.h"
#include "agent-registry.h"
#include "cli.h"
#include "cmd.h"
#include "jget.h"
#include "js-json.h"
#include "xmalloc.h"

#include "tap.h"

struct res {
	int			 rc;
	struct invocation	 inv;
	cmd_run_fn		 run;
	enum acpx_format	 fmt;
	struct acpx_error	*err;
	char			*out;
	char			*errtext;
};

static char	*root, *home, *work;

static char *
slurp(const char *path)
{
	FILE	*f = fopen(path, "r");
	char	*buf = xcalloc(1, 1 << 16);
	size_t	 n;

	if (f != NULL) {
		n = fread(buf, 1, (1 << 16) - 1, f);
		buf[n] = '\0';
		fclose(f);
	}
	return (buf);
}

/* Run cli_parse on "acpx args..." capturing stdout and stderr. */
static void
parse(struct res *r, const char *const *args)
{
	char	*argv[64], *op, *ep;
	int	 argc = 0, so, se, fo, fe;

	argv[argc++] = "acpx";
	while (*args != NULL && argc < 63)
		argv[argc++] = (char *)*args++;
	argv[argc] = NULL;
	xasprintf(&op, "%s/stdout", root);
	xasprintf(&ep, "%s/stderr", root);
	fflush(stdout);
	fflush(stderr);
	so = dup(STDOUT_FILENO);
	se = dup(STDERR_FILENO);
	fo = open(op, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	fe = open(ep, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fo, STDOUT_FILENO);
	dup2(fe, STDERR_FILENO);
	memset(r, 0, sizeof *r);
	r->rc = cli_parse(argc, argv, &r->inv, &r->run, &r->fmt, &r->err);
	fflush(stdout);
	fflush(stderr);
	dup2(so, STDOUT_FILENO);
	dup2(se, STDERR_FILENO);
	close(so);
	close(se);
	close(fo);
	close(fe);
	r->out = slurp(op);
	r->errtext = slurp(ep);
	free(op);
	free(ep);
}

static void
done(struct res *r)
{
	cli_invocation_free(&r->inv);
	acpx_error_free(r->err);
	free(r->out);
	free(r->errtext);
}

static void
project(const char *text)
{
	char	*path;
	FILE	*f;

	xasprintf(&path, "%s/.acpxrc.json", work);
	if (text == NULL)
		unlink(path);
	else if ((f = fopen(path, "w")) != NULL) {
		fputs(text, f);
		fclose(f);
	}
	free(path);
}

static int
starts(const char *s, const char *prefix)
{
	return (strncmp(s, prefix, strlen(prefix)) == 0);
}

static int
ends(const char *s, const char *suffix)
{
	size_t	n = strlen(s), m = strlen(suffix);

	return (n >= m && strcmp(s + n - m, suffix) == 0);
}

/* A root-level Commander error: usage, "error: ..." kept, help on stderr. */
static void
check_root_error(const char *const *args, const char *msg)
{
	struct res	 r;
	char		*want;

	parse(&r, args);
	ASSERT_INT_EQ(r.rc, -1);
	ASSERT_PTR_NOT_NULL(r.err);
	if (r.err != NULL) {
		ASSERT_STR_EQ(r.err->message, msg);
		ASSERT_INT_EQ(r.err->code, ACPX_CODE_USAGE);
		ASSERT_TRUE(r.err->flags & ACPX_ERROR_PARSE);
		ASSERT_INT_EQ(acpx_error_exit(r.err), 2);
	}
	xasprintf(&want, "%s\n\nUsage: acpx [options] [command] [prompt...]\n",
	    msg);
	ASSERT_TRUE(starts(r.errtext, want));
	free(want);
	ASSERT_STR_EQ(r.out, "");
	done(&r);
}

/* A subcommand Commander error: exit 1, message and its help on stderr. */
static void
check_sub_error(const char *const *args, const char *msg, const char *usage)
{
	struct res	 r;
	char		*want;

	parse(&r, args);
	ASSERT_INT_EQ(r.rc, 1);
	ASSERT_PTR_NULL(r.err);
	ASSERT_PTR_NULL(r.run);
	xasprintf(&want, "%s\n\n%s\n", msg, usage);
	ASSERT_TRUE(starts(r.errtext, want));
	if (!starts(r.errtext, want))
		TAP_FAIL("stderr: %s", r.errtext);
	free(want);
	done(&r);
}

/* A handler error: no Commander output, the given code and message. */
static void
check_fail(const char *const *args, enum acpx_code code, const char *msg)
{
	struct res	r;

	parse(&r, args);
	ASSERT_INT_EQ(r.rc, -1);
	ASSERT_PTR_NOT_NULL(r.err);
	if (r.err != NULL) {
		ASSERT_STR_EQ(r.err->message, msg);
		ASSERT_INT_EQ(r.err->code, code);
		ASSERT_TRUE(!(r.err->flags & ACPX_ERROR_PARSE));
	}
	ASSERT_STR_EQ(r.errtext, "");
	done(&r);
}

static void
check_words(const struct invocation *inv, const char *const *want)
{
	int	i;

	for (i = 0; want[i] != NULL; i++) {
		if (i >= inv->nwords) {
			TAP_FAIL("missing word %d (%s)", i, want[i]);
			return;
		}
		ASSERT_STR_EQ(inv->words[i], want[i]);
	}
	ASSERT_INT_EQ(inv->nwords, i);
}

#define ARGS(...)	((const char *const[]){ __VA_ARGS__, NULL })

int
main(void)
{
	char		 tmpl[] = "/tmp/acpx-test-cli.XXXXXX", *want, *s;
	struct res	 r;
	int		 devnull;

	xmalloc_init();
	root = mkdtemp(tmpl);
	xasprintf(&home, "%s/home", root);
	xasprintf(&work, "%s/work", root);
	mkdir(home, 0700);
	mkdir(work, 0700);
	setenv("HOME", home, 1);
	unsetenv("npm_lifecycle_event");
	unsetenv("npm_lifecycle_script");
	if (chdir(work) != 0)
		return (1);
	free(work);
	work = getcwd(NULL, 0);
	devnull = open("/dev/null", O_RDONLY);
	dup2(devnull, STDIN_FILENO);
	close(devnull);

	TEST_START("--version prints 0.19.1 before config is read");
	project("{broken");
	parse(&r, ARGS("--format", "json", "--version"));
	ASSERT_INT_EQ(r.rc, 0);
	ASSERT_STR_EQ(r.out, "0.19.1\n");
	ASSERT_PTR_NULL(r.run);
	done(&r);
	parse(&r, ARGS("-V"));
	ASSERT_STR_EQ(r.out, "0.19.1\n");
	done(&r);
	parse(&r, ARGS("--version", "--verbose"));
	ASSERT_TRUE(starts(r.out, "0.19.1\nacpx-native "));
	ASSERT_TRUE(strstr(r.out, "\njansson ") != NULL);
	done(&r);
	TEST_DONE();

	TEST_START("a broken config fails --help too (exit 1, RUNTIME)");
	parse(&r, ARGS("--help"));
	ASSERT_INT_EQ(r.rc, -1);
	if (r.err != NULL) {
		xasprintf(&want, "Invalid JSON in %s/.acpxrc.json: Expected "
		    "property name or '}' in JSON at position 1", work);
		ASSERT_STR_EQ(r.err->message, want);
		free(want);
		ASSERT_INT_EQ(acpx_error_exit(r.err), 1);
	}
	done(&r);
	project(NULL);
	TEST_DONE();

	TEST_START("--version after the agent is an unknown option (exit 1)");
	check_sub_error(ARGS("codex", "--version"), "error: unknown option "
	    "'--version'\n(Did you mean --session?)",
	    "Usage: acpx codex [options] [command] [prompt...]");
	TEST_DONE();

	TEST_START("--help: root help on stdout, sections in order");
	parse(&r, ARGS("--help"));
	ASSERT_INT_EQ(r.rc, 0);
	ASSERT_TRUE(starts(r.out, "Usage: acpx [options] [command] [prompt...]"
	    "\n\nHeadless CLI client for the Agent Client Protocol\n\n"
	    "Arguments:\n  prompt                                  Prompt text\n"
	    "\nOptions:\n  -V, --version                           output the "
	    "version number\n"));
	ASSERT_TRUE(strstr(r.out, "\n  --ttl <seconds>                         "
	    "Queue owner idle TTL before shutdown (0 = keep alive forever) "
	    "(default: 300)\n") != NULL);
	ASSERT_TRUE(strstr(r.out, "\nCommands:\n  pi [options] [prompt...]") !=
	    NULL);
	ASSERT_TRUE(strstr(r.out, "\n  demo [options] [prompt...]") != NULL);
	ASSERT_TRUE(strstr(r.out, "\n  exec [options] [prompt...]              "
	    "One-shot prompt using codex by default\n") != NULL);
	s = strstr(r.out, "\n\nExamples:\n  acpx pi \"review recent changes\"\n");
	ASSERT_PTR_NOT_NULL(s);
	ASSERT_TRUE(ends(r.out, "\n  acpx --agent ./my-custom-server "
	    "\"do something\"\n"));
	done(&r);
	TEST_DONE();

	TEST_START("subcommand help wraps at 80 columns like Commander");
	parse(&r, ARGS("exec", "--help"));
	ASSERT_STR_EQ(r.out, "Usage: acpx exec [options] [prompt...]\n\n"
	    "One-shot prompt using codex by default\n\nArguments:\n"
	    "  prompt                       Prompt text\n\nOptions:\n"
	    "  -f, --file <path>            Read prompt text from file path (use "
	    "- for stdin)\n"
	    "  --config-option <key=value>  Set an ACP session config option "
	    "before the\n"
	    "                               one-shot prompt (repeatable)\n"
	    "  -h, --help                   display help for command\n");
	done(&r);
	parse(&r, ARGS("sessions", "history", "--help"));
	ASSERT_TRUE(strstr(r.out, "  --limit <count>  Maximum number of entries "
	    "to show (default: 20) (default: 20)\n") != NULL);
	done(&r);
	parse(&r, ARGS("flow", "help"));
	ASSERT_TRUE(strstr(r.out, "  run [options] <file>  Run a flow file\n"
	    "  help [command]        display help for command\n") != NULL);
	done(&r);
	TEST_DONE();

	TEST_START("root Commander errors are usage errors printed with help");
	check_root_error(ARGS("--bogus", "exec", "hi"),
	    "error: unknown option '--bogus'");
	check_root_error(ARGS("--formt", "json"), "error: unknown option "
	    "'--formt'\n(Did you mean --format?)");
	check_root_error(ARGS("--format"),
	    "error: option '--format <fmt>' argument missing");
	check_root_error(ARGS("--format", "xml", "exec", "hi"), "error: option "
	    "'--format <fmt>' argument 'xml' is invalid. Invalid format \"xml\". "
	    "Expected one of: text, json, quiet");
	check_root_error(ARGS("--timeout", "-1", "exec", "hi"), "error: option "
	    "'--timeout <seconds>' argument '-1' is invalid. Timeout must be a "
	    "positive number of seconds");
	check_root_error(ARGS("--ttl", "99999999", "x"), "error: option "
	    "'--ttl <seconds>' argument '99999999' is invalid. TTL exceeds the "
	    "maximum supported timer delay");
	check_root_error(ARGS("--max-turns", "1.5", "x"), "error: option "
	    "'--max-turns <count>' argument '1.5' is invalid. Max turns must be "
	    "a positive integer");
	check_root_error(ARGS("--allowed-tools", "a,,b", "x"), "error: option "
	    "'--allowed-tools <list>' argument 'a,,b' is invalid. Allowed tools "
	    "must be a comma-separated list without empty entries");
	check_root_error(ARGS("-s", "x", "hi"), "error: unknown option '-s'");
	TEST_DONE();

	TEST_START("error format: pre-scanned --format, --json-strict silences");
	parse(&r, ARGS("--format", "quiet", "--bogus"));
	ASSERT_INT_EQ(r.fmt, ACPX_FORMAT_QUIET);
	done(&r);
	parse(&r, ARGS("--json-strict", "--format", "json", "--bogus"));
	ASSERT_INT_EQ(r.rc, -1);
	ASSERT_INT_EQ(r.fmt, ACPX_FORMAT_JSON);
	ASSERT_INT_EQ(r.inv.json_strict, 1);
	ASSERT_STR_EQ(r.errtext, "");
	done(&r);
	TEST_DONE();

	TEST_START("subcommand Commander errors exit 1");
	check_sub_error(ARGS("exec", "--bogus"), "error: unknown option "
	    "'--bogus'", "Usage: acpx exec [options] [prompt...]");
	check_sub_error(ARGS("sessions", "foo"), "error: too many arguments for "
	    "'sessions'. Expected 0 arguments but got 1: foo.",
	    "Usage: acpx sessions [options] [command]");
	check_sub_error(ARGS("set-mode"), "error: missing required argument "
	    "'mode'", "Usage: acpx set-mode [options] <mode>");
	check_sub_error(ARGS("sessions", "export"), "error: required option "
	    "'--output <path>' not specified",
	    "Usage: acpx sessions export [options] [name]");
	check_sub_error(ARGS("sessions", "history", "--limit", "0"), "error: "
	    "option '--limit <count>' argument '0' is invalid. Limit must be a "
	    "positive integer", "Usage: acpx sessions history [options] [name]");
	check_sub_error(ARGS("exec", "--config-option", "bad", "hi"), "error: "
	    "option '--config-option <key=value>' argument 'bad' is invalid. "
	    "Session config option must use \"<key>=<value>\" with non-empty "
	    "parts", "Usage: acpx exec [options] [prompt...]");
	check_sub_error(ARGS("set-mode", " "), "error: command-argument value "
	    "' ' is invalid for argument 'mode'. Mode must not be empty",
	    "Usage: acpx set-mode [options] <mode>");
	check_sub_error(ARGS("config", "show", "--format", "xml"), "error: "
	    "option '--format <fmt>' argument 'xml' is invalid. Invalid format "
	    "\"xml\". Expected one of: text, json, quiet",
	    "Usage: acpx config show [options]");
	check_sub_error(ARGS("sessions", "lst"), "error: too many arguments for "
	    "'sessions'. Expected 0 arguments but got 1: lst.",
	    "Usage: acpx sessions [options] [command]");
	check_sub_error(ARGS("flow", "bogus"), "error: unknown command 'bogus'",
	    "Usage: acpx flow [options] [command]");
	TEST_DONE();

	TEST_START("handler usage errors (exit 2, no Commander output)");
	check_fail(ARGS("--approve-all", "--deny-all", "exec", "hi"),
	    ACPX_CODE_USAGE, "Use only one permission mode: --approve-all, "
	    "--approve-reads, or --deny-all");
	check_fail(ARGS("--json-strict", "exec", "hi"), ACPX_CODE_USAGE,
	    "--json-strict requires --format json");
	check_fail(ARGS("--json-strict", "--format", "json", "--verbose",
	    "exec", "hi"), ACPX_CODE_USAGE,
	    "--json-strict cannot be combined with --verbose");
	check_fail(ARGS("--agent", "  ", "exec", "hi"), ACPX_CODE_USAGE,
	    "Agent command must not be empty");
	check_fail(ARGS("--agent", "foo", "codex", "exec", "hi"),
	    ACPX_CODE_USAGE, "Do not combine positional agent with --agent "
	    "override");
	check_fail(ARGS("--model", " ", "exec", "hi"), ACPX_CODE_USAGE,
	    "Model must not be empty");
	check_fail(ARGS("--system-prompt", "a", "--append-system-prompt", "b",
	    "exec", "hi"), ACPX_CODE_USAGE, "Use only one of --system-prompt "
	    "or --append-system-prompt");
	check_fail(ARGS("--permission-policy", "x", "--policy", "y", "exec",
	    "hi"), ACPX_CODE_USAGE, "Use only one permission policy flag: "
	    "--permission-policy or --policy");
	check_fail(ARGS("--policy", "{bad", "exec", "hi"), ACPX_CODE_USAGE,
	    "Invalid permission policy: Expected property name or '}' in JSON "
	    "at position 1");
	check_fail(ARGS("--policy", "{\"autoDeny\":[\"\"]}", "exec", "hi"),
	    ACPX_CODE_USAGE, "Invalid permission policy: --permission-policy: "
	    "permission policy autoDeny must contain only non-empty strings");
	xasprintf(&want, "Invalid permission policy: ENOENT: no such file or "
	    "directory, open '%s/nope.json'", work);
	check_fail(ARGS("--policy", "nope.json", "exec", "hi"), ACPX_CODE_USAGE,
	    want);
	free(want);
	check_fail(ARGS("sessions", "--local", "--cursor", "c"),
	    ACPX_CODE_USAGE, "--cursor cannot be combined with --local");
	check_fail(ARGS("--agent", "x", "compare", "a", "b"), ACPX_CODE_USAGE,
	    "Do not combine compare with --agent; pass agent names");
	check_fail(ARGS("compare", "a"), ACPX_CODE_USAGE,
	    "Usage: acpx compare <agent>... '<prompt>'");
	check_fail(ARGS("compare", "--", "hi"), ACPX_CODE_USAGE,
	    "At least one agent is required");
	check_fail(ARGS("flow", "run", "x.ts"), ACPX_CODE_USAGE, "flow run is not "
	    "supported by acpx-native (it executes user TypeScript); see acpx(1)");
	TEST_DONE();

	TEST_START("registration errors of a quoted first word (RUNTIME)");
	check_fail(ARGS("exec foo"), ACPX_CODE_RUNTIME,
	    "cannot add command 'exec' as already have command 'exec'");
	check_fail(ARGS("codex rocks"), ACPX_CODE_RUNTIME,
	    "cannot add command 'codex' as already have command 'codex'");
	check_fail(ARGS("x a... b"), ACPX_CODE_RUNTIME,
	    "only the last argument can be variadic 'a'");
	project("{\"agents\":{\"exec\":{\"command\":\"x\"}}}");
	check_fail(ARGS("config", "show"), ACPX_CODE_RUNTIME,
	    "cannot add command 'exec' as already have command 'exec'");
	project(NULL);
	TEST_DONE();

	TEST_START("exec: global options, verb options, agent override");
	mkdir("sub", 0700);
	parse(&r, ARGS("--agent", "my agent --x", "--cwd", "sub", "--timeout",
	    "1.5", "--ttl", "0", "--format", "quiet", "--no-fs", "exec", "-f",
	    "p.txt", "--config-option", " k = v ", "a", "--config-option=j=w",
	    "b"));
	ASSERT_INT_EQ(r.rc, 0);
	ASSERT_TRUE(r.run == cmd_exec_run);
	ASSERT_STR_EQ(r.inv.verb, "exec");
	ASSERT_STR_EQ(r.inv.agent.command, "my agent --x");
	ASSERT_STR_EQ(r.inv.agent.name, "codex");
	ASSERT_INT_EQ(r.inv.agent_override, 1);
	check_words(&r.inv, ARGS("a", "b"));
	if (r.inv.agent.argv != NULL) {
		ASSERT_STR_EQ(r.inv.agent.argv[0], "my");
		ASSERT_STR_EQ(r.inv.agent.argv[2], "--x");
		ASSERT_PTR_NULL(r.inv.agent.argv[3]);
	}
	xasprintf(&want, "%s/sub", work);
	ASSERT_STR_EQ(r.inv.cwd, want);
	free(want);
	ASSERT_INT_EQ(r.inv.timeout_ms, 1500);
	ASSERT_INT_EQ(r.inv.ttl_ms, 0);
	ASSERT_INT_EQ(r.inv.format, ACPX_FORMAT_QUIET);
	ASSERT_INT_EQ(r.inv.no_fs, 1);
	ASSERT_INT_EQ(r.inv.no_terminal, 0);
	ASSERT_STR_EQ(r.inv.file, "p.txt");
	ASSERT_INT_EQ(r.inv.nconfig_options, 2);
	if (r.inv.nconfig_options == 2) {
		ASSERT_STR_EQ(r.inv.config_options[0], "k=v");
		ASSERT_STR_EQ(r.inv.config_options[1], "j=w");
	}
	ASSERT_PTR_NOT_NULL(r.inv.config);
	ASSERT_INT_EQ(r.inv.perm_mode, ACPX_PERM_APPROVE_READS);
	ASSERT_INT_EQ(r.inv.queue_max_depth, 16);
	ASSERT_TRUE(json_is_array(r.inv.mcp_servers));
	done(&r);
	TEST_DONE();

	TEST_START("seconds to milliseconds, defaults");
	parse(&r, ARGS("--timeout", "0.0001", "--ttl", "0.0004", "exec", "x"));
	ASSERT_INT_EQ(r.inv.timeout_ms, 1);
	ASSERT_INT_EQ(r.inv.ttl_ms, 1);
	done(&r);
	parse(&r, ARGS("--timeout", "0x10", "exec", "x"));
	ASSERT_INT_EQ(r.inv.timeout_ms, 16000);
	ASSERT_INT_EQ(r.inv.ttl_ms, 300000);
	done(&r);
	parse(&r, ARGS("exec", "x"));
	ASSERT_INT_EQ(r.inv.timeout_ms, -1);
	ASSERT_INT_EQ(r.inv.format, ACPX_FORMAT_TEXT);
	ASSERT_PTR_NULL(r.inv.allowed_tools);
	done(&r);
	TEST_DONE();

	TEST_START("model, tools, turns, prompts, retries, policy, modes");
	parse(&r, ARGS("--model", " m1 ", "--allowed-tools", " a , b ",
	    "--max-turns", "3", "--append-system-prompt", " more ",
	    "--prompt-retries", "2", "--deny-all", "--auth-policy", "fail",
	    "--non-interactive-permissions", "fail", "--policy",
	    "{\"autoApprove\":[\" read \"],\"defaultAction\":\"deny\"}",
	    "exec", "x"));
	ASSERT_INT_EQ(r.rc, 0);
	ASSERT_STR_EQ(r.inv.model, "m1");
	s = js_json_dumps(r.inv.allowed_tools, 0);
	ASSERT_STR_EQ(s, "[\"a\",\"b\"]");
	free(s);
	ASSERT_INT_EQ(r.inv.max_turns, 3);
	ASSERT_PTR_NULL(r.inv.system_prompt);
	ASSERT_STR_EQ(r.inv.append_system_prompt, "more");
	ASSERT_INT_EQ(r.inv.prompt_retries, 2);
	ASSERT_INT_EQ(r.inv.perm_mode, ACPX_PERM_DENY_ALL);
	ASSERT_INT_EQ(r.inv.auth_policy, ACPX_AUTH_FAIL);
	ASSERT_INT_EQ(r.inv.nonint, ACPX_NONINT_FAIL);
	s = js_json_dumps(r.inv.permission_policy, 0);
	ASSERT_STR_EQ(s, "{\"autoApprove\":[\"read\"],\"defaultAction\":"
	    "\"deny\"}");
	free(s);
	done(&r);
	parse(&r, ARGS("--allowed-tools", "", "exec", "x"));
	s = js_json_dumps(r.inv.allowed_tools, 0);
	ASSERT_STR_EQ(s, "[]");
	free(s);
	done(&r);
	TEST_DONE();

	TEST_START("config supplies defaults; flags win");
	project("{\"format\":\"json\",\"defaultPermissions\":\"approve-all\","
	    "\"timeout\":2,\"defaultAgent\":\"Mock\",\"agents\":{\"mock\":"
	    "{\"argv\":[\"m\",\"a b\"]}},\"disableExec\":false}");
	parse(&r, ARGS("exec", "x"));
	ASSERT_INT_EQ(r.inv.format, ACPX_FORMAT_JSON);
	ASSERT_INT_EQ(r.inv.perm_mode, ACPX_PERM_APPROVE_ALL);
	ASSERT_INT_EQ(r.inv.timeout_ms, 2000);
	ASSERT_STR_EQ(r.inv.agent.name, "mock");
	ASSERT_STR_EQ(r.inv.agent.command, "m \"a b\"");
	if (r.inv.agent.argv != NULL)
		ASSERT_STR_EQ(r.inv.agent.argv[1], "a b");
	done(&r);
	parse(&r, ARGS("--format", "text", "--approve-reads", "MOCK", "exec",
	    "x"));
	ASSERT_INT_EQ(r.inv.format, ACPX_FORMAT_TEXT);
	ASSERT_INT_EQ(r.inv.perm_mode, ACPX_PERM_APPROVE_READS);
	ASSERT_STR_EQ(r.inv.agent.name, "MOCK");
	ASSERT_STR_EQ(r.inv.agent.command, "m \"a b\"");
	done(&r);
	project("{\"disableExec\":true}");
	parse(&r, ARGS("--approve-all", "--deny-all", "exec", "x"));
	ASSERT_INT_EQ(r.rc, -1);
	if (r.err != NULL) {
		ASSERT_INT_EQ(r.err->code, ACPX_CODE_EXEC_DISABLED);
		ASSERT_INT_EQ(acpx_error_exit(r.err), 1);
	}
	done(&r);
	project("{\"ttl\":-1}");
	parse(&r, ARGS("--format", "json", "config", "show"));
	ASSERT_INT_EQ(r.rc, -1);
	ASSERT_INT_EQ(r.fmt, ACPX_FORMAT_JSON);
	if (r.err != NULL) {
		xasprintf(&want, "Invalid config ttl in %s/.acpxrc.json: expected "
		    "non-negative seconds", work);
		ASSERT_STR_EQ(r.err->message, want);
		free(want);
		ASSERT_INT_EQ(r.err->code, ACPX_CODE_RUNTIME);
	}
	done(&r);
	project(NULL);
	TEST_DONE();

	TEST_START("agent-token detection and agent resolution");
	parse(&r, ARGS("myagent", "exec", "hi"));
	ASSERT_STR_EQ(r.inv.agent.name, "myagent");
	ASSERT_STR_EQ(r.inv.agent.command, "myagent");
	done(&r);
	parse(&r, ARGS("--cwd", ".", "factory-droid", "exec", "hi"));
	ASSERT_STR_EQ(r.inv.agent.command, "droid exec --output-format acp");
	done(&r);
	parse(&r, ARGS("Codex", "exec", "hi"));
	ASSERT_STR_EQ(r.inv.agent.name, "Codex");
	ASSERT_STR_EQ(r.inv.agent.command,
	    "npx -y @agentclientprotocol/codex-acp@^1.1.5");
	done(&r);
	parse(&r, ARGS("demo", "exec", "hi"));
	ASSERT_STR_EQ(r.inv.agent.command, "acpx-demo-agent");
	if (r.inv.agent.argv != NULL)
		ASSERT_TRUE(strstr(r.inv.agent.argv[0], "acpx-demo-agent") !=
		    NULL);
	done(&r);
	parse(&r, ARGS("summarize the repo", "--format", "json"));
	ASSERT_STR_EQ(r.inv.verb, "prompt");
	ASSERT_STR_EQ(r.inv.agent.name, "codex");
	ASSERT_INT_EQ(r.inv.format, ACPX_FORMAT_JSON);
	check_words(&r.inv, ARGS("summarize the repo"));
	done(&r);
	parse(&r, ARGS("--", "exec", "hi"));
	ASSERT_STR_EQ(r.inv.verb, "exec");
	done(&r);
	parse(&r, ARGS("--agent", "x", "exec", "-5", "--", "--approve-all"));
	check_words(&r.inv, ARGS("-5", "--approve-all"));
	ASSERT_INT_EQ(r.inv.perm_mode, ACPX_PERM_APPROVE_READS);
	done(&r);
	parse(&r, ARGS("--agent", "'x", "exec", "hi"));
	ASSERT_INT_EQ(r.rc, -1);
	if (r.err != NULL)
		ASSERT_STR_EQ(r.err->message,
		    "Invalid --agent command: unterminated quote");
	done(&r);
	parse(&r, ARGS("--agent", "'x", "status"));
	ASSERT_INT_EQ(r.rc, 0);
	ASSERT_PTR_NULL(r.inv.agent.argv);
	ASSERT_STR_EQ(r.inv.agent.argv_error,
	    "Invalid --agent command: unterminated quote");
	done(&r);
	TEST_DONE();

	TEST_START("agent-level options and prompt words");
	parse(&r, ARGS("codex", "-s", " s1 ", "--no-wait", "-f", "p", "hi",
	    "-s", "x", "--", "--approve-all"));
	ASSERT_INT_EQ(r.rc, 0);
	ASSERT_STR_EQ(r.inv.verb, "prompt");
	ASSERT_STR_EQ(r.inv.session, "s1");
	ASSERT_INT_EQ(r.inv.no_wait, 1);
	ASSERT_STR_EQ(r.inv.file, "p");
	check_words(&r.inv, ARGS("hi", "-s", "x", "--", "--approve-all"));
	ASSERT_TRUE(r.run != NULL && r.run != cmd_exec_run);
	done(&r);
	parse(&r, ARGS("codex", "-sfoo", "--no-wait", "prompt", "x"));
	ASSERT_STR_EQ(r.inv.session, "foo");
	ASSERT_INT_EQ(r.inv.no_wait, 1);
	done(&r);
	parse(&r, ARGS("codex", "-f", "a.txt", "exec", "x"));
	ASSERT_STR_EQ(r.inv.file, "a.txt");
	done(&r);
	parse(&r, ARGS("codex", "-s", "foo", "sessions", "new"));
	ASSERT_PTR_NULL(r.inv.session);
	ASSERT_STR_EQ(r.inv.subverb, "new");
	done(&r);
	parse(&r, ARGS("codex", "-s", "foo", "sessions", "watch"));
	ASSERT_STR_EQ(r.inv.session, "foo");
	done(&r);
	TEST_DONE();

	TEST_START("superset: global options after the agent and the verb");
	parse(&r, ARGS("codex", "-s", "x", "--cwd", "/tmp", "--format",
	    "quiet", "hi"));
	ASSERT_INT_EQ(r.rc, 0);
	ASSERT_STR_EQ(r.inv.verb, "prompt");
	ASSERT_STR_EQ(r.inv.session, "x");
	ASSERT_STR_EQ(r.inv.cwd, "/tmp");
	ASSERT_INT_EQ(r.inv.format, ACPX_FORMAT_QUIET);
	check_words(&r.inv, ARGS("hi"));
	done(&r);
	parse(&r, ARGS("codex", "exec", "--cwd", "/tmp", "hi", "--format=json",
	    "--approve-all"));
	ASSERT_STR_EQ(r.inv.verb, "exec");
	ASSERT_STR_EQ(r.inv.cwd, "/tmp");
	ASSERT_INT_EQ(r.inv.format, ACPX_FORMAT_JSON);
	ASSERT_INT_EQ(r.inv.perm_mode, ACPX_PERM_APPROVE_ALL);
	check_words(&r.inv, ARGS("hi"));
	done(&r);
	parse(&r, ARGS("codex", "hi", "--format", "json"));
	ASSERT_INT_EQ(r.inv.format, ACPX_FORMAT_TEXT);
	check_words(&r.inv, ARGS("hi", "--format", "json"));
	done(&r);
	parse(&r, ARGS("exec", "--format", "xml", "x"));
	ASSERT_INT_EQ(r.rc, -1);
	if (r.err != NULL)
		ASSERT_TRUE(r.err->flags & ACPX_ERROR_PARSE);
	done(&r);
	parse(&r, ARGS("exec", "--approve-all", "--json-strict", "--deny-all",
	    "x"));
	ASSERT_INT_EQ(r.rc, -1);
	ASSERT_INT_EQ(r.fmt, ACPX_FORMAT_JSON);
	done(&r);
	/* The project config of a late --cwd is the one that counts. */
	mkdir("w2", 0700);
	{
		FILE *f = fopen("w2/.acpxrc.json", "w");

		fputs("{\"agents\":{\"late\":{\"command\":\"late-agent\"}}}", f);
		fclose(f);
	}
	parse(&r, ARGS("late", "exec", "--cwd", "w2", "hi"));
	ASSERT_STR_EQ(r.inv.agent.command, "late-agent");
	done(&r);
	TEST_DONE();

	TEST_START("sessions, compare, config, warp and completion options");
	parse(&r, ARGS("sessions", "history", " n1 ", "--limit", "5"));
	ASSERT_STR_EQ(r.inv.verb, "sessions");
	ASSERT_STR_EQ(r.inv.subverb, "history");
	ASSERT_STR_EQ(r.inv.session, "n1");
	ASSERT_STR_EQ(jget_str(r.inv.verb_opts, "limit"), "5");
	done(&r);
	parse(&r, ARGS("sessions", "history"));
	ASSERT_STR_EQ(jget_str(r.inv.verb_opts, "limit"), "20");
	done(&r);
	parse(&r, ARGS("sessions"));
	ASSERT_STR_EQ(r.inv.subverb, "list");
	done(&r);
	parse(&r, ARGS("sessions", "export", "--output", "o.json", "--cwd", "c"));
	ASSERT_STR_EQ(jget_str(r.inv.verb_opts, "output"), "o.json");
	ASSERT_STR_EQ(jget_str(r.inv.verb_opts, "cwd"), "c");
	ASSERT_STR_EQ(r.inv.cwd, work);
	done(&r);
	parse(&r, ARGS("sessions", "import", "a.json", "--name", "n"));
	check_words(&r.inv, ARGS("a.json"));
	ASSERT_STR_EQ(r.inv.session, "n");
	done(&r);
	parse(&r, ARGS("sessions", "prune", "--dry-run", "--before",
	    "2026-01-01", "--older-than", "3"));
	ASSERT_TRUE(json_is_true(json_object_get(r.inv.verb_opts, "dry-run")));
	ASSERT_STR_EQ(jget_str(r.inv.verb_opts, "before"), "2026-01-01");
	ASSERT_STR_EQ(jget_str(r.inv.verb_opts, "older-than"), "3");
	done(&r);
	parse(&r, ARGS("compare", "--json", "a", "b", "--", "do", "it"));
	ASSERT_STR_EQ(r.inv.verb, "compare");
	ASSERT_INT_EQ(r.inv.format, ACPX_FORMAT_JSON);
	ASSERT_INT_EQ(r.inv.timeout_ms, 300000);
	check_words(&r.inv, ARGS("do", "it"));
	s = js_json_dumps(json_object_get(r.inv.verb_opts, "agents"), 0);
	ASSERT_STR_EQ(s, "[\"a\",\"b\"]");
	free(s);
	done(&r);
	parse(&r, ARGS("compare", "--cwd", "sub", "a", "b", "say hi"));
	xasprintf(&want, "%s/sub", work);
	ASSERT_STR_EQ(r.inv.cwd, want);
	free(want);
	check_words(&r.inv, ARGS("say hi"));
	done(&r);
	parse(&r, ARGS("config"));
	ASSERT_TRUE(r.run == cmd_config_run);
	ASSERT_STR_EQ(r.inv.subverb, "show");
	done(&r);
	parse(&r, ARGS("config", "init", "--format", "quiet"));
	ASSERT_STR_EQ(r.inv.subverb, "init");
	ASSERT_INT_EQ(r.inv.format, ACPX_FORMAT_QUIET);
	done(&r);
	parse(&r, ARGS("--format", "json", "config", "show", "--format", "text"));
	ASSERT_INT_EQ(r.inv.format, ACPX_FORMAT_JSON);
	done(&r);
	parse(&r, ARGS("warp", "probe", "a", "b"));
	ASSERT_STR_EQ(r.inv.verb, "warp");
	ASSERT_STR_EQ(r.inv.subverb, "probe");
	check_words(&r.inv, ARGS("a", "b"));
	done(&r);
	parse(&r, ARGS("completion", "zsh"));
	ASSERT_STR_EQ(r.inv.verb, "completion");
	check_words(&r.inv, ARGS("zsh"));
	done(&r);
	check_sub_error(ARGS("completion", "tcsh"), "error: command-argument "
	    "value 'tcsh' is invalid for argument 'shell'. Shell must be one "
	    "of: bash, zsh, fish", "Usage: acpx completion [options] <shell>");
	TEST_DONE();

	TEST_START("the registry: 26 built-ins plus demo, aliases, raw names");
	ASSERT_INT_EQ(agent_registry_count(), 27);
	ASSERT_STR_EQ(agent_registry_name(0), "pi");
	ASSERT_STR_EQ(agent_registry_name(2), "codex");
	ASSERT_STR_EQ(agent_registry_name(25), "zeroclaw");
	ASSERT_STR_EQ(agent_registry_name(26), "demo");
	ASSERT_PTR_NULL(agent_registry_name(27));
	ASSERT_STR_EQ(agent_registry_canonical("factorydroid"), "droid");
	ASSERT_STR_EQ(agent_registry_display("claude"), "Claude Code");
	ASSERT_TRUE(agent_registry_is_builtin("qoder"));
	ASSERT_TRUE(!agent_registry_is_builtin("Qoder"));
	{
		struct agent_spec	spec;

		agent_registry_resolve(NULL, " Gemini ", NULL, &spec);
		ASSERT_STR_EQ(spec.command, "gemini --acp");
		ASSERT_STR_EQ(spec.name, " Gemini ");
		agent_registry_spec_clear(&spec);
		agent_registry_resolve(NULL, "antigravity", NULL, &spec);
		ASSERT_STR_EQ(spec.command, "agy_acp_server.par --uid=");
		agent_registry_spec_clear(&spec);
		agent_registry_resolve(NULL, "pi", NULL, &spec);
		ASSERT_STR_EQ(spec.command, "npx pi-acp@^0.0.33");
		agent_registry_spec_clear(&spec);
		agent_registry_resolve(NULL, "./my agent", NULL, &spec);
		ASSERT_STR_EQ(spec.command, "./my agent");
		if (spec.argv != NULL) {
			ASSERT_STR_EQ(spec.argv[0], "./my");
			ASSERT_STR_EQ(spec.argv[1], "agent");
		}
		agent_registry_spec_clear(&spec);
		agent_registry_resolve(NULL, "codex", "run 'it", &spec);
		ASSERT_STR_EQ(spec.name, "codex");
		ASSERT_STR_EQ(spec.command, "run 'it");
		ASSERT_PTR_NULL(spec.argv);
		ASSERT_STR_EQ(spec.argv_error,
		    "Invalid --agent command: unterminated quote");
		agent_registry_spec_clear(&spec);
	}
	TEST_DONE();

	/* cli_cmd_setup() registers the built-ins and the verbs unchecked. */
	TEST_START("built-in agent names: plain, distinct, never a verb");
	{
		const struct cmd_entry	*d;
		size_t			 i, j;
		const char		*a, *b;

		for (i = 0; (a = agent_registry_name(i)) != NULL; i++) {
			ASSERT_TRUE(*a != '\0' && strpbrk(a, " \r\n") == NULL &&
			    strstr(a, "\xe2\x80\xa8") == NULL &&
			    strstr(a, "\xe2\x80\xa9") == NULL);
			for (j = 0; j < i; j++)
				ASSERT_TRUE(strcmp(a, agent_registry_name(j)) != 0);
			ASSERT_PTR_NULL(cmd_find(&cmd_root_entry, a));
		}
		for (i = 0; (d = cmd_sub(&cmd_root_entry, i)) != NULL; i++) {
			for (j = 0; j < i; j++) {
				b = cmd_sub(&cmd_root_entry, j)->name;
				ASSERT_TRUE(strcmp(d->name, b) != 0 &&
				    (d->alias == NULL || strcmp(d->alias, b) != 0));
			}
			ASSERT_TRUE(cmd_find(&cmd_root_entry, d->name) == d);
		}
	}
	TEST_DONE();

	TEST_START("--skill and __queue-owner are refused");
	parse(&r, ARGS("--skill", "list"));
	ASSERT_INT_EQ(r.rc, -1);
	if (r.err != NULL)
		ASSERT_INT_EQ(acpx_error_exit(r.err), 1);
	done(&r);
	parse(&r, ARGS("__queue-owner"));
	ASSERT_INT_EQ(r.rc, 1);
	ASSERT_TRUE(starts(r.errtext, "[acpx] queue owner failed: "));
	done(&r);
	TEST_DONE();

	rmdir("sub");
	unlink("w2/.acpxrc.json");
	rmdir("w2");
	{
		char *p;

		xasprintf(&p, "%s/stdout", root);
		unlink(p);
		free(p);
		xasprintf(&p, "%s/stderr", root);
		unlink(p);
		free(p);
	}
	rmdir(work);
	rmdir(home);
	rmdir(root);
	free(work);
	free(home);
	return (tap_end());
}
