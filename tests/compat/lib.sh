# Sourced by compatibility scripts: finds the reference acpx or skips.
REF=${ACPX_REFERENCE:-/tmp/ref/node_modules/.bin/acpx}
[ "$REF" = none ] && skip_all "comparison with the reference disabled (ACPX_REFERENCE=none; scripts/test compares in the plain build only)"
[ -x "$REF" ] || skip_all "reference acpx 0.19.1 not installed (npm install --prefix /tmp/ref acpx@0.19.1, or set ACPX_REFERENCE)"
command -v node >/dev/null 2>&1 || skip_all "node not installed: cannot run the reference acpx"

# compare RUNNER NAME ARGS...: run one exec or CLI case (run_case,
# run_cli_case) with the reference and with ours and diff the parts; a part
# with an <name>.ours.<part> golden in $EXP is a deliberate difference.
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
