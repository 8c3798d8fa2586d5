#!/bin/sh
# Quota routing of persistent sessions: before a turn is sent, a session
# whose serving agent the route rule would skip for its quota (exhausted,
# or under warp.quotaReserve) moves to the next agent of its chain (the
# queue owner of a named session, and `acpx warp serve` between turns):
# the primary never receives the prompt, the [fallback] line, the event and
# the session record say so; a healthy quota leaves the session alone.
# Quota signals an agent sends outside a turn (during sessions new, a
# control such as set-mode, warp serve's session/new) are recorded as a
# turn's are. The
# harness is the mock agent behind a script that picks its scenario by the
# pinned model; reset times are ten days ahead, never waited for.
. "$TESTS_SRCDIR/regress/lib.sh"
[ -x "$MOCK" ] || skip_all "mock agent not built"
warp_env_clean
unset MOCK_SCENARIO MOCK_RECORD
FROM=opencode-warp-infini-kimi
TO=opencode-warp-backup-glm
ARROW=$(printf '\342\206\222')
RESET_EPOCH=$(( ($(date -u +%s) / 86400 + 10) * 86400 ))
RESET=$(date -u -d "@$RESET_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
RESET_ISO=$(date -u -d "@$RESET_EPOCH" +%Y-%m-%dT%H:%M:%S.000Z)
for s in turn new; do
	sed "s/\"@RESET_EPOCH@\"/$RESET_EPOCH/; s/@RESET@/$RESET/g" \
	    "$SCENARIOS/quota-$s.json" >"$T_ROOT/$s.json"
done
cat >"$T_ROOT/harness.sh" <<'EOH'
#!/bin/sh
case "$OPENCODE_CONFIG_CONTENT" in
*'"model":"warp-infini/kimi-k2.5"'*) m=kimi; sc=$(cat "$REC_DIR/kimi.sc") ;;
*) m=backup; sc=$SCENARIOS/hello.json ;;
esac
exec "$MOCK" --scenario "$sc" --record "$REC_DIR/$m"
EOH
chmod +x "$T_ROOT/harness.sh"
export REC_DIR="$T_ROOT/rec" MOCK SCENARIOS
mkdir -p "$REC_DIR" "$T_ROOT/secrets" "$HOME/.acpx"
SECRETS="$T_ROOT/secrets/warp.env"
for p in INFINI BACKUP; do
	printf 'WARP_%s_API_KEY=sk-quota-turn\nWARP_%s_BASE_URL=http://127.0.0.1:9/v1\n' $p $p
done >"$SECRETS"
chmod 600 "$SECRETS"
cat >"$HOME/.acpx/config.json" <<EOC
{
  "agents": {"opencode": {"command": "$T_ROOT/harness.sh"}},
  "warp": {
    "envFile": "$SECRETS",
    "providers": {
      "infini": {"models": {"kimi": "kimi-k2.5"}},
      "backup": {"models": {"glm": "glm-5"}}
    },
    "fallback": {"$FROM": ["$TO"]},
    "quotaReserve": 5,
    "cooldownSeconds": 600
  }
}
EOC
STATE="$HOME/.acpx/warp/state.json"
prompts() { c=$(grep -c '"method":"session/prompt"' "$REC_DIR/$1" 2>/dev/null); echo "${c:-0}"; }
route_row() { printf '%s\n' "$OUT" | grep "^[0-9]  *$1 "; }

