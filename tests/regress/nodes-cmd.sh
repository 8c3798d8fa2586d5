#!/bin/sh
# acpx nodes / nodes check over a real OpenSSH (one sshd on 127.0.0.1;
# each node name a HOME of its own through a wrapper as its acpx): the
# node's warp doctor verdict (ok against the fake provider; failing for a
# secrets file of mode 0644, with the fix; "no secrets file" for a node
# without Warp, which does not count), in text and JSON, never a secret
# value; the exit statuses of check; an unusable node (garbage for a
# version, a changed host key), the nodes checked at once, reported in
# the config's order. Completion after --node: the session
# names are the node's (its __complete, over the shared connection), and
# nothing, not an error, when the node is down. A warm command opens its
# session on the shared connection's master with no ssh process; a dead
# master's socket makes ssh open a new one. An empty ssh is refused.
. "$TESTS_SRCDIR/regress/lib.sh"
. "$TESTS_SRCDIR/regress/sshd-lib.sh"
[ -x "$MOCK" ] || skip_all "mock agent not built"
FAKE=$(dirname "$ACPX")/tests/fake-provider/fake-provider
[ -x "$FAKE" ] || skip_all "fake provider not built"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
unset ACPX_WARP_ENV_FILE ACPX_NODE
ssh_setup
ssh_start_node h "$T_ROOT/home-ssh"
trap 'ssh_stop_node h; t_cleanup' EXIT

# The fake provider answers the doctor's probe of the "ok" node.
"$FAKE" --record "$T_ROOT/fake.rec" --lifetime 900 >"$T_ROOT/port" &
track_pid $!
i=0
while [ ! -s "$T_ROOT/port" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done
PORT=$(head -n 1 "$T_ROOT/port")
[ -n "$PORT" ] || skip_all "fake provider did not start"

SENTINEL="sk-SENTINEL-nodescmd-5c0ffee"
# node_home NAME: a HOME for node NAME and the wrapper that is its acpx.
node_home() {
	mkdir -p "$T_ROOT/home-$1/.acpx"
	printf '#!/bin/sh\nHOME=%s exec %s "$@"\n' "$T_ROOT/home-$1" "$ACPX" \
	    >"$T_ROOT/acpx-$1"
	chmod 755 "$T_ROOT/acpx-$1"
}
warp_setup() {	# NAME MODE
	mkdir -p "$T_ROOT/home-$1/.openclaw"
	printf 'WARP_LOCAL_API_KEY=%s\nWARP_LOCAL_BASE_URL=http://127.0.0.1:%s/ok/v1\n' \
	    "$SENTINEL" "$PORT" >"$T_ROOT/home-$1/.openclaw/.env"
	chmod "$2" "$T_ROOT/home-$1/.openclaw/.env"
	printf '{"warp": {"providers": {"local": {"models": {"kimi": "kimi-k2.5"}}}}}\n' \
	    >"$T_ROOT/home-$1/.acpx/config.json"
}
node_home good; warp_setup good 600
node_home lax; warp_setup lax 644
node_home plain
# The nodes are checked at once: good's version check waits for plain's
# to begin (plain comes later in the config), so a check one node after
# the other finds good unusable (after the wait's ceiling, a hang bound).
sed -i "2i [ \"\$1\" = --version ] && : >'$T_ROOT/plain-asked'" "$T_ROOT/acpx-plain"
sed -i "2i if [ \"\$1\" = --version ]; then i=0; while [ ! -e '$T_ROOT/plain-asked' ] \
    \&\& [ \$i -lt 1200 ]; do sleep 0.1; i=\$((i + 1)); done; \
    [ -e '$T_ROOT/plain-asked' ] || { echo 'one node at a time'; exit 0; }; fi" "$T_ROOT/acpx-good"
printf '#!/bin/sh\nprintf "hello there\\n"\n' >"$T_ROOT/acpx-garbage"
chmod 755 "$T_ROOT/acpx-garbage"
# hbad: h's address with another host key pinned.
ssh-keygen -q -t ed25519 -N '' -f "$T_ROOT/other_key" </dev/null >/dev/null 2>&1
printf '[127.0.0.1]:%s %s\n' "$SSH_PORT_h" "$(cut -d' ' -f1,2 "$T_ROOT/other_key.pub")" \
    >"$SSH_DIR/known_changed"
sed -n '/^Host h$/,$p' "$SSH_CONFIG" | sed "s/^Host h$/Host hbad/; s#UserKnownHostsFile .*#UserKnownHostsFile $SSH_DIR/known_changed#" \
    >>"$SSH_CONFIG"

node() {	# NAME HOST ACPX
	printf '"%s": {"ssh": "%s", "acpx": "%s", "sshOptions": ["-F", "%s"]}' \
	    "$1" "$2" "$3" "$SSH_CONFIG"
}
mkdir -p "$HOME/.acpx"
cat >"$HOME/.acpx/config.json" <<CFG
{"nodes": {$(node good h "$T_ROOT/acpx-good"), $(node lax h "$T_ROOT/acpx-lax"),
  $(node plain h "$T_ROOT/acpx-plain"), $(node garbage h "$T_ROOT/acpx-garbage"),
  $(node hbad hbad "$ACPX")}}
CFG

# ---------------------------------------------------------------- nodes
run nodes check
expect_rc 6 "nodes check, all: one is down"
expect_out_has "good	reachable	" "good is reachable (checked at once with plain)"
case "$OUT" in
"good	"*"
lax	"*"
plain	"*"
garbage	"*"
hbad	"*) ok "the lines in the config's order" ;;
*) not_ok "the lines in the config's order" "$OUT" ;; esac
case "$OUT" in
*"good	reachable	"*" ms	acpx-native "*"	warp doctor: ok
"*) ok "good: its warp doctor passes (text column)" ;;
*) not_ok "good: its warp doctor passes (text column)" "$OUT" "$ERR" ;; esac
expect_out_has "plain	reachable	" "plain is reachable"
expect_out_has "	warp doctor: no secrets file" "plain: no secrets file"
expect_out_has "	warp doctor: failing, Warp secrets file $T_ROOT/home-lax/.openclaw/.env" \
    "lax: failing, the secrets file named"
