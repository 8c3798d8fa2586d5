/*
 * `--node <name>`: the whole command runs on an execution node over
 * OpenSSH, and this process is a relay. This module owns both ends:
 *
 * - the control side (node-relay.c, node-relay-check.c,
 *   node-relay-run.c, node-relay-mux.c): the ssh command line (BatchMode,
 *   a shared connection in a private 0700 directory, sshOptions; a warm
 *   command opens its session on that connection's master itself), the
 *   once-per-connection check of the node's acpx version, the quoting of
 *   every argument for the node's POSIX shell, and the relay itself (a
 *   libev loop: standard input or the --file read here and framed onto
 *   ssh's stdin, ssh's stdout and stderr copied byte for byte, SIGINT,
 *   SIGTERM and SIGHUP framed through, the remote exit status returned,
 *   ssh's own 255 turned into NODE_UNREACHABLE);
 * - the node side (node-relay-serve.c): `acpx __node-relay [--hello]
 *   [--on-hangup term|kill] -- <args>`, which the relay runs on the node.
 *   It answers the handshake, then forks: the child goes on as `acpx
 *   <args>` with stdout and stderr inherited (the ssh channel); the
 *   parent feeds the child's stdin from the data frames, delivers the
 *   signal frames to it, and, when its own stdin ends (the control side
 *   died or the connection dropped), ends the child: SIGTERM, then
 *   SIGKILL; or SIGKILL at once for a prompt (its queue owner goes on
 *   with the turn).
 *
 * The frames on the ssh channel's stdin: one type byte and a 4-byte
 * big-endian payload length, then the payload: 'D' data, 'E' end of input
 * (no payload), 'S' a signal ("INT", "TERM" or "HUP").
 *
 * The resident relay (node-relay-daemon.c on the node,
 * node-relay-direct.c here): `acpx __node-relayd`, one per node user and
 * acpx version, listening on <the user's private socket directory, as
 * queue sockets'>/relayd-1-<version>.sock, started in the background by
 * the first `__node-relay --hello` of a connection (which names the socket
 * in its hello line) and gone after ACPX_RELAYD_IDLE seconds (600) with
 * nothing to serve. The control side asks the shared connection's master
 * for a stream-local forward to it (a socket next to the control socket,
 * remembered in <ctl>.fwd for the connection), and a warm command is then
 * one connect(): no sshd session, no shell, no exec. On that one stream
 * the daemon speaks first ('H' its hello), the client sends 'A' (the
 * hangup rule and the args), then the frames above; the daemon sends 'O'
 * stdout, 'R' stderr and, at the end, 'X' the exit status (decimal, as
 * `__node-relay` exits). Per connection it forks a handler, whose child
 * goes on as `acpx <args>` (the session path's logic, framed). Whatever
 * fails before 'H' arrived (no forward, refused forwarding, no daemon)
 * falls back to the session path, which starts the daemon again; the
 * args are never sent twice.
 *
 * Ownership: every string returned is the caller's to free.
 */
#ifndef ACPX_NODE_RELAY_H
#define ACPX_NODE_RELAY_H

#include <stddef.h>

struct buf;
struct config_node;
struct output;

/* The oldest acpx-native a node may run for the relay (`__node-relay`). */
#define NODE_RELAY_MIN_VERSION	"0.1.0"

/*
 * `__node-relay --hello` first writes "<NODE_RELAY_HELLO> <version>\n" on
 * stdout: the control side's version check, in the command's own channel
 * (the version is the second word: "<socket> up|new" may follow, the
 * resident relay's, and whether it was running already).
 * Anything else first (another program, an acpx-native without it) is
 * judged by running `acpx --version --verbose` after all.
 */
#define NODE_RELAY_HELLO	"acpx-native-relay/1"

/* Frame types. */
#define NODE_FRAME_DATA		'D'
#define NODE_FRAME_END		'E'
#define NODE_FRAME_SIGNAL	'S'
#define NODE_FRAME_HELLO	'H'	/* the daemon's hello */
#define NODE_FRAME_ARGS		'A'	/* "term|kill\0arg\0arg\0..." */
#define NODE_FRAME_STDOUT	'O'
#define NODE_FRAME_STDERR	'R'
#define NODE_FRAME_EXIT		'X'	/* the exit status, decimal */
#define NODE_FRAME_HEADER	5
#define NODE_FRAME_MAX		65536	/* largest payload */
#define NODE_FRAME_ARGS_MAX	(4 * 1024 * 1024)	/* of an 'A' frame */

/* The resident relay's socket name (with the version) and idle time. */
#define NODE_RELAYD_NAME	"relayd-1"
#define NODE_RELAYD_IDLE_S	600.0

/* Append one frame to b. */
void		 node_relay_frame(struct buf *b, char type, const void *p,
		    size_t n);

/*
 * Take the whole frames at the start of in (drained as handled): each
 * must be one of types (a string of type bytes) and its payload at most
 * max; fn is called for each and may return -1 to stop. 0 (the rest is
 * an incomplete frame, or nothing), or -1: a bad frame, or fn stopped.
 */
