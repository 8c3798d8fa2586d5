[acpx] session cwd (mock-session-1) · <cwd> · agent starting
[client] initialize (running)

[client] session/load (running)

[tool] Write a.txt (pending)
  input: a.txt

[client] session/request_permission (running)
permission: reject

[done] end_turn
rc=5
