#!/bin/sh
# The event log ~/.acpx/events.ndjson and `acpx events`: every event kind
# is produced by a real run (exec, a queue owner, a Warp fallback chain of
# mock agents, a stall) and read back in text and json; -s and --since
# filter; a bad --since is a usage error (exit 2); a corrupt or truncated
# line is skipped with one warning; the log rotates by size
# (ACPX_EVENT_LOG_MAX_BYTES) and `events` reads both files; a full disk
# (the fault shim's ENOSPC) never fails a turn and logging resumes after;
# --follow prints what is appended (it waits on the file, no polling
# loop here: the test waits for the line with a hang ceiling); a
# malformed session/update mid-turn neither fails nor stops the turn, is
# counted and logged, and shown once under --verbose. No secret of the
# Warp chain enters the log.
. "$TESTS_SRCDIR/regress/lib.sh"
[ -x "$MOCK" ] || skip_all "mock agent not built"
warp_env_clean
unset ACPX_EVENT_LOG_MAX_BYTES
LOG="$HOME/.acpx/events.ndjson"
SHIM=$(dirname "$ACPX")/tests/faults/faultshim.so
# The shim is preloaded before a sanitizer's runtime (as in faults.sh).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"

# has EVENT [SUBSTRING...]: a json line of the log (as `acpx events
# --format json` prints it, in $OUT) for EVENT carrying every substring.
has() {
	h_ev=$1; shift
	h_l=$(printf '%s\n' "$OUT" | grep -F "\"event\":\"$h_ev\"")
	for h_s in "$@"; do h_l=$(printf '%s\n' "$h_l" | grep -F -- "$h_s"); done
	[ -n "$h_l" ]
}
check() {	# check NAME EVENT [SUBSTRING...]
	c_name=$1; shift
	has "$@" && ok "$c_name" || not_ok "$c_name" "want: $*" "log: $OUT"
}

# ------------------------------------------------------------ exec
run --approve-all --agent "$(mock_cmd permission-write.json)" exec "write it"
expect_rc 0 "exec with a permission request"
run --format json events
expect_rc 0 "events --format json"
check "agent.spawned: argv0, harness, agent pid" agent.spawned \
    '"proc":"exec"' '"argv0":"mock-agent"' '"harness":"mock-agent"' '"agentPid":'
check "agent.initialized: ms" agent.initialized '"ms":' '"protocolVersion":1'
check "session.created: the ACP session id" session.created \
    '"acpSessionId":"mock-session-1"'
check "turn.started" turn.started '"proc":"exec"'
check "permission.asked: tool kind and title" permission.asked \
    '"toolKind":"edit"' '"title":"Write a.txt"'
check "permission.granted: the policy that decided" permission.granted \
    '"policy":"approve-all"'
check "turn.ended: stop reason and ms" turn.ended '"stopReason":"end_turn"' '"ms":'
# (Its exit status depends on how soon it took stdin EOF: 0 or SIGTERM.)
check "agent.exited: code and signal" agent.exited '"code":' '"signal":'
n=$(printf '%s\n' "$OUT" | grep -c '^{"ts":"[0-9-]*T[0-9:.]*Z","event":')
[ "$n" -eq 8 ] && ok "eight events, each a JSON object with ts and event first" ||
    not_ok "eight events, each a JSON object with ts and event first" "$OUT"

run --deny-all --agent "$(mock_cmd permission-write.json)" exec "write it"
expect_rc 5 "exec with the permission denied"
run --format json events
check "permission.denied: deny-all decided" permission.denied '"policy":"deny-all"' \
    '"toolKind":"edit"'

run --agent "$(mock_cmd crash-mid-turn.json)" exec "crash"
[ "$RC" -ne 0 ] && ok "exec whose agent exits 1 mid-turn fails (exit $RC)" ||
    not_ok "exec whose agent exits 1 mid-turn fails" "exit 0"
printf '{"default_turn": [{"chunk": "bye"}, {"signal": "SIGKILL"}]}\n' \
    >"$T_ROOT/killed.json"
run --agent "$(mock_cmd "$T_ROOT/killed.json")" exec "die"
[ "$RC" -ne 0 ] && ok "exec whose agent is SIGKILLed mid-turn fails (exit $RC)" ||
    not_ok "exec whose agent is SIGKILLed mid-turn fails" "exit 0"
run --format json events
check "agent.exited: an exit code" agent.exited '"code":1,"signal":null'
check "agent.exited: a signal" agent.exited '"code":null,"signal":"SIGKILL"'
# Those two runs' 14 events stay out of the counts below.
mv "$LOG" "$T_ROOT/crashes.ndjson"
head -n 16 "$T_ROOT/crashes.ndjson" >"$LOG"

