#include <config.h>

#include <sys/wait.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <jansson.h>

#include "acpx-error.h"
#include "acpx.h"
#include "buf.h"
#include "cli-invocation.h"
#include "cmd.h"
#include "complete.h"
#include "config-file.h"
#include "node-relay.h"
#include "output.h"
#include "proc.h"
#include "xmalloc.h"

/*
 * The run function of every command given --node (the relay,
 * node-relay.h), and acpx nodes [list] | acpx nodes check [name]: each
 * configured node reached over its shared ssh connection (opened if need
 * be) with the relay's version check, forced: reachable or not, the
 * round-trip time of that check, the node's acpx-native version; then,
 * over the same connection, the node's own `acpx warp doctor --format
 * json`, of which only the verdict is kept (ok; failing, with the secrets
 * file's status or the number of problems; or none: no secrets file and
 * no Warp providers, a node that does not run Warp agents). No value of
 * the node's secrets file is read here: the doctor prints none.
 * list exits 0; check exits 6 (NODE_UNREACHABLE) when a node is down,
 * else 1 when one is unusable (no acpx, too old) or its warp doctor
 * fails, else 0.
 */

/* The ceiling of the node's warp doctor (its provider probes are short). */
#define CMD_NODES_DOCTOR_TIMEOUT	30.0

/*
 * Run the node's warp doctor and judge it: the JSON verdict (caller owns)
 * and its text column (caller frees); *failing when it counts against
 * the node.
 */
static json_t *
cmd_nodes_doctor(const struct config_node *n, char **text, int *failing)
{
	json_t		*j = NULL, *v, *sf, *provs;
	json_error_t	 jerr;
	char		*argv[5] = { "--format", "json", "warp", "doctor", NULL };
	char		*ctl, *cmd, *out = NULL, *tail = NULL, *cause = NULL;
	const char	*sst = NULL, *detail = NULL, *msg;
	json_int_t	 problems = 0;
	int		 status;

	*failing = 0;
	*text = NULL;
	if ((ctl = node_relay_ctl_path(n, &cause)) == NULL) {
		v = json_pack("{s:s, s:s}", "status", "failing", "message",
		    cause);
		xasprintf(text, "warp doctor: failing, %s", cause);
		free(cause);
		*failing = 1;
		return (v);
	}
	cmd = node_relay_command(n->acpx, argv);
	if (node_relay_capture(n, ctl, cmd, CMD_NODES_DOCTOR_TIMEOUT, &status,
	    &out, &tail, &cause) == -1) {
		free(ctl);
		free(cmd);
		v = json_pack("{s:s, s:s}", "status", "failing", "message",
		    cause);
		xasprintf(text, "warp doctor: failing, %s", cause);
		free(cause);
		*failing = 1;
		return (v);
	}
	free(ctl);
	free(cmd);
	free(tail);
	if (status != -1)
		j = json_loads(out, JSON_DISABLE_EOF_CHECK, &jerr);
	free(out);
	if (!json_is_object(j)) {
		/* No report: the doctor hung, crashed or is not ours. */
		msg = status == -1 ? "no answer in time" :
		    "it printed no report";
		v = json_pack("{s:s, s:s}", "status", "failing", "message",
		    msg);
		xasprintf(text, "warp doctor: failing, %s", msg);
		json_decref(j);
		*failing = 1;
		return (v);
	}
	if ((v = json_object_get(j, "error")) != NULL) {
		/* It could not check (an invalid warp config there). */
		msg = json_string_value(json_object_get(v, "message"));
		if (msg == NULL)
			msg = "an error";
		v = json_pack("{s:s, s:s}", "status", "failing", "message", msg);
		xasprintf(text, "warp doctor: failing, %s", msg);
		json_decref(j);
		*failing = 1;
		return (v);
	}
	sf = json_object_get(j, "secretsFile");
	sst = json_string_value(json_object_get(sf, "status"));
	detail = json_string_value(json_object_get(sf, "detail"));
	problems = json_integer_value(json_object_get(j, "problems"));
	provs = json_object_get(j, "providers");
	if (json_is_true(json_object_get(j, "ok"))) {
		v = json_pack("{s:s, s:I, s:s?}", "status", "ok", "problems",
		    problems, "secretsFile", sst);
		*text = xstrdup("warp doctor: ok");
	} else if (sst != NULL && strcmp(sst, "WARP_ENV_MISSING") == 0 &&
	    json_array_size(provs) == 0) {
		/* Not set up for Warp: not a failure. */
		v = json_pack("{s:s, s:I, s:s}", "status", "none", "problems",
		    problems, "secretsFile", sst);
		*text = xstrdup("warp doctor: no secrets file");
	} else {
		v = json_pack("{s:s, s:I, s:s?}", "status", "failing",
		    "problems", problems, "secretsFile", sst);
		if (sst != NULL && strcmp(sst, "ok") != 0) {
			json_object_set_new(v, "message", json_string(
			    detail != NULL ? detail : sst));
			xasprintf(text, "warp doctor: failing, %s",
			    detail != NULL ? detail : sst);
		} else
			xasprintf(text, "warp doctor: failing, %lld problem%s "
			    "(acpx --node %s warp doctor)", (long long)problems,
			    problems == 1 ? "" : "s", n->name);
		*failing = 1;
	}
	json_decref(j);
	return (v);
}

