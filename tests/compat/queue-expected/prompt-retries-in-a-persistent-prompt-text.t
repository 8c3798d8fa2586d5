[acpx] session cwd (mock-session-1) · <cwd> · agent starting
[client] initialize (running)

[client] session/load (running)

[error] RUNTIME: model exploded

[error] RUNTIME: model exploded
rc=1
