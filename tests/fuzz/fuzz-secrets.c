/*
 * libFuzzer harness: the warp secrets file parser (secrets.h), then lookups
 * and redaction over the same bytes.
 */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "secrets.h"
#include "xmalloc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	xmalloc_init();
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct secrets	*s;
	char		*cause = NULL, *text, *red;

	s = secrets_parse((const char *)data, size, "/fuzz/.env", &cause);
	if (s == NULL) {
		if (cause == NULL)
			abort();
		free(cause);
		return (0);
	}
	text = xmalloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	(void)secrets_get(s, "WARP_API_KEY");
	(void)secrets_source(s, "OPENAI_API_KEY");
	(void)secrets_count(s);
	(void)secrets_leaks(s, text);
	red = secrets_redact(s, text);
	free(red);
	free(text);
	secrets_free(s);
	return (0);
}
