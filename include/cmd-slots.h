/*
 * The command-line side of the host-wide agent cap (slots.h): a prompt
 * says it will wait for a free agent slot (text mode) or, with --no-wait,
 * refuses with HOST_AT_CAPACITY; exec waits for a slot of its own and
 * holds it while its agent runs, and so does every other command that
 * spawns an agent. The slot held belongs to the caller
 * (slots_hold_release()); errors to the caller.
 */
#ifndef ACPX_CMD_SLOTS_H
#define ACPX_CMD_SLOTS_H

#include <signal.h>

#include "acpx-error.h"
#include "cli-invocation.h"
#include "output.h"
#include "slots.h"

/*
 * Before a persistent prompt of the session: 0 go on (a notice printed if
 * its owner will wait for a slot), -1 with *err (--no-wait and no slot).
 */
int		 cmd_slots_prompt_check(const struct invocation *,
		    const char *session_id, struct output *,
		    struct acpx_error **err);

/*
 * Before exec spawns its agent: wait in the FIFO for a slot (*hold, NULL
 * when no cap applies). -1 with *err if the slot directory is unusable.
 */
int		 cmd_slots_exec_acquire(const struct invocation *,
		    struct output *, struct slots_hold **hold,
		    struct acpx_error **err);

/*
 * Before any other command spawns an agent (sessions new/ensure, a direct
 * set-mode/set, ...): wait on loop in the FIFO for a slot (*hold, NULL
 * when no cap applies), as kind. With inv->no_wait and no slot free now,
 * -1 with *err HOST_AT_CAPACITY; -1 with *err also when *stop (may be
 * NULL) became non-zero while waiting, or the slot directory is unusable.
 */
int		 cmd_slots_acquire(const struct invocation *, struct output *,
		    struct ev_loop *, const char *kind,
		    const volatile sig_atomic_t *stop,
		    struct slots_hold **hold, struct acpx_error **err);

#endif
