#!/bin/sh
# The host-wide agent cap (maxConcurrentAgents, agents.<id>.maxConcurrent):
# with a cap of 1, three prompts on three sessions are all served, in the
# order they came, never two agents at once (the agents' own start/end
# log, written by their wrapper around the mock agent); the waiting prompt
# says so on stderr; --no-wait refuses with HOST_AT_CAPACITY (exit 7); an
# idle owner's agent is stopped, least recently used first, when a waiting
# turn needs its slot, and its session is loaded again on its next prompt;
# a SIGKILLed slot holder leaves no slot behind, and so does an idle
# owner's agent killed by SIGKILL (at once, not at its next turn); bad
# caps are config errors naming the key. Every agent acpx starts counts:
# sessions new (and --no-wait), a direct set-mode, warp serve's harness
# and compare wait in the same FIFO (never two mock agents in /proc at once). Turns are held open by the mock agent (a file
# each waits for), never by sleeping.
. "$TESTS_SRCDIR/regress/lib.sh"
[ -x "$MOCK" ] || skip_all "mock agent not built"
command -v flock >/dev/null 2>&1 || skip_all "flock(1) not installed"
export LOG="$T_ROOT/agents.log" MOCK
cat >"$T_ROOT/hold.json" <<'EOF'
{"default_turn": [{"wait_file": "{{cwd}}/go"}, {"chunk": "served"}]}
EOF
export SC="$T_ROOT/hold.json"
# The agent: the mock, with a line in the log when it starts and when it
# has ended (a TERM from its owner's close is passed on to the mock and
# waited for, so "end" is written after the mock is gone).
cat >"$T_ROOT/agent.sh" <<'EOF'
#!/bin/sh
echo "start ${PWD##*/}" >>"$LOG"
echo $$ >"$PWD/agent.pid"
exec 3<&0
"$MOCK" --scenario "$SC" --record "$PWD/rec" --supports-load-session \
    --session-id "s-${PWD##*/}" <&3 3<&- &
m=$!
exec 3<&-
trap 'kill -TERM $m 2>/dev/null' TERM
wait $m
while kill -0 $m 2>/dev/null; do wait $m; done
echo "end ${PWD##*/}" >>"$LOG"
EOF
chmod +x "$T_ROOT/agent.sh"
AG="$T_ROOT/agent.sh"
SLOTS="$HOME/.acpx/slots"
mkdir -p "$HOME/.acpx"
cap() { printf '{"maxConcurrentAgents": %s}\n' "$1" >"$HOME/.acpx/config.json"; }
tickets() { ls "$SLOTS/queue" 2>/dev/null | wc -l; }
# The most agents the log shows running at once.
most() {
	awk '$1 == "start" { n++; if (n > m) m = n } $1 == "end" { n-- } END { print m + 0 }' "$LOG"
}
started() { grep -c "^start $1\$" "$LOG" 2>/dev/null; }
bg_prompt() {	# bg_prompt DIR TEXT [args]: a prompt in the background
	d=$1; t=$2; shift 2
	( cd "$T_WORK" && exec "$ACPX" --agent "$AG" --cwd "$T_WORK/$d" --ttl 300 \
	    --approve-all "$@" prompt "$t" >"$T_ROOT/$d.out" 2>"$T_ROOT/$d.err" ) &
	track_pid $!
	eval "BG_$d=$!"
}

# ------------------------------------------------------------ config errors
cap 0
run --agent "$AG" sessions list
expect_rc 1 "a cap of 0 is a config error"
expect_err_has "Invalid config maxConcurrentAgents in $HOME/.acpx/config.json" "the error names the key"
cap -2
run --agent "$AG" sessions list
expect_rc 1 "a negative cap is a config error"
printf '{"agents": {"mock": {"command": "x", "maxConcurrent": 0}}}\n' >"$HOME/.acpx/config.json"
run --agent "$AG" sessions list
expect_rc 1 "an agent cap of 0 is a config error"
expect_err_has "Invalid config agents.mock.maxConcurrent" "the error names the agent's key"
rm -f "$HOME/.acpx/config.json"
printf '{"maxConcurrentAgents": 2}\n' >"$T_WORK/.acpxrc.json"
run --agent "$AG" sessions list
expect_rc 1 "a host-wide cap in a project file is a config error"
expect_err_has "belongs in the global config" "... saying where it belongs"
rm -f "$T_WORK/.acpxrc.json"

