#!/bin/sh
# Benchmarks, side by side with the floor and the reference acpx (never part
# of the tests).
#
#   sh bench/run.sh [--record-baseline] [BUILD_DIR]   (default build/release)
#
# Prints one table, a row per scenario: the floor (bench/drive.c: the
# thinnest client, no JSON parser, the same agent; or the agent driven
# directly, for acpx warp serve), acpx-native ("ours"), ours / floor, the
# reference acpx, ours / reference, and ours / the baseline: the figure
# recorded in bench/baseline.json for the same scenario.
#
# The baseline: bench/baseline.json (the scenarios' figures for
# acpx-native, with the time and the load average of the run) is written
# only by a deliberate `sh bench/run.sh --record-baseline`, on a machine as
# quiet as it gets; compare ratios only between runs on the same machine.
#
# Scenarios: exec one-chunk answer (the mock agent); 100k x 64 B chunks
# quiet, json, text, and quiet through a persistent session, with the
# queue owner's peak RSS during it (a fast agent, bench/stamp-agent.c, and
# a second floor that parses every line with jansson: bench/drive.c built
# with -DDRIVE_JANSSON); the warm persistent prompt (whole command by hyperfine, and
# medians until the agent receives it and of the whole command: bench/
# stamp-agent.c, bench/warm.c); sessions list and __complete (session
# names) over 1,000 and 10,000 records (bench/mkstore.sh); acpx warp serve
# on the 100k stream and per forwarded message (median round trips of
# BENCH_PINGS requests, direct and through the proxy: half the difference);
# --version and peak RSS figures.
#
# Needs hyperfine and GNU time (apt-get install hyperfine time), cc and
# libjansson-dev (bench/table.c reads hyperfine's JSON and writes the
# baseline; no python or jq). The reference columns need
# /tmp/ref/node_modules/.bin/acpx (or ACPX_REFERENCE); without it they say
# so and stay empty. Knobs: BENCH_CHUNKS (100000), BENCH_RUNS (streams: 5),
# BENCH_REF_STREAM=0 (no reference for the streams: they take it minutes),
# BENCH_PINGS (2000), BENCH_ONLY (an extended regex: only the scenario
# groups whose name matches: exec, stream, session, warm, serve, list,
# version).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
record=0
case "${1:-}" in
--record-baseline) record=1; shift ;;
-*) echo "usage: $0 [--record-baseline] [BUILD_DIR]" >&2; exit 2 ;;
esac
build=$(cd "${1:-$top/build/release}" && pwd)
ACPX="$build/acpx"
MOCK="$build/tests/mock-agent/mock-agent"
REF=${ACPX_REFERENCE:-/tmp/ref/node_modules/.bin/acpx}
[ -x "$MOCK" ] || (cd "$build" && make -s tests/mock-agent/mock-agent)
command -v hyperfine >/dev/null || { echo "need hyperfine (apt-get install hyperfine)"; exit 1; }
[ -x /usr/bin/time ] || { echo "need GNU time (apt-get install time)"; exit 1; }
work=$(mktemp -d)
owners=""
cleanup() {
	for p in $owners; do kill "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
export HOME="$work/home"; mkdir -p "$HOME"
cd "$work"
have_ref=0; [ -x "$REF" ] && have_ref=1
# Under a real-time policy (`chrt -f 10 sh bench/run.sh`, which every child
# inherits), the reference's Node threads can livelock on two cores (seen:
# its client and queue owner spinning for minutes): it runs at SCHED_OTHER.
if [ $have_ref = 1 ] && command -v chrt >/dev/null &&
    ! chrt -p $$ 2>/dev/null | grep -q 'SCHED_OTHER'; then
	printf '#!/bin/sh\nexec chrt -o 0 \047%s\047 "$@"\n' "$REF" >"$work/ref-other"
	chmod +x "$work/ref-other"
	REF="$work/ref-other"
fi
[ $have_ref = 1 ] || echo "reference acpx not found at $REF (set ACPX_REFERENCE):" \
    "the reference columns are skipped" >&2
S="$top/tests/mock-agent/scenarios"
N=${BENCH_CHUNKS:-100000}
RUNS=${BENCH_RUNS:-5}
CHUNK=$(printf '%064d' 0 | tr 0 x)   # 64 bytes
stream_ref=$have_ref; [ "${BENCH_REF_STREAM:-1}" = 1 ] || stream_ref=0
RES="$work/results"; : >"$RES"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

cc -O2 -o "$work/table" "$top/bench/table.c" \
    $(pkg-config --cflags --libs jansson 2>/dev/null || echo -ljansson)
TABLE="$work/table"

# want GROUP: is the scenario group GROUP to run (BENCH_ONLY)?
want() { [ -z "${BENCH_ONLY:-}" ] || echo "$1" | grep -Eq -- "$BENCH_ONLY"; }

# row KEY LABEL UNIT FLOOR OURS REF: one line of results ("-": none).
row() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RES"; }

# scenario KEY LABEL RUNS FLOOR_CMD OURS_CMD REF_CMD [JFLOOR_CMD] ("-":
# none): hyperfine means, in seconds, as one row; with JFLOOR_CMD (the
# floor that parses every line with jansson) a second row KEY-jansson
# with that floor and the same figure of ours.
scenario() {
	key=$1 label=$2 runs=$3 floor=$4 ours=$5 ref=$6 jfloor=${7:--}
	set -- "$ours"
	[ "$floor" = - ] || set -- "$@" "$floor"
	[ "$ref" = - ] || set -- "$@" "$ref"
	[ "$jfloor" = - ] || set -- "$@" "$jfloor"
	hyperfine -N -w 1 -r "$runs" --export-json "$work/$key.json" "$@" \
	    >/dev/null 2>&1 || { echo "$key: a command failed: $*" >&2; return 0; }
	o=$("$TABLE" mean "$work/$key.json" 0); i=1; f=-; r=-
	[ "$floor" = - ] || { f=$("$TABLE" mean "$work/$key.json" $i); i=$((i + 1)); }
	[ "$ref" = - ] || { r=$("$TABLE" mean "$work/$key.json" $i); i=$((i + 1)); }
	row "$key" "$label" s "$f" "$o" "$r"
	[ "$jfloor" = - ] ||
	    row "$key-jansson" "  the same, floor: parse every line with jansson" \
	    s "$("$TABLE" mean "$work/$key.json" $i)" "$o" -
}

owner_pid() { sed -n 's/^  "pid": \([0-9]*\),$/\1/p' "$HOME"/.acpx/queues/*.lock; }
# Stop the owners started so far; each removes its own files as it ends.
stop_owners() {
	for p in $owners; do kill "$p" 2>/dev/null || true; done
	for p in $owners; do
		while kill -0 "$p" 2>/dev/null; do sleep 0.1; done
	done
	owners=""
}

cc -O2 -o "$work/drive" "$top/bench/drive.c"
cc -O2 -DDRIVE_JANSSON -o "$work/drive-j" "$top/bench/drive.c" \
    $(pkg-config --cflags --libs jansson 2>/dev/null || echo -ljansson)
cc -O2 -o "$work/stamp-agent" "$top/bench/stamp-agent.c"
DRIVE="$work/drive"
HELLO="$MOCK --scenario $S/hello.json"
# The streams' agent writes its chunks as fast as a pipe takes them
# (bench/stamp-agent.c): the mock agent spends ~6 us of its own CPU on
# each chunk, more than the floor client, and would hide the client's cost.
FAST="$work/stamp-agent"
FLOOR_STREAM="env DRIVE_PROMPT='chunks $N $CHUNK' $DRIVE $FAST"
JFLOOR_STREAM="env DRIVE_PROMPT='chunks $N $CHUNK' $work/drive-j $FAST"
refcmd() { if [ $have_ref = 1 ]; then echo "$REF $*"; else echo -; fi; }
refstream() { if [ $stream_ref = 1 ]; then echo "$REF $*"; else echo -; fi; }

echo "running (load average $LOAD_START)..." >&2
if want exec; then
	scenario exec-one "exec one-chunk answer, quiet" 30 "$DRIVE $HELLO" \
	    "$ACPX --format quiet --agent '$HELLO' exec hi" \
	    "$(refcmd "--format quiet --agent '$HELLO' exec hi")"
fi
if want stream; then
	scenario stream-quiet "exec $N x 64 B chunks, quiet" "$RUNS" "$FLOOR_STREAM" \
	    "$ACPX --format quiet --agent $FAST exec chunks $N $CHUNK" \
	    "$(refstream "--format quiet --agent $FAST exec chunks $N $CHUNK")" \
	    "$JFLOOR_STREAM"
	scenario stream-json "same, --format json" "$RUNS" "$FLOOR_STREAM" \
	    "$ACPX --format json --agent $FAST exec chunks $N $CHUNK" \
	    "$(refstream "--format json --agent $FAST exec chunks $N $CHUNK")" \
	    "$JFLOOR_STREAM"
	scenario stream-text "same, text" "$RUNS" "$FLOOR_STREAM" \
	    "$ACPX --agent $FAST exec chunks $N $CHUNK" \
	    "$(refstream "--agent $FAST exec chunks $N $CHUNK")" \
	    "$JFLOOR_STREAM"
fi

# A persistent session: the owner and the agent are up before the runs.
AG="$MOCK --supports-load-session"
# persistent BIN DIR [AGENT]: a session of AGENT ($AG) in $work/proj-DIR.
persistent() {
	bin=$1 ag=${3:-$AG}
	mkdir -p "$work/proj-$2" && cd "$work/proj-$2" && git init -q .
	"$bin" --agent "$ag" sessions new >/dev/null 2>&1
	"$bin" --agent "$ag" --ttl 600 --format quiet "echo warm" >/dev/null 2>&1
	owners="$owners $(owner_pid)"
}
if want session; then
	persistent "$ACPX" fast "$FAST"
	scenario session-stream "same through a persistent session, quiet" \
	    "$RUNS" "$FLOOR_STREAM" \
	    "$ACPX --format quiet --agent $FAST 'chunks $N $CHUNK'" - \
	    "$JFLOOR_STREAM"
	row owner-rss "queue owner's peak RSS (after that stream)" kB - \
	    "$(awk '/^VmHWM/ { print $2 }' "/proc/$(owner_pid)/status")" -
	cd "$work"
	stop_owners
	rm -rf "$HOME/.acpx/queues"
fi
warm_ours=-
if want warm; then
	persistent "$ACPX" ours
	hyperfine -N -w 1 -r 30 --export-json "$work/warm-prompt.json" \
	    "$ACPX --format quiet --agent '$AG' 'echo hi'" >/dev/null 2>&1 &&
	    warm_ours=$("$TABLE" mean "$work/warm-prompt.json" 0)
	cd "$work"
	stop_owners
	rm -rf "$HOME/.acpx/queues"
fi

if want warm; then
	# The warm prompt until the agent receives it: bench/stamp-agent.c
	# notes the moment, bench/warm.c starts the command (30 runs, medians).
	cc -O2 -o "$work/warm" "$top/bench/warm.c"
	export STAMP_FILE="$work/stamp"
	mkdir -p "$work/proj-stamp" && cd "$work/proj-stamp" && git init -q .
	"$ACPX" --agent "$work/stamp-agent" sessions new >/dev/null 2>&1
	"$ACPX" --agent "$work/stamp-agent" --ttl 600 --format quiet hello >/dev/null 2>&1
	owners="$owners $(owner_pid)"
	if w=$("$work/warm" 30 "$STAMP_FILE" "$ACPX" --format quiet --agent \
	    "$work/stamp-agent" "echo hi"); then
		set -- $w
		row warm-recv "warm persistent prompt, until the agent receives it (median)" \
		    s - "$(awk -v v="$1" 'BEGIN { print v / 1000 }')" -
		row warm-whole "warm persistent prompt, whole command (median)" \
		    s - "$(awk -v v="$2" 'BEGIN { print v / 1000 }')" -
	fi
	unset STAMP_FILE
	cd "$work"
	stop_owners
	rm -rf "$HOME/.acpx/queues"
	# The same prompt by hyperfine (mean), with the reference's.
	warm_ref=-
	if [ $have_ref = 1 ]; then
		persistent "$REF" ref
		hyperfine -N -w 1 -r 10 --export-json "$work/warm-ref.json" \
		    "$REF --format quiet --agent '$AG' 'echo hi'" >/dev/null 2>&1 &&
		    warm_ref=$("$TABLE" mean "$work/warm-ref.json" 0)
		cd "$work"
		stop_owners
	fi
	row warm-prompt "warm persistent prompt, whole command (mean)" s - \
	    "$warm_ours" "$warm_ref"
fi

if want serve; then
	# acpx warp serve in front of the fast agent (as the agent "fast") and
	# the mock agent ("plain"): the 100k stream through the proxy against
	# the agent driven directly, and the median round trip of sequential
	# requests, direct and through the proxy (the added latency per forwarded message is
	# half the difference: a round trip is two forwarded messages).
	mkdir -p "$HOME/.acpx"
	[ -f "$HOME/.acpx/config.json" ] ||
	    printf '{"agents": {"plain": {"command": "%s"}, "fast": {"command": "%s"}}}\n' \
	    "$MOCK" "$FAST" >"$HOME/.acpx/config.json"
	scenario serve-stream "$N chunks through acpx warp serve (floor: the agent direct)" \
	    "$RUNS" "$FLOOR_STREAM" \
	    "env DRIVE_PROMPT='chunks $N $CHUNK' $DRIVE $ACPX warp serve fast" - \
	    "$JFLOOR_STREAM"
	PINGS=${BENCH_PINGS:-2000}
	pd=$(DRIVE_PINGS=$PINGS "$DRIVE" "$MOCK" 2>&1 >/dev/null |
	    sed -n 's/median round trip: \(.*\) us/\1/p')
	pp=$(DRIVE_PINGS=$PINGS "$DRIVE" "$ACPX" warp serve plain 2>&1 >/dev/null |
	    sed -n 's/median round trip: \(.*\) us/\1/p')
	if [ -n "$pd" ] && [ -n "$pp" ]; then
		row serve-rtt "round trip through acpx warp serve (median of $PINGS; floor: direct)" \
		    us "$pd" "$pp" -
		row serve-added "acpx warp serve, added per forwarded message" us - \
		    "$(awk -v d="$pd" -v p="$pp" 'BEGIN { printf "%.1f", (p - d) / 2 }')" -
	fi
fi

if want list; then
	# Listings over a store of realistic records. The listing index
	# trusts a record, and the directory, once unchanged for 2 s: wait,
	# then warm it. HOME is hyperfine's own (an env(1) in front of each
	# command would add its exec, as much as the listing itself here).
	home=$HOME
	for n in 1000 10000; do
		h="$work/store-$n"
		sh "$top/bench/mkstore.sh" "$h" "$n"
		sleep 2.2
		export HOME="$h"
		"$ACPX" --agent bench-agent sessions list --local >/dev/null
		scenario "list-$n" "sessions list, $n records" 20 - \
		    "$ACPX --agent bench-agent sessions list --local" \
		    "$(if [ $n = 1000 ] && [ $have_ref = 1 ]; then
			echo "$REF --agent bench-agent sessions list --local"
		    else echo -; fi)"
		scenario "complete-$n" "__complete session names, $n records" 20 - \
		    "$ACPX __complete -- acpx --agent bench-agent --cwd /work/project-3 sessions show n" -
		export HOME="$home"
		rm -rf "$h"
	done
fi

if want version; then
	scenario version "acpx --version" 30 - "$ACPX --version" \
	    "$(refcmd --version)"
	rss() { /usr/bin/time -f %M "$@" >/dev/null 2>"$work/rss" </dev/null || true; tail -n 1 "$work/rss"; }
	row version-rss "acpx --version, peak RSS" kB - "$(rss "$ACPX" --version)" \
	    "$(if [ $have_ref = 1 ]; then rss "$REF" --version; else echo -; fi)"
	row stream-rss "exec $N-chunk stream, peak RSS" kB - \
	    "$(rss "$ACPX" --format quiet --agent "$FAST" exec chunks "$N" "$CHUNK")" -
fi

echo
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
echo "load average: $LOAD_START at the start, $LOAD_END at the end"
[ $have_ref = 1 ] || echo "reference columns skipped: no reference acpx at $REF"
echo
if [ $record = 1 ]; then
	"$TABLE" print "$RES" "$top/bench/baseline.json" \
	    "$LOAD_START at the start, $LOAD_END at the end"
else
	"$TABLE" print "$RES" "$top/bench/baseline.json"
fi
