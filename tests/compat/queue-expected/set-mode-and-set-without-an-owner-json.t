{"action":"mode_set","modeId":"plan","resumed":true,"acpxRecordId":"mock-session-1","acpxSessionId":"mock-session-1"}
rc=0
{"action":"config_set","configId":"effort","value":"high","resumed":true,"configOptions":[],"acpxRecordId":"mock-session-1","acpxSessionId":"mock-session-1"}
rc=0
{"action":"status_snapshot","status":"idle","summary":"session idle; queue owner will start on next prompt","acpxRecordId":"mock-session-1","acpxSessionId":"mock-session-1"}
rc=0
