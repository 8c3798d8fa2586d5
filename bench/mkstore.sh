#!/bin/sh
# A session store of N realistic records (a conversation of 4 messages,
# distinct ids; half belong to bench-agent, half to other-agent), written
# by one awk process. Usage: bench/mkstore.sh HOME_DIR N
set -eu
home=${1:?usage: $0 HOME_DIR N}
n=${2:?usage: $0 HOME_DIR N}
mkdir -p "$home/.acpx/sessions"
chmod 700 "$home/.acpx" "$home/.acpx/sessions"
awk -v n="$n" -v dir="$home/.acpx/sessions" 'BEGIN {
	for (i = 0; i < n; i++) {
		id = sprintf("bench-%05d", i)
		agent = i % 2 == 0 ? "bench-agent" : "other-agent"
		f = dir "/" id ".json"
		printf "{\n" > f
		printf "  \"schema\": \"acpx.session.v1\",\n" > f
		printf "  \"acpx_record_id\": \"%s\",\n", id > f
		printf "  \"acp_session_id\": \"%s\",\n", id > f
		printf "  \"agent_command\": \"%s\",\n", agent > f
		printf "  \"cwd\": \"/work/project-%d\",\n", i % 7 > f
		if (i % 3 == 0)
			printf "  \"name\": \"name-%d\",\n", i > f
		printf "  \"created_at\": \"2026-01-01T00:00:00.000Z\",\n" > f
		printf "  \"last_used_at\": \"2026-01-01T00:%02d:00.000Z\",\n", i % 60 > f
		printf "  \"last_seq\": 12,\n" > f
		printf "  \"event_log\": {\"active_path\": \"%s/%s.stream.ndjson\", \"segment_count\": 5, \"max_segment_bytes\": 67108864, \"max_segments\": 5, \"last_write_error\": null},\n", dir, id > f
		printf "  \"closed\": %s,\n", i % 5 == 0 ? "true" : "false" > f
		printf "  \"protocol_version\": 1,\n" > f
		printf "  \"agent_capabilities\": {\"loadSession\": true},\n" > f
		printf "  \"title\": null,\n" > f
		printf "  \"messages\": [{\"User\": {\"id\": \"u1\", \"content\": [{\"Text\": \"explain the build\"}]}},\n" > f
		printf "    {\"Agent\": {\"content\": [{\"Text\": \"The build uses autotools and a single Makefile.\"}], \"tool_results\": {}}},\n" > f
		printf "    {\"User\": {\"id\": \"u2\", \"content\": [{\"Text\": \"and the tests?\"}]}},\n" > f
		printf "    {\"Agent\": {\"content\": [{\"Thinking\": {\"text\": \"look at tests/\", \"signature\": null}}, {\"Text\": \"TAP through make check.\"}], \"tool_results\": {}}}],\n" > f
		printf "  \"updated_at\": \"2026-01-01T00:00:00.000Z\",\n" > f
		printf "  \"cumulative_token_usage\": {\"input_tokens\": 100, \"output_tokens\": 20},\n" > f
		printf "  \"request_token_usage\": {},\n" > f
		printf "  \"acpx\": {\"current_mode_id\": \"default\"}\n" > f
		printf "}\n" > f
		close(f)
	}
}'
chmod 600 "$home/.acpx/sessions"/*.json
