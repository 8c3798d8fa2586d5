/*
 * session-store, session-record and session-lock: paths, atomic private
 * writes, parsing rules, key order and unknown keys, corrupt files, the
 * lookups, prune, guards and turn locks with process identity.
 */
#include <config.h>

#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "conversation.h"
#include "jget.h"
#include "js-json.h"
#include "session-lock.h"
#include "session-path.h"
#include "session-record.h"
#include "fsutil.h"
#include "session-store.h"
#include "xmalloc.h"
#include "tap.h"

static char	home[256];

static char *
slurp(const char *path)
{
	FILE	*f = fopen(path, "r");
	char	*buf;
	long	 n;

	if (f == NULL)
		return (NULL);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = xmalloc(n + 1);
	buf[fread(buf, 1, n, f)] = '\0';
	fclose(f);
	return (buf);
}

static void
spit(const char *path, const char *text)
{
	FILE	*f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
}

static void
run(const char *cmd)
{
	if (system(cmd) != 0)
		printf("# command failed: %s\n", cmd);
}

/* A new record saved to disk, last_used_at forced. */
static void
save(const char *id, const char *cmd, const char *cwd, const char *name,
    int closed, const char *used)
{
	struct session_record	*r;
	char			*cause = NULL;

	r = session_record_create(id, cmd, NULL, cwd, name,
	    "2026-01-01T00:00:00.000Z");
	session_record_set(&r->last_used_at, used);
	r->closed = closed;
	if (closed)
		session_record_set(&r->closed_at, used);
	if (session_store_save(r, &cause) == -1)
		printf("# save: %s\n", cause);
	session_record_free(r);
}

static int	nwarn;

static void
count_warn(const char *path, const char *why, void *arg)
{
	nwarn++;
}

static void
test_paths(void)
{
	char	*s, *want;

	TEST_START("encodeURIComponent");
	s = session_path_encode("a b/c:d~*'()!é");
	ASSERT_STR_EQ(s, "a%20b%2Fc%3Ad~*'()!%C3%A9");
	free(s);
	TEST_DONE();

	TEST_START("record and segment paths");
	s = session_path("x/y", ".json");
	xasprintf(&want, "%s/.acpx/sessions/x%%2Fy.json", home);
	ASSERT_STR_EQ(s, want);
	free(s);
	free(want);
	s = session_path_segment("id", 3);
	xasprintf(&want, "%s/.acpx/sessions/id.stream.3.ndjson", home);
	ASSERT_STR_EQ(s, want);
	free(s);
	free(want);
	TEST_DONE();

	TEST_START("path.resolve");
	s = session_store_abspath("/a/b", "../c/./d/");
	ASSERT_STR_EQ(s, "/a/c/d");
	free(s);
	s = session_store_abspath("/a", "/x//y/..");
	ASSERT_STR_EQ(s, "/x");
	free(s);
	s = session_store_abspath("/", "..");
	ASSERT_STR_EQ(s, "/");
	free(s);
	TEST_DONE();
}

static void
test_write(void)
{
	char		*path, *text, *cause = NULL;
	struct stat	 sb;
	json_t		*v;

	TEST_START("atomic private write: 0600 file, 0700 dir, pretty + newline");
	xasprintf(&path, "%s/w/deep/file.json", home);
	v = json_pack("{s:s, s:[i]}", "b", "x", "a", 1);
	ASSERT_INT_EQ(session_store_write_private(path, v, &cause), 0);
	text = slurp(path);
	ASSERT_STR_EQ(text, "{\n  \"b\": \"x\",\n  \"a\": [\n    1\n  ]\n}\n");
	free(text);
	ASSERT_INT_EQ(stat(path, &sb), 0);
	ASSERT_INT_EQ(sb.st_mode & 0777, 0600);
	*strrchr(path, '/') = '\0';
	ASSERT_INT_EQ(stat(path, &sb), 0);
	ASSERT_INT_EQ(sb.st_mode & 0777, 0700);
	/* No temp dir left behind. */
	xasprintf(&text, "test -z \"$(ls -A %s | grep acpx-write)\"", path);
	ASSERT_INT_EQ(system(text), 0);
	free(text);
	json_decref(v);
	free(path);
	TEST_DONE();
}

