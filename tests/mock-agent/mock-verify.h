/*
 * mock-agent --verify: check a record file against the scenario's
 * "verify" object (mock-verify.c). Prints one TAP-like line per
 * expectation; returns the exit status (0 all held, 1 one failed, 2 the
 * record or the verify object is unusable).
 */
#ifndef MOCK_VERIFY_H
#define MOCK_VERIFY_H

#include <jansson.h>

int	mock_verify(const json_t *scenario, const char *record);

#endif
