#include <config.h>

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "acpx-error.h"
#include "acpx.h"
#include "agent-registry.h"
#include "cli-invocation.h"
#include "cli-validate.h"
#include "cmd-sessions.h"
#include "cmd.h"
#include "complete.h"
#include "conversation.h"
#include "jget.h"
#include "journal.h"
#include "js-json.h"
#include "js.h"
#include "output.h"
#include "session-lock.h"
#include "session-path.h"
#include "session-record.h"
#include "session-store.h"
#include "xmalloc.h"

/*
 * sessions export | import: the portable archive of session/export.ts and
 * session/import.ts (format_version 1, pretty JSON).
 */

#define ARCHIVE_MAX_BYTES	(512LL * 1024 * 1024)

/* A USAGE error with a detail code, as SessionExportError/ImportError. */
static struct acpx_error *
archive_error(const char *detail, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static struct acpx_error *
archive_error(const char *detail, const char *fmt, ...)
{
	struct acpx_error	*err;
	va_list			 ap;
	char			*msg;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	err = acpx_error_new(ACPX_CODE_USAGE, detail, "cli", "%s", msg);
	free(msg);
	return (err);
}

/* Normalised agent name (lower-case, factory-droid → droid), or NULL. */
static char *
archive_agent_name(const char *name)
{
	char	*n;

	if (name == NULL || (n = agent_registry_normalize(name)) == NULL)
		return (NULL);
	if (*n == '\0') {
		free(n);
		return (NULL);
	}
	if (strcmp(n, "factory-droid") == 0 || strcmp(n, "factorydroid") == 0) {
		free(n);
		n = xstrdup("droid");
	}
	return (n);
}

/* Is the record in use (open with a live agent pid or turn-lock pid)? */
static int
archive_active(const struct session_record *r)
{
	json_error_t	 jerr;
	json_t		*o;
	char		*path;
	int		 alive = 0;

	if (r->closed)
		return (0);
	if (r->pid > 0 && session_lock_pid_alive(r->pid))
		return (1);
	path = session_path(r->record_id, ".stream.lock");
	if ((o = json_load_file(path, 0, &jerr)) != NULL) {
		if (json_is_integer(json_object_get(o, "pid")))
			alive = session_lock_pid_alive((pid_t)json_integer_value(
			    json_object_get(o, "pid")));
		json_decref(o);
	}
	free(path);
	return (alive);
}

/* cwd relative to $HOME when inside it, "." for $HOME, else as is. */
static char *
archive_cwd_relative(const char *cwd)
{
	const char	*home = getenv("HOME");
	char		*h;
	size_t		 n;

	if (home == NULL || *home == '\0')
		return (xstrdup(cwd));
	h = session_store_abspath(NULL, home);
	n = strlen(h);
	if (strcmp(cwd, h) == 0) {
		free(h);
		return (xstrdup("."));
	}
	if (strcmp(h, "/") == 0) {
		free(h);
		return (xstrdup(cwd + 1));
	}
	if (strncmp(cwd, h, n) == 0 && cwd[n] == '/' && strncmp(cwd + n + 1,
	    "..", 2) != 0) {
		free(h);
		return (xstrdup(cwd + n + 1));
	}
	free(h);
	return (xstrdup(cwd));
}

/* Follow symlinks of the output path to a regular file (resolveExportTarget). */
static char *
archive_target(const char *path, struct acpx_error **err)
{
	struct stat	 sb;
	char		*p = xstrdup(path), buf[PATH_MAX], *dir, *next, *slash;
	ssize_t		 n;
	int		 hops;

	for (hops = 0; hops < 40; hops++) {
		if (lstat(p, &sb) == -1 || S_ISREG(sb.st_mode))
			return (p);
		if (!S_ISLNK(sb.st_mode)) {
			free(p);
			*err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli",
			    "Session export output must be a regular file");
			return (NULL);
		}
		if ((n = readlink(p, buf, sizeof buf - 1)) == -1)
			return (p);
		buf[n] = '\0';
		if (buf[0] == '/')
			next = xstrdup(buf);
		else {
			dir = xstrdup(p);
			if ((slash = strrchr(dir, '/')) != NULL)
				*slash = '\0';
			else
				strcpy(dir, ".");
			xasprintf(&next, "%s/%s", dir, buf);
			free(dir);
		}
		free(p);
		p = next;
	}
	free(p);
	*err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli",
	    "Too many symbolic links in session export output");
	return (NULL);
}