typedef int	(*node_relay_frame_fn)(char type, const char *p, size_t n,
		    void *arg);
int		 node_relay_frames_take(struct buf *in, const char *types,
		    size_t max, node_relay_frame_fn fn, void *arg);

/* Read a local file whole into b (the --file: a labelled local read). */
int		 node_relay_read_file(const char *path, struct buf *b,
		    char **cause);

/*
 * What follows the version in `__node-relay --hello`'s line
 * ("<socket> up|new"): the resident relay's socket (the caller's), and
 * *up whether it was running before; NULL when it names none.
 */
char		*node_relay_hello_relayd(const char *after_hello, int *up);

/*
 * s single-quoted for a POSIX shell: every byte but the single quote
 * stands for itself inside '...'; a single quote becomes '\''.
 */
char		*node_relay_quote(const char *s);

/*
 * The remote command line for argv (quoted words joined by spaces). The
 * first word is the node's acpx command: a leading "~/" is kept out of
 * the quotes ("$HOME"/'rest') so it names the node user's home.
 */
char		*node_relay_command(const char *acpx, char *const *argv);

/*
 * The ssh argv (NULL-terminated, strings owned by the array; free with
 * node_relay_argv_free()) to run remote_cmd on node n over the shared
 * connection whose socket is ctl_path.
 */
char		**node_relay_ssh_argv(const struct config_node *n,
		    const char *ctl_path, const char *remote_cmd);
void		 node_relay_argv_free(char **);

/*
 * The private directory of the control sockets (created 0700, checked)
 * and node n's socket in it; NULL with *cause.
 */
char		*node_relay_ctl_path(const struct config_node *n, char **cause);

/* After spawning ssh: let its ControlPersist master outlive us. */
void		 node_relay_no_subreaper(void);

/*
 * Compare dotted versions "1.2.3": <0, 0, >0. Missing parts count as 0;
 * anything not a digit ends a part.
 */
int		 node_relay_vercmp(const char *a, const char *b);

/*
 * Check the node's acpx once per shared connection (`acpx --version
 * --verbose`); the result is remembered next to the socket until the
 * connection changes. 0, or -1 with *err (NODE_UNREACHABLE when ssh
 * itself failed, else a RUNTIME error naming both versions). *version
 * (may be NULL) gets the node's acpx-native version. *rtt_ms (may be
 * NULL) the time the check took, or -1 when it was remembered.
 */
struct acpx_error;
int		 node_relay_check(const struct config_node *n, int force,
		    char **version, long long *rtt_ms, struct acpx_error **err);

/*
 * The parts of that check, for a caller that runs ssh itself (the node
 * probe of node-bind.h runs on no event loop):
 * - known: 0 (and *version, may be NULL) when this connection's check is
 *   remembered next to the socket ctl, else -1;
 * - verdict: what `<acpx> --version --verbose` run on the node over ctl
 *   said (ssh's wait status, its stdout, the tail of its stderr), as
 *   node_relay_check() judges it; on success it is remembered for the
 *   connection and *version (may be NULL) gets the node's acpx-native
 *   version. 0, or -1 with *err.
 */
int		 node_relay_check_known(const char *ctl, char **version);
/*
 * A note kept next to the control socket ctl for its connection, in
 * <ctl><suffix> after the socket's identity (device, inode, change time):
 * read gives the text after it (the caller's) while the connection is the
 * same one, else NULL; write replaces it (an atomic local write).
 */
char		*node_relay_memo_read(const char *ctl, const char *suffix);
void		 node_relay_memo_write(const char *ctl, const char *suffix,
		    const char *text);
/* A passed check (or handshake) of the node's acpx-native version. */
void		 node_relay_check_remember(const char *ctl, const char *version);
int		 node_relay_check_verdict(const struct config_node *n,
		    const char *ctl, int status, const char *out,
		    const char *tail, char **version, struct acpx_error **err);

/*
 * Run remote_cmd (node_relay_command()) on node n over the shared
 * connection whose socket is ctl (opened if need be), with an empty
 * standard input, and capture what it prints (the first MiB). timeout_s
 * > 0 bounds it: ssh and its process group are then killed and *status
 * is -1; else *status is ssh's wait status. *out (stdout) and *tail (the
 * tail of ssh's stderr) are the caller's to free. -1 with *cause when ssh
 * cannot be started. Blocks on the default loop until ssh has exited.
 */
int		 node_relay_capture(const struct config_node *n,
		    const char *ctl, const char *remote_cmd, double timeout_s,
		    int *status, char **out, char **tail, char **cause);

/*
 * Run `acpx <node_argv...>` on node n through the relay, node_file (a
 * path here, or NULL for our standard input) as its input; errors of our
 * own go to out. prompt: it is a prompt to a session (if this side goes
 * away, the node's client is SIGKILLed rather than cancelling the turn,
 * which its queue owner finishes). Returns the exit status (the node's
 * command's).
 */
