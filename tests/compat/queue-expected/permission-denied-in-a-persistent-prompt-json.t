[acpx] session cwd (mock-session-1) · <cwd> · agent starting
{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":1,"clientCapabilities":{"fs":{"readTextFile":true,"writeTextFile":true},"terminal":true},"clientInfo":{"name":"acpx","version":"0.19.1"}}}
{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":1,"agentCapabilities":{"loadSession":true,"promptCapabilities":{"image":false,"audio":false,"embeddedContext":false}},"authMethods":[],"agentInfo":{"name":"mock-agent","version":"0.1.0"}}}
{"jsonrpc":"2.0","id":1,"method":"session/load","params":{"sessionId":"mock-session-1","cwd":"<cwd>","mcpServers":[]}}
{"jsonrpc":"2.0","id":1,"result":{}}
{"jsonrpc":"2.0","id":2,"method":"session/prompt","params":{"sessionId":"mock-session-1","prompt":[{"type":"text","text":"x"}]}}
{"jsonrpc":"2.0","method":"session/update","params":{"sessionId":"mock-session-1","update":{"sessionUpdate":"tool_call","toolCallId":"tc-write","title":"Write a.txt","kind":"edit","status":"pending","rawInput":{"path":"a.txt","content":"hello"}}}}
{"jsonrpc":"2.0","id":0,"method":"session/request_permission","params":{"toolCall":{"toolCallId":"tc-write","title":"Write a.txt","kind":"edit","rawInput":{"path":"a.txt","content":"hello"}},"options":[{"optionId":"allow","name":"Allow","kind":"allow_once"},{"optionId":"always","name":"Always allow","kind":"allow_always"},{"optionId":"reject","name":"Reject","kind":"reject_once"}],"sessionId":"mock-session-1"}}
{"jsonrpc":"2.0","id":0,"result":{"outcome":{"outcome":"selected","optionId":"reject"}}}
{"jsonrpc":"2.0","method":"session/update","params":{"sessionId":"mock-session-1","update":{"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":"permission: "}}}}
{"jsonrpc":"2.0","method":"session/update","params":{"sessionId":"mock-session-1","update":{"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":"reject"}}}}
{"jsonrpc":"2.0","id":2,"result":{"stopReason":"end_turn"}}
rc=5
