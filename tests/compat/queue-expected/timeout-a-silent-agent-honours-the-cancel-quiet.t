
[acpx] error: TIMEOUT QUEUE_RUNTIME_PROMPT_FAILED Timed out after 20000ms
rc=3
