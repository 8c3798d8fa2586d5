#include <config.h>

/*
 * libcurl, loaded on first use. Linking libcurl directly makes every acpx
 * start map some 35 shared libraries (TLS, Kerberos, LDAP, ...) that only
 * provider probes need: ~8 ms and ~6 MiB per `acpx --version`. Instead this
 * file defines the libcurl entry points acpx uses and forwards each to the
 * real one, found with dlopen("libcurl.so.4") the first time any is called.
 * Callers use <curl/curl.h> as usual. If libcurl cannot be loaded, the
 * constructors return NULL / an error code and callers report it.
 *
 * The variadic setopt/getinfo calls carry exactly one argument whose type
 * libcurl encodes in the option number; it is read with that type and passed
 * on unchanged.
 */

#define CURL_DISABLE_TYPECHECK 1

#include <dlfcn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <curl/curl.h>

#define CURL_DL_NAME	"libcurl.so.4"

static void	*curl_dl_handle;
static int	 curl_dl_tried;

/* The real symbol, or NULL if libcurl (or the symbol) is unavailable. */
static void *
curl_dl_sym(const char *name)
{
	if (!curl_dl_tried) {
		curl_dl_tried = 1;
		curl_dl_handle = dlopen(CURL_DL_NAME, RTLD_NOW | RTLD_LOCAL);
	}
	if (curl_dl_handle == NULL)
		return (NULL);
	return (dlsym(curl_dl_handle, name));
}

