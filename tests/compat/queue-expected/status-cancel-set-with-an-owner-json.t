{"action":"status_snapshot","status":"alive","summary":"queue owner healthy","acpxRecordId":"mock-session-1","acpxSessionId":"mock-session-1","pid":<pid>,"uptime":"<t>","lastPromptTime":"<ts>"}
rc=0
{"action":"cancel_result","acpxRecordId":"mock-session-1","cancelled":false}
rc=0
{"action":"mode_set","modeId":"plan","resumed":false,"acpxRecordId":"mock-session-1","acpxSessionId":"mock-session-1"}
rc=0
{"action":"config_set","configId":"effort","value":"high","resumed":false,"configOptions":[],"acpxRecordId":"mock-session-1","acpxSessionId":"mock-session-1"}
rc=0
{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"Cannot set model \"m2\": the ACP session did not advertise a model config option or legacy session/set_model support.","data":{"acpxCode":"RUNTIME","detailCode":"QUEUE_CONTROL_REQUEST_FAILED","origin":"queue","sessionId":"unknown"}}}
rc=1
