#include <config.h>

#include <sys/random.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "acpx-error.h"
#include "acpx.h"
#include "secrets.h"
#include "warp.h"
#include "xmalloc.h"

/*
 * The launch's half of the provider tap (warp.h, struct warp_tap_spec):
 * the listening socket and the token, made when the harness's environment
 * is built so that its base URL can name them; warp-tap.c serves them.
 */

/* Free a tap's spec (its socket closed, the key wiped). */
void
warp_tap_spec_free(struct warp_tap_spec *sp)
{
	if (sp == NULL)
		return;
	if (sp->lfd != -1)
		close(sp->lfd);
	if (sp->key != NULL)
		secrets_wipe(sp->key, strlen(sp->key));
	free(sp->key);
	free(sp->token);
	free(sp->url);
	free(sp->upstream);
	json_decref(sp->patterns);
	free(sp);
}

/* 24 random bytes as hex: the harness's key and the path's secret part. */
static char *
warp_tap_spec_token(void)
{
	unsigned char	 raw[24];
	char		*t;
	size_t		 i, got = 0;
	ssize_t		 n;

	while (got < sizeof raw) {
		n = getrandom(raw + got, sizeof raw - got, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			abort();	/* no randomness: nothing safe to do */
		got += (size_t)n;
	}
	t = xmalloc(sizeof raw * 2 + 1);
	for (i = 0; i < sizeof raw; i++)
		snprintf(t + 2 * i, 3, "%02x", raw[i]);
	return (t);
}

/* The tap's socket on 127.0.0.1 (a port the kernel picks), and its URL. */
struct warp_tap_spec *
warp_tap_spec_new(const struct warp_tap_want *tp, const char *upstream,
    const char *key, struct acpx_error **err)
{
	struct warp_tap_spec	*sp;
	struct sockaddr_in	 sa;
	socklen_t		 len = sizeof sa;
	int			 fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sa, sizeof sa) == -1 ||
	    listen(fd, 16) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) == -1) {
		*err = acpx_error_new(ACPX_CODE_RUNTIME, "WARP_TAP", "cli",
		    "warp: cannot listen on 127.0.0.1 for the provider tap: %s",
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return (NULL);
	}
	sp = xcalloc(1, sizeof *sp);
	sp->lfd = fd;
	sp->token = warp_tap_spec_token();
	xasprintf(&sp->url, "http://127.0.0.1:%u/t/%s",
	    (unsigned)ntohs(sa.sin_port), sp->token);
	sp->upstream = xstrdup(upstream);
	sp->key = xstrdup(key);
	sp->retries = tp->retries;
	sp->max_ra = tp->max_ra;
	sp->patterns = tp->patterns != NULL ? json_deep_copy(tp->patterns) :
	    NULL;
	return (sp);
}

