# key 9499ce60fb574ef3afcbe4f4a4c92e5f7913b13c1f3479258106aecd546848ec
{"step":"healthy","ok":true}
{"step":"ensure","ok":true,"backend":"acpx","hasRecordId":true,"hasBackendSessionId":true}
{"step":"turn-1","ok":true,"events":["text:first turn","done:{}"]}
{"step":"turn-2","ok":true,"events":["text:second turn","done:{}"]}
{"step":"ensure-again","ok":true,"sameRecord":true}
{"step":"status","ok":true,"status":"alive","sameRecord":true,"summaryStarts":"status="}
{"step":"set-mode","ok":true}
{"step":"set-config","ok":true}
{"step":"turn-long","ok":true,"events":["done:{}"]}
{"step":"cancel","ok":true,"error":null}
{"step":"turn-after-cancel","ok":true,"events":["text:still here","done:{}"]}
{"step":"close","ok":true}
{"step":"turn-after-close","ok":true,"events":["error:{\"message\":\"acpx exited with code 4\"}"]}
{"step":"status-after-close","ok":true,"status":"no-session"}