static const char *full_record =
    "{\n"
    "  \"schema\": \"acpx.session.v1\",\n"
    "  \"acpx_record_id\": \"r1\",\n"
    "  \"acp_session_id\": \"s1\",\n"
    "  \"agent_command\": \"mock-agent\",\n"
    "  \"cwd\": \"/w\",\n"
    "  \"name\": \"  nm  \",\n"
    "  \"created_at\": \"2026-01-01T00:00:00.000Z\",\n"
    "  \"last_used_at\": \"2026-01-01T00:00:01.000Z\",\n"
    "  \"last_seq\": 3,\n"
    "  \"event_log\": {\"active_path\": \"/x\", \"segment_count\": 0},\n"
    "  \"closed\": false,\n"
    "  \"future_key\": {\"keep\": [1, 2.5]},\n"
    "  \"title\": null,\n"
    "  \"messages\": [\"Resume\", {\"User\": {\"id\": \"u\", \"content\": "
    "[{\"Text\": \"hi\"}]}}],\n"
    "  \"updated_at\": \"2026-01-01T00:00:01.000Z\",\n"
    "  \"cumulative_token_usage\": {\"total_tokens\": 5, \"input_tokens\": 2},\n"
    "  \"request_token_usage\": {},\n"
    "  \"acpx\": {\"session_options\": {\"model\": \"m\"}, \"current_mode_id\": "
    "\"plan\", \"junk\": 1},\n"
    "  \"zz_last\": true\n"
    "}\n";

static void
test_record(void)
{
	struct session_record	*r;
	json_t			*o, *disk;
	json_error_t		 jerr;
	char			*cause = NULL, *text;
	const char		*k;
	json_t			*v;
	int			 i;

	TEST_START("parse normalises like the reference");
	o = json_loads(full_record, 0, &jerr);
	r = session_record_parse(o, &cause);
	ASSERT_PTR_NOT_NULL(r);
	if (r != NULL) {
		ASSERT_STR_EQ(r->name, "nm");
		ASSERT_INT_EQ(r->last_seq, 3);
		/* An invalid event log is replaced by the default. */
		ASSERT_INT_EQ(json_integer_value(json_object_get(r->event_log,
		    "segment_count")), 5);
		disk = session_record_to_disk(r);
		text = js_json_dumps(json_object_get(disk,
		    "cumulative_token_usage"), 0);
		ASSERT_STR_EQ(text, "{\"input_tokens\":2,\"total_tokens\":5}");
		free(text);
		text = js_json_dumps(json_object_get(disk, "acpx"), 0);
		ASSERT_STR_EQ(text, "{\"current_mode_id\":\"plan\","
		    "\"session_options\":{\"model\":\"m\"}}");
		free(text);
		TEST_DONE();

		TEST_START("unknown keys are kept, after the known ones");
		i = 0;
		json_object_foreach(disk, k, v) {
			if (strcmp(k, "future_key") == 0)
				ASSERT_INT_EQ(i, json_object_size(disk) - 2);
			if (strcmp(k, "zz_last") == 0)
				ASSERT_INT_EQ(i, json_object_size(disk) - 1);
			i++;
		}
		text = js_json_dumps(json_object_get(disk, "future_key"), 0);
		ASSERT_STR_EQ(text, "{\"keep\":[1,2.5]}");
		free(text);
		json_decref(disk);
		TEST_DONE();

		TEST_START("camelCase form");
		disk = session_record_to_camel(r);
		text = js_json_dumps(disk, 0);
		{
			const char *want = "{\"schema\":\"acpx.session.v1\","
			    "\"acpxRecordId\":\"r1\",\"acpSessionId\":\"s1\","
			    "\"agentCommand\":\"mock-agent\",\"cwd\":\"/w\","
			    "\"name\":\"nm\",\"createdAt\"";

			ASSERT_TRUE(strncmp(text, want, strlen(want)) == 0);
		}
		ASSERT_TRUE(strstr(text, "future_key") == NULL);
		free(text);
		json_decref(disk);
		session_record_free(r);
	}
	TEST_DONE();
	json_decref(o);

	TEST_START("invalid records are rejected with a reason");
	{
		static const char *bad[] = {
			"[]",
			"{\"schema\":\"acpx.session.v2\"}",
			"{\"schema\":\"acpx.session.v1\",\"acpx_record_id\":\"x\"}",
		};
		for (i = 0; i < 3; i++) {
			o = json_loads(bad[i], JSON_DECODE_ANY, &jerr);
			r = session_record_parse(o, &cause);
			ASSERT_PTR_NULL(r);
			ASSERT_PTR_NOT_NULL(cause);
			free(cause);
			cause = NULL;
			json_decref(o);
		}
		/* A bad field type. */
		o = json_loads(full_record, 0, &jerr);
		json_object_set_new(o, "pid", json_string("12"));
		ASSERT_PTR_NULL(session_record_parse(o, &cause));
		free(cause);
		json_object_set_new(o, "pid", json_integer(7));
		json_object_set_new(o, "messages", json_pack("[{s:{}}]", "Agent"));
		ASSERT_PTR_NULL(session_record_parse(o, &cause));
		free(cause);
		json_decref(o);
	}
	TEST_DONE();

	TEST_START("key policy");
	o = json_pack("{s:s, s:{s:i}, s:{s:i}}", "ok_key", "x", "acpx",
	    "badKey", 1, "request_token_usage", "AnyId", 1);
	ASSERT_INT_EQ(session_record_check_keys(o, &cause), -1);
	ASSERT_STR_EQ(cause, "Persisted key policy violation (expected "
	    "snake_case keys): acpx.badKey");
	free(cause);
	json_decref(o);
	/* Maps' own keys and opaque values are exempt; below them, not. */
	o = json_loads("{\"messages\": [{\"Agent\": {\"content\": "
	    "[{\"ToolUse\": {\"input\": {\"anyKey\": 1}}}], "
	    "\"tool_results\": {\"callId1\": {\"output\": {\"anyKey\": "
	    "1}, \"badKey2\": 1}}}}, {\"User\": {\"badUser\": 1}}], "
	    "\"agent_capabilities\": {\"loadSession\": true}, \"acpx\": "
	    "{\"session_options\": {\"env\": {\"MY_VAR\": \"x\"}}, "
	    "\"available_model_names\": {\"Foo\": {\"barBaz\": 1}}, "
	    "\"config_options\": [{\"camelCase\": 1}]}, \"name\": 1}",
	    0, NULL);
	ASSERT_PTR_NOT_NULL(o);
	ASSERT_INT_EQ(session_record_check_keys(o, &cause), -1);
	ASSERT_STR_EQ(cause, "Persisted key policy violation (expected "
	    "snake_case keys): messages.Agent.tool_results.callId1.badKey2, "
	    "messages.User.badUser, acpx.available_model_names.Foo.barBaz");
	free(cause);
	json_decref(o);
	TEST_DONE();

	TEST_START("JavaScript trim");
	text = session_record_trim("\xc2\xa0 x y\t\xe2\x80\xa8");
	ASSERT_STR_EQ(text, "x y");
	free(text);
	ASSERT_PTR_NULL(session_record_trim(" \t\n"));
	TEST_DONE();
}

