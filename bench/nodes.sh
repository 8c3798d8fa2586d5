#!/bin/sh
# --node over a real OpenSSH (never part of the tests): a prompt to a live
# named session on an execution node, through the relay, against the same
# prompt run on the node directly.
#   sh bench/nodes.sh [BUILD_DIR]      (default build/release)
# The node is an sshd of its own on 127.0.0.1 (tests/regress/sshd-lib.sh:
# a throwaway host key, the client key authorized, a HOME of its own), the
# agent the mock agent; the session's queue owner stays up between runs.
# Needs hyperfine. Reports the mean of BENCH_RUNS runs (default 40) of:
#   direct  the prompt run on the node directly (its HOME, no ssh)
#   warm    acpx --node: the shared connection is up and forwards to the
#           node's resident relay (one channel to its socket, no session)
#   session acpx --node through an ssh session on the shared connection
#           (node "ns": the same, its connection's forward marked off, as
#           for a node whose sshd refuses stream-local forwarding)
#   ssh     `ssh NODE true` without connection sharing: a full handshake
#   cold    acpx --node with no shared connection (it opens one)
# and the budgets: warm - direct <= 15 ms; cold - direct <= ssh + 20 ms;
# and what a warm command pays on the node that is not acpx's (see acpx(1)
# NODES, node setup):
#   session `ssh -S <shared connection> NODE 'exec /bin/true'` (one
#           channel, sshd's session, the login shell, /bin/true) less
#           `ssh -S ... -O check NODE` (the ssh client's start)
#   shell   the login shell's `-c 'exec /bin/true'` here, against
#   true    /bin/true (starting any process)
# The node's sshd is Debian's defaults (tests/regress/sshd-lib.sh), with
# UsePAM yes (Debian's /etc/pam.d/sshd) when run as root.
# BENCH_BEFORE=<another build dir> also runs warm and cold with that
# build's acpx on both sides (node "n0", its own shared connection),
# interleaved with this one, for a before/after on a busy machine.
# BENCH_PROFILE=1 also prints one warm run's timeline (strace -f -tt on
# this side and on the node's sshd) to find where the time goes;
# BENCH_PROFILE=2 traces every system call.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build/release}" && pwd)
ACPX="$build/acpx"
MOCK="$build/tests/mock-agent/mock-agent"
[ -x "$MOCK" ] || (cd "$build" && make -s tests/mock-agent/mock-agent)
command -v hyperfine >/dev/null || { echo "need hyperfine"; exit 1; }
RUNS=${BENCH_RUNS:-40}

# What sshd-lib.sh needs of tests/regress/lib.sh.
T_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/acpx-bench.XXXXXX")
T_PIDS=""
track_pid() { T_PIDS="$T_PIDS $1"; }
skip_all() { echo "skipped: $1"; exit 0; }
export HOME="$T_ROOT/home"
[ "$(id -u)" -eq 0 ] && : "${SSHD_USE_PAM:=yes}"
NH="$T_ROOT/nodehome"
W="$T_ROOT/work"
mkdir -p "$HOME/.acpx" "$NH/.acpx" "$W"
. "$top/tests/regress/sshd-lib.sh"
cleanup() {
	HOME=$NH "$ACPX" --cwd "$W" --agent "$MOCK" sessions close b \
	    >/dev/null 2>&1 || true
	for c in "$CTL" "$CTL0" "$CTLS"; do
		ssh -F "$SSH_CONFIG" -o ControlPath="$c" -O exit n1 \
		    >/dev/null 2>&1 || true
	done
	ssh_stop_node n1 2>/dev/null || true
	for p in $T_PIDS; do kill "$p" 2>/dev/null || true; done
	rm -rf "$T_ROOT" "/tmp/acpx-$(printf %s "$HOME" | sha256sum | cut -c1-10)" \
	    "/tmp/acpx-$(printf %s "$NH" | sha256sum | cut -c1-10)"
}
trap cleanup EXIT
ssh_setup
ssh_start_node n1 "$NH"
CTL="/tmp/acpx-$(printf %s "$HOME" | sha256sum | cut -c1-10)/n-n1"
CTL0="/tmp/acpx-$(printf %s "$HOME" | sha256sum | cut -c1-10)/n-n0"
CTLS="/tmp/acpx-$(printf %s "$HOME" | sha256sum | cut -c1-10)/n-ns"
BEFORE=""
[ -n "${BENCH_BEFORE:-}" ] && BEFORE="$(cd "$BENCH_BEFORE" && pwd)/acpx"
printf '{"nodes": {"n1": {"ssh": "n1", "acpx": "%s", "sshOptions": ["-F", "%s"]},
  "ns": {"ssh": "n1", "acpx": "%s", "sshOptions": ["-F", "%s"]},
  "n0": {"ssh": "n1", "acpx": "%s", "sshOptions": ["-F", "%s"]}}}\n' \
    "$ACPX" "$SSH_CONFIG" "$ACPX" "$SSH_CONFIG" "${BEFORE:-$ACPX}" \
    "$SSH_CONFIG" >"$HOME/.acpx/config.json"

