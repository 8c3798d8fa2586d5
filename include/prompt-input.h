/*
 * Prompt input (spec acpx-cli.md §1.5): where the prompt comes from
 * (--file, positional words, stdin), the structured-prompt form (a JSON
 * array of ACP content blocks) with every validation message of the
 * reference's prompt-content.ts, and the check of block types against the
 * agent's promptCapabilities. Reading stdin or the file is the one blocking
 * read, done before the event loop starts.
 */
#ifndef ACPX_PROMPT_INPUT_H
#define ACPX_PROMPT_INPUT_H

#include <stddef.h>

#include <jansson.h>

#include "acpx-error.h"

/* Where a command's prompt comes from. */
struct prompt_input_src {
	char *const	*words;		/* positional prompt words */
	int		 nwords;
	const char	*file;		/* -f/--file ("-": stdin), or NULL */
	const char	*cwd;		/* a relative file is read from here */
	int		 final_argument; /* "pass as final argument" (compare) */
};

/*
 * The prompt as an array of ACP content blocks (caller owns): the file's
 * (plus the words), else the words, else stdin when it is not a TTY. NULL
 * with *err (USAGE for empty/invalid prompts, RUNTIME for unreadable
 * files).
 */
json_t		*prompt_input_read(const struct prompt_input_src *,
		    struct acpx_error **err);

/*
 * Parse a prompt source (file or stdin text): a valid content-block array
 * is used as-is, anything else becomes one text block; blank text gives an
 * empty array. NULL with *err (USAGE) for an array with an invalid block.
 */
json_t		*prompt_input_parse(const char *text, size_t len,
		    struct acpx_error **err);

/*
 * Check image/audio/resource blocks against the agent's capabilities
 * (initialize result agentCapabilities; may be NULL). 0, or -1 with *err
 * (USAGE, detail UNSUPPORTED_PROMPT_CONTENT).
 */
int		 prompt_input_check_caps(const json_t *blocks,
		    const json_t *agent_capabilities, struct acpx_error **err);

#endif
