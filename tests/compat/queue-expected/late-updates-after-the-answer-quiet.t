answer
rc=0
