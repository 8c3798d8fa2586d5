/*
 * libFuzzer harness: journal lines (journal.h reader). The bytes become
 * the active event-log segment of a record in a private HOME, read back
 * with journal_read and journal_messages; they are also tried as a watch
 * cursor.
 */
#include <config.h>

#include <sys/stat.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "journal.h"
#include "session-path.h"
#include "session-store.h"
#include "xmalloc.h"

#define FZ_RECORD	"fuzz-record"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***);

static char	*fz_file;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char	 tmpl[] = "/tmp/fuzz-journal.XXXXXX", *cause = NULL;

	(void)argc; (void)argv;
	xmalloc_init();
	if (mkdtemp(tmpl) == NULL)
		abort();
	setenv("HOME", tmpl, 1);
	if (session_store_ensure_dir(&cause) != 0)
		abort();
	fz_file = session_path_segment(FZ_RECORD, 0);
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct journal_snapshot	 snap;
	json_t			*msgs;
	char			*cause = NULL, *text, *rid = NULL;
	long long		 seq;
	int			 fd;

	if ((fd = open(fz_file, O_WRONLY|O_CREAT|O_TRUNC, 0600)) == -1)
		abort();
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);

	memset(&snap, 0, sizeof snap);
	if (journal_read(FZ_RECORD, size % 2 ? 1 : -1, &snap, &cause) != 0) {
		if (cause == NULL)
			abort();
		free(cause);
		cause = NULL;
	}
	journal_snapshot_free(&snap);
	msgs = journal_messages(FZ_RECORD);
	json_decref(msgs);

	text = xmalloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	if (journal_cursor_decode(text, &rid, &seq, &cause) == 0)
		free(rid);
	else
		free(cause);
	free(text);
	return (0);
}
