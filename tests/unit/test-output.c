/*
 * The renderers against bytes captured from the reference acpx 0.19.1.
 *
 * Each directory under tests/unit/output/ is one turn: messages.ndjson is
 * the turn's ACP traffic in wire order (the reference's own --format json
 * stdout), and the other files are what the reference printed for it:
 * text.out (stdout not a TTY), text-color.out (a TTY, via script(1)),
 * text-sr.out / json-sr.out (--suppress-reads), json.out, quiet.out and
 * quiet.err, text.err (top-level text errors). An optional error.json
 * names the acpx error the command layer shows after the stream ("turn":
 * output_turn_error, the queue path; "top": output_error) and for which
 * formats. A missing expected file means that variant is not checked; a
 * missing stderr file means stderr must be empty.
 *
 * "kinds" (from tests/mock-agent/scenarios/update-kinds.json) holds
 * session/update kinds that render nothing: unknown ones (which still end
 * a thinking section), known ones with no section, malformed ones (which
 * do not). The reference's SDK also writes its rejection of the unknown
 * kinds to stderr before any renderer sees them; that is not a renderer's
 * output, so no stderr is expected.
 */
#include <config.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "acpx-error.h"
#include "acpx.h"
#include "jget.h"
#include "output.h"
#include "xmalloc.h"
#include "tap.h"

static const char *cases[] = {
	"rich", "tools", "thinking", "thinkemoji", "quietfmt", "quietcost",
	"quietcost2", "agenterr", "notfound", "autherr", "ratelimit",
	"fsread", "nofs", "perm", "notice", "escalate", "empty", "nonl",
	"exec-timeout", "nosession", "queue-crash", "queue-timeout", "edge",
	"kinds"
};

static const struct {
	const char	*name;		/* expected stdout file stem */
	enum acpx_format format;
	int		 color;
	int		 suppress;
	const char	*err_file;	/* expected stderr, NULL = text/json default */
	const char	*fmt_name;	/* name used in error.json "formats" */
} variants[] = {
	{ "text", ACPX_FORMAT_TEXT, 0, 0, "text.err", "text" },
	{ "text-color", ACPX_FORMAT_TEXT, 1, 0, "text.err", "text" },
	{ "text-sr", ACPX_FORMAT_TEXT, 0, 1, "text.err", "text" },
	{ "json", ACPX_FORMAT_JSON, 0, 0, NULL, "json" },
	{ "json-sr", ACPX_FORMAT_JSON, 0, 1, NULL, "json" },
	{ "quiet", ACPX_FORMAT_QUIET, 0, 0, "quiet.err", "quiet" },
};

static char	*srcdir;

static char *
read_file(const char *dir, const char *name, size_t *len)
{
	char	*path, *buf = NULL;
	FILE	*f;
	size_t	 cap = 0, n;

	xasprintf(&path, "%s/unit/output/%s/%s", srcdir, dir, name);
	f = fopen(path, "rb");
	free(path);
	if (f == NULL)
		return (NULL);
	*len = 0;
	for (;;) {
		if (*len + 4096 + 1 > cap) {
			cap = cap == 0 ? 8192 : cap * 2;
			buf = xreallocarray(buf, 1, cap);
		}
		n = fread(buf + *len, 1, 4096, f);
		*len += n;
		if (n == 0)
			break;
	}
	buf[*len] = '\0';
	fclose(f);
	return (buf);
}

static enum acpx_code
code_from_name(const char *name)
{
	int	c;

	for (c = ACPX_CODE_RUNTIME; c <= ACPX_CODE_EXEC_DISABLED; c++) {
		if (strcmp(acpx_error_code_name(c), name) == 0)
			return (c);
	}
	return (ACPX_CODE_RUNTIME);
}

static struct acpx_error *
error_from_spec(const json_t *spec)
{
	struct acpx_error	*err;
	const char		*detail, *origin, *session;

	detail = jget_str(spec, "detail");
	origin = jget_str(spec, "origin");
	if (json_object_get(spec, "from_acp") != NULL)
		err = acpx_error_from_acp(json_object_get(spec, "from_acp"),
		    detail, origin);
	else
		err = acpx_error_new(code_from_name(jget_str(spec, "code")),
		    detail, origin, "%s", jget_str(spec, "message"));
	if ((session = jget_str(spec, "session")) != NULL)
		acpx_error_set_session(err, session);
	return (err);
}

