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
	# The queue socket directory of each private HOME used here
	# (/tmp/acpx-<sha256(HOME)[0:10]>; a SIGKILLed owner leaves its socket).
	for h in $(find "$T_ROOT" -maxdepth 4 -type d -name 'home*' 2>/dev/null); do
		rm -rf "/tmp/acpx-$(printf %s "$h" | sha256sum | cut -c1-10)"
	done
	rm -rf "$T_ROOT"
}
trap t_cleanup EXIT

# lease: the first queue lease of this HOME (empty: none).
lease() { ls "$HOME"/.acpx/queues/*.lock 2>/dev/null | head -n 1; }
# lease_pids: the owner pids named in this HOME's queue leases.
lease_pids() {
	sed -n 's/^  "pid": \([0-9]*\),$/\1/p' "$HOME"/.acpx/queues/*.lock 2>/dev/null
}
# owner_pid: the pid in the first lease (empty: none).
owner_pid() {
	op_l=$(lease)
	[ -n "$op_l" ] && sed -n 's/^  "pid": \([0-9]*\),$/\1/p' "$op_l"
}

# need_faultshim: SHIM is the LD_PRELOAD fault shim (tests/faults/
# faultshim.so beside acpx, or $FAULTSHIM); without it the script is
# skipped. A sanitizer build must accept a preloaded library ahead of its
# runtime.
need_faultshim() {
	SHIM=${FAULTSHIM:-$(dirname "$ACPX")/tests/faults/faultshim.so}
	[ -f "$SHIM" ] || skip_all "fault shim not built (make check builds it)"
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
}

# stop_owner: stop the queue owners named in this HOME's leases (SIGTERM)
# and wait until they are gone (120 s only bounds a hang).
stop_owner() {
	p=$(lease_pids)
	[ -n "$p" ] || return 0
	kill $p 2>/dev/null
	i=0
	while kill -0 $p 2>/dev/null && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
}

# wait_owners_gone: wait until no queue owner of this HOME runs any more
# (found by its environment and command line, not by its lease: an owner
# releases its lease as it begins to shut down and may still write its
# record after that). 120 s only bounds a hang.
owners_of_home() {
	for e in $(grep -l -a -F "HOME=$HOME" /proc/[0-9]*/environ 2>/dev/null); do
		d=${e%/environ}
		tr '\0' ' ' 2>/dev/null <"$d/cmdline" | grep -q -- '__queue-owner' &&
		    echo "${d#/proc/}"
	done
}
# (One scan of /proc, then a wait on those pids: the scan costs a second of
# CPU on a busy machine, and no new owner starts while a script waits.)
wait_owners_gone() {
	wo_pids=$(owners_of_home)
	i=0
	for p in $wo_pids; do
		while kill -0 "$p" 2>/dev/null && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
	done
}

# Remember a background pid so cleanup kills it (and only it).
track_pid() { T_PIDS="$T_PIDS $1"; }

# poll SHELL-CONDITION: wait until it holds; false after POLL_CEILING
# seconds (120 unless the script sets it). The ceiling only bounds a hang:
# it is never a timing assertion.
poll() {
	_poll_n=0
	until eval "$1"; do
		[ $_poll_n -ge $((${POLL_CEILING:-120} * 20)) ] && return 1
		sleep 0.05
		_poll_n=$((_poll_n + 1))
	done
}

# warp_env_clean: no proxy, Warp secrets file, node or WARP_* variable of
# the caller's environment reaches the commands under test.
warp_env_clean() {
	unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
	unset ACPX_WARP_ENV_FILE ACPX_NODE
	for _v in $(env | sed -n 's/^\(WARP_[A-Za-z0-9_]*\)=.*/\1/p'); do
		unset "$_v"
	done
}

# fake_provider_start REC [ARGS...]: the fake provider ($FAKE) recording to
# REC, tracked for cleanup; sets FAKE_PID and PORT once it listens. False
# when it printed no port.
fake_provider_start() {
	_fp_rec=$1
	shift
	rm -f "$T_ROOT/fake-provider.port"
	"$FAKE" --record "$_fp_rec" "$@" >"$T_ROOT/fake-provider.port" &
	FAKE_PID=$!
	track_pid $FAKE_PID
	poll '[ -s "$T_ROOT/fake-provider.port" ]' || return 1
	PORT=$(head -n 1 "$T_ROOT/fake-provider.port")
	[ -n "$PORT" ]
}

