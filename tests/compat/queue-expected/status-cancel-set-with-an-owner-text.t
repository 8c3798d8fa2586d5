session: mock-session-1
agent: <mock> --supports-load-session --record <rec>
pid: <pid>
status: running
model: -
mode: -
uptime: <t>
lastPromptTime: <ts>
rc=0
nothing to cancel
rc=0
mode set: plan
rc=0
config set: effort=high (0 options)
rc=0
Cannot set model "m2": the ACP session did not advertise a model config option or legacy session/set_model support.
hint: rerun with `--verbose` to capture the ACP method/error details before retrying.
rc=1
