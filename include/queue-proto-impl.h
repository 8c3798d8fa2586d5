/*
 * Helpers shared by the two halves of the queue wire code (queue-proto.c:
 * framing and requests; queue-proto-msg.c: owner messages). Not for other
 * modules: everything else goes through queue-proto.h.
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

#endif