static void
test_store(void)
{
	struct session_record	*r;
	struct session_list	 l;
	struct session_prune_opts po;
	char			*path, *cause = NULL, *text, *git;
	long long		 bytes;

	TEST_START("save/load round trip keeps unknown keys and bytes");
	xasprintf(&path, "%s/.acpx/sessions/r1.json", home);
	run("mkdir -p \"$HOME/.acpx/sessions\"");
	spit(path, full_record);
	r = session_store_load("r1", &cause);
	ASSERT_PTR_NOT_NULL(r);
	if (r != NULL) {
		ASSERT_INT_EQ(session_store_save(r, &cause), 0);
		session_record_free(r);
	}
	text = slurp(path);
	ASSERT_TRUE(strstr(text, "\"future_key\": {\n    \"keep\": [\n      1,\n"
	    "      2.5\n    ]\n  },\n  \"zz_last\": true\n}\n") != NULL);
	free(text);
	TEST_DONE();

	TEST_START("a file whose name is not its record id is not a record");
	xasprintf(&text, "cp '%s' \"$HOME/.acpx/sessions/other.json\"", path);
	run(text);
	free(text);
	nwarn = 0;
	ASSERT_INT_EQ(session_store_scan(NULL, &l, count_warn, NULL, &cause), 0);
	ASSERT_INT_EQ(l.n, 1);
	ASSERT_INT_EQ(nwarn, 1);
	session_store_list_free(&l);
	TEST_DONE();

	TEST_START("corrupt, truncated and foreign files: skipped with a warning, kept");
	run("printf '{\"schema\":\"acpx.sess' > \"$HOME/.acpx/sessions/trunc.json\"");
	run("printf 'garbage' > \"$HOME/.acpx/sessions/garbage.json\"");
	run("printf '{}' > \"$HOME/.acpx/sessions/index.json\"");
	run("mkdir -p \"$HOME/.acpx/sessions/dir.json\"");
	nwarn = 0;
	ASSERT_INT_EQ(session_store_scan(NULL, &l, count_warn, NULL, &cause), 0);
	ASSERT_INT_EQ(l.n, 1);
	ASSERT_INT_EQ(nwarn, 3);
	session_store_list_free(&l);
	ASSERT_INT_EQ(system("test -f \"$HOME/.acpx/sessions/trunc.json\""), 0);
	run("rm -rf \"$HOME/.acpx/sessions\"/*");
	free(path);
	TEST_DONE();

	TEST_START("findSession: exact cwd, name, closed, newest");
	save("a", "cmd", "/p", NULL, 0, "2026-01-01T00:00:01.000Z");
	save("b", "cmd", "/p", NULL, 0, "2026-01-01T00:00:03.000Z");
	save("c", "cmd", "/p", NULL, 1, "2026-01-01T00:00:09.000Z");
	save("d", "cmd", "/p", "n", 0, "2026-01-01T00:00:02.000Z");
	save("e", "other", "/p", NULL, 0, "2026-01-01T00:00:09.000Z");
	save("f", "cmd", "/p/sub", NULL, 0, "2026-01-01T00:00:00.000Z");
	r = session_store_find("cmd", "/p", NULL, 0, NULL, NULL);
	ASSERT_STR_EQ(r != NULL ? r->record_id : NULL, "b");
	session_record_free(r);
	r = session_store_find("cmd", "/p/sub/..", NULL, 1, NULL, NULL);
	ASSERT_STR_EQ(r != NULL ? r->record_id : NULL, "c");
	session_record_free(r);
	r = session_store_find("cmd", "/p", " n ", 0, NULL, NULL);
	ASSERT_STR_EQ(r != NULL ? r->record_id : NULL, "d");
	session_record_free(r);
	ASSERT_PTR_NULL(session_store_find("cmd", "/q", NULL, 1, NULL, NULL));
	TEST_DONE();

	TEST_START("directory walk: nearest wins, stops at the boundary");
	r = session_store_find_walk("cmd", "/p/sub/deep", NULL, "/p", NULL, NULL);
	ASSERT_STR_EQ(r != NULL ? r->record_id : NULL, "f");
	session_record_free(r);
	r = session_store_find_walk("cmd", "/p/x/y", NULL, "/p", NULL, NULL);
	ASSERT_STR_EQ(r != NULL ? r->record_id : NULL, "b");
	session_record_free(r);
	/* Without a boundary (not a git repo): cwd only. */
	ASSERT_PTR_NULL(session_store_find_walk("cmd", "/p/x", NULL, NULL,
	    NULL, NULL));
	/* A boundary that is not an ancestor: cwd only. */
	ASSERT_PTR_NULL(session_store_find_walk("cmd", "/p/x", NULL, "/q",
	    NULL, NULL));
	TEST_DONE();

	TEST_START("git root: .git file or directory");
	xasprintf(&text, "mkdir -p '%s/g/a/b' && touch '%s/g/.git'", home, home);
	run(text);
	free(text);
	xasprintf(&text, "%s/g/a/b", home);
	git = session_store_git_root(text);
	free(text);
	xasprintf(&text, "%s/g", home);
	ASSERT_STR_EQ(git, text);
	free(git);
	free(text);
	TEST_DONE();

	TEST_START("resolve by id, acp id and unique suffix");
	r = session_store_resolve("d", &cause);
	ASSERT_STR_EQ(r != NULL ? r->record_id : NULL, "d");
	session_record_free(r);
	save("xx-1", "cmd", "/z", NULL, 0, "2026-01-01T00:00:00.000Z");
	save("yy-1", "cmd", "/z", "k", 0, "2026-01-01T00:00:00.000Z");
	r = session_store_resolve("x-1", &cause);
	ASSERT_STR_EQ(r != NULL ? r->record_id : NULL, "xx-1");
	session_record_free(r);
	ASSERT_PTR_NULL(session_store_resolve("-1", &cause));
	ASSERT_STR_EQ(cause, "Session id is ambiguous: -1");
	free(cause);
	ASSERT_PTR_NULL(session_store_resolve("nope", &cause));
	ASSERT_STR_EQ(cause, "Session not found: nope");
	free(cause);
	TEST_DONE();

	TEST_START("prune: closed only, this agent, before the cutoff, history files");
	run("touch \"$HOME/.acpx/sessions/c.stream.ndjson\" "
	    "\"$HOME/.acpx/sessions/c.stream.2.ndjson\" "
	    "\"$HOME/.acpx/sessions/c.stream.x.ndjson\"");
	memset(&po, 0, sizeof po);
	po.agent_command = "cmd";
	po.cutoff = "2026-01-01T00:00:05.000Z";
	ASSERT_INT_EQ(session_store_prune(&po, &l, &bytes, NULL, NULL, &cause),
	    0);
	ASSERT_INT_EQ(l.n, 0);
	session_store_list_free(&l);
	po.cutoff = NULL;
	po.include_history = 1;
	ASSERT_INT_EQ(session_store_prune(&po, &l, &bytes, NULL, NULL, &cause),
	    0);
	ASSERT_INT_EQ(l.n, 1);
	ASSERT_TRUE(bytes > 0);
	session_store_list_free(&l);
	ASSERT_INT_EQ(system("test ! -e \"$HOME/.acpx/sessions/c.json\" && "
	    "test ! -e \"$HOME/.acpx/sessions/c.stream.2.ndjson\" && "
	    "test -e \"$HOME/.acpx/sessions/c.stream.x.ndjson\""), 0);
	TEST_DONE();
}

