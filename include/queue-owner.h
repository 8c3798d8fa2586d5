/*
 * The queue owner (spec acpx-runtime.md §7-8): `acpx __queue-owner`, the
 * detached per-session process that holds the session's agent connection.
 * It reads its startup payload (compact JSON) on stdin, takes the session's
 * lease, listens on the session socket, runs submitted prompts one at a
 * time in FIFO order through one acp_client (journaling every turn and
 * saving the record at turn boundaries), answers cancel, set-mode, set and
 * close requests, and exits after the idle TTL. One libev loop; nothing on
 * it waits on another process or socket.
 */
#ifndef ACPX_QUEUE_OWNER_H
#define ACPX_QUEUE_OWNER_H

/*
 * Run the owner until it exits. Returns the process exit status: 0 after a
 * clean shutdown (or when another owner already holds the lease), 1 after
 * "[acpx] queue owner failed: <message>" on stderr.
 */
int		 queue_owner_main(void);

#endif
