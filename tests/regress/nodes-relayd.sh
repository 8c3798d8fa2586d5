#!/bin/sh
# --node through the node's resident relay (acpx __node-relayd) over a real
# OpenSSH: the first command of a connection starts it, the relay asks the
# shared connection's master for a stream-local forward to its socket, and
# the next commands are one connect() each: no sshd session (sshd logs
# none), the command a descendant of the daemon. What they print and exit
# with is byte for byte the session path's and the node's own; Ctrl-C, the
# local relay killed, the daemon killed (the session path again, which
# starts it again), a node whose sshd refuses stream-local forwarding
# (the session path, always), and the daemon's idle exit.
. "$TESTS_SRCDIR/regress/lib.sh"
. "$TESTS_SRCDIR/regress/sshd-lib.sh"
[ -x "$MOCK" ] || skip_all "mock agent not built"
ssh_setup
N1="$T_ROOT/n1home" N2="$T_ROOT/n2home" N3="$T_ROOT/n3home"
ssh_start_node n1 "$N1"
SSHD_EXTRA="AllowStreamLocalForwarding no" ssh_start_node n2 "$N2"
SSHD_SETENV="ACPX_RELAYD_IDLE=0.5" ssh_start_node n3 "$N3"
trap 'ssh_stop_node n1; ssh_stop_node n2; ssh_stop_node n3; t_cleanup' EXIT

W1="$T_ROOT/w1"
mkdir -p "$W1" "$HOME/.acpx"
AG="$MOCK"
node() {	# NAME HOST
	printf '"%s": {"ssh": "%s", "acpx": "%s", "sshOptions": ["-F", "%s"]}' \
	    "$1" "$2" "$ACPX" "$SSH_CONFIG"
}
cat >"$HOME/.acpx/config.json" <<CFG
{"nodes": {$(node n1 n1), $(node n2 n2), $(node n3 n3)}}
CFG
CTLDIR="/tmp/acpx-$(printf %s "$HOME" | sha256sum | cut -c1-10)"
PWHOME=$(getent passwd "$(id -u)" | cut -d: -f6)	# where sshd starts
direct() {	# HOME ARGS...: the command run on the node directly
	dh=$1; shift
	( cd "$PWHOME" 2>/dev/null || cd /; HOME=$dh ACPX_NODE=$(basename "$dh" home) \
	    "$ACPX" "$@" <"${STDIN:-/dev/null}" >"$T_ROOT/dout" 2>"$T_ROOT/derr" )
	DRC=$?
}
same() {	# NAME: the last run and the last direct run printed the same
	if cmp -s "$T_ROOT/out" "$T_ROOT/dout" && cmp -s "$T_ROOT/err" \
	    "$T_ROOT/derr" && [ "$RC" -eq "$DRC" ]; then
		ok "$1: the same bytes and exit ($RC) as on the node"
	else
		not_ok "$1: the same bytes and exit as on the node" \
		    "relay exit $RC, direct exit $DRC" \
		    "$(diff "$T_ROOT/dout" "$T_ROOT/out" | head -20)" \
		    "$(diff "$T_ROOT/derr" "$T_ROOT/err" | head -20)"
	fi
}
sessions() { grep -c "Starting session" "$SSH_DIR/$1/log"; }	# sshd's
relayd() { ssh_relayd_pids "$1" | head -n 1; }
wait_relayd() { poll "[ -n \"\$(relayd $1)\" ]"; }	# NAME: until it runs
pids_of() {	# mock agents whose cmdline has $1
	for f in $(grep -l -a -F "$1" /proc/[0-9]*/cmdline 2>/dev/null); do
		a0=$(tr '\0' '\n' <"$f" 2>/dev/null | head -n 1)
		case "$a0" in *mock-agent) ;; *) continue ;; esac
		p=${f#/proc/}; echo "${p%/cmdline}"
	done 2>/dev/null
}

# ---------------------------------------------------------------- start
P="echo hello"
run --node n1 --cwd "$W1" --agent "$AG" exec "$P"
expect_rc 0 "the first command (a session: it opens the connection)"
wait_relayd n1
D1=$(relayd n1)
[ -n "$D1" ] && ok "it started the node's resident relay" ||
    not_ok "it started the node's resident relay" "$(ls -la "$CTLDIR" 2>&1)"
grep -q '^on /' "$CTLDIR/n-n1.fwd" 2>/dev/null &&
    ok "the connection forwards to it" ||
    not_ok "the connection forwards to it" "$(cat "$CTLDIR/n-n1.fwd" 2>&1)"

# ---------------------------------------------------------------- output
s0=$(sessions n1)
run --node n1 --cwd "$W1" --agent "$AG" exec "$P"
direct "$N1" --cwd "$W1" --agent "$AG" exec "$P"
same "exec through the resident relay, text"
[ "$(sessions n1)" -eq "$s0" ] && ok "no sshd session for it" ||
    not_ok "no sshd session for it" "$s0 -> $(sessions n1)"
