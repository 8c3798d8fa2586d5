#!/bin/sh
# --node over a real OpenSSH: two nodes (two sshd on 127.0.0.1, each with
# its own HOME: config, sessions, secrets), the mock agent on the node
# side. What the relay prints must be byte for byte what the same command
# prints run on the node directly; its exit status the node's; ssh's own
# failures NODE_UNREACHABLE (exit 6); Ctrl-C a cancel on the node; nothing
# of the node's left running; no secret of a node on this machine.
# One sshd handshake per node, then the shared connection (ControlMaster).
. "$TESTS_SRCDIR/regress/lib.sh"
. "$TESTS_SRCDIR/regress/sshd-lib.sh"
[ -x "$MOCK" ] || skip_all "mock agent not built"
ssh_setup
N1="$T_ROOT/n1home" N2="$T_ROOT/n2home"
ssh_start_node n1 "$N1"
ssh_start_node n2 "$N2"
# The sshd and the sessions they serve go at the end, whatever happens
# (the shared connections with them).
trap 'ssh_stop_node n1; ssh_stop_node n2; t_cleanup' EXIT

W1="$T_ROOT/w1"			# a directory on the "node"
mkdir -p "$W1" "$HOME/.acpx" "$N1/.acpx" "$N2/.acpx" "$N1/.openclaw" \
    "$N2/.openclaw"
REC="$T_ROOT/rec.ndjson"
AG="$MOCK"			# text commands: "echo <text>"
SECRET1="sk-SENTINEL-n1-7d41c9" SECRET2="sk-SENTINEL-n2-0be3a2"
printf 'WARP_INFINI_API_KEY=%s\n' "$SECRET1" >"$N1/.openclaw/.env"
printf 'WARP_CKIMI_API_KEY=%s\n' "$SECRET2" >"$N2/.openclaw/.env"
chmod 600 "$N1/.openclaw/.env" "$N2/.openclaw/.env"
for n in 1 2; do
	cat >"$T_ROOT/n${n}home/.acpx/config.json" <<CFG
{"warp": {"providers": {"infini": {"models": {"kimi": "kimi-k2.5"}},
  "ckimi": {"models": {"kimi-for-coding": "kimi-for-coding"}}},
  "hostDefaults": {"n$n": {"opencode": {"model": "model-of-n$n"}}}}}
CFG
done
# A script that answers --version as something else does.
fake_acpx() {
	printf '#!/bin/sh\nprintf %s\n' "'$2'" >"$T_ROOT/$1"
	chmod 755 "$T_ROOT/$1"
}
fake_acpx acpx-old '0.19.1\nacpx-native 0.0.9\n'
fake_acpx acpx-node '0.19.1\n'
fake_acpx acpx-garbage 'hello there\n'
fake_acpx acpx-nohello '0.19.1\nacpx-native 0.1.0\n'
# n1bad: n1's address with another key pinned (n2's): a changed host key.
grep -v "^\[127.0.0.1\]:$SSH_PORT_n1 " "$SSH_KNOWN" |
    sed "s/^\[127.0.0.1\]:$SSH_PORT_n2 /[127.0.0.1]:$SSH_PORT_n1 /" \
    >"$SSH_DIR/known_changed"
sed -n '/^Host n1$/,/^Host /p' "$SSH_CONFIG" | sed '$d' |
    sed "s/^Host n1$/Host n1bad/; s#UserKnownHostsFile .*#UserKnownHostsFile $SSH_DIR/known_changed#" \
    >>"$SSH_CONFIG"
node() {	# NAME HOST [ACPX]
	printf '"%s": {"ssh": "%s", "acpx": "%s", "sshOptions": ["-F", "%s"]}' \
	    "$1" "$2" "${3:-$ACPX}" "$SSH_CONFIG"
}
cat >"$HOME/.acpx/config.json" <<CFG
{"nodes": {$(node n1 n1), $(node n2 n2), $(node n1bad n1bad),
  $(node old n1 "$T_ROOT/acpx-old"), $(node nodejs n1 "$T_ROOT/acpx-node"),
  $(node garbage n1 "$T_ROOT/acpx-garbage"),
  $(node nohello n1 "$T_ROOT/acpx-nohello"),
  $(node missing n1 /nonexistent/acpx)}}
