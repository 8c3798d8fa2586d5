mode set: plan
rc=0
config set: effort=high (0 options)
rc=0
session: mock-session-1
agent: <mock> --supports-load-session --record <rec>
pid: -
status: idle
model: -
mode: -
uptime: -
lastPromptTime: -
rc=0
