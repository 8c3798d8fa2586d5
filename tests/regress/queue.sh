#!/bin/sh
# Persistent prompts through the queue owner: start, reuse, FIFO, --no-wait,
# cancel, Ctrl-C, status, set-mode/set (owner and direct), TTL, overload,
# concurrent starts, recovery of a killed owner, back-to-back --ttl 0.1
# turns, the private socket directory, bad peers, and no orphans.
. "$TESTS_SRCDIR/regress/lib.sh"
[ -x "$MOCK" ] || skip_all "mock agent not built"

REC="$T_ROOT/agent.ndjson"
AGENT="$MOCK --supports-load-session --record $REC"
SOCKDIR=/tmp/acpx-$(printf '%s' "$HOME" | sha256sum | cut -c1-10)

( cd "$T_WORK" && git init -q . ) 2>/dev/null

q() { run --agent "$AGENT" "$@"; }

# Processes (other than us) whose working directory is under this test.
procs_here() {
	find /proc -mindepth 2 -maxdepth 2 -name cwd -lname "$T_ROOT*" 2>/dev/null |
	    wc -l
}
# Poll until no owner/agent of this test runs (the ceiling, ~120 s, only
# bounds a hang).
wait_quiet() {
	i=0
	while [ "$(procs_here)" -ne 0 ] && [ $i -lt 1200 ]; do
		sleep 0.1; i=$((i + 1))
	done
}
stop_owner() {
	p=$(owner_pid)
	[ -n "$p" ] && kill "$p" 2>/dev/null
	wait_quiet
}
# Poll for a condition (a shell command), at most ~120 s (a hang bound).
prompts_seen() {
	grep '"method":"session/prompt"' "$REC" 2>/dev/null |
	    sed 's/.*"text":"\([^"]*\)".*/\1/' | tr '\n' ' '
}

# ---------------------------------------------------------------- no session
run --agent "$AGENT" "hello"
expect_rc 4 "prompt without a session is NO_SESSION"
expect_err "$(printf '\342\232\240 No acpx session found (searched up to %s).\nCreate one: acpx codex sessions new' "$T_WORK")
" "prompt without a session"
q --format json cancel
expect_out '{"action":"cancel_result","acpxRecordId":"unknown","cancelled":false}
' "cancel without a session"
q status
expect_out "session: -
agent: $AGENT
pid: -
status: no-session
model: -
mode: -
uptime: -
lastPromptTime: -
" "status without a session"
q --format quiet status
expect_out "no-session
" "quiet status without a session"

q sessions new >/dev/null
SID=mock-session-1

# ---------------------------------------------------------------- first prompt
q --ttl 30 "echo hello world"
expect_rc 0 "first prompt starts an owner"
expect_out "[client] initialize (running)

[client] session/load (running)
hello world

[done] end_turn
" "first prompt output"
expect_err "[acpx] session cwd ($SID) · $T_WORK · agent starting
" "first prompt banner"
P1=$(owner_pid)
if [ -n "$P1" ] && kill -0 "$P1" 2>/dev/null; then ok "the owner outlives the prompt"
else not_ok "the owner outlives the prompt" "lease: $(cat "$(lease)" 2>&1)"; fi
m=$(stat -c %a "$SOCKDIR" 2>/dev/null)
if [ "$m" = 700 ]; then ok "socket directory is 0700"; else not_ok "socket directory is 0700" "mode $m"; fi

q status
expect_out_has "status: running" "status of a running owner"
expect_out_has "pid: $P1" "status shows the owner pid"
q --format json status
expect_out_has "{\"action\":\"status_snapshot\",\"status\":\"alive\",\"summary\":\"queue owner healthy\",\"acpxRecordId\":\"$SID\",\"acpxSessionId\":\"$SID\",\"pid\":$P1," \
    "json status of a running owner"
q --format quiet status
expect_out "running
" "quiet status of a running owner"

