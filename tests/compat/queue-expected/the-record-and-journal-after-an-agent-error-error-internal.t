[acpx] error: RUNTIME QUEUE_RUNTIME_PROMPT_FAILED model exploded
rc=1
{
  "schema": "acpx.session.v1",
  "acpx_record_id": "mock-session-1",
  "acp_session_id": "mock-session-1",
  "agent_command": "<mock> --supports-load-session --record <rec> --scenario <scenarios>/error-internal.json",
  "cwd": "<cwd>",
  "last_seq": 6,
  "event_log": {
    "active_path": "<home>/.acpx/sessions/mock-session-1.stream.ndjson",
    "segment_count": 5,
    "max_segment_bytes": 67108864,
    "max_segments": 5,
    "last_write_error": null
  },
  "closed": false,
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
            "Text": "x"
          }
        ]
      }
    }
  ],
  "cumulative_token_usage": {},
  "request_token_usage": {},
  "acpx": {}
}
1
{"schema":"acpx.session.journal.v1","type":"segment","record_id":"mock-session-1","sequence":0,"message_sequence":0,"request_id":null}
{"schema":"acpx.session.journal.v1","type":"turn_started",}
{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":1,"clientCapabilities":{"fs":{"readTextFile":true,"writeTextFile":true},"terminal":true},"clientInfo":{"name":"acpx","version":"0.19.1"}}}
{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":1,"agentCapabilities":{"loadSession":true,"promptCapabilities":{"image":false,"audio":false,"embeddedContext":false}},"authMethods":[],"agentInfo":{"name":"mock-agent","version":"0.1.0"}}}
{"jsonrpc":"2.0","id":1,"method":"session/load","params":{"sessionId":"mock-session-1","cwd":"<cwd>","mcpServers":[]}}
{"jsonrpc":"2.0","id":1,"result":{}}
{"jsonrpc":"2.0","id":2,"method":"session/prompt","params":{"sessionId":"mock-session-1","prompt":[{"type":"text","text":"x"}]}}
{"jsonrpc":"2.0","id":2,"error":{"code":-32603,"message":"Internal error","data":{"details":"model exploded"}}}
{"schema":"acpx.session.journal.v1","type":"turn_result",,"result":{"status":"failed","error":{"message":"Internal error","code":"RUNTIME","detailCode":"QUEUE_RUNTIME_PROMPT_FAILED"}}}