static int
spec_applies(const json_t *spec, const char *fmt_name)
{
	const json_t	*f;
	size_t		 i;

	json_array_foreach(json_object_get(spec, "formats"), i, f) {
		if (strcmp(json_string_value(f), fmt_name) == 0)
			return (1);
	}
	return (0);
}

/* Compare bytes; report the first difference with some context. */
static void
check_bytes(const char *what, const char *got, size_t glen,
    const char *want, size_t wlen)
{
	size_t	i;

	for (i = 0; i < glen && i < wlen && got[i] == want[i]; i++)
		;
	if (i == glen && i == wlen)
		return;
	TAP_FAIL("%s differs at byte %zu (got %zu bytes, want %zu):\n"
	    "#   got  \"%.80s\"\n#   want \"%.80s\"", what, i, glen, wlen,
	    got + (i > 20 ? i - 20 : 0), want + (i > 20 ? i - 20 : 0));
}

/* Feed every line of messages.ndjson to o. */
static void
feed_messages(struct output *o, const char *msgs, size_t len)
{
	const char	*p = msgs, *end = msgs + len, *nl;
	json_error_t	 jerr;
	json_t		*m;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		if (nl > p) {
			m = json_loadb(p, (size_t)(nl - p), JSON_ALLOW_NUL,
			    &jerr);
			/* JS numbers beyond int64 only parse as reals. */
			if (m == NULL)
				m = json_loadb(p, (size_t)(nl - p),
				    JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL,
				    &jerr);
			if (m == NULL)
				TAP_FAIL("bad message line: %s", jerr.text);
			else {
				output_acp_message(o, m);
				json_decref(m);
			}
		}
		p = nl + 1;
	}
}

static void
run_case(const char *name)
{
	struct output_opts	 opts;
	struct output		*o;
	struct acpx_error	*err;
	json_t			*spec = NULL;
	json_error_t		 jerr;
	char			*msgs, *want, *want_err, *spec_text, *fname;
	char			*out_buf, *err_buf, tname[128];
	size_t			 mlen, wlen, welen, olen, elen, slen, v;
	FILE			*out, *errf;

	if ((msgs = read_file(name, "messages.ndjson", &mlen)) == NULL) {
		TEST_START(name);
		TAP_FAIL("%s: no messages.ndjson under %s", name, srcdir);
		TEST_DONE();
		return;
	}
	if ((spec_text = read_file(name, "error.json", &slen)) != NULL) {
		spec = json_loads(spec_text, 0, &jerr);
		free(spec_text);
	}
	for (v = 0; v < nitems(variants); v++) {
		xasprintf(&fname, "%s.out", variants[v].name);
		want = read_file(name, fname, &wlen);
		free(fname);
		if (want == NULL)
			continue;
		welen = 0;
		want_err = NULL;
		if (variants[v].err_file != NULL)
			want_err = read_file(name, variants[v].err_file, &welen);

		snprintf(tname, sizeof tname, "%s: %s", name, variants[v].name);
		TEST_START(tname);
		out = open_memstream(&out_buf, &olen);
		errf = open_memstream(&err_buf, &elen);
		memset(&opts, 0, sizeof opts);
		opts.format = variants[v].format;
		opts.color = variants[v].color;
		opts.suppress_reads = variants[v].suppress;
		opts.agent_name = "codex";
		opts.out = out;
		opts.err = errf;
		o = output_create(&opts);
		feed_messages(o, msgs, mlen);
		err = NULL;
		if (spec != NULL && spec_applies(spec, variants[v].fmt_name))
			err = error_from_spec(spec);
		if (err != NULL && strcmp(jget_str(spec, "call"), "turn") == 0) {
			output_turn_error(o, err);
			ASSERT_TRUE(err->flags & ACPX_ERROR_EMITTED);
		}
		output_turn_end(o);
		output_error(o, err);	/* nothing for an emitted turn error */
		ASSERT_INT_EQ(output_broken_pipe(o), 0);
		output_free(o);
		acpx_error_free(err);
		fclose(out);
		fclose(errf);
		check_bytes("stdout", out_buf, olen, want, wlen);
		check_bytes("stderr", err_buf, elen, want_err != NULL ?
		    want_err : "", welen);
		TEST_DONE();
		free(out_buf);
		free(err_buf);
		free(want);
		free(want_err);
	}
	json_decref(spec);
	free(msgs);
}