/* sessions export. */
int
cmd_sessions_export_run(const struct invocation *inv, struct output *out)
{
	struct session_list	 l;
	struct session_record	*rec = NULL;
	struct acpx_error	*err = NULL;
	const char		*output = jget_str(inv->verb_opts, "output");
	const char		*src = jget_str(inv->verb_opts, "cwd");
	char			*cwd, *rel, *name, *text, *full, *target, *cause;
	json_t			*state, *el, *sess, *archive, *o;
	size_t			 i;
	int			 rc;

	cwd = src != NULL ? session_store_abspath(inv->cwd, src) :
	    xstrdup(inv->cwd);
	name = session_record_normalize_name(inv->session);
	rec = session_store_find(inv->agent.command, cwd, name, 0,
	    cmd_sessions_warn, out);
	if (rec == NULL && session_store_scan(NULL, &l, NULL, NULL,
	    &cause) == 0) {
		session_store_list_sort_recent(&l);
		for (i = 0; i < l.n && rec == NULL; i++) {
			if (strcmp(l.v[i]->agent_command, inv->agent.command) ==
			    0 && strcmp(l.v[i]->cwd, cwd) == 0 &&
			    ((name == NULL && l.v[i]->name == NULL) ||
			    (name != NULL && l.v[i]->name != NULL &&
			    strcmp(name, l.v[i]->name) == 0))) {
				rec = l.v[i];
				l.v[i] = NULL;
			}
		}
		for (i = 0; i < l.n; i++)
			session_record_free(l.v[i]);
		free(l.v);
	}
	free(name);
	free(cwd);
	if (rec == NULL)
		return (output_fail(out, archive_error("not-found",
		    "session not found")));
	if (archive_active(rec)) {
		session_record_free(rec);
		return (output_fail(out, archive_error("session-locked",
		    "session is currently locked by a running queue owner; "
		    "close it first with `acpx sessions close`")));
	}

	rel = archive_cwd_relative(rec->cwd);
	state = session_record_to_disk(rec);
	json_object_set_new(state, "cwd", json_string(rel));
	if (json_is_object(el = json_object_get(state, "event_log")))
		json_object_set_new(el, "active_path",
		    json_string(".stream.ndjson"));
	sess = json_pack("{s:s, s:s?, s:s}", "record_id", rec->record_id,
	    "name", rec->name, "agent", rec->agent_command);
	if (rec->name == NULL)
		json_object_set_new(sess, "name", json_null());
	if (!inv->agent_override && (name = archive_agent_name(
	    inv->agent.name)) != NULL) {
		json_object_set_new(sess, "agent_name", json_string(name));
		free(name);
	}
	json_object_set_new(sess, "cwd_relative", json_string(rel));
	json_object_set_new(sess, "cwd_original", json_string(rel));
	json_object_set_new(sess, "created_at", json_string(rec->created_at));
	json_object_set_new(sess, "updated_at", json_string(rec->last_used_at));
	json_object_set_new(sess, "state", state);
	text = js_iso_now();
	archive = json_pack("{s:i, s:s, s:s, s:o, s:o}", "format_version", 1,
	    "exported_at", text, "exported_by", "acpx", "session", sess,
	    "history", journal_messages(rec->record_id));
	free(text);
	free(rel);
	session_record_free(rec);

	if ((target = archive_target(output, &err)) == NULL) {
		json_decref(archive);
		return (output_fail(out, err));
	}
	text = js_json_dumps(archive, 2);
	json_decref(archive);
	xasprintf(&full, "%s\n", text);
	free(text);
	cause = NULL;
	rc = session_store_write_file(target, full, strlen(full), 0, &cause);
	free(full);
	free(target);
	if (rc == -1) {
		err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli", "%s", cause);
		free(cause);
		return (output_fail(out, err));
	}
	switch (output_format(out)) {
	case ACPX_FORMAT_JSON:
		o = json_pack("{s:s, s:s}", "action", "session_exported",
		    "output", output);
		output_result_json(out, o);
		json_decref(o);
		break;
	case ACPX_FORMAT_QUIET:
		output_result_text(out, "%s", output);
		break;
	case ACPX_FORMAT_TEXT:
		output_result_text(out, "exported session to %s", output);
		break;
	}
	return (ACPX_EXIT_SUCCESS);
}

/* ---------------------------------------------------------------- import */

static const char *
archive_type(const json_t *v)
{
	if (v == NULL)
		return ("undefined");
	if (json_is_string(v))
		return ("string");
	if (json_is_number(v))
		return ("number");
	if (json_is_boolean(v))
		return ("boolean");
	if (json_is_null(v))
		return ("null");
	if (json_is_array(v))
		return ("array");
	return ("object");
}

