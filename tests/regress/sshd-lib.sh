# Sourced after lib.sh by the scripts that need a real OpenSSH server: each
# "node" is an sshd of its own on 127.0.0.1 (a free port), with a throwaway
# host key and the test's client key authorized, run as the current user,
# with its own HOME for the sessions it starts and ACPX_NODE=NAME (SetEnv;
# the machine name of warp.hostDefaults), so two nodes on one machine have
# different config, sessions, secrets and defaults. The client side
# gets an ssh_config with a Host entry per node and a known_hosts file that
# pins each host key (never StrictHostKeyChecking=no). Everything lives in
# $T_ROOT/ssh; each sshd is stopped by its PID (lib.sh's cleanup, or
# ssh_stop_node). skip_all when sshd cannot start here.
#
#	ssh_setup				(once; may skip_all)
#	ssh_start_node NAME NODE_HOME		(sets SSH_PORT_<NAME>)
#	ssh_stop_node NAME			(the sshd and its sessions)
#	ssh_node_pid NAME			(the listening sshd's PID)
#	ssh_relayd_pids NAME			(its resident relays' PIDs)
#
# SSHD_SETENV (more NAME=VALUE words for the node's SetEnv) and
# SSHD_EXTRA (more sshd_config lines), when set, apply to the nodes
# started then. ssh_stop_node also stops the node's resident relays
# (acpx __node-relayd, detached from sshd: found by their lock files in
# the node HOME's private socket directory, which hold their PIDs).
#
# A NAME is the Host alias in $SSH_CONFIG (use -F "$SSH_CONFIG").
#
# The sshd_config is Debian's defaults where they matter for a session's
# cost (no ~/.ssh/rc or /etc/ssh/sshrc here, PermitUserEnvironment no, the
# user's login shell runs the command), except UsePAM: "no" in the tests
# (PAM's session modules need root), "$SSHD_USE_PAM" when that is set (the
# bench sets yes as root: Debian's default, with /etc/pam.d/sshd).

: "${SSHD:=$(command -v sshd 2>/dev/null || echo /usr/sbin/sshd)}"
SSH_DIR="$T_ROOT/ssh"
SSH_CONFIG="$SSH_DIR/ssh_config"
SSH_KNOWN="$SSH_DIR/known_hosts"

ssh_setup() {
	[ -x "$SSHD" ] || skip_all "no sshd here (install openssh-server)"
	command -v ssh >/dev/null 2>&1 || skip_all "no ssh client here"
	command -v ssh-keygen >/dev/null 2>&1 || skip_all "no ssh-keygen here"
	mkdir -p "$SSH_DIR" && chmod 700 "$SSH_DIR"
	: >"$SSH_CONFIG"
	: >"$SSH_KNOWN"
	ssh-keygen -q -t ed25519 -N '' -C acpx-test-client \
	    -f "$SSH_DIR/id_client" </dev/null >/dev/null 2>&1 ||
	    skip_all "ssh-keygen could not make a key"
	# As root, sshd wants its privilege separation directory.
	if [ "$(id -u)" -eq 0 ] && [ ! -d /run/sshd ]; then
		mkdir -p /run/sshd 2>/dev/null && chmod 755 /run/sshd
	fi
}

# A port nobody listens on now (the kernel's table; sshd's own bind
# failure is the last word, see ssh_start_node).
ssh_free_port() {
	used=$(cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
	    awk '$4 == "0A" { split($2, a, ":"); print a[2] }')
	for try in 1 2 3 4 5 6 7 8 9 10; do
		p=$(( $(od -An -N2 -tu2 /dev/urandom) % 30000 + 20000 ))
		h=$(printf '%04X' "$p")
		case " $(echo $used) " in *" $h "*) continue ;; esac
		echo "$p"
		return 0
	done
	echo 0
}

