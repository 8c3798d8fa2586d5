#!/bin/sh
# exec output in every format, for every scenario in exec-cases.tbl, is byte
# for byte what the reference acpx printed (stdout, stderr, exit status).
. "$TESTS_SRCDIR/regress/lib.sh"
[ -x "$MOCK" ] || skip_all "mock agent not built"
EXP="$TESTS_SRCDIR/regress/expected"

check_case() { run_case "$ACPX" "$@"; check_parts "$1"; }
in_parallel 3 for_each_case check_case

# Invalid UTF-8 in argv and in a prompt file: decoded as Node decodes them
# (U+FFFD), as the reference prints them (found by fuzz-prompt: the words
# used to fail to become a JSON string, exit 2 with a wrong message).
BAD=$(printf 'echo a\377b')
run --agent "$MOCK" --format quiet exec "$BAD"
expect_rc 0 "invalid UTF-8 in the prompt words"
W=$(printf 'a\357\277\275b\nx'); W=${W%x}
expect_out "$W" "invalid UTF-8 in the prompt words becomes U+FFFD"
printf 'echo c\376d' >"$T_ROOT/bad-prompt"
run --agent "$MOCK" --format quiet exec --file "$T_ROOT/bad-prompt"
expect_rc 0 "invalid UTF-8 in a prompt file"
W=$(printf 'c\357\277\275d\nx'); W=${W%x}
expect_out "$W" "invalid UTF-8 in a prompt file becomes U+FFFD"

# An agent not known to talk after its answer: the turn ends at the answer
# (no idle wait), so an update it sends later is not rendered; the Claude
# adapter's late updates are (the late-* rows above). A deliberate
# difference: the reference waits for a quiet spell after every answer.
for f in text json; do
	run --format $f --agent "$(mock_cmd late-update-slow.json)" exec x
	expect_rc 0 "late update of a generic agent ($f)"
	case "$OUT" in
	*"late chunk"*|*"A late title"*)
		not_ok "$f: a generic agent's update after the answer is not waited for" "$OUT" ;;
	*answer*) ok "$f: a generic agent's update after the answer is not waited for" ;;
	*) not_ok "$f: the answer is rendered" "$OUT" ;;
	esac
done
# The same through a queue owner: the turn's result is not held back.
A=$(mock_cmd late-update-slow.json)
run --agent "$A" sessions new
expect_rc 0 "sessions new (generic agent with a late update)"
run --format json --ttl 30 --agent "$A" prompt x
expect_rc 0 "persistent prompt of a generic agent with a late update"
case "$OUT" in
*"late chunk"*) not_ok "persistent: a generic agent's late update is not waited for" "$OUT" ;;
*'"stopReason":"end_turn"'*) ok "persistent: a generic agent's late update is not waited for" ;;
*) not_ok "persistent: the answer is relayed" "$OUT" ;;
esac
run --agent "$A" sessions close
done_testing
