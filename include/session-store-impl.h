/*
 * Internals of the session store (session-store.h), shared by its files
 * only: session-store-text.c makes the text of a record's save.
 */
#ifndef ACPX_SESSION_STORE_IMPL_H
#define ACPX_SESSION_STORE_IMPL_H

#include <stddef.h>

#include <jansson.h>

struct session_record;

/*
 * The file text of r's save: JSON.stringify(disk, null, 2) + "\n", disk
 * being r's disk view, after the key policy check of known (disk minus
 * the keys r only carries). The text of each message but the last is
 * kept for the next call, which reuses it for the messages unchanged
 * since: those of the same conversation mark (session_record.conv_epoch),
 * the conversation module changing only the last message and the ones it
 * appends. NULL with *cause (the policy's), else the text (caller frees)
 * and its length in *len.
 */
char	*session_store_text(const struct session_record *r,
	    const json_t *disk, const json_t *known, size_t *len,
	    char **cause);

#endif