static void
test_lock(void)
{
	struct session_lock	*l1 = NULL, *l2 = NULL;
	char			*cause = NULL, *path, *id, *text;
	json_t			*ident;
	pid_t			 pid;
	int			 st;

	TEST_START("sha256 and the ensure lock id");
	text = session_lock_sha256_hex("abc");
	ASSERT_STR_EQ(text, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb"
	    "410ff61f20015ad");
	free(text);
	text = session_lock_sha256_hex("");
	ASSERT_STR_EQ(text, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca"
	    "495991b7852b855");
	free(text);
	id = session_lock_ensure_id("cmd", "/p", NULL);
	text = session_lock_sha256_hex("[\"cmd\",\"/p\",null]");
	ASSERT_TRUE(strncmp(id, "ensure:", 7) == 0 && strcmp(id + 7, text) == 0);
	free(text);
	free(id);
	TEST_DONE();

	TEST_START("linux-proc identity of ourselves");
	ident = session_lock_identity(getpid());
	ASSERT_PTR_NOT_NULL(ident);
	ASSERT_STR_EQ(jget_str(ident, "kind"), "linux-proc");
	ASSERT_TRUE(jget_str(ident, "startTicks") != NULL &&
	    strspn(jget_str(ident, "startTicks"), "0123456789") ==
	    strlen(jget_str(ident, "startTicks")));
	ASSERT_TRUE(strncmp(jget_str(ident, "pidNamespace") != NULL ?
	    jget_str(ident, "pidNamespace") : "", "pid:[", 5) == 0);
	ASSERT_INT_EQ(session_lock_incarnation(getpid(), ident),
	    SESSION_LOCK_MATCHING);
	json_object_set_new(ident, "startTicks", json_string("1"));
	ASSERT_INT_EQ(session_lock_incarnation(getpid(), ident),
	    SESSION_LOCK_GONE);
	json_object_set_new(ident, "pidNamespace", json_string("pid:[1]"));
	ASSERT_INT_EQ(session_lock_incarnation(getpid(), ident),
	    SESSION_LOCK_UNKNOWN);
	json_decref(ident);
	TEST_DONE();

	TEST_START("turn lock: exclusive, marker + guard, released cleanly");
	ASSERT_INT_EQ(session_lock_try("t1", &l1, &cause), 0);
	ASSERT_INT_EQ(session_lock_try("t1", &l2, &cause), 1);
	ASSERT_INT_EQ(system("test -f \"$HOME/.acpx/sessions/t1.stream.lock\" && "
	    "test -f \"$HOME/.acpx/sessions/t1.stream.lock.guard\""), 0);
	path = session_path("t1", ".stream.lock");
	text = slurp(path);
	ASSERT_TRUE(text != NULL && strstr(text, "\"processIdentity\"") !=
	    NULL && strstr(text, "\"created_at\"") != NULL);
	free(text);
	session_lock_release(l1);
	ASSERT_INT_EQ(access(path, F_OK), -1);
	ASSERT_INT_EQ(session_lock_try("t1", &l2, &cause), 0);
	session_lock_release(l2);
	free(path);
	TEST_DONE();

	TEST_START("a dead holder's lock is recovered; a live one is never stolen");
	/* A child takes the lock and dies without releasing it. */
	if ((pid = fork()) == 0) {
		struct session_lock *l;
		char *c = NULL;

		_exit(session_lock_try("t2", &l, &c) == 0 ? 0 : 1);
	}
	waitpid(pid, &st, 0);
	ASSERT_INT_EQ(WEXITSTATUS(st), 0);
	ASSERT_INT_EQ(system("test -f \"$HOME/.acpx/sessions/t2.stream.lock\""),
	    0);
	ASSERT_INT_EQ(session_lock_try("t2", &l1, &cause), 0);
	session_lock_release(l1);
	/* A live child holds it: we must not get it. */
	{
		int	p[2], q[2];
		char	c;

		if (pipe(p) == -1 || pipe(q) == -1)
			TAP_FAIL("%s", "pipe");
		if ((pid = fork()) == 0) {
			struct session_lock *l;
			char *cs = NULL;

			(void)session_lock_try("t3", &l, &cs);
			(void)write(q[1], "x", 1);
			(void)read(p[0], &c, 1);
			_exit(0);
		}
		(void)read(q[0], &c, 1);
		ASSERT_INT_EQ(session_lock_try("t3", &l1, &cause), 1);
		(void)write(p[1], "x", 1);
		waitpid(pid, &st, 0);
		close(p[0]); close(p[1]); close(q[0]); close(q[1]);
	}
	TEST_DONE();

	TEST_START("a pid-less marker is removed only after the 15 s grace");
	path = session_path("t4", ".stream.lock");
	spit(path, "{}\n");
	ASSERT_INT_EQ(session_lock_try("t4", &l1, &cause), 1);
	xasprintf(&text, "touch -d '1 minute ago' '%s'", path);
	run(text);
	free(text);
	ASSERT_INT_EQ(session_lock_try("t4", &l1, &cause), 0);
	session_lock_release(l1);
	free(path);
	TEST_DONE();
}

