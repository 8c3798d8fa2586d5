#!/bin/sh
# exec output in every format, for every scenario in exec-cases.tbl, is byte
# for byte what the reference acpx printed (stdout, stderr, exit status).
. "$TESTS_SRCDIR/regress/lib.sh"
[ -x "$MOCK" ] || skip_all "mock agent not built"
EXP="$TESTS_SRCDIR/regress/expected"

check_case() { run_case "$ACPX" "$@"; check_parts "$1"; }
for_each_case check_case

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
done_testing
