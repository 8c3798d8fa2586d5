/*
 * Private to the JSON-RPC module (jsonrpc.c: connection, output and close;
 * jsonrpc-in.c: reading, classifying and dispatching lines). Nothing else
 * includes this.
 */
#ifndef ACPX_JSONRPC_IMPL_H
#define ACPX_JSONRPC_IMPL_H

#include <stddef.h>

#include <ev.h>
#include <jansson.h>

#include "buf.h"
#include "jsonrpc.h"

#define JSONRPC_READ	(64 * 1024)
#define JSONRPC_SHRINK	(1024 * 1024)	/* free idle buffers above */
#define JSONRPC_DECODE	(JSON_DECODE_ANY|JSON_ALLOW_NUL)

struct jsonrpc_pending {
	long long	 id;
	jsonrpc_done_cb	 cb;
	void		*arg;
};

struct jsonrpc_table {
	struct jsonrpc_pending	*v;	/* sorted by id */
	size_t			 n;
	size_t			 size;
};

struct jsonrpc {
	struct ev_loop		*loop;
	int			 rfd;
	int			 wfd;
	int			 sock;		/* rfd == wfd */
	ev_io			 rd_w;
	ev_io			 wr_w;		/* while output waits */
	ev_prepare		 flush_w;	/* output queued this loop turn */
	ev_idle			 defer_w;	/* unsent completions */
	struct linebuf		*in;

	struct buf		 out;		/* queued output */
	size_t			 out_off;	/* first unsent byte */

	struct jsonrpc_callbacks cb;
	void			*arg;

	long long		 next_id;
	struct jsonrpc_table	 pending;	/* sent, no response yet */
	struct jsonrpc_table	 unsent;	/* asked for after close */

	int			 flags;
#define JSONRPC_F_CLOSED	0x1	/* no reads; pendings completed */
#define JSONRPC_F_WSHUT		0x2	/* close wfd once flushed */
#define JSONRPC_F_DEAD		0x4	/* freed inside a callback */
#define JSONRPC_F_PAUSED	0x8	/* reads stopped by jsonrpc_pause() */
	int			 busy;		/* callback depth */
	enum jsonrpc_close_reason reason;
};

/* jsonrpc.c */
int		 jsonrpc_unbusy(struct jsonrpc *);
void		 jsonrpc_finish(struct jsonrpc *, enum jsonrpc_close_reason);
int		 jsonrpc_table_take(struct jsonrpc_table *, long long,
		    struct jsonrpc_pending *);
int		 jsonrpc_utf8_valid(const char *, size_t);
json_t		*jsonrpc_envelope(void);
void		 jsonrpc_set(json_t *, const char *, json_t *);
int		 jsonrpc_send(struct jsonrpc *, json_t *);
int		 jsonrpc_can_write(const struct jsonrpc *);

/* jsonrpc-in.c */
void		 jsonrpc_read_cb(struct ev_loop *, ev_io *, int);

#endif
