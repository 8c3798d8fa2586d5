#!/bin/sh
# acpx warp serve: acpx as an ACP agent in front of a harness. Driven by
# our own client (--agent "acpx warp serve <id>", exec and persistent
# sessions) and by raw NDJSON on a FIFO; the harness is the mock agent
# behind a fake harness script (the pinned model picks the scenario, as
# in fallback-session.sh) and, for fallback over HTTP, the fake provider.
# Covers: transparency (same output as the harness driven directly),
# permission/fs/terminal forwarding, fallback mid-turn on a 429 with the
# summary reaching the next provider, the session map (load after a proxy
# restart, upstream load or a new session with the summary), cancel
# during a hop, bad input, no orphans after EOF/TERM/KILL, secrets.
. "$TESTS_SRCDIR/regress/lib.sh"
[ -x "$MOCK" ] || skip_all "mock agent not built"
FAKE=$(dirname "$ACPX")/tests/fake-provider/fake-provider
[ -x "$FAKE" ] || skip_all "fake provider not built"
warp_env_clean
unset MOCK_SCENARIO MOCK_RECORD
SENTINEL="sk-SENTINEL-ws1ws2ws3ws4"
SENTINEL_B="sk-SENTINEL-wsBwsBwsBwsB"
FROM=opencode-warp-infini-kimi
BACKUP=opencode-warp-backup-glm
ARROW=$(printf '\342\206\222')


# The fake harness: the pinned model picks the scenario, the record file
# and the session id; it notes its start (and whether it got the right
# key, never the key) and its pid; HOLD_<m> (a path) holds its start
# until that file exists.
cat >"$T_ROOT/harness.sh" <<'EOH'
#!/bin/sh
case "${OPENCODE_CONFIG_CONTENT:-}" in
*'"model":"warp-infini/kimi-k2.5"'*) m=kimi; sc=$SC_KIMI; want=$WANT_KEY ;;
*'"model":"warp-backup/glm-5"'*) m=backup; sc=$SC_BACKUP; want=$WANT_KEY_B ;;
*) m=plain; sc=$SC_PLAIN; want=none ;;
esac
k=wrong
case $m in
backup) [ "${WARP_BACKUP_API_KEY:-}" = "$want" ] && k=match ;;
kimi) [ "${WARP_INFINI_API_KEY:-}" = "$want" ] && k=match ;;
plain) k=none ;;
esac
echo "$m key=$k" >>"$REC_DIR/starts"
echo $$ >"$REC_DIR/$m.pid"
eval "hold=\${HOLD_$m:-}"
if [ -n "$hold" ]; then
	while [ ! -e "$hold" ]; do sleep 0.05; done
