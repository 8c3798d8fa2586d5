#include <config.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "buf.h"
#include "node-relay.h"
#include "xmalloc.h"

/*
 * A session on the shared connection without an ssh process: OpenSSH's
 * connection multiplexing protocol (PROTOCOL.mux in OpenSSH, version 4),
 * spoken to the master's ControlPath socket, as `ssh -S <socket> host
 * cmd` speaks it: hello both ways, one MUX_C_NEW_SESSION (no terminal,
 * no forwarding, no escape character, no environment), then the
 * session's standard input, output and error passed as descriptors (the
 * far ends of three pipes; the near ends are the caller's). The master
 * answers MUX_S_SESSION_OPENED, and MUX_S_EXIT_MESSAGE with the remote
 * exit status at the end; a master that closes the socket without one is
 * exit 255, as ssh reports it. This spares a warm --node command the ssh
 * client's start (its configuration, crypto library and user lookups):
 * most of the relay's own cost.
 */

#define MUX_VERSION		4
#define MUX_MSG_HELLO		0x00000001
#define MUX_C_NEW_SESSION	0x10000002
#define MUX_C_OPEN_FWD		0x10000006
#define MUX_S_OK		0x80000001
#define MUX_S_PERMISSION_DENIED	0x80000002
#define MUX_S_FAILURE		0x80000003
#define MUX_S_EXIT_MESSAGE	0x80000004
#define MUX_S_SESSION_OPENED	0x80000006
#define MUX_S_TTY_ALLOC_FAIL	0x80000008
#define MUX_PACKET_MAX		(256 * 1024)
#define MUX_REQUEST_ID		1
#define MUX_FWD_LOCAL		1
#define MUX_PORT_STREAMLOCAL	0xfffffffeU	/* (u_int)-2: a path */
#define MUX_FORWARD_WAIT_MS	2000	/* the master answers at once */

enum node_mux_state {
	NODE_MUX_HELLO,		/* waiting for the master's hello */
	NODE_MUX_OPENING,	/* waiting for SESSION_OPENED */
	NODE_MUX_RUNNING,	/* waiting for EXIT_MESSAGE */
	NODE_MUX_DONE
};

struct node_mux {
	struct ev_loop		*loop;
	int			 fd;		/* the control connection */
	ev_io			 rw;
	ev_io			 ww;
	struct buf		 out;		/* packets not yet written */
	struct buf		 in;		/* bytes not yet parsed */
	int			 pass[3];	/* to send once out is empty */
	int			 npassed;
	enum node_mux_state	 state;
	uint32_t		 sid;
	node_relay_mux_cb	 cb;
	void			*arg;
};

static void
node_mux_put32(struct buf *b, uint32_t v)
{
	v = htonl(v);
	buf_add(b, &v, sizeof v);
}

static void
node_mux_putstr(struct buf *b, const char *s)
{
	node_mux_put32(b, (uint32_t)strlen(s));
	buf_adds(b, s);
}

/* One packet (a length, then the body) onto m->out. */
static void
node_mux_packet(struct node_mux *m, const struct buf *body)
{
	node_mux_put32(&m->out, (uint32_t)body->len);
	buf_add(&m->out, body->p, body->len);
}

static uint32_t
node_mux_get32(const unsigned char *p)
{
	uint32_t	v;

	memcpy(&v, p, sizeof v);
	return (ntohl(v));
}

static void
node_mux_close_passed(struct node_mux *m)
{
	int	i;

	for (i = 0; i < 3; i++) {
		if (m->pass[i] != -1)
			close(m->pass[i]);
		m->pass[i] = -1;
	}
}

/* The end: stop, and tell the caller (once). */
static void
node_mux_finish(struct node_mux *m, int event, int status)
{
	if (m->state == NODE_MUX_DONE)
		return;
	m->state = NODE_MUX_DONE;
	ev_io_stop(m->loop, &m->rw);
	ev_io_stop(m->loop, &m->ww);
	node_mux_close_passed(m);
	m->cb(event, status, m->arg);
}

