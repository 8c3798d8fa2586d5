#!/bin/sh
# Agents bound to execution nodes (agents.<id>.nodes) over a real OpenSSH:
# two nodes (two sshd on 127.0.0.1, each its own HOME: config with the
# agent's definition, secrets file, hostDefaults), the agent started on a
# node through its `acpx warp serve --on-node` by exec, a persistent
# session (the owner here, the agent there) and a local warp serve; fs and
# terminal requests served on the node; failover when a node's sshd stops;
# a session on a stopped node fails with NODE_UNREACHABLE; no secret of a
# node on this machine.
. "$TESTS_SRCDIR/regress/lib.sh"
. "$TESTS_SRCDIR/regress/sshd-lib.sh"
[ -x "$MOCK" ] || skip_all "mock agent not built"
ssh_setup
N1="$T_ROOT/n1home" N2="$T_ROOT/n2home"
ssh_start_node n1 "$N1"
ssh_start_node n2 "$N2"
trap 'ssh_stop_node n1; ssh_stop_node n2; t_cleanup' EXIT

mkdir -p "$HOME/.acpx" "$N1/.acpx" "$N2/.acpx" "$N1/.openclaw" "$N2/.openclaw"
SECRET1="sk-SENTINEL-bound-n1-5e02" SECRET2="sk-SENTINEL-bound-n2-c7a9"
B="WARP_INFINI_BASE_URL=http://127.0.0.1:9/v1"
printf 'WARP_INFINI_API_KEY=%s\n%s\n' "$SECRET1" "$B" >"$N1/.openclaw/.env"
printf 'WARP_INFINI_API_KEY=%s\n%s\n' "$SECRET2" "$B" >"$N2/.openclaw/.env"
chmod 600 "$N1/.openclaw/.env" "$N2/.openclaw/.env"
# What the agent does on a node: the mock, its record in the node's HOME.
# "tools": writes a file, runs a command in a terminal, asks permission.
cat >"$T_ROOT/tools.json" <<'SCN'
{"default_turn": [
  {"chunk": "cwd {{cwd}}\n"},
  {"request": {"method": "fs/write_text_file", "params":
    {"path": "{{cwd}}/written.txt", "content": "from the agent\n"}},
   "save_as": "w"},
  {"request": {"method": "fs/read_text_file", "params":
    {"path": "{{cwd}}/written.txt"}}, "save_as": "r"},
  {"chunk_from": "r", "path": "result.content"},
  {"request": {"method": "terminal/create", "params":
    {"command": "sh", "args": ["-c", "echo term-ran > term.txt; pwd"]}},
   "save_as": "t"},
  {"request": {"method": "terminal/wait_for_exit", "params":
    {"terminalId": "{{t.result.terminalId}}"}}, "save_as": "x"},
  {"request": {"method": "terminal/output", "params":
    {"terminalId": "{{t.result.terminalId}}"}}, "save_as": "o"},
  {"chunk_from": "o", "path": "result.output"},
  {"request": {"method": "session/request_permission", "params":
    {"toolCall": {"toolCallId": "c1", "title": "Run rm", "kind": "execute"},
     "options": [{"optionId": "yes", "name": "Allow", "kind": "allow_once"},
      {"optionId": "no", "name": "Reject", "kind": "reject_once"}]}},
   "save_as": "p"},
  {"chunk_from": "p", "path": "result.outcome"},
  {"stop": "end_turn"}]}
SCN
for n in 1 2; do
	cat >"$T_ROOT/n${n}home/.acpx/config.json" <<CFG
{"agents": {"mocky": {"command": "$MOCK --record $T_ROOT/n${n}home/rec.ndjson"},
  "tools": {"command": "$MOCK --scenario $T_ROOT/tools.json"},
  "opencode": {"command": "$MOCK --record $T_ROOT/n${n}home/rec.ndjson"}},
 "warp": {"providers": {"infini": {"models": {"kimi": "kimi-k2.5"}},
   "onlyn": {"models": {"kimi": "kimi-k2.5"}}},
  "hostDefaults": {"n$n": {"opencode": {"model": "model-of-n$n"}}}}}
