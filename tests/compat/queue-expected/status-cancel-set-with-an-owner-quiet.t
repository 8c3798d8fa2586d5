running
rc=0
nothing to cancel
rc=0
plan
rc=0
high
rc=0
[acpx] error: RUNTIME QUEUE_CONTROL_REQUEST_FAILED Cannot set model "m2": the ACP session did not advertise a model config option or legacy session/set_model support.
rc=1
