#include <config.h>

#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <ev.h>
#include <jansson.h>

#include "acpx-error.h"
#include "acpx.h"
#include "agent-registry.h"
#include "buf.h"
#include "cli-invocation.h"
#include "cmd-doctor.h"
#include "cmd-warp.h"
#include "cmd.h"
#include "cmdline.h"
#include "config-file.h"
#include "output.h"
#include "queue-lease.h"
#include "secrets.h"
#include "session-path.h"
#include "warp.h"
#include "xmalloc.h"

/*
 * acpx doctor: what a newcomer runs first. Read-only checks of this
 * machine, in sections: the built-in agents (found on PATH, started
 * through npx, or missing with the command that installs them), the
 * config files (found, valid: the loader's own message names the file
 * and the key), the session and socket directories (ours, private
 * enough), Warp (the report of `acpx warp doctor`, when a provider or the
 * secrets file exists), the nodes (`acpx nodes check`, when configured:
 * no ssh otherwise) and the libraries' versions. Text, or one JSON object
 * with --format json; quiet prints the summary line. Exit 0 when nothing
 * needed is broken, else 1 (ACPX_EXIT_ERROR); a missing agent is
 * reported, not a problem. Secret values are never read out: the Warp
 * section says only where a variable comes from.
 */

struct cmd_doctor {
	const struct invocation	*inv;
	struct output		*out;
	json_t			*json;
	char			**lines;
	size_t			 nlines;
	int			 problems;
	char			*home;
};

/* One line of the text report. */
#define cmd_doctor_line(d, ...) \
	cmdline_appendf(&(d)->lines, &(d)->nlines, __VA_ARGS__)

/* ---------------------------------------------------------------- agents */

/*
 * How to install the programs the built-in agents run (argv[0]); for
 * those not listed the report says which program must be on PATH.
 */
static const struct {
	const char	*program;
	const char	*install;
} cmd_doctor_installs[] = {
	{ "npx", "sudo apt-get install nodejs npm" },
	{ "gemini", "npm install -g @google/gemini-cli" },
	{ "copilot", "npm install -g @github/copilot" },
	{ "qwen", "npm install -g @qwen-code/qwen-code" },
	{ "iflow", "npm install -g @iflow-ai/iflow-cli" },
	{ "openclaw", "npm install -g openclaw" },
	{ "cursor-agent", "curl https://cursor.com/install -fsS | bash" },
	{ "droid", "curl -fsSL https://app.factory.ai/cli | sh" },
	{ "uvx", "curl -LsSf https://astral.sh/uv/install.sh | sh" },
	{ "kimi", "uv tool install kimi-cli" },
	{ "acpx-demo-agent", "reinstall acpx-native (acpx-demo-agent ships "
	    "with it)" },
};

/* The program's path on PATH (or itself when it has a slash), or NULL. */
static char *
cmd_doctor_which(const char *prog)
{
	const char	*path = getenv("PATH"), *p, *e;
	char		*cand;

	if (strchr(prog, '/') != NULL)
		return (access(prog, X_OK) == 0 ? xstrdup(prog) : NULL);
	if (path == NULL)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path;; p = e + 1) {
		e = strchr(p, ':');
		if (e == NULL)
			e = p + strlen(p);
		xasprintf(&cand, "%.*s/%s", (int)(e - p), e == p ? "." : p, prog);
		if (access(cand, X_OK) == 0)
			return (cand);
		free(cand);
		if (*e == '\0')
			return (NULL);
	}
}

/* The command that installs prog, or NULL when we know none. Caller owns. */
static char *
cmd_doctor_install(const char *prog)
{
	size_t	i;

	for (i = 0; i < nitems(cmd_doctor_installs); i++) {
		if (strcmp(cmd_doctor_installs[i].program, prog) == 0)
			return (xstrdup(cmd_doctor_installs[i].install));
	}
	return (NULL);
}