/* zod's first issue message for a field of the expected type, or NULL. */
static char *
archive_check(const json_t *v, const char *want, int optional, int nullable)
{
	char	*msg;

	if (v == NULL) {
		if (optional)
			return (NULL);
		xasprintf(&msg, "Invalid input: expected %s, received undefined",
		    want);
		return (msg);
	}
	if (json_is_null(v) && nullable)
		return (NULL);
	if (strcmp(archive_type(v), want) == 0)
		return (NULL);
	xasprintf(&msg, "Invalid input: expected %s, received %s", want,
	    archive_type(v));
	return (msg);
}

/* The first schema violation of an archive (exportedSessionSchema), or NULL. */
static char *
archive_validate(const json_t *a)
{
	static const struct {
		const char	*key;
		const char	*type;
		int		 optional, nullable;
	} sess_fields[] = {
		{ "record_id", "string", 0, 0 }, { "name", "string", 0, 1 },
		{ "agent", "string", 0, 0 }, { "agent_name", "string", 1, 0 },
		{ "cwd_relative", "string", 0, 0 },
		{ "cwd_original", "string", 1, 0 },
		{ "cwd_absolute_original", "string", 1, 0 },
		{ "created_at", "string", 0, 0 }, { "updated_at", "string", 0, 0 },
	};
	const json_t	*s;
	char		*msg;
	size_t		 i;

	if ((msg = archive_check(json_object_get(a, "exported_at"), "string", 0,
	    0)) != NULL || (msg = archive_check(json_object_get(a,
	    "exported_by"), "string", 0, 0)) != NULL ||
	    (msg = archive_check(json_object_get(a, "session"), "object", 0,
	    0)) != NULL)
		return (msg);
	s = json_object_get(a, "session");
	for (i = 0; i < nitems(sess_fields); i++) {
		if ((msg = archive_check(json_object_get(s, sess_fields[i].key),
		    sess_fields[i].type, sess_fields[i].optional,
		    sess_fields[i].nullable)) != NULL)
			return (msg);
	}
	return (archive_check(json_object_get(a, "history"), "array", 0, 0));
}

/* commandLooksLikeBuiltInAgent. */
static int
archive_looks_builtin(const char *command, const char *agent)
{
	const char	*pkg, *p;
	size_t		 n;

	if (strcmp(agent, "pi") == 0)
		pkg = "pi-acp";
	else if (strcmp(agent, "codex") == 0)
		pkg = "@agentclientprotocol/codex-acp";
	else if (strcmp(agent, "claude") == 0)
		pkg = "@agentclientprotocol/claude-agent-acp";
	else
		return (0);
	n = strlen(pkg);
	for (p = strstr(command, pkg); p != NULL; p = strstr(p + 1, pkg)) {
		if ((p == command || p[-1] == ' ' || p[-1] == '\t') &&
		    (p[n] == '\0' || p[n] == '@' || p[n] == ' ' || p[n] == '\t'))
			return (1);
	}
	return (0);
}

static int
archive_command_matches(const char *archived, const char *expected,
    const char *expected_name)
{
	return (strcmp(archived, expected) == 0 || (expected_name != NULL &&
	    archive_looks_builtin(archived, expected_name)));
}