/*
 * Check node n: its JSON result (caller owns) with "line", its text line,
 * and "down" or "bad" set when it is unreachable or unusable.
 */
static json_t *
cmd_nodes_one(const struct config_node *n)
{
	struct acpx_error	*err;
	json_t			*o;
	char			*version, *dtext, *line;
	long long		 rtt;
	int			 failing;

	o = json_pack("{s:s, s:s}", "name", n->name, "ssh", n->ssh);
	if (node_relay_check(n, 1, &version, &rtt, &err) == 0) {
		json_object_set_new(o, "reachable", json_true());
		json_object_set_new(o, "rttMs", json_integer(rtt));
		json_object_set_new(o, "version", json_string(version));
		json_object_set_new(o, "warpDoctor",
		    cmd_nodes_doctor(n, &dtext, &failing));
		xasprintf(&line, "%s\treachable\t%lld ms\tacpx-native %s\t%s\n",
		    n->name, rtt, version, dtext);
		if (failing)
			json_object_set_new(o, "bad", json_true());
		free(dtext);
		free(version);
	} else {
		json_object_set_new(o, "reachable", json_boolean(
		    err->code != ACPX_CODE_NODE_UNREACHABLE));
		json_object_set_new(o, "error", json_string(
		    acpx_error_code_name(err->code)));
		if (err->detail_code != NULL)
			json_object_set_new(o, "detailCode",
			    json_string(err->detail_code));
		json_object_set_new(o, "message", json_string(err->message));
		xasprintf(&line, "%s\t%s\t-\t%s\n", n->name,
		    err->code == ACPX_CODE_NODE_UNREACHABLE ? "down" :
		    "unusable", err->message);
		json_object_set_new(o, err->code == ACPX_CODE_NODE_UNREACHABLE ?
		    "down" : "bad", json_true());
		acpx_error_free(err);
	}
	json_object_set_new(o, "line", json_string(line));
	free(line);
	return (o);
}

/*
 * A child process checks node n and writes its result to fd (the loop of
 * this process is reinitialised first: the child starts ssh on its own).
 */
