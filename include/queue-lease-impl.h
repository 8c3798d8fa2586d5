/*
 * Internals shared by the parts of the queue leases: queue-lease.c
 * (acquire, heartbeat, release), queue-lease-path.c (where leases and
 * sockets live) and queue-lease-read.c (reading, staleness, retirement).
 * Nothing here is for other modules.
 */
#ifndef ACPX_QUEUE_LEASE_IMPL_H
#define ACPX_QUEUE_LEASE_IMPL_H

#include <sys/types.h>

#include <jansson.h>

#include "queue-lease.h"
#include "session-lock.h"

/* os.homedir(): $HOME, else the password database. Borrowed. */
const char	*queue_lease_home(void);

char		*queue_lease_dir(void);

long long	 queue_lease_now_ms(void);

/* Hold <K>.lock.guard, retrying for up to 2 s. NULL with *cause. */
struct session_lock_guard *queue_lease_guard(const char *record_id,
		    char **cause);

#endif /* ACPX_QUEUE_LEASE_IMPL_H */