/*
 * An agent answering session/new, load or resume with configOptions (as
 * opencode does) replaces the acpx state with the reference's clone; the
 * Warp routing state is ours and must survive it.
 */
static void
test_routing_kept(void)
{
	struct session_record	*r;
	json_t			*acpx, *res;
	json_error_t		 jerr;
	char			*text;

	TEST_START("configOptions in a session result keep the routing state");
	r = session_record_create("rt", "opencode-warp-infini-kimi", NULL,
	    "/w", "rel", "2026-01-01T00:00:00.000Z");
	acpx = session_record_acpx(r);
	json_object_set_new(acpx, "serving_agent",
	    json_string("opencode-warp-ckimi-kimi-for-coding"));
	json_object_set_new(acpx, "routing_history", json_pack("[{s:s, s:s}]",
	    "type", "fallback", "summary", "[acpx fallback] ..."));
	json_object_set_new(acpx, "reset_on_next_ensure", json_true());
	res = json_loads("{\"configOptions\":[{\"id\":\"model\",\"name\":"
	    "\"Model\",\"category\":\"model\",\"type\":\"select\","
	    "\"currentValue\":\"warp/glm-5\",\"options\":[{\"value\":"
	    "\"warp/glm-5\",\"name\":\"glm\"}]}]}", 0, &jerr);
	session_record_apply_session_result(r, res);
	json_decref(res);
	ASSERT_STR_EQ(jget_str(r->acpx, "serving_agent"),
	    "opencode-warp-ckimi-kimi-for-coding");
	text = js_json_dumps(json_object_get(r->acpx, "routing_history"), 0);
	ASSERT_STR_EQ(text, "[{\"type\":\"fallback\",\"summary\":"
	    "\"[acpx fallback] ...\"}]");
	free(text);
	ASSERT_STR_EQ(jget_str(r->acpx, "current_model_id"), "warp/glm-5");
	/* The reference's clone still drops what it drops. */
	ASSERT_PTR_NULL(json_object_get(r->acpx, "reset_on_next_ensure"));
	session_record_free(r);
	TEST_DONE();
}