fi
load=--supports-load-session
[ -n "${NO_LOAD:-}" ] && load=
exec "$MOCK" --scenario "$sc" --record "$REC_DIR/$m" --session-id "$m-session" $load
EOH
chmod +x "$T_ROOT/harness.sh"
export REC_DIR="$T_ROOT/rec" MOCK WANT_KEY="$SENTINEL" WANT_KEY_B="$SENTINEL_B"
mkdir -p "$REC_DIR" "$T_ROOT/secrets" "$HOME/.acpx"
SECRETS="$T_ROOT/secrets/warp.env"
write_secrets() {	# INFINI-BASE-URL BACKUP-BASE-URL
	printf 'WARP_INFINI_API_KEY=%s\nWARP_INFINI_BASE_URL=%s\n' "$SENTINEL" "$1" >"$SECRETS"
	printf 'WARP_BACKUP_API_KEY=%s\nWARP_BACKUP_BASE_URL=%s\n' "$SENTINEL_B" "$2" >>"$SECRETS"
	chmod 600 "$SECRETS"
}
write_secrets "http://127.0.0.1:9/v1" "http://127.0.0.1:9/v1"
cat >"$HOME/.acpx/config.json" <<EOC
{
  "agents": {
    "opencode": {"command": "$T_ROOT/harness.sh"},
    "plain": {"command": "$T_ROOT/harness.sh"}
  },
  "warp": {
    "envFile": "$SECRETS",
    "providers": {
      "infini": {"models": {"kimi": "kimi-k2.5"}},
      "backup": {"models": {"glm": "glm-5"}}
    },
    "fallback": {"$FROM": ["$BACKUP"]},
    "maxHops": 3,
    "stallSeconds": STALL,
    "cooldownSeconds": 600
  }
}
EOC
# stall SECONDS: warp.stallSeconds (0: off)
stall() { sed -i "s/\"stallSeconds\": [0-9A-Z]*/\"stallSeconds\": $1/" "$HOME/.acpx/config.json"; }
stall 0
STATE="$HOME/.acpx/warp/state.json"
MAP="$HOME/.acpx/warp/sessions"
ALL="$T_ROOT/all"
: >"$ALL"
keep() { printf '%s\n%s\n' "$OUT" "$ERR" >>"$ALL"; }
# alive PID: running, not a zombie (one read of its state: a process reaped
# between two looks must not count as alive)
alive() {
	a_st=$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$1/status" 2>/dev/null)
	[ -n "$a_st" ] && [ "$a_st" != Z ]
}
# Processes of this test still running (the mock's argv names its record).
marked() { pgrep -f -- "$REC_DIR/" 2>/dev/null | tr '\n' ' '; }
stop_owners() {
	for l in "$HOME"/.acpx/queues/*.lock; do
		[ -f "$l" ] || continue
		p=$(sed -n 's/^  "pid": \([0-9]*\),$/\1/p' "$l")
		[ -n "$p" ] && kill "$p" 2>/dev/null
	done
	poll '[ -z "$(lease)" ]'
}
reset() { stop_owners; poll '[ -z "$(marked)" ]'; rm -rf "$REC_DIR"/* "$STATE" "$MAP"; }
first_prompt() { grep '"method":"session/prompt"' "$REC_DIR/$1" 2>/dev/null | head -n 1; }
starts() { c=$(grep -c "^$1 key=" "$REC_DIR/starts" 2>/dev/null); echo "${c:-0}"; }
SERVE="$ACPX warp serve"

# ------------------------------------------------------------ raw driver
# serve_start ARGS...: the proxy reading a FIFO (fd 3 writes to it);
# S_PID (the process the client started: the keeper), S_OUT, S_ERR.
S_N=0
serve_start() {
	S_N=$((S_N + 1))
	S_IN="$T_ROOT/in.$S_N" S_OUT="$T_ROOT/sout.$S_N" S_ERR="$T_ROOT/serr.$S_N"
	mkfifo "$S_IN"
	: >"$S_OUT"
	( cd "$T_WORK" && exec "$ACPX" "$@" <"$S_IN" >"$S_OUT" 2>"$S_ERR" ) &
	S_PID=$!
	track_pid $S_PID
	exec 3>"$S_IN"
}
send() { ( trap '' PIPE; printf '%s\n' "$1" >&3 ) 2>/dev/null; }
# got PATTERN: the proxy wrote a line with this fixed string (waits).
got() { G_PAT=$1; poll 'grep -qF -- "$G_PAT" "$S_OUT"'; }
# serve_end: close stdin, wait for the exit status in S_RC.
serve_end() { exec 3>&-; wait $S_PID; S_RC=$?; cat "$S_OUT" "$S_ERR" >>"$ALL"; }
INIT='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":1,"clientCapabilities":{"fs":{"readTextFile":true,"writeTextFile":true},"terminal":true}}}'
NEW='{"jsonrpc":"2.0","id":2,"method":"session/new","params":{"cwd":"'"$T_WORK"'","mcpServers":[]}}'
sid_of() { sed -n 's/.*"id":2,"result":{.*"sessionId":"\([^"]*\)".*/\1/p' "$S_OUT" | head -n 1; }

# ============================================================ transparency
# The same turn through the proxy and with the harness driven directly.
export SC_PLAIN="$SCENARIOS/rich.json"
run --approve-all --agent "$T_ROOT/harness.sh" exec "hi"
D_OUT=$OUT D_RC=$RC
run --approve-all --agent "$SERVE plain" exec "hi"
keep
expect_rc "$D_RC" "exec through the proxy: the harness's exit status"
expect_out "$D_OUT" "exec through the proxy: the same text output as direct"
for sc in permission-write fs-read fs-write terminal; do
	export SC_PLAIN="$SCENARIOS/$sc.json"
	printf 'note one\n' >"$T_WORK/notes.txt"
	rm -f "$T_WORK/out.txt"
	run --approve-all --format json --agent "$T_ROOT/harness.sh" exec "go"
	D_OUT=$(printf '%s\n' "$OUT" | grep -E 'agent_message_chunk' | sed 's/"sessionId":"[^"]*"//')
	D_FILE=$(cat "$T_WORK/out.txt" 2>/dev/null)
	rm -f "$T_WORK/out.txt"
	run --approve-all --format json --agent "$SERVE plain" exec "go"
	keep
	P_OUT=$(printf '%s\n' "$OUT" | grep -E 'agent_message_chunk' | sed 's/"sessionId":"[^"]*"//')
	if [ -n "$D_OUT" ] && [ "$P_OUT" = "$D_OUT" ]; then ok "$sc: forwarded to the client and answered as direct"
	else not_ok "$sc: forwarded to the client and answered as direct" "direct: $D_OUT" "proxy: $P_OUT" "$ERR"; fi
	if [ "$sc" = fs-write ]; then
		[ "$(cat "$T_WORK/out.txt" 2>/dev/null)" = "$D_FILE" ] && [ -n "$D_FILE" ] &&
		    ok "fs-write: the client wrote the file" || not_ok "fs-write: the client wrote the file" "$(ls "$T_WORK")"
	fi
done
export SC_PLAIN="$SCENARIOS/permission-write.json"
run --deny-all --format json --agent "$SERVE plain" exec "go"
keep
expect_out_has '"sessionUpdate":"agent_message_chunk"' "a denied permission: the turn goes on"
case "$OUT" in *'"method":"session/request_permission"'*) ok "permission request reaches the client" ;;
*) not_ok "permission request reaches the client" "$OUT" ;; esac