# ------------------------------------------------------------ cap 1, three sessions
for d in w1 w2 w3 w4; do
	mkdir -p "$T_WORK/$d"
	run --agent "$AG" --cwd "$T_WORK/$d" sessions new
	[ "$RC" = 0 ] || not_ok "sessions new in $d" "$ERR"
done
: >"$LOG"
cap 1
bg_prompt w1 one
poll '[ "$(started w1)" = 1 ] && [ -f "$T_WORK/w1/rec" ] && grep -q session/prompt "$T_WORK/w1/rec"'
bg_prompt w2 two
poll '[ "$(tickets)" = 1 ]'
bg_prompt w3 three
poll '[ "$(tickets)" = 2 ]'
[ "$(tickets)" = 2 ] && ok "two prompts wait in the host-wide queue" ||
    not_ok "two prompts wait in the host-wide queue" "$(ls -l "$SLOTS/queue")"
flock -n "$SLOTS/host.0" true && not_ok "the slot is held while the first turn runs" ||
    ok "the slot is held while the first turn runs"
run --agent "$AG" --cwd "$T_WORK/w4" prompt --no-wait "four"
expect_rc 7 "--no-wait at capacity: exit 7"
expect_err_has "No free agent slot on this host (1/1 busy, 2 waiting)" "--no-wait: why"
run --format json --agent "$AG" --cwd "$T_WORK/w4" prompt --no-wait "four"
expect_out_has '"acpxCode":"HOST_AT_CAPACITY"' "--no-wait json: HOST_AT_CAPACITY"
[ "$(started w4)" = 0 ] && ok "--no-wait: no agent started" || not_ok "--no-wait: no agent started" "$(cat "$LOG")"
touch "$T_WORK/w1/go" "$T_WORK/w2/go" "$T_WORK/w3/go"
for d in w1 w2 w3; do
	eval "wait \$BG_$d"
	rc=$?
	[ $rc = 0 ] && grep -q served "$T_ROOT/$d.out" && ok "$d: served" ||
	    not_ok "$d: served" "rc $rc: $(cat "$T_ROOT/$d.out" "$T_ROOT/$d.err")"
done
grep -q "waiting for a free agent slot (1/1 busy)" "$T_ROOT/w2.err" &&
    ok "the waiting prompt says so on stderr" || not_ok "the waiting prompt says so on stderr" "$(cat "$T_ROOT/w2.err")"
grep -q "waiting for a free agent slot" "$T_ROOT/w1.err" &&
    not_ok "the first prompt did not wait" "$(cat "$T_ROOT/w1.err")" || ok "the first prompt did not wait"
ORDER=$(sed -n 's/^start //p' "$LOG" | tr '\n' ' ')
[ "$ORDER" = "w1 w2 w3 " ] && ok "served in arrival order" || not_ok "served in arrival order" "$(cat "$LOG")"
[ "$(most)" = 1 ] && ok "never two agents at once" || not_ok "never two agents at once" "$(cat "$LOG")"
# The idle owners' agents gave way: w1's and w2's ended, their owners live on.
[ "$(grep -c '^end w1$' "$LOG")" = 1 ] && [ "$(grep -c '^end w2$' "$LOG")" = 1 ] &&
    ok "idle owners' agents were stopped for the waiting turns" ||
    not_ok "idle owners' agents were stopped" "$(cat "$LOG")"
[ "$(ls "$HOME"/.acpx/queues/*.lock | wc -l)" = 3 ] && ok "their owners still run" ||
    not_ok "their owners still run" "$(ls "$HOME"/.acpx/queues)"

