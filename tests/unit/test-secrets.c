/*
 * Unit tests for the Warp secrets file: every accepted line form, parse
 * errors naming file:line and never the value, the ownership/permission
 * refusal, lookups (file wins over the environment) and redaction.
 */
#include <config.h>

#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "secrets.h"
#include "xmalloc.h"
#include "tap.h"

static char	tmpdir[] = "/tmp/acpx-test-secrets.XXXXXX";

static struct secrets *
parse(const char *text, char **cause)
{
	*cause = NULL;
	return (secrets_parse(text, strlen(text), "/f/.env", cause));
}

static void
expect_value(const char *text, const char *name, const char *want)
{
	struct secrets	*s;
	char		*cause;

	s = parse(text, &cause);
	ASSERT_PTR_NOT_NULL(s);
	if (s == NULL) {
		TAP_FAIL("parse failed: %s", cause);
		free(cause);
		return;
	}
	if (want == NULL)
		ASSERT_PTR_NULL(secrets_get(s, name));
	else
		ASSERT_STR_EQ(secrets_get(s, name), want);
	secrets_free(s);
}

static void
expect_error(const char *text, const char *where, const char *value)
{
	struct secrets	*s;
	char		*cause;

	s = parse(text, &cause);
	ASSERT_PTR_NULL(s);
	ASSERT_PTR_NOT_NULL(cause);
	if (cause == NULL)
		return;
	if (strstr(cause, where) == NULL)
		TAP_FAIL("message \"%s\" lacks \"%s\"", cause, where);
	if (value != NULL && strstr(cause, value) != NULL)
		TAP_FAIL("message \"%s\" shows the value", cause);
	secrets_free(s);
	free(cause);
}