# ------------------------------------------------------------ raw: initialize
export SC_PLAIN="$SCENARIOS/hello.json"
serve_start warp serve plain
send "$INIT"
got '"id":1,'
case "$(cat "$S_OUT")" in
*'"id":1,"result":{'*'"loadSession":true'*'"sessionCapabilities":{"resume":{}}'*'"agentInfo":{"name":"acpx","title":"acpx warp serve plain (mock-agent)"'*)
	ok "initialize: the harness's capabilities with loadSession and resume; agentInfo names acpx and the harness" ;;
*) not_ok "initialize answer" "$(cat "$S_OUT")" ;; esac
case "$(head -n 1 "$REC_DIR/plain")" in
*'"clientCapabilities":{"fs":{"readTextFile":true,"writeTextFile":true},"terminal":true}'*)
	ok "initialize: the harness gets the client's own capabilities" ;;
*) not_ok "initialize: the client's capabilities" "$(head -n 1 "$REC_DIR/plain")" ;; esac
send "$NEW"
got '"id":2,'
SID=$(sid_of)
case "$SID" in ????????-????-4???-????-????????????) ok "session/new: a session id of the proxy's own ($SID)" ;;
*) not_ok "session/new: our session id" "$(cat "$S_OUT")" ;; esac
[ -f "$MAP/$SID.json" ] && grep -q '"upstreamSessionId": "plain-session"' "$MAP/$SID.json" &&
    ok "session/new: the map file names the upstream session" || not_ok "the map file" "$(cat "$MAP/$SID.json" 2>&1)"
send '{"jsonrpc":"2.0","id":3,"method":"session/prompt","params":{"sessionId":"'"$SID"'","prompt":[{"type":"text","text":"hi"}]}}'
got '"id":3,'
grep -q '"method":"session/update","params":{"sessionId":"'"$SID"'","update":{"sessionUpdate":"agent_message_chunk"' "$S_OUT" &&
    ok "updates stream under the client's session id" || not_ok "updates under the client's id" "$(cat "$S_OUT")"
grep -q '"id":3,"result":{"stopReason":"end_turn"}' "$S_OUT" && ok "the prompt's answer" || not_ok "the prompt's answer" "$(cat "$S_OUT")"
grep -q '"method":"session/prompt".*"sessionId":"plain-session"' "$REC_DIR/plain" &&
    ok "the harness gets its own session id" || not_ok "the harness's session id" "$(cat "$REC_DIR/plain")"
send '{"jsonrpc":"2.0","id":4,"method":"_vendor/thing","params":{"x":1}}'
got '"id":4,'
grep -q '"id":4,"error":{"code":-32601' "$S_OUT" && grep -q '"method":"_vendor/thing"' "$REC_DIR/plain" &&
    ok "an extension method is forwarded; the harness's answer comes back" || not_ok "extension method" "$(cat "$S_OUT")"
HPID=$(cat "$REC_DIR/plain.pid")
serve_end
[ "$S_RC" -eq 0 ] && ok "stdin EOF: the proxy exits 0" || not_ok "stdin EOF: exit 0" "rc $S_RC" "$(cat "$S_ERR")"
! alive "$HPID" && ok "stdin EOF: the harness is gone" || not_ok "stdin EOF: the harness is gone" "$HPID runs"
tail -n 1 "$REC_DIR/plain" | grep -q '"_mock":"eof"' && ok "stdin EOF: the harness got EOF first" ||
    not_ok "the harness got EOF" "$(tail -n 2 "$REC_DIR/plain")"

# ============================================================ fallback over HTTP
# start_fake FILE: a fake provider recording into FILE (outside HOME).
start_fake() {
	fake_provider_start "$1" --lifetime 120
}
export SC_KIMI="$SCENARIOS/fallback-provider.json" SC_BACKUP="$SCENARIOS/fallback-provider-ok.json"
reset
start_fake "$T_ROOT/provider.rec"
write_secrets "http://127.0.0.1:$PORT/flaky/v1" "http://127.0.0.1:$PORT/ok/v1"
run --approve-all --agent "$SERVE $FROM" exec "ask the model"
keep
expect_rc 0 "fallback: a 429 midway; the client's one prompt succeeds"
expect_out_has "[fallback] $FROM $ARROW $BACKUP (rate-limited)" "fallback: the hop is a thought chunk the client shows"
expect_out_has "fake answer from the fallback" "fallback: the fallback's answer streams to the client"
case "$(sed -n 3p "$T_ROOT/provider.rec")" in
*'"path":"/ok/v1/chat/completions"'*'"authorization":"Bearer '"$SENTINEL_B"'"'*'"model":"glm-5"'*)
	ok "fallback: the next agent called its own provider with its key and model" ;;
