/*
 * compare: one prompt run exec-style across several agents, one after the
 * other, summarised as a row per agent (spec acpx-cli.md §3.9).
 * cmd-compare.c owns the rows, their json/quiet/table rendering and the
 * exit status.
 */
#ifndef ACPX_CMD_COMPARE_H
#define ACPX_CMD_COMPARE_H

#include "cli.h"

struct output;

/* compare <agent>... '<prompt>': run each agent, print the rows. */
int		 cmd_compare_run(const struct invocation *, struct output *);

#endif
