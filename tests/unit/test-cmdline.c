/*
 * cmdline: the raw agent command splitter (spec acpx-cli.md §7.3), argv
 * identity strings (§6.3), JavaScript trim/whitespace and UTF-16 lengths.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmdline.h"
#include "js.h"
#include "xmalloc.h"

#include "tap.h"

/* Split s and compare with the expected words (NULL-terminated). */
static void
check_split(const char *s, const char *const *want)
{
	char	**argv = NULL, *cause = NULL;
	size_t	  i, n = 0;

	while (want[n] != NULL)
		n++;
	if (cmdline_split(s, &argv, &cause) == -1) {
		TAP_FAIL("split \"%s\" failed: %s", s, cause);
		free(cause);
		return;
	}
	ASSERT_INT_EQ(cmdline_count(argv), n);
	for (i = 0; i < n && argv[i] != NULL; i++)
		ASSERT_STR_EQ(argv[i], want[i]);
	cmdline_free(argv);
}

static void
check_split_error(const char *s, const char *want)
{
	char	**argv = NULL, *cause = NULL;

	ASSERT_INT_EQ(cmdline_split(s, &argv, &cause), -1);
	ASSERT_PTR_NULL(argv);
	ASSERT_STR_EQ(cause, want);
	free(cause);
}

static void
check_identity(const char *const *argv, const char *want)
{
	char	*id = cmdline_identity((char *const *)argv);

	ASSERT_STR_EQ(id, want);
	free(id);
}

static void
check_trim(const char *s, const char *want)
{
	char	*t = js_trim_dup(s);

	ASSERT_STR_EQ(t, want);
	free(t);
}

int
main(void)
{
	xmalloc_init();

	TEST_START("split on whitespace runs, tabs and newlines");
	check_split("node  agent.js\t--flag\n x",
	    (const char *[]){ "node", "agent.js", "--flag", "x", NULL });
	check_split("  lead and trail  ",
	    (const char *[]){ "lead", "and", "trail", NULL });
	TEST_DONE();

	TEST_START("split on Unicode whitespace (JS \\s)");
	check_split("a\xc2\xa0" "b\xe3\x80\x80" "c\xe2\x80\xa8" "d",
	    (const char *[]){ "a", "b", "c", "d", NULL });
	check_split("x\xc3\xa9y", (const char *[]){ "x\xc3\xa9y", NULL });
	TEST_DONE();

	TEST_START("single quotes are literal, backslashes included");
	check_split("echo 'a b\\n' c",
	    (const char *[]){ "echo", "a b\\n", "c", NULL });
	check_split("'it''s'", (const char *[]){ "its", NULL });
	TEST_DONE();

	TEST_START("double quotes honour backslash escapes");
	check_split("say \"a \\\"b\\\" \\\\ c\"",
	    (const char *[]){ "say", "a \"b\" \\ c", NULL });
	check_split("\"x\\'y\"", (const char *[]){ "x'y", NULL });
	TEST_DONE();

	TEST_START("backslash outside quotes escapes the next character");
	check_split("a\\ b c", (const char *[]){ "a b", "c", NULL });
	check_split("\\'x", (const char *[]){ "'x", NULL });
	TEST_DONE();

	TEST_START("a trailing lone backslash is kept");
	check_split("cmd arg\\", (const char *[]){ "cmd", "arg\\", NULL });
	check_split("cmd \\", (const char *[]){ "cmd", "\\", NULL });
	TEST_DONE();

	TEST_START("empty quotes make an empty argument");
	check_split("cmd '' \"\" x",
	    (const char *[]){ "cmd", "", "", "x", NULL });
	check_split("a\"\"b", (const char *[]){ "ab", NULL });
	TEST_DONE();

	TEST_START("unterminated quotes are errors");
	check_split_error("foo 'bar",
	    "Invalid --agent command: unterminated quote");
	check_split_error("foo \"bar\\\"",
	    "Invalid --agent command: unterminated quote");
	TEST_DONE();

	TEST_START("empty commands are errors");
	check_split_error("", "Invalid --agent command: empty command");
	check_split_error("   \t ", "Invalid --agent command: empty command");
	check_split_error("'' x", "Invalid --agent command: empty command");
	TEST_DONE();

	TEST_START("identity keeps safe words and JSON-quotes the rest");
	check_identity((const char *[]){ "node", "/x/a.mjs", "--flag=1",
	    "@scope/pkg@^1.2.3", "a,b:c~d", NULL },
	    "node /x/a.mjs --flag=1 @scope/pkg@^1.2.3 a,b:c~d");
	check_identity((const char *[]){ "a b", "c", "", "$HOME", "q\"\n",
	    NULL }, "\"a b\" c \"\" \"$HOME\" \"q\\\"\\n\"");
	TEST_DONE();

	TEST_START("legacy identity quotes every argument");
	{
		char	*id;

		id = cmdline_legacy_identity("node",
		    (char *const[]){ "/x/a.mjs", "plain", NULL });
		ASSERT_STR_EQ(id, "node \"/x/a.mjs\" \"plain\"");
		free(id);
		id = cmdline_legacy_identity("node", (char *const[]){ NULL });
		ASSERT_STR_EQ(id, "node");
		free(id);
	}
	TEST_DONE();

	TEST_START("trim removes JavaScript whitespace only at the ends");
	check_trim("  a b \t\n", "a b");
	check_trim("\xef\xbb\xbf" "x\xc2\xa0", "x");
	check_trim("\xe2\x80\x80 mid\xe3\x80\x80" "dle \xe2\x81\x9f",
	    "mid\xe3\x80\x80" "dle");
	check_trim(" \t ", "");
	ASSERT_TRUE(js_blank(" \xc2\xa0\n"));
	ASSERT_TRUE(!js_blank(" x "));
	TEST_DONE();

	TEST_START("UTF-16 length counts astral characters twice");
	ASSERT_INT_EQ(js_strlen("abc"), 3);
	ASSERT_INT_EQ(js_strlen("caf\xc3\xa9"), 4);
	ASSERT_INT_EQ(js_strlen("\xf0\x9f\x98\x80!"), 3);
	TEST_DONE();

	return (tap_end());
}