*) not_ok "fallback: the next agent's provider call" "$(cat "$T_ROOT/provider.rec")" ;; esac
P=$(first_prompt backup)
case "$P" in
*'## Completed steps\n- Write plan.md (edit)\n'*"plan.md"*'Rate limit reached'*'"text":"ask the model"}]'*)
	ok "fallback: the summary and the original prompt reach the next agent" ;;
*) not_ok "fallback: the summary reaches the next agent" "got: $P" ;; esac
grep -q '"provider": *"infini"' "$STATE" && grep -q '"reason": *"rate-limited"' "$STATE" &&
    ok "fallback: cooldown of infini recorded" || not_ok "fallback: cooldown recorded" "$(cat "$STATE" 2>&1)"
[ "$(starts kimi)" = 1 ] && [ "$(starts backup)" = 1 ] && grep -q "backup key=match" "$REC_DIR/starts" &&
    ok "fallback: each harness started once, with its own key" || not_ok "fallback: starts" "$(cat "$REC_DIR/starts")"
M=$(ls "$MAP"/*.json 2>/dev/null | head -n 1)
grep -q '"serving": "'"$BACKUP"'"' "$M" 2>/dev/null && grep -q '"type": "fallback"' "$M" &&
    ok "fallback: the map names the serving agent and the routing history" || not_ok "fallback: the map" "$(cat "$M" 2>&1)"

reset
start_fake "$T_ROOT/provider2.rec"
write_secrets "http://127.0.0.1:$PORT/flaky/v1" "http://127.0.0.1:$PORT/ok/v1"
run --approve-all --format json --agent "$SERVE $FROM" exec "ask the model"
keep
expect_rc 0 "fallback json: exit 0"
N=$(printf '%s\n' "$OUT" | grep -c '"method":"_acpx/fallback","params":{"from":"'"$FROM"'","to":"'"$BACKUP"'","reason":"rate-limited","summary":"\[acpx fallback\]')
[ "$N" -eq 1 ] && ok "fallback json: one _acpx/fallback notification" || not_ok "fallback json: _acpx/fallback" "$OUT"
N=$(printf '%s\n' "$OUT" | grep -c '"result":{"stopReason"')
[ "$N" -eq 1 ] && ok "fallback json: one answer to the one prompt" || not_ok "fallback json: one answer" "$OUT"
CSID=$(printf '%s\n' "$OUT" | sed -n 's/.*"result":{"sessionId":"\([^"]*\)".*/\1/p' | head -n 1)
printf '%s\n' "$OUT" | grep '"_acpx/fallback"' | grep -q '"sessionId":"'"$CSID"'"' &&
    ok "fallback json: the notification names the client's session" || not_ok "fallback json: sessionId" "$CSID" "$OUT"
printf '%s\n' "$OUT" | grep -q '"sessionUpdate":"config_option_update","configOptions":\[{"id":"model"' &&
    ok "fallback json: config_option_update after the hop" || not_ok "fallback json: config_option_update" "$OUT"
printf '%s\n' "$OUT" | grep '"sessionUpdate"' | grep -v "\"sessionId\":\"$CSID\"" | grep -q . &&
    not_ok "fallback json: every update under the client's session id" "$OUT" ||
    ok "fallback json: every update under the client's session id"

# exhausted: both providers fail
reset
start_fake "$T_ROOT/provider3.rec"
write_secrets "http://127.0.0.1:$PORT/ratelimit/v1" "http://127.0.0.1:$PORT/ratelimit/v1"
export SC_BACKUP="$SCENARIOS/fallback-provider.json"
serve_start warp serve $FROM
send "$INIT"; send "$NEW"; got '"id":2,'
SID=$(sid_of)
send '{"jsonrpc":"2.0","id":3,"method":"session/prompt","params":{"sessionId":"'"$SID"'","prompt":[{"type":"text","text":"go"}]}}'
got '"id":3,'
grep '"id":3,' "$S_OUT" | grep -q '"error":{"code":-32603,.*"detailCode":"WARP_FALLBACK_EXHAUSTED".*"routingHistory":\[{"type":"fallback","from":"'"$FROM"'","to":"'"$BACKUP"'"' &&
    ok "exhausted chain: a JSON-RPC error with WARP_FALLBACK_EXHAUSTED and the routing history" ||
    not_ok "exhausted chain error" "$(cat "$S_OUT")"
serve_end
export SC_BACKUP="$SCENARIOS/fallback-provider-ok.json"

# mode/config choices are replayed on the next agent where it offers them
reset
start_fake "$T_ROOT/provider6.rec"
write_secrets "http://127.0.0.1:$PORT/flaky/v1" "http://127.0.0.1:$PORT/ok/v1"
serve_start warp serve $FROM
send "$INIT"; send "$NEW"; got '"id":2,'
SID=$(sid_of)
send '{"jsonrpc":"2.0","id":5,"method":"session/set_config_option","params":{"sessionId":"'"$SID"'","configId":"mode","value":"plan"}}'
got '"id":5,'
send '{"jsonrpc":"2.0","id":3,"method":"session/prompt","params":{"sessionId":"'"$SID"'","prompt":[{"type":"text","text":"ask the model"}]}}'
got '"id":3,'
grep -q '"method":"session/set_config_option","params":{"sessionId":"backup-session","configId":"mode","value":"plan"}' "$REC_DIR/backup" &&
    ok "a hop replays the client's config choice on the next agent" || not_ok "config choice replayed" "$(cat "$REC_DIR/backup")"
grep '"config_option_update"' "$S_OUT" | grep -q '"id":"mode"[^]]*"currentValue":"plan"' &&
    ok "the client is told the serving agent's config (config_option_update)" || not_ok "config_option_update after the replay" "$(grep config_option_update "$S_OUT")"
grep -q '"id":3,"result":{"stopReason":"end_turn"}' "$S_OUT" && ok "the prompt ends on the next agent" ||
    not_ok "the prompt after the replay" "$(cat "$S_OUT")"
serve_end

# ... and a mode chosen with session/set_mode, on a next agent that offers
# modes: set_mode replayed there, current_mode_update to the client.
reset
start_fake "$T_ROOT/provider7.rec"
write_secrets "http://127.0.0.1:$PORT/flaky/v1" "http://127.0.0.1:$PORT/ok/v1"
export SC_BACKUP="$SCENARIOS/fallback-provider-modes.json"
serve_start warp serve $FROM
send "$INIT"; send "$NEW"; got '"id":2,'
SID=$(sid_of)
send '{"jsonrpc":"2.0","id":5,"method":"session/set_mode","params":{"sessionId":"'"$SID"'","modeId":"plan"}}'
got '"id":5,'
send '{"jsonrpc":"2.0","id":3,"method":"session/prompt","params":{"sessionId":"'"$SID"'","prompt":[{"type":"text","text":"ask the model"}]}}'
got '"id":3,'
grep -q '"method":"session/set_mode","params":{"sessionId":"backup-session","modeId":"plan"}' "$REC_DIR/backup" &&
    ok "a hop replays the client's mode on the next agent" || not_ok "mode replayed" "$(cat "$REC_DIR/backup")"
grep '"current_mode_update"' "$S_OUT" | grep -q "\"sessionId\":\"$SID\".*\"currentModeId\":\"plan\"" &&
    ok "the client is told the serving agent's mode (current_mode_update)" ||
    not_ok "current_mode_update after the replay" "$(grep current_mode_update "$S_OUT")"
grep -q '"id":3,"result":{"stopReason":"end_turn"}' "$S_OUT" && ok "the prompt ends on the next agent (mode)" ||
    not_ok "the prompt after the mode replay" "$(cat "$S_OUT")"
serve_end
export SC_BACKUP="$SCENARIOS/fallback-provider-ok.json"

# the stall rule: a harness that goes silent mid-turn (and ignores the
# cancel) is stopped and the prompt goes on on the next agent
reset
start_fake "$T_ROOT/provider7.rec"
write_secrets "http://127.0.0.1:$PORT/ok/v1" "http://127.0.0.1:$PORT/ok/v1"
export SC_KIMI="$SCENARIOS/never-answers.json"
stall 1
run --approve-all --agent "$SERVE $FROM" exec "ask the model"
keep
stall 0
export SC_KIMI="$SCENARIOS/fallback-provider.json"
expect_rc 0 "stall: a silent harness is left for the next agent"
expect_out_has "[fallback] $FROM $ARROW $BACKUP (stalled)" "stall: the hop names the stall"
expect_out_has "fake answer from the fallback" "stall: the next agent answers"

# ============================================================ sessions
# A persistent session through the proxy; the owner (and with it the
# proxy) is stopped between prompts: the next proxy finds the session in
# its map and reopens the upstream session (load) or, for a harness that
# cannot load, opens a new one with the summary of the session so far.
export SC_PLAIN="$SCENARIOS/hello.json"
reset
run --approve-all --agent "$SERVE plain" sessions new --name s1
keep
expect_rc 0 "sessions new through the proxy"
run --approve-all --agent "$SERVE plain" prompt -s s1 "first task"
keep
expect_out_has "hello world" "first prompt"
stop_owners
run --approve-all --agent "$SERVE plain" prompt -s s1 "second task"
keep
expect_out_has "hello world" "a prompt after the proxy restarted"
N=$(grep -c '"method":"session/load","params":{"sessionId":"plain-session"' "$REC_DIR/plain")
[ "$N" -ge 1 ] && ok "after a restart the upstream session is loaded (session/load plain-session)" ||
    not_ok "upstream session/load after a restart" "$(grep -o '"method":"[^"]*"' "$REC_DIR/plain" | tr '\n' ' ')"
N=$(grep -c '"method":"session/new"' "$REC_DIR/plain")
[ "$N" -eq 1 ] && ok "after a restart no new upstream session" || not_ok "one upstream session/new" "$N"
stop_owners

reset
export NO_LOAD=1
run --approve-all --agent "$SERVE plain" sessions new --name s2
run --approve-all --agent "$SERVE plain" prompt -s s2 "remember the blue door"
keep
stop_owners
run --approve-all --agent "$SERVE plain" prompt -s s2 "second task"
keep
expect_out_has "hello world" "no upstream load: the prompt after a restart works"
P=$(grep '"method":"session/prompt"' "$REC_DIR/plain" | tail -n 1)
case "$P" in
*'[acpx] This session continues on a new agent session'*'remember the blue door'*'"text":"second task"'*)
	ok "no upstream load: a new upstream session gets the summary of the session so far" ;;
*) not_ok "no upstream load: the summary before the prompt" "$P" ;; esac
stop_owners
unset NO_LOAD