/* Our descriptors open on a removed file whose name ends in suffix. */
static int
held_deleted(const char *suffix)
{
	DIR		*d = opendir("/proc/self/fd");
	struct dirent	*de;
	char		 t[PATH_MAX], *want;
	ssize_t		 n;
	int		 count = 0;

	xasprintf(&want, "%s (deleted)", suffix);
	while (d != NULL && (de = readdir(d)) != NULL) {
		if ((n = readlinkat(dirfd(d), de->d_name, t, sizeof t - 1)) <= 0)
			continue;
		t[n] = '\0';
		if (strlen(t) >= strlen(want) &&
		    strcmp(t + strlen(t) - strlen(want), want) == 0)
			count++;
	}
	if (d != NULL)
		closedir(d);
	free(want);
	return (count);
}

/*
 * On a file system mounted with discard, every rmdir and every freed block
 * waits for the device: a turn lock and a record's saves make and remove
 * no directory, and the record a save replaced is freed only when the
 * caller says so.
 */
static void
test_no_discard(void)
{
	struct session_lock	*l;
	struct session_record	*r;
	struct inotify_event	*ev;
	char			*dir, *cause = NULL, *cmd;
	char			 buf[8192];
	ssize_t			 n, off;
	int			 fd, made = 0, removed = 0;

	TEST_START("a turn lock and two saves: no directory made or removed");
	dir = session_path_dir();
	xasprintf(&cmd, "%s/r1.json", dir);
	spit(cmd, full_record);
	free(cmd);
	fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	ASSERT_TRUE(fd != -1 && inotify_add_watch(fd, dir, IN_CREATE |
	    IN_DELETE) != -1);
	ASSERT_INT_EQ(session_lock_try("t9", &l, &cause), 0);
	session_lock_release(l);
	r = session_store_load("r1", &cause);
	ASSERT_PTR_NOT_NULL(r);
	ASSERT_INT_EQ(session_store_save(r, &cause), 0);
	ASSERT_INT_EQ(session_store_checkpoint(r, &cause), 0);
	while ((n = read(fd, buf, sizeof buf)) > 0) {
		for (off = 0; off < n; off += sizeof *ev + ev->len) {
			ev = (struct inotify_event *)(buf + off);
			if ((ev->mask & IN_ISDIR) && (ev->mask & IN_CREATE))
				made++;
			if ((ev->mask & IN_ISDIR) && (ev->mask & IN_DELETE))
				removed++;
		}
	}
	close(fd);
	/* The staging directory of this process's saves, made once. */
	ASSERT_TRUE(made <= 1);
	ASSERT_INT_EQ(removed, 0);
	TEST_DONE();

	TEST_START("the records a save replaced are freed by "
	    "session_store_release_replaced()");
	ASSERT_TRUE(held_deleted("/r1.json") >= 2);
	session_store_release_replaced();
	fsutil_bg_drain();	/* the closes are the background worker's */
	ASSERT_INT_EQ(held_deleted("/r1.json"), 0);
	TEST_DONE();

	TEST_START("a kept record is taken back only while its file holds "
	    "its last save");
	{
		struct session_record	*k, *other;
		char			*file;

		ASSERT_INT_EQ(session_store_save(r, &cause), 0);
		other = session_record_copy(r);
		k = r;
		session_store_keep(&k);
		ASSERT_PTR_NULL(k);
		ASSERT_TRUE(session_store_take_kept("r1") == r);
		/* Taken: nothing kept any more. */
		ASSERT_PTR_NULL(session_store_take_kept("r1"));
		/* Another process rewrote the file: not taken. */
		ASSERT_INT_EQ(session_store_save(r, &cause), 0);
		k = r;
		session_store_keep(&k);
		file = session_path("r1", ".json");
		spit(file, full_record);
		ASSERT_PTR_NULL(session_store_take_kept("r1"));
		/* A record saved after it (another object): not kept. */
		r = session_store_load("r1", &cause);
		ASSERT_PTR_NOT_NULL(r);
		ASSERT_INT_EQ(session_store_save(r, &cause), 0);
		ASSERT_INT_EQ(session_store_save(other, &cause), 0);
		k = r;
		session_store_keep(&k);
		ASSERT_PTR_NULL(session_store_take_kept("r1"));
		/* The wrong id: not taken. */
		k = other;
		session_store_keep(&k);
		ASSERT_PTR_NULL(session_store_take_kept("r2"));
		k = session_store_load("r1", &cause);
		ASSERT_PTR_NOT_NULL(k);
		r = k;
		free(file);
	}
	TEST_DONE();

	TEST_START("a save after the sessions dir was removed makes it again");
	xasprintf(&cmd, "rm -rf '%s'", dir);
	run(cmd);
	free(cmd);
	ASSERT_INT_EQ(session_store_save(r, &cause), 0);
	{
		struct session_record *again = session_store_load("r1", &cause);

		ASSERT_PTR_NOT_NULL(again);
		session_record_free(again);
	}
	ASSERT_INT_EQ(session_lock_try("t9", &l, &cause), 0);
	session_lock_release(l);
	session_record_free(r);
	free(dir);
	TEST_DONE();
}

