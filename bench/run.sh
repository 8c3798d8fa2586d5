#!/bin/sh
# Benchmarks, side by side with the floor and the reference acpx (never part
# of the tests).
#   sh bench/run.sh [--save-baseline] [BUILD_DIR]   (default build/release)
# Needs hyperfine, GNU time and python3 (apt-get install hyperfine time) and,
# for the reference column, /tmp/ref/node_modules/.bin/acpx (or
# ACPX_REFERENCE). Prints one table: each scenario's mean wall time for the
# floor (bench/drive.c: the thinnest client, no JSON parser, the same
# agent), acpx-native and the reference, the ratios, and acpx-native's ratio
# to bench/baseline.json (the last deliberately recorded run; only
# --save-baseline writes it). The warm prompt is also timed until the agent
# receives it (bench/stamp-agent.c, bench/warm.c), and acpx warp serve
# against the agent direct (the floor column). Then --version, the peak
# RSS figures and warp serve's added latency per forwarded message.
# Knobs: BENCH_CHUNKS (100000), BENCH_RUNS (streams: 5), BENCH_REF_STREAM=0
# (no reference for the streams: they take it minutes).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
save=0
if [ "${1:-}" = --save-baseline ]; then save=1; shift; fi
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
S="$top/tests/mock-agent/scenarios"
N=${BENCH_CHUNKS:-100000}
RUNS=${BENCH_RUNS:-5}
CHUNK=$(printf '%064d' 0 | tr 0 x)   # 64 bytes
stream_ref=$have_ref; [ "${BENCH_REF_STREAM:-1}" = 1 ] || stream_ref=0
RES="$work/results"; : >"$RES"

# mean JSON INDEX: hyperfine's mean of command INDEX, in seconds.
mean() {
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][int(sys.argv[2])]["mean"])' "$1" "$2"
}

# scenario KEY LABEL RUNS FLOOR_CMD OURS_CMD REF_CMD ("-": none); one line
# of results: key, label, floor, ours, reference (seconds or "-").
scenario() {
	key=$1 label=$2 runs=$3 floor=$4 ours=$5 ref=$6
	set -- "$ours"
	[ "$floor" = - ] || set -- "$@" "$floor"
	[ "$ref" = - ] || set -- "$@" "$ref"
	hyperfine -N -w 1 -r "$runs" --export-json "$work/$key.json" "$@" \
	    >/dev/null 2>&1 || { echo "$key: a command failed: $*" >&2; return 0; }
	o=$(mean "$work/$key.json" 0); i=1; f=-; r=-
	[ "$floor" = - ] || { f=$(mean "$work/$key.json" $i); i=$((i + 1)); }
	[ "$ref" = - ] || r=$(mean "$work/$key.json" $i)
	printf '%s\t%s\t%s\t%s\t%s\n' "$key" "$label" "$f" "$o" "$r" >>"$RES"
}

