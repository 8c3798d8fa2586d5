#!/bin/sh
# Queue owner benchmarks, side by side with the reference (never part of the tests).
#   sh bench/queue.sh [BUILD_DIR]      (default build/release)
# Needs hyperfine; the reference column needs /tmp/ref/node_modules/.bin/acpx
# (or ACPX_REFERENCE). Reports, for each implementation:
#   1. a warm persistent prompt (owner and agent running, one-chunk reply)
#   2. 20 queued --no-wait prompts of ~1 ms turns, until the last is done
#   3. streaming 100,000 64-byte chunks through a persistent session, and the
#      owner's peak RSS
#   4. the idle owner's RSS
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build/release}" && pwd)
ACPX="$build/acpx"
MOCK="$build/tests/mock-agent/mock-agent"
REF=${ACPX_REFERENCE:-/tmp/ref/node_modules/.bin/acpx}
[ -x "$MOCK" ] || (cd "$build" && make -s tests/mock-agent/mock-agent)
command -v hyperfine >/dev/null || { echo "need hyperfine"; exit 1; }
N=${BENCH_CHUNKS:-100000}
CHUNK=$(printf '%064d' 0 | tr 0 x)

owner_pid() { sed -n 's/^  "pid": \([0-9]*\),$/\1/p' "$HOME"/.acpx/queues/*.lock; }
now() { date +%s.%N; }

bench() {
	name=$1 bin=$2
	work=$(mktemp -d)
	export HOME="$work/home"
	mkdir -p "$HOME" "$work/proj"
	cd "$work/proj"
	git init -q .
	agent="$MOCK --supports-load-session"
	"$bin" --agent "$agent" sessions new >/dev/null 2>&1
	"$bin" --agent "$agent" --ttl 600 --format quiet "echo warm" >/dev/null 2>&1
	echo "== $name"
	p=$(owner_pid)
	echo "idle owner RSS: $(grep VmRSS /proc/$p/status | awk '{print $2}') kB"
	hyperfine -N -w 3 -r ${BENCH_RUNS:-30} \
	    "$bin --agent '$agent' --format quiet 'echo hi'" 2>/dev/null |
	    sed -n 's/^ *Time (mean ± σ): */warm prompt: /p'
	t0=$(now)
	i=1
	while [ $i -lt 20 ]; do
		"$bin" --agent "$agent" --format quiet prompt --no-wait "echo q$i" \
		    >/dev/null 2>&1
		i=$((i + 1))
	done
	"$bin" --agent "$agent" --format quiet "echo q20" >/dev/null 2>&1
	t1=$(now)
	echo "20 queued --no-wait prompts: $(echo "$t1 - $t0" | bc) s"
	t0=$(now)
	"$bin" --agent "$agent" --format quiet "chunks $N $CHUNK" >/dev/null 2>&1
	t1=$(now)
	p=$(owner_pid)
	echo "stream $N chunks: $(echo "$t1 - $t0" | bc) s, owner peak RSS" \
	    "$(grep VmHWM /proc/$p/status | awk '{print $2}') kB"
	kill "$p" 2>/dev/null || true
	sleep 1
	cd /
	rm -rf "$work"
}

bench acpx-native "$ACPX"
[ -x "$REF" ] && bench "reference acpx" "$REF"
exit 0
