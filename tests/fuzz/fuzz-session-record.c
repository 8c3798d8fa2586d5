/*
 * libFuzzer harness: session records (session-record.h). Bytes that parse
 * as JSON (read as session-store.c reads a record file) go through session_record_parse; a valid record is serialised
 * to disk form and camelCase, and the disk form must parse back.
 */
#include <config.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "session-record.h"
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
	struct session_record	*rec, *copy;
	json_t			*v, *disk, *camel;
	char			*cause = NULL;
	json_error_t		 jerr;

	/* As session-store.c reads a record file. */
	if ((v = json_loadb((const char *)data, size,
	    JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr)) == NULL)
		return (0);
	if (session_record_check_keys(v, &cause) != 0) {
		free(cause);
		cause = NULL;
	}
	if ((rec = session_record_parse(v, &cause)) == NULL) {
		if (cause == NULL)
			abort();
		free(cause);
		json_decref(v);
		return (0);
	}
	copy = session_record_copy(rec);
	disk = session_record_to_disk(copy);
	camel = session_record_to_camel(rec);
	session_record_free(copy);
	if ((copy = session_record_parse(disk, &cause)) == NULL) {
		/* What we write must read back. */
		fprintf(stderr, "round trip: %s\n", cause);
		abort();
	}
	session_record_free(copy);
	json_decref(camel);
	json_decref(disk);
	session_record_free(rec);
	json_decref(v);
	return (0);
}