# ------------------------------------------------ a named session's owner
echo "$T_ROOT/turn.json" >"$REC_DIR/kimi.sc"
run --approve-all $FROM sessions new --name q
expect_rc 0 "sessions new on the primary"
# The agent reports 10% used while session/new runs: no turn yet.
run --format json warp list
case "$OUT" in *'"id":"'$FROM'",'*'"quota":{"usedPercent":10,'*) ok "sessions new: the quota signal sent during session/new is recorded" ;;
*) not_ok "sessions new: the quota signal sent during session/new is recorded" "$OUT" ;; esac
# Turn 1 reports 50% used: under no reserve; turn 2 stays on the primary.
run --approve-all $FROM -s q "one"
run --approve-all $FROM -s q "two"
expect_out_has "kimi answered" "healthy quota: the primary answers"
case "$OUT$ERR" in *"[fallback]"*) not_ok "healthy quota: no hop" "$OUT" "$ERR" ;;
*) [ "$(prompts kimi)" = 2 ] && ok "healthy quota: no hop, the primary got both prompts" ||
    not_ok "healthy quota: no hop" "$(prompts kimi) prompts" ;; esac
# A control, outside any turn: the agent reports 97% used meanwhile.
run --approve-all $FROM -s q set-mode plan
expect_rc 0 "set-mode runs"
run --format json warp list
case "$OUT" in *'"id":"'$FROM'",'*'"quota":{"usedPercent":97,'*'"meter":"plan/five_hour","resetsAt":"'"$RESET_ISO"'"'*)
	ok "outside a turn: the quota signal sent during a control is recorded" ;;
*) not_ok "outside a turn: the quota signal sent during a control is recorded" "$OUT" "$(cat "$STATE" 2>&1)" ;; esac
# Under warp.quotaReserve: the next prompt goes to the next agent.
run --approve-all $FROM -s q "three"
expect_rc 0 "reserve: the prompt completes"
expect_out_has "[fallback] $FROM $ARROW $TO (quota)" "reserve: the [fallback] line says quota"
expect_out_has "hello world" "reserve: the next agent answers"
case "$(grep -c '"text":"three"' "$REC_DIR/kimi")" in 0) ok "reserve: the primary never receives the prompt" ;;
*) not_ok "reserve: the primary never receives the prompt" "$(grep session/prompt "$REC_DIR/kimi")" ;; esac
P=$(grep '"method":"session/prompt"' "$REC_DIR/backup" | head -n 1)
case "$P" in *'The session so far'*'user: two'*'assistant: kimi answered'*'quota at 97% (plan/five_hour, under the 5% reserve)'*'"text":"three"'*)
	case "$P" in *'user: three'*) not_ok "reserve: the next agent gets the session so far, the summary and the prompt" "$P" ;;
	*) ok "reserve: the next agent gets the session so far, the summary and the prompt" ;; esac ;;