static char *
write_file(const char *name, const char *text, mode_t mode)
{
	char	*path;
	int	 fd;

	xasprintf(&path, "%s/%s", tmpdir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd == -1 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		perror(path);
	close(fd);
	chmod(path, mode);
	return (path);
}

static void
test_forms(void)
{
	TEST_START("KEY=value");
	expect_value("WARP_A_API_KEY=abc123\n", "WARP_A_API_KEY", "abc123");
	TEST_DONE();

	TEST_START("export prefix, one or more blanks");
	expect_value("export  WARP_A_API_KEY=abc\n", "WARP_A_API_KEY", "abc");
	expect_value("export\tWARP_A_API_KEY=abc\n", "WARP_A_API_KEY", "abc");
	TEST_DONE();

	TEST_START("double and single quotes are removed once");
	expect_value("K=\"a b # c\"\n", "K", "a b # c");
	expect_value("K='it \"is\" x'\n", "K", "it \"is\" x");
	expect_value("K=\"\"\n", "K", NULL);
	TEST_DONE();

	TEST_START("blank lines, comments, CRLF, leading and trailing blanks");
	expect_value("\n# comment\n   # indented comment\r\n\t\n  K=v  \r\n",
	    "K", "v");
	TEST_DONE();

	TEST_START("'#' and '=' inside an unquoted value are kept");
	expect_value("K=a#b=c\n", "K", "a#b=c");
	TEST_DONE();

	TEST_START("no final newline; a later line wins");
	expect_value("K=one\nK=two", "K", "two");
	TEST_DONE();

	TEST_START("export as a variable name is a name");
	expect_value("exported=1\n", "exported", "1");
	TEST_DONE();
}

static void
test_errors(void)
{
	TEST_START("a line without '=' names file and line");
	expect_error("A=1\nSECRETVALUE99\n", "/f/.env:2:", "SECRETVALUE99");
	TEST_DONE();

	TEST_START("a name starting with a digit");
	expect_error("1K=SECRETVALUE99\n", "/f/.env:1:", "SECRETVALUE99");
	TEST_DONE();

	TEST_START("blanks before '='");
	expect_error("# x\n\nK =SECRETVALUE99\n", "/f/.env:3:", "SECRETVALUE99");
	TEST_DONE();

	TEST_START("unterminated quote");
	expect_error("K=\"SECRETVALUE99\n", "/f/.env:1: unterminated quote",
	    "SECRETVALUE99");
	TEST_DONE();

	TEST_START("text after the closing quote");
	expect_error("K='SECRETVALUE99'x\n", "/f/.env:1: text after",
	    "SECRETVALUE99");
	TEST_DONE();

	TEST_START("blanks in an unquoted value (inline comment)");
	expect_error("K=SECRETVALUE99 # note\n", "/f/.env:1: blanks",
	    "SECRETVALUE99");
	TEST_DONE();

	TEST_START("invalid character in a name");
	expect_error("K-X=SECRETVALUE99\n", "/f/.env:1: invalid character",
	    "SECRETVALUE99");
	TEST_DONE();

	TEST_START("a NUL byte");
	{
		struct secrets	*s;
		char		*cause = NULL;

		s = secrets_parse("K=a\0b\n", 6, "/f/.env", &cause);
		ASSERT_PTR_NULL(s);
		ASSERT_TRUE(cause != NULL && strstr(cause, "NUL") != NULL);
		free(cause);
	}
	TEST_DONE();
}

static void
test_lookup(void)
{
	struct secrets	*s;
	char		*cause;

	TEST_START("file values win over the environment; env fills gaps");
	setenv("WARP_T_API_KEY", "from-env", 1);
	setenv("WARP_T_BASE_URL", "http://env.example/v1", 1);
	setenv("WARP_T_EMPTY", "from-env-2", 1);
	s = parse("WARP_T_API_KEY=from-file\nWARP_T_EMPTY=\n", &cause);
	ASSERT_STR_EQ(secrets_get(s, "WARP_T_API_KEY"), "from-file");
	ASSERT_STR_EQ(secrets_source(s, "WARP_T_API_KEY"), "file");
	ASSERT_STR_EQ(secrets_get(s, "WARP_T_BASE_URL"),
	    "http://env.example/v1");
	ASSERT_STR_EQ(secrets_source(s, "WARP_T_BASE_URL"), "environment");
	ASSERT_STR_EQ(secrets_get(s, "WARP_T_EMPTY"), "from-env-2");
	ASSERT_PTR_NULL(secrets_get(s, "WARP_T_NOTHING"));
	ASSERT_PTR_NULL(secrets_source(s, "WARP_T_NOTHING"));
	ASSERT_INT_EQ(secrets_count(s), 2);
	secrets_free(s);
	unsetenv("WARP_T_API_KEY");
	unsetenv("WARP_T_BASE_URL");
	unsetenv("WARP_T_EMPTY");
	TEST_DONE();
}

static void
test_redact(void)
{
	struct secrets	*s;
	char		*cause, *r;

	TEST_START("redaction hides keys, not URLs or short values");
	setenv("WARP_ENVONLY_API_KEY", "env-secret-42", 1);
	s = parse("WARP_R_API_KEY=sk-sentinel-123\nWARP_R_BASE_URL="
	    "http://127.0.0.1:9/v1\nSHORT=ab\n", &cause);
	r = secrets_redact(s, "key sk-sentinel-123 at http://127.0.0.1:9/v1, "
	    "again sk-sentinel-123, env env-secret-42, ab");
	ASSERT_STR_EQ(r, "key [redacted] at http://127.0.0.1:9/v1, again "
	    "[redacted], env [redacted], ab");
	ASSERT_TRUE(secrets_leaks(s, "x sk-sentinel-123 y"));
	ASSERT_TRUE(!secrets_leaks(s, r));
	free(r);
	secrets_free(s);
	unsetenv("WARP_ENVONLY_API_KEY");
	TEST_DONE();
}

static void
test_files(void)
{
	struct secrets		*s;
	enum secrets_status	 st;
	char			*path, *link, *cause = NULL, *want;

	TEST_START("a 0600 file of ours loads");
	path = write_file("ok.env", "WARP_F_API_KEY=k1\n", 0600);
	s = secrets_load(path, &st, &cause);
	ASSERT_PTR_NOT_NULL(s);
	ASSERT_INT_EQ(st, SECRETS_OK);
	ASSERT_STR_EQ(secrets_get(s, "WARP_F_API_KEY"), "k1");
	ASSERT_STR_EQ(secrets_file(s), path);
	secrets_free(s);
	free(path);
	TEST_DONE();

	TEST_START("a 0644 file is refused with the chmod 600 fix");
	path = write_file("open.env", "WARP_F_API_KEY=SECRETVALUE99\n", 0644);
	cause = NULL;
	s = secrets_load(path, &st, &cause);
	ASSERT_PTR_NULL(s);
	ASSERT_INT_EQ(st, SECRETS_INSECURE);
	ASSERT_STR_EQ(secrets_status_code(st), "WARP_ENV_INSECURE");
	xasprintf(&want, "chmod 600 %s", path);
	ASSERT_TRUE(cause != NULL && strstr(cause, want) != NULL);
	ASSERT_TRUE(cause != NULL && strstr(cause, "SECRETVALUE99") == NULL);
	ASSERT_TRUE(cause != NULL && strstr(cause, "0644") != NULL);
	free(want);
	free(cause);
	TEST_DONE();

	TEST_START("a group-readable (0640) file is refused");
	chmod(path, 0640);
	cause = NULL;
	ASSERT_PTR_NULL(secrets_load(path, &st, &cause));
	ASSERT_INT_EQ(st, SECRETS_INSECURE);
	free(cause);
	TEST_DONE();

	TEST_START("a symlink is refused (even to a good file)");
	chmod(path, 0600);
	xasprintf(&link, "%s/link.env", tmpdir);
	unlink(link);
	if (symlink(path, link) == -1)
		perror("symlink");
	cause = NULL;
	ASSERT_PTR_NULL(secrets_load(link, &st, &cause));
	ASSERT_INT_EQ(st, SECRETS_INSECURE);
	ASSERT_TRUE(cause != NULL && strstr(cause, "symbolic link") != NULL);
	free(cause);
	free(link);
	TEST_DONE();

	TEST_START("a file owned by someone else is refused");
	if (geteuid() == 0) {
		if (chown(path, 65534, 65534) == -1)
			perror("chown");
		cause = NULL;
		ASSERT_PTR_NULL(secrets_load(path, &st, &cause));
		ASSERT_INT_EQ(st, SECRETS_INSECURE);
		ASSERT_TRUE(cause != NULL && strstr(cause, "owned by uid 65534")
		    != NULL);
		free(cause);
	} else
		printf("# (skipped: needs root to chown)\n");
	free(path);
	TEST_DONE();

	TEST_START("a missing file, a directory, a malformed file");
	xasprintf(&path, "%s/none.env", tmpdir);
	cause = NULL;
	ASSERT_PTR_NULL(secrets_load(path, &st, &cause));
	ASSERT_INT_EQ(st, SECRETS_MISSING);
	ASSERT_STR_EQ(secrets_status_code(st), "WARP_ENV_MISSING");
	ASSERT_TRUE(cause != NULL && strstr(cause, path) != NULL);
	free(cause);
	free(path);
	cause = NULL;
	ASSERT_PTR_NULL(secrets_load(tmpdir, &st, &cause));
	ASSERT_INT_EQ(st, SECRETS_INSECURE);
	free(cause);
	path = write_file("bad.env", "A=1\nB=2\nnot a line SECRETVALUE99\n",
	    0600);
	cause = NULL;
	ASSERT_PTR_NULL(secrets_load(path, &st, &cause));
	ASSERT_INT_EQ(st, SECRETS_INVALID);
	xasprintf(&want, "%s:3:", path);
	ASSERT_TRUE(cause != NULL && strstr(cause, want) != NULL);
	ASSERT_TRUE(cause != NULL && strstr(cause, "SECRETVALUE99") == NULL);
	free(want);
	free(cause);
	free(path);
	TEST_DONE();

	TEST_START("an empty file loads with no variables");
	path = write_file("empty.env", "", 0600);
	s = secrets_load(path, &st, &cause);
	ASSERT_PTR_NOT_NULL(s);
	ASSERT_INT_EQ(secrets_count(s), 0);
	secrets_free(s);
	free(path);
	TEST_DONE();
}

static void
test_path(void)
{
	char	*p;

	TEST_START("secrets file location: env, config, default");
	unsetenv(SECRETS_ENV_FILE_VAR);
	p = secrets_path("/home/u", NULL);
	ASSERT_STR_EQ(p, "/home/u/.openclaw/.env");
	free(p);
	p = secrets_path("/home/u", "~/secrets/warp.env");
	ASSERT_STR_EQ(p, "/home/u/secrets/warp.env");
	free(p);
	p = secrets_path("/home/u", "rel.env");
	ASSERT_STR_EQ(p, "/home/u/rel.env");
	free(p);
	setenv(SECRETS_ENV_FILE_VAR, "/etc/x.env", 1);
	p = secrets_path("/home/u", "~/secrets/warp.env");
	ASSERT_STR_EQ(p, "/etc/x.env");
	free(p);
	setenv(SECRETS_ENV_FILE_VAR, "", 1);
	p = secrets_path("/home/u", NULL);
	ASSERT_STR_EQ(p, "/home/u/.openclaw/.env");
	free(p);
	unsetenv(SECRETS_ENV_FILE_VAR);
	TEST_DONE();
}

int
main(void)
{
	char	cmd[128];
	int	rc;

	xmalloc_init();
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return (1);
	}
	test_forms();
	test_errors();
	test_lookup();
	test_redact();
	test_files();
	test_path();
	rc = tap_end();
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		rc = 1;
	return (rc);
}
