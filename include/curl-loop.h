/*
 * curl-loop: libcurl's multi interface driven by a libev loop, the glue
 * the Warp probe and the provider tap share. curl says which sockets to
 * watch and when to call back (CURLMOPT_SOCKETFUNCTION/TIMERFUNCTION);
 * the loop calls curl_multi_socket_action() and then the user's check(),
 * which reads finished transfers with curl_multi_info_read().
 *
 * Ownership: a struct curl_loop is embedded by its user. curl_loop_init()
 * makes the multi handle; curl_loop_cleanup() stops every watcher and
 * frees the socket records and the multi handle. Easy handles are the
 * user's: remove and clean them up before curl_loop_cleanup().
 */
#ifndef ACPX_CURL_LOOP_H
#define ACPX_CURL_LOOP_H

#include <curl/curl.h>
#include <ev.h>

struct curl_loop_sock;

struct curl_loop {
	struct ev_loop		*loop;
	CURLM			*multi;		/* NULL: none (or cleaned up) */
	ev_timer		 timer;		/* curl's timeout */
	struct curl_loop_sock	*socks;
	void			(*check)(void *);
	void			*arg;
};

/*
 * The multi handle on loop; check(arg) runs after each action of curl's.
 * -1 (cl->multi NULL) if libcurl refuses.
 */
int		 curl_loop_init(struct curl_loop *cl, struct ev_loop *loop,
		    void (*check)(void *), void *arg);

/* Stop watching, then free the multi handle and the socket records. */
void		 curl_loop_cleanup(struct curl_loop *cl);

#endif
