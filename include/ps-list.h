/*
 * The rows of `acpx ps`: every live queue owner, exec and warp serve of
 * this user on this host, from local state only: the registrations
 * (run-registry.h), the queue leases (queue-lease.h) for the waiting
 * prompts and for owners that did not register (another acpx's), their
 * session records, and /proc (ps-proc.h) for the agents' memory.
 *
 * A row: {pid, proc, session, name, agent, harness, warpAgent, cwd,
 * agentPid, state ("starting", "idle", "running", "unknown"), queued,
 * startedAt, uptimeMs, rssBytes (the agent's process tree; null without
 * an agent), lastEvent, lastEventAt}; absent members are null.
 *
 * Ownership: ps_list() returns an array the caller json_decref()s.
 */
#ifndef ACPX_PS_LIST_H
#define ACPX_PS_LIST_H

#include <stdint.h>

#include <jansson.h>

/* The rows, oldest first, at now_ms (ms since the epoch). */
json_t		*ps_list(int64_t now_ms);

#endif