/* Declare a forwarder's function pointer, loaded once. */
#define CURL_DL(type, name, args)					\
	static type (*real) args;					\
	if (real == NULL)						\
		*(void **)(&real) = curl_dl_sym(#name)

CURLcode
curl_global_init(long flags)
{
	CURL_DL(CURLcode, curl_global_init, (long));
	return (real != NULL ? real(flags) : CURLE_FAILED_INIT);
}

void
curl_global_cleanup(void)
{
	CURL_DL(void, curl_global_cleanup, (void));
	if (real != NULL)
		real();
}

char *
curl_version(void)
{
	CURL_DL(char *, curl_version, (void));
	return (real != NULL ? real() : (char *)"libcurl (not available)");
}

curl_version_info_data *
curl_version_info(CURLversion v)
{
	CURL_DL(curl_version_info_data *, curl_version_info, (CURLversion));
	return (real != NULL ? real(v) : NULL);
}

CURL *
curl_easy_init(void)
{
	CURL_DL(CURL *, curl_easy_init, (void));
	return (real != NULL ? real() : NULL);
}

void
curl_easy_cleanup(CURL *h)
{
	CURL_DL(void, curl_easy_cleanup, (CURL *));
	if (real != NULL)
		real(h);
}

CURLcode
curl_easy_setopt(CURL *h, CURLoption opt, ...)
{
	CURL_DL(CURLcode, curl_easy_setopt, (CURL *, CURLoption, ...));
	va_list		ap;
	CURLcode	r;

	if (real == NULL)
		return (CURLE_FAILED_INIT);
	va_start(ap, opt);
	if (opt < CURLOPTTYPE_OBJECTPOINT)
		r = real(h, opt, va_arg(ap, long));
	else if (opt < CURLOPTTYPE_OFF_T)
		r = real(h, opt, va_arg(ap, void *));
	else if (opt < CURLOPTTYPE_BLOB)
		r = real(h, opt, va_arg(ap, curl_off_t));
	else
		r = real(h, opt, va_arg(ap, void *));
	va_end(ap);
	return (r);
}

CURLcode
curl_easy_getinfo(CURL *h, CURLINFO info, ...)
{
	CURL_DL(CURLcode, curl_easy_getinfo, (CURL *, CURLINFO, ...));
	va_list		ap;
	CURLcode	r;

	if (real == NULL)
		return (CURLE_FAILED_INIT);
	va_start(ap, info);
	r = real(h, info, va_arg(ap, void *));	/* always a result pointer */
	va_end(ap);
	return (r);
}

const char *
curl_easy_strerror(CURLcode code)
{
	CURL_DL(const char *, curl_easy_strerror, (CURLcode));
	return (real != NULL ? real(code) : "libcurl is not available");
}

CURLcode
curl_easy_pause(CURL *h, int bitmask)
{
	CURL_DL(CURLcode, curl_easy_pause, (CURL *, int));
	return (real != NULL ? real(h, bitmask) : CURLE_FAILED_INIT);
}

CURLM *
curl_multi_init(void)
{
	CURL_DL(CURLM *, curl_multi_init, (void));
	return (real != NULL ? real() : NULL);
}

CURLMcode
curl_multi_cleanup(CURLM *m)
{
	CURL_DL(CURLMcode, curl_multi_cleanup, (CURLM *));
	return (real != NULL ? real(m) : CURLM_INTERNAL_ERROR);
}

CURLMcode
curl_multi_add_handle(CURLM *m, CURL *h)
{
	CURL_DL(CURLMcode, curl_multi_add_handle, (CURLM *, CURL *));
	return (real != NULL ? real(m, h) : CURLM_INTERNAL_ERROR);
}

CURLMcode
curl_multi_remove_handle(CURLM *m, CURL *h)
{
	CURL_DL(CURLMcode, curl_multi_remove_handle, (CURLM *, CURL *));
	return (real != NULL ? real(m, h) : CURLM_INTERNAL_ERROR);
}

CURLMcode
curl_multi_setopt(CURLM *m, CURLMoption opt, ...)
{
	CURL_DL(CURLMcode, curl_multi_setopt, (CURLM *, CURLMoption, ...));
	va_list		ap;
	CURLMcode	r;

	if (real == NULL)
		return (CURLM_INTERNAL_ERROR);
	va_start(ap, opt);
	if (opt < CURLOPTTYPE_OBJECTPOINT)
		r = real(m, opt, va_arg(ap, long));
	else if (opt < CURLOPTTYPE_OFF_T)
		r = real(m, opt, va_arg(ap, void *));
	else
		r = real(m, opt, va_arg(ap, curl_off_t));
	va_end(ap);
	return (r);
}

CURLMcode
curl_multi_socket_action(CURLM *m, curl_socket_t s, int ev, int *running)
{
	CURL_DL(CURLMcode, curl_multi_socket_action,
	    (CURLM *, curl_socket_t, int, int *));
	return (real != NULL ? real(m, s, ev, running) : CURLM_INTERNAL_ERROR);
}

CURLMcode
curl_multi_assign(CURLM *m, curl_socket_t s, void *p)
{
	CURL_DL(CURLMcode, curl_multi_assign, (CURLM *, curl_socket_t, void *));
	return (real != NULL ? real(m, s, p) : CURLM_INTERNAL_ERROR);
}

CURLMsg *
curl_multi_info_read(CURLM *m, int *left)
{
	CURL_DL(CURLMsg *, curl_multi_info_read, (CURLM *, int *));
	return (real != NULL ? real(m, left) : NULL);
}

const char *
curl_multi_strerror(CURLMcode code)
{
	CURL_DL(const char *, curl_multi_strerror, (CURLMcode));
	return (real != NULL ? real(code) : "libcurl is not available");
}

struct curl_slist *
curl_slist_append(struct curl_slist *l, const char *s)
{
	CURL_DL(struct curl_slist *, curl_slist_append,
	    (struct curl_slist *, const char *));
	return (real != NULL ? real(l, s) : NULL);
}

void
curl_slist_free_all(struct curl_slist *l)
{
	CURL_DL(void, curl_slist_free_all, (struct curl_slist *));
	if (real != NULL)
		real(l);
}

void
curl_free(void *p)
{
	CURL_DL(void, curl_free, (void *));
	if (real != NULL)
		real(p);
}
