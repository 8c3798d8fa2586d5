#!/bin/sh
# Provider-failure fallback for exec: a two-agent warp chain made
# of mock agents behind a fake harness (it picks the scenario by the model
# the launch step pinned). The first fails with a quota error mid-turn; the
# second must receive the continuation summary + the original prompt and
# finish. Also: the three output formats, cooldown recorded so the next
# exec starts on the second agent, --no-fallback, maxHops, an exhausted
# chain, codex's "successful" systemError turn, and a task failure that
# must not fall back.
. "$TESTS_SRCDIR/regress/lib.sh"
[ -x "$MOCK" ] || skip_all "mock agent not built"
warp_env_clean
SENTINEL="sk-SENTINEL-fb1fb2fb3fb4"
FROM=opencode-warp-infini-kimi
TO=opencode-warp-infini-glm
ARROW=$(printf '\342\206\222')

# The fake harness: the pinned model picks the scenario and record file.
cat >"$T_ROOT/harness.sh" <<'EOS'
#!/bin/sh
case "$OPENCODE_CONFIG_CONTENT" in
*'"model":"warp-infini/kimi-k2.5"'*) m=kimi; sc=$SC_KIMI ;;
*'"model":"warp-infini/glm-5"'*) m=glm; sc=$SC_GLM ;;
*) m=minimax; sc=$SC_MINIMAX ;;
esac
exec "$MOCK" --scenario "$sc" --record "$REC_DIR/$m"
EOS
chmod +x "$T_ROOT/harness.sh"
export REC_DIR="$T_ROOT/rec" MOCK
mkdir -p "$REC_DIR" "$T_ROOT/secrets" "$HOME/.acpx"
SECRETS="$T_ROOT/secrets/warp.env"
printf 'WARP_INFINI_API_KEY=%s\nWARP_INFINI_BASE_URL=http://127.0.0.1:9/v1\n' \
    "$SENTINEL" >"$SECRETS"
