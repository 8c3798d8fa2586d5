/*
 * Helpers shared by the parts of the queue wire code (queue-proto.c:
 * field validation; queue-framer.c: framing; queue-request.c: requests;
 * queue-msg.c: owner messages). Not for other modules: everything
 * else goes through queue-proto.h.
 */
#ifndef ACPX_QUEUE_PROTO_IMPL_H
#define ACPX_QUEUE_PROTO_IMPL_H

#include <jansson.h>

/* One line parsed as Node's JSON.parse would (bad UTF-8 replaced). Caller owns. */
json_t		*queue_proto_parse_json(const char *line, size_t len);
/* A finite JavaScript number: 1 with *d set, else 0. */
int		 queue_proto_number(const json_t *, double *d);
/* A positive integer: its value; absent/null: 0; anything else: -1. */
long long	 queue_proto_positive(const json_t *);
/* A string with a non-space character. */
int		 queue_proto_nonempty(const char *);

/* A double as long long, saturating (peers may send any number). */
long long	 queue_proto_dbl_to_ll(double d);

/* Optional boolean: -1 absent, 0/1, -2 invalid. */
int		 queue_proto_opt_bool(const json_t *v);

/* isContentBlock of prompt-content.ts. */
int		 queue_proto_content_block_valid(const json_t *b);

/* isPermissionPolicy of messages.ts. */
int		 queue_proto_permission_policy_valid(const json_t *p);

#endif /* ACPX_QUEUE_PROTO_IMPL_H */