CFG

PWHOME=$(getent passwd "$(id -u)" | cut -d: -f6)	# where sshd starts
# direct HOME ARGS...: the command run on the node directly (as sshd runs
# it: that HOME, the node user's home directory as cwd, a pipe for stdin).
direct() {
	dh=$1; shift
	( cd "$PWHOME" 2>/dev/null || cd /; HOME=$dh ACPX_NODE=$(basename "$dh" home) \
	    "$ACPX" "$@" <"${STDIN:-/dev/null}" >"$T_ROOT/dout" 2>"$T_ROOT/derr" )
	DRC=$?
}
# same NAME [SED]: the last run and the last direct run printed the same
# bytes (after SED on both, for a clock such as status's uptime).
same() {
	if [ -n "${2:-}" ]; then
		for f in out err dout derr; do
			sed "$2" "$T_ROOT/$f" >"$T_ROOT/$f.sed" &&
			    mv "$T_ROOT/$f.sed" "$T_ROOT/$f"
		done
	fi
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

# ---------------------------------------------------------------- config
run --format json config show
expect_out_has "\"n1\":{\"ssh\":\"n1\",\"acpx\":\"$ACPX\",\"sshOptions\":[\"-F\",\"$SSH_CONFIG\"]}" \
    "config show lists the nodes"
bad_config() {	# NAME JSON WANT
	mkdir -p "$T_ROOT/bad/.acpx"
	printf '%s\n' "$2" >"$T_ROOT/bad/.acpx/config.json"
	HOME="$T_ROOT/bad" run config show
	expect_rc 1 "$1"
	expect_err_has "$3" "$1 names the key"
}
bad_config "an empty ssh" '{"nodes": {"x": {"ssh": " "}}}' \
    "Invalid config nodes.x.ssh in $T_ROOT/bad/.acpx/config.json"
bad_config "sshOptions not an array" '{"nodes": {"x": {"ssh": "h", "sshOptions": "-v"}}}' \
    "Invalid config nodes.x.sshOptions in"
bad_config "StrictHostKeyChecking=no refused" \
    '{"nodes": {"x": {"ssh": "h", "sshOptions": ["-o", "StrictHostKeyChecking=no"]}}}' \
    "nodes.x.sshOptions[1]"
bad_config "a bad node name" '{"nodes": {"a/b": {"ssh": "h"}}}' \
    "Invalid config nodes.a/b in"

run --node nope --agent "$AG" exec hi
expect_rc 2 "an unknown node"
expect_err_has "Unknown node 'nope' (configured: n1, n2, n1bad" "the unknown node's message"
run --node n1 config show
expect_rc 2 "--node with a command a node does not run"
expect_err_has "--node does not apply to 'config show'" "it says which"

# ---------------------------------------------------------------- exec
P="echo hello"
run --node n1 --cwd "$W1" --agent "$AG" exec "$P"
expect_rc 0 "exec on n1"
direct "$N1" --cwd "$W1" --agent "$AG" exec "$P"
same "exec, text"
run --node n1 --cwd "$W1" --agent "$AG" --format json exec "$P"
direct "$N1" --cwd "$W1" --agent "$AG" --format json exec "$P"
same "exec, json"
# The global options after the agent token (and --node=NAME) too.
run --cwd "$W1" --agent "$AG" exec --node=n1 --format quiet "$P"
direct "$N1" --cwd "$W1" --agent "$AG" exec --format quiet "$P"
same "exec, quiet, --node=n1 after the verb"

# Every shell metacharacter, quotes, a newline, a tab and non-ASCII.
META="echo it's \"quoted\" \$HOME \`id\` \$(id) ; | & > < * ? [a] {b,c} ~ # % ^ ! \\ \\\\
second line	tab héllo ✓ 日本"
run --node n1 --cwd "$W1" --agent "$AG" exec "$META"
direct "$N1" --cwd "$W1" --agent "$AG" exec "$META"
same "a prompt with every shell metacharacter"
expect_out_has "tab héllo ✓ 日本" "it arrived whole"

# Standard input and a --file are read here (the file is not on the node).
printf 'echo from the control machine' >"$T_ROOT/stdin.txt"
printf 'echo from a local file' >"$T_WORK/prompt.txt"
( cd "$T_WORK" && printf 'echo piped prompt' | "$ACPX" --node n1 --cwd "$W1" \
    --agent "$AG" exec >"$T_ROOT/out" 2>"$T_ROOT/err" ); RC=$?
OUT=$(cat "$T_ROOT/out")
expect_rc 0 "a prompt on a pipe"
expect_out_has "piped prompt" "the pipe's text reached the agent"
STDIN="$T_ROOT/stdin.txt" run --node n1 --cwd "$W1" --agent "$AG" exec
expect_out_has "from the control machine" "a redirected file as stdin"
run --node n1 --cwd "$W1" --agent "$AG" exec --file prompt.txt
expect_rc 0 "--file read on the control machine"
expect_out_has "from a local file" "its text reached the agent"
[ ! -e "$W1/prompt.txt" ] && ok "(the file is not on the node)" ||
    not_ok "(the file is not on the node)"

# Exit statuses pass through.
run --node n1 --cwd "$W1" --agent "$MOCK --scenario $SCENARIOS/error-internal.json" \
    --format json exec boom
direct "$N1" --cwd "$W1" --agent "$MOCK --scenario $SCENARIOS/error-internal.json" \
    --format json exec boom
same "a failing turn"
run --node n1 --cwd "$W1" --agent "$AG" prompt -s nosuch "echo hi"
direct "$N1" --cwd "$W1" --agent "$AG" prompt -s nosuch "echo hi"
same "a prompt to a session the node lacks (exit 4)"

# ---------------------------------------------------------------- sessions
run --node n1 --cwd "$W1" --agent "$AG" sessions new --name s1
expect_rc 0 "sessions new on n1"
run --node n1 --cwd "$W1" --agent "$AG" prompt -s s1 "echo first"
expect_out_has "first" "a prompt to the named session"
run --node n1 --cwd "$W1" --agent "$AG" prompt -s s1 "echo second"
expect_out_has "second" "a second client run finds it"
ls "$N1"/.acpx/sessions/*.json >/dev/null 2>&1 &&
    ok "the session record is on the node" || not_ok "the session record is on the node"
[ ! -d "$HOME/.acpx/sessions" ] && ok "and not on the control machine" ||
    not_ok "and not on the control machine" "$(ls "$HOME/.acpx/sessions")"
run --node n1 --cwd "$W1" --agent "$AG" sessions list
direct "$N1" --cwd "$W1" --agent "$AG" sessions list
same "sessions list"
run --node n1 --cwd "$W1" --agent "$AG" --format json status -s s1
direct "$N1" --cwd "$W1" --agent "$AG" --format json status -s s1
same "status, json (but its uptime)" 's/"uptime":"[0-9:]*"/"uptime":"-"/'
run --node n2 --cwd "$W1" --agent "$AG" sessions list
direct "$N2" --cwd "$W1" --agent "$AG" sessions list
same "n2 has its own sessions"
run --node n1 --cwd "$W1" --agent "$AG" sessions close s1
expect_rc 0 "sessions close on n1"

# ---------------------------------------------------------------- warp
run --node n1 --format json warp list
direct "$N1" --format json warp list
same "warp list on n1"
run --node n2 --format json warp list
direct "$N2" --format json warp list
same "warp list on n2"

# ---------------------------------------------------------------- Ctrl-C
# pids of mock agents recording to FILE, and of __node-relay for it
pids_of() {
	for f in $(grep -l -a -F "$1" /proc/[0-9]*/cmdline 2>/dev/null); do
		a0=$(tr '\0' '\n' <"$f" 2>/dev/null | head -n 1)
		case "$a0" in *mock-agent|*acpx) ;; *) continue ;; esac
		p=${f#/proc/}; echo "${p%/cmdline}"
	done 2>/dev/null
}
wait_gone() {	# PATTERN
	i=0
	while [ -n "$(pids_of "$1")" ] && [ $i -lt 600 ]; do
		sleep 0.1; i=$((i + 1))
	done
	a=$(pids_of "$1")
	[ -z "$a" ] && ok "$2" || not_ok "$2" "$(for p in $a; do tr '\0' ' ' </proc/$p/cmdline; echo; done 2>&1)"
}
start_held() {	# REC: exec with a turn the mock holds until cancelled
	rm -f "$T_ROOT/out" "$T_ROOT/err" "$1"
	( cd "$T_WORK" && exec "$ACPX" --node n1 --cwd "$W1" --agent \
	    "$MOCK --scenario $SCENARIOS/wait-cancel.json --record $1" exec x \
	    >"$T_ROOT/out" 2>"$T_ROOT/err" ) &
	PID=$!
	track_pid $PID
	i=0
	while [ $i -lt 1200 ] && ! grep -q working "$T_ROOT/out" 2>/dev/null; do
		sleep 0.05; i=$((i + 1))
	done
	grep -q working "$T_ROOT/out" && ok "a held turn streams through the relay" ||
	    not_ok "a held turn streams through the relay" "$(cat "$T_ROOT/out" "$T_ROOT/err")"
	[ "$(pids_of "$1" | wc -l)" -ge 2 ] &&
	    ok "the node runs acpx and the agent for it" ||
	    not_ok "the node runs acpx and the agent for it" "$(pids_of "$1")"
}
start_held "$T_ROOT/rec-int.ndjson"
kill -INT $PID
wait $PID; RC=$?
OUT=$(cat "$T_ROOT/out")
expect_rc 0 "Ctrl-C: exit as on the node (the agent honours the cancel)"
expect_out_has "[done] cancelled" "the node's turn was cancelled"
verify_record "$SCENARIOS/wait-cancel.json" "$T_ROOT/rec-int.ndjson"
wait_gone "$T_ROOT/rec-int.ndjson" "no agent or acpx left on the node after Ctrl-C"

