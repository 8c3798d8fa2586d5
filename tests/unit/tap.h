/*
 * A tiny TAP producer for unit tests (OpenSSH unittests shape):
 *
 *	TEST_START("linebuf rejects a line over the cap");
 *	ASSERT_INT_EQ(linebuf_next(lb, &l, &n), LINEBUF_TOO_LONG);
 *	TEST_DONE();
 *	...
 *	return (tap_end());
 *
 * Each TEST_START/TEST_DONE pair prints one "ok N - name" or "not ok N -
 * name"; a failed assertion prints a diagnostic and marks the case failed
 * (the case continues so later assertions still report).
 */
#ifndef ACPX_TAP_H
#define ACPX_TAP_H

#include <stdio.h>
#include <string.h>

static int	 tap_n;
static int	 tap_failed_cases;
static int	 tap_case_failed;
static const char *tap_case_name;

#define TEST_START(name) do {						\
	tap_case_name = (name);						\
	tap_case_failed = 0;						\
} while (0)

#define TEST_DONE() do {						\
	tap_n++;							\
	if (tap_case_failed)						\
		tap_failed_cases++;					\
	printf("%sok %d - %s\n", tap_case_failed ? "not " : "",	\
	    tap_n, tap_case_name);					\
	fflush(stdout);							\
} while (0)

#define TAP_FAIL(fmt, ...) do {						\
	tap_case_failed = 1;						\
	printf("# %s:%d: " fmt "\n", __FILE__, __LINE__, __VA_ARGS__);	\
} while (0)

#define ASSERT_TRUE(e) do {						\
	if (!(e))							\
		TAP_FAIL("assertion failed: %s", #e);			\
} while (0)

#define ASSERT_INT_EQ(a, b) do {					\
	long long _a = (long long)(a), _b = (long long)(b);		\
	if (_a != _b)							\
		TAP_FAIL("%s == %s: got %lld, want %lld", #a, #b, _a, _b); \
} while (0)

#define ASSERT_STR_EQ(a, b) do {					\
	const char *_a = (a), *_b = (b);				\
	if (_a == NULL || _b == NULL || strcmp(_a, _b) != 0)		\
		TAP_FAIL("%s == %s:\n#   got  \"%s\"\n#   want \"%s\"",	\
		    #a, #b, _a ? _a : "(null)", _b ? _b : "(null)");	\
} while (0)

#define ASSERT_PTR_NULL(a) ASSERT_TRUE((a) == NULL)
#define ASSERT_PTR_NOT_NULL(a) ASSERT_TRUE((a) != NULL)

/* Print the plan and return the process exit status. */
static inline int
tap_end(void)
{
	printf("1..%d\n", tap_n);
	return (tap_failed_cases ? 1 : 0);
}

#endif
