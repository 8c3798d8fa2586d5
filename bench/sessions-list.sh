#!/bin/sh
# sessions list --local over N (1,000) records (target: <= 15 ms, 10,000
# <= 100 ms; reference: ~0.4 s). Usage: bench/sessions-list.sh ACPX [REFERENCE_ACPX]
# Records from bench/mkstore.sh (a conversation of 4 messages, distinct
# ids); half belong to the listed agent.
set -eu
ours=${1:?usage: $0 ACPX [REFERENCE]}
ref=${2:-}
N=${N:-1000}
home=$(mktemp -d "${TMPDIR:-/tmp}/acpx-bench.XXXXXX")
trap 'rm -rf "$home"' EXIT
sh "$(dirname "$0")/mkstore.sh" "$home" "$N"
# The listing index trusts a record only once it has been unchanged for 2 s.
sleep 2.2

bench() {
	name=$1; shift
	HOME=$home "$@" --agent bench-agent sessions list --local >/dev/null # warm the cache
	best=""
	for r in 1 2 3 4 5; do
		t0=$(date +%s%N)
		HOME=$home "$@" --agent bench-agent sessions list --local >/dev/null
		t1=$(date +%s%N)
		ms=$(( (t1 - t0) / 1000000 ))
		[ -z "$best" ] || [ "$ms" -lt "$best" ] && best=$ms
	done
	echo "$name: best of 5 = ${best} ms for $N records"
}
bench ours "$ours"
[ -z "$ref" ] || bench reference "$ref"