# The session on the node, its owner up for the whole run.
HOME=$NH "$ACPX" --cwd "$W" --agent "$MOCK" sessions new --name b >/dev/null
HOME=$NH "$ACPX" --cwd "$W" --agent "$MOCK" --ttl 3600 --format quiet \
    prompt -s b "echo warm" >/dev/null

ARGS="--cwd '$W' --agent '$MOCK' --format quiet prompt -s b 'echo hi'"
DIRECT="env HOME='$NH' ACPX_NODE=n1 '$ACPX' $ARGS"
NODE="'$ACPX' --node n1 $ARGS"
NODES="'$ACPX' --node ns $ARGS"
DROP="ssh -F '$SSH_CONFIG' -o ControlPath='$CTL' -O exit n1"

# Sanity: the same answer both ways.
a=$(sh -c "$DIRECT" </dev/null) b=$(sh -c "$NODE" </dev/null)
[ "$a" = "$b" ] || { echo "direct and --node differ: '$a' / '$b'"; exit 1; }

# CPU: the local side's is hyperfine's (user + system, its children
# included); the node's is the sshd connection's (its own and its waited
# children's: the remote shell, __node-relay, acpx) and the local ssh
# master's, read from /proc before and after (clock ticks).
ticks() {	# PID...: utime + stime + cutime + cstime
	for p in "$@"; do
		sed 's/.*) //' "/proc/$p/stat" 2>/dev/null |
		    awk '{ print $12 + $13 + $14 + $15 }'
	done | awk '{ t += $1 } END { print t + 0 }'
}
conn_pids() {	# the listener's children: one per connection
	sp=$(ssh_node_pid n1)
	for f in /proc/[0-9]*/stat; do
		sed 's/.*) //' "$f" 2>/dev/null | awk -v sp="$sp" -v f="$f" \
		    '$2 == sp { sub("/proc/", "", f); sub("/stat", "", f); print f }'
	done
}
master_pid() {	# CTL
	ssh -F "$SSH_CONFIG" -o ControlPath="$1" -O check n1 2>&1 |
	    sed -n 's/.*pid=\([0-9]*\).*/\1/p'
}
HZ=$(getconf CLK_TCK)
user_sys_ms() {	# NAME: hyperfine's mean user + system, in ms
	sed -n 's/^ *"\(user\|system\)": *\([0-9.e-]*\),*$/\2/p' \
	    "$T_ROOT/$1.json" | head -n 2 | awk '{ t += $1 } END { printf "%.1f", t * 1000 }'
}
# warm_cpu NAME CMD CTL [session]: a warm run's wall mean; sets CPU_LOCAL
# and CPU_NODE (ms per run; the node's includes the ssh master's and the
# resident relay's, its handlers and their commands); "session": the
# connection's forward marked off first (its sessions only).
warm_cpu() {
	for c in "$CTL" "$CTL0" "$CTLS"; do	# only this node's connection up
		ssh -F "$SSH_CONFIG" -o ControlPath="$c" -O exit n1 >/dev/null 2>&1 || true
	done
	sh -c "$2" >/dev/null 2>&1 </dev/null
	if [ "${4:-}" = session ] && [ -f "$3.fwd" ]; then
		{ head -n 1 "$3.fwd"; echo off; sed -n 3p "$3.fwd"; } \
		    >"$3.fwd.tmp" &&
		    mv "$3.fwd.tmp" "$3.fwd"
	fi
	pids="$(conn_pids) $(master_pid "$3") $(ssh_relayd_pids n1)"
	t0=$(ticks $pids)
	w=$(mean_ms "$1" -w 3 "$2")
	t1=$(ticks $pids)
	CPU_LOCAL=$(user_sys_ms "$1")
	CPU_NODE=$(echo "$t0 $t1 $HZ $RUNS" | awk '{ printf "%.1f", ($2 - $1) * 1000 / $3 / ($4 + 3) }')
	echo "$w"
}

