#!/bin/sh
# Side by side: run every exec case (exec-cases.tbl) with our acpx and with
# the reference on the same mock-agent scenario and diff stdout, stderr and
# exit status live (catches drift between the goldens and the installed
# reference). The CLI cases are in cli-compat.sh, so the two run in
# parallel.
. "$TESTS_SRCDIR/regress/lib.sh"
. "$TESTS_SRCDIR/compat/lib.sh"
[ -x "$MOCK" ] || skip_all "mock agent not built"
EXP="$TESTS_SRCDIR/regress/expected"

in_parallel 4 for_each_case compare_exec
done_testing