ok() { t_n=$((t_n + 1)); echo "ok $t_n - $1"; }
# not_ok "NAME # TODO reason": a known defect, reported (TAP TODO,
# automake XFAIL) but not counted as a failure.
not_ok() {
	t_n=$((t_n + 1))
	case "$1" in *"# TODO "*) ;; *) t_failed=$((t_failed + 1)) ;; esac
	echo "not ok $t_n - $1"
	shift
	for l in "$@"; do printf '%s\n' "$l" | sed 's/^/# /'; done
}
# verify_record SCENARIO RECORD: check what the mock agent received (its
# RECORD file) against the scenario's "verify" object (expected methods and
# params, tests/mock-agent/README.md); one ok/not ok per expectation. Runs
# in $T_WORK, which {{cwd}} there stands for.
verify_record() {
	v_out=$(cd "$T_WORK" && "$MOCK" --verify --scenario "$1" --record "$2" 2>&1)
	v_rc=$? v_name="" v_det="" v_n=0 v_bad=0
	while IFS= read -r v_l; do
		case "$v_l" in
		"ok "*|"not ok "*)
			[ -n "$v_name" ] && v_flush
			v_name=$v_l v_det="" ;;
		"# "*) v_det="$v_det${v_det:+
}${v_l#\# }" ;;
		esac
	done <<EOF
$v_out
EOF
	[ -n "$v_name" ] && v_flush
	if [ "$v_n" -eq 0 ] || { [ "$v_rc" -ne 0 ] && [ "$v_bad" -eq 0 ]; }; then
		not_ok "$(basename "$1"): what the agent received (exit $v_rc)" "$v_out"
	fi
}
v_flush() {
	v_n=$((v_n + 1))
	case "$v_name" in
	"ok "*) ok "${v_name#ok }" ;;
	*) v_bad=$((v_bad + 1)); not_ok "${v_name#not ok }" "$v_det" ;;
	esac
}
# expect_received RECORD VERIFY: check what the mock agent wrote to RECORD
# against VERIFY, the JSON text of a scenario's "verify" object (each
# "received" entry one ok/not ok, named by its "name").
expect_received() {
	printf '{"verify": %s}\n' "$2" >"$T_ROOT/verify.json"
	verify_record "$T_ROOT/verify.json" "$1"
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

# claude_mock: the mock agent under the Claude ACP adapter's command name
# (a link named claude-agent-acp), so acpx treats it as that adapter.
claude_mock() {
	mkdir -p "$T_ROOT/claude-bin"
	[ -L "$T_ROOT/claude-bin/claude-agent-acp" ] ||
	    ln -s "$MOCK" "$T_ROOT/claude-bin/claude-agent-acp"
	printf '%s' "$T_ROOT/claude-bin/claude-agent-acp"
}

# mock_cmd SCENARIO [extra args]: the --agent string for the mock agent;
# a scenario written claude:S runs it as the Claude adapter (claude_mock).
mock_cmd() {
	s=$1; shift
	m=$MOCK
	case "$s" in claude:*) s=${s#claude:}; m=$(claude_mock) ;; esac
	case "$s" in /*) ;; *) s="$SCENARIOS/$s" ;; esac
	printf '%s --scenario %s' "$m" "$s"
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

# normalize FILE: replace run-specific paths and times with placeholders so
# outputs of two runs (or two implementations) compare.
normalize() {
	sed -e "s#$T_WORK#<cwd>#g" -e "s#$HOME#<home>#g" \
	    -e "s#${MOCK:-/nonexistent-mock}#<mock>#g" \
	    -e "s#${SCENARIOS:-/nonexistent-scenarios}#<scenarios>#g" \
	    -e 's#[0-9a-f]\{8\}-[0-9a-f]\{4\}-[0-9a-f]\{4\}-[0-9a-f]\{4\}-[0-9a-f]\{12\}#<uuid>#g' \
	    -e 's#[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]\.[0-9]\{3\}Z#<ts>#g' \
	    "$1"
}

# run_case BIN NAME SCENARIO "GLOBALS" "REST": run one exec case with BIN
# (our acpx or the reference) and leave normalized $T_ROOT/case.{out,err,rc}.
run_case() {
	bin=$1 name=$2 scen=$3 globals=$4 rest=$5
	agent=$(mock_cmd "$scen")
	rm -rf "$HOME/.acpx"
	# Word-split the option strings like a shell would; JSON policies stay one word.
	eval "set -- $globals"
	( cd "$T_WORK" && "$bin" "$@" --agent "$agent" exec $rest \
	    </dev/null >"$T_ROOT/raw.out" 2>"$T_ROOT/raw.err" )
	echo $? >"$T_ROOT/case.rc"
	normalize "$T_ROOT/raw.out" >"$T_ROOT/case.out"
	normalize "$T_ROOT/raw.err" >"$T_ROOT/case.err"
}

# t_trim VAR...: strip each VAR's leading and trailing blanks (table
# fields; parameter expansion only, so that a row costs no process).
t_trim() {
	for t_v in "$@"; do
		eval "t_s=\$$t_v"
		t_s=${t_s#"${t_s%%[! 	]*}"}
		t_s=${t_s%"${t_s##*[! 	]}"}
		eval "$t_v=\$t_s"
	done
}

# for_each_case FN: call FN name scenario globals rest for each table row
# (less the rows whose name matches the extended regex $EXEC_CASES_SKIP:
# scripts/test leaves the quiet rows out under valgrind, where each acpx
# run costs a CPU-second and the quiet renderer is checked by ASan).
for_each_case() {
	while IFS='|' read -r name scen globals rest; do
		case "$name" in ''|\#*) continue ;; esac
		t_trim name scen globals rest
		if [ -n "${EXEC_CASES_SKIP:-}" ] &&
		    echo "$name" | grep -Eq -- "$EXEC_CASES_SKIP"; then
			continue
		fi
		"$1" "$name" "$scen" "$globals" "$rest"
	done <"$TESTS_SRCDIR/regress/exec-cases.tbl"
}

# in_parallel N ITER FN: call FN for every row that ITER (for_each_case or
# for_each_cli_case) yields, in N workers side by side, each with its own
# HOME and work directory, so that the waits of one row (an agent's turn,
# the reference's start-up) overlap with another's work. The TAP lines come
# out in table order, numbered as if the rows ran one by one.
in_parallel() {
	par_n=$1 par_iter=$2 par_fn=$3
	par_dir="$T_ROOT/par" par_pids=""
	mkdir -p "$par_dir"
	par_w=0
	while [ "$par_w" -lt "$par_n" ]; do
		( T_ROOT="$par_dir/w$par_w"
		  HOME="$T_ROOT/home" T_WORK="$T_ROOT/work"
		  export HOME
		  mkdir -p "$HOME" "$T_WORK"
		  par_row=0
		  par_one() {
			if [ $((par_row % par_n)) -eq "$par_w" ]; then
				"$par_fn" "$@" >"$par_dir/$par_row.tap"
			fi
			par_row=$((par_row + 1))
		  }
		  "$par_iter" par_one
		  for p in $T_PIDS; do kill "$p" 2>/dev/null; done ) &
		par_pids="$par_pids $!"
		par_w=$((par_w + 1))
	done
	T_PIDS="$T_PIDS$par_pids"
	# Each worker by pid (a bare wait returned early here under dash).
	for p in $par_pids; do wait "$p"; done
	par_row=0
	while [ -f "$par_dir/$par_row.tap" ]; do
		while IFS= read -r line; do
			case "$line" in
			"ok "*) ok "${line#ok * - }" ;;
			"not ok "*) not_ok "${line#not ok * - }" ;;
			*) printf '%s\n' "$line" ;;
			esac
		done <"$par_dir/$par_row.tap"
		par_row=$((par_row + 1))
	done
}

# mock S: the mock agent command line for scenario S (for cli-cases.tbl).
mock() { mock_cmd "$@"; }

# run_cli_case BIN NAME SETUP STDIN ARGS: one row of cli-cases.tbl.
run_cli_case() {
	bin=$1 name=$2 setup=$3 input=$4 args=$5
	rm -rf "$HOME/.acpx" "$T_WORK"
	mkdir -p "$T_WORK"
	[ "$setup" = "-" ] || ( cd "$T_WORK" && eval "$setup" )
	if [ "$input" = "-" ]; then : >"$T_ROOT/stdin"; stdin=/dev/null
	else printf '%b' "$input" >"$T_ROOT/stdin"; stdin="$T_ROOT/stdin"; fi
	eval "set -- $args"
	case "$name" in
	max-bytes-bad) export ACPX_MAX_ACP_MESSAGE_BYTES=abc ;;
	esac
	( cd "$T_WORK" && "$bin" "$@" <"$stdin" >"$T_ROOT/raw.out" 2>"$T_ROOT/raw.err" )
	echo $? >"$T_ROOT/case.rc"
	unset ACPX_MAX_ACP_MESSAGE_BYTES
	normalize "$T_ROOT/raw.out" >"$T_ROOT/case.out"
	normalize "$T_ROOT/raw.err" >"$T_ROOT/case.err"
}

for_each_cli_case() {
	while IFS='|' read -r name setup input args; do
		case "$name" in ''|\#*) continue ;; esac
		t_trim name setup input args
		"$1" "$name" "$setup" "$input" "$args"
	done <"$TESTS_SRCDIR/regress/cli-cases.tbl"
}

# check_parts NAME: compare $T_ROOT/case.{out,err,rc} with the expected files.
check_parts() {
	for part in out err rc; do
		want="$EXP/$1.ours.$part"
		[ -f "$want" ] || want="$EXP/$1.$part"
		if [ ! -f "$want" ]; then
			not_ok "$1 $part" "no expected file $1.$part (run tests/regress/make-expected.sh)"
		elif cmp -s "$want" "$T_ROOT/case.$part"; then
			ok "$1 $part"
		else
			not_ok "$1 $part" "$(diff "$want" "$T_ROOT/case.$part" | head -n 30)"
		fi
	done
}
