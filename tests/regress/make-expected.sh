#!/bin/sh
# Maintainer tool: (re)capture the expected outputs of exec-cases.tbl from
# the reference acpx 0.19.1. Usage (from the top of the tree, after a build):
#   REF=/tmp/ref/node_modules/.bin/acpx MOCK=build/plain/tests/mock-agent/mock-agent \
#     sh tests/regress/make-expected.sh
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
export TESTS_SRCDIR="$top/tests" SCENARIOS="$top/tests/mock-agent/scenarios"
export ACPX="${REF:-/tmp/ref/node_modules/.bin/acpx}"
MOCK=$(cd "$(dirname "$MOCK")" && pwd)/$(basename "$MOCK"); export MOCK
. "$top/tests/regress/lib.sh"
EXP="$top/tests/regress/expected"
mkdir -p "$EXP"
# ONLY=regex limits the capture to matching case names.
capture() {
	case "$1" in *) echo "$1" | grep -Eq "^(${ONLY:-.*})$" || return 0 ;; esac
	run_case "$ACPX" "$@"
	for part in out err rc; do cp "$T_ROOT/case.$part" "$EXP/$1.$part"; done
	echo "captured $1 (exit $(cat "$T_ROOT/case.rc"))"
}
for_each_case capture
capture_cli() {
	echo "$1" | grep -Eq "^(${ONLY:-.*})$" || return 0
	run_cli_case "$ACPX" "$@"
	for part in out err rc; do cp "$T_ROOT/case.$part" "$EXP/$1.$part"; done
	echo "captured $1 (exit $(cat "$T_ROOT/case.rc"))"
}
for_each_cli_case capture_cli
