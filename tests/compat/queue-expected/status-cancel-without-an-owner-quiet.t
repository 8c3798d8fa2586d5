idle
rc=0
nothing to cancel
rc=0