# ---------------------------------------------------------------- warm reuse
q --format quiet "echo again"
expect_out "again
" "second prompt on the warm owner"
expect_rc 0 "second prompt"
q "echo third"
expect_err "[acpx] session cwd ($SID) · $T_WORK · agent connected
" "banner says connected"
expect_out "third

[done] end_turn
" "a warm turn has no connect phase"
[ "$(owner_pid)" = "$P1" ] && ok "same owner for every turn" ||
    not_ok "same owner for every turn" "now $(owner_pid), was $P1"
expect_received "$REC" '{"received": [{"method": "initialize", "count": 2,
    "name": "one agent for all turns (and one for sessions new)"}]}'

# ---------------------------------------------------------------- cancel
q cancel
expect_out "nothing to cancel
" "cancel with nothing running"
( cd "$T_WORK" && "$ACPX" --agent "$AGENT" "sleep 30000" \
    >"$T_ROOT/slow.out" 2>&1; echo $? >"$T_ROOT/slow.rc" ) &
track_pid $!
poll 'grep -q "sleep 30000" "$REC"'
q cancel
expect_out "cancel requested
" "cancel of a running turn"
poll '[ -s "$T_ROOT/slow.rc" ]'
[ "$(cat "$T_ROOT/slow.rc")" = 0 ] && ok "the cancelled turn exits 0" ||
    not_ok "the cancelled turn exits 0" "$(cat "$T_ROOT/slow.rc" "$T_ROOT/slow.out")"
case "$(cat "$T_ROOT/slow.out")" in
*"[done] cancelled"*) ok "the cancelled turn shows [done] cancelled" ;;
*) not_ok "the cancelled turn shows [done] cancelled" "$(cat "$T_ROOT/slow.out")" ;;
esac

# Ctrl-C on a waiting prompt cancels that turn and exits 130.
: >"$T_ROOT/int.rc"
( cd "$T_WORK" && exec "$ACPX" --agent "$AGENT" "sleep 30001" \
    >"$T_ROOT/int.out" 2>&1 ) &
IP=$!
track_pid $IP
poll 'grep -q "sleep 30001" "$REC"'
kill -INT $IP
wait $IP
rc=$?
[ $rc = 130 ] && ok "Ctrl-C exits 130" || not_ok "Ctrl-C exits 130" "exit $rc"
poll '[ "$(grep -c "\"method\":\"session/cancel\"" "$REC")" = 2 ]'
expect_received "$REC" '{"received": [{"method": "session/cancel",
    "params": {"sessionId": "mock-session-1"}, "count": 2,
    "name": "Ctrl-C sent session/cancel through the owner"}]}'

# ---------------------------------------------------------------- FIFO, --no-wait
( cd "$T_WORK" && "$ACPX" --agent "$AGENT" --format quiet "sleep 300" \
    >"$T_ROOT/head.out" 2>&1 ) &
track_pid $!
poll 'grep -q "sleep 300\"" "$REC"'
q prompt --no-wait "echo one"
expect_rc 0 "--no-wait returns once queued"
case "$OUT" in "[queued] "*) ok "--no-wait text output" ;;
*) not_ok "--no-wait text output" "$OUT" ;; esac
q --format json prompt --no-wait "echo two"
expect_out_has "{\"action\":\"prompt_queued\",\"acpxRecordId\":\"$SID\",\"requestId\":\"" \
    "--no-wait json output"
q --format quiet prompt --no-wait "echo three"
expect_out "" "--no-wait quiet output"
q --format quiet "echo four"
expect_out "four
" "a waiting prompt after queued ones"
got=$(prompts_seen | sed 's/.*sleep 300 //')
[ "$got" = "echo one echo two echo three echo four " ] &&
    ok "prompts run in FIFO order" || not_ok "prompts run in FIFO order" "$got"

