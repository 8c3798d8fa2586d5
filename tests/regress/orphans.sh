#!/bin/sh
# No orphans: after `sessions close`, TTL expiry, an agent crash and an
# owner crash (SIGKILL), no process started by acpx remains: agents,
# terminals, and their descendants, including a grandchild that setsid()s
# into its own session. Every such process carries a unique marker in its
# environment (inherited from acpx), which is how they are counted.
. "$TESTS_SRCDIR/regress/lib.sh"
[ -x "$MOCK" ] || skip_all "mock agent not built"

MARK="acpx-orphan-test-$$-$(date +%s)"
# Only acpx gets the marker (through a wrapper), never this shell.
printf '#!/bin/sh\nACPX_ORPHAN_MARK=%s exec %s "$@"\n' "$MARK" "$ACPX" \
    >"$T_ROOT/acpx-marked"
chmod +x "$T_ROOT/acpx-marked"
ACPX="$T_ROOT/acpx-marked"

# Pids whose environment holds the marker.
marked_pids() {
	grep -l -a -F "ACPX_ORPHAN_MARK=$MARK" /proc/[0-9]*/environ 2>/dev/null |
	    sed 's,^/proc/\([0-9]*\)/environ$,\1,'
}
# How many processes started through acpx (or below it) are alive: with
# "detached", only the grandchild that setsid()s ("sleep 301"); else all
# the others (owner, agent, terminal and its plain children).
marked() {
	n=0
	for pid in $(marked_pids); do
		c=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)
		case "${1:-}:$c" in
		detached:"sleep 301 ") n=$((n + 1)) ;;
		detached:*|*:"sleep 301 ") ;;
		*:*mock-agent*|*:"sleep 300 "|*acpx*|*:sh\ -c*) n=$((n + 1)) ;;
		esac
	done 2>/dev/null
	echo "$n"
}
# The setsid() grandchild escapes the terminal's process group: acpx finds
# it by parentage (or adopts it as a subreaper) and kills it too.
check_detached() {
	i=0
	while [ "$(marked detached)" -ne 0 ] && [ $i -lt 1200 ]; do
		sleep 0.1; i=$((i + 1))
	done
	n=$(marked detached)
	[ "$n" -eq 0 ] && ok "$1: the setsid() grandchild is gone too" ||
	    not_ok "$1: the setsid() grandchild is gone too" "$n left" "$(list_marked)"
}
# Wait (at most ~120 s, a hang bound) for the marked processes to be gone; prints the count.
settle() {
	i=0
	while [ "$(marked)" -ne 0 ] && [ $i -lt 1200 ]; do
		sleep 0.1; i=$((i + 1))
	done
	marked
}
# Kill whatever is left (so one failure does not leak into the next case).
reap() {
	for pid in $(marked_pids); do kill -9 "$pid" 2>/dev/null; done
	sleep 0.2
}
trap 'reap; t_cleanup' EXIT
# alive PID: the process exists and is not a zombie.
alive() {
	[ -r "/proc/$1/stat" ] || return 1
	case "$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null)" in
	Z*|X*|"") return 1 ;;
	esac
}
# In a fresh directory per case.
in_case() {
	T_WORK="$T_ROOT/work-$1"; mkdir -p "$T_WORK"
}
A_TERM="$MOCK --scenario $SCENARIOS/orphan-terminal.json"
A_CRASH="$MOCK --scenario $SCENARIOS/orphan-crash.json"
list_marked() {
	for pid in $(marked_pids); do
		echo "$pid: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
	done 2>/dev/null
}

echo "# before: $(marked) marked processes, $(marked detached) detached"

# ---------------------------------------------------------------- sessions close
in_case close
run --agent "$A_TERM" sessions new
expect_rc 0 "sessions new"
run --agent "$A_TERM" --approve-all --ttl 300 "start a terminal"
expect_rc 0 "a turn leaves a terminal (and a setsid grandchild) running"
expect_out_has "started" "the terminal was created"
n=$(( $(marked) + $(marked detached) ))
[ "$n" -ge 4 ] && ok "owner, agent, terminal and grandchild are counted ($n)" ||
    not_ok "owner, agent, terminal and grandchild are counted" "$n marked" "$(list_marked)"
run --agent "$A_TERM" sessions close
expect_rc 0 "sessions close"
n=$(settle)
[ "$n" -eq 0 ] && ok "after sessions close: no process left" ||
    not_ok "after sessions close: no process left" "$n left" "$(list_marked)"
check_detached "after sessions close"
reap

# ---------------------------------------------------------------- TTL expiry
in_case ttl
run --agent "$A_TERM" sessions new
run --agent "$A_TERM" --approve-all --ttl 0.5 "start a terminal"
expect_rc 0 "a turn with --ttl 0.5"
n=$(settle)
[ "$n" -eq 0 ] && ok "after TTL expiry: no process left" ||
    not_ok "after TTL expiry: no process left" "$n left" "$(list_marked)"
check_detached "after TTL expiry"
reap

# ---------------------------------------------------------------- agent crash
in_case crash
run --agent "$A_CRASH" sessions new
run --agent "$A_CRASH" --approve-all --ttl 300 "crash after a terminal"
[ "$RC" -ne 0 ] && ok "an agent crash mid-turn fails the prompt (exit $RC)" ||
    not_ok "an agent crash mid-turn fails the prompt" "exit 0" "$OUT"
run --agent "$A_CRASH" sessions close
n=$(settle)
[ "$n" -eq 0 ] && ok "after an agent crash and close: no process left" ||
    not_ok "after an agent crash and close: no process left" "$n left" "$(list_marked)"
