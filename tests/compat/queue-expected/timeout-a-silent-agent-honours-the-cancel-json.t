[acpx] session cwd (mock-session-1) · <cwd> · agent starting
{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":1,"clientCapabilities":{"fs":{"readTextFile":true,"writeTextFile":true},"terminal":true},"clientInfo":{"name":"acpx","version":"0.19.1"}}}
{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":1,"agentCapabilities":{"loadSession":true,"promptCapabilities":{"image":false,"audio":false,"embeddedContext":false}},"authMethods":[],"agentInfo":{"name":"mock-agent","version":"0.1.0"}}}
{"jsonrpc":"2.0","id":1,"method":"session/load","params":{"sessionId":"mock-session-1","cwd":"<cwd>","mcpServers":[]}}
{"jsonrpc":"2.0","id":1,"result":{}}
{"jsonrpc":"2.0","id":2,"method":"session/prompt","params":{"sessionId":"mock-session-1","prompt":[{"type":"text","text":"x"}]}}
{"jsonrpc":"2.0","method":"session/cancel","params":{"sessionId":"mock-session-1"}}
{"jsonrpc":"2.0","id":2,"result":{"stopReason":"cancelled"}}
{"jsonrpc":"2.0","id":null,"error":{"code":-32070,"message":"Timed out after 20000ms","data":{"acpxCode":"TIMEOUT","detailCode":"QUEUE_RUNTIME_PROMPT_FAILED","origin":"runtime","sessionId":"mock-session-1"}}}
rc=3
