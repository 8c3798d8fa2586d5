#include <config.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "js.h"

/*
 * Number#toString (radix 10) as JavaScript writes it: the shortest digits
 * that read back as the same double, in exponent form outside
 * [1e-6, 1e21).
 */

/*
 * Shortest decimal digits that read back as v (v finite, > 0): digits in
 * out (no dot, no trailing zeros) and the decimal exponent n such that
 * v = 0.d1d2... x 10^n. Returns the digit count.
 */
static int
js_shortest_digits(double v, char *out, int *n)
{
	char		 buf[40], cand[48], *e;
	uint64_t	 m, tries[3];
	int		 p, i, exp10, k, t;

	for (p = 1; p <= 17; p++) {
		snprintf(buf, sizeof buf, "%.*e", p - 1, v);
		e = strchr(buf, 'e');
		exp10 = atoi(e + 1);
		m = 0;
		for (i = 0; buf + i < e; i++) {
			if (buf[i] >= '0' && buf[i] <= '9')
				m = m * 10 + (uint64_t)(buf[i] - '0');
		}
		/*
		 * The correctly rounded p-digit string may miss the rounding
		 * interval next to a power of two while a neighbour hits it.
		 */
		tries[0] = m;
		tries[1] = m + 1;
		tries[2] = m > 1 ? m - 1 : m;
		for (t = 0; t < 3; t++) {
			snprintf(cand, sizeof cand, "%llue%d",
			    (unsigned long long)tries[t], exp10 - (p - 1));
			if (strtod(cand, NULL) != v)
				continue;
			k = snprintf(out, 24, "%llu",
			    (unsigned long long)tries[t]);
			/* exponent of the first digit, as 0.d x 10^n */
			*n = exp10 - (p - 1) + k;
			while (k > 1 && out[k - 1] == '0')
				out[--k] = '\0';
			return (k);
		}
	}
	/* Not reached for finite doubles; fall back to 17 digits. */
	snprintf(buf, sizeof buf, "%.16e", v);
	e = strchr(buf, 'e');
	*n = atoi(e + 1) + 1;
	k = 0;
	for (i = 0; buf + i < e; i++) {
		if (buf[i] >= '0' && buf[i] <= '9')
			out[k++] = buf[i];
	}
	out[k] = '\0';
	while (k > 1 && out[k - 1] == '0')
		out[--k] = '\0';
	return (k);
}

/* Write v as JavaScript's Number#toString (radix 10) does into buf. */
size_t
js_number_string(double v, char *buf, size_t size)
{
	char	 d[32], tmp[64];
	int	 k, n, i, e;
	size_t	 len = 0;

#define PUT(c) do { if (len + 1 < sizeof tmp) tmp[len++] = (c); } while (0)
	if (isnan(v))
		len = (size_t)snprintf(tmp, sizeof tmp, "NaN");
	else if (isinf(v))
		len = (size_t)snprintf(tmp, sizeof tmp, "%s",
		    v < 0 ? "-Infinity" : "Infinity");
	else if (v == 0)
		len = (size_t)snprintf(tmp, sizeof tmp, "0");
	else {
		if (v < 0) {
			PUT('-');
			v = -v;
		}
		k = js_shortest_digits(v, d, &n);
		if (k <= n && n <= 21) {
			for (i = 0; i < k; i++)
				PUT(d[i]);
			for (i = 0; i < n - k; i++)
				PUT('0');
		} else if (0 < n && n <= 21) {
			for (i = 0; i < n; i++)
				PUT(d[i]);
			PUT('.');
			for (; i < k; i++)
				PUT(d[i]);
		} else if (-6 < n && n <= 0) {
			PUT('0');
			PUT('.');
			for (i = 0; i < -n; i++)
				PUT('0');
			for (i = 0; i < k; i++)
				PUT(d[i]);
		} else {
			e = n - 1;
			PUT(d[0]);
			if (k > 1) {
				PUT('.');
				for (i = 1; i < k; i++)
					PUT(d[i]);
			}
			len += (size_t)snprintf(tmp + len, sizeof tmp - len,
			    "e%c%d", e < 0 ? '-' : '+', e < 0 ? -e : e);
		}
	}
#undef PUT
	if (size > 0) {
		if (len >= size)
			len = size - 1;
		memcpy(buf, tmp, len);
		buf[len] = '\0';
	}
	return (len);
}