mean_ms() {	# NAME HYPERFINE-ARGS...: the mean in ms (one decimal)
	name=$1; shift
	hyperfine -N -r "$RUNS" --export-json "$T_ROOT/$name.json" "$@" \
	    >/dev/null 2>&1
	sed -n 's/^ *"mean": *\([0-9.e-]*\),*$/\1/p' "$T_ROOT/$name.json" |
	    head -n 1 | awk '{ printf "%.1f", $1 * 1000 }'
}
direct=$(mean_ms direct -w 3 "$DIRECT")
CPU_DIRECT=$(user_sys_ms direct)
warm_cpu warms "$NODES" "$CTLS" session >"$T_ROOT/w"
warms=$(cat "$T_ROOT/w") WSL=$CPU_LOCAL WSN=$CPU_NODE
# (n1's last: the session floor below uses its connection.)
warm_cpu warm "$NODE" "$CTL" >"$T_ROOT/w"
warm=$(cat "$T_ROOT/w") WL=$CPU_LOCAL WN=$CPU_NODE
sshm=$(mean_ms ssh -w 1 "ssh -F '$SSH_CONFIG' -o ControlPath=none -o ControlMaster=no n1 true")
sess=$(mean_ms sess -w 3 "ssh -F '$SSH_CONFIG' -o ControlPath='$CTL' n1 'exec /bin/true'")
sessc=$(mean_ms sessc -w 3 "ssh -F '$SSH_CONFIG' -o ControlPath='$CTL' -O check n1")
LSHELL=$(getent passwd "$(id -un)" | cut -d: -f7)
shellm=$(mean_ms shell -w 3 "${LSHELL:-/bin/sh} -c 'exec /bin/true'")
truem=$(mean_ms true -w 3 /bin/true)
cold=$(mean_ms cold -w 1 --prepare "sh -c \"$DROP >/dev/null 2>&1 || true\"" "$NODE")
# The same with the resident relay stopped too: the command starts it.
RDIR="/tmp/acpx-$(printf %s "$NH" | sha256sum | cut -c1-10)"
cat >"$T_ROOT/stopd" <<EOF
$DROP >/dev/null 2>&1
for lk in "$RDIR"/relayd-*.lock; do
	p=\$(cat "\$lk" 2>/dev/null) && [ -n "\$p" ] && kill "\$p" 2>/dev/null &&
	    while kill -0 "\$p" 2>/dev/null; do sleep 0.01; done
done
true
EOF
coldd=$(mean_ms coldd -w 1 --prepare "sh $T_ROOT/stopd" "$NODE")
# (hyperfine runs the prepare before each run: the master is gone.)
if [ -n "$BEFORE" ]; then
	NODE0="'$BEFORE' --node n0 $ARGS"
	DROP0="ssh -F '$SSH_CONFIG' -o ControlPath='$CTL0' -O exit n1"
	warm_cpu warm0 "$NODE0" "$CTL0" >"$T_ROOT/w"
	warm0=$(cat "$T_ROOT/w") WL0=$CPU_LOCAL WN0=$CPU_NODE
	cold0=$(mean_ms cold0 -w 1 --prepare "sh -c \"$DROP0 >/dev/null 2>&1 || true\"" "$NODE0")
	direct2=$(mean_ms direct2 -w 3 "$DIRECT")