# ---------------------------------------------------------------- set-mode, set
q set-mode plan
expect_out "mode set: plan
" "set-mode through the owner"
expect_received "$REC" '{"received": [{"method": "session/set_mode",
    "params": {"sessionId": "mock-session-1", "modeId": "plan"}, "count": 1,
    "name": "the owner sent session/set_mode"}]}'
grep -q '"desired_mode_id": "plan"' "$HOME/.acpx/sessions/$SID.json" &&
    ok "the owner saved the desired mode" || not_ok "the owner saved the desired mode"
q --format json set effort high
expect_out "{\"action\":\"config_set\",\"configId\":\"effort\",\"value\":\"high\",\"resumed\":false,\"configOptions\":[],\"acpxRecordId\":\"$SID\",\"acpxSessionId\":\"$SID\"}
" "set through the owner (json)"
q set model m2
expect_rc 1 "set model without advertised models"
expect_err "Cannot set model \"m2\": the ACP session did not advertise a model config option or legacy session/set_model support.
hint: rerun with \`--verbose\` to capture the ACP method/error details before retrying.
" "set model error"

# ---------------------------------------------------------------- overload
# The queue is filled deterministically: a turn the agent holds open until
# it is cancelled, and one queued prompt; only then do the extra clients come.
stop_owner
echo '{"queueMaxDepth": 1}' >"$T_WORK/.acpxrc.json"
rm -f "$T_ROOT/held.rc"
( cd "$T_WORK" && "$ACPX" --agent "$AGENT" --format quiet "sleep 30003" \
    >/dev/null 2>&1; echo $? >"$T_ROOT/held.rc" ) &
track_pid $!
poll 'grep -q "sleep 30003" "$REC"'
q prompt --no-wait "echo queued"
expect_rc 0 "one prompt may wait"
q "echo too many"
expect_rc 1 "overload exits 1"
expect_out "[error] RUNTIME: Queue owner is overloaded (1/1 queued)
" "overload error (text)"
q --format json "echo too many"
expect_out "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32603,\"message\":\"Queue owner is overloaded (1/1 queued)\",\"data\":{\"acpxCode\":\"RUNTIME\",\"detailCode\":\"QUEUE_OWNER_OVERLOADED\",\"origin\":\"queue\",\"retryable\":true,\"sessionId\":\"$SID\"}}}
" "overload error (json)"
rm -f "$T_WORK/.acpxrc.json"
q cancel
# Stop the owner only once it is idle: the held turn ended and the queued
# one ran to its end (as many turn results as turns started).
J="$HOME/.acpx/sessions/$SID.stream.ndjson"
poll '[ -s "$T_ROOT/held.rc" ] && grep -q "echo queued" "$REC" &&
    [ "$(grep -c turn_result "$J")" = "$(grep -c turn_started "$J")" ]'
stop_owner

# ---------------------------------------------------------------- set-mode directly
q set-mode code
expect_out "mode set: code
" "set-mode without an owner connects directly"
q --format quiet status
# "idle"; or "dead" only because the agent outlived the 100 ms it is given
# to exit after its stdin closes (as in the reference) and was SIGTERMed
# (then SIGKILLed after 1.5 s), which a loaded sanitizer build can take:
# never because of an owner lease.
case "$OUT" in
"idle
") ok "no owner is left behind by a direct set-mode" ;;
"dead
")	if [ -z "$(lease)" ] && grep -Eq '"(last_agent_exit_signal|lastAgentExitSignal)": "SIG(TERM|KILL)"' \
	    "$HOME/.acpx/sessions/$SID.json"; then
		ok "no owner is left behind by a direct set-mode (the agent needed a signal)"
	else not_ok "no owner is left behind by a direct set-mode" "status dead" \
	    "lease: $(lease)" "$(cat "$HOME/.acpx/sessions/$SID.json")"; fi ;;
*) not_ok "no owner is left behind by a direct set-mode" "status: $OUT" ;;
esac
[ "$(procs_here)" = 0 ] && ok "the direct path stopped its agent" ||
    not_ok "the direct path stopped its agent" "$(procs_here) processes"

# ---------------------------------------------------------------- TTL
q --ttl 0.2 "echo ttl"
expect_rc 0 "prompt with --ttl 0.2"
poll '[ -z "$(lease)" ]'
[ -z "$(lease)" ] && ok "the owner exits after its TTL" ||
    not_ok "the owner exits after its TTL" "$(cat "$(lease)")"
wait_quiet
[ "$(procs_here)" = 0 ] && ok "TTL expiry leaves no process" ||
    not_ok "TTL expiry leaves no process" "$(procs_here) processes"

# --ttl 0.1 back to back (the reference fails the second with "queue owner
# is shutting down"): every turn succeeds.
fails=0
for i in 1 2 3 4 5; do
	q --ttl 0.1 --format quiet "echo b2b$i"
	[ "$RC" = 0 ] && [ "$OUT" = "b2b$i
" ] || fails=$((fails + 1))
done
[ $fails = 0 ] && ok "--ttl 0.1 back-to-back turns all succeed" ||
    not_ok "--ttl 0.1 back-to-back turns all succeed" "$fails failed; last: $OUT $ERR"
wait_quiet

# ---------------------------------------------------------------- races and recovery
: >"$REC"
for i in 1 2 3; do
	( cd "$T_WORK" && "$ACPX" --agent "$AGENT" --ttl 30 --format quiet \
	    "echo race$i" >"$T_ROOT/race$i.out" 2>&1; echo $? >"$T_ROOT/race$i.rc" ) &
	track_pid $!
done
poll '[ -s "$T_ROOT/race1.rc" ] && [ -s "$T_ROOT/race2.rc" ] && [ -s "$T_ROOT/race3.rc" ]'
[ "$(cat "$T_ROOT"/race?.rc | tr -d '\n')" = 000 ] && ok "concurrent first prompts all succeed" ||
    not_ok "concurrent first prompts all succeed" "$(cat "$T_ROOT"/race?.rc "$T_ROOT"/race?.out)"
expect_received "$REC" '{"received": [{"method": "initialize", "count": 1,
    "name": "concurrent first prompts end on one owner"}]}'

P2=$(owner_pid)
kill -9 "$P2"
poll '! kill -0 '"$P2"' 2>/dev/null'
q --format quiet --ttl 30 "echo recovered"
expect_out "recovered
" "a killed owner's stale lease and socket are recovered"
P3=$(owner_pid)
[ -n "$P3" ] && [ "$P3" != "$P2" ] && ok "a new owner replaced the killed one" ||
    not_ok "a new owner replaced the killed one" "$P3 vs $P2"

# A crashed agent is respawned and the session loaded again on the next prompt.
n0=$(grep -c '"method":"session/load"' "$REC")
for p in /proc/[0-9]*; do
	case "$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)" in
	"$MOCK --supports-load-session --record $REC"*) kill -9 "${p#/proc/}" ;;
	esac
done
q --format quiet "echo respawned"
expect_out "respawned
" "a crashed agent is respawned on the next prompt"
expect_received "$REC" '{"received": [{"method": "session/load",
    "params": {"sessionId": "mock-session-1"}, "match": "subset",
    "count": '$((n0 + 1))', "name": "the respawned agent loads the session"}]}'

# A client that disconnects mid-turn: the turn completes and is journaled.
( cd "$T_WORK" && exec "$ACPX" --agent "$AGENT" "sleep 500" >/dev/null 2>&1 ) &
DP=$!
track_pid $DP
poll 'grep -q "sleep 500\"" "$REC"'
kill -9 $DP
poll 'grep -q "\"type\":\"turn_result\".*end_turn" "$HOME/.acpx/sessions/$SID.stream.ndjson" &&
    [ "$(grep -c turn_result "$HOME/.acpx/sessions/$SID.stream.ndjson")" = \
    "$(grep -c turn_started "$HOME/.acpx/sessions/$SID.stream.ndjson")" ]'
last=$(grep turn_result "$HOME/.acpx/sessions/$SID.stream.ndjson" | tail -n 1)
case "$last" in *'"status":"completed"'*) ok "a turn whose client left completes and is journaled" ;;
*) not_ok "a turn whose client left completes and is journaled" "$last" ;; esac

# An owner killed mid-turn leaves a record the next prompt can use.
( cd "$T_WORK" && "$ACPX" --agent "$AGENT" --format quiet "sleep 30002" \
    >"$T_ROOT/killed.out" 2>&1; echo $? >"$T_ROOT/killed.rc" ) &
track_pid $!
poll 'grep -q "sleep 30002" "$REC"'
kill -9 "$(owner_pid)"
poll '[ -s "$T_ROOT/killed.rc" ]'
[ "$(cat "$T_ROOT/killed.rc")" = 1 ] && ok "the waiting client of a killed owner fails" ||
    not_ok "the waiting client of a killed owner fails" "$(cat "$T_ROOT/killed.rc" "$T_ROOT/killed.out")"
q --format quiet --ttl 30 "echo after kill -9"
expect_out "after kill -9
" "the next prompt after an owner was killed mid-turn"

# Many clients at once: the queue bound holds, the owner survives.
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25; do
	( cd "$T_WORK" && "$ACPX" --agent "$AGENT" --format quiet "echo many$i" \
	    >/dev/null 2>&1; echo $? >"$T_ROOT/many$i.rc" ) &
	track_pid $!
done
poll '[ "$(cat "$T_ROOT"/many*.rc 2>/dev/null | wc -l)" = 25 ]'
bad=$(cat "$T_ROOT"/many*.rc | grep -vc '^[01]$')
good=$(cat "$T_ROOT"/many*.rc | grep -c '^0$')
[ "$bad" = 0 ] && [ "$good" -ge 17 ] && ok "25 clients at once: accepted ones complete, the rest are refused" ||
    not_ok "25 clients at once: accepted ones complete, the rest are refused" "$good ok, $bad odd"
q --format quiet "echo survived"
expect_out "survived
" "the owner survives a burst of clients"

# ---------------------------------------------------------------- bad peers
if command -v perl >/dev/null 2>&1; then
	sock=$(sed -n 's/^  "socketPath": "\(.*\)",$/\1/p' "$(lease)")
	reply=$(perl -MIO::Socket::UNIX -e '
	    my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die "connect: $!";
	    print $s "not json\n"; local $/; print scalar <$s>;' "$sock")
	case "$reply" in
	*'"detailCode":"QUEUE_REQUEST_PAYLOAD_INVALID_JSON"'*) ok "garbage gets an error reply" ;;
	*) not_ok "garbage gets an error reply" "$reply" ;;
	esac
	perl -MIO::Socket::UNIX -e '
	    my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die;
	    print $s "{\"type\":\"submit_prompt\""; close $s;' "$sock"
	perl -MIO::Socket::UNIX -e '
	    my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die;
	    print $s ("x" x 100000); close $s;' "$sock"
	q --format quiet "echo still alive"
	expect_out "still alive
" "the owner survives garbage and truncated peers"
fi

# ---------------------------------------------------------------- private socket dir
stop_owner
chmod 0750 "$SOCKDIR"
q --format quiet "echo insecure"
expect_rc 1 "a group-accessible socket directory is refused"
expect_err_has "refusing to use it" "socket directory refusal message"
chmod 0700 "$SOCKDIR"

# ---------------------------------------------------------------- no orphans
stop_owner
[ "$(procs_here)" = 0 ] && ok "no orphan processes" ||
    not_ok "no orphan processes" "$(procs_here) processes"
rm -rf "$SOCKDIR"
done_testing