chmod 600 "$SECRETS"
# write_config MAXHOPS CHAIN-JSON
write_config() {
	cat >"$HOME/.acpx/config.json" <<EOC
{
  "agents": {"opencode": {"command": "$T_ROOT/harness.sh"}},
  "warp": {
    "envFile": "$SECRETS",
    "providers": {"infini": {"models": {"kimi": "kimi-k2.5", "glm": "glm-5", "minimax": "minimax-m2.5"}}},
    "fallback": {"$FROM": $2},
    "maxHops": $1,
    "cooldownSeconds": 600
  }
}
EOC
}
STATE="$HOME/.acpx/warp/state.json"
reset() { rm -rf "$REC_DIR"/* "$STATE"; }
export SC_KIMI="$SCENARIOS/fallback-quota.json"
export SC_GLM="$SCENARIOS/fallback-finish.json"
export SC_MINIMAX="$SCENARIOS/fallback-finish.json"
write_config 3 "[\"$TO\"]"
ALL="$T_ROOT/all"
: >"$ALL"
keep() { printf '%s\n%s\n' "$OUT" "$ERR" >>"$ALL"; }
# cooled PROVIDER MODEL REASON: the state file holds a cooldown entry for
# exactly that provider and model, with that reason, recorded by a fallback
# (the entry's keys in the order warp-state.c writes them; the file is
# indented, so it is compared with its blanks and newlines removed).
cooled() {
	set -- "$1" "$(printf %s "$2" | sed 's/\./\\./g')" "$3"
	tr -d ' \n' <"$STATE" 2>/dev/null | grep -q "{\"provider\":\"$1\",\"model\":\"$2\",\"until\":\"[^\"]*\",\"since\":\"[^\"]*\",\"reason\":\"$3\",\"source\":\"fallback\"}"
}
rec_prompt() {	# the first session/prompt a mock received
	grep '"method":"session/prompt"' "$REC_DIR/$1" 2>/dev/null | head -n 1
}

# ------------------------------------------------------------ text mode
reset
run --approve-all $FROM exec "do the task"
keep
expect_rc 0 "quota mid-turn falls back and the fallback finishes"
expect_out_has "[fallback] $FROM $ARROW $TO (quota-exhausted)" "text: the [fallback] line"
expect_out_has "finished by the fallback" "text: the fallback's answer is streamed"
P=$(rec_prompt glm)
case "$P" in
*'## Original goal\ndo the task'*) ok "fallback prompt has the original goal" ;;
*) not_ok "fallback prompt has the original goal" "got: $P" ;; esac
case "$P" in
*'## Completed steps\n- Read notes.txt (read)\n'*) ok "fallback prompt lists the completed step" ;;
*) not_ok "fallback prompt lists the completed step" "got: $P" ;; esac
case "$P" in
*"notes.txt (touched)"*"report.md (diff)"*) ok "fallback prompt lists the files" ;;
*) not_ok "fallback prompt lists the files" "got: $P" ;; esac
case "$P" in
*'## Provider failure\nsession/prompt error -32603: Internal error: You exceeded your current quota'*) ok "fallback prompt has the exact signal" ;;
*) not_ok "fallback prompt has the exact signal" "got: $P" ;; esac
case "$P" in
*'## Remaining work\n- Write the report\n'*) ok "fallback prompt has the unfinished plan entry" ;;
*) not_ok "fallback prompt has the unfinished plan entry" "got: $P" ;; esac
case "$P" in
*'"},{"type":"text","text":"do the task"}]'*) ok "the original prompt follows the summary" ;;
*) not_ok "the original prompt follows the summary" "got: $P" ;; esac
if cooled infini kimi-k2.5 quota-exhausted; then
	ok "cooldown recorded for infini/kimi-k2.5"
else not_ok "cooldown recorded for infini/kimi-k2.5" "$(cat "$STATE" 2>&1)"; fi

# The next exec starts on the fallback directly.
rm -rf "$REC_DIR"/*
run --approve-all $FROM exec "again"
keep
expect_rc 0 "next exec while cooling down"
expect_err_has "cooling down" "next exec says the first agent is cooling down"
expect_out_has "finished by the fallback" "next exec answered by the fallback"
if [ ! -e "$REC_DIR/kimi" ] && [ -e "$REC_DIR/glm" ]; then ok "next exec never started the cooling agent"
else not_ok "next exec never started the cooling agent" "$(ls "$REC_DIR")"; fi

# ------------------------------------------------------------ json mode
reset
run --format json --approve-all $FROM exec "do the task"
keep
expect_rc 0 "json: falls back"
expect_out_has "{\"jsonrpc\":\"2.0\",\"method\":\"_acpx/fallback\",\"params\":{\"from\":\"$FROM\",\"to\":\"$TO\",\"reason\":\"quota-exhausted\",\"summary\":\"[acpx fallback]" "json: the _acpx/fallback notification"
N=$(printf '%s\n' "$OUT" | grep -c '_acpx/fallback')
[ "$N" -eq 1 ] && ok "json: one notification" || not_ok "json: one notification" "got $N"
if printf '%s\n' "$OUT" | grep '_acpx/fallback' | python3 -c 'import json,sys; json.loads(sys.stdin.read())' 2>/dev/null ||
    ! command -v python3 >/dev/null; then ok "json: the notification is valid JSON"
else not_ok "json: the notification is valid JSON"; fi

# ------------------------------------------------------------ quiet mode
reset
run --format quiet --approve-all $FROM exec "do the task"
keep
expect_rc 0 "quiet: falls back"
expect_out "finished by the fallback
" "quiet: only the final answer"
expect_err_has "[acpx] fallback: $FROM $ARROW $TO (quota-exhausted)" "quiet: one stderr note"

# ------------------------------------------------------------ --no-fallback
reset
run --no-fallback --approve-all $FROM exec "do the task"
keep
[ "$RC" -ne 0 ] && ok "--no-fallback: the provider error fails the prompt" || not_ok "--no-fallback fails" "rc $RC"
case "$OUT" in *"[fallback]"*) not_ok "--no-fallback: no hop" "$OUT" ;; *) ok "--no-fallback: no hop" ;; esac
[ ! -e "$REC_DIR/glm" ] && ok "--no-fallback: the fallback agent never started" || not_ok "--no-fallback: fallback started"
[ -e "$REC_DIR/kimi" ] && ok "--no-fallback: the first agent ran" || not_ok "--no-fallback: the first agent ran" "$ERR"
expect_out_has "You exceeded your current quota" "--no-fallback: the provider error is shown"
cooled infini kimi-k2.5 quota-exhausted && ok "--no-fallback still records the cooldown" || not_ok "--no-fallback records the cooldown" "$(cat "$STATE" 2>&1)"

# ------------------------------------------------------------ maxHops
reset
export SC_GLM="$SCENARIOS/fallback-quota.json"
write_config 1 "[\"$TO\", \"opencode-warp-infini-minimax\"]"
run --approve-all $FROM exec "do the task"
keep
[ "$RC" -ne 0 ] && ok "maxHops 1: the second provider failure fails the prompt" || not_ok "maxHops fails" "rc $RC"
N=$(printf '%s\n' "$OUT" | grep -c '^\[fallback\]')
[ "$N" -eq 1 ] && ok "maxHops 1: exactly one hop" || not_ok "maxHops 1: exactly one hop" "got $N: $OUT"
expect_err_has "no fallback after 1 hop (warp.maxHops)" "maxHops: says why it stopped"
[ ! -e "$REC_DIR/minimax" ] && ok "maxHops: the third agent never started" || not_ok "maxHops: third started"

# ------------------------------------------------------------ exhausted chain
reset
write_config 3 "[\"$TO\"]"
run --approve-all $FROM exec "do the task"
keep
[ "$RC" -ne 0 ] && ok "exhausted chain fails the prompt" || not_ok "exhausted chain fails" "rc $RC"
expect_err_has "no agent of its fallback chain is left" "exhausted chain: says why"

# ------------------------------------------------------------ codex systemError turn
reset
export SC_KIMI="$SCENARIOS/fallback-system-error.json" SC_GLM="$SCENARIOS/fallback-finish.json"
run --approve-all $FROM exec "do the task"
keep
expect_rc 0 "systemError end_turn falls back"
expect_out_has "[fallback] $FROM $ARROW $TO (overloaded)" "systemError: the [fallback] line"
expect_out_has "finished by the fallback" "systemError: the fallback answers"

# ------------------------------------------------------------ task failure
reset
export SC_KIMI="$SCENARIOS/fallback-task-error.json"
run --approve-all $FROM exec "do the task"
keep
[ "$RC" -ne 0 ] && ok "task failure fails as before" || not_ok "task failure fails" "rc $RC"
case "$OUT$ERR" in *"fallback"*) not_ok "task failure: no fallback" "$OUT $ERR" ;; *) ok "task failure: no fallback" ;; esac
[ ! -e "$REC_DIR/glm" ] && ok "task failure: the fallback agent never started" || not_ok "task failure: fallback started"
[ ! -e "$STATE" ] || ! grep -q infini "$STATE" && ok "task failure: no cooldown" || not_ok "task failure: no cooldown" "$(cat "$STATE")"

# ------------------------------------------------------------ secrets
if grep -rqF "$SENTINEL" "$ALL" "$HOME" 2>/dev/null; then not_ok "the key never shows in output or under HOME"
else ok "the key never shows in output or under HOME"; fi

done_testing
