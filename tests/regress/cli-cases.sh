#!/bin/sh
# Command-line behaviour (options, bad input, config files, errors per
# format) matches the reference byte for byte: every row of cli-cases.tbl.
. "$TESTS_SRCDIR/regress/lib.sh"
[ -x "$MOCK" ] || skip_all "mock agent not built"
EXP="$TESTS_SRCDIR/regress/expected"
check_cli_case() { run_cli_case "$ACPX" "$@"; check_parts "$1"; }
in_parallel 3 for_each_cli_case check_cli_case
done_testing