owner_pid() { sed -n 's/^  "pid": \([0-9]*\),$/\1/p' "$HOME"/.acpx/queues/*.lock; }

cc -O2 -o "$work/drive" "$top/bench/drive.c"
DRIVE="$work/drive"
HELLO="$MOCK --scenario $S/hello.json"
FLOOR_STREAM="env DRIVE_PROMPT='chunks $N $CHUNK' $DRIVE $MOCK"
refcmd() { if [ $have_ref = 1 ]; then echo "$REF $*"; else echo -; fi; }
refstream() { if [ $stream_ref = 1 ]; then echo "$REF $*"; else echo -; fi; }

echo "running (load average $(cut -d' ' -f1-3 /proc/loadavg))..." >&2
scenario exec-one "exec one-chunk answer, quiet" 30 "$DRIVE $HELLO" \
    "$ACPX --format quiet --agent '$HELLO' exec hi" \
    "$(refcmd "--format quiet --agent '$HELLO' exec hi")"
scenario stream-quiet "exec $N x 64 B chunks, quiet" "$RUNS" "$FLOOR_STREAM" \
    "$ACPX --format quiet --agent $MOCK exec chunks $N $CHUNK" \
    "$(refstream "--format quiet --agent $MOCK exec chunks $N $CHUNK")"
scenario stream-json "same, --format json" "$RUNS" "$FLOOR_STREAM" \
    "$ACPX --format json --agent $MOCK exec chunks $N $CHUNK" \
    "$(refstream "--format json --agent $MOCK exec chunks $N $CHUNK")"
scenario stream-text "same, text" "$RUNS" "$FLOOR_STREAM" \
    "$ACPX --agent $MOCK exec chunks $N $CHUNK" \
    "$(refstream "--agent $MOCK exec chunks $N $CHUNK")"

# A persistent session: the owner and the agent are up before the runs.
persistent() {
	bin=$1
	mkdir -p "$work/proj-$2" && cd "$work/proj-$2" && git init -q .
	"$bin" --agent "$MOCK --supports-load-session" sessions new >/dev/null 2>&1
	"$bin" --agent "$MOCK --supports-load-session" --ttl 600 --format quiet \
	    "echo warm" >/dev/null 2>&1
	owners="$owners $(owner_pid)"
}
persistent "$ACPX" ours
AG="$MOCK --supports-load-session"
scenario session-stream "same through a persistent session, quiet" "$RUNS" \
    "$FLOOR_STREAM" "$ACPX --format quiet --agent '$AG' 'chunks $N $CHUNK'" -
OWNER_RSS=$(grep VmHWM "/proc/$(owner_pid)/status" | awk '{print $2}')
scenario warm-prompt "warm persistent prompt, whole command" 30 - \
    "$ACPX --format quiet --agent '$AG' 'echo hi'" -
cd "$work"

# The warm prompt until the agent receives it: bench/stamp-agent.c notes
# the moment, bench/warm.c starts the command (30 runs, medians).
cc -O2 -o "$work/stamp-agent" "$top/bench/stamp-agent.c"
cc -O2 -o "$work/warm" "$top/bench/warm.c"
export STAMP_FILE="$work/stamp"
mkdir -p "$work/proj-stamp" && cd "$work/proj-stamp" && git init -q .
"$ACPX" --agent "$work/stamp-agent" sessions new >/dev/null 2>&1
"$ACPX" --agent "$work/stamp-agent" --ttl 600 --format quiet hello >/dev/null 2>&1
owners="$owners $(owner_pid)"
if w=$("$work/warm" 30 "$STAMP_FILE" "$ACPX" --format quiet --agent \
    "$work/stamp-agent" "echo hi"); then
	set -- $w
	printf '%s\t%s\t-\t%s\t-\n' warm-recv \
	    "warm persistent prompt, until the agent receives it (median)" \
	    "$(awk -v v="$1" 'BEGIN { print v / 1000 }')" >>"$RES"
	printf '%s\t%s\t-\t%s\t-\n' warm-whole \
	    "warm persistent prompt, whole command (median)" \
	    "$(awk -v v="$2" 'BEGIN { print v / 1000 }')" >>"$RES"
fi
unset STAMP_FILE
cd "$work"

# acpx warp serve in front of the mock agent (as the agent "plain"): the
# 100k stream through the proxy against the agent driven directly, and
# the median round trip of 2,000 sequential requests, direct and through
# the proxy (the added latency per forwarded message is half the
# difference: a round trip is two forwarded messages).
mkdir -p "$HOME/.acpx"
[ -f "$HOME/.acpx/config.json" ] ||
    printf '{"agents": {"plain": {"command": "%s"}}}\n' "$MOCK" >"$HOME/.acpx/config.json"
scenario serve-stream "$N chunks through acpx warp serve (vs the agent direct)" \
    "$RUNS" "$FLOOR_STREAM" \
    "env DRIVE_PROMPT='chunks $N $CHUNK' $DRIVE $ACPX warp serve plain" -
PINGS=${BENCH_PINGS:-2000}
pd=$(DRIVE_PINGS=$PINGS "$DRIVE" "$MOCK" 2>&1 >/dev/null |
    sed -n 's/median round trip: \(.*\) us/\1/p')
pp=$(DRIVE_PINGS=$PINGS "$DRIVE" "$ACPX" warp serve plain 2>&1 >/dev/null |
    sed -n 's/median round trip: \(.*\) us/\1/p')
if [ -n "$pd" ] && [ -n "$pp" ]; then
	printf '%s\t%s\t%s\t%s\t-\n' serve-rtt \
	    "round trip through acpx warp serve (median of $PINGS)" \
	    "$(awk -v v="$pd" 'BEGIN { print v / 1e6 }')" \
	    "$(awk -v v="$pp" 'BEGIN { print v / 1e6 }')" >>"$RES"
	SERVE_ADDED=$(awk -v d="$pd" -v p="$pp" 'BEGIN { printf "%.1f", (p - d) / 2 }')
fi
if [ $have_ref = 1 ]; then
	# The reference's warm prompt, in its own project directory.
	for p in $owners; do kill "$p" 2>/dev/null || true; done
	# Each owner removes its own files as it ends: wait for them.
	for p in $owners; do
		while kill -0 "$p" 2>/dev/null; do sleep 0.1; done
	done
	owners=""
	rm -rf "$HOME/.acpx/queues"
	persistent "$REF" ref
	scenario warm-prompt-ref "warm persistent prompt (reference)" 10 - \
	    "$REF --format quiet --agent '$AG' 'echo hi'" -
	for p in $owners; do kill "$p" 2>/dev/null || true; done; owners=""
fi
cd "$work"

# Listings over a store of realistic records (records settle 2 s before
# the listing index trusts them: wait, then warm it).
for n in 1000 10000; do
	h="$work/store-$n"
	sh "$top/bench/mkstore.sh" "$h" "$n"
	sleep 2.2
	HOME=$h "$ACPX" --agent bench-agent sessions list --local >/dev/null
	scenario "list-$n" "sessions list, $n records" 20 - \
	    "env HOME=$h $ACPX --agent bench-agent sessions list --local" \
	    "$(if [ $n = 1000 ] && [ $have_ref = 1 ]; then
		echo "env HOME=$h $REF --agent bench-agent sessions list --local"
	    else echo -; fi)"
	scenario "complete-$n" "__complete session names, $n records" 20 - \
	    "env HOME=$h $ACPX __complete -- acpx --agent bench-agent --cwd /work/project-3 sessions show n" -
done

echo
python3 - "$RES" "$top/bench/baseline.json" "$save" <<'PY'
import json, os, sys, time
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
path, save = sys.argv[2], sys.argv[3] == "1"
try:
    base = json.load(open(path)).get("ours", {})
except (OSError, ValueError):
    base = {}
def t(x):
    if x == "-": return "—"
    v = float(x)
    if v < 1e-3: return "%.1f µs" % (v * 1e6)
    return "%.3f s" % v if v >= 1 else "%.1f ms" % (v * 1e3)
def ratio(a, b):
    return "—" if a == "-" or b == "-" else "%.2f×" % (float(a) / float(b))
print("| scenario | floor | ours | reference | ours / floor | ours / reference | ours / baseline |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for key, label, f, o, r in rows:
    b = base.get(key)
    print("| %s | %s | %s | %s | %s | %s | %s |" % (label, t(f), t(o), t(r),
        ratio(o, f), ratio(o, r),
        "%.2f×" % (float(o) / b) if b else "— (none recorded)"))
if save:
    json.dump({"recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "load_average": os.getloadavg()[0],
               "ours": {k: float(o) for k, _, _, o, _ in rows}},
              open(path, "w"), indent=2, sort_keys=True)
    print("\nbaseline written to %s" % path)
PY
echo
echo "owner peak RSS during the persistent stream: $OWNER_RSS kB"
[ -z "${SERVE_ADDED:-}" ] ||
    echo "acpx warp serve: $SERVE_ADDED us added per forwarded message"
rss() { /usr/bin/time -f %M "$@" >/dev/null 2>"$work/rss" </dev/null || true; tail -n 1 "$work/rss"; }
echo "acpx --version peak RSS: $(rss "$ACPX" --version) kB$( [ $have_ref = 1 ] && echo ", reference $(rss "$REF" --version) kB")"
echo "exec stream peak RSS: $(rss "$ACPX" --format quiet --agent "$MOCK" exec chunks "$N" "$CHUNK") kB"
