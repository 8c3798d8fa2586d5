[acpx] session cwd (mock-session-1) · <cwd> · agent starting
[client] initialize (running)

[client] session/load (running)
partial answer

[error] RUNTIME: ACP agent disconnected during request (connection_close, exit=null, signal=null)
rc=1
