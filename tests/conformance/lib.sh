# Sourced by the conformance scripts: the regress helpers plus a step
# runner that keeps a transcript of what a caller reads from each command
# (exit code and the fields it parses, extracted with jq). The suite runs
# against our acpx; where the reference acpx is installed it runs again
# against it and the two transcripts must match.
. "$TESTS_SRCDIR/regress/lib.sh"
[ -x "$MOCK" ] || skip_all "mock agent not built"
command -v jq >/dev/null 2>&1 || skip_all "jq not installed"

REF=${ACPX_REFERENCE:-/tmp/ref/node_modules/.bin/acpx}
have_ref() { [ -x "$REF" ] && command -v node >/dev/null 2>&1; }

# The reference's own failure on a loaded machine: its process-table
# helper (an 8 s limit) cannot verify a queue owner's identity, so it
# refuses to retire the owner ("Cannot safely retire queue owner ...";
# seen with two CPU hogs and the suite on 2 cores). That is no behaviour
# to compare with: a comparison whose reference side hit it is reported as
# one SKIP naming it. Our own side is checked either way.
REF_LOAD_FAILURE='QUEUE_OWNER_IDENTITY_UNVERIFIED|process birth identity is unverified'
# ref_side FN ARGS...: run FN (the reference's side: TAP lines and files)
# with its TAP held back; REF_FAILED_UNDER_LOAD=1 and one SKIP if its
# output or a file named in $REF_FILES shows REF_LOAD_FAILURE, else its
# TAP lines as they came.
ref_side() {
	rs_n=$t_n rs_failed=$t_failed
	"$@" >"$T_ROOT/ref-side.tap" 2>&1
	REF_FAILED_UNDER_LOAD=0
	if grep -Eqs -- "$REF_LOAD_FAILURE" "$T_ROOT/ref-side.tap" ${REF_FILES:-}; then
		REF_FAILED_UNDER_LOAD=1
		t_n=$rs_n t_failed=$rs_failed
		ok "# SKIP the reference failed under load (QUEUE_OWNER_IDENTITY_UNVERIFIED, its process-table helper's limit): no side-by-side comparison this run"
	else
		cat "$T_ROOT/ref-side.tap"
	fi
}

# step NAME WANT_RC JQ [STDIN=<file>] ARGS...: run $BIN (cwd $T_WORK),
# summarise stdout with the jq program JQ (applied to the slurped JSON
# lines; non-JSON lines are dropped first, as OpenClaw does), append
# "NAME rc=RC summary" to $TRANSCRIPT and assert the exit code.
step() {
	name=$1 want=$2 prog=$3; shift 3
	in=/dev/null
	case "${1:-}" in STDIN=*) in=${1#STDIN=}; shift ;; esac
	( cd "$T_WORK" && "$BIN" "$@" <"$in" >"$T_ROOT/out" 2>"$T_ROOT/err" )
	RC=$?
	OUT=$(cat "$T_ROOT/out"); ERR=$(cat "$T_ROOT/err")
	SUM=$(grep '^[[:space:]]*[{[]' "$T_ROOT/out" | jq -c -s "$prog" 2>&1 |
	    normalize /dev/stdin)
	printf '%s rc=%s %s\n' "$name" "$RC" "$SUM" >>"$TRANSCRIPT"
	expect_rc "$want" "$LABEL: $name"
}

# expect_sum NAME WANT: the last summary equals WANT.
expect_sum() {
	if [ "$SUM" = "$2" ]; then ok "$LABEL: $1 reads $2"
	else not_ok "$LABEL: $1 reads $2" "got: $SUM" "stdout: $OUT" "stderr: $ERR"; fi
}