CFG
done
node() {	# NAME HOST
	printf '"%s": {"ssh": "%s", "acpx": "%s", "sshOptions": ["-F", "%s"]}' \
	    "$1" "$2" "$ACPX" "$SSH_CONFIG"
}
cat >"$HOME/.acpx/config.json" <<CFG
{"nodes": {$(node n1 n1), $(node n2 n2),
  "n1old": {"ssh": "n1", "acpx": "$T_ROOT/oldacpx", "sshOptions": ["-F", "$SSH_CONFIG"]},
  "n1w": {"ssh": "n1", "acpx": "$T_ROOT/wacpx", "sshOptions": ["-F", "$SSH_CONFIG"]}},
 "nodeConnectTimeout": 300,
 "agents": {"mocky": {"nodes": ["n1", "n2"]}, "tools": {"nodes": ["n1"]},
  "opencode-warp-infini-kimi": {"nodes": ["n1"]}, "olda": {"nodes": ["n1old"]}},
 "warp": {"providers": {"cold": {"models": {"kimi": "kimi-k2.5"}},
   "infini": {"models": {"kimi": "kimi-k2.5"}}},
  "fallback": {"opencode-warp-cold-kimi": ["opencode-warp-infini-kimi"]}}}
CFG

# n1w: n1, its acpx a wrapper that logs its words.
printf '#!/bin/sh\necho "$*" >>"%s"\nexec "%s" "$@"\n' "$T_ROOT/n1w.args" "$ACPX" >"$T_ROOT/wacpx"
chmod +x "$T_ROOT/wacpx"
# n1old: n1, where the acpx is the Node one (version skew).
printf '#!/bin/sh\necho 0.19.1\n' >"$T_ROOT/oldacpx"
chmod +x "$T_ROOT/oldacpx"

# ---------------------------------------------------------------- config
run --format json config show
expect_out_has '"mocky":{"nodes":["n1","n2"]}' "config show: the agent's nodes"
expect_out_has '"nodeConnectTimeout":300' "config show: nodeConnectTimeout"
bad_config() {	# NAME JSON WANT
	mkdir -p "$T_ROOT/bad/.acpx"
	printf '%s\n' "$2" >"$T_ROOT/bad/.acpx/config.json"
	HOME="$T_ROOT/bad" run config show
	expect_rc 1 "$1"
	expect_err_has "$3" "$1: the message names the key"
}
bad_config "an unknown node" \
    '{"nodes": {"a": {"ssh": "h"}}, "agents": {"x": {"nodes": ["a", "zz"]}}}' \
    "Invalid config agents.x.nodes[1] in $T_ROOT/bad/.acpx/config.json: unknown node 'zz'"
bad_config "an empty list" \
    '{"nodes": {"a": {"ssh": "h"}}, "agents": {"x": {"nodes": []}}}' \
    "Invalid config agents.x.nodes in"
bad_config "a bad nodeConnectTimeout" \
    '{"nodes": {"a": {"ssh": "h"}}, "nodeConnectTimeout": 0}' \
    "Invalid config nodeConnectTimeout in"

# ---------------------------------------------------------------- exec
# A prompt with every shell metacharacter, quotes, a newline, a tab and
# non-ASCII.
META="echo it's \"quoted\" \$HOME \`id\` \$(id) ; | & > < * ? [a] {b,c} ~ # % ^ ! \\ \\\\
second line	tab héllo ✓ 日本"
run mocky exec "$META"
expect_rc 0 "exec of a node-bound agent"
case "$OUT" in *"it's \"quoted\" \$HOME \`id\` \$(id) ; | & > < * ? [a] {b,c} ~ # % ^ ! \\ \\\\
second line	tab héllo ✓ 日本"*) ok "its answer: the prompt arrived whole" ;;
*) not_ok "its answer: the prompt arrived whole" "$OUT" ;; esac
grep -q "tab héllo" "$N1/rec.ndjson" 2>/dev/null &&
    ok "the agent ran on n1 (the first node)" ||
    not_ok "the agent ran on n1 (the first node)" "$ERR"

# fs and terminal requests are served on the node, in its user's home;
# the permission request comes here.
run --deny-all tools exec go
expect_out_has "cwd $N1" "the session cwd is the node user's home"
expect_out_has '"optionId":"no"' "--deny-all here refuses the agent's permission request"
[ ! -e "$N1/written.txt" ] && ok "--deny-all: the node refused the write" ||
    not_ok "--deny-all: the node refused the write"