# ============================================================ cancel during a hop
# The next agent's harness is held at its start; the cancel arrives then.
reset
start_fake "$T_ROOT/provider4.rec"
write_secrets "http://127.0.0.1:$PORT/flaky/v1" "http://127.0.0.1:$PORT/ok/v1"
export HOLD_backup="$T_ROOT/go"
rm -f "$T_ROOT/go"
serve_start warp serve $FROM
send "$INIT"; send "$NEW"; got '"id":2,'
SID=$(sid_of)
send '{"jsonrpc":"2.0","id":3,"method":"session/prompt","params":{"sessionId":"'"$SID"'","prompt":[{"type":"text","text":"ask the model"}]}}'
poll '[ "$(starts backup)" = 1 ]'
got '"method":"_acpx/fallback"'
send '{"jsonrpc":"2.0","method":"session/cancel","params":{"sessionId":"'"$SID"'"}}'
got '"id":3,'
grep -q '"id":3,"result":{"stopReason":"cancelled"}' "$S_OUT" &&
    ok "cancel during a hop: the prompt ends cancelled" || not_ok "cancel during a hop" "$(cat "$S_OUT")"
touch "$T_ROOT/go"
send '{"jsonrpc":"2.0","id":4,"method":"session/prompt","params":{"sessionId":"'"$SID"'","prompt":[{"type":"text","text":"after cancel"}]}}'
got '"id":4,'
grep -q '"id":4,"result":{"stopReason":"end_turn"}' "$S_OUT" &&
    ok "cancel during a hop: the session goes on with the serving agent" || not_ok "after the cancelled hop" "$(cat "$S_OUT")"