static void
cmd_doctor_agents(struct cmd_doctor *d)
{
	struct agent_spec	 spec;
	const char		*name, *prog, *status;
	char			*path, *node, *install, *detail;
	json_t			*list, *a;
	size_t			 i;

	list = json_array();
	cmd_doctor_line(d, "agents:");
	node = cmd_doctor_which("node");
	for (i = 0; i < agent_registry_count(); i++) {
		name = agent_registry_name(i);
		memset(&spec, 0, sizeof spec);
		agent_registry_resolve(d->inv->config, name, NULL, &spec);
		install = detail = NULL;
		prog = spec.argv != NULL ? spec.argv[0] : NULL;
		path = prog != NULL ? cmd_doctor_which(prog) : NULL;
		if (prog == NULL) {
			status = "missing";
			xasprintf(&detail, "%s", spec.argv_error != NULL ?
			    spec.argv_error : "no command");
		} else if (strcmp(prog, "npx") == 0 && path != NULL &&
		    node != NULL) {
			status = "npx";
			xasprintf(&detail, "starts through npx (%s)",
			    spec.command);
		} else if (path != NULL && strcmp(prog, "npx") != 0) {
			status = "found";
			detail = xstrdup(path);
		} else {
			status = "missing";
			install = cmd_doctor_install(strcmp(prog, "npx") == 0 ?
			    "npx" : prog);
			if (install != NULL)
				xasprintf(&detail, "%s not found; install: %s",
				    strcmp(prog, "npx") == 0 ? "Node.js (npx)" :
				    prog, install);
			else
				xasprintf(&detail, "%s not found; install %s so "
				    "that %s is on PATH", prog,
				    agent_registry_display(name) != NULL ?
				    agent_registry_display(name) : name, prog);
		}
		cmd_doctor_line(d, "  %-12s %-8s %s", name, status, detail);
		a = json_pack("{s:s, s:s?, s:s, s:s}", "name", name,
		    "display", agent_registry_display(name), "command",
		    spec.command != NULL ? spec.command : "", "status", status);
		if (path != NULL)
			json_object_set_new(a, "path", json_string(path));
		if (install != NULL)
			json_object_set_new(a, "install", json_string(install));
		json_array_append_new(list, a);
		free(path);
		free(install);
		free(detail);
		agent_registry_spec_clear(&spec);
	}
	free(node);
	json_object_set_new(d->json, "agents", list);
}

/* ---------------------------------------------------------------- config */

static json_t *
cmd_doctor_config_file(struct cmd_doctor *d, const char *scope,
    const char *path, int found)
{
	cmd_doctor_line(d, "  %s %s: %s", scope, path, found ? "found" :
	    "not found");
	return (json_pack("{s:s, s:s, s:b}", "scope", scope, "path", path,
	    "found", found));
}

static void
cmd_doctor_config(struct cmd_doctor *d)
{
	struct config	*c;
	struct stat	 sb;
	json_t		*files, *o;
	char		*cause = NULL, *gp, *pp;

	cmd_doctor_line(d, "config:");
	files = json_array();
	gp = config_global_path(d->home);
	xasprintf(&pp, "%s/.acpxrc.json", d->inv->cwd);
	json_array_append_new(files, cmd_doctor_config_file(d, "global", gp,
	    stat(gp, &sb) == 0));
	json_array_append_new(files, cmd_doctor_config_file(d, "project", pp,
	    stat(pp, &sb) == 0));
	o = json_pack("{s:o}", "files", files);
	if ((c = config_load(d->home, d->inv->cwd, NULL, &cause)) != NULL) {
		cmd_doctor_line(d, "  valid");
		json_object_set_new(o, "valid", json_true());
		config_free(c);
	} else {
		d->problems++;
		cmd_doctor_line(d, "  invalid: %s", cause);
		cmd_doctor_line(d, "  next step: fix that key (see acpx-config(5)), "
		    "or move the file aside");
		json_object_set_new(o, "valid", json_false());
		json_object_set_new(o, "error", json_string(cause));
		free(cause);
	}
	json_object_set_new(d->json, "config", o);
	free(gp);
	free(pp);
}

/* ----------------------------------------------------------- directories */