run events
expect_rc 0 "events (text)"
case "$OUT" in
*"Z permission.denied   exec:"*" toolKind=edit title=\"Write a.txt\" policy=deny-all"*)
	ok "text: one readable line per event" ;;
*) not_ok "text: one readable line per event" "$OUT" ;; esac
[ "$(printf '%s' "$OUT" | grep -c .)" -eq 16 ] && ok "text: 16 lines for 16 events" ||
    not_ok "text: 16 lines for 16 events" "$OUT"

# ------------------------------------------------------------ adapter noise
run --verbose --agent "$(mock_cmd invalid-update.json)" exec "go"
expect_rc 0 "a malformed session/update mid-turn: the turn completes"
expect_out_has "before after" "the turn's text before and after the malformed updates"
expect_out_has "[done] end_turn" "the turn ends end_turn"
n=$(printf '%s\n' "$ERR" | grep -c 'ignoring a malformed session/update (usage_update)')
[ "$n" -eq 1 ] && ok "--verbose says it once" || not_ok "--verbose says it once" "$ERR"
run --format json events
check "update.invalid is logged once" update.invalid '"sessionUpdate":"usage_update"'
[ "$(printf '%s\n' "$OUT" | grep -c '"event":"update.invalid"')" -eq 1 ] &&
    ok "one update.invalid for two malformed updates" ||
    not_ok "one update.invalid for two malformed updates" "$OUT"
check "turn.ended counts them and carries the tokens" turn.ended \
    '"invalidUpdates":2' '"tokens":{"inputTokens":12,"outputTokens":34,"totalTokens":46}'

# The same through a queue owner: the prompt's client gets the whole turn.
run --agent "$(mock_cmd invalid-update.json)" sessions new --name noisy
run --agent "$(mock_cmd invalid-update.json)" --verbose --ttl 0.3 prompt -s noisy "go"
expect_rc 0 "a malformed session/update in an owner's turn: the prompt completes"
expect_out_has "before after" "the owner's turn: text before and after them"
n=$(printf '%s\n' "$ERR" | grep -c 'ignoring a malformed session/update (usage_update)')
[ "$n" -eq 1 ] && ok "prompt --verbose says it once too" ||
    not_ok "prompt --verbose says it once too" "$ERR"
wait_owners_gone
run --format json events -s noisy
check "the owner's turn.ended counts them" turn.ended '"proc":"owner"' '"invalidUpdates":2'

# ------------------------------------------------------------ a queue owner
run --agent "$(mock_cmd hello.json)" sessions new --name ev1
expect_rc 0 "sessions new ev1"
run --agent "$(mock_cmd hello.json)" --ttl 0.3 prompt -s ev1 "hi"
expect_rc 0 "a prompt through the queue owner (TTL 0.3 s)"
wait_owners_gone
run --format json events -s ev1
expect_rc 0 "events -s ev1"
check "owner.started" owner.started '"proc":"owner"' '"name":"ev1"' '"ttlMs":300'
check "the owner's agent.spawned names the session" agent.spawned '"proc":"owner"' '"name":"ev1"'
check "the owner's turn.ended" turn.ended '"proc":"owner"' '"stopReason":"end_turn"'
check "owner.stopped: reason ttl" owner.stopped '"reason":"ttl"'
[ "$(printf '%s' "$OUT" | grep -c .)" -eq "$(printf '%s' "$OUT" | grep -c '"name":"ev1"')" ] &&
    ok "-s keeps only that session's events" ||
    not_ok "-s keeps only that session's events" "$OUT"
has session.loaded || has session.created '"proc":"owner"' &&
    ok "the owner created or loaded the session" ||
    not_ok "the owner created or loaded the session" "$OUT"
run --agent "$(mock_cmd hello.json)" sessions close ev1
run --format json events -s ev1
check "session.closed" session.closed '"name":"ev1"'
run events -s no-such-session
[ "$RC" -eq 0 ] && [ -z "$OUT" ] && ok "-s of an unknown session: nothing, exit 0" ||
    not_ok "-s of an unknown session: nothing, exit 0" "rc $RC: $OUT"

# ------------------------------------------------------------ --since
run events --since 1d
[ "$(printf '%s\n' "$OUT" | grep -c .)" -gt 20 ] && ok "--since 1d: everything" ||
    not_ok "--since 1d: everything" "$OUT"
run events --since 2099-01-01T00:00:00Z
[ "$RC" -eq 0 ] && [ -z "$OUT" ] && ok "--since a future ISO time: nothing" ||
    not_ok "--since a future ISO time: nothing" "rc $RC: $OUT"
