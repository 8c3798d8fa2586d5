{"action":"status_snapshot","status":"idle","summary":"session idle; queue owner will start on next prompt","acpxRecordId":"mock-session-1","acpxSessionId":"mock-session-1"}
rc=0
{"action":"cancel_result","acpxRecordId":"mock-session-1","cancelled":false}
rc=0