/* sessions import. */
int
cmd_sessions_import_run(const struct invocation *inv, struct output *out)
{
	const char		*path = inv->words[0];
	const char		*dest = jget_str(inv->verb_opts, "cwd");
	json_t			*a, *o;
	const json_t		*sess, *hist;
	struct acpx_error	*err;
	json_error_t		 jerr;
	struct session_record	*src, *existing;
	struct session_list	 l;
	char			*msg, *cause = NULL, *ename, *aname, *cwd, *id;
	char			*enc, *file, *name;
	const char		*rel;
	size_t			 i;
	int			 ok;
	struct stat		 sb;

	if ((a = json_load_file(path, JSON_DECODE_ANY | JSON_ALLOW_NUL,
	    &jerr)) == NULL) {
		if (access(path, R_OK) == -1)
			return (output_fail(out, acpx_error_new(
			    ACPX_CODE_RUNTIME, NULL, "cli", "%s: no such file or "
			    "directory, open '%s'", errno == ENOENT ? "ENOENT" :
			    "EACCES", path)));
		return (output_fail(out, archive_error("invalid-archive",
		    "Invalid session export archive JSON: %s", jerr.text)));
	}
	o = json_object_get(a, "format_version");
	if (!json_is_integer(o) || json_integer_value(o) != 1) {
		msg = o == NULL ? xstrdup("undefined") : js_json_dumps(o, 0);
		if (json_is_string(o)) {
			free(msg);
			msg = xstrdup(json_string_value(o));
		}
		json_decref(a);
		err = archive_error("unsupported-format-version", "Unsupported "
		    "session export format_version %s; supported version is 1",
		    msg);
		free(msg);
		return (output_fail(out, err));
	}
	if ((msg = archive_validate(a)) != NULL) {
		json_decref(a);
		err = archive_error("invalid-archive", "Invalid session export "
		    "archive: %s", msg);
		free(msg);
		return (output_fail(out, err));
	}
	sess = json_object_get(a, "session");
	hist = json_object_get(a, "history");
	if ((src = session_record_parse(json_object_get(sess, "state"),
	    NULL)) == NULL) {
		json_decref(a);
		return (output_fail(out, archive_error("invalid-archive",
		    "Invalid session export archive: session.state is not a "
		    "session record")));
	}

	/* assertExpectedAgentCommand. */
	ename = inv->agent_override ? NULL : archive_agent_name(inv->agent.name);
	aname = archive_agent_name(jget_str(sess, "agent_name"));
	ok = archive_command_matches(jget_str(sess, "agent"), inv->agent.command,
	    ename) && archive_command_matches(src->agent_command,
	    inv->agent.command, ename) && ((strcmp(jget_str(sess, "agent"),
	    inv->agent.command) == 0 && strcmp(src->agent_command,
	    inv->agent.command) == 0) || aname == NULL || ename == NULL ||
	    strcmp(aname, ename) == 0);
	free(ename);
	free(aname);
	if (!ok) {
		session_record_free(src);
		json_decref(a);
		return (output_fail(out, archive_error("agent-mismatch",
		    "Session export archive agent does not match the requested "
		    "agent")));
	}
	session_record_set(&src->agent_command, inv->agent.command);
	(void)session_store_ensure_dir(&cause);
	free(cause);
	cause = NULL;

	rel = jget_str(sess, "cwd_relative");
	if (dest != NULL)
		cwd = session_store_abspath(inv->cwd, dest);
	else if (*rel == '/')
		cwd = xstrdup(rel);
	else
		cwd = session_store_abspath(getenv("HOME"), rel);
	for (;;) {
		id = conversation_uuid();
		enc = session_path_encode(id);
		file = session_path(id, ".json");
		free(enc);
		if (stat(file, &sb) == -1 && errno == ENOENT) {
			free(file);
			break;
		}
		free(file);
		free(id);
	}

	/* buildImportedRecord. */
	name = inv->session != NULL ? xstrdup(inv->session) :
	    jget_str(sess, "name") != NULL ? xstrdup(jget_str(sess, "name")) :
	    NULL;
	session_record_set(&src->record_id, id);
	session_record_set(&src->cwd, cwd);
	free(src->name);
	src->name = name;
	src->closed = 0;
	session_record_set(&src->closed_at, NULL);
	src->pid = 0;
	session_record_set(&src->agent_started_at, NULL);
	json_decref(src->last_agent_exit_code);
	src->last_agent_exit_code = NULL;
	json_decref(src->last_agent_exit_signal);
	src->last_agent_exit_signal = NULL;
	session_record_set(&src->last_agent_exit_at, NULL);
	session_record_set(&src->last_agent_disconnect_reason, NULL);
	o = session_record_default_event_log(id);
	json_object_set(o, "max_segment_bytes", json_object_get(src->event_log,
	    "max_segment_bytes"));
	json_object_set(o, "max_segments", json_object_get(src->event_log,
	    "max_segments"));
	if (json_array_size(hist) > 0)
		json_object_set_new(o, "segment_count", json_integer(1));
	else
		json_object_set(o, "segment_count", json_object_get(
		    src->event_log, "segment_count"));
	json_decref(src->event_log);
	src->event_log = o;
	json_decref(src->imported_from);
	src->imported_from = json_pack("{s:O, s:s, s:O, s:O}", "record_id",
	    json_object_get(sess, "record_id"), "cwd_original",
	    jget_str(sess, "cwd_original") != NULL ? jget_str(sess,
	    "cwd_original") : rel, "exported_by", json_object_get(a,
	    "exported_by"), "exported_at", json_object_get(a, "exported_at"));

	/* The destination scope and the provider session must be free. */
	existing = session_store_find(src->agent_command, src->cwd, src->name,
	    0, cmd_sessions_warn, out);
	if (existing != NULL) {
		session_record_free(existing);
		msg = xstrdup("A session already exists for the import destination "
		    "scope; pass --name or --cwd to import a separate copy");
		ename = xstrdup("session-scope-exists");
		goto refuse;
	}
	if (session_store_scan(NULL, &l, cmd_sessions_warn, out, &cause) == 0) {
		for (i = 0, ok = 1; i < l.n; i++) {
			if (strcmp(l.v[i]->acp_session_id, src->acp_session_id) ==
			    0)
				ok = 0;
		}
		session_store_list_free(&l);
		if (!ok) {
			msg = xstrdup("A local session already uses this provider "
			    "session id; prune or remove the existing record "
			    "before importing this archive");
			ename = xstrdup("session-provider-exists");
			goto refuse;
		}
	}
	free(cause);
	cause = NULL;
	if (session_store_save(src, &cause) == -1 ||
	    journal_write_imported(id, hist, &cause) == -1) {
		session_record_free(src);
		json_decref(a);
		free(cwd);
		free(id);
		err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli", "%s", cause);
		free(cause);
		return (output_fail(out, err));
	}
	switch (output_format(out)) {
	case ACPX_FORMAT_JSON:
		o = json_pack("{s:s, s:s, s:s}", "action", "session_imported",
		    "record_id", id, "cwd", cwd);
		output_result_json(out, o);
		json_decref(o);
		break;
	case ACPX_FORMAT_QUIET:
		output_result_text(out, "%s", id);
		break;
	case ACPX_FORMAT_TEXT:
		output_result_text(out, "imported session %s at %s", id, cwd);
		break;
	}
	session_record_free(src);
	json_decref(a);
	free(cwd);
	free(id);
	return (ACPX_EXIT_SUCCESS);

refuse:
	session_record_free(src);
	json_decref(a);
	free(cwd);
	free(id);
	err = archive_error(ename, "%s", msg);
	free(msg);
	free(ename);
	return (output_fail(out, err));
}