expect_out_has "chmod 600" "lax: with the fix"
expect_out_has "garbage	unusable	-	Node 'garbage': '$T_ROOT/acpx-garbage --version' did not print an acpx version (exit 0): hello there" \
    "garbage for a version: unusable, and what it printed"
expect_out_has "hbad	down	-	Node 'hbad' (ssh hbad) is unreachable: Host key verification failed." \
    "a changed host key: down, and why"
grep -q "models" "$T_ROOT/fake.rec" 2>/dev/null &&
    ok "the node's doctor probed its provider" ||
    not_ok "the node's doctor probed its provider" "$(cat "$T_ROOT/fake.rec" 2>&1)"

run --format json nodes check plain
expect_rc 0 "nodes check plain: a node without Warp is not failing"
expect_out_has '"warpDoctor":{"status":"none",' "json: plain has none"
expect_out_has '"secretsFile":"WARP_ENV_MISSING"' "json: its secrets file is missing"
run --format json nodes check lax
expect_rc 1 "nodes check lax: a failing warp doctor"
expect_out_has '"warpDoctor":{"status":"failing",' "json: lax fails"
expect_out_has '"secretsFile":"WARP_ENV_INSECURE"' "json: why"
run --format json nodes check good
expect_rc 0 "nodes check good: its doctor passes"
expect_out_has '"warpDoctor":{"status":"ok","problems":0,"secretsFile":"ok"}' \
    "json: the verdict of good"
if grep -r -a -l -F "$SENTINEL" "$HOME" "$T_ROOT/out" "$T_ROOT/err" \
    "$T_WORK" | grep -q .; then
	not_ok "no secret value here (output, HOME)"
else
	ok "no secret value here (output, HOME)"
fi

# ---------------------------------------------------------------- completion
# Completion's ceiling (3 s) bounds only a hang here: a slow machine is not
# a node that does not answer.
ACPX_NODE_COMPLETE_TIMEOUT=600; export ACPX_NODE_COMPLETE_TIMEOUT
W="$T_ROOT/work"
mkdir -p "$W"
HOME="$T_ROOT/home-good" "$ACPX" --cwd "$W" --agent "$MOCK" sessions new \
    --name on-the-node >/dev/null 2>&1
"$ACPX" --cwd "$W" --agent "$MOCK" sessions new --name only-here \
    >/dev/null 2>&1
run __complete -- --node good --cwd "$W" --agent "$MOCK" prompt -s ""
expect_out_has "on-the-node" "after --node: the node's session names"
case "$OUT" in
*only-here*) not_ok "and not this machine's" "$OUT" ;;
*) ok "and not this machine's" ;; esac
run __complete -- --cwd "$W" --agent "$MOCK" prompt --node=good --session=""
expect_out_has "--session=on-the-node" "--node=NAME later, --session=: prefixed"

# ---------------------------------------------------------------- shared connection
# Warm, the relay opens its session on the master itself: no ssh run here.
( cd "$T_WORK" && PATH=/nonexistent "$ACPX" --node good --cwd "$W" \
    --agent "$MOCK" sessions list </dev/null >"$T_ROOT/out" 2>"$T_ROOT/err" )
RC=$?; OUT=$(cat "$T_ROOT/out"); ERR=$(cat "$T_ROOT/err")
expect_rc 0 "warm: a session on the master, with no ssh on PATH"
expect_out_has "on-the-node" "its output relayed"
# A master gone without removing its socket: ssh takes over (a new one).
CTLG="/tmp/acpx-$(printf %s "$HOME" | sha256sum | cut -c1-10)/n-good"
mp=$(ssh -F "$SSH_CONFIG" -o ControlPath="$CTLG" -O check h 2>&1 |
    sed -n 's/.*pid=\([0-9]*\).*/\1/p')
[ -n "$mp" ] && kill -KILL "$mp"
i=0
while [ -n "$mp" ] && kill -0 "$mp" 2>/dev/null && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
[ -S "$CTLG" ] && ok "(the dead master's socket is left)" ||
    not_ok "(the dead master's socket is left)" "master pid '$mp'"
run --node good --cwd "$W" --agent "$MOCK" sessions list
expect_rc 0 "a stale socket: ssh opens a new connection"
expect_out_has "on-the-node" "and the command runs"

HOME="$T_ROOT/home-good" stop_owner
stop_owner
ssh_stop_node h
run __complete -- --node good --cwd "$W" --agent "$MOCK" prompt -s ""
expect_rc 0 "completion with the node down: no error"
expect_out ":words
" "and no candidates"

# ---------------------------------------------------------------- config
mkdir -p "$T_ROOT/home-empty/.acpx"
printf '{"nodes": {"x": {"ssh": ""}}}\n' >"$T_ROOT/home-empty/.acpx/config.json"
HOME="$T_ROOT/home-empty" run --node x --agent "$MOCK" exec hi
expect_rc 1 "an empty ssh: a config error"
expect_err_has "Invalid config nodes.x.ssh in $T_ROOT/home-empty/.acpx/config.json: expected non-empty string" \
    "names the key"

done_testing
