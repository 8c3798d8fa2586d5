/*
 * Internals shared by the parts of the queue client: queue-client.c (a
 * request's life, health probes), queue-client-connect.c (finding the
 * owner, connecting), queue-client-wire.c (the request/reply exchange) and
 * queue-client-start.c (recovering a stale owner, starting a new one). Not
 * for other modules.
 */
#ifndef ACPX_QUEUE_CLIENT_IMPL_H
#define ACPX_QUEUE_CLIENT_IMPL_H

#include <sys/types.h>

#include <ev.h>
#include <jansson.h>

#include "acpx-error.h"
#include "queue-client.h"
#include "queue-lease.h"
#include "queue-proto.h"

#define QC_RETRY_S		0.05
#define QC_CONNECT_TRIES	40
#define QC_PROBE_TRIES		2
#define QC_START_POLLS		120
#define QC_LOCK_POLLS		2400	/* 2 min: another client's owner start */
#define QC_CLOSED_RETRIES	40	/* owner was shutting down: start anew */
#define QC_TERM_GRACE_S		12.0
#define QC_KILL_GRACE_S		1.5
#define QC_STDERR_MAX		4000
#define QC_READ			65536
#define QC_ACK_WATCH_S		5.0	/* re-check a silent owner's lease */
#define QC_SKEW_WATCH_S		20.0	/* four heartbeats (5 s): a loaded machine
					   delays them by seconds */

enum qc_state {
	QC_FIND = 0,
	QC_RETIRE,
	QC_CONNECT,
	QC_EXCHANGE,
	QC_LOCK,
	QC_START,
	QC_DONE
};

struct queue_client {
	struct ev_loop		*loop;
	char			*record_id;
	json_t			*payload;
	char			*mcp_path;
	char			*mcp_fingerprint;
	int			 any_owner;
	struct queue_request	*req;
	struct queue_client_cbs	 cbs;
	void			*arg;
	queue_probe_cb		 probe_cb;
	struct queue_health	 health;

	enum qc_state		 state;
	void			(*timer_fn)(struct queue_client *);
	ev_timer		 timer_w;
	ev_idle			 begin_w;

	struct queue_lease_info	*owner;		/* the owner we talk to */
	int			 tries;
	int			 closed_retries;
	int			 fd;
	ev_io			 rd_w;
	ev_io			 wr_w;
	char			*out;
	size_t			 outlen;
	size_t			 outoff;
	struct queue_framer	*in;
	int			 acked;

	/* Retirement of a stale owner. */
	struct queue_lease_info	*retiring;
	int			 ret_sig;
	int			 ret_require_stale;
	ev_tstamp		 ret_deadline;
	/* A stale-looking heartbeat of a live owner: watch it change first. */
	int			 skew_watch;
	char			 skew_hb[64];

	/* Starting an owner. */
	int			 lock_fd;
	int			 lock_polls;
	int			 spawned;
	int			 polls;
	pid_t			 spawn_pid;
	ev_child		 child_w;
	int			 spawn_exited;
	int			 child_status;
	int			 err_fd;
	ev_io			 err_w;
	char			 errbuf[QC_STDERR_MAX + 1];
	size_t			 errlen;
	int			 in_fd;
	ev_io			 in_w;
	char			*input;
	size_t			 inputlen;
	size_t			 inputoff;
	char			*input_error;
};

/* queue-client.c */
void		 queue_client_end(struct queue_client *, enum queue_client_end,
		    struct acpx_error *, const struct queue_msg *);
void		 queue_client_fail(struct queue_client *, struct acpx_error *);
struct acpx_error *queue_client_error(const char *detail, int retryable,
		    const char *fmt, const char *arg);
void		 queue_client_after(struct queue_client *, double,
		    void (*)(struct queue_client *));
void		 queue_client_stop_capture(struct queue_client *);
void		 queue_client_unlock(struct queue_client *);
void		 queue_client_find(struct queue_client *);
void		 queue_client_use_owner(struct queue_client *,
		    struct queue_lease_info *);

/* queue-client-start.c */
void		 queue_client_retire(struct queue_client *);
void		 queue_client_no_owner(struct queue_client *);

void		 queue_client_close_socket(struct queue_client *qc);

/* "<msg>; request outcome is unknown. Do not automatically resubmit." */
void		 queue_client_uncertain(struct queue_client *qc, const char *detail,
		    const char *msg);

/* Connected: send the request line and read the replies. */
void		 queue_client_exchange(struct queue_client *qc);

#endif /* ACPX_QUEUE_CLIENT_IMPL_H */