check_detached "after an agent crash and close"
reap

# ---------------------------------------------------------------- owner crash
in_case owner
run --agent "$A_TERM" sessions new
run --agent "$A_TERM" --approve-all --ttl 300 "start a terminal"
expect_rc 0 "a turn leaves the owner running"
p=$(owner_pid)
if [ -z "$p" ]; then
	not_ok "the owner is killed with SIGKILL" "no lease file" "$(ls -la "$HOME/.acpx/queues" 2>&1)"
elif ! marked_pids | grep -qx "$p"; then
	not_ok "the owner is killed with SIGKILL" "lease pid $p is not a process of this test" "$(list_marked)"
elif ! kill -9 "$p"; then
	not_ok "the owner is killed with SIGKILL" "kill -9 $p failed"
else
	i=0
	while alive "$p" && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
	alive "$p" && not_ok "the owner is killed with SIGKILL" "$p still runs" ||
	    ok "the owner ($p) is killed with SIGKILL"
fi
n=$(settle)
# The owner's keeper kills what a SIGKILLed owner leaves (its terminals).
[ "$n" -eq 0 ] && ok "after an owner crash: no process left" ||
    not_ok "after an owner crash: no process left" "$n left" "$(list_marked)"
a=$(list_marked | grep -c mock-agent)
[ "$a" -eq 0 ] && ok "after an owner crash: the agent is gone" ||
    not_ok "after an owner crash: the agent is gone" "$(list_marked)"
check_detached "after an owner crash"
reap
run --agent "$A_TERM" --approve-all --ttl 300 "start a terminal"
expect_rc 0 "the next prompt after an owner crash recovers"
run --agent "$A_TERM" sessions close
n=$(settle)
[ "$n" -eq 0 ] && ok "and closes cleanly" ||
    not_ok "and closes cleanly" "$n left" "$(list_marked)"
check_detached "after the last close"

reap

# ---------------------------------------------------------------- exec end
# exec leaves the terminal running when the turn ends: closing the agent
# at exit kills the terminal, and its setsid() grandchild too.
in_case exec
run --agent "$A_TERM" --approve-all exec "start a terminal"
expect_rc 0 "exec: a turn leaves a terminal (and a setsid grandchild) running"
expect_out_has "started" "exec: the terminal was created"
n=$(settle)
[ "$n" -eq 0 ] && ok "after exec ends: no process left" ||
    not_ok "after exec ends: no process left" "$n left" "$(list_marked)"
check_detached "after exec ends"
reap

# ---------------------------------------------------------------- owner SIGKILL mid-turn
# The agent is mid-turn and a terminal command (with a setsid() grandchild)
# runs when the owner is SIGKILLed. The scenario comes from the environment
# so that the recovery prompt (text mode) uses the same agent command.
in_case midturn
A_PLAIN="$MOCK"
run --agent "$A_PLAIN" sessions new
expect_rc 0 "sessions new (mid-turn case)"
MOCK_SCENARIO="$SCENARIOS/orphan-midturn.json"; export MOCK_SCENARIO
(cd "$T_WORK" && "$ACPX" --agent "$A_PLAIN" --approve-all --ttl 300 \
    "start a terminal and work" >"$T_ROOT/midturn.out" 2>&1) &
bg=$!
unset MOCK_SCENARIO
i=0
while [ "$(marked detached)" -eq 0 ] && [ $i -lt 1200 ]; do
	sleep 0.1; i=$((i + 1))
done
p=$(owner_pid)
n=$(( $(marked) + $(marked detached) ))
if [ -n "$p" ] && [ "$(marked detached)" -ge 1 ] && [ "$n" -ge 5 ]; then
	ok "mid-turn: client, keeper, owner, agent, terminal and grandchild run ($n)"
else
	not_ok "mid-turn: the turn runs a terminal" "owner '$p', $n marked" "$(list_marked)"
fi
[ -n "$p" ] && kill -9 "$p"
wait "$bg"; rc=$?
[ "$rc" -ne 0 ] && ok "mid-turn: the waiting prompt fails (exit $rc)" ||
    not_ok "mid-turn: the waiting prompt fails" "exit 0" "$(cat "$T_ROOT/midturn.out")"
n=$(settle)
[ "$n" -eq 0 ] && ok "mid-turn owner SIGKILL: no process left" ||
    not_ok "mid-turn owner SIGKILL: no process left" "$n left" "$(list_marked)"
check_detached "mid-turn owner SIGKILL"
bad=0 nrec=0
for f in "$HOME"/.acpx/sessions/*.json; do
	[ -f "$f" ] || continue
	nrec=$((nrec + 1))
	python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$f" 2>/dev/null || bad=$((bad + 1))
done
[ "$nrec" -ge 1 ] && [ "$bad" -eq 0 ] && ok "mid-turn owner SIGKILL: every session record parses" ||
    not_ok "mid-turn owner SIGKILL: every session record parses" "$bad of $nrec bad" ""
reap
run --agent "$A_PLAIN" --ttl 300 "echo recovered"
expect_rc 0 "mid-turn owner SIGKILL: the next prompt recovers the stale owner"
expect_out_has "recovered" "and is answered"
run --agent "$A_PLAIN" sessions close
n=$(settle)
[ "$n" -eq 0 ] && ok "mid-turn case closes cleanly" ||
    not_ok "mid-turn case closes cleanly" "$n left" "$(list_marked)"

echo "# after: $(marked) marked processes, $(marked detached) detached"
done_testing