N=$(grep -c '"method":"session/prompt"' "$REC_DIR/backup")
case "$N:$(first_prompt backup)" in
1:*'"text":"after cancel"'*) ok "cancel during a hop: the cancelled prompt never reached the next agent" ;;
*) not_ok "cancel during a hop: no further hop" "$N prompts" "$(first_prompt backup)" ;; esac
serve_end
unset HOLD_backup
[ "$S_RC" -eq 0 ] && ok "cancel during a hop: the proxy exits 0 at EOF" || not_ok "exit after the hop" "$S_RC"

# ============================================================ bad input
reset
export SC_PLAIN="$SCENARIOS/wait-cancel.json"
serve_start warp serve plain
send '{"jsonrpc":"2.0","id":7,"method":"session/new","params":{"cwd":"/","mcpServers":[]}}'
got '"id":7,'
grep -q '"id":7,"error":{"code":-32600,.*not initialized' "$S_OUT" &&
    ok "a request before initialize: a JSON-RPC error" || not_ok "request before initialize" "$(cat "$S_OUT")"
send 'this is { not json'
got '"code":-32700'
grep -q '"id":null,"error":{"code":-32700' "$S_OUT" && ok "malformed JSON: a parse error (id null)" ||
    not_ok "malformed JSON" "$(cat "$S_OUT")"
send '[1,2]'
got '"id":null,"error":{"code":-32600'
ok "a message that is not an object: an invalid request error (id null)"
send "$INIT"; send "$NEW"; got '"id":2,'
SID=$(sid_of)
send '{"jsonrpc":"2.0","id":8,"method":"session/prompt","params":{"sessionId":"nope","prompt":[{"type":"text","text":"x"}]}}'
got '"id":8,'
grep -q '"id":8,"error":{"code":-32002' "$S_OUT" && ok "a prompt for an unknown session: resource not found" ||
    not_ok "prompt for an unknown session" "$(cat "$S_OUT")"
