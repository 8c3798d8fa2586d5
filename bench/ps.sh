#!/bin/sh
# acpx ps with many live sessions (never part of the tests).
#   sh bench/ps.sh [BUILD_DIR] [N]     (default build/release, N=50)
# Starts N queue owners on the mock agent (N sessions, one idle owner each,
# TTL 0: they stay), one of them with a turn held open and a prompt queued
# behind it, then times `acpx ps` (text and --format json; `acpx --version`
# as the floor: starting the program) with hyperfine
# if it is installed, else with a loop of 50 runs timed by date +%s%N,
# prints one `acpx ps`, and stops the owners. The goal: <= 20 ms at N=50.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build/release}" && pwd)
N=${2:-50}
ACPX="$build/acpx"
MOCK="$build/tests/mock-agent/mock-agent"
SC="$top/tests/mock-agent/scenarios"
[ -x "$MOCK" ] || (cd "$build" && make -s tests/mock-agent/mock-agent)

work=$(mktemp -d)
export HOME="$work/home"
mkdir -p "$HOME" "$work/proj"
cd "$work/proj"
cleanup() {
	for p in $(sed -n 's/^  "pid": \([0-9]*\),$/\1/p' "$HOME"/.acpx/queues/*.lock 2>/dev/null); do
		kill "$p" 2>/dev/null || true
	done
	: >"$work/proj/release"
	i=0
	while ls "$HOME"/.acpx/run/*.json >/dev/null 2>&1 && [ $i -lt 300 ]; do
		sleep 0.1; i=$((i + 1))
	done
	rm -rf "$work" "/tmp/acpx-$(printf %s "$HOME" | sha256sum | cut -c1-10)"
}
trap cleanup EXIT

i=1
while [ "$i" -le "$N" ]; do
	sc=hello.json
	[ "$i" -eq 1 ] && sc=hold-turn.json
	agent="$MOCK --scenario $SC/$sc --session-id bench-$i"
	"$ACPX" --agent "$agent" sessions new --name "s$i" >/dev/null 2>&1
	if [ "$i" -eq 1 ]; then
		"$ACPX" --agent "$agent" --ttl 0 prompt -s "s$i" --no-wait "held" >/dev/null 2>&1
		"$ACPX" --agent "$agent" prompt -s "s$i" --no-wait "queued" >/dev/null 2>&1
	else
		"$ACPX" --agent "$agent" --ttl 0 --format quiet prompt -s "s$i" "hi" >/dev/null 2>&1
	fi
	i=$((i + 1))
done
live=$("$ACPX" --format quiet ps | grep -c .)
echo "== acpx ps with $live live owners ($(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"

if command -v hyperfine >/dev/null; then
	hyperfine -N -w 5 -r ${BENCH_RUNS:-100} "$ACPX --version" "$ACPX ps" \
	    "$ACPX --format json ps" 2>/dev/null | grep -E 'Benchmark|Time \(mean|Range'
else
	for args in "--version" "ps" "--format json ps"; do
		runs=${BENCH_RUNS:-50}
		best=999999999 total=0 k=0
		while [ $k -lt "$runs" ]; do
			t0=$(date +%s%N)
			"$ACPX" $args >/dev/null
			t1=$(date +%s%N)
			d=$(( (t1 - t0) / 1000 ))
			total=$((total + d))
			[ $d -lt $best ] && best=$d
			k=$((k + 1))
		done
		echo "acpx $args: mean $((total / runs / 1000)).$(( (total / runs) % 1000 / 100 )) ms," \
		    "best $((best / 1000)).$(( best % 1000 / 100 )) ms ($runs runs, date +%s%N)"
	done
fi
"$ACPX" ps
