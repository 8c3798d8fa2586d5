#!/bin/sh
# Provider-failure fallback for persistent sessions through the queue owner
# and end to end over HTTP. Part A: the fake harness of
# fallback.sh (mock agents, the pinned model picks the scenario): the owner
# exports the serving agent's harness environment, hops to the next agent
# on a provider failure (new ACP session, summary + original prompt),
# relays the hop, and the record remembers the serving agent and the
# routing history (sessions show / history); later prompts, also from a
# restarted owner, go to the serving agent; the stall rule; cancel during
# the fallback agent's turn. Part B: a provider (the fake) that answers 200
# and then 429: the mock harness really calls it, for exec and for a
# persistent session.
. "$TESTS_SRCDIR/regress/lib.sh"
[ -x "$MOCK" ] || skip_all "mock agent not built"
FAKE=$(dirname "$ACPX")/tests/fake-provider/fake-provider
[ -x "$FAKE" ] || skip_all "fake provider not built"
warp_env_clean
SENTINEL="sk-SENTINEL-fs1fs2fs3fs4"
SENTINEL_B="sk-SENTINEL-fsBfsBfsBfsB"
FROM=opencode-warp-infini-kimi
TO=opencode-warp-infini-glm
THIRD=opencode-warp-infini-minimax
ARROW=$(printf '\342\206\222')

# The fake harness: the pinned model picks the scenario, the record file
# and the session id; it logs whether it got the right key (not the key),
# or the token of the provider tap it talks to.
cat >"$T_ROOT/harness.sh" <<'EOH'
#!/bin/sh
case "$OPENCODE_CONFIG_CONTENT" in
*'"model":"warp-infini/kimi-k2.5"'*) m=kimi; sc=$SC_KIMI; want=$WANT_KEY ;;
*'"model":"warp-infini/glm-5"'*) m=glm; sc=$SC_GLM; want=$WANT_KEY ;;
*'"model":"warp-infini/minimax-m2.5"'*) m=minimax; sc=$SC_GLM; want=$WANT_KEY ;;
*'"model":"warp-backup/glm-5"'*) m=backup; sc=$SC_BACKUP; want=$WANT_KEY_B ;;
*) m=none; sc=$SC_NONE; want=none ;;
esac
k=wrong
case $m in
backup) [ "${WARP_BACKUP_API_KEY:-}" = "$want" ] && k=match ;;
none) k=none ;;
*) [ "${WARP_INFINI_API_KEY:-}" = "$want" ] && k=match
   # Behind the provider tap (a next agent waits): the tap's token, which
   # is also the last part of its base URL (tests/regress/warp-tap.sh).
   case "$OPENCODE_CONFIG_CONTENT" in
   *"/t/${WARP_INFINI_API_KEY:-none}\""*) k=match ;;
   esac ;;
