/*
 * libFuzzer harness: a prompt file or stdin (prompt-input.h), text or a
 * JSON content-block array, checked against agent capabilities; and the
 * same bytes as an --agent command line (cmdline.h).
 */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acpx-error.h"
#include "cmdline.h"
#include "js.h"
#include "prompt-input.h"
#include "xmalloc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***);

static json_t	*fz_caps;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	xmalloc_init();
	fz_caps = json_pack("{s:{s:b, s:b, s:b}}", "promptCapabilities",
	    "image", 1, "audio", 0, "embeddedContext", 0);
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acpx_error	*err = NULL;
	json_t			*blocks;
	char			*text, **argv = NULL, *cause = NULL, *id;

	blocks = prompt_input_parse((const char *)data, size, &err);
	if (blocks == NULL) {
		if (err == NULL)
			abort();
		acpx_error_free(err);
	} else {
		if (!json_is_array(blocks))
			abort();
		if (prompt_input_check_caps(blocks, fz_caps, &err) == -1)
			acpx_error_free(err);
		err = NULL;
		if (prompt_input_check_caps(blocks, NULL, &err) == -1)
			acpx_error_free(err);
		json_decref(blocks);
	}

	text = xmalloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	if (cmdline_split(text, &argv, &cause) == 0) {
		id = cmdline_identity(argv);
		free(id);
		cmdline_free(argv);
	} else
		free(cause);
	(void)js_strlen(text);
	free(text);
	return (0);
}
