#include <config.h>

#include <sys/wait.h>

#include <stdlib.h>
#include <string.h>

#include "complete-impl.h"
#include "complete.h"
#include "config-file.h"
#include "node-relay.h"
#include "xmalloc.h"

/*
 * Completion after --node <name>: the sessions are the node's, so the
 * node is asked. Its own `acpx __complete --describe -- WORDS...` runs
 * over the shared ssh connection (opened if need be) with the command
 * line as given, less the --node option, and its candidates are offered
 * as they come. A short ceiling bounds it; a node that is down, slow, or
 * runs another acpx gives nothing, never an error (--describe first: an
 * acpx that lacks __complete stops at that unknown option).
 */

#define COMPLETE_NODE_TIMEOUT	3.0	/* seconds: a shell is waiting */

/*
 * The ceiling: COMPLETE_NODE_TIMEOUT, or ACPX_NODE_COMPLETE_TIMEOUT
 * seconds (the suite sets a long one, so that a slow machine is not taken
 * for a node that does not answer).
 */
static double
complete_node_timeout(void)
{
	const char	*v = getenv("ACPX_NODE_COMPLETE_TIMEOUT");
	char		*end;
	double		 t;

	if (v == NULL || *v == '\0')
		return (COMPLETE_NODE_TIMEOUT);
	t = strtod(v, &end);
	return (*end == '\0' && t > 0 && t <= 3600 ? t :
	    COMPLETE_NODE_TIMEOUT);
}

/* Offer the lines of a ":words" answer. */
static void
complete_node_parse(struct complete *c, char *out)
{
	char	*line, *next, *tab;

	if (strncmp(out, ":words\n", 7) != 0)
		return;
	for (line = out + 7; *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		else
			next = line + strlen(line);
		if (*line == '\0')
			continue;
		if ((tab = strchr(line, '\t')) != NULL)
			*tab++ = '\0';
		complete_add(c, line, tab);
	}
}

/* The node's candidates for the word under the cursor. */
void
complete_node_sessions(struct complete *c)
{
	const struct config		*cfg = complete_config(c);
	const struct config_node	*n;
	char				**argv, *ctl, *cmd, *out, *tail;
	char				*cause = NULL;
	int				  i, k = 0, status;

	if (cfg == NULL || (n = config_find_node(cfg, c->node)) == NULL)
		return;
	if ((ctl = node_relay_ctl_path(n, &cause)) == NULL) {
		free(cause);
		return;
	}
	argv = xcalloc((size_t)c->nwords + 4, sizeof *argv);
	argv[k++] = "__complete";
	argv[k++] = "--describe";
	argv[k++] = "--";
	for (i = 0; i < c->nwords; i++) {
		if (c->node_len > 0 && i >= c->node_at &&
		    i < c->node_at + c->node_len)
			continue;
		argv[k++] = c->words[i];
	}
	argv[k] = NULL;
	cmd = node_relay_command(n->acpx, argv);
	free(argv);
	if (node_relay_capture(n, ctl, cmd, complete_node_timeout(), &status,
	    &out, &tail, &cause) == -1)
		free(cause);
	else {
		if (status != -1 && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0)
			complete_node_parse(c, out);
		free(out);
		free(tail);
	}
	free(cmd);
	free(ctl);
}