esac
echo "$m key=$k" >>"$REC_DIR/starts"
exec "$MOCK" --scenario "$sc" --record "$REC_DIR/$m" --session-id "$m-session" \
    --supports-load-session
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
write_config() {	# MAXHOPS CHAIN-JSON [STALL]
	cat >"$HOME/.acpx/config.json" <<EOC
{
  "agents": {"opencode": {"command": "$T_ROOT/harness.sh"}},
  "warp": {
    "envFile": "$SECRETS",
    "providers": {
      "infini": {"models": {"kimi": "kimi-k2.5", "glm": "glm-5", "minimax": "minimax-m2.5"}},
      "backup": {"models": {"glm": "glm-5"}}
    },
    "fallback": {"$FROM": $2},
    "maxHops": $1,
    "stallSeconds": ${3:-0},
    "cooldownSeconds": 600
  }
}
EOC
}
STATE="$HOME/.acpx/warp/state.json"
ALL="$T_ROOT/all"
: >"$ALL"
keep() { printf '%s\n%s\n' "$OUT" "$ERR" >>"$ALL"; }
# Stop every queue owner this test started (by the pids in their leases).
stop_owners() {
	for l in "$HOME"/.acpx/queues/*.lock; do
		[ -f "$l" ] || continue
		p=$(sed -n 's/^  "pid": \([0-9]*\),$/\1/p' "$l")
		[ -n "$p" ] && kill "$p" 2>/dev/null
	done
	poll '[ -z "$(lease)" ]'
}
reset() { stop_owners; rm -rf "$REC_DIR"/* "$STATE"; }
first_prompt() {	# the first session/prompt the mock of $1 received
	grep '"method":"session/prompt"' "$REC_DIR/$1" 2>/dev/null | head -n 1
}
nprompts() { c=$(grep -c '"method":"session/prompt"' "$REC_DIR/$1" 2>/dev/null); echo "${c:-0}"; }
starts() { c=$(grep -c "^$1 key=" "$REC_DIR/starts" 2>/dev/null); echo "${c:-0}"; }
record() { cat "$HOME"/.acpx/sessions/*.json 2>/dev/null; }
export SC_KIMI="$SCENARIOS/fallback-quota.json"
export SC_GLM="$SCENARIOS/fallback-finish.json"
export SC_NONE="$SCENARIOS/fallback-finish.json"
export SC_BACKUP="$SCENARIOS/fallback-provider-ok.json"
write_secrets "http://127.0.0.1:9/v1" "http://127.0.0.1:9/v1"
write_config 3 "[\"$TO\"]"

# ============================================================ A: persistent
reset
run --approve-all $FROM sessions new --name s1
keep
expect_rc 0 "sessions new on a warp agent"
# sessions new starts the harness itself: with its environment, like the owner.
[ "$(cat "$REC_DIR/starts" 2>/dev/null)" = "kimi key=match" ] &&
    ok "sessions new gives the warp harness its environment" ||
    not_ok "sessions new gives the warp harness its environment" "$(cat "$REC_DIR/starts" 2>&1)"
: >"$REC_DIR/starts"	# from here on, the starts of the prompts
run --approve-all $FROM prompt -s s1 "do the task"
keep
expect_rc 0 "persistent: quota mid-turn falls back and the fallback finishes"
expect_out_has "[fallback] $FROM $ARROW $TO (quota-exhausted)" "persistent: the [fallback] line"
expect_out_has "finished by the fallback" "persistent: the fallback's answer is relayed"
grep -qx "kimi key=match" "$REC_DIR/starts" && ok "persistent: the owner gave the first agent its harness environment" ||
    not_ok "persistent: first agent environment" "$(cat "$REC_DIR/starts")"
grep -qx "glm key=match" "$REC_DIR/starts" && ok "persistent: the fallback agent got its harness environment" ||
    not_ok "persistent: fallback agent environment" "$(cat "$REC_DIR/starts")"
P=$(first_prompt glm)
case "$P" in
*'## Completed steps\n- Read notes.txt (read)\n'*"notes.txt (touched)"*"report.md (diff)"*) ok "persistent: the fallback's first prompt has the summary" ;;
*) not_ok "persistent: the fallback's first prompt has the summary" "got: $P" ;; esac
case "$P" in
*'"},{"type":"text","text":"do the task"}]'*) ok "persistent: the original prompt follows the summary" ;;
*) not_ok "persistent: the original prompt follows the summary" "got: $P" ;; esac
expect_received "$REC_DIR/glm" '{"received": [{"method": "session/new",
    "params": {"cwd": "{{cwd}}"}, "match": "subset", "count": 1,
    "name": "persistent: a new ACP session on the fallback agent"}]}'
grep -q '"reason": *"quota-exhausted"' "$STATE" 2>/dev/null && ok "persistent: cooldown recorded" ||
    not_ok "persistent: cooldown recorded" "$(cat "$STATE" 2>&1)"
R=$(record)
case "$R" in
*"\"serving_agent\": \"$TO\""*) ok "the record remembers the serving agent" ;;
*) not_ok "the record remembers the serving agent" "$R" ;; esac
case "$R" in
*'"acp_session_id": "glm-session"'*) ok "the record holds the fallback's ACP session" ;;
*) not_ok "the record holds the fallback's ACP session" "$R" ;; esac
case "$R" in
*"\"agent_command\": \"$FROM\""*) ok "the session stays under the agent id the user typed" ;;
*) not_ok "the session stays under the typed agent id" "$R" ;; esac

run $FROM sessions show s1
keep
expect_rc 0 "sessions show"
expect_out_has "servingAgent: $TO" "show: the serving agent"
expect_out_has "fallback $FROM $ARROW $TO (quota-exhausted), hop 1" "show: the hop"
expect_out_has "      ## Completed steps" "show: the summary"
expect_out_has "firstProviderFailure: " "show: the first provider failure"
expect_out_has ", turn 1: $FROM: quota-exhausted (" "show: its turn, agent and reason"
run $FROM sessions history s1
keep
expect_out_has "fallback $FROM $ARROW $TO (quota-exhausted), hop 1" "history: the hop"
run --format json $FROM sessions history s1
keep
expect_out_has '"routing":[{"type":"fallback","from":"'"$FROM"'","to":"'"$TO"'","reason":"quota-exhausted"' "history json: the routing field"
run --format json $FROM sessions show s1
keep
expect_out_has '"serving_agent":"'"$TO"'"' "show json: the serving agent"

# The next prompt goes to the serving agent (the warm owner's).
run --approve-all $FROM prompt -s s1 "next"
keep
expect_rc 0 "next prompt"
expect_out_has "finished by the fallback" "next prompt answered by the serving agent"
[ "$(starts kimi)" = 1 ] && ok "next prompt: the failed agent is not started again" ||
    not_ok "next prompt: kimi not restarted" "$(cat "$REC_DIR/starts")"
expect_received "$REC_DIR/glm" '{"received": [{"method": "session/prompt",
    "params": {"sessionId": "glm-session",
    "prompt": [{"type": "text", "text": "next"}]}, "match": "subset",
    "count": 1, "name": "next prompt: plain prompt to the serving agent"}]}'

# A restarted owner while the first agent still cools down: the serving
# agent is started and its session loaded; the cooling agent never starts.
# (The fallback answers session/new and session/load with configOptions,
# as opencode does: applying them must keep the routing state.)
stop_owners
grep -q '"provider": *"infini"' "$STATE" 2>/dev/null && ok "the first agent is still cooling down" ||
    not_ok "the first agent is still cooling down" "$(cat "$STATE" 2>&1)"
run --approve-all $FROM prompt -s s1 "while cooling"
keep
expect_rc 0 "restarted owner, cooldown on: the prompt succeeds"
expect_out_has "finished by the fallback" "restarted owner, cooldown on: answered by the serving agent"
[ "$(starts kimi)" = 1 ] && [ "$(starts glm)" = 2 ] && ok "restarted owner, cooldown on: the cooling agent is not started" ||
    not_ok "restarted owner, cooldown on: the cooling agent is not started" "$(cat "$REC_DIR/starts")"
expect_received "$REC_DIR/glm" '{"received": [{"method": "session/load",
    "params": {"sessionId": "glm-session"}, "match": "subset", "count": 1,
    "name": "restarted owner, cooldown on: the serving agent'"'"'s session is loaded"}]}'
case "$(record)" in
*"\"serving_agent\": \"$TO\""*'"routing_history"'*) ok "restarted owner: the record still has the routing state after session/load" ;;
*) not_ok "restarted owner: the record keeps the routing state" "$(record)" ;; esac

# ... and also after the cooldown of the first agent is gone.
stop_owners
rm -f "$STATE"
run --approve-all $FROM prompt -s s1 "after restart"
keep
expect_rc 0 "prompt after the owner restarted"
[ "$(starts kimi)" = 1 ] && [ "$(starts glm)" = 3 ] && ok "restarted owner: the serving agent starts directly" ||
    not_ok "restarted owner: the serving agent starts directly" "$(cat "$REC_DIR/starts")"
expect_received "$REC_DIR/glm" '{"received": [{"method": "session/load",
    "params": {"sessionId": "glm-session"}, "match": "subset", "count": 2,
    "name": "restarted owner: the serving agent'"'"'s session is loaded"}]}'

# The record names another serving agent than the warm owner runs (here
# edited by hand): the warm agent is retired and the prompt goes to a
# freshly started serving agent, never down the connection being closed.
sed "s/\"serving_agent\": \"$TO\"/\"serving_agent\": \"$THIRD\"/" "$HOME"/.acpx/sessions/*.json >"$T_ROOT/rec.json"
cat "$T_ROOT/rec.json" >"$(ls "$HOME"/.acpx/sessions/*.json)"
run --approve-all $FROM prompt -s s1 "moved"
keep
expect_rc 0 "a warm owner whose record names another serving agent"
expect_out_has "finished by the fallback" "the serving agent of the record answers"
[ "$(starts minimax)" = 1 ] && ok "the record's serving agent was started" ||
    not_ok "the record's serving agent was started" "$(cat "$REC_DIR/starts")"
expect_received "$REC_DIR/minimax" '{"received": [{"method": "session/prompt",
    "params": {"prompt": [{"type": "text", "text": "moved"}]}, "match": "subset",
    "count": 1, "name": "the prompt went to the record'"'"'s serving agent"}]}'

# ------------------------------------------------------------ --no-wait
reset
run --approve-all $FROM sessions new --name s8
: >"$REC_DIR/starts"
run --approve-all $FROM prompt --no-wait -s s8 "do the task"
keep
expect_rc 0 "--no-wait: queued"
poll 'record | grep -q "\"serving_agent\": \"$TO\""'
case "$(record)" in
*"\"serving_agent\": \"$TO\""*) ok "--no-wait: the owner falls back on its own" ;;
*) not_ok "--no-wait: the owner falls back on its own" "$(record)" ;; esac
poll '[ "$(nprompts glm)" -ge 1 ]'
case "$(first_prompt glm)" in
*'## Completed steps'*) ok "--no-wait: the fallback got the summary" ;;
*) not_ok "--no-wait: the fallback got the summary" "$(first_prompt glm)" ;; esac
run --approve-all $FROM prompt -s s8 "next"
keep
expect_rc 0 "--no-wait: the next prompt"
expect_out_has "finished by the fallback" "--no-wait: the next prompt goes to the serving agent"
[ "$(starts kimi)" = 1 ] && ok "--no-wait: the cooling agent is not started again" ||
    not_ok "--no-wait: the cooling agent is not started again" "$(cat "$REC_DIR/starts")"

# ------------------------------------------------------------ direct controls
# set-mode with no owner running starts the session's harness itself: the
# same launch step as every other start path gives it its environment.
reset
run --approve-all $FROM sessions new --name s9
: >"$REC_DIR/starts"
run --approve-all $FROM set-mode -s s9 plan
keep
expect_rc 0 "set-mode without an owner on a warp session"
[ "$(cat "$REC_DIR/starts" 2>/dev/null)" = "kimi key=match" ] &&
    ok "direct set-mode gives the warp harness its environment" ||
    not_ok "direct set-mode gives the warp harness its environment" "$(cat "$REC_DIR/starts" 2>&1)"
expect_received "$REC_DIR/kimi" '{"received": [{"method": "session/set_mode",
    "params": {"sessionId": "kimi-session", "modeId": "plan"}, "count": 1,
    "name": "direct set-mode reached the session'"'"'s agent"}]}'
[ -z "$(lease)" ] && ok "direct set-mode left no owner" || not_ok "direct set-mode left no owner" "$(lease)"

# ------------------------------------------------------------ json and quiet
reset
run --approve-all $FROM sessions new --name s2
run --format json --approve-all $FROM prompt -s s2 "do the task"
keep
expect_rc 0 "persistent json: falls back"
N=$(printf '%s\n' "$OUT" | grep -c '^{"jsonrpc":"2.0","method":"_acpx/fallback","params":{"from":"'"$FROM"'","to":"'"$TO"'","reason":"quota-exhausted","summary":"\[acpx fallback\]')
[ "$N" -eq 1 ] && ok "persistent json: one _acpx/fallback notification" || not_ok "persistent json: one notification" "$OUT"
reset
run --approve-all $FROM sessions new --name s3
run --format quiet --approve-all $FROM prompt -s s3 "do the task"
keep
expect_rc 0 "persistent quiet: falls back"
expect_out "finished by the fallback
" "persistent quiet: only the final answer"
expect_err_has "[acpx] fallback: $FROM $ARROW $TO (quota-exhausted)" "persistent quiet: one stderr note"

# ------------------------------------------------------------ exhausted chain
reset
export SC_GLM="$SCENARIOS/fallback-quota.json"
run --approve-all $FROM sessions new --name s4
run --approve-all $FROM prompt -s s4 "do the task"
keep
[ "$RC" -ne 0 ] && ok "persistent exhausted chain fails the prompt" || not_ok "persistent exhausted chain fails" "rc $RC"
expect_out_has "You exceeded your current quota" "persistent exhausted chain: the last provider error"
run $FROM sessions show s4
keep
expect_out_has "fallback $FROM $ARROW $TO (quota-exhausted), hop 1" "exhausted chain: the hop is in the history"
expect_out_has "no agent of its fallback chain is left" "exhausted chain: the final failure is in the history"
N=$(printf '%s\n' "$OUT" | grep -c '      ## Completed steps')
[ "$N" -eq 1 ] && ok "exhausted chain: every summary is in the history" || not_ok "exhausted chain: summaries" "$OUT"
[ "$(starts minimax)" = 0 ] && ok "exhausted chain: no agent outside the chain" || not_ok "exhausted chain: extra agent" "$(cat "$REC_DIR/starts")"

# ------------------------------------------------------------ task failure
reset
export SC_KIMI="$SCENARIOS/fallback-task-error.json" SC_GLM="$SCENARIOS/fallback-finish.json"
run --approve-all $FROM sessions new --name s5
run --approve-all $FROM prompt -s s5 "do the task"
keep
[ "$RC" -ne 0 ] && ok "persistent task failure fails as before" || not_ok "persistent task failure fails" "rc $RC"
case "$OUT$ERR" in *"fallback"*) not_ok "persistent task failure: no fallback" "$OUT $ERR" ;; *) ok "persistent task failure: no fallback" ;; esac
[ "$(starts glm)" = 0 ] && ok "persistent task failure: the fallback agent never started" || not_ok "task failure: fallback started"
[ ! -e "$STATE" ] || ! grep -q infini "$STATE" && ok "persistent task failure: no cooldown" || not_ok "task failure: no cooldown" "$(cat "$STATE")"
case "$(record)" in *routing_history*) not_ok "persistent task failure: no routing history" ;; *) ok "persistent task failure: no routing history" ;; esac

# ------------------------------------------------------------ --no-fallback
# It travels to the owner as the request's noFallback field: the provider
# failure fails the prompt (cooldown still recorded), nothing else starts,
# and the session stays on its agent.
reset
export SC_KIMI="$SCENARIOS/fallback-quota.json" SC_GLM="$SCENARIOS/fallback-finish.json"
run --approve-all $FROM sessions new --name s6
run --approve-all --no-fallback $FROM prompt -s s6 "do the task"
keep
[ "$RC" -ne 0 ] && ok "persistent --no-fallback: the provider failure fails the prompt" ||
    not_ok "persistent --no-fallback fails the prompt" "rc $RC" "$OUT"
expect_out_has "You exceeded your current quota" "persistent --no-fallback: the provider error is shown"
case "$OUT$ERR" in *"$ARROW"*) not_ok "persistent --no-fallback: no hop" "$OUT $ERR" ;; *) ok "persistent --no-fallback: no hop" ;; esac
[ "$(starts glm)" = 0 ] && ok "persistent --no-fallback: the fallback agent never started" ||
    not_ok "persistent --no-fallback: fallback started" "$(cat "$REC_DIR/starts")"
grep -q infini "$STATE" 2>/dev/null && ok "persistent --no-fallback: the cooldown is still recorded" ||
    not_ok "persistent --no-fallback: cooldown recorded" "$(cat "$STATE" 2>&1)"
S6=$(grep -l '"name": "s6"' "$HOME"/.acpx/sessions/*.json | xargs cat)
case "$S6" in "") not_ok "persistent --no-fallback: the record of s6 exists" ;;
*serving_agent*) not_ok "persistent --no-fallback: the session stays on its agent" "$S6" ;;
*) ok "persistent --no-fallback: the session stays on its agent" ;; esac

# ------------------------------------------------------------ cancel during the hop
reset
export SC_KIMI="$SCENARIOS/fallback-quota.json" SC_GLM="$SCENARIOS/wait-cancel.json"
write_config 3 "[\"$TO\", \"$THIRD\"]"
run --approve-all $FROM sessions new --name s6
( cd "$T_WORK" && "$ACPX" --approve-all $FROM prompt -s s6 "do the task" \
    >"$T_ROOT/bg.out" 2>"$T_ROOT/bg.err" ) &
BG=$!
track_pid $BG
poll '[ "$(nprompts glm)" -ge 1 ]'
run $FROM cancel -s s6
keep
expect_rc 0 "cancel during the fallback agent's turn"
wait $BG
OUT=$(cat "$T_ROOT/bg.out") ERR=$(cat "$T_ROOT/bg.err")
keep
expect_out_has "[fallback] $FROM $ARROW $TO (quota-exhausted)" "cancel: the hop had happened"
[ "$(starts minimax)" = 0 ] && ok "cancel: no further hop after the cancel" ||
    not_ok "cancel: no further hop" "$(cat "$REC_DIR/starts")"
expect_received "$REC_DIR/glm" '{"received": [{"method": "session/cancel",
    "params": {"sessionId": "glm-session"}, "count": 1,
    "name": "cancel: the fallback agent got session/cancel"}]}'
case "$(grep -l '"name": "s6"' "$HOME"/.acpx/sessions/*.json | xargs cat)" in
*"\"serving_agent\": \"$TO\""*) ok "cancel: the record keeps the hop made before the cancel" ;;
*) not_ok "cancel: the record keeps the hop" "$(record)" ;; esac

# ------------------------------------------------------------ Ctrl-C during an exec hop
reset
( cd "$T_WORK" && exec "$ACPX" --approve-all $FROM exec "do the task" \
    >"$T_ROOT/bg.out" 2>"$T_ROOT/bg.err" ) &
BG=$!
track_pid $BG
poll '[ "$(nprompts glm)" -ge 1 ]'
kill -INT $BG
wait $BG
RC=$?
# As exec-signals.sh: an agent that honours the cancel ends the turn
# "cancelled" and exec exits 0, as the reference does.
OUT=$(cat "$T_ROOT/bg.out")
[ "$RC" -eq 0 ] && ok "exec: Ctrl-C during the fallback agent's turn exits as exec does" ||
    not_ok "exec: Ctrl-C during the hop exit status" "rc $RC: $(cat "$T_ROOT/bg.err")"
expect_out_has "[done] cancelled" "exec: the fallback agent's turn ends cancelled"
[ "$(starts minimax)" = 0 ] && ok "exec: no further hop after Ctrl-C" ||
    not_ok "exec: no further hop after Ctrl-C" "$(cat "$REC_DIR/starts")"
expect_received "$REC_DIR/glm" '{"received": [{"method": "session/cancel",
    "params": {"sessionId": "glm-session"}, "count": 1,
    "name": "exec: Ctrl-C cancels the fallback agent'"'"'s turn"}]}'

# ------------------------------------------------------------ stall rule
reset
export SC_KIMI="$SCENARIOS/wait-cancel-silent.json" SC_GLM="$SCENARIOS/fallback-finish.json"
write_config 3 "[\"$TO\"]" 1
run --approve-all $FROM exec "do the task"
keep
expect_rc 0 "exec stall: falls back"
expect_out_has "[fallback] $FROM $ARROW $TO (stalled)" "exec stall: the [fallback] line"
expect_received "$REC_DIR/kimi" '{"received": [{"method": "session/cancel",
    "params": {"sessionId": "kimi-session"}, "count": 1,
    "name": "exec stall: the stalled agent got session/cancel"}]}'
reset
run --approve-all $FROM sessions new --name s7
run --approve-all $FROM prompt -s s7 "do the task"
keep
expect_rc 0 "persistent stall: falls back"
expect_out_has "[fallback] $FROM $ARROW $TO (stalled)" "persistent stall: the [fallback] line"
expect_out_has "finished by the fallback" "persistent stall: the fallback answers"
run --format json $FROM status -s s7
expect_out_has '"stall":{"at":"' "persistent stall: status json has the first stall"
expect_out_has '"turn":1,"detail":"no update for 1s from '"$FROM"'"}' "persistent stall: its turn and detail"
reset
run --no-fallback --approve-all $FROM exec "do the task"
keep
[ "$RC" -ne 0 ] && ok "exec stall with --no-fallback fails" || not_ok "exec stall --no-fallback fails" "rc $RC"
expect_err_has "(stalled)" "exec stall with --no-fallback: says why"
write_config 3 "[\"$TO\"]"

# ------------------------------------------------------------ stderr
# An empty end_turn whose harness said "429" on stderr only (exec reads
# the whole stderr once the agent is gone).
reset
export SC_KIMI="$SCENARIOS/fallback-stderr.json"
run --approve-all $FROM exec "do the task"
keep
expect_rc 0 "exec: a provider error on stderr only falls back"
expect_out_has "[fallback] $FROM $ARROW $TO (rate-limited)" "exec stderr: the [fallback] line"
case "$(first_prompt glm)" in
*'agent stderr: AI_APICallError: 429 Too Many Requests'*) ok "exec stderr: the summary has the stderr signal" ;;
*) not_ok "exec stderr: the summary has the stderr signal" "$(first_prompt glm)" ;; esac

# ============================================================ B: over HTTP
# start_fake FILE: a fake provider recording into FILE (outside HOME).
start_fake() {
	fake_provider_start "$1" --lifetime 120
}
BACKUP=opencode-warp-backup-glm
export SC_KIMI="$SCENARIOS/fallback-provider.json" SC_BACKUP="$SCENARIOS/fallback-provider-ok.json"
write_config 3 "[\"$BACKUP\"]"
# http_checks WHAT PROVIDER-RECORD
http_checks() {
	L=$(sed -n 3p "$2")
	case "$L" in
	*'"path":"/ok/v1/chat/completions"'*'"authorization":"Bearer '"$SENTINEL_B"'"'*'"model":"glm-5"'*)
		ok "$1: the fallback called its own provider with its key and model" ;;
	*) not_ok "$1: the fallback's provider call" "$(cat "$2")" ;; esac
	case "$(sed -n 2p "$2")" in
	*'"path":"/flaky/v1/chat/completions"'*'"authorization":"Bearer '"$SENTINEL"'"'*'"model":"kimi-k2.5"'*)
		ok "$1: the first agent's second call (answered 429) was its own" ;;
	*) not_ok "$1: the first agent's calls" "$(cat "$2")" ;; esac
	expect_out_has "[fallback] $FROM $ARROW $BACKUP (rate-limited)" "$1: the [fallback] line"
	expect_out_has "fake answer from the fallback" "$1: the final output is the fallback's answer"
	P=$(first_prompt backup)
	case "$P" in
	*'## Completed steps\n- Write plan.md (edit)\n'*"plan.md"*'Rate limit reached'*) ok "$1: the fallback's first prompt has the summary" ;;
	*) not_ok "$1: the fallback's first prompt has the summary" "got: $P" ;; esac
	grep -q '"provider": *"infini"' "$STATE" && grep -q '"reason": *"rate-limited"' "$STATE" &&
	    ok "$1: cooldown of infini recorded" || not_ok "$1: cooldown recorded" "$(cat "$STATE" 2>&1)"
}
reset
start_fake "$T_ROOT/provider.rec"
write_secrets "http://127.0.0.1:$PORT/flaky/v1" "http://127.0.0.1:$PORT/ok/v1"
run --approve-all $FROM exec "ask the model"
keep
expect_rc 0 "http exec: a 429 midway falls back, exit 0"
http_checks "http exec" "$T_ROOT/provider.rec"
rm -f "$REC_DIR/starts"
run --approve-all $FROM exec "again"
keep
expect_rc 0 "http exec: the next invocation"
[ "$(starts kimi)" = 0 ] && [ "$(starts backup)" = 1 ] && ok "http exec: the next invocation starts on the fallback" ||
    not_ok "http exec: next invocation on the fallback" "$(cat "$REC_DIR/starts")"

reset
start_fake "$T_ROOT/provider2.rec"
write_secrets "http://127.0.0.1:$PORT/flaky/v1" "http://127.0.0.1:$PORT/ok/v1"
run --approve-all $FROM sessions new --name h1
: >"$REC_DIR/starts"
run --approve-all $FROM prompt -s h1 "ask the model"
keep
expect_rc 0 "http persistent: a 429 midway falls back, exit 0"
http_checks "http persistent" "$T_ROOT/provider2.rec"
run --approve-all $FROM prompt -s h1 "again"
keep
expect_out_has "fake answer from the fallback" "http persistent: the next prompt goes to the serving agent"
[ "$(starts kimi)" = 1 ] && ok "http persistent: the failed agent is not started again" ||
    not_ok "http persistent: kimi restarted" "$(cat "$REC_DIR/starts")"
run $FROM sessions show h1
keep
expect_out_has "fallback $FROM $ARROW $BACKUP (rate-limited), hop 1" "http persistent: sessions show lists the hop"
reset
start_fake "$T_ROOT/provider3.rec"
write_secrets "http://127.0.0.1:$PORT/flaky/v1" "http://127.0.0.1:$PORT/ok/v1"
run --no-fallback --approve-all $FROM exec "ask the model"
keep
[ "$RC" -ne 0 ] && ok "http --no-fallback: the 429 fails the prompt" || not_ok "http --no-fallback fails" "rc $RC"
expect_out_has "Rate limit reached for requests per minute" "http --no-fallback: the provider's error is shown"
[ "$(starts backup)" = 0 ] && ok "http --no-fallback: the fallback agent never started" ||
    not_ok "http --no-fallback: fallback started" "$(cat "$REC_DIR/starts")"
[ "$(wc -l <"$T_ROOT/provider3.rec")" -eq 2 ] && ok "http --no-fallback: no other provider was called" ||
    not_ok "http --no-fallback: provider calls" "$(cat "$T_ROOT/provider3.rec")"
stop_owners

# ------------------------------------------------------------ secrets
record >>"$ALL"
if grep -rqF -e "$SENTINEL" -e "$SENTINEL_B" "$ALL" "$HOME" 2>/dev/null; then
	not_ok "the keys never show in output or under HOME" "$(grep -rlF -e "$SENTINEL" -e "$SENTINEL_B" "$ALL" "$HOME")"
else ok "the keys never show in output or under HOME"; fi

done_testing
