/*
 * The one atomic file writer every store uses (session records, exports,
 * queue leases, the Warp cooldown state): a reader sees the old file or
 * the whole new one, never a part, and after a crash the new file is on
 * disk once fsutil_write() has returned 0. A blocking local write: the
 * labelled exception to "nothing blocks the event loop".
 *
 * The bytes are staged in <dir>/acpx-write-XXXXXX/record.json (a private
 * directory, so a store's own directory scans never meet a half-written
 * file and a crash leaves one recognisable leftover), written, fsync'ed,
 * moved over the target by rename() (or published by link(), which never
 * replaces), and the directory is fsync'ed, as redis's rdbSave() does.
 *
 * Ownership: nothing returned needs freeing; *op is a static string.
 */
#ifndef ACPX_FSUTIL_H
#define ACPX_FSUTIL_H

#include <stddef.h>

#define FSUTIL_NOREPLACE	0x1	/* link(): fail with EEXIST if present */
#define FSUTIL_NOSYNC		0x2	/* atomic but not durable: no fsync (a
					   file that dies with its process) */
#define FSUTIL_SIBLING		0x4	/* stage in <path>.tmp beside it, not
					   in a private directory: for a file
					   only one process writes, in a
					   directory whose scans skip *.tmp */
#define FSUTIL_KEEP_STAGE	0x8	/* keep the staging directory for this
					   process's next write to the same
					   directory (no mkdir and rmdir per
					   write: on a file system mounted
					   with discard, each rmdir waits for
					   the device); it is removed at exit,
					   by fsutil_release_stage(), when a
					   write fails or goes elsewhere */

/*
 * Write len bytes to path atomically (mode 0600; path's directory must
 * exist). 0, or -1 with errno set and *op (if not NULL) naming the step
 * that failed: "mkdtemp", "open", "write", "fsync", "close", "rename",
 * "link". On failure the old file (if any) is untouched and no staging is
 * left behind.
 */
int	 fsutil_write(const char *path, const void *bytes, size_t len,
	    int flags, const char **op);

/* A copy of path's directory part ("." if none, "/" for "/x"). Caller frees. */
char	*fsutil_dirname(const char *path);

#define FSUTIL_HOLD_REPLACED	0x10	/* keep the replaced file open (up to
					   4 per process, the oldest closed
					   first) until
					   fsutil_release_replaced(): its
					   blocks are freed then, not in the
					   rename (with discard, freeing
					   waits for the device) */

#define FSUTIL_DEFER_DIRSYNC	0x20	/* fsync the data before the rename
					   but leave the directory's fsync
					   to the caller (fsutil_sync_dir()
					   on path, later): the new file is
					   whole once fsutil_write() returns,
					   its name durable after that sync */

/* Close the replaced files FSUTIL_HOLD_REPLACED kept (freeing them). */
void	 fsutil_release_replaced(void);

/* Remove the staging directory FSUTIL_KEEP_STAGE kept, if any. */
void	 fsutil_release_stage(void);

/* fsync() the directory holding path (EINVAL/EBADF tolerated). 0 or -1. */
int	 fsutil_sync_dir(const char *path);

/*
 * fsutil-bg.c, the background worker: one thread per process (started on
 * first use, every signal blocked) fsyncs and closes the descriptors
 * handed to it, in order, so the caller's loop does not wait for the
 * device. fd is taken over (-1 is ignored). What fails there is not
 * reported: the writes had succeeded; a failing device shows at the next
 * write. Without a thread the work is done at once.
 */
void	 fsutil_bg_fsync(int fd);	/* fsync(fd), then close(fd) */
void	 fsutil_bg_close(int fd);	/* close(fd) (a replaced file's last) */
/* fsync the directory holding path, in the background. 0, or -1: no open. */
int	 fsutil_bg_sync_dir(const char *path);
/* Wait until the worker is done with everything (also at exit). */
void	 fsutil_bg_drain(void);

#endif