fi

echo "runs: $RUNS each (mean); $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); sshd UsePAM ${SSHD_USE_PAM:-no}, login shell ${LSHELL:-?}"
echo "direct prompt on the node:  $direct ms"
echo "warm --node prompt:         $warm ms  (over direct: $(echo "$warm $direct" |
    awk '{ printf "%.1f", $1 - $2 }') ms, budget 15)"
echo "  CPU per run: direct $CPU_DIRECT ms; --node $WL ms here + $WN ms ssh master, node's sshd and resident relay (over direct: $(echo "$WL $WN $CPU_DIRECT" |
    awk '{ printf "%.1f", $1 + $2 - $3 }') ms)"
echo "warm --node, a session:    $warms ms  (over direct: $(echo "$warms $direct" |
    awk '{ printf "%.1f", $1 - $2 }') ms; without the resident relay)"
echo "  CPU per run: --node $WSL ms here + $WSN ms ssh master and node's sshd session"
echo "ssh handshake (ssh n1 true): $sshm ms"
echo "cold --node prompt:         $cold ms  (over direct + ssh: $(echo "$cold $direct $sshm" |
    awk '{ printf "%.1f", $1 - $2 - $3 }') ms, budget 20)"
echo "cold, resident relay down: $coldd ms  (over direct + ssh: $(echo "$coldd $direct $sshm" |
    awk '{ printf "%.1f", $1 - $2 - $3 }') ms; it starts the resident relay)"
echo "not acpx's: a warm ssh session running exec /bin/true $(echo "$sess $sessc" |
    awk '{ printf "%.1f", $1 - $2 }') ms ($sess ms less the ssh client's $sessc ms); the login shell's -c 'exec /bin/true' $shellm ms, /bin/true $truem ms here"
if [ -n "$BEFORE" ]; then
	echo "before ($BEFORE):"
	echo "  direct again:             $direct2 ms"
	echo "  warm --node prompt:       $warm0 ms  (over direct: $(echo "$warm0 $direct" |
	    awk '{ printf "%.1f", $1 - $2 }') ms)"
	echo "    CPU per run: --node $WL0 ms here + $WN0 ms ssh master and node's sshd session (over direct: $(echo "$WL0 $WN0 $CPU_DIRECT" |
	    awk '{ printf "%.1f", $1 + $2 - $3 }') ms)"
	echo "  cold --node prompt:       $cold0 ms  (over direct + ssh: $(echo "$cold0 $direct $sshm" |
	    awk '{ printf "%.1f", $1 - $2 - $3 }') ms)"
fi

if [ "${BENCH_PROFILE:-0}" != 0 ] && command -v strace >/dev/null; then
	tr="-e trace=execve,clone,clone3,fork,vfork,connect,exit_group"
	[ "$BENCH_PROFILE" = 2 ] && tr="-s 64"	# every system call
	sh -c "$NODE" >/dev/null </dev/null	# the master is up
	sp=$(ssh_node_pid n1)
	# The sshd serving our connection: the listener's child.
	conn=$(ssh_descendants "$sp" | head -n 1)
	strace -f -tt $tr -o "$T_ROOT/remote.trace" -p "$sp" $(ssh_descendants "$sp" | sed 's/^/-p /') \
	    -p "$(master_pid "$CTL")" &
	spid=$!
	sleep 1
	strace -f -tt $tr -o "$T_ROOT/local.trace" sh -c "$NODE" >/dev/null </dev/null
	sleep 0.5
	kill -INT $spid; wait $spid 2>/dev/null || true
	echo "== this side"; cat "$T_ROOT/local.trace"
	echo "== the node's sshd (pid $sp, connection $conn) and the ssh master (pid $(master_pid "$CTL"))"; cat "$T_ROOT/remote.trace"
fi
