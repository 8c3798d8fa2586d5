[acpx] error: RUNTIME QUEUE_RUNTIME_PROMPT_FAILED model exploded
rc=1
