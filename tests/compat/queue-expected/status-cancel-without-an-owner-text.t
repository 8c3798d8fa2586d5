session: mock-session-1
agent: <mock> --supports-load-session --record <rec>
pid: -
status: idle
model: -
mode: -
uptime: -
lastPromptTime: -
rc=0
nothing to cancel
rc=0