# The stopped session loads again on its next prompt (taking the slot of
# the one idle owner, w3's).
run --agent "$AG" --cwd "$T_WORK/w1" --ttl 300 prompt "again"
expect_rc 0 "the stopped session's next prompt"
expect_out_has "served" "... is served"
N=$(grep -c '"method":"session/load"' "$T_WORK/w1/rec")
[ "$N" = 2 ] && ok "... by loading the session again" || not_ok "... by loading the session again" "$N loads"
[ "$(grep -c '^end w3$' "$LOG")" = 1 ] && ok "... after w3's idle agent gave way" || not_ok "w3 gave way" "$(cat "$LOG")"
[ "$(most)" = 1 ] && ok "still never two agents at once" || not_ok "still never two agents at once" "$(cat "$LOG")"

# ------------------------------------------------------------ LRU
# Cap 2: w2 and w3 run idle, w2 used before w3; w4's turn stops w2's.
cap 2
stop_owner
wait_owners_gone
run --agent "$AG" --cwd "$T_WORK/w2" --ttl 300 prompt "a"
run --agent "$AG" --cwd "$T_WORK/w3" --ttl 300 prompt "b"
: >"$LOG"
touch "$T_WORK/w4/go"
run --agent "$AG" --cwd "$T_WORK/w4" --ttl 300 prompt "c"
expect_rc 0 "cap 2: a third session's prompt"
grep -q "^end w2$" "$LOG" && ok "LRU: the least recently used idle agent gave way" ||
    not_ok "LRU: the least recently used idle agent gave way" "$(cat "$LOG")"
grep -q "^end w3$" "$LOG" && not_ok "LRU: the other one stays" "$(cat "$LOG")" ||
    ok "LRU: the other one stays"
stop_owner
wait_owners_gone

# ------------------------------------------------------------ SIGKILL
cap 1
rm -f "$T_WORK/w1/go" "$T_WORK/w1/rec"
: >"$LOG"
( cd "$T_WORK/w1" && exec "$ACPX" --agent "$AG" --approve-all exec "hold" >/dev/null 2>&1 ) &
EX=$!
track_pid $EX
poll 'grep -q session/prompt "$T_WORK/w1/rec" 2>/dev/null && [ "$(grep -c "^start w1$" "$LOG")" -ge 1 ]'
flock -n "$SLOTS/host.0" true && not_ok "exec holds the slot" || ok "exec holds the slot"
kill -9 $EX
wait $EX 2>/dev/null
flock -n "$SLOTS/host.0" true && ok "SIGKILL of the holder frees its slot" ||
    not_ok "SIGKILL of the holder frees its slot"
touch "$T_WORK/w2/go"
( cd "$T_WORK/w2" && "$ACPX" --agent "$AG" --approve-all exec "next" ) >"$T_ROOT/x.out" 2>"$T_ROOT/x.err"
[ $? = 0 ] && grep -q served "$T_ROOT/x.out" && ok "the next exec gets the slot" ||
    not_ok "the next exec gets the slot" "$(cat "$T_ROOT/x.out" "$T_ROOT/x.err")"
touch "$T_WORK/w1/go"	# the orphaned mock of the killed exec ends at stdin EOF

# ------------------------------------------------------------ an agent's cap
printf '{"agents": {"capped": {"command": "%s", "maxConcurrent": 1}}}\n' "$AG" >"$HOME/.acpx/config.json"
rm -f "$T_WORK/w3/go" "$T_WORK/w3/rec"
( cd "$T_WORK/w3" && exec "$ACPX" --approve-all capped exec "hold" >/dev/null 2>&1 ) &
EX=$!
track_pid $EX
poll 'grep -q session/prompt "$T_WORK/w3/rec" 2>/dev/null'
run --cwd "$T_WORK/w2" capped prompt --no-wait "x"
expect_rc 7 "an agent's own cap: --no-wait refused"
expect_err_has "(1/1 busy, 0 waiting)" "... counting that agent's slots"
touch "$T_WORK/w3/go"
wait $EX
[ $? = 0 ] && ok "the capped agent's exec ends" || not_ok "the capped agent's exec ends"

# ------------------------------------------------------------ every agent counts
# Cap 1, held by an exec's turn in h: sessions new, a direct set-mode,
# warp serve's harness and compare wait in the FIFO, in that order; then
# all run, one after the other.
printf '{"maxConcurrentAgents": 1, "agents": {"plain": {"command": "%s"}}}\n' "$AG" \
    >"$HOME/.acpx/config.json"