# The control side dies: the node ends its command too.
start_held "$T_ROOT/rec-kill.ndjson"
kill -KILL $PID
wait $PID 2>/dev/null
wait_gone "$T_ROOT/rec-kill.ndjson" "no agent or acpx left on the node after a SIGKILL here"

# The connection drops mid-turn of a named session: the owner on the node
# goes on with the turn (held until a file exists) and the next prompt
# finds it.
cat >"$T_ROOT/drop.json" <<SCN
{"turns": [[{"chunk": "working"}, {"wait_file": "$T_ROOT/release"},
  {"chunk": "finished after the drop"}], [{"chunk": "second answer"}]]}
SCN
DROP="$MOCK --scenario $T_ROOT/drop.json"
run --node n1 --cwd "$W1" --agent "$DROP" sessions new --name d
expect_rc 0 "a session for the dropped connection"
rm -f "$T_ROOT/out"
( cd "$T_WORK" && exec "$ACPX" --node n1 --cwd "$W1" --agent "$DROP" \
    prompt -s d "first" >"$T_ROOT/out" 2>"$T_ROOT/err" ) &
PID=$!
track_pid $PID
i=0
while [ $i -lt 1200 ] && ! grep -q working "$T_ROOT/out" 2>/dev/null; do
	sleep 0.05; i=$((i + 1))