/* Pass one descriptor (one byte of data carries it, as ssh's mm_send_fd). */
static int
node_mux_send_fd(int sock, int fd)
{
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*cmsg;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	}		 cm;
	char		 c = '\0';

	memset(&msg, 0, sizeof msg);
	memset(&cm, 0, sizeof cm);
	iov.iov_base = &c;
	iov.iov_len = 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof cm.buf;
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	memcpy(CMSG_DATA(cmsg), &fd, sizeof fd);
	return (sendmsg(sock, &msg, MSG_NOSIGNAL) == 1 ? 0 : -1);
}

static void
node_mux_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct node_mux	*m = w->data;
	ssize_t		 n;

	(void)loop;
	(void)revents;
	while (m->out.len > 0) {
		n = send(m->fd, m->out.p, m->out.len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n == -1) {
			node_mux_finish(m, m->state < NODE_MUX_RUNNING ?
			    NODE_RELAY_MUX_FAILED : NODE_RELAY_MUX_EXITED, 255);
			return;
		}
		buf_drain(&m->out, (size_t)n);
	}
	/* After the request, its descriptors, in order. */
	while (m->npassed < 3) {
		if (node_mux_send_fd(m->fd, m->pass[m->npassed]) == -1) {
			if (errno == EINTR || errno == EAGAIN)
				return;
			node_mux_finish(m, NODE_RELAY_MUX_FAILED, 255);
			return;
		}
		m->npassed++;
	}
	/* The master has its copies now. */
	node_mux_close_passed(m);
	ev_io_stop(m->loop, &m->ww);
}

/* One packet from the master; -1 when it ends the exchange. */
static int
node_mux_handle(struct node_mux *m, const unsigned char *p, size_t len)
{
	uint32_t	type;

	if (len < 4)
		return (-1);
	type = node_mux_get32(p);
	switch (m->state) {
	case NODE_MUX_HELLO:
		if (type != MUX_MSG_HELLO || len < 8 ||
		    node_mux_get32(p + 4) != MUX_VERSION) {
			node_mux_finish(m, NODE_RELAY_MUX_FAILED, 255);
			return (-1);
		}
		m->state = NODE_MUX_OPENING;
		return (0);
	case NODE_MUX_OPENING:
		if (type == MUX_S_SESSION_OPENED && len >= 12 &&
		    node_mux_get32(p + 4) == MUX_REQUEST_ID) {
			m->sid = node_mux_get32(p + 8);
			m->state = NODE_MUX_RUNNING;
			m->cb(NODE_RELAY_MUX_OPENED, 0, m->arg);
			return (0);
		}
		/* PERMISSION_DENIED, FAILURE, anything else: not opened. */
		node_mux_finish(m, NODE_RELAY_MUX_FAILED, 255);
		return (-1);
	case NODE_MUX_RUNNING:
		if (type == MUX_S_TTY_ALLOC_FAIL)
			return (0);
		if (type == MUX_S_EXIT_MESSAGE && len >= 12 &&
		    node_mux_get32(p + 4) == m->sid) {
			node_mux_finish(m, NODE_RELAY_MUX_EXITED,
			    (int)(node_mux_get32(p + 8) & 0xff));
			return (-1);
		}
		node_mux_finish(m, NODE_RELAY_MUX_EXITED, 255);
		return (-1);
	case NODE_MUX_DONE:
		break;
	}
	return (-1);
}