static void
cmd_doctor_dir(struct cmd_doctor *d, json_t *list, const char *name,
    const char *dir)
{
	struct stat	 sb;
	char		 mode[16], *cause = NULL, *next = NULL;
	const char	*status = "ok";

	mode[0] = '\0';
	if (lstat(dir, &sb) == -1) {
		if (errno == ENOENT)
			status = "absent";
		else {
			status = "error";
			xasprintf(&cause, "%s", strerror(errno));
		}
	} else {
		snprintf(mode, sizeof mode, "%04o",
		    (unsigned)(sb.st_mode & 07777));
		if (!S_ISDIR(sb.st_mode)) {
			status = "error";
			cause = xstrdup("not a directory");
			xasprintf(&next, "move %s aside", dir);
		} else if (sb.st_uid != geteuid()) {
			status = "error";
			xasprintf(&cause, "owned by uid %u, not by us",
			    (unsigned)sb.st_uid);
			xasprintf(&next, "move %s aside", dir);
		} else if (strcmp(name, "sockets") == 0 &&
		    queue_lease_socket_dir_check(0, &cause) == -1) {
			status = "error";
			xasprintf(&next, "chmod 700 %s", dir);
		} else if ((sb.st_mode & 002) != 0 ||
		    access(dir, W_OK | X_OK) == -1) {
			status = "error";
			cause = xstrdup((sb.st_mode & 002) != 0 ?
			    "writable by others" : "not writable by us");
			xasprintf(&next, "chmod 700 %s", dir);
		}
	}
	if (strcmp(status, "error") == 0) {
		d->problems++;
		cmd_doctor_line(d, "  %s %s: %s%s%s", name, dir, cause,
		    next != NULL ? "; next step: " : "", next != NULL ? next :
		    "");
	} else if (strcmp(status, "absent") == 0)
		cmd_doctor_line(d, "  %s %s: not created yet (made on first use)",
		    name, dir);
	else
		cmd_doctor_line(d, "  %s %s: ok (mode %s)", name, dir, mode);
	json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s?, s:s?}",
	    "name", name, "path", dir, "status", status, "mode",
	    mode[0] != '\0' ? mode : NULL, "error", cause));
	free(cause);
	free(next);
}

static void
cmd_doctor_dirs(struct cmd_doctor *d)
{
	json_t	*list = json_array();
	char	*dir;

	cmd_doctor_line(d, "directories:");
	dir = session_path_dir();
	cmd_doctor_dir(d, list, "sessions", dir);
	free(dir);
	dir = queue_lease_socket_dir();
	cmd_doctor_dir(d, list, "sockets", dir);
	free(dir);
	json_object_set_new(d->json, "directories", list);
}

/* ------------------------------------------------------ warp, nodes, libs */

static void
cmd_doctor_warp(struct cmd_doctor *d)
{
	struct warp_config	*wc;
	struct acpx_error	*err = NULL;
	struct stat		 sb;
	json_t			*j;
	char			*cause = NULL, *env, **lines;
	size_t			 i;
	int			 n, exists;

	if ((wc = warp_config_load(d->inv->config, &cause)) == NULL) {
		d->problems++;
		cmd_doctor_line(d, "warp: invalid config: %s", cause);
		json_object_set_new(d->json, "warp", json_pack("{s:b, s:s}",
		    "configured", 1, "error", cause));
		free(cause);
		return;
	}
	env = secrets_path(d->home, wc->env_file);
	exists = lstat(env, &sb) == 0;
	n = (int)wc->nproviders;
	warp_config_free(wc);
	free(env);
	if (n == 0 && !exists) {
		cmd_doctor_line(d, "warp: not configured (no providers, no "
		    "secrets file)");
		json_object_set_new(d->json, "warp", json_pack("{s:b}",
		    "configured", 0));
		return;
	}
	if ((n = cmd_warp_doctor_report(d->inv, d->out, &j, &lines,
	    &err)) == -1) {
		d->problems++;
		cmd_doctor_line(d, "warp: %s", err->message);
		acpx_error_free(err);
		return;
	}
	d->problems += n;
	cmd_doctor_line(d, "warp:");
	for (i = 0; lines[i] != NULL; i++)
		cmd_doctor_line(d, "  %s", lines[i]);
	json_object_set_new(j, "configured", json_true());
	json_object_set_new(d->json, "warp", j);
	cmdline_free(lines);
}

