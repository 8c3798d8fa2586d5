#include <config.h>

#include <ctype.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

#include "isotime.h"

/* n digits at s: their value, or -1. */
static int
isotime_num(const char *s, size_t n)
{
	size_t	i;
	int	v = 0;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return (-1);
		v = v * 10 + (s[i] - '0');
	}
	return (v);
}

/* The zone at s ("Z", "+02:00", "-0130"): its offset in seconds east. */
static const char *
isotime_zone(const char *s, long *off)
{
	int	oh, om, n;

	if (*s == 'Z' || *s == 'z') {
		*off = 0;
		return (s + 1);
	}
	if (*s != '+' && *s != '-')
		return (NULL);
	if ((oh = isotime_num(s + 1, 2)) < 0 || oh > 23)
		return (NULL);
	n = s[3] == ':' ? 4 : 3;
	if ((om = isotime_num(s + n, 2)) < 0 || om > 59)
		return (NULL);
	*off = (oh * 3600L + om * 60L) * (*s == '-' ? -1 : 1);
	return (s + n + 2);
}

/*
 * Days from 1970-01-01 to y-m-d (m 1-12; d may pass the month's end and
 * runs on into the next, as timegm() normalizes it). Howard Hinnant's
 * days_from_civil: timegm() without its first call's read of
 * /etc/localtime (glibc's gmtime converter sets the zone up first).
 */
static int64_t
isotime_days(int64_t y, int m, int d)
{
	int64_t	 era, yoe, doy;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	return (era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468);
}

int64_t
isotime_parse_ms(const char *s, int flags)
{
	struct tm	 tm;
	const char	*z;
	long		 off = 0;
	int		 y, ms = 0, n, zone = 0;
	time_t		 t;

	if (s == NULL)
		return (-1);
	memset(&tm, 0, sizeof tm);
	if ((y = isotime_num(s, 4)) < 1970 || s[4] != '-' ||
	    (tm.tm_mon = isotime_num(s + 5, 2)) < 1 || tm.tm_mon > 12 ||
	    s[7] != '-' || (tm.tm_mday = isotime_num(s + 8, 2)) < 1 ||
	    tm.tm_mday > 31)
		return (-1);
	tm.tm_year = y - 1900;
	tm.tm_mon--;
	s += 10;
	if (*s == 'T' || *s == 't' || *s == ' ') {
		if ((tm.tm_hour = isotime_num(s + 1, 2)) < 0 ||
		    tm.tm_hour > 23 || s[3] != ':' ||
		    (tm.tm_min = isotime_num(s + 4, 2)) < 0 || tm.tm_min > 59)
			return (-1);
		s += 6;
		if (*s == ':') {
			if ((tm.tm_sec = isotime_num(s + 1, 2)) < 0 ||
			    tm.tm_sec > 60)
				return (-1);
			s += 3;
			if (*s == '.' || *s == ',') {
				s++;
				for (n = 0; isdigit((unsigned char)*s); s++, n++)
					if (n < 3)
						ms = ms * 10 + (*s - '0');
				if (n == 0)
					return (-1);
				for (; n < 3; n++)
					ms *= 10;
			}
		} else if (!(flags & ISOTIME_SHORT))
			return (-1);
	} else if (!(flags & ISOTIME_SHORT))
		return (-1);
	if (*s != '\0') {
		if ((z = isotime_zone(s, &off)) == NULL || *z != '\0')
			return (-1);
		zone = 1;
	}
	if (zone) {
		t = (time_t)(isotime_days(y, tm.tm_mon + 1, tm.tm_mday) *
		    86400 + tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec);
		t -= off;
	} else {
		if (!(flags & ISOTIME_LOCAL))
			return (-1);
		tm.tm_isdst = -1;
		if ((t = mktime(&tm)) == (time_t)-1)
			return (-1);
	}
	return ((int64_t)t * 1000 + ms);
}
