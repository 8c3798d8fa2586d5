[acpx] session cwd (mock-session-1) · <cwd> · agent starting
[client] initialize (running)

[client] session/load (running)
answer

[done] end_turn
late chunk

[tool] late tool (pending)
rc=0
