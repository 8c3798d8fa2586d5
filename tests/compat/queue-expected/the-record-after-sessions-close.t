mock-session-1
rc=0
id: mock-session-1
sessionId: mock-session-1
agentSessionId: -
agent: <mock> --supports-load-session --record <rec>
cwd: <cwd>
name: -
closed: yes
pid: -
lastExitCode: -
lastExitSignal: -
historyEntries: 2
{
  "schema": "acpx.session.v1",
  "acpx_record_id": "mock-session-1",
  "acp_session_id": "mock-session-1",
  "agent_command": "<mock> --supports-load-session --record <rec>",
  "cwd": "<cwd>",
  "last_seq": 7,
  "event_log": {
    "active_path": "<home>/.acpx/sessions/mock-session-1.stream.ndjson",
    "segment_count": 5,
    "max_segment_bytes": 67108864,
    "max_segments": 5,
    "last_write_error": null
  },
  "closed": true,
  "protocol_version": 1,
  "agent_capabilities": {
    "loadSession": true,
    "promptCapabilities": {
      "image": false,
      "audio": false,
      "embeddedContext": false
    }
  },
  "title": null,
  "messages": [
    {
      "User": {
        "content": [
          {
            "Text": "echo hi"
          }
        ]
      }
    },
    {
      "Agent": {
        "content": [
          {
            "Text": "hi"
          }
        ],
        "tool_results": {}
      }
    }
  ],
  "cumulative_token_usage": {},
  "request_token_usage": {},
  "acpx": {}
}