# ------------------------------------------------ verified transcripts
# The reference is pinned (acpx 0.19.1): on unchanged inputs it can only
# print the transcript it printed before. A script's reference transcript
# is kept in tests/conformance/reference/NAME.t under the hash of its
# inputs (its first line, "# key KEY"): the script itself, this file,
# regress/lib.sh's normalize, the mock agent's sources, the scenarios
# the script names, the OpenClaw pin and the plugin driver. While that key
# holds, ours is compared with the stored transcript and the reference is
# not run (its Node start-ups cost more than the rest of the script); a
# changed input, or ACPX_COMPAT_LIVE=all, runs it live as before. `make compat-restamp` (ACPX_COMPAT_STAMP set)
# runs it live and stores a clean reference run's transcript.
conf_key() {
	{ cat "$0" "$TESTS_SRCDIR/conformance/lib.sh" \
	    "$TESTS_SRCDIR/conformance/npm-pins.sh" \
	    "$TESTS_SRCDIR/conformance/openclaw-plugin.mjs" \
	    "$TESTS_SRCDIR/mock-agent/mock-agent.c" \
	    "$TESTS_SRCDIR/mock-agent/mock-verify.c" \
	    "$TESTS_SRCDIR/mock-agent/mock-verify.h"
	  # What of regress/lib.sh a transcript goes through.
	  sed -n -e '/^normalize()/,/^}/p' -e '/^mock_cmd()/,/^}/p' \
	      -e '/^claude_mock()/,/^}/p' "$TESTS_SRCDIR/regress/lib.sh"
	  # The scenario files the script names (not the others: a new
	  # scenario elsewhere changes nothing here).
	  for f in $(sed -n 's|.*\$SCENARIOS/\([A-Za-z0-9_.-]*\.json\).*|\1|p' "$0" |
	      sort -u); do
		echo "$f"; cat "$TESTS_SRCDIR/mock-agent/scenarios/$f"
	  done; } 2>/dev/null | sha256sum | cut -c1-64
}
# ref_transcript NAME OURS LABEL REF-TRANSCRIPT RUN...: the reference's
# transcript of this script (NAME) against OURS (LABEL names the check).
# Verified: compared with the stored one. Else, with the reference
# installed: RUN... (the reference's side, which writes REF-TRANSCRIPT)
# runs live, then the two are compared (and stored under restamp).
ref_transcript() {
	rt_name=$1 rt_ours=$2 rt_label=$3 rt_ref=$4
	shift 4
	rt_golden="$TESTS_SRCDIR/conformance/reference/$rt_name.t"
	rt_key=$(conf_key)
	if [ "${ACPX_COMPAT_LIVE:-}" != all ] && [ -f "$rt_golden" ] &&
	    [ "$(head -n 1 "$rt_golden")" = "# key $rt_key" ]; then
		sed 1d "$rt_golden" >"$T_ROOT/ref-verified.t"
		if cmp -s "$rt_ours" "$T_ROOT/ref-verified.t"; then
			ok "$rt_label ($(wc -l <"$rt_ours") steps; the reference's verified transcript)"
		else
			not_ok "$rt_label (the reference's verified transcript)" \
			    "$(diff "$T_ROOT/ref-verified.t" "$rt_ours" | head -40)"
		fi
		return
	fi
	if ! have_ref; then
		ok "# SKIP reference acpx not installed and no verified transcript: no side-by-side diff"
		return
	fi
	rt_failed=$t_failed
	REF_FILES="$rt_ref $rt_ref.err" ref_side "$@"
	[ "$REF_FAILED_UNDER_LOAD" = 1 ] && return
	if cmp -s "$rt_ours" "$rt_ref"; then
		ok "$rt_label ($(wc -l <"$rt_ours") steps)"
	else
		not_ok "$rt_label" "$(diff "$rt_ref" "$rt_ours" | head -40)"
	fi
	# Stored only from a clean reference run (its own checks passed).
	if [ -n "${ACPX_COMPAT_STAMP:-}" ] && [ "$t_failed" = "$rt_failed" ]; then
		mkdir -p "${rt_golden%/*}" &&
		    { echo "# key $rt_key"; cat "$rt_ref"; } >"$rt_golden"
	fi
}