mkdir -p "$T_WORK/h" "$T_WORK/n1" "$T_WORK/ws"
: >"$LOG"
mocks() { pgrep -f -- "--record $T_WORK/" | wc -l; }	# agents in /proc
( cd "$T_WORK/h" && exec "$ACPX" --agent "$AG" --approve-all exec "hold" >/dev/null 2>&1 ) &
HX=$!
track_pid $HX
poll 'grep -q session/prompt "$T_WORK/h/rec" 2>/dev/null'
run --agent "$AG" --cwd "$T_WORK/n1" sessions new --no-wait
expect_rc 7 "sessions new --no-wait at capacity: exit 7"
expect_err_has "No free agent slot on this host (1/1 busy, 0 waiting)" "... saying why"
( cd "$T_WORK" && exec "$ACPX" --agent "$AG" --cwd "$T_WORK/n1" sessions new \
    >"$T_ROOT/n1.out" 2>"$T_ROOT/n1.err" ) &
NB=$!
track_pid $NB
poll '[ "$(tickets)" = 1 ]'
( cd "$T_WORK" && exec "$ACPX" --agent "$AG" --cwd "$T_WORK/w2" set-mode plan \
    >"$T_ROOT/sm.out" 2>"$T_ROOT/sm.err" ) &
SM=$!
track_pid $SM
poll '[ "$(tickets)" = 2 ]'
mkfifo "$T_ROOT/ws.in"
( cd "$T_WORK/ws" && exec "$ACPX" --cwd "$T_WORK/ws" warp serve plain <"$T_ROOT/ws.in" \
    >"$T_ROOT/ws.out" 2>"$T_ROOT/ws.err" ) &
WS=$!
track_pid $WS
exec 3>"$T_ROOT/ws.in"
printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":1}}' >&3
poll '[ "$(tickets)" = 3 ]'
mkdir -p "$T_WORK/cmp" && touch "$T_WORK/cmp/go"
( cd "$T_WORK/cmp" && exec "$ACPX" --cwd "$T_WORK/cmp" --approve-all compare plain "hi" \
    >"$T_ROOT/cmp.out" 2>"$T_ROOT/cmp.err" 3>&- ) &
CM=$!
track_pid $CM
poll '[ "$(tickets)" = 4 ]'
[ "$(tickets)" = 4 ] && ok "sessions new, set-mode, warp serve and compare wait in the queue" ||
    not_ok "sessions new, set-mode, warp serve and compare wait in the queue" "$(ls -l "$SLOTS/queue")"
grep -q "waiting for a free agent slot (1/1 busy)" "$T_ROOT/n1.err" &&
    ok "sessions new says it waits" || not_ok "sessions new says it waits" "$(cat "$T_ROOT/n1.err")"
grep -q "waiting for a free agent slot (1/1 busy)" "$T_ROOT/sm.err" &&
    ok "a direct set-mode says it waits" || not_ok "a direct set-mode says it waits" "$(cat "$T_ROOT/sm.err")"
grep -q "waiting for a free agent slot (1/1 busy)" "$T_ROOT/ws.err" &&
    ok "warp serve says its harness waits" || not_ok "warp serve says its harness waits" "$(cat "$T_ROOT/ws.err")"
grep -q "waiting for a free agent slot (1/1 busy)" "$T_ROOT/cmp.err" &&
    ok "compare says it waits" || not_ok "compare says it waits" "$(cat "$T_ROOT/cmp.err")"
[ "$(mocks)" = 1 ] && [ "$(sed -n 's/^start //p' "$LOG" | tr '\n' ' ')" = "h " ] &&
    ok "meanwhile only the holder's agent runs" ||
    not_ok "meanwhile only the holder's agent runs" "$(cat "$LOG"; mocks)"
touch "$T_WORK/h/go"
wait $HX
wait $NB
[ $? = 0 ] && grep -q "^start n1$" "$LOG" && ok "sessions new completes once the slot is free" ||
    not_ok "sessions new completes once the slot is free" "$(cat "$T_ROOT/n1.out" "$T_ROOT/n1.err")"
