/*
 * prompt-input: prompt sources (file, words, stdin), the structured
 * content-block form and every validation message of the reference's
 * prompt-content.ts, and the promptCapabilities check (spec acpx-cli.md
 * §1.5).
 */
#include <config.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "acpx-error.h"
#include "cli.h"
#include "js-json.h"
#include "prompt-input.h"
#include "xmalloc.h"

#include "tap.h"

static char	*work;

/* Parse a source; compare the compact JSON or the error message. */
static void
check_parse(const char *src, const char *want_json, const char *want_err)
{
	struct acpx_error	*err = NULL;
	json_t			*v;
	char			*s;

	v = prompt_input_parse(src, strlen(src), &err);
	if (want_json != NULL) {
		ASSERT_PTR_NOT_NULL(v);
		if (v != NULL) {
			s = js_json_dumps(v, 0);
			ASSERT_STR_EQ(s, want_json);
			free(s);
		}
	} else {
		ASSERT_PTR_NULL(v);
		if (err != NULL) {
			ASSERT_STR_EQ(err->message, want_err);
			ASSERT_INT_EQ(err->code, ACPX_CODE_USAGE);
			ASSERT_INT_EQ(acpx_error_exit(err), 2);
		} else
			TAP_FAIL("no error for %s", src);
	}
	json_decref(v);
	acpx_error_free(err);
}

static void
write_file(const char *name, const char *text)
{
	char	*path;
	FILE	*f;

	xasprintf(&path, "%s/%s", work, name);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	free(path);
}

/* Point stdin at a file with this content. */
static void
set_stdin(const char *text)
{
	char	*path;
	int	 fd;

	write_file("stdin.txt", text);
	xasprintf(&path, "%s/stdin.txt", work);
	fd = open(path, O_RDONLY);
	dup2(fd, STDIN_FILENO);
	close(fd);
	free(path);
}

/* Read the prompt of an invocation; compare JSON or the error. */
static void
check_read(const char *file, char **words, int nwords, const char *want_json,
    enum acpx_code want_code, const char *want_err)
{
	struct prompt_input_src	 inv;
	struct acpx_error	*err = NULL;
	json_t			*v;
	char			*s;

	memset(&inv, 0, sizeof inv);
	inv.cwd = work;
	inv.file = (char *)file;
	inv.words = words;
	inv.nwords = nwords;
	v = prompt_input_read(&inv, &err);
	if (want_json != NULL) {
		ASSERT_PTR_NOT_NULL(v);
		if (v != NULL) {
			s = js_json_dumps(v, 0);
			ASSERT_STR_EQ(s, want_json);
			free(s);
		}
		if (err != NULL)
			TAP_FAIL("unexpected error %s", err->message);
	} else {
		ASSERT_PTR_NULL(v);
		if (err != NULL) {
			ASSERT_STR_EQ(err->message, want_err);
			ASSERT_INT_EQ(err->code, want_code);
		} else
			TAP_FAIL("no error for %s", file != NULL ? file : "words");
	}
	json_decref(v);
	acpx_error_free(err);
}

static void
check_caps(const char *blocks, const char *caps, const char *want_err)
{
	struct acpx_error	*err = NULL;
	json_t			*b, *c;
	int			 r;

	b = json_loads(blocks, 0, NULL);
	c = caps != NULL ? json_loads(caps, 0, NULL) : NULL;
	r = prompt_input_check_caps(b, c, &err);
	if (want_err == NULL) {
		ASSERT_INT_EQ(r, 0);
		ASSERT_PTR_NULL(err);
	} else {
		ASSERT_INT_EQ(r, -1);
		if (err != NULL) {
			ASSERT_STR_EQ(err->message, want_err);
			ASSERT_STR_EQ(err->detail_code,
			    "UNSUPPORTED_PROMPT_CONTENT");
			ASSERT_STR_EQ(err->origin, "acp");
			ASSERT_INT_EQ(acpx_error_exit(err), 2);
		}
	}
	json_decref(b);
	json_decref(c);
	acpx_error_free(err);
}

