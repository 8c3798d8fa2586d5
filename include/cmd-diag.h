/*
 * What `status` and `sessions show` print beyond the reference's fields
 * (cmd-diag.c): a session's first failures and last reconnect
 * (session_record_failure_*), when the record has them, and with
 * --verbose whether the session could be resumed after a restart. Nothing
 * is printed for a record without them, so the reference's output stays
 * as it is. Borrowed arguments only.
 */
#ifndef ACPX_CMD_DIAG_H
#define ACPX_CMD_DIAG_H

#include <jansson.h>

#include "output.h"
#include "session-record.h"

/* Text lines after the command's own. */
void		 cmd_diag_text(struct output *, const struct session_record *,
		    int resumability);

/* Keys added to the command's JSON object (firstFailures, lastReconnect,
   resumability). */
void		 cmd_diag_json(json_t *obj, const struct session_record *,
		    int resumability);

#endif
