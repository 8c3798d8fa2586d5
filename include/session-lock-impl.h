/*
 * Internals shared by the parts of the session locks: session-lock.c
 * (turn locks), session-lock-id.c (process identity) and session-lock-guard.c
 * (the guard files). Nothing here is for other modules.
 */
#ifndef ACPX_SESSION_LOCK_IMPL_H
#define ACPX_SESSION_LOCK_IMPL_H

#include <sys/types.h>

#include <time.h>

#include <jansson.h>

#include "session-lock.h"

/* A snapshot of a lock file: its identity and bytes. */
struct lock_snap {
	dev_t		 dev;
	ino_t		 ino;
	struct timespec	 mtime;
	off_t		 size;
	char		*bytes;
};

void		 session_lock_snap_clear(struct lock_snap *s);

/* 0 with *s, 1 if missing, -1 with *cause (not a regular file, I/O). */
int		 session_lock_snap_read(const char *path, struct lock_snap *s,
		    char **cause);

/* Unlink path if it is still exactly what s saw. */
int		 session_lock_remove_if_same(const char *path,
		    const struct lock_snap *s);

/* pid and processIdentity of a payload (leading JSON of bytes). */
pid_t		 session_lock_payload_pid(const char *bytes, json_t **identity);

/* Our {"pid","processIdentity"} payload object. Caller owns. */
json_t *	 session_lock_own_payload(void);

int		 session_lock_write_excl(const char *path, const char *bytes,
		    char **cause);

/* Stage payload in <dir>/session-turn-XXXXXX (a file) and link it to path. */
int		 session_lock_publish(const char *dir, const char *path,
		    const char *payload, char **cause);

#endif /* ACPX_SESSION_LOCK_IMPL_H */
