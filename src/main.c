#include <config.h>

#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acpx-error.h"
#include "acpx.h"
#include "cli.h"
#include "colour.h"
#include "progress.h"
#include "js.h"
#include "node-relay.h"
#include "output.h"
#include "xmalloc.h"

/*
 * acpx: parse the command line into an invocation, then run its command
 * with a renderer for the chosen format. Errors before a command runs are
 * rendered here, in the format the command line asked for.
 */

/*
 * Node decodes argv as UTF-8, replacing invalid bytes with U+FFFD; do the
 * same, so every word can become a JSON string. The copies live as long
 * as the process.
 */
static void
acpx_fix_argv(int argc, char **argv)
{
	char	*fixed;
	size_t	 len, n;
	int	 i;

	for (i = 1; i < argc; i++) {
		len = strlen(argv[i]);
		fixed = js_utf8_fix(argv[i], len, &n);
		if (n != len || memcmp(fixed, argv[i], len) != 0)
			argv[i] = fixed;
		else
			free(fixed);
	}
}

/* stdout's buffer when it is no terminal (untouched pages cost nothing). */
static char	stdout_buf[64 * 1024];

int
main(int argc, char **argv)
{
	struct invocation	 inv;
	struct output_opts	 oo;
	struct output		*out;
	struct acpx_error	*err = NULL;
	enum acpx_format	 err_format;
	cmd_run_fn		 run;
	char			**node_argv = NULL;
	int			 rc;

	/*
	 * The 128 KiB line buffers and the 64 KiB-aligned blocks of the
	 * parse arena come from the heap, not each from an mmap(2) of its
	 * own (with munmap(2) and a TLB flush when freed): glibc's threshold
	 * only rises past them after the first such free.
	 */
	mallopt(M_MMAP_THRESHOLD, 512 * 1024);
	xmalloc_init();
	signal(SIGPIPE, SIG_IGN);
	/*
	 * Streams are written in large writes (output_attach_loop()). The
	 * buffer is ours: given none, glibc ignores the size and allocates
	 * st_blksize bytes (4 KiB on a pipe).
	 */
	if (!isatty(STDOUT_FILENO))
		setvbuf(stdout, stdout_buf, _IOFBF, sizeof stdout_buf);
	acpx_fix_argv(argc, argv);
	/* The node's end of a --node relay forks first (node-relay.h). */
	if (argc > 1 && strcmp(argv[1], "__node-relay") == 0) {
		rc = node_relay_serve_main(argc - 2, argv + 2, &node_argv);
		if (node_argv == NULL)
			return (rc);
		argc = rc;
		argv = node_argv;
	} else if (argc > 1 && strcmp(argv[1], "__node-relayd") == 0) {
		/* The resident relay, and each command it runs. */
		rc = node_relay_daemon_main(argc - 2, argv + 2, &node_argv);
		if (node_argv == NULL)
			return (rc);
		argc = rc;
		argv = node_argv;
	}

	rc = cli_parse(argc, argv, &inv, &run, &err_format, &err);
	memset(&oo, 0, sizeof oo);
	if (rc == -1) {
		oo.format = err_format;
		oo.json_strict = inv.json_strict;
		oo.color = err_format == ACPX_FORMAT_TEXT && colour_wanted(
		    STDOUT_FILENO, colour_argv_no_color(argc, argv));
		oo.color_err = err_format == ACPX_FORMAT_TEXT && colour_wanted(
		    STDERR_FILENO, colour_argv_no_color(argc, argv));
		oo.agent_name = inv.agent.name;
		out = output_create(&oo);
		output_error(out, err);
		rc = output_broken_pipe(out) ? ACPX_EXIT_SUCCESS :
		    acpx_error_exit(err);
		output_free(out);
		acpx_error_free(err);
	} else if (run != NULL) {
		oo.format = inv.format;
		oo.json_strict = inv.json_strict;
		oo.suppress_reads = inv.suppress_reads;
		oo.color = inv.format == ACPX_FORMAT_TEXT &&
		    colour_wanted(STDOUT_FILENO, inv.no_color);
		oo.color_err = inv.format == ACPX_FORMAT_TEXT &&
		    colour_wanted(STDERR_FILENO, inv.no_color);
		oo.agent_name = inv.agent.name;
		out = output_create(&oo);
		progress_init(inv.format == ACPX_FORMAT_TEXT &&
		    !inv.json_strict && !inv.verbose);
		rc = run(&inv, out);
		progress_clear();
		if (output_broken_pipe(out))
			rc = ACPX_EXIT_SUCCESS;
		output_free(out);
	}
	cli_invocation_free(&inv);
	free(node_argv);
	fflush(stdout);
	return (rc);
}
