#!/bin/sh
# queue-save: the queue owner writes a warm turn's session/prompt to the
# agent first and saves the record with the prompt right after, in the
# same loop iteration, before any answer of the agent is read. A reader
# finds the prompt in the record while the turn runs, and so does one
# after the owner is killed mid-turn. That save failing fails the turn
# with the store's error, as before; the agent, which has the prompt by
# then, is asked to stop (session/cancel), and the record keeps the last
# good save.
. "$TESTS_SRCDIR/regress/lib.sh"
[ -x "$MOCK" ] || skip_all "mock agent not built"
need_faultshim
STORE="$HOME/.acpx/sessions"

# The user prompts of the record (one "User" key per message).
user_msgs() { grep -c '^      "User": {' "$1"; }

# ---------------------------------------------------------------- a killed owner
run --agent "$MOCK" sessions new --name one
expect_rc 0 "sessions new --name one"
rec=$(grep -l '"name": "one"' "$STORE"/*.json)
run --agent "$MOCK" --ttl 60 --format quiet prompt -s one "echo one"
expect_out "one
" "a first prompt starts the owner"
# A warm turn that runs until cancelled: its prompt is in the record while
# it runs.
( cd "$T_WORK" && exec "$ACPX" --agent "$MOCK" --format quiet prompt -s one \
    "sleep 600000" >"$T_ROOT/sleep.out" 2>&1 ) &
cpid=$!
track_pid $cpid
poll "grep -q 'sleep 600000' '$rec'" &&
    ok "a running warm turn's prompt is in the record" ||
    not_ok "a running warm turn's prompt is in the record" "$(cat "$rec")"
kill -9 "$(owner_pid)"
wait $cpid
[ "$(user_msgs "$rec")" = 2 ] && grep -q 'sleep 600000' "$rec" &&
    ok "the owner killed mid-turn: the record holds both prompts" ||
    not_ok "the owner killed mid-turn: the record holds both prompts" \
    "$(cat "$rec")"
wait_owners_gone

# ---------------------------------------------------------------- the save fails
# The owner runs under the shim: the record's first three renames (the
# cold turn's: at its start, after its prompt, at its end) go through,
# then every one fails. The warm turn's first save is the one after its
# prompt. (A HOME of its own: the mock agent's session ids restart.)
export HOME="$T_ROOT/home2"
STORE="$HOME/.acpx/sessions"
mkdir -p "$HOME"
run --agent "$MOCK" sessions new --name two
expect_rc 0 "sessions new --name two"
rec=$(grep -l '"name": "two"' "$STORE"/*.json)
LD_PRELOAD="$SHIM" FAULTSHIM_PATTERN="$rec" FAULTSHIM_OPS=rename \
    FAULTSHIM_AFTER=3 run --agent "$MOCK" --ttl 60 --format quiet \
    prompt -s two "echo two"
expect_out "two
" "a cold turn saves its record three times"
cp "$rec" "$T_ROOT/saved.json"
# (Its 30 s only bound a turn nobody cancels.)
run --agent "$MOCK" --format quiet prompt -s two "sleep 30000"
expect_rc 1 "a warm turn whose record cannot be saved fails"
expect_err_has "No space left on device" "the error says why"
j=$(ls "$STORE"/*.stream.ndjson | xargs grep -l 'sleep 30000')
grep -q '"method":"session/prompt".*sleep 30000' $j 2>/dev/null &&
    ok "the agent had the prompt before the save" ||
    not_ok "the agent had the prompt before the save" "$(cat $j 2>&1)"
grep -q '"method":"session/cancel"' $j 2>/dev/null &&
    ok "the agent was asked to stop" ||
    not_ok "the agent was asked to stop" "$(cat $j 2>&1)"
cmp -s "$rec" "$T_ROOT/saved.json" &&
    ok "the record keeps the last good save" ||
    not_ok "the record keeps the last good save" "$(diff "$T_ROOT/saved.json" "$rec")"
stop_owner
run --agent "$MOCK" --ttl 0.1 --format quiet prompt -s two "echo three"
expect_out "three
" "the next owner saves again"
[ "$(user_msgs "$rec")" = 2 ] && grep -q '"echo three"' "$rec" &&
    ok "the record holds the saved turns" ||
    not_ok "the record holds the saved turns" "$(cat "$rec")"
wait_owners_gone
done_testing
