permission: reject
[acpx] error: PERMISSION_DENIED Permission request denied or cancelled
rc=5