/* ------------------------------------------------------- the command row */

static const struct cmd_opt o_output = { "--output <path>", NULL,
    "--output", "output", "Output archive path", CMD_OPT_VALUE,
    cli_validate_output, 1, NULL, CMD_VALUES_FILE, NULL };
static const struct cmd_opt o_source_cwd = CMD_OPTV("--cwd <cwd>", NULL,
    "--cwd", "sourceCwd", "Session cwd to export", CMD_OPT_VALUE,
    cli_validate_source_cwd, CMD_VALUES_DIR, NULL);
static const struct cmd_opt *const export_opts[] = { &o_output,
    &o_source_cwd, NULL };
static const struct cmd_opt o_import_name = CMD_OPT("--name <name>", NULL,
    "--name", "name", "Imported session name", CMD_OPT_VALUE,
    cli_validate_session);
static const struct cmd_opt o_dest_cwd = CMD_OPTV("--cwd <cwd>", NULL,
    "--cwd", "destinationCwd", "Imported session cwd", CMD_OPT_VALUE,
    cli_validate_dest_cwd, CMD_VALUES_DIR, NULL);
static const struct cmd_opt *const import_opts[] = { &o_import_name,
    &o_dest_cwd, NULL };
static const struct cmd_arg import_args[] = { { "<archive-path>",
    "Archive path", cli_validate_archive } };

/* import --name, <archive-path> as the word, --cwd. */
static int
sessions_import_prepare(struct cli_run *run, struct cli_cmd *leaf,
    struct invocation *inv)
{
	inv->session = cli_prepare_dup(cli_prepare_own(leaf, "name"));
	cli_prepare_args_words(inv, leaf);
	return (cmd_sessions_prepare(run, leaf, inv));
}

/* <archive-path>: a file. */
static int
sessions_import_complete(struct complete *c, const struct cmd_opt *o,
    int npos)
{
	if (o != NULL || npos != 0)
		return (0);
	complete_set_kind(c, COMPLETE_FILES);
	return (1);
}

const struct cmd_entry cmd_sessions_export_entry = {
	.name = "export",
	.desc = "Export a portable session archive",
	.opts = export_opts,
	.args = cmd_opt_name_arg,
	.nargs = 1,
	.flags = CMD_ACTION,
	.prepare = cmd_sessions_prepare_named,
	.run = cmd_sessions_export_run,
	.complete = cmd_sessions_complete_any
};

const struct cmd_entry cmd_sessions_import_entry = {
	.name = "import",
	.desc = "Import a portable session archive",
	.opts = import_opts,
	.args = import_args,
	.nargs = 1,
	.flags = CMD_ACTION,
	.prepare = sessions_import_prepare,
	.run = cmd_sessions_import_run,
	.complete = sessions_import_complete
};