static void
cmd_doctor_nodes(struct cmd_doctor *d)
{
	const struct config	*c = d->inv->config;
	struct buf		 text = BUF_INITIALIZER;
	json_t			*list;
	char			*line, *tab;
	int			 down, bad;

	if (c->nnodes == 0) {
		cmd_doctor_line(d, "nodes: none configured");
		json_object_set_new(d->json, "nodes", json_array());
		return;
	}
	list = cmd_nodes_report(c, NULL, &text, &down, &bad);
	if (down || bad)
		d->problems++;
	cmd_doctor_line(d, "nodes:");
	for (line = text.p != NULL ? strtok_r(text.p, "\n", &tab) : NULL;
	    line != NULL; line = strtok_r(NULL, "\n", &tab))
		cmd_doctor_line(d, "  %s", line);
	if (down || bad)
		cmd_doctor_line(d, "  next step: acpx nodes check <name>, then "
		    "ssh to it by hand");
	buf_free(&text);
	json_object_set_new(d->json, "nodes", list);
}

static void
cmd_doctor_libs(struct cmd_doctor *d)
{
	const curl_version_info_data	*cv = curl_version_info(CURLVERSION_NOW);
	char				*ev;

	xasprintf(&ev, "%d.%d", ev_version_major(), ev_version_minor());
	cmd_doctor_line(d, "libraries: acpx-native %s, libev %s, jansson %s, "
	    "libcurl %s", PACKAGE_VERSION, ev, jansson_version_str(),
	    cv != NULL ? cv->version : "unknown");
	json_object_set_new(d->json, "libraries", json_pack("{s:s, s:s, s:s, "
	    "s:s}", "acpx-native", PACKAGE_VERSION, "libev", ev, "jansson",
	    jansson_version_str(), "libcurl", cv != NULL ? cv->version :
	    "unknown"));
	free(ev);
}

/* acpx doctor. */
static int
cmd_doctor_run(const struct invocation *inv, struct output *out)
{
	struct cmd_doctor	 d;
	size_t			 i;

	memset(&d, 0, sizeof d);
	d.inv = inv;
	d.out = out;
	d.json = json_object();
	d.home = config_home();
	cmd_doctor_agents(&d);
	cmd_doctor_config(&d);
	cmd_doctor_dirs(&d);
	cmd_doctor_warp(&d);
	cmd_doctor_nodes(&d);
	cmd_doctor_libs(&d);
	if (d.problems == 0)
		cmd_doctor_line(&d, "doctor: no problems found");
	else
		cmd_doctor_line(&d, "doctor: %d problem%s found", d.problems,
		    d.problems == 1 ? "" : "s");
	json_object_set_new(d.json, "ok", json_boolean(d.problems == 0));
	json_object_set_new(d.json, "problems", json_integer(d.problems));
	if (inv->format == ACPX_FORMAT_JSON)
		output_result_json(out, d.json);
	else if (inv->format == ACPX_FORMAT_QUIET)
		output_result_text(out, "%s", d.lines[d.nlines - 1]);
	else {
		for (i = 0; i < d.nlines; i++)
			output_result_text(out, "%s", d.lines[i]);
	}
	cmdline_free(d.lines);
	json_decref(d.json);
	free(d.home);
	return (d.problems == 0 ? ACPX_EXIT_SUCCESS : ACPX_EXIT_ERROR);
}

/* ------------------------------------------------------- the command row */

/* Ours: kept out of the reference's help (see acpx(1)). */
const struct cmd_entry cmd_doctor_entry = {
	.name = "doctor",
	.desc = "Check this machine: agents, config, directories, Warp, "
	    "nodes, libraries",
	.flags = CMD_ACTION | CMD_HIDDEN,
	.prepare = cli_prepare_plain,
	.run = cmd_doctor_run
};