/* r's file holds exactly JSON.stringify(r's disk view, null, 2) + "\n". */
static int
saved_as_dump(const struct session_record *r)
{
	json_t	*disk = session_record_to_disk_view(r);
	char	*want, *full, *path, *got;
	int	 same;

	want = js_json_dumps(disk, 2);
	json_decref(disk);
	xasprintf(&full, "%s\n", want);
	free(want);
	path = session_path(r->record_id, ".json");
	got = slurp(path);
	free(path);
	same = got != NULL && strcmp(got, full) == 0;
	free(got);
	free(full);
	return (same);
}

static void
test_text_reuse(void)
{
	struct session_record	*r, *other;
	json_t			*u, *b;
	char			*cause = NULL, *text, *path, *got;
	const char		*now = "2026-01-01T00:00:00.000Z";
	int			 i, bad = 0;

	TEST_START("a save reusing its messages' text is the whole dump, "
	    "byte for byte");
	r = session_record_create("t1", "cmd", NULL, "/w", NULL, now);
	other = session_record_create("t2", "cmd", NULL, "/w", NULL, now);
	for (i = 0; i < 205 && !bad; i++) {
		xasprintf(&text, "prompt \"%d\"\n\u00e9", i);
		b = json_pack("[{s:s, s:s}]", "type", "text", "text", text);
		free(text);
		(void)conversation_add_prompt(r, b, now);
		json_decref(b);
		if (session_store_checkpoint(r, &cause) == -1 ||
		    !saved_as_dump(r))
			bad = 1;
		u = json_pack("{s:s, s:{s:s, s:s}}", "sessionUpdate",
		    "agent_message_chunk", "content", "type", "text", "text",
		    "an answer");
		(void)conversation_apply_update(r, u, now);
		json_decref(u);
		if (session_store_checkpoint(r, &cause) == -1 ||
		    !saved_as_dump(r))
			bad = 2;
		/* The last message grows after it was saved. */
		u = json_pack("{s:s, s:s, s:s, s:{s:i}}", "sessionUpdate",
		    "tool_call", "toolCallId", "c1", "title", "Read",
		    "rawInput", "n", i);
		(void)conversation_apply_update(r, u, now);
		json_decref(u);
		if (i % 7 == 0) {
			/* Another record's save in between. */
			(void)conversation_add_prompt(other, b = json_pack(
			    "[{s:s, s:s}]", "type", "text", "text", "x"), now);
			json_decref(b);
			if (session_store_checkpoint(other, &cause) == -1 ||
			    !saved_as_dump(other))
				bad = 3;
		}
		if (session_store_checkpoint(r, &cause) == -1 ||
		    !saved_as_dump(r))
			bad = 4;
	}
	ASSERT_INT_EQ(bad, 0);
	ASSERT_INT_EQ(json_array_size(r->messages), 200);
	ASSERT_INT_EQ(session_store_save(r, &cause), 0);
	ASSERT_TRUE(saved_as_dump(r));
	/*
	 * The contract: only the last message changes under one
	 * conversation mark. A change elsewhere (no module does that) is not
	 * seen, which shows the reuse; a whole trim makes a new mark.
	 */
	json_object_set_new(json_array_get(json_object_get(json_object_get(
	    json_array_get(r->messages, 0), "User"), "content"), 0), "Text",
	    json_string("changed behind the module's back"));
	ASSERT_INT_EQ(session_store_checkpoint(r, &cause), 0);
	ASSERT_TRUE(!saved_as_dump(r));
	path = session_path(r->record_id, ".json");
	got = slurp(path);
	ASSERT_TRUE(got != NULL && strstr(got, "behind the module") == NULL);
	free(got);
	conversation_trim(r);
	ASSERT_INT_EQ(session_store_checkpoint(r, &cause), 0);
	ASSERT_TRUE(saved_as_dump(r));
	/* A key policy violation in the last message: the whole check's cause. */
	json_object_set_new(json_object_get(json_array_get(r->messages,
	    json_array_size(r->messages) - 1), "Agent"), "badKey",
	    json_integer(1));
	got = slurp(path);
	ASSERT_INT_EQ(session_store_checkpoint(r, &cause), -1);
	ASSERT_STR_EQ(cause, "Persisted key policy violation (expected "
	    "snake_case keys): messages.Agent.badKey");
	free(cause);
	cause = NULL;
	text = slurp(path);
	ASSERT_STR_EQ(text, got);	/* the failed save left the file */
	free(text);
	free(got);
	free(path);
	session_record_free(r);
	session_record_free(other);
	TEST_DONE();
}

int
main(void)
{
	char	 tmpl[] = "/tmp/acpx-test-store-XXXXXX";

	xmalloc_init();
	if (mkdtemp(tmpl) == NULL)
		return (1);
	snprintf(home, sizeof home, "%s", tmpl);
	setenv("HOME", home, 1);

	test_paths();
	test_write();
	test_record();
	test_routing_kept();
	test_store();
	test_lock();
	test_no_discard();
	test_text_reuse();

	{
		char *cmd;

		xasprintf(&cmd, "rm -rf '%s'", home);
		run(cmd);
		free(cmd);
	}
	return (tap_end());
}
