#!/bin/sh
# exec output in every format, for every scenario in exec-cases.tbl, is byte
# for byte what the reference acpx printed (stdout, stderr, exit status).
. "$TESTS_SRCDIR/regress/lib.sh"
[ -x "$MOCK" ] || skip_all "mock agent not built"
EXP="$TESTS_SRCDIR/regress/expected"

check_case() { run_case "$ACPX" "$@"; check_parts "$1"; }
for_each_case check_case
done_testing
