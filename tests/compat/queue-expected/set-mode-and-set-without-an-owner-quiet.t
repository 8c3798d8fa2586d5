plan
rc=0
high
rc=0
idle
rc=0