/* A renderer writing into memory streams. */
struct mem {
	FILE		*out, *err;
	char		*obuf, *ebuf;
	size_t		 olen, elen;
	struct output	*o;
};

static void
mem_open(struct mem *m, enum acpx_format format, int strict, int suppress)
{
	struct output_opts	opts;

	memset(m, 0, sizeof *m);
	m->out = open_memstream(&m->obuf, &m->olen);
	m->err = open_memstream(&m->ebuf, &m->elen);
	memset(&opts, 0, sizeof opts);
	opts.format = format;
	opts.json_strict = strict;
	opts.suppress_reads = suppress;
	opts.agent_name = "codex";
	opts.out = m->out;
	opts.err = m->err;
	m->o = output_create(&opts);
}

static void
mem_close(struct mem *m)
{
	output_free(m->o);
	fclose(m->out);
	fclose(m->err);
}

static void
mem_free(struct mem *m)
{
	free(m->obuf);
	free(m->ebuf);
}

static void
feed(struct output *o, enum output_dir dir, const char *text)
{
	json_error_t	 jerr;
	json_t		*m;

	if ((m = json_loads(text, 0, &jerr)) == NULL) {
		TAP_FAIL("bad json: %s", jerr.text);
		return;
	}
	output_acp_message_dir(o, m, dir);
	json_decref(m);
}

