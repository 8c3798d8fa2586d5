#!/bin/sh
# Side by side: run every CLI case (cli-cases.tbl) with our acpx and with
# the reference and diff stdout, stderr and exit status live (catches drift
# between the goldens and the installed reference). The exec cases are in
# exec-compat.sh.
. "$TESTS_SRCDIR/regress/lib.sh"
. "$TESTS_SRCDIR/compat/lib.sh"
[ -x "$MOCK" ] || skip_all "mock agent not built"
EXP="$TESTS_SRCDIR/regress/expected"

# compare RUNNER NAME ARGS...: run one case with both, diff the parts.
compare() {
	runner=$1 name=$2
	shift
	"$runner" "$REF" "$@"
	for part in out err rc; do mv "$T_ROOT/case.$part" "$T_ROOT/ref.$part"; done
	"$runner" "$ACPX" "$@"
	for part in out err rc; do
		if [ -f "$EXP/$name.ours.$part" ]; then
			ok "$name $part # deliberate difference ($name.ours.$part)"
		elif cmp -s "$T_ROOT/ref.$part" "$T_ROOT/case.$part"; then
			ok "$name $part"
		else
			not_ok "$name $part" "$(diff "$T_ROOT/ref.$part" "$T_ROOT/case.$part" | head -n 30)"
		fi
	done
}
compare_exec() { compare run_case "$@"; }
compare_cli() { compare run_cli_case "$@"; }
for_each_cli_case compare_cli
done_testing