int
main(void)
{
	char	 tmpl[] = "/tmp/acpx-test-prompt.XXXXXX", *missing;
	char	*words[] = { "  and", "more  ", NULL };
	char	*blank[] = { "  ", "", NULL };

	xmalloc_init();
	work = mkdtemp(tmpl);

	TEST_START("plain text becomes one trimmed text block");
	check_parse("  hello\nworld \n", "[{\"type\":\"text\",\"text\":\"hello\\n"
	    "world\"}]", NULL);
	check_parse(" \n\t ", "[]", NULL);
	TEST_DONE();

	TEST_START("a valid content-block array is used as-is");
	check_parse(" [{\"type\":\"text\",\"text\":\"a\",\"x\":1},{\"type\":"
	    "\"image\",\"mimeType\":\"image/PNG\",\"data\":\"aGk=\"},{\"type\":"
	    "\"resource_link\",\"uri\":\"u\",\"name\":\"n\",\"title\":null},"
	    "{\"type\":\"resource\",\"resource\":{\"uri\":\"u\",\"blob\":\"b\"}}] ",
	    "[{\"type\":\"text\",\"text\":\"a\",\"x\":1},{\"type\":\"image\","
	    "\"mimeType\":\"image/PNG\",\"data\":\"aGk=\"},{\"type\":"
	    "\"resource_link\",\"uri\":\"u\",\"name\":\"n\",\"title\":null},"
	    "{\"type\":\"resource\",\"resource\":{\"uri\":\"u\",\"blob\":\"b\"}}]",
	    NULL);
	check_parse("[]", "[]", NULL);
	TEST_DONE();

	TEST_START("invalid JSON starting with [ is plain text");
	check_parse("[1,2", "[{\"type\":\"text\",\"text\":\"[1,2\"}]", NULL);
	check_parse("x [1]", "[{\"type\":\"text\",\"text\":\"x [1]\"}]", NULL);
	TEST_DONE();

	TEST_START("block validation messages");
	check_parse("[5]", NULL, "prompt[0] must be an ACP content block object");
	check_parse("[{\"text\":\"x\"}]", NULL,
	    "prompt[0] must be an ACP content block object");
	check_parse("[{\"type\":\"bogus\"}]", NULL,
	    "prompt[0] has unsupported content block type \"bogus\"");
	check_parse("[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"text\"}]",
	    NULL, "prompt[1] text block must include a string text field");
	check_parse("[{\"type\":\"image\",\"data\":\"aGk=\"}]", NULL,
	    "prompt[0] image block must include a non-empty mimeType");
	check_parse("[{\"type\":\"image\",\"mimeType\":\"text/plain\",\"data\":"
	    "\"aGk=\"}]", NULL, "prompt[0] image block mimeType must start with "
	    "image/");
	check_parse("[{\"type\":\"image\",\"mimeType\":\"image/png\",\"data\":"
	    "\"\"}]", NULL, "prompt[0] image block must include non-empty "
	    "base64 data");
	check_parse("[{\"type\":\"image\",\"mimeType\":\"image/png\",\"data\":"
	    "\"aGk\"}]", NULL, "prompt[0] image block data must be valid base64");
	check_parse("[{\"type\":\"image\",\"mimeType\":\"image/png\",\"data\":"
	    "\"a=Gk\"}]", NULL, "prompt[0] image block data must be valid base64");
	check_parse("[{\"type\":\"audio\",\"mimeType\":\"image/x\",\"data\":"
	    "\"aGk=\"}]", NULL, "prompt[0] audio block mimeType must start with "
	    "audio/");
	check_parse("[{\"type\":\"audio\",\"mimeType\":\" \",\"data\":\"x\"}]",
	    NULL, "prompt[0] audio block must include a non-empty mimeType");
	check_parse("[{\"type\":\"resource_link\",\"name\":\"x\"}]", NULL,
	    "prompt[0] resource_link block must include a non-empty uri");
	check_parse("[{\"type\":\"resource_link\",\"uri\":\"u\",\"name\":\"x\","
	    "\"title\":5}]", NULL, "prompt[0] resource_link block title must be a "
	    "string or null when present");
	check_parse("[{\"type\":\"resource_link\",\"uri\":\"u\"}]", NULL,
	    "prompt[0] resource_link block must include a string name");
	check_parse("[{\"type\":\"resource\"}]", NULL,
	    "prompt[0] resource block must include a resource object");
	check_parse("[{\"type\":\"resource\",\"resource\":{\"uri\":\"u\"}}]",
	    NULL, "prompt[0] resource block resource must include a non-empty "
	    "uri and a string text or blob field");
	TEST_DONE();

	TEST_START("words: joined with spaces and trimmed");
	check_read(NULL, words, 2, "[{\"type\":\"text\",\"text\":\"and more\"}]",
	    0, NULL);
	TEST_DONE();

	TEST_START("--file: content blocks plus the words as a separate block");
	write_file("p.json", "[{\"type\":\"text\",\"text\":\"a\"}]");
	check_read("p.json", words, 2, "[{\"type\":\"text\",\"text\":\"a\"},"
	    "{\"type\":\"text\",\"text\":\"and more\"}]", 0, NULL);
	write_file("e.txt", "  \n");
	check_read("e.txt", words, 2, "[{\"type\":\"text\",\"text\":"
	    "\"and more\"}]", 0, NULL);
	check_read("e.txt", blank, 2, NULL, ACPX_CODE_USAGE,
	    "Prompt from --file is empty");
	write_file("bad.json", "[{\"type\":\"bogus\"}]");
	check_read("bad.json", NULL, 0, NULL, ACPX_CODE_USAGE,
	    "prompt[0] has unsupported content block type \"bogus\"");
	xasprintf(&missing, "ENOENT: no such file or directory, open '%s/nope.txt'",
	    work);
	check_read("nope.txt", NULL, 0, NULL, ACPX_CODE_RUNTIME, missing);
	free(missing);
	TEST_DONE();

	TEST_START("stdin: parsed as a source; empty is an error");
	set_stdin("  piped text\n");
	check_read(NULL, NULL, 0, "[{\"type\":\"text\",\"text\":\"piped text\"}]",
	    0, NULL);
	set_stdin(" \n");
	check_read(NULL, blank, 2, NULL, ACPX_CODE_USAGE,
	    "Prompt from stdin is empty");
	set_stdin("[{\"type\":\"image\",\"mimeType\":\"image/png\",\"data\":"
	    "\"aGk=\"}]");
	check_read(NULL, NULL, 0, "[{\"type\":\"image\",\"mimeType\":"
	    "\"image/png\",\"data\":\"aGk=\"}]", 0, NULL);
	set_stdin("from stdin");
	check_read("-", words, 2, "[{\"type\":\"text\",\"text\":\"from stdin\"},"
	    "{\"type\":\"text\",\"text\":\"and more\"}]", 0, NULL);
	set_stdin("ignored");
	check_read("", words, 2, "[{\"type\":\"text\",\"text\":\"and more\"}]",
	    0, NULL);
	TEST_DONE();

	TEST_START("invalid UTF-8 in a prompt file becomes U+FFFD");
	write_file("u.txt", "caf\xc3\xa9 \xff ok");
	check_read("u.txt", NULL, 0, "[{\"type\":\"text\",\"text\":\"caf\xc3\xa9 "
	    "\xef\xbf\xbd ok\"}]", 0, NULL);
	TEST_DONE();

	TEST_START("promptCapabilities gate image, audio and resource blocks");
	check_caps("[{\"type\":\"text\",\"text\":\"a\"}]", NULL, NULL);
	check_caps("[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"image\"}]",
	    "{\"promptCapabilities\":{\"image\":false}}",
	    "prompt[1] image content requires "
	    "agentCapabilities.promptCapabilities.image");
	check_caps("[{\"type\":\"image\"}]",
	    "{\"promptCapabilities\":{\"image\":true}}", NULL);
	check_caps("[{\"type\":\"audio\"}]", "{}", "prompt[0] audio content "
	    "requires agentCapabilities.promptCapabilities.audio");
	check_caps("[{\"type\":\"resource_link\"},{\"type\":\"resource\"}]",
	    "{\"promptCapabilities\":{\"embeddedContext\":1}}",
	    "prompt[1] resource content requires "
	    "agentCapabilities.promptCapabilities.embeddedContext");
	TEST_DONE();

	{
		const char *names[] = { "p.json", "e.txt", "bad.json", "u.txt",
		    "stdin.txt" };
		size_t i;
		char *p;

		for (i = 0; i < nitems(names); i++) {
			xasprintf(&p, "%s/%s", work, names[i]);
			unlink(p);
			free(p);
		}
		rmdir(work);
	}
	return (tap_end());
}