static void
test_direct(void)
{
	struct mem		 m;
	struct acpx_error	*err;
	json_t			*v;
	int			 fds[2];
	struct output_opts	 opts;
	struct output		*o;
	FILE			*f;
	int			 i;

	TEST_START("result, notice and text helpers");
	mem_open(&m, ACPX_FORMAT_TEXT, 0, 0);
	v = json_pack("{s:f, s:[i, s]}", "a", 0.1, "b", 1, "x/\x1f");
	output_result_json(m.o, v);
	json_decref(v);
	output_result_text(m.o, "mode set: %s", "plan");
	output_notice(m.o, "warning: %s", "careful");
	ASSERT_INT_EQ(output_format(m.o), ACPX_FORMAT_TEXT);
	mem_close(&m);
	ASSERT_STR_EQ(m.obuf, "{\"a\":0.1,\"b\":[1,\"x/\\u001f\"]}\n"
	    "mode set: plan\n");
	ASSERT_STR_EQ(m.ebuf, "[acpx] warning: careful\n");
	mem_free(&m);
	TEST_DONE();

	TEST_START("json_strict: no notices; errors only as the JSON line");
	mem_open(&m, ACPX_FORMAT_JSON, 1, 0);
	output_notice(m.o, "session %s", "x");
	err = acpx_error_new(ACPX_CODE_USAGE, NULL, "cli", "%s",
	    "--json-strict requires --format json");
	acpx_error_set_session(err, "rec-1");	/* top level says unknown */
	output_error(m.o, err);
	mem_close(&m);
	ASSERT_STR_EQ(m.ebuf, "");
	ASSERT_STR_EQ(m.obuf, "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":"
	    "{\"code\":-32602,\"message\":\"--json-strict requires --format "
	    "json\",\"data\":{\"acpxCode\":\"USAGE\",\"origin\":\"cli\","
	    "\"sessionId\":\"unknown\"}}}\n");
	acpx_error_free(err);
	mem_free(&m);
	TEST_DONE();

	TEST_START("emitted and sub-command errors are not shown again");
	mem_open(&m, ACPX_FORMAT_TEXT, 0, 0);
	err = acpx_error_new(ACPX_CODE_RUNTIME, "QUEUE_OWNER_OVERLOADED",
	    "queue", "Queue owner is overloaded (1/1 queued)");
	output_turn_error(m.o, err);
	output_error(m.o, err);
	err->flags = ACPX_ERROR_SUBCOMMAND;
	output_error(m.o, err);
	output_turn_end(m.o);
	mem_close(&m);
	ASSERT_STR_EQ(m.obuf,
	    "[error] RUNTIME: Queue owner is overloaded (1/1 queued)\n");
	ASSERT_STR_EQ(m.ebuf, "");
	acpx_error_free(err);
	mem_free(&m);
	TEST_DONE();

	TEST_START("quiet: text after the stop reason is dropped, usage once");
	mem_open(&m, ACPX_FORMAT_QUIET, 0, 0);
	feed(m.o, OUTPUT_DIR_INBOUND, "{\"jsonrpc\":\"2.0\",\"method\":"
	    "\"session/update\",\"params\":{\"sessionId\":\"s\",\"update\":"
	    "{\"sessionUpdate\":\"agent_message_chunk\",\"content\":"
	    "{\"type\":\"text\",\"text\":\"one\\n\"}}}}");
	feed(m.o, OUTPUT_DIR_INBOUND, "{\"jsonrpc\":\"2.0\",\"id\":3,"
	    "\"result\":{\"stopReason\":\"end_turn\",\"usage\":"
	    "{\"inputTokens\":1}}}");
	feed(m.o, OUTPUT_DIR_INBOUND, "{\"jsonrpc\":\"2.0\",\"method\":"
	    "\"session/update\",\"params\":{\"sessionId\":\"s\",\"update\":"
	    "{\"sessionUpdate\":\"agent_message_chunk\",\"content\":"
	    "{\"type\":\"text\",\"text\":\"late\"}}}}");
	feed(m.o, OUTPUT_DIR_INBOUND, "{\"jsonrpc\":\"2.0\",\"id\":4,"
	    "\"result\":{\"stopReason\":\"end_turn\",\"usage\":"
	    "{\"inputTokens\":2}}}");
	output_turn_end(m.o);
	mem_close(&m);
	ASSERT_STR_EQ(m.obuf, "one\n");
	ASSERT_STR_EQ(m.ebuf, "[acpx] tokens: input=1\n");
	mem_free(&m);
	TEST_DONE();

	/*
	 * acpx's session/prompt (id 2) and the agent's fs/read_text_file
	 * (also id 2) are both pending: only the read's answer is rewritten.
	 */
	TEST_START("json --suppress-reads pairs ids by direction");
	for (i = 0; i < 2; i++) {
		enum output_dir in = i ? OUTPUT_DIR_INBOUND : OUTPUT_DIR_UNKNOWN;
		enum output_dir outd = i ? OUTPUT_DIR_OUTBOUND :
		    OUTPUT_DIR_UNKNOWN;

		mem_open(&m, ACPX_FORMAT_JSON, 0, 1);
		feed(m.o, outd, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":"
		    "\"session/prompt\",\"params\":{}}");
		feed(m.o, in, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":"
		    "\"fs/read_text_file\",\"params\":{\"path\":\"/a\"}}");
		feed(m.o, outd, "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":"
		    "{\"content\":\"secret\",\"x\":1}}");
		feed(m.o, in, "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":"
		    "{\"stopReason\":\"end_turn\",\"content\":\"kept\"}}");
		mem_close(&m);
		ASSERT_STR_EQ(m.obuf,
		    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"session/prompt\","
		    "\"params\":{}}\n"
		    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":"
		    "\"fs/read_text_file\",\"params\":{\"path\":\"/a\"}}\n"
		    "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"content\":"
		    "\"[read output suppressed]\",\"x\":1}}\n"
		    "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"stopReason\":"
		    "\"end_turn\",\"content\":\"kept\"}}\n");
		mem_free(&m);
	}
	TEST_DONE();

	TEST_START("EPIPE on stdout sets the broken-pipe flag");
	signal(SIGPIPE, SIG_IGN);
	if (pipe(fds) == -1 || (f = fdopen(fds[1], "w")) == NULL)
		TAP_FAIL("pipe: %s", strerror(errno));
	else {
		close(fds[0]);
		memset(&opts, 0, sizeof opts);
		opts.format = ACPX_FORMAT_TEXT;
		opts.out = f;
		opts.err = stderr;
		o = output_create(&opts);
		ASSERT_INT_EQ(output_broken_pipe(o), 0);
		output_result_text(o, "hello");
		ASSERT_INT_EQ(output_broken_pipe(o), 1);
		output_result_text(o, "again");	/* dropped, no crash */
		output_turn_end(o);
		ASSERT_INT_EQ(output_broken_pipe(o), 1);
		output_free(o);
		fclose(f);
	}
	TEST_DONE();
}

int
main(void)
{
	const char	*env;
	size_t		 i;

	xmalloc_init();
	if ((env = getenv("TESTS_SRCDIR")) != NULL)
		srcdir = xstrdup(env);
	else if (access("tests/unit/output", F_OK) == 0)
		srcdir = xstrdup("tests");
	else
		srcdir = xstrdup("../tests");

	for (i = 0; i < nitems(cases); i++)
		run_case(cases[i]);
	test_direct();
	free(srcdir);
	return (tap_end());
}
