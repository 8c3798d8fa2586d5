#!/bin/sh
# Side by side: run every CLI case (cli-cases.tbl) with our acpx and with
# the reference and diff stdout, stderr and exit status live (catches drift
# between the goldens and the installed reference). The exec cases are in
# exec-compat.sh.
. "$TESTS_SRCDIR/regress/lib.sh"
. "$TESTS_SRCDIR/compat/lib.sh"
[ -x "$MOCK" ] || skip_all "mock agent not built"
EXP="$TESTS_SRCDIR/regress/expected"

in_parallel 4 for_each_cli_case compare_cli
done_testing
