[acpx] session cwd (mock-session-1) · <cwd> · agent starting
[client] initialize (running)

[client] session/load (running)
hello

[done] end_turn
rc=0
