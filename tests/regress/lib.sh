# Sourced by every regress script. Gives each test a private HOME and work
# directory, TAP output, and helpers to run the built acpx and assert on its
# stdout, stderr and exit status. Environment (from make check): ACPX, MOCK,
# DEMO_AGENT, SCENARIOS, TESTS_SRCDIR.

set -u

: "${ACPX:?ACPX must point at the built acpx}"
: "${MOCK:=}"
: "${SCENARIOS:=}"

T_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/acpx-test.XXXXXX")
export HOME="$T_ROOT/home"
T_WORK="$T_ROOT/work"
mkdir -p "$HOME" "$T_WORK"
T_PIDS=""
t_n=0
t_failed=0

t_cleanup() {
	for p in $T_PIDS; do kill "$p" 2>/dev/null; done
	rm -rf "$T_ROOT"
}
trap t_cleanup EXIT

# Remember a background pid so cleanup kills it (and only it).
track_pid() { T_PIDS="$T_PIDS $1"; }

ok() { t_n=$((t_n + 1)); echo "ok $t_n - $1"; }
not_ok() {
	t_n=$((t_n + 1)); t_failed=$((t_failed + 1))
	echo "not ok $t_n - $1"
	shift
	for l in "$@"; do printf '%s\n' "$l" | sed 's/^/# /'; done
}
# Skip the whole script with a reason (TAP plan 1..0).
skip_all() { echo "1..0 # SKIP $1"; exit 0; }
done_testing() { echo "1..$t_n"; [ "$t_failed" -eq 0 ]; exit $?; }

# run [acpx args...]: runs acpx in $T_WORK with stdin from /dev/null unless
# STDIN is set to a file; sets OUT, ERR (file contents) and RC.
run() {
	( cd "$T_WORK" && "$ACPX" "$@" <"${STDIN:-/dev/null}" \
	    >"$T_ROOT/out" 2>"$T_ROOT/err" )
	RC=$?
	OUT=$(cat "$T_ROOT/out"; printf x); OUT=${OUT%x}
	ERR=$(cat "$T_ROOT/err"; printf x); ERR=${ERR%x}
}

# mock_cmd SCENARIO [extra args]: the --agent string for the mock agent.
mock_cmd() {
	s=$1; shift
	case "$s" in /*) ;; *) s="$SCENARIOS/$s" ;; esac
	printf '%s --scenario %s' "$MOCK" "$s"
	for a in "$@"; do printf ' %s' "$a"; done
}

expect_rc() {
	if [ "$RC" -eq "$1" ]; then ok "$2 (exit $1)"
	else not_ok "$2 (exit $1)" "got exit $RC" "stdout: $OUT" "stderr: $ERR"; fi
}
expect_out() {
	if [ "$OUT" = "$1" ]; then ok "$2 (stdout)"
	else not_ok "$2 (stdout)" "want: $1" "got:  $OUT" "stderr: $ERR"; fi
}
expect_err() {
	if [ "$ERR" = "$1" ]; then ok "$2 (stderr)"
	else not_ok "$2 (stderr)" "want: $1" "got:  $ERR"; fi
}
expect_out_has() {
	case "$OUT" in *"$1"*) ok "$2 (stdout has)" ;;
	*) not_ok "$2 (stdout has)" "want substring: $1" "got: $OUT" "stderr: $ERR" ;; esac
}
expect_err_has() {
	case "$ERR" in *"$1"*) ok "$2 (stderr has)" ;;
	*) not_ok "$2 (stderr has)" "want substring: $1" "got: $ERR" ;; esac
}
# expect_out_file FILE NAME: stdout equals the file's bytes.
expect_out_file() {
	if cmp -s "$1" "$T_ROOT/out"; then ok "$2 (stdout = $(basename "$1"))"
	else not_ok "$2 (stdout = $(basename "$1"))" "$(diff "$1" "$T_ROOT/out" | head -20)"; fi
}
