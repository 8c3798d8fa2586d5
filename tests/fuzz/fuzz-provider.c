/*
 * libFuzzer harness: a provider's HTTP answer as warp probe reads it
 * (warp-probe.h, the pure parts). The first two bytes pick the status
 * (100-611), the rest is the body: classification, the one-line message
 * of the body; the bytes are also tried as a Retry-After value and as a
 * base URL to display.
 */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "warp-probe.h"
#include "xmalloc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	xmalloc_init();
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*body;
	char		*text, *msg, *url;
	long		 status = 200;

	if (size >= 2) {
		status = 100 + ((data[0] << 8 | data[1]) % 512);
		data += 2;
		size -= 2;
	}
	body = (const char *)data;
	if (warp_probe_class_name(warp_probe_classify(status, body, size)) ==
	    NULL)
		abort();
	msg = warp_probe_body_message(body, size);
	if (msg != NULL && strlen(msg) > 4 * 200)
		abort();
	free(msg);

	text = xmalloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	(void)warp_probe_retry_after(text, (time_t)1767225600);
	url = warp_probe_display_url(text);
	free(url);
	free(text);
	return (0);
}