wait $SM
[ $? = 0 ] && ok "the direct set-mode completes" ||
    not_ok "the direct set-mode completes" "$(cat "$T_ROOT/sm.out" "$T_ROOT/sm.err")"
poll 'grep -q "\"id\":1,\"result\"" "$T_ROOT/ws.out"'
grep -q '"id":1,"result"' "$T_ROOT/ws.out" && ok "warp serve's harness starts then" ||
    not_ok "warp serve's harness starts then" "$(cat "$T_ROOT/ws.out" "$T_ROOT/ws.err")"
exec 3>&-
wait $WS
[ $? = 0 ] && ok "warp serve ends" || not_ok "warp serve ends" "$(cat "$T_ROOT/ws.err")"
wait $CM
[ $? = 0 ] && grep -q "^plain  *ok" "$T_ROOT/cmp.out" && ok "compare runs its agent then" ||
    not_ok "compare runs its agent then" "$(cat "$T_ROOT/cmp.out" "$T_ROOT/cmp.err")"
ORDER=$(sed -n 's/^start //p' "$LOG" | tr '\n' ' ')
[ "$ORDER" = "h n1 w2 ws cmp " ] && ok "served in arrival order" || not_ok "served in arrival order" "$(cat "$LOG")"
[ "$(most)" = 1 ] && ok "never two agents at once" || not_ok "never two agents at once" "$(cat "$LOG")"

# ------------------------------------------------------------ an idle owner's agent dies
# w3's owner holds the slot with its agent idle; SIGKILL of that agent
# frees the slot at once (a poll bounds a hang only: before, it was held
# until the owner's next turn); the next prompt elsewhere runs unqueued.
run --agent "$AG" --cwd "$T_WORK/w3" --ttl 300 prompt "warm"
expect_rc 0 "an owner's turn"
flock -n "$SLOTS/host.0" true && not_ok "its idle agent holds the slot" || ok "its idle agent holds the slot"
kill -9 "$(cat "$T_WORK/w3/agent.pid")"
poll 'flock -n "$SLOTS/host.0" true'
flock -n "$SLOTS/host.0" true && ok "SIGKILL of an idle owner's agent frees the slot" ||
    not_ok "SIGKILL of an idle owner's agent frees the slot"
# That owner now holds no slot: a set-mode sent to it waits for one (an
# exec's turn holds it) and cancel ends that wait.
rm -f "$T_WORK/h/go"
( cd "$T_WORK/h" && exec "$ACPX" --agent "$AG" --approve-all exec "hold" >/dev/null 2>&1 ) &
HX=$!
track_pid $HX
poll 'grep -c session/prompt "$T_WORK/h/rec" | grep -qx 2'
( cd "$T_WORK" && exec "$ACPX" --agent "$AG" --cwd "$T_WORK/w3" set-mode plan \
    >"$T_ROOT/sm2.out" 2>"$T_ROOT/sm2.err" ) &
SM=$!
track_pid $SM
poll '[ "$(tickets)" = 1 ]'
run --agent "$AG" --cwd "$T_WORK/w3" cancel
expect_rc 0 "cancel of a set-mode waiting for a slot in its owner"
wait $SM
rc=$?
[ $rc != 0 ] && grep -q "cancelled while waiting for a free agent slot" "$T_ROOT/sm2.err" &&
    ok "... ends that set-mode" || not_ok "... ends that set-mode" "rc $rc: $(cat "$T_ROOT/sm2.out" "$T_ROOT/sm2.err")"
[ "$(tickets)" = 0 ] && ok "... and its ticket" || not_ok "... and its ticket" "$(ls -l "$SLOTS/queue")"
touch "$T_WORK/h/go"
wait $HX
run --agent "$AG" --cwd "$T_WORK/w4" --ttl 300 prompt "next"
expect_rc 0 "the next prompt runs"
case $ERR in
*"waiting for a free agent slot"*) not_ok "... without waiting" "$ERR" ;;
*) ok "... without waiting" ;;
esac
stop_owner
wait_owners_gone
done_testing