send '{"jsonrpc":"2.0","id":3,"method":"session/prompt","params":{"sessionId":"'"$SID"'","prompt":[{"type":"text","text":"x"}]}}'
got '"text":"working"'
send '{"jsonrpc":"2.0","id":3,"method":"session/list","params":{}}'
got 'duplicate request id'
grep -q '"id":3,"error":{"code":-32600' "$S_OUT" && ok "a duplicate id in flight: an error, the first request goes on" ||
    not_ok "duplicate id" "$(cat "$S_OUT")"
send '{"jsonrpc":"2.0","method":"session/cancel","params":{"sessionId":"'"$SID"'"}}'
got '"id":3,"result":{"stopReason":"cancelled"}'
ok "cancel: the prompt ends cancelled"
serve_end
[ "$S_RC" -eq 0 ] && ok "bad input: the proxy still exits 0 at EOF" || not_ok "bad input: exit 0" "$S_RC" "$(cat "$S_ERR")"

# oversize line: the client's cap
ACPX_MAX_ACP_MESSAGE_BYTES=4096; export ACPX_MAX_ACP_MESSAGE_BYTES
serve_start warp serve plain
send "$INIT"; got '"id":1,'
H=$(cat "$REC_DIR/plain.pid")
send '{"jsonrpc":"2.0","id":9,"method":"x","params":{"p":"'"$(head -c 10000 /dev/zero | tr '\0' a)"'"}}'
wait $S_PID; S_RC=$?
exec 3>&-
unset ACPX_MAX_ACP_MESSAGE_BYTES
[ "$S_RC" -eq 1 ] && grep -q "exceeds the size limit" "$S_ERR" &&
    ok "an oversize line: a clean exit (1) with a message" || not_ok "oversize line" "rc $S_RC" "$(cat "$S_ERR")"
poll '! alive "$H"' && ok "an oversize line: the harness is gone" || not_ok "oversize: harness left" "$H"

# a harness that dies at start, mid-turn, or never answers initialize
export SC_PLAIN="$SCENARIOS/exit-before-init.json"
serve_start warp serve plain
send "$INIT"; got '"id":1,'
grep -q '"id":1,"error":{.*ACP agent plain exited before initialize completed: boom: missing thing.*"AGENT_STARTUP_FAILED"' "$S_OUT" &&
    ok "a harness that dies at start: initialize gets an error naming its stderr" || not_ok "harness dies at start" "$(cat "$S_OUT")"
serve_end
[ "$S_RC" -eq 0 ] && ok "a harness that dies at start: exit 0 at EOF" || not_ok "dies at start: exit" "$S_RC"
export SC_PLAIN="$SCENARIOS/crash-mid-turn.json"
serve_start warp serve plain
send "$INIT"; send "$NEW"; got '"id":2,'
SID=$(sid_of)
send '{"jsonrpc":"2.0","id":3,"method":"session/prompt","params":{"sessionId":"'"$SID"'","prompt":[{"type":"text","text":"x"}]}}'
got '"id":3,'
grep -q '"id":3,"error":{"code":-32603' "$S_OUT" && ok "a harness that dies mid-turn: the prompt gets an error" ||
    not_ok "dies mid-turn" "$(cat "$S_OUT")"
send '{"jsonrpc":"2.0","id":4,"method":"session/prompt","params":{"sessionId":"'"$SID"'","prompt":[{"type":"text","text":"x"}]}}'
got '"id":4,'
ok "after a harness died mid-turn the next prompt is answered (the harness is started again)"
serve_end
printf '{"initialize": {"never_reply": true}}\n' >"$T_ROOT/never-init.json"
export SC_PLAIN="$T_ROOT/never-init.json"
rm -f "$REC_DIR/plain"
serve_start warp serve plain
send "$INIT"
poll 'grep -q "\"method\":\"initialize\"" "$REC_DIR/plain" 2>/dev/null'
H=$(cat "$REC_DIR/plain.pid")
serve_end
[ "$S_RC" -eq 0 ] && ! alive "$H" && ok "a harness that never answers initialize: EOF ends both cleanly" ||
    not_ok "never answers initialize" "rc $S_RC" "$(cat "$S_ERR")"

# ============================================================ no orphans
export SC_PLAIN="$SCENARIOS/wait-cancel.json"
for how in EOF TERM KILL-keeper KILL-worker; do
	rm -f "$REC_DIR/plain.pid"
	serve_start warp serve plain
	send "$INIT"; send "$NEW"; got '"id":2,'
	SID=$(sid_of)
	send '{"jsonrpc":"2.0","id":3,"method":"session/prompt","params":{"sessionId":"'"$SID"'","prompt":[{"type":"text","text":"x"}]}}'
	got '"text":"working"'
	H=$(cat "$REC_DIR/plain.pid")
	W=$(awk '{print $4}' "/proc/$H/stat")
	[ "$W" != "$S_PID" ] && [ "$(awk '{print $4}' "/proc/$W/stat")" = "$S_PID" ] ||
	    not_ok "$how: keeper, worker, harness" "keeper $S_PID worker $W harness $H"
	case $how in
	EOF) exec 3>&- ;;
	TERM) kill -TERM "$S_PID" ;;
	KILL-keeper) kill -KILL "$S_PID" ;;
	KILL-worker) kill -KILL "$W" ;;
	esac
	poll '! alive "$H" && ! alive "$W"' && ok "$how mid-turn: no harness and no worker left" ||
	    not_ok "$how mid-turn: no orphan" "harness $H worker $W: $(marked)"
	exec 3>&- 2>/dev/null
	wait $S_PID; S_RC=$?
	case $how in
	EOF|TERM) [ "$S_RC" -eq 0 ] && ok "$how: the proxy exits 0" || not_ok "$how: exit 0" "rc $S_RC" "$(cat "$S_ERR")" ;;
	esac
	cat "$S_OUT" "$S_ERR" >>"$ALL"