int		 node_relay_exec(const struct config_node *n,
		    char *const *node_argv, const char *node_file, int prompt,
		    struct output *out);

/*
 * A session on the shared connection without an ssh process
 * (node-relay-mux.c): OpenSSH's multiplexing protocol spoken to the
 * master at ctl. NULL when no master answers there (no socket, or a stale
 * one): run ssh instead. Else the session's standard input (write end),
 * output and error (read ends) are the caller's, and cb is called from
 * the loop, never from inside this call: OPENED once the node runs
 * remote_cmd (write its input only after that); FAILED instead when the
 * master would not open it (run ssh instead: nothing ran); EXITED at the
 * end with the remote exit status (255 when the master went away, as ssh
 * says). After FAILED or EXITED there is no further call; free it after
 * the callback returns, not from inside it.
 */
/*
 * A connection (close-on-exec) to the shared connection's master at ctl,
 * or -1: no socket there, or a stale one (the master is gone). Also how
 * "is the master alive" is answered.
 */
int		 node_relay_mux_connect(const char *ctl);

struct ev_loop;
struct node_mux;
#define NODE_RELAY_MUX_FAILED	0
#define NODE_RELAY_MUX_OPENED	1
#define NODE_RELAY_MUX_EXITED	2
typedef void	(*node_relay_mux_cb)(int event, int status, void *arg);
struct node_mux	*node_relay_mux_start(struct ev_loop *, const char *ctl,
		    const char *remote_cmd, int *in_fd, int *out_fd,
		    int *err_fd, node_relay_mux_cb cb, void *arg);
void		 node_relay_mux_free(struct node_mux *);

/*
 * `acpx __node-relay [--hello] [--on-hangup term|kill] -- <args...>` on
 * the node (argv after the verb). Called before anything else in main():
 * it forks before any event loop exists. In the parent (the relay) it
 * returns the exit status to exit with and *child_argv is NULL. In the
 * child it returns argc for the command to run in this same process
 * (`acpx <args...>`, its stdin the relay's pipe) and *child_argv is that
 * argv (the array is the caller's; its strings are argv's).
 */
int		 node_relay_serve_main(int argc, char **argv, char ***child_argv);

/*
 * The relay of one command on the node (the session path's and the
 * daemon's): fork; the child goes on as `acpx <args...>` (returns its argc
 * with *child_argv; its stdin a pipe fed from the frames read on ctl_fd,
 * its stdout and stderr ours, or with framed pipes whose output goes onto
 * ctl_fd as 'O' and 'R' frames, then 'X'); the parent relays until the
 * child has exited and returns the exit status to exit with (*child_argv
 * NULL). hangup_kill: --on-hangup kill. start_daemon: the parent starts
 * the resident relay (node_relay_daemon_start()) once the child runs.
 */
int		 node_relay_serve_run(int ctl_fd, int framed, int hangup_kill,
		    int start_daemon, char **args, int nargs, char ***child_argv);

/*
 * The resident relay on the node (node-relay-daemon.c):
 * - socket: its socket's path (checked private directory), or NULL with
 *   *cause;
 * - running: 1 when a daemon holds the lock next to the socket, 0 when
 *   none does (start one), -1 when it cannot run (no private directory);
 * - start: start one, detached (double fork, setsid, stdio /dev/null,
 *   exec): it takes the lock and listens in the background; only
 *   close-on-exec descriptors may be open but stdio;
 * - main: `acpx __node-relayd` (argv after the verb), called first thing
 *   in main() as node_relay_serve_main() is, with the same contract: the
 *   daemon's (or a handler's) exit status, or in a command's child its
 *   argc with *child_argv.
 */
char		*node_relay_daemon_socket(char **cause);
int		 node_relay_daemon_running(const char *sock);
void		 node_relay_daemon_start(void);
int		 node_relay_daemon_main(int argc, char **argv,
		    char ***child_argv);

/*
 * This side's way to the resident relay (node-relay-direct.c):
 * - local: the socket next to ctl that the master forwards to the node's
 *   daemon for this connection (the memo <ctl>.fwd says it is set up, for
 *   the node's configured acpx, acpx), or NULL: use a session;
 * - note: after a session's hello, which named the daemon's socket remote
 *   and said whether it was already up (up) before: set the forward up
 *   for this connection (MUX_C_OPEN_FWD) and remember it; or, when the
 *   forward had just failed (failed) with the daemon up, remember that
 *   this connection's forward does not work (forwarding refused).
 * - forward: the master's MUX_C_OPEN_FWD (a labelled, bounded exchange
 *   with the local master, node-relay-mux.c): 0, or -1.
 */
char		*node_relay_direct_local(const char *ctl, const char *acpx);
void		 node_relay_direct_note(const char *ctl, const char *acpx,
		    const char *remote, int up, int failed);
int		 node_relay_mux_forward(const char *ctl, const char *listen_path,
		    const char *connect_path);

#endif
