{
  "schema": "acpx.session.v1",
  "acpx_record_id": "mock-session-1",
  "acp_session_id": "mock-session-1",
  "agent_command": "<mock> --supports-load-session --record <rec>",
  "cwd": "<cwd>",
  "last_seq": 7,
  "last_request_id": "<uuid>",
  "event_log": {
    "active_path": "<home>/.acpx/sessions/mock-session-1.stream.ndjson",
    "segment_count": 5,
    "max_segment_bytes": 67108864,
    "max_segments": 5,
    "last_write_error": null
  },
  "closed": false,
  "last_agent_exit_code": null,
  "last_agent_exit_signal": null,
  "last_agent_disconnect_reason": "connection_close",
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
