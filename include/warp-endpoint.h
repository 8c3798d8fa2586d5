/*
 * warp-endpoint: a Warp provider given to a harness over ACP instead of
 * through its environment (the custom-LLM-endpoint proposal: the agent
 * lists agentCapabilities.llmEndpoints.protocols in its initialize result;
 * the client calls setLlmEndpoints {endpoints: {<protocol>: {url,
 * headers}}} after initialize, before any session).
 *
 * The launch (warp-launch.c) builds one struct warp_endpoint per warp
 * agent start: the harness's protocol and URL, the provider's shared
 * (OpenAI-style) base URL, the key, and the environment table it also
 * built, which stays the fallback. An agent is started without the key in
 * its environment only when a previous start of the same harness command
 * accepted setLlmEndpoints (remembered in ~/.acpx/warp/endpoints.json,
 * no secret in it); otherwise it gets the environment table and, if it
 * advertises a protocol we can serve, the endpoint over ACP as well (that
 * start is how the harness is learnt). One that refused it once is not
 * offered it again (remove the file to learn again). An agent started without its key
 * that then does not advertise or rejects the call is restarted once
 * with the environment table (the client's caller prints the notice).
 *
 * Owns the struct (warp_endpoint_free() wipes the key), the file
 * endpoints.json and the wording of the setLlmEndpoints params. The
 * params and every copy made here hold the key only where the agent must
 * read it; warp_endpoint_scrub() gives what may be shown.
 */
#ifndef ACPX_WARP_ENDPOINT_H
#define ACPX_WARP_ENDPOINT_H

#include <jansson.h>

struct warp_endpoint;

/* The method and the capability, as the proposal names them. */
#define WARP_ENDPOINT_METHOD	"setLlmEndpoints"

/*
 * A new endpoint: harness (row name), protocol (the harness's own:
 * "openai", "anthropic", "google"), harness_url (the URL that harness's
 * environment row gets), shared_url (WARP_<P>_BASE_URL, trimmed), key.
 * All copied. Free with warp_endpoint_free().
 */
struct warp_endpoint *warp_endpoint_new(const char *harness,
		    const char *protocol, const char *harness_url,
		    const char *shared_url, const char *key);
void		 warp_endpoint_free(struct warp_endpoint *);

/*
 * Bind to the launch: argv (the harness command, the memo's key) and the
 * environment table (env_add "NAME=VALUE", env_unset names, secrets the
 * values to withhold; all borrowed for the call). When the memo says this
 * command accepts endpoints over ACP, the endpoint keeps an injection
 * environment: env_add without the variables holding a secret, env_unset
 * with their names (so an inherited one cannot stand in).
 */
void		 warp_endpoint_bind(struct warp_endpoint *, char *const *argv,
		    char *const *env_add, char *const *env_unset,
		    char *const *secrets);

/* Non-zero if a start that is not a fallback withholds the key. */
int		 warp_endpoint_withholds(const struct warp_endpoint *);

/*
 * The environment lists to spawn with: the injection ones (borrowed from
 * ep) when ep withholds the key and fallback is 0, else add and unset as
 * given. ep may be NULL.
 */
void		 warp_endpoint_spawn_env(const struct warp_endpoint *,
		    int fallback, char *const *add, char *const *unset,
		    char *const **add_out, char *const **unset_out);

/*
 * The setLlmEndpoints params for an agent whose initialize result is
 * init: {endpoints: {<protocol>: {url, headers}}} for the harness's
 * protocol when advertised (its URL), else "openai" when advertised (the
 * shared base URL), else NULL (nothing we can serve). The header is the
 * protocol's: Authorization: Bearer (openai and others), x-api-key
 * (anthropic), x-goog-api-key (google). Caller owns (it holds the key).
 */
json_t		*warp_endpoint_params(const struct warp_endpoint *,
		    const json_t *init);

/*
 * The one decision of both engines (the ACP client, warp serve's
 * harnesses), fallback non-zero once the agent was started again:
 *
 * warp_endpoint_after_init(): after initialize, the setLlmEndpoints
 * params to send (caller owns), or NULL: go on, unless *restart is set
 * (started without its key, it no longer advertises: start it again
 * with the environment table, after *notice).
 *
 * warp_endpoint_answer(): after the answer to setLlmEndpoints (error
 * NULL: accepted), learnt for the next start; returns non-zero when the
 * agent must be started again with the environment table. *notice gets
 * the one line for the user (caller frees) or NULL; it names agent and
 * the agent's message with the redact values hidden.
 */
json_t		*warp_endpoint_after_init(const struct warp_endpoint *,
		    int fallback, const json_t *init, const char *agent,
		    int *restart, char **notice);
int		 warp_endpoint_answer(const struct warp_endpoint *, int fallback,
		    const json_t *error, char *const *redact, const char *agent,
		    char **notice);

/*
 * Remember how this harness command answered setLlmEndpoints in
 * ~/.acpx/warp/endpoints.json: accepted 1 (later starts withhold the
 * key), 0 refused (not offered again), -1 no longer advertised
 * (forgotten). Written only when it changes (an atomic write of a small
 * local file); failures are ignored: the memo only saves a restart.
 */
void		 warp_endpoint_learn(const struct warp_endpoint *, int accepted);

/*
 * A copy of msg fit to show, log or journal when it is a setLlmEndpoints
 * request (every header value "[redacted]"), else NULL. Caller owns.
 */
json_t		*warp_endpoint_scrub(const json_t *msg);

/* ~/.acpx/warp/endpoints.json for a home. Caller owns. */
char		*warp_endpoint_memo_path(const char *home);

#endif