done
grep -q working "$T_ROOT/out" && ok "the session's turn streams" ||
    not_ok "the session's turn streams" "$(cat "$T_ROOT/out" "$T_ROOT/err")"
kill -KILL $PID
wait $PID 2>/dev/null
# The node's client (acpx ... prompt, not the owner) goes; the agent stays.
client_of() {
	for p in $(pids_of "$T_ROOT/drop.json"); do
		tr '\0' ' ' </proc/$p/cmdline 2>/dev/null | grep -q ' prompt -s d ' &&
		    echo "$p"
	done
}
i=0
while [ -n "$(client_of)" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
[ -z "$(client_of)" ] && ok "the node's client is gone" ||
    not_ok "the node's client is gone" "$(client_of)"
touch "$T_ROOT/release"
run --node n1 --cwd "$W1" --agent "$DROP" prompt -s d "second"
expect_rc 0 "the next prompt finds the session"
expect_out_has "second answer" "and gets the second turn"
run --node n1 --cwd "$W1" --agent "$DROP" sessions history d
expect_out_has "finished after the drop" "the first turn went on to its end"
run --node n1 --cwd "$W1" --agent "$DROP" sessions close d

# ---------------------------------------------------------------- failures
run --node n1bad --agent "$AG" exec hi
expect_rc 6 "a changed host key: NODE_UNREACHABLE"
expect_err_has "Node 'n1bad'" "the message names the node"
expect_err_has "Host key verification failed" "and says why"
run --node old --agent "$AG" exec hi
expect_rc 1 "an old acpx-native on the node is refused"
expect_err_has "runs acpx-native 0.0.9; --node needs 0.1.0 or newer there (this is acpx-native" \
    "naming both versions"
run --node nodejs --agent "$AG" exec hi
expect_err_has "runs acpx 0.19.1, not acpx-native" "the Node acpx is refused"
run --node garbage --agent "$AG" exec hi
expect_err_has "did not print an acpx version (exit 0): hello there" "garbage from --version"
run --node nohello --agent "$AG" exec hi
expect_err_has "runs acpx-native 0.1.0, which does not answer --node's handshake" \
    "an acpx-native that does not answer the handshake in the command's channel"
run --node missing --agent "$AG" exec hi
expect_rc 1 "no acpx on the node"
expect_err_has "Node 'missing' has no acpx at '/nonexistent/acpx'" "says so"

# One ssh login per node name (its shared connection), not one per command.
logins=$(grep -c "Accepted publickey" "$SSH_DIR/n1/log")
[ "$logins" -le 8 ] && ok "n1 saw $logins ssh logins for its 30-odd commands" ||
    not_ok "n1 saw $logins ssh logins for its 30-odd commands (no connection sharing?)"
run nodes check n1
expect_rc 1 "nodes check n1: its warp doctor fails (no base URLs there)"
expect_out_has "n1	reachable	" "n1 is reachable"
expect_out_has "warp doctor: failing, 3 problems (acpx --node n1 warp doctor)" \
    "the doctor's verdict"
ssh_stop_node n2
run --node n2 --agent "$AG" exec hi
expect_rc 6 "a stopped sshd: NODE_UNREACHABLE"
expect_err_has "Node 'n2' (ssh n2)" "names the node"
run --node n2 --format json --agent "$AG" exec hi
expect_out_has '"acpxCode":"NODE_UNREACHABLE"' "the JSON error's code"
run --format json nodes check
expect_rc 6 "nodes check: one is down"
expect_out_has '{"name":"n2","ssh":"n2","reachable":false,"error":"NODE_UNREACHABLE"' \
    "n2 is down"
expect_out_has '{"name":"n1","ssh":"n1","reachable":true,"rttMs":' "n1 is up"
run nodes
expect_rc 0 "nodes (the list) exits 0"

# ---------------------------------------------------------------- secrets
if grep -r -a -l -e "$SECRET1" -e "$SECRET2" "$HOME" "$T_ROOT/out" \
    "$T_ROOT/err" "$T_WORK" /tmp/acpx-"$(printf %s "$HOME" | sha256sum |
    cut -c1-10)" 2>/dev/null | grep -q .; then
	not_ok "no node secret on the control machine"
else
	ok "no node secret on the control machine"
fi

done_testing