static void
node_mux_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct node_mux	*m = w->data;
	char		 b[4096];
	ssize_t		 n;
	uint32_t	 len;

	(void)loop;
	(void)revents;
	n = recv(m->fd, b, sizeof b, 0);
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/* The master went away: before the session, ssh may still
		   manage (a new master); after it, as ssh says, 255. */
		node_mux_finish(m, m->state < NODE_MUX_RUNNING ?
		    NODE_RELAY_MUX_FAILED : NODE_RELAY_MUX_EXITED, 255);
		return;
	}
	buf_add(&m->in, b, (size_t)n);
	while (m->in.len >= 4 && m->state != NODE_MUX_DONE) {
		len = node_mux_get32((unsigned char *)m->in.p);
		if (len > MUX_PACKET_MAX) {
			node_mux_finish(m, m->state < NODE_MUX_RUNNING ?
			    NODE_RELAY_MUX_FAILED : NODE_RELAY_MUX_EXITED, 255);
			return;
		}
		if (m->in.len < 4 + (size_t)len)
			break;
		if (node_mux_handle(m, (unsigned char *)m->in.p + 4, len) == -1)
			return;
		buf_drain(&m->in, 4 + (size_t)len);
	}
}

static int
node_mux_pipe(int p[2])
{
	if (pipe(p) == -1)
		return (-1);
	fcntl(p[0], F_SETFD, FD_CLOEXEC);
	fcntl(p[1], F_SETFD, FD_CLOEXEC);
	return (0);
}

/* Connect to the master's socket at ctl (see node-relay.h). */
int
node_relay_mux_connect(const char *ctl)
{
	struct sockaddr_un	 sun;
	struct stat		 sb;
	int			 fd;

	if (strlen(ctl) >= sizeof sun.sun_path || lstat(ctl, &sb) == -1 ||
	    !S_ISSOCK(sb.st_mode))
		return (-1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, ctl, strlen(ctl));
	/* A local socket: connected at once, or refused (a stale socket). */
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		close(fd);
		return (-1);
	}
	return (fd);
}

/* Start a session on the master at ctl (see node-relay.h). */
struct node_mux *
node_relay_mux_start(struct ev_loop *loop, const char *ctl,
    const char *remote_cmd, int *in_fd, int *out_fd, int *err_fd,
    node_relay_mux_cb cb, void *arg)
{
	struct node_mux		*m;
	struct buf		 body = BUF_INITIALIZER;
	int			 fd, pin[2], pout[2], perr[2];

	if ((fd = node_relay_mux_connect(ctl)) == -1)
		return (NULL);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (node_mux_pipe(pin) == -1) {
		close(fd);
		return (NULL);
	}
	if (node_mux_pipe(pout) == -1) {
		close(pin[0]);
		close(pin[1]);
		close(fd);
		return (NULL);
	}
	if (node_mux_pipe(perr) == -1) {
		close(pin[0]);
		close(pin[1]);
		close(pout[0]);
		close(pout[1]);
		close(fd);
		return (NULL);
	}

	m = xcalloc(1, sizeof *m);
	m->loop = loop;
	m->fd = fd;
	m->cb = cb;
	m->arg = arg;
	m->state = NODE_MUX_HELLO;
	m->pass[0] = pin[0];
	m->pass[1] = pout[1];
	m->pass[2] = perr[1];
	buf_init(&m->out, 0);
	buf_init(&m->in, 0);

	node_mux_put32(&body, MUX_MSG_HELLO);
	node_mux_put32(&body, MUX_VERSION);
	node_mux_packet(m, &body);
	buf_reset(&body);
	node_mux_put32(&body, MUX_C_NEW_SESSION);
	node_mux_put32(&body, MUX_REQUEST_ID);
	node_mux_putstr(&body, "");		/* reserved */
	node_mux_put32(&body, 0);		/* no terminal */
	node_mux_put32(&body, 0);		/* no X11 */
	node_mux_put32(&body, 0);		/* no agent */
	node_mux_put32(&body, 0);		/* not a subsystem */
	node_mux_put32(&body, 0xffffffffU);	/* no escape character */
	node_mux_putstr(&body, "");		/* terminal type */
	node_mux_putstr(&body, remote_cmd);
	node_mux_packet(m, &body);
	buf_free(&body);

	ev_io_init(&m->rw, node_mux_read_cb, fd, EV_READ);
	m->rw.data = m;
	ev_io_start(loop, &m->rw);
	ev_io_init(&m->ww, node_mux_write_cb, fd, EV_WRITE);
	m->ww.data = m;
	ev_io_start(loop, &m->ww);

	*in_fd = pin[1];
	*out_fd = pout[0];
	*err_fd = perr[0];
	return (m);
}

