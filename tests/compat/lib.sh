# Sourced by compatibility scripts: finds the reference acpx or skips.
REF=${ACPX_REFERENCE:-/tmp/ref/node_modules/.bin/acpx}
[ "$REF" = none ] && skip_all "comparison with the reference disabled (ACPX_REFERENCE=none; scripts/test compares in the plain build only)"
[ -x "$REF" ] || skip_all "reference acpx 0.19.1 not installed (npm install --prefix /tmp/ref acpx@0.19.1, or set ACPX_REFERENCE)"
command -v node >/dev/null 2>&1 || skip_all "node not installed: cannot run the reference acpx"

# ------------------------------------------------------- verified cases
# The goldens of exec-cases.tbl and cli-cases.tbl (tests/regress/expected)
# are the reference's own output, and the reference is pinned (0.19.1), so
# running it again on unchanged inputs can only print the same bytes. A
# case whose inputs were verified against the installed reference is
# listed in tests/compat/reference-verified under the hash of everything
# that decides the reference's output: the table row, the scenario files
# it names, the mock agent's sources, the test library's functions that
# run and normalise a case, the goldens themselves, the reference's
# version and Node's major version. Such a case is not run again (it would
# cost the reference's 1.8 CPU-s of Node start-up to print the same bytes):
# exec-cases.sh and cli-cases.sh hold ours to its goldens. Any other case,
# and the few in $compat_live_sample, runs the reference live, as does
# every case with ACPX_COMPAT_LIVE=all. `make compat-restamp` reruns every
# case live and rewrites the list from the cases whose reference output
# matched their goldens.
COMPAT_VERIFIED="$TESTS_SRCDIR/compat/reference-verified"
# A case of each output format and of the CLI's own output, always live:
# the installed reference (and its unpinned dependencies) still runs and
# still prints what the goldens say.
compat_live_sample=${ACPX_COMPAT_LIVE_SAMPLE-"hello-text rich-json perm-write-quiet crash-json version help unknown-flag-json"}
ref_pkg=$(readlink -f "$REF")
while [ "$ref_pkg" != / ] && [ ! -f "$ref_pkg/package.json" ]; do ref_pkg=$(dirname "$ref_pkg"); done
compat_ref_id="acpx@$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$ref_pkg/package.json" 2>/dev/null | head -n 1) node-$(node --version 2>/dev/null | sed 's/^v\([0-9]*\).*/\1/')"
# What every case's output goes through: the reference's and Node's
# versions, the mock agent's sources and the functions of regress/lib.sh
# that run and normalise a case (hashed once).
compat_base=$( { echo "$compat_ref_id"
	sed -n -e '/^normalize()/,/^}/p' -e '/^run_case()/,/^}/p' \
	    -e '/^run_cli_case()/,/^}/p' -e '/^mock_cmd()/,/^}/p' \
	    -e '/^claude_mock()/,/^}/p' "$TESTS_SRCDIR/regress/lib.sh"
	cat "$TESTS_SRCDIR/mock-agent/mock-agent.c" \
	    "$TESTS_SRCDIR/mock-agent/mock-verify.c" \
	    "$TESTS_SRCDIR/mock-agent/mock-verify.h"; } | sha256sum)

# compat_key RUNNER NAME FIELDS...: the hash of one case's inputs: the
# above, the table row, the scenario files it names and its goldens (the
# files in $ck_goldens, when set).
compat_key() {
	ck_runner=$1 ck_name=$2
	shift 2
	ck_files=""
	set -f
	for ck_w in $*; do
		case "$ck_w" in *.json*) ;; *) continue ;; esac
		ck_w=${ck_w%%.json*}.json
		ck_w=${ck_w##*[!A-Za-z0-9_.-]}
		[ -f "$SCENARIOS/$ck_w" ] && ck_files="$ck_files $SCENARIOS/$ck_w"
	done
	set +f
	# The goldens: $ck_goldens, or the exec and CLI cases' three parts.
	ck_g=${ck_goldens:-}
	[ -n "$ck_g" ] || ck_g="$EXP/$ck_name.out $EXP/$ck_name.err $EXP/$ck_name.rc"
	set -- $( { printf '%s\n' "$compat_base" "$ck_runner" "$ck_name" "$@"
		for f in $ck_files $ck_g; do
			echo "${f##*/}"; cat "$f" 2>/dev/null
		done; } | sha256sum)
	echo "$1"
}

# compat_verified KEY NAME: KEY is listed as verified, and NAME is not one
# of the cases that always run live.
compat_verified() {
	[ "${ACPX_COMPAT_LIVE:-}" = all ] && return 1
	case " $compat_live_sample " in *" $2 "*) return 1 ;; esac
	grep -q "^$1 " "$COMPAT_VERIFIED" 2>/dev/null
}

# compare RUNNER NAME ARGS...: run one exec or CLI case (run_case,
# run_cli_case) with the reference and with ours and diff the parts; a part
# with an <name>.ours.<part> golden in $EXP is a deliberate difference. A
# verified case is not run again: exec-cases.sh and cli-cases.sh check
# ours against its goldens in the sanitizer build and under valgrind.
compare() {
	runner=$1 name=$2
	shift
	key=$(compat_key "$runner" "$@")
	if compat_verified "$key" "$name"; then
		# exec-cases.sh and cli-cases.sh hold ours to these goldens.
		echo "# $name: the goldens are the reference's output (verified, compat/reference-verified)"
		return
	fi
	"$runner" "$REF" "$@"
	for part in out err rc; do mv "$T_ROOT/case.$part" "$T_ROOT/ref.$part"; done
	"$runner" "$ACPX" "$@"
	same=1
	for part in out err rc; do
		cmp -s "$T_ROOT/ref.$part" "$EXP/$name.$part" || same=0
		if [ -f "$EXP/$name.ours.$part" ]; then
			ok "$name $part # deliberate difference ($name.ours.$part)"
		elif cmp -s "$T_ROOT/ref.$part" "$T_ROOT/case.$part"; then
			ok "$name $part"
		else
			not_ok "$name $part" "$(diff "$T_ROOT/ref.$part" "$T_ROOT/case.$part" | head -n 30)"
		fi
	done
	# make compat-restamp: the reference printed its goldens.
	if [ "$same" = 1 ] && [ -n "${ACPX_COMPAT_STAMP:-}" ]; then
		echo "$key $runner $name" >>"$ACPX_COMPAT_STAMP"
	fi
}
compare_exec() { compare run_case "$@"; }
compare_cli() { compare run_cli_case "$@"; }