run --node n1 --cwd "$W1" --agent "$AG" --format json exec "$P"
direct "$N1" --cwd "$W1" --agent "$AG" --format json exec "$P"
same "exec, json"
run --node n1 --cwd "$W1" --agent "$MOCK --scenario $SCENARIOS/error-internal.json" \
    --format json exec boom
direct "$N1" --cwd "$W1" --agent "$MOCK --scenario $SCENARIOS/error-internal.json" \
    --format json exec boom
same "a failing turn"
run --node n1 --cwd "$W1" --agent "$AG" prompt -s nosuch "echo hi"
direct "$N1" --cwd "$W1" --agent "$AG" prompt -s nosuch "echo hi"
same "a prompt to a session the node lacks (stderr, exit 4)"
printf 'echo from the control machine' >"$T_ROOT/stdin.txt"
STDIN="$T_ROOT/stdin.txt" run --node n1 --cwd "$W1" --agent "$AG" exec
STDIN="$T_ROOT/stdin.txt" direct "$N1" --cwd "$W1" --agent "$AG" exec
same "standard input"
( cd "$T_WORK" && printf 'echo piped prompt' | "$ACPX" --node n1 --cwd "$W1" \
    --agent "$AG" exec >"$T_ROOT/out" 2>"$T_ROOT/err" ); RC=$?
OUT=$(cat "$T_ROOT/out")
expect_rc 0 "a prompt on a pipe"
expect_out_has "piped prompt" "the pipe's text reached the agent"
printf 'echo from a local file' >"$T_WORK/prompt.txt"
run --node n1 --cwd "$W1" --agent "$AG" exec --file prompt.txt
expect_out_has "from a local file" "--file read here"
run --node n1 --cwd "$W1" --agent "$AG" sessions new --name s1
expect_rc 0 "sessions new"
run --node n1 --cwd "$W1" --agent "$AG" prompt -s s1 "echo in the session"
expect_out_has "in the session" "a prompt to the session"
[ "$(sessions n1)" -eq "$s0" ] && ok "still no sshd session" ||
    not_ok "still no sshd session" "$s0 -> $(sessions n1)"

# ---------------------------------------------------------------- a held turn
start_held() {	# REC
	rm -f "$T_ROOT/out" "$T_ROOT/err" "$1"
	( cd "$T_WORK" && exec "$ACPX" --node n1 --cwd "$W1" --agent \
	    "$MOCK --scenario $SCENARIOS/wait-cancel.json --record $1" exec x \
	    >"$T_ROOT/out" 2>"$T_ROOT/err" ) &
	PID=$!
	track_pid $PID
	poll 'grep -q working "$T_ROOT/out" 2>/dev/null'
	grep -q working "$T_ROOT/out" && ok "a held turn streams" ||
	    not_ok "a held turn streams" "$(cat "$T_ROOT/out" "$T_ROOT/err")"
	AGENT=$(pids_of "$1" | head -n 1)
	if [ -n "$AGENT" ] && ssh_descendants "$(relayd n1)" | grep -qx "$AGENT"; then
		ok "its agent runs under the resident relay"
	else
		not_ok "its agent runs under the resident relay" "agent $AGENT"
	fi
}
no_handler_left() {	# NAME REC: the daemon's handlers are gone
	[ -n "$(relayd n1)" ] || not_ok "$1" "no resident relay"
	poll '[ -z "$(ssh_descendants "$(relayd n1)")" ]'
	left=$(ssh_descendants "$(relayd n1)")
	[ -z "$left" ] && [ -z "$(pids_of "$2")" ] && ok "$1" ||
	    not_ok "$1" "$(for p in $left $(pids_of "$2"); do tr '\0' ' ' </proc/$p/cmdline; echo; done 2>&1)"
}
start_held "$T_ROOT/rec-int.ndjson"
kill -INT $PID
wait $PID; RC=$?
OUT=$(cat "$T_ROOT/out")
expect_rc 0 "Ctrl-C: the exit of a cancelled exec, as on the session path"
expect_out_has "[done] cancelled" "the node's turn was cancelled"
verify_record "$SCENARIOS/wait-cancel.json" "$T_ROOT/rec-int.ndjson"
no_handler_left "nothing left under the resident relay after Ctrl-C" \
    "$T_ROOT/rec-int.ndjson"
start_held "$T_ROOT/rec-kill.ndjson"
kill -KILL $PID
wait $PID 2>/dev/null
no_handler_left "the local relay killed: nothing left on the node" \
    "$T_ROOT/rec-kill.ndjson"

# ---------------------------------------------------------------- daemon gone
D1=$(relayd n1)
kill -KILL "$D1"
poll '! ssh_alive "$D1"'
s0=$(sessions n1)
run --node n1 --cwd "$W1" --agent "$AG" exec "echo after the daemon died"
expect_rc 0 "the daemon killed: the next command works"
expect_out_has "after the daemon died" "its output"
[ "$(sessions n1)" -eq $((s0 + 1)) ] && ok "through a session" ||
    not_ok "through a session" "$s0 -> $(sessions n1)"