ssh_start_node() {
	sn=$1 shome=$2
	d="$SSH_DIR/$sn"
	mkdir -p "$d" "$shome"
	chmod 700 "$d"
	ssh-keygen -q -t ed25519 -N '' -C "host-$sn" -f "$d/host_key" \
	    </dev/null >/dev/null 2>&1 || skip_all "ssh-keygen: no host key"
	cp "$SSH_DIR/id_client.pub" "$d/authorized_keys"
	chmod 600 "$d/authorized_keys"
	for attempt in 1 2 3 4 5; do
		port=$(ssh_free_port)
		cat >"$d/sshd_config" <<CFG
Port $port
ListenAddress 127.0.0.1
HostKey $d/host_key
PidFile $d/sshd.pid
AuthorizedKeysFile $d/authorized_keys
StrictModes no
UsePAM ${SSHD_USE_PAM:-no}
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
AllowUsers $(id -un)
PrintMotd no
PrintLastLog no
UseDNS no
AcceptEnv none
LogLevel VERBOSE
SetEnv HOME=$shome ACPX_NODE=$sn ${SSHD_SETENV:-}
${SSHD_EXTRA:-}
CFG
		: >"$d/log"
		"$SSHD" -D -e -f "$d/sshd_config" >"$d/log" 2>&1 </dev/null &
		spid=$!
		track_pid "$spid"
		# Wait for its "Server listening" line (or its exit).
		i=0
		while ! grep -q "Server listening on 127.0.0.1 port $port" \
		    "$d/log" 2>/dev/null; do
			if ! kill -0 "$spid" 2>/dev/null; then
				spid=""
				break
			fi
			[ $i -lt 1200 ] || break
			sleep 0.05
			i=$((i + 1))
		done
		if [ -n "$spid" ] && kill -0 "$spid" 2>/dev/null; then
			break
		fi
		wait "$spid" 2>/dev/null
		grep -q "Address already in use" "$d/log" && continue
		skip_all "sshd cannot start here: $(tail -n 1 "$d/log")"
	done
	[ -n "$spid" ] || skip_all "sshd found no free port"
	echo "$spid" >"$d/pid"
	echo "$shome" >"$d/home"
	eval "SSH_PORT_$sn=$port"
	# The host key, pinned for the client.
	printf '[127.0.0.1]:%s %s\n' "$port" \
	    "$(cut -d' ' -f1,2 "$d/host_key.pub")" >>"$SSH_KNOWN"
	cat >>"$SSH_CONFIG" <<CFG
Host $sn
	HostName 127.0.0.1
	Port $port
	User $(id -un)
	IdentityFile $SSH_DIR/id_client
	IdentitiesOnly yes
	UserKnownHostsFile $SSH_KNOWN
	GlobalKnownHostsFile /dev/null
	StrictHostKeyChecking yes
	LogLevel ERROR
CFG
}

ssh_node_pid() { cat "$SSH_DIR/$1/pid"; }
ssh_relayd_pids() {
	rd="/tmp/acpx-$(printf %s "$(cat "$SSH_DIR/$1/home")" | sha256sum |
	    cut -c1-10)"
	for lk in "$rd"/relayd-*.lock; do
		[ -f "$lk" ] || continue
		rp=$(cat "$lk" 2>/dev/null)
		case "$rp" in ''|*[!0-9]*) continue ;; esac
		tr '\0' ' ' <"/proc/$rp/cmdline" 2>/dev/null |
		    grep -q '__node-relayd' && ssh_alive "$rp" && echo "$rp"
	done
	# And those started under another HOME of this test's (a client's
	# SetEnv HOME=...): the node's name and this test's root in their
	# environment, whatever socket directory they use.
	for f in $(grep -l -a -F __node-relayd /proc/[0-9]*/cmdline 2>/dev/null); do
		rp=${f#/proc/}
		rp=${rp%/cmdline}
		tr '\0' '\n' <"/proc/$rp/environ" 2>/dev/null |
		    grep -q -x -F "ACPX_NODE=$1" &&
		    tr '\0' '\n' <"/proc/$rp/environ" 2>/dev/null |
		    grep -q "^HOME=$T_ROOT/" && ssh_alive "$rp" && echo "$rp"
	done
	return 0
}

# The sshd of node NAME and every process under it (its connections and
# what runs in them), by PID, as if the machine went away: the listener
# gets SIGTERM, the rest SIGKILL. Waits until they are gone (120 s only
# bounds a hang).
# (cat, not awk, opens the stat files: mawk, Debian's awk, stops at the
# first file it cannot open, and a process may exit between the glob and
# the read; then the list came out short and a connection survived.)
ssh_descendants() {
	cat /proc/[0-9]*/stat 2>/dev/null |
	    awk '{ pid = $1; sub(/^[0-9]+ \(.*\) /, ""); print pid, $2 }' |
	    awk -v root="$1" '{ pp[$1] = $2 } END {
		do { n = 0; for (p in pp) if (!(p in in_tree) &&
		    (pp[p] == root || (pp[p] in in_tree))) { in_tree[p] = 1; n++ }
		} while (n > 0)
		for (p in in_tree) print p }'
}
# (A zombie counts as gone: an init that does not reap keeps them.)
ssh_alive() {
	st=$(sed 's/.*) //; s/ .*//' "/proc/$1/stat" 2>/dev/null)
	[ -n "$st" ] && [ "$st" != Z ]
}
ssh_stop_node() {
	sp=$(ssh_node_pid "$1")
	kids=$(ssh_descendants "$sp"; for rp in $(ssh_relayd_pids "$1"); do
		echo "$rp"; ssh_descendants "$rp"; done)
	kids=$(echo $kids)
	kill "$sp" 2>/dev/null
	[ -n "$kids" ] && kill -KILL $kids 2>/dev/null
	for p in $sp $kids; do
		i=0
		while ssh_alive "$p" && [ $i -lt 1200 ]; do
			sleep 0.1
			i=$((i + 1))
		done
	done
	wait "$sp" 2>/dev/null
	return 0
}
