[acpx] session cwd (mock-session-1) · <cwd> · agent starting
[client] initialize (running)

[client] session/load (running)

[done] cancelled

[error] TIMEOUT: Timed out after 20000ms
hint: increase `--timeout <seconds>` for long-running prompts, or check whether the agent/provider is stalled.
rc=3