done

# ============================================================ many at once
# Eight proxies at once (as OpenClaw starts one per session), each on its
# own provider, each failing with quota exhausted: every cooldown and
# every session map file is there afterwards (no lost update).
H2="$T_ROOT/home2"
mkdir -p "$H2/.acpx"
{
	printf '{"agents": {"opencode": {"command": "%s"}},\n' "$T_ROOT/harness.sh"
	printf ' "warp": {"envFile": "%s", "maxHops": 0, "cooldownSeconds": 600, "providers": {' "$T_ROOT/secrets/many.env"
	for n in 1 2 3 4 5 6 7 8; do
		[ $n -gt 1 ] && printf ', '
		printf '"p%s": {"models": {"kimi": "kimi-k2.5"}}' $n
	done
	printf '}}}\n'
} >"$H2/.acpx/config.json"
: >"$T_ROOT/secrets/many.env"
for n in 1 2 3 4 5 6 7 8; do
	printf 'WARP_P%s_API_KEY=%s\nWARP_P%s_BASE_URL=http://127.0.0.1:9/v1\n' $n "$SENTINEL" $n >>"$T_ROOT/secrets/many.env"
done
chmod 600 "$T_ROOT/secrets/many.env"
export SC_PLAIN="$SCENARIOS/fallback-quota.json"
PIDS=""
for n in 1 2 3 4 5 6 7 8; do
	( cd "$T_WORK" && HOME="$H2" exec "$ACPX" --approve-all --format json \
	    --agent "$SERVE opencode-warp-p$n-kimi" exec "task $n" \
	    >"$T_ROOT/many.$n.out" 2>"$T_ROOT/many.$n.err" ) &
	PIDS="$PIDS $!"
done
wait $PIDS
cat "$T_ROOT"/many.* >>"$ALL"
N=0
for n in 1 2 3 4 5 6 7 8; do
	tr -d ' \n' <"$H2/.acpx/warp/state.json" 2>/dev/null | grep -q '"provider":"p'$n'","model":"kimi-k2.5"' && N=$((N + 1))
done
[ "$N" -eq 8 ] && ok "eight proxies at once: all eight cooldowns are in the shared state" ||
    not_ok "eight proxies: cooldowns" "$N of 8" "$(cat "$H2/.acpx/warp/state.json" 2>&1)"
N=$(ls "$H2/.acpx/warp/sessions"/*.json 2>/dev/null | wc -l)
[ "$N" -eq 8 ] && ok "eight proxies at once: eight session map files" || not_ok "eight map files" "$N"
N=$(cat "$T_ROOT"/many.*.out | grep -c '"detailCode":"WARP_FALLBACK_EXHAUSTED"')
[ "$N" -eq 8 ] && ok "eight proxies at once: each prompt fails as exhausted (maxHops 0)" ||
    not_ok "eight proxies: answers" "$(cat "$T_ROOT"/many.*.out | tail -n 5)"

# ============================================================ secrets
reset
start_fake "$T_ROOT/provider5.rec"
write_secrets "http://127.0.0.1:$PORT/echokey/v1" "http://127.0.0.1:$PORT/echokey/v1"
export SC_KIMI="$SCENARIOS/fallback-provider-ok.json" SC_BACKUP="$SCENARIOS/fallback-provider-ok.json"
run --no-fallback --approve-all --format json --agent "$SERVE $FROM" exec "x"
keep
expect_out_has "[redacted]" "a provider error quoting the key reaches the client redacted"
run --approve-all --format json --agent "$SERVE $FROM" exec "x"
keep
cat "$T_ROOT"/serr.* "$T_ROOT"/sout.* >>"$ALL" 2>/dev/null
if grep -rqF -e "$SENTINEL" -e "$SENTINEL_B" "$ALL" "$HOME" 2>/dev/null; then
	not_ok "the keys never show in the stream, on stderr or under HOME" "$(grep -rlF -e "$SENTINEL" -e "$SENTINEL_B" "$ALL" "$HOME")"
else ok "the keys never show in the stream, on stderr or under HOME"; fi
reset

done_testing
