/*
 * SHA-256 (FIPS 180-4), used for the queue's file and socket names
 * (sha256hex of the record id and of $HOME, spec acpx-runtime.md §1).
 * Pure: no I/O.
 */
#ifndef ACPX_SHA256_H
#define ACPX_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_LENGTH	32

struct sha256_ctx {
	uint32_t	state[8];
	uint64_t	bytes;		/* message length so far */
	unsigned char	block[64];
	size_t		used;		/* bytes in block */
};

/* Start a new digest. */
void	sha256_init(struct sha256_ctx *);
/* Add len bytes. */
void	sha256_update(struct sha256_ctx *, const void *, size_t);
/* Finish into out (32 bytes); the context must be re-initialised after. */
void	sha256_final(struct sha256_ctx *, unsigned char *out);

/* Lower-case hex SHA-256 of len bytes into hex (65 bytes with the NUL). */
void	sha256_hex(const void *, size_t, char hex[65]);

#endif