run events --since 2000-01-01
[ "$(printf '%s\n' "$OUT" | grep -c .)" -gt 20 ] && ok "--since an ISO date" ||
    not_ok "--since an ISO date" "$OUT"
run events --since yesterday
expect_rc 2 "--since that is not a time is a usage error"
expect_err_has '--since must be an ISO 8601 time' "--since: the message"
run --format json events --since 10x
expect_rc 2 "--since 10x (json)"
expect_out_has '"acpxCode":"USAGE"' "--since 10x: a USAGE error object"

# ------------------------------------------------------------ Warp events
cat >"$T_ROOT/harness.sh" <<'EOS'
#!/bin/sh
case "$OPENCODE_CONFIG_CONTENT" in
*'"model":"warp-infini/kimi-k2.5"'*) sc=$SC_KIMI ;;
*) sc=$SCENARIOS/fallback-finish.json ;;
esac
exec "$MOCK" --scenario "$sc"
EOS
chmod +x "$T_ROOT/harness.sh"
export MOCK SCENARIOS
SENTINEL="sk-SENTINEL-ev7e1c9a"
mkdir -p "$T_ROOT/secrets"
printf 'WARP_INFINI_API_KEY=%s\nWARP_INFINI_BASE_URL=http://127.0.0.1:9/v1\n' \
    "$SENTINEL" >"$T_ROOT/secrets/warp.env"
chmod 600 "$T_ROOT/secrets/warp.env"
warp_config() {	# warp_config STALL-SECONDS
	cat >"$HOME/.acpx/config.json" <<EOC
{
  "agents": {"opencode": {"command": "$T_ROOT/harness.sh"}},
  "warp": {
    "envFile": "$T_ROOT/secrets/warp.env",
    "providers": {"infini": {"models": {"kimi": "kimi-k2.5", "glm": "glm-5"}}},
    "fallback": {"opencode-warp-infini-kimi": ["opencode-warp-infini-glm"]},
    "stallSeconds": $1,
    "cooldownSeconds": 600
  }
}
EOC
}
warp_config 0
export SC_KIMI="$SCENARIOS/fallback-quota.json"
run --approve-all opencode-warp-infini-kimi exec "do the task"
expect_rc 0 "a Warp exec that falls back"
rm -f "$HOME/.acpx/warp/state.json"
warp_config 1
export SC_KIMI="$SCENARIOS/wait-cancel-silent.json"
run --approve-all opencode-warp-infini-kimi exec "do the task"
expect_rc 0 "a Warp exec whose first agent stalls"
rm -f "$HOME/.acpx/config.json"
run --format json events
check "provider.failed: which agent and why" provider.failed \
    '"warpAgent":"opencode-warp-infini-kimi"' '"reason":"quota-exhausted"'
check "fallback.hop: from, to, reason, hop" fallback.hop \
    '"from":"opencode-warp-infini-kimi"' '"to":"opencode-warp-infini-glm"' '"hop":1'
check "warp.serving: the Warp agent a prompt starts on" warp.serving \
    '"warpAgent":"opencode-warp-infini-kimi"'
check "stall.detected" stall.detected '"warpAgent":"opencode-warp-infini-kimi"' \
    '"stallSeconds":1'
check "the stall is a provider failure too" provider.failed '"reason":"stalled"'
grep -q -F "$SENTINEL" "$LOG" && not_ok "no Warp key in the event log" ||
    ok "no Warp key in the event log"

# ------------------------------------------------------------ corrupt lines
printf '{"ts":"2026-01-01T00:00:00.000Z","event":"x.y","pid":1}\nnot json at all\n[1,2]\n{"ts":"trunc' >>"$LOG"
run events
expect_rc 0 "a log with corrupt lines still reads"
n=$(printf '%s\n' "$ERR" | grep -c 'skipping a corrupt line')
[ "$n" -eq 1 ] && ok "one warning for three corrupt lines" ||
    not_ok "one warning for three corrupt lines" "$ERR"
expect_out_has "x.y " "the valid line among them is shown"
run --format json events
before=$(printf '%s' "$OUT" | grep -c .)
run --agent "$(mock_cmd hello.json)" exec "after the truncated line"
run --format json events
# All six events of that exec, its first one too.
[ "$(printf '%s' "$OUT" | grep -c .)" -eq $((before + 6)) ] &&
    ok "the next event is not glued to a truncated last line" ||
    not_ok "the next event is not glued to a truncated last line" "$(tail -n 8 "$LOG")"
n=$(printf '%s\n' "$ERR" | grep -c 'skipping a corrupt line')
[ "$n" -eq 1 ] && ok "the truncated line alone is still skipped, with one warning" ||
    not_ok "the truncated line alone is still skipped, with one warning" "$ERR"

