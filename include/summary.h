/*
 * Continuation summaries (spec warp-routing.md §7 step 2): what the next
 * agent of a fallback chain is told about a turn a provider failure cut
 * short, built deterministically from the turn's own record (the ACP
 * messages of the turn, as the renderer and the journal see them; no
 * model call, no ids or times): the original goal, the completed steps,
 * the files changed or attempted, relevant command output and error lines
 * (bounded), the exact provider failure signal and the remaining work.
 * Pure: owns no state.
 */
#ifndef ACPX_SUMMARY_H
#define ACPX_SUMMARY_H

#include <jansson.h>

/* Bounds of the summary's parts. */
#define SUMMARY_GOAL_MAX	4000	/* bytes of the goal */
#define SUMMARY_ITEMS_MAX	50	/* steps, files, plan entries */
#define SUMMARY_OUTPUT_LINES	40	/* output lines in all */
#define SUMMARY_LINES_PER_STEP	8	/* last lines of one step's output */
#define SUMMARY_LINE_MAX	200	/* bytes of one output line */

/*
 * The summary text of a turn: goal = the prompt's content blocks, messages
 * = the turn's ACP messages in wire order (both directions), signal = the
 * provider failure signal (may be NULL). Caller owns.
 */
char		*summary_build(const json_t *goal, const json_t *messages,
		    const char *signal);

/*
 * The prompt for the next agent: a text block with the summary, then the
 * original blocks. Caller owns.
 */
json_t		*summary_continuation(const char *summary, const json_t *goal);

#endif
