#!/bin/sh
# sessions list --local over 1,000 records (issue 4 target: <= 20 ms;
# reference: ~0.4 s). Usage: bench/sessions-list.sh ACPX [REFERENCE_ACPX]
# Records are copies of one realistic record (a conversation of 4
# messages) with distinct ids; half belong to the listed agent.
set -eu
ours=${1:?usage: $0 ACPX [REFERENCE]}
ref=${2:-}
N=${N:-1000}
home=$(mktemp -d "${TMPDIR:-/tmp}/acpx-bench.XXXXXX")
trap 'rm -rf "$home"' EXIT
mkdir -p "$home/.acpx/sessions"
i=0
while [ $i -lt "$N" ]; do
	id=$(printf 'bench-%05d' $i)
	agent=bench-agent; [ $((i % 2)) -eq 0 ] || agent=other-agent
	cat >"$home/.acpx/sessions/$id.json" <<REC
{
  "schema": "acpx.session.v1",
  "acpx_record_id": "$id",
  "acp_session_id": "$id",
  "agent_command": "$agent",
  "cwd": "/work/project-$((i % 7))",
  "created_at": "2026-01-01T00:00:00.000Z",
  "last_used_at": "2026-01-01T00:$(printf '%02d' $((i % 60))):00.000Z",
  "last_seq": 12,
  "event_log": {"active_path": "$home/.acpx/sessions/$id.stream.ndjson", "segment_count": 5, "max_segment_bytes": 67108864, "max_segments": 5, "last_write_error": null},
  "closed": false,
  "protocol_version": 1,
  "agent_capabilities": {"loadSession": true},
  "title": null,
  "messages": [{"User": {"id": "u1", "content": [{"Text": "explain the build"}]}},
    {"Agent": {"content": [{"Text": "The build uses autotools and a single Makefile."}], "tool_results": {}}},
    {"User": {"id": "u2", "content": [{"Text": "and the tests?"}]}},
    {"Agent": {"content": [{"Thinking": {"text": "look at tests/", "signature": null}}, {"Text": "TAP through make check."}], "tool_results": {}}}],
  "updated_at": "2026-01-01T00:00:00.000Z",
  "cumulative_token_usage": {"input_tokens": 100, "output_tokens": 20},
  "request_token_usage": {},
  "acpx": {"current_mode_id": "default"}
}
REC
	i=$((i + 1))
done

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