static void
cmd_nodes_child(const struct config_node *n, int fd)
{
	json_t	*o;
	char	*s;
	size_t	 len, off = 0;
	ssize_t	 w;

	ev_loop_fork(proc_default_loop());
	o = cmd_nodes_one(n);
	s = json_dumps(o, JSON_COMPACT);
	len = s != NULL ? strlen(s) : 0;
	while (off < len) {
		if ((w = write(fd, s + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		off += (size_t)w;
	}
	_exit(0);
}

/* Read a child's result; NULL when it gave none. */
static json_t *
cmd_nodes_collect(pid_t pid, int fd)
{
	struct buf	 b = BUF_INITIALIZER;
	json_error_t	 jerr;
	json_t		*o;
	char		 chunk[4096];
	ssize_t		 n;
	int		 status;

	for (;;) {
		n = read(fd, chunk, sizeof chunk);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		buf_add(&b, chunk, (size_t)n);
	}
	close(fd);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	buf_addc(&b, '\0');
	o = json_loads(b.p, 0, &jerr);
	buf_free(&b);
	return (o);
}

/*
 * Check every configured node (or only the one named): the JSON list of
 * results (caller owns) and one text line each appended to text, in the
 * config's order; *down and *bad say whether one is unreachable or
 * unusable. The nodes are checked at once, each in a child process of
 * its own (forked before this process runs any loop; a node whose child
 * cannot start is checked here).
 */
json_t *
cmd_nodes_report(const struct config *c, const char *only, struct buf *text,
    int *down, int *bad)
{
	const struct config_node	*n;
	json_t				*list, *o;
	pid_t				*pids;
	int				*fds, p[2];
	size_t				 i, k = 0;

	*down = *bad = 0;
	list = json_array();
	pids = xcalloc(c->nnodes + 1, sizeof *pids);
	fds = xcalloc(c->nnodes + 1, sizeof *fds);
	for (i = 0; i < c->nnodes; i++)
		k += only == NULL || strcmp(c->nodes[i].name, only) == 0;
	fflush(NULL);
	for (i = 0; i < c->nnodes; i++) {
		n = &c->nodes[i];
		pids[i] = -1;
		if (k < 2 || (only != NULL && strcmp(n->name, only) != 0))
			continue;
		if (pipe(p) == -1)
			continue;
		if ((pids[i] = fork()) == 0) {
			close(p[0]);
			cmd_nodes_child(n, p[1]);
		}
		close(p[1]);
		if (pids[i] == -1)
			close(p[0]);
		else
			fds[i] = p[0];
	}
	for (i = 0; i < c->nnodes; i++) {
		n = &c->nodes[i];
		if (only != NULL && strcmp(n->name, only) != 0)
			continue;
		o = NULL;
		if (pids[i] > 0)
			o = cmd_nodes_collect(pids[i], fds[i]);
		if (!json_is_object(o)) {
			json_decref(o);
			o = cmd_nodes_one(n);
		}
		*down |= json_is_true(json_object_get(o, "down"));
		*bad |= json_is_true(json_object_get(o, "bad"));
		buf_adds(text, json_string_value(json_object_get(o, "line")));
		json_object_del(o, "line");
		json_object_del(o, "down");
		json_object_del(o, "bad");
		json_array_append_new(list, o);
	}
	free(pids);
	free(fds);
	return (list);
}

static int
cmd_nodes_run_common(const struct invocation *inv, struct output *out,
    int check)
{
	const struct config		*c = inv->config;
	struct acpx_error		*err;
	struct buf			 text = BUF_INITIALIZER;
	json_t				*list, *o;
	const char			*only = NULL;
	int				 rc = ACPX_EXIT_SUCCESS, down, bad;

	if (check && inv->nwords > 0)
		only = inv->words[0];
	if (only != NULL && config_find_node(c, only) == NULL) {
		err = acpx_error_new(ACPX_CODE_USAGE, "NODE_UNKNOWN", "cli",
		    "Unknown node '%s'", only);
		return (output_fail(out, err));
	}
	list = cmd_nodes_report(c, only, &text, &down, &bad);
	if (inv->format == ACPX_FORMAT_JSON) {
		o = json_pack("{s:o}", "nodes", list);
		output_result_json(out, o);
		json_decref(o);
	} else {
		json_decref(list);
		if (text.len > 0 && text.p[text.len - 1] == '\n')
			text.p[--text.len] = '\0';
		if (c->nnodes == 0)
			output_result_text(out, "No nodes configured (see "
			    "acpx-config(5), nodes)");
		else
			output_result_text(out, "%s", text.p);
	}
	buf_free(&text);
	if (check)
		rc = down ? ACPX_EXIT_NODE_UNREACHABLE : bad ? ACPX_EXIT_ERROR :
		    ACPX_EXIT_SUCCESS;
	return (rc);
}

/* The run function of any command given --node (cli-node.c). */
int
cmd_nodes_relay_run(const struct invocation *inv, struct output *out)
{
	return (node_relay_exec(config_find_node(inv->config, inv->node),
	    inv->node_argv, inv->node_file, inv->verb == NULL ||
	    strcmp(inv->verb, "prompt") == 0, out));
}

static int
cmd_nodes_list(const struct invocation *inv, struct output *out)
{
	return (cmd_nodes_run_common(inv, out, 0));
}

static int
cmd_nodes_check(const struct invocation *inv, struct output *out)
{
	return (cmd_nodes_run_common(inv, out, 1));
}

/* ------------------------------------------------------ the command rows */

static const struct cmd_arg check_args[] = { { "[name]",
    "The node to check (default: every node)", NULL } };

/* The configured node names. */
static int
cmd_nodes_complete(struct complete *c, const struct cmd_opt *o, int npos)
{
	if (o != NULL || npos != 0)
		return (0);
	complete_nodes(c);
	return (1);
}

static const struct cmd_entry cmd_nodes_list_entry = {
	.name = "list",
	.desc = "Show each node: reachable, round-trip time, acpx version, "
	    "warp doctor",
	.flags = CMD_ACTION,
	.prepare = cli_prepare_plain,
	.run = cmd_nodes_list
};

static const struct cmd_entry cmd_nodes_check_entry = {
	.name = "check",
	.desc = "Check the nodes (or one); exit non-zero when one is down",
	.args = check_args,
	.nargs = 1,
	.flags = CMD_ACTION,
	.prepare = cli_prepare_operands,
	.run = cmd_nodes_check,
	.complete = cmd_nodes_complete
};

static const struct cmd_entry *const cmd_nodes_subs[] = {
	&cmd_nodes_list_entry,
	&cmd_nodes_check_entry,
	NULL
};

/* Ours: kept out of the reference's help (see acpx(1)). */
const struct cmd_entry cmd_nodes_entry = {
	.name = "nodes",
	.desc = "Execution nodes over ssh: reachability, versions, warp "
	    "doctor",
	.subs = cmd_nodes_subs,
	.implies = "list",
	.flags = CMD_ACTION | CMD_HIDDEN,
	.prepare = cli_prepare_plain,
	.run = cmd_nodes_list
};
