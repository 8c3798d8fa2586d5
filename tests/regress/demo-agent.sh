#!/bin/sh
# The bundled demo agent answers a real turn through the built-in "demo"
# agent and through --agent, in every format.
. "$TESTS_SRCDIR/regress/lib.sh"
[ -x "$DEMO_AGENT" ] || skip_all "demo agent not built"
export ACPX_DEMO_DELAY_MS=0

run demo exec "hello demo"
expect_rc 0 "demo exec (text)"
expect_out_has 'You asked: "hello demo"' "demo answers with the prompt"
expect_out_has "[done] end_turn" "text ends with [done]"
expect_out_has "[plan]" "demo shows a plan"
expect_out_has "[tool] Analyse prompt" "demo shows a tool call"

run --format quiet demo exec "hello demo"
expect_rc 0 "demo exec (quiet)"
case "$OUT" in 'You asked: "hello demo"'*) ok "quiet prints only the answer" ;;
*) not_ok "quiet prints only the answer" "got: $OUT" ;; esac

run --format json --agent "$DEMO_AGENT" exec "hello demo"
expect_rc 0 "demo via --agent (json)"
n=$(printf '%s' "$OUT" | grep -c '"agent_message_chunk"')
if [ "$n" -ge 2 ]; then ok "reply streamed in several chunks ($n)"
else not_ok "reply streamed in several chunks" "got $n chunks"; fi

printf 'first line\nsecond line\n' >"$T_WORK/notes.txt"
run --format quiet demo exec "read notes.txt"
expect_rc 0 "demo reads a file through the client"
expect_out_has "first line" "demo reports the file's first line"

run --format quiet demo exec "write out.txt hello"
expect_rc 5 "demo write denied without a TTY (approve-reads default)"
run --format quiet --approve-all demo exec "write out.txt hello there"
expect_rc 0 "demo write with --approve-all"
if [ "$(cat "$T_WORK/out.txt" 2>/dev/null)" = "hello there" ]; then ok "file written through fs/write_text_file"
else not_ok "file written through fs/write_text_file" "got: $(cat "$T_WORK/out.txt" 2>&1)"; fi
done_testing