run --approve-all tools exec go
expect_rc 0 "the tools turn, --approve-all"
expect_out_has "from the agent" "the file was read back on the node"
expect_out_has '"optionId":"yes"' "the permission request was answered here"
[ "$(cat "$N1/written.txt" 2>/dev/null)" = "from the agent" ] &&
    [ "$(cat "$N1/term.txt" 2>/dev/null)" = "term-ran" ] &&
    ok "the file and the terminal's output are in the node's directory" ||
    not_ok "the file and the terminal's output are in the node's directory" \
    "$(ls "$N1")"
[ -z "$(find "$T_WORK" "$HOME" -name written.txt -o -name term.txt)" ] &&
    ok "and not here" || not_ok "and not here"

# ---------------------------------------------------------------- sessions
run mocky sessions new --name s1
expect_rc 0 "sessions new of a node-bound agent"
REC1=$(grep -l '"node": *"n1"' "$HOME"/.acpx/sessions/*.json 2>/dev/null)
[ -n "$REC1" ] && grep -q '"node_agent": *"mocky"' "$REC1" &&
    ok "the record (here) says the node" ||
    not_ok "the record (here) says the node" "$(cat "$HOME"/.acpx/sessions/*.json)"
run mocky prompt -s s1 "echo first prompt"
expect_out_has "first prompt" "a prompt to the session"
run mocky prompt -s s1 "echo second prompt"
expect_rc 0 "a second prompt"
expect_out_has "second prompt" "its answer"
grep -q "second prompt" "$N1/rec.ndjson" &&
    ok "the agent of the session runs on n1" ||
    not_ok "the agent of the session runs on n1"
[ -n "$(owners_of_home)" ] && ok "its queue owner runs here" ||
    not_ok "its queue owner runs here"

# The node goes away between the check and the start (its shared
# connection still answers the check; ssh then fails with its own 255):
# NODE_UNREACHABLE, not an agent that failed to start.
mkdir -p "$T_ROOT/fakessh"
cat >"$T_ROOT/fakessh/ssh" <<SH
#!/bin/sh
case "\$*" in *--on-node*)
	echo "Connection closed by 127.0.0.1 port 22" >&2; exit 255 ;; esac
PATH="$PATH" exec ssh "\$@"
SH
chmod +x "$T_ROOT/fakessh/ssh"
SAVED_PATH=$PATH PATH="$T_ROOT/fakessh:$PATH"
run mocky exec "echo never"
PATH=$SAVED_PATH
expect_rc 6 "ssh's 255 after the check: NODE_UNREACHABLE"
expect_err_has "Node 'n1' is unreachable: ssh exited 255 before the agent started: Connection closed by 127.0.0.1 port 22" \
    "the message names the node and what ssh said"

# Version skew: the node's acpx is checked once per connection before an
# agent starts there, and one too old (here not acpx-native) is refused,
# naming both versions.
run olda exec "echo never"
expect_rc 1 "a node whose acpx is not acpx-native"
expect_err_has "Node 'n1old' runs acpx 0.19.1, not acpx-native; --node needs acpx-native" \
    "the refusal names both versions"

# ---------------------------------------------------------------- warp serve
# A Warp id bound to n1 behind a local proxy: the node's proxy loads the
# node's secrets file (without its key and base URL it refuses to start).
run --agent "$ACPX warp serve opencode-warp-infini-kimi" exec \
    "echo through the local proxy"
expect_rc 0 "warp serve of a node-bound Warp id"
expect_out_has "through the local proxy" "its answer"
grep -q "through the local proxy" "$N1/rec.ndjson" &&
    ok "the harness ran on n1" || not_ok "the harness ran on n1"

# ---------------------------------------------------------------- pick
# The primary is cooling down here and the first agent of its chain is
# bound to n1: the pick starts that one on n1 with n1's secrets (this
# machine has only the primary's).
mkdir -p "$HOME/.acpx/warp" "$HOME/.openclaw"
printf 'WARP_COLD_API_KEY=sk-local-cold\nWARP_COLD_BASE_URL=http://127.0.0.1:9/v1\n' \
    >"$HOME/.openclaw/.env"
chmod 600 "$HOME/.openclaw/.env"
printf '%s\n' '{"version":1,"cooldowns":[{"provider":"cold","model":null,"until":"9999-12-31T23:59:59Z","since":"2026-01-01T00:00:00Z","reason":"auth"}]}' \
    >"$HOME/.acpx/warp/state.json"
run opencode-warp-cold-kimi exec "echo picked for n1"
expect_rc 0 "a cooling primary whose fallback is node-bound"
expect_out_has "picked for n1" "its answer"
expect_err_has "starting opencode-warp-infini-kimi" "the notice names the agent started"
grep -q "picked for n1" "$N1/rec.ndjson" &&
    ok "the picked agent ran on n1" || not_ok "the picked agent ran on n1" "$ERR"
rm -f "$HOME/.acpx/warp/state.json" "$HOME/.openclaw/.env"

# compare starts each node-bound agent on its node too.
run compare mocky opencode-warp-infini-kimi "echo compared on the node"
expect_rc 0 "compare of two node-bound agents"
[ "$(grep -c "compared on the node" "$N1/rec.ndjson")" -eq 2 ] &&
    ok "compare: both agents ran on n1" ||
    not_ok "compare: both agents ran on n1" "$OUT" "$ERR"

# --force-fail for a node-bound Warp id goes to its node's proxy, which
# resolves the provider there, not here.
run opencode-warp-infini-kimi exec --force-fail infini "echo forced"
expect_out_has "provider infini forced to fail (--force-fail)" \
    "--force-fail reached the node's proxy"

# So does a persistent session's: its queue owner (here) passes it to the
# node's proxy with the prompt. onlyn is a provider of the nodes' configs
# only: the node accepts it (the turn is not its, so it is not forced).
run opencode-warp-infini-kimi sessions new --name ff
run opencode-warp-infini-kimi prompt -s ff --force-fail onlyn "echo not forced"
expect_rc 0 "a session's --force-fail: the provider is the node's to resolve"
expect_out_has "not forced" "its turn ran"
run opencode-warp-infini-kimi prompt -s ff --force-fail infini "echo forced"
case "$OUT$ERR" in *"provider infini forced to fail (--force-fail)"*)
	ok "a session's --force-fail reached the node's proxy" ;;
*) not_ok "a session's --force-fail reached the node's proxy" "$OUT" "$ERR" ;; esac
run opencode-warp-infini-kimi sessions close ff

# A provider failure of a node-bound Warp id is the node's proxy's to
# follow (its secrets, its chain, its cooldowns): exec puts no fallback
# of this machine around it, so nothing is recorded here even where this
# machine's patterns would call the proxy's answer a provider failure.
cp "$HOME/.acpx/config.json" "$T_ROOT/config.saved"
sed -i 's|"warp": {"providers": {"cold"|"warp": {"providerErrorPatterns": ["no agent of its fallback chain is left"], "providers": {"cold"|' \
    "$HOME/.acpx/config.json"
sed -i "s|\"opencode\": {\"command\": \"$MOCK --record $N1/rec.ndjson\"}|\"opencode\": {\"command\": \"$MOCK --scenario $SCENARIOS/fallback-provider.json\"}|" \
    "$N1/.acpx/config.json"
run opencode-warp-infini-kimi exec "echo provider fails"
sed -i "s|\"opencode\": {\"command\": \"$MOCK --scenario $SCENARIOS/fallback-provider.json\"}|\"opencode\": {\"command\": \"$MOCK --record $N1/rec.ndjson\"}|" \
    "$N1/.acpx/config.json"
cp "$T_ROOT/config.saved" "$HOME/.acpx/config.json"
grep -q '"provider": *"infini"' "$N1/.acpx/warp/state.json" 2>/dev/null &&
    ok "the node's proxy recorded the provider's cooldown there" ||
    not_ok "the node's proxy recorded the provider's cooldown there" \
    "$(cat "$N1/.acpx/warp/state.json" 2>&1)" "$ERR"
[ ! -e "$HOME/.acpx/warp/state.json" ] &&
    ok "and nothing here (no local fallback around the node's proxy)" ||
    not_ok "and nothing here (no local fallback around the node's proxy)" \
    "$(cat "$HOME/.acpx/warp/state.json")" "$OUT" "$ERR"
rm -f "$N1/.acpx/warp/state.json" "$HOME/.acpx/warp/state.json"

# A hop of a chain that starts here to a node-bound Warp id: the node's
# proxy gets the client's permission flags (n1w logs its acpx's words).
P="$T_ROOT/proj"
mkdir -p "$P"
printf 'WARP_LOC_API_KEY=k-loc\nWARP_LOC_BASE_URL=http://127.0.0.1:9/v1\nWARP_INFINI_API_KEY=k-here\nWARP_INFINI_BASE_URL=http://127.0.0.1:9/v1\n' >"$T_ROOT/here.env"
chmod 600 "$T_ROOT/here.env"
cat >"$P/.acpxrc.json" <<CFG
{"agents": {"opencode": {"command": "$MOCK"},
  "opencode-warp-infini-kimi": {"nodes": ["n1w"]}},
 "warp": {"providers": {"loc": {"models": {"kimi": "kimi-k2.5"}},
   "infini": {"models": {"kimi": "kimi-k2.5"}}},
  "fallback": {"opencode-warp-loc-kimi": ["opencode-warp-infini-kimi"]}}}
CFG
export ACPX_WARP_ENV_FILE="$T_ROOT/here.env"
run --cwd "$P" --deny-all opencode-warp-loc-kimi exec --force-fail loc "echo hopped"
unset ACPX_WARP_ENV_FILE
expect_rc 0 "a hop from here to a node-bound Warp id"
expect_out_has "hopped" "the node's agent answered"
grep -q -- "--deny-all --non-interactive-permissions deny warp serve --on-node opencode-warp-infini-kimi$" \
    "$T_ROOT/n1w.args" && ok "the hop's proxy got --deny-all" ||
    not_ok "the hop's proxy got --deny-all" "$(cat "$T_ROOT/n1w.args")"

# ---------------------------------------------------------------- failover
CTL="/tmp/acpx-$(printf %s "$HOME" | sha256sum | cut -c1-10)/n-n1"
ssh_stop_node n1
i=0	# n1's shared connection notices (its master exits)
while [ -e "$CTL" ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
run mocky exec "echo after n1 went away"
expect_rc 0 "exec with n1 down"
expect_out_has "after n1 went away" "n2 answered"
expect_err_has "[acpx] node n1: Node 'n1' (ssh n1) is unreachable" \
    "a notice names the node that is down"
[ "$(printf %s "$ERR" | grep -c .)" -eq 1 ] && ok "one line" ||
    not_ok "one line" "$ERR"
grep -q "after n1 went away" "$N2/rec.ndjson" &&
    ok "the agent ran on n2" || not_ok "the agent ran on n2"
grep -q '"n1":{"cause":' "$HOME/.acpx/nodes-down.json" 2>/dev/null &&
    ok "n1 is marked down" || not_ok "n1 is marked down" \
    "$(cat "$HOME/.acpx/nodes-down.json")"

# The session stays on n1: NODE_UNREACHABLE, its record kept.
SUM=$(sha256sum "$REC1")
run mocky prompt -s s1 "echo third prompt"
expect_rc 6 "a prompt to the session on the stopped node"
OUT="$OUT$ERR"; expect_out_has "Node 'n1' (ssh n1) is unreachable" \
    "NODE_UNREACHABLE names the node"
grep -q '"node": *"n1"' "$REC1" && ok "the record still names n1" ||
    not_ok "the record still names n1"
stop_owner
wait_owners_gone

# A node that accepts but never answers (its sshd stopped with SIGSTOP),
# its shared connection closed: no answer within nodeConnectTimeout.
CTL2="/tmp/acpx-$(printf %s "$HOME" | sha256sum | cut -c1-10)/n-n2"
ssh -F "$SSH_CONFIG" -o ControlPath="$CTL2" -O exit n2 >/dev/null 2>&1
i=0
while [ -e "$CTL2" ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
kill -STOP "$(ssh_node_pid n2)"
sed -i 's/"nodeConnectTimeout": 300/"nodeConnectTimeout": 1/' "$HOME/.acpx/config.json"
run mocky exec "echo nobody"
kill -CONT "$(ssh_node_pid n2)"
expect_rc 6 "every node down: NODE_UNREACHABLE"
expect_err_has "[acpx] node n2: Node 'n2' (ssh n2) is unreachable" \
    "n2 (not marked down, so first) did not answer"
case "$OUT$ERR" in *"within 1 seconds (nodeConnectTimeout)"*|*"timed out"*)
	ok "within nodeConnectTimeout" ;;
*) not_ok "within nodeConnectTimeout" "$OUT" "$ERR" ;; esac

# ---------------------------------------------------------------- secrets
if grep -r -a -l -e "$SECRET1" -e "$SECRET2" "$HOME" "$T_ROOT/out" \
    "$T_ROOT/err" "$T_WORK" /tmp/acpx-"$(printf %s "$HOME" | sha256sum |
    cut -c1-10)" 2>/dev/null | grep -q .; then
	not_ok "no node secret on the control machine"
else
	ok "no node secret on the control machine"
fi

done_testing