wait_relayd n1
D2=$(relayd n1)
[ -n "$D2" ] && [ "$D2" != "$D1" ] && ok "the daemon is back" ||
    not_ok "the daemon is back" "was $D1, now '$D2'"
s0=$(sessions n1)
run --node n1 --cwd "$W1" --agent "$AG" exec "echo through it again"
expect_out_has "through it again" "the command after"
[ "$(sessions n1)" -eq "$s0" ] && ok "goes through it again" ||
    not_ok "goes through it again" "$s0 -> $(sessions n1)"
# The node's acpx configured otherwise (a link to the same one): the
# connection's forward is not taken for it until a session named the
# daemon again.
ln -s "$ACPX" "$T_ROOT/acpx-link"
sed "s#\"acpx\": \"$ACPX\"#\"acpx\": \"$T_ROOT/acpx-link\"#" \
    "$HOME/.acpx/config.json" >"$T_ROOT/cfg" && mv "$T_ROOT/cfg" "$HOME/.acpx/config.json"
s0=$(sessions n1)
run --node n1 --cwd "$W1" --agent "$AG" exec "echo another acpx"
run --node n1 --cwd "$W1" --agent "$AG" exec "echo another acpx"
expect_out_has "another acpx" "another configured acpx"
[ "$(sessions n1)" -eq $((s0 + 1)) ] && ok "one session, then the forward again" ||
    not_ok "one session, then the forward again" "$s0 -> $(sessions n1)"
# Another uid (root only: nobody, given a way to the socket for this)
# gets no hello; we do.
RD1="/tmp/acpx-$(printf %s "$N1" | sha256sum | cut -c1-10)"
S1=$(ls "$RD1"/relayd-*.sock 2>/dev/null | head -n 1)
hello_len() {	# [setpriv args...]: bytes the daemon sends a new peer
	"$@" "$PY" -c 'import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(60); s.connect(sys.argv[1])
print(len(s.recv(100)))' "$S1" 2>&1
}
PY=/usr/bin/python3	# (not a shim under root's home: nobody runs it)
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null 2>&1 &&
    [ -x "$PY" ] && [ -n "$S1" ]; then
	chmod 711 "$RD1"; chmod 777 "$S1"
	other=$(hello_len setpriv --reuid=65534 --regid=65534 --clear-groups)
	chmod 700 "$RD1"; chmod 755 "$S1"
	ours=$(hello_len)
	[ "$other" = 0 ] && [ "$ours" -gt 0 ] 2>/dev/null &&
	    ok "a peer of another uid gets no hello (we get $ours bytes)" ||
	    not_ok "a peer of another uid gets no hello" "other: $other, ours: $ours"
else
	ok "# SKIP another uid: not root, or no setpriv or /usr/bin/python3"
fi
run --node n1 --cwd "$W1" --agent "$AG" sessions close s1

# ---------------------------------------------------------------- refused
# n2's sshd: AllowStreamLocalForwarding no. Every command works, through
# a session; after the first failed forward the connection stops trying.
for i in 1 2 3; do
	run --node n2 --cwd "$W1" --agent "$AG" exec "echo refused $i"
	direct "$N2" --cwd "$W1" --agent "$AG" exec "echo refused $i"
	same "forwarding refused, command $i"
done
[ "$(sessions n2)" -eq 3 ] && ok "three sessions" ||
    not_ok "three sessions" "$(sessions n2)"
[ "$(sed -n 2p "$CTLDIR/n-n2.fwd" 2>/dev/null)" = off ] && ok "the connection no longer tries the forward" ||
    not_ok "the connection no longer tries the forward" "$(cat "$CTLDIR/n-n2.fwd" 2>&1)"

# ---------------------------------------------------------------- idle
# n3's daemon: ACPX_RELAYD_IDLE=0.5 (from its sshd's SetEnv): it writes
# its pid in its lock file, and is gone once idle.
run --node n3 --cwd "$W1" --agent "$AG" exec "echo idle"
expect_rc 0 "a command on n3"
RD3="/tmp/acpx-$(printf %s "$N3" | sha256sum | cut -c1-10)"
poll 'grep -q "^[0-9]" "$RD3"/relayd-*.lock 2>/dev/null'
DP3=$(cat "$RD3"/relayd-*.lock 2>/dev/null)
[ -n "$DP3" ] && ok "n3's daemon started ($DP3)" || not_ok "n3's daemon started"
[ -n "$DP3" ] && poll '! ssh_alive "$DP3"'
[ -n "$DP3" ] && ! ssh_alive "$DP3" && ok "the idle daemon exits" ||
    not_ok "the idle daemon exits" "$DP3"
ls "$RD3"/relayd-*.sock >/dev/null 2>&1 && not_ok "and removes its socket" ||
    ok "and removes its socket"
run --node n3 --cwd "$W1" --agent "$AG" exec "echo after idle"
expect_out_has "after idle" "the next command works (a session)"

done_testing