# ------------------------------------------------------------ rotation
# 40 filler events of 100 bytes: 4000 bytes, under a limit of 4096.
rm -f "$LOG" "$LOG.1"
i=0
while [ $i -lt 40 ]; do
	printf '{"ts":"2026-01-01T00:00:00.000Z","event":"x.fill","pid":1,"pad":"%043d"}\n' $i
	i=$((i + 1))
done >"$LOG"
ACPX_EVENT_LOG_MAX_BYTES=4096; export ACPX_EVENT_LOG_MAX_BYTES
run --agent "$(mock_cmd hello.json)" exec "at the limit"
unset ACPX_EVENT_LOG_MAX_BYTES
expect_rc 0 "exec at the size limit"
[ -f "$LOG.1" ] && [ "$(grep -c '"x.fill"' "$LOG.1")" -eq 40 ] &&
    [ "$(grep -c . "$LOG.1")" -eq 40 ] &&
    ok "the full log was rotated to events.ndjson.1, whole" ||
    not_ok "the full log was rotated to events.ndjson.1, whole" "$(ls -l "$HOME/.acpx")"
[ "$(grep -c . "$LOG")" -eq 6 ] && ! grep -q x.fill "$LOG" &&
    ok "the new file holds the newer events" ||
    not_ok "the new file holds the newer events" "$(cat "$LOG")"
run events --format json
[ "$(printf '%s' "$OUT" | grep -c .)" -eq 46 ] &&
    ok "events reads the rotated file, then the current one" ||
    not_ok "events reads the rotated file, then the current one" "$OUT"

# ------------------------------------------------------------ a full disk
if [ -f "$SHIM" ]; then
	before=$(wc -c <"$LOG")
	LD_PRELOAD="$SHIM" FAULTSHIM_PATTERN="$LOG" FAULTSHIM_ERRNO=ENOSPC \
	    FAULTSHIM_OPS=write,open run --agent "$(mock_cmd hello.json)" exec "disk full"
	expect_rc 0 "a full disk while logging never fails the turn"
	expect_out_has "hello world" "the turn's answer with the log unwritable"
	[ "$(wc -c <"$LOG")" -eq "$before" ] && ok "nothing was logged meanwhile" ||
	    not_ok "nothing was logged meanwhile" "$(tail -n 3 "$LOG")"
	run --agent "$(mock_cmd hello.json)" exec "disk back"
	[ "$(wc -c <"$LOG")" -gt "$before" ] && ok "logging resumes once it can write" ||
	    not_ok "logging resumes once it can write"
else
	ok "# SKIP the fault shim is not built"
fi

# ------------------------------------------------------------ --follow
rm -f "$LOG" "$LOG.1"
( cd "$T_WORK" && exec "$ACPX" --format json events --follow \
    >"$T_ROOT/follow.out" 2>"$T_ROOT/follow.err" ) &
FPID=$!
track_pid $FPID
# The follower may start after the run: it reads the file from its start,
# so it sees the run's events either way.
run --agent "$(mock_cmd hello.json)" exec "followed"
i=0
while ! grep -q '"event":"agent.exited"' "$T_ROOT/follow.out" && [ $i -lt 1200 ]; do
	sleep 0.1; i=$((i + 1))
done
grep -q '"event":"turn.ended"' "$T_ROOT/follow.out" &&
    [ "$(grep -c '"event":"agent.exited"' "$T_ROOT/follow.out")" -eq 1 ] &&
    ok "--follow prints the events of a run" ||
    not_ok "--follow prints the events of a run" "$(cat "$T_ROOT/follow.out" "$T_ROOT/follow.err")"
# A rotation under the follower: it goes on with the new file.
mv "$LOG" "$LOG.1"
run --agent "$(mock_cmd hello.json)" exec "after rotation"
i=0
while [ "$(grep -c '"event":"agent.exited"' "$T_ROOT/follow.out")" -lt 2 ] && [ $i -lt 1200 ]; do
	sleep 0.1; i=$((i + 1))
done
[ "$(grep -c '"event":"agent.exited"' "$T_ROOT/follow.out")" -eq 2 ] &&
    ok "--follow follows a rotation" ||
    not_ok "--follow follows a rotation" "$(cat "$T_ROOT/follow.out")"
kill -TERM $FPID
wait $FPID
rc=$?
[ "$rc" -eq 0 ] && ok "--follow ends with exit 0 on SIGTERM" ||
    not_ok "--follow ends with exit 0 on SIGTERM" "exit $rc"

# ------------------------------------------------------------ modes
[ "$(stat -c %a "$LOG")" = 600 ] && ok "the log is 0600" ||
    not_ok "the log is 0600" "$(stat -c %a "$LOG")"
done_testing
