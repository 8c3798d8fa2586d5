partial answer
[acpx] error: RUNTIME AGENT_DISCONNECTED ACP agent disconnected during request (connection_close, exit=null, signal=null)
rc=1
