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
printf 'WARP_INFINI_API_KEY=%s\n' "$SECRET1" >"$N1/.openclaw/.env"
printf 'WARP_INFINI_API_KEY=%s\n' "$SECRET2" >"$N2/.openclaw/.env"
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
  "tools": {"command": "$MOCK --scenario $T_ROOT/tools.json"}},
 "warp": {"providers": {"infini": {"models": {"kimi": "kimi-k2.5"}}},
  "hostDefaults": {"n$n": {"opencode": {"model": "model-of-n$n"}}}}}
CFG
done
node() {	# NAME HOST
	printf '"%s": {"ssh": "%s", "acpx": "%s", "sshOptions": ["-F", "%s"]}' \
	    "$1" "$2" "$ACPX" "$SSH_CONFIG"
}
cat >"$HOME/.acpx/config.json" <<CFG
{"nodes": {$(node n1 n1), $(node n2 n2)},
 "nodeConnectTimeout": 5,
 "agents": {"mocky": {"nodes": ["n1", "n2"]}, "tools": {"nodes": ["n1"]}}}
CFG

# ---------------------------------------------------------------- config
run --format json config show
expect_out_has '"mocky":{"nodes":["n1","n2"]}' "config show: the agent's nodes"
expect_out_has '"nodeConnectTimeout":5' "config show: nodeConnectTimeout"
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
bad_config "not strings" \
    '{"nodes": {"a": {"ssh": "h"}}, "agents": {"x": {"nodes": [1]}}}' \
    "Invalid config agents.x.nodes[0] in"
bad_config "a bad nodeConnectTimeout" \
    '{"nodes": {"a": {"ssh": "h"}}, "nodeConnectTimeout": 0}' \
    "Invalid config nodeConnectTimeout in"

# ---------------------------------------------------------------- exec
run mocky exec "echo hello from afar"
expect_rc 0 "exec of a node-bound agent"
expect_out_has "hello from afar" "its answer"
grep -q "hello from afar" "$N1/rec.ndjson" 2>/dev/null &&
    ok "the agent ran on n1 (the first node)" ||
    not_ok "the agent ran on n1 (the first node)" "$ERR"

done_testing
