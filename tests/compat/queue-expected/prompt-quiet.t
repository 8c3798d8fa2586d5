hello
rc=0