/* Stop and free (the caller's pipe ends are the caller's to close). */
void
node_relay_mux_free(struct node_mux *m)
{
	if (m == NULL)
		return;
	ev_io_stop(m->loop, &m->rw);
	ev_io_stop(m->loop, &m->ww);
	node_mux_close_passed(m);
	close(m->fd);
	buf_free(&m->out);
	buf_free(&m->in);
	free(m);
}

/* One packet from the master within wait_ms: its type, or 0. */
static uint32_t
node_mux_read_packet(int fd, struct buf *in, int wait_ms)
{
	struct pollfd	pfd;
	char		b[4096];
	ssize_t		n;
	uint32_t	len, type;

	for (;;) {
		if (in->len >= 4) {
			len = node_mux_get32((unsigned char *)in->p);
			if (len < 4 || len > MUX_PACKET_MAX)
				return (0);
			if (in->len >= 4 + (size_t)len) {
				type = node_mux_get32((unsigned char *)in->p + 4);
				buf_drain(in, 4 + (size_t)len);
				return (type);
			}
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, wait_ms) <= 0)
			return (0);
		n = recv(fd, b, sizeof b, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return (0);
		buf_add(in, b, (size_t)n);
	}
}

/*
 * Ask the master at ctl for a local stream-local forward, listen_path here
 * to connect_path on the node (`ssh -O forward -L listen:connect`). A
 * labelled blocking exchange with the local master, bounded: it answers
 * a local forward at once (no round trip to the node). 0, or -1.
 */
int
node_relay_mux_forward(const char *ctl, const char *listen_path,
    const char *connect_path)
{
	struct buf	out = BUF_INITIALIZER, body = BUF_INITIALIZER;
	struct buf	in = BUF_INITIALIZER;
	ssize_t		n;
	size_t		off = 0;
	int		fd, rc = -1;

	if ((fd = node_relay_mux_connect(ctl)) == -1)
		return (-1);
	node_mux_put32(&body, MUX_MSG_HELLO);
	node_mux_put32(&body, MUX_VERSION);
	node_mux_put32(&out, (uint32_t)body.len);
	buf_add(&out, body.p, body.len);
	buf_reset(&body);
	node_mux_put32(&body, MUX_C_OPEN_FWD);
	node_mux_put32(&body, MUX_REQUEST_ID);
	node_mux_put32(&body, MUX_FWD_LOCAL);
	node_mux_putstr(&body, listen_path);
	node_mux_put32(&body, MUX_PORT_STREAMLOCAL);
	node_mux_putstr(&body, connect_path);
	node_mux_put32(&body, MUX_PORT_STREAMLOCAL);
	node_mux_put32(&out, (uint32_t)body.len);
	buf_add(&out, body.p, body.len);
	while (off < out.len) {
		n = send(fd, out.p + off, out.len - off, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		off += (size_t)n;
	}
	/* Its hello, then MUX_S_OK (or FAILURE, PERMISSION_DENIED). */
	if (node_mux_read_packet(fd, &in, MUX_FORWARD_WAIT_MS) ==
	    MUX_MSG_HELLO && node_mux_read_packet(fd, &in,
	    MUX_FORWARD_WAIT_MS) == MUX_S_OK)
		rc = 0;
out:
	close(fd);
	buf_free(&out);
	buf_free(&body);
	buf_free(&in);
	return (rc);
}