*) not_ok "reserve: the next agent gets the session so far, the summary and the prompt" "$P" ;; esac
grep -h '"serving_agent"' "$HOME"/.acpx/sessions/*.json 2>/dev/null | grep -q "\"$TO\"" &&
    ok "reserve: the session record names the new serving agent" ||
    not_ok "reserve: the session record names the new serving agent" "$(cat "$HOME"/.acpx/sessions/*.json)"
grep -h '"fallback.hop"' "$HOME/.acpx/events.ndjson" 2>/dev/null | grep -q '"reason":"quota"' &&
    ok "reserve: the fallback.hop event, reason quota" ||
    not_ok "reserve: the fallback.hop event" "$(cat "$HOME/.acpx/events.ndjson" 2>&1)"
case "$(tr -d ' \n' <"$STATE")" in *'"cooldowns":[{'*) not_ok "reserve: no cooldown recorded" "$(cat "$STATE")" ;;
*) ok "reserve: no cooldown recorded (the reading is the cause)" ;; esac
run --approve-all $FROM -s q "four"
case "$OUT" in *"[fallback]"*) not_ok "after the move the session stays on the next agent" "$OUT" ;;
*) [ "$(prompts backup)" = 2 ] && ok "after the move the session stays on the next agent" ||
    not_ok "after the move the session stays on the next agent" "$(prompts backup) prompts" "$OUT" ;; esac
# An exhausted window, reported while sessions new runs: the first prompt
# of the new session goes to the next agent; the primary never gets one.
run warp reset infini
rm -f "$REC_DIR/kimi"
echo "$T_ROOT/new.json" >"$REC_DIR/kimi.sc"
run --approve-all $FROM sessions new --name x
run --approve-all $FROM -s x "exhausted"
expect_out_has "[fallback] $FROM $ARROW $TO (quota)" "exhausted: the first prompt moves to the next agent"
[ "$(prompts kimi)" = 0 ] && grep -q '"text":"exhausted"' "$REC_DIR/backup" &&
    ok "exhausted: the primary never receives the prompt, the next agent does" ||
    not_ok "exhausted: the primary never receives the prompt" "$(prompts kimi)" "$(grep session/prompt "$REC_DIR/backup")"
run $FROM sessions close q
run $FROM sessions close x
wait_owners_gone

# ------------------------------------------------ warp serve between turns
# The primary reports an exhausted window right after session/new (no turn
# runs): recorded; the first prompt then goes to the next agent.
run warp reset infini
rm -f "$REC_DIR/kimi" "$REC_DIR/backup"
S_IN="$T_ROOT/in" S_OUT="$T_ROOT/sout"
mkfifo "$S_IN"
: >"$S_OUT"
( cd "$T_WORK" && exec "$ACPX" warp serve $FROM <"$S_IN" >"$S_OUT" 2>"$T_ROOT/serr" ) &
S_PID=$!
track_pid $S_PID
exec 3>"$S_IN"
send() { ( trap '' PIPE; printf '%s\n' "$1" >&3 ) 2>/dev/null; }
got() {	# got STRING: the proxy wrote it (120 s bounds a hang)
	i=0
	until grep -qF -- "$1" "$S_OUT" || [ $i -ge 2400 ]; do sleep 0.05; i=$((i + 1)); done
}
send '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":1,"clientCapabilities":{}}}'
send '{"jsonrpc":"2.0","id":2,"method":"session/new","params":{"cwd":"'"$T_WORK"'","mcpServers":[]}}'
got '"id":2,'
SID=$(sed -n 's/.*"id":2,"result":{.*"sessionId":"\([^"]*\)".*/\1/p' "$S_OUT" | head -n 1)
run warp route $FROM
case "$(route_row $FROM)" in *"skipped  quota at 100% (five_hour, exhausted), resets $RESET_ISO") ok "warp serve: the signal after session/new is recorded" ;;
*) not_ok "warp serve: the signal after session/new is recorded" "$OUT" "$ERR" ;; esac
send '{"jsonrpc":"2.0","id":3,"method":"session/prompt","params":{"sessionId":"'"$SID"'","prompt":[{"type":"text","text":"serve me"}]}}'
got '"id":3,'
exec 3>&-
wait $S_PID
grep -q '"id":3,"result":{"stopReason":"end_turn"}' "$S_OUT" &&
    grep -q '"method":"_acpx/fallback","params":{"from":"'$FROM'","to":"'$TO'","reason":"quota"' "$S_OUT" &&
    ok "warp serve: the prompt moves to the next agent (_acpx/fallback, reason quota)" ||
    not_ok "warp serve: the prompt moves to the next agent" "$(cat "$S_OUT" "$T_ROOT/serr")"
[ "$(prompts kimi)" = 0 ] && grep -q '"text":"serve me"' "$REC_DIR/backup" &&
    ok "warp serve: the primary never receives the prompt, the next agent does" ||
    not_ok "warp serve: the primary never receives the prompt" "$(prompts kimi)" "$(cat "$REC_DIR/backup")"
grep -q "\"serving\": \"$TO\"" "$HOME/.acpx/warp/sessions/$SID.json" 2>/dev/null &&
    ok "warp serve: the session map names the new serving agent" ||
    not_ok "warp serve: the session map names the new serving agent" "$(cat "$HOME/.acpx/warp/sessions/$SID.json" 2>&1)"
done_testing
