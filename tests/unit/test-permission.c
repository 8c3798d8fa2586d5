/*
 * Unit tests for the permission decision (src/permission.c): the full
 * matrix of modes x tool kinds x option sets x TTY x non-interactive policy,
 * plus policy rules, escalation and classification.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acpx.h"
#include "permission.h"
#include "xmalloc.h"
#include "tap.h"

static json_t *
request(const char *kind, const char *title, const char *options)
{
	json_t	*tc, *p;
	char	 buf[512];

	tc = json_pack("{s:s}", "toolCallId", "tc-1");
	if (kind != NULL)
		json_object_set_new(tc, "kind", json_string(kind));
	if (title != NULL)
		json_object_set_new(tc, "title", json_string(title));
	snprintf(buf, sizeof buf, "[%s]", options);
	p = json_pack("{s:s, s:o, s:o}", "sessionId", "s-1", "toolCall", tc,
	    "options", json_loads(buf, 0, NULL));
	return (p);
}

#define ALLOW_ONCE	"{\"optionId\":\"a1\",\"kind\":\"allow_once\"}"
#define ALLOW_ALWAYS	"{\"optionId\":\"a2\",\"kind\":\"allow_always\"}"
#define REJECT_ONCE	"{\"optionId\":\"r1\",\"kind\":\"reject_once\"}"
#define REJECT_ALWAYS	"{\"optionId\":\"r2\",\"kind\":\"reject_always\"}"

/* Outcome as a short string: "a1", "r2", "cancelled", "ask", "unavailable". */
static const char *
outcome(const json_t *req, enum acpx_perm_mode mode, enum acpx_nonint ni,
    const json_t *policy, int tty)
{
	static char		 buf[64];
	struct perm_decision	 d;
	json_t			*resp;
	const char		*id;

	permission_decide(req, mode, ni, policy, tty, "T", &d);
	switch (d.action) {
	case PERM_ASK:
		snprintf(buf, sizeof buf, "ask:%s/%s", d.allow_id ? d.allow_id : "-",
		    d.reject_id ? d.reject_id : "-");
		break;
	case PERM_UNAVAILABLE:
		snprintf(buf, sizeof buf, "unavailable");
		break;
	default:
		resp = permission_response(&d, 0);
		id = json_string_value(json_object_get(json_object_get(resp,
		    "outcome"), "optionId"));
		snprintf(buf, sizeof buf, "%s%s", id != NULL ? id : "cancelled",
		    json_object_get(resp, "_meta") != NULL ? "+esc" : "");
		json_decref(resp);
		break;
	}
	permission_decision_clear(&d);
	return (buf);
}

static const char *const option_sets[] = {
	ALLOW_ONCE "," ALLOW_ALWAYS "," REJECT_ONCE "," REJECT_ALWAYS,
	ALLOW_ALWAYS "," REJECT_ALWAYS,
	ALLOW_ONCE,
	REJECT_ONCE,
	"",
};

/* Expected per (option set) for each mode x read/write x tty x policy. */
struct row {
	enum acpx_perm_mode	 mode;
	const char		*kind;
	int			 tty;
	enum acpx_nonint	 ni;
	const char		*want[5];	/* one per option set */
};

static const struct row matrix[] = {
	{ ACPX_PERM_APPROVE_ALL, "edit", 0, ACPX_NONINT_DENY,
	    { "a1", "a2", "a1", "r1", "cancelled" } },
	{ ACPX_PERM_APPROVE_ALL, "read", 1, ACPX_NONINT_FAIL,
	    { "a1", "a2", "a1", "r1", "cancelled" } },
	{ ACPX_PERM_DENY_ALL, "read", 0, ACPX_NONINT_DENY,
	    { "r1", "r2", "cancelled", "r1", "cancelled" } },
	{ ACPX_PERM_DENY_ALL, "edit", 1, ACPX_NONINT_FAIL,
	    { "r1", "r2", "cancelled", "r1", "cancelled" } },
	{ ACPX_PERM_APPROVE_READS, "read", 0, ACPX_NONINT_DENY,
	    { "a1", "a2", "a1", "r1", "cancelled" } },
	{ ACPX_PERM_APPROVE_READS, "search", 0, ACPX_NONINT_FAIL,
	    { "a1", "a2", "a1", "unavailable", "cancelled" } },
	{ ACPX_PERM_APPROVE_READS, "edit", 0, ACPX_NONINT_DENY,
	    { "r1", "r2", "cancelled", "r1", "cancelled" } },
	{ ACPX_PERM_APPROVE_READS, "execute", 0, ACPX_NONINT_FAIL,
	    { "unavailable", "unavailable", "unavailable", "unavailable", "cancelled" } },
	{ ACPX_PERM_APPROVE_READS, "edit", 1, ACPX_NONINT_DENY,
	    { "ask:a1/r1", "ask:a2/r2", "ask:a1/-", "ask:-/r1", "cancelled" } },
	{ ACPX_PERM_APPROVE_READS, "read", 1, ACPX_NONINT_DENY,
	    { "a1", "a2", "a1", "ask:-/r1", "cancelled" } },
};

int
main(void)
{
	json_t		*req, *pol, *resp;
	size_t		 i, j;
	char		 name[128];
	const char	*got;

	xmalloc_init();

	for (i = 0; i < nitems(matrix); i++) {
		snprintf(name, sizeof name, "matrix row %zu: mode %d kind %s tty %d ni %d",
		    i, matrix[i].mode, matrix[i].kind, matrix[i].tty, matrix[i].ni);
		TEST_START(name);
		for (j = 0; j < nitems(option_sets); j++) {
			req = request(matrix[i].kind, "Tool", option_sets[j]);
			got = outcome(req, matrix[i].mode, matrix[i].ni, NULL,
			    matrix[i].tty);
			if (strcmp(got, matrix[i].want[j]) != 0)
				TAP_FAIL("option set %zu: got %s want %s", j, got,
				    matrix[i].want[j]);
			json_decref(req);
		}
		TEST_DONE();
	}

	TEST_START("kind inferred from title head word");
	req = request(NULL, "Read README.md", ALLOW_ONCE "," REJECT_ONCE);
	ASSERT_STR_EQ(permission_infer_kind(req), "read");
	ASSERT_STR_EQ(outcome(req, ACPX_PERM_APPROVE_READS, ACPX_NONINT_DENY, NULL, 0), "a1");
	json_decref(req);
	req = request(NULL, "grep: foo", ALLOW_ONCE);
	ASSERT_STR_EQ(permission_infer_kind(req), "search");
	json_decref(req);
	req = request(NULL, "Rename x", ALLOW_ONCE);
	ASSERT_STR_EQ(permission_infer_kind(req), "move");
	json_decref(req);
	req = request(NULL, "Frobnicate", ALLOW_ONCE);
	ASSERT_STR_EQ(permission_infer_kind(req), "other");
	json_decref(req);
	req = request(NULL, NULL, ALLOW_ONCE);
	ASSERT_PTR_NULL(permission_infer_kind(req));
	json_decref(req);
	TEST_DONE();

	TEST_START("policy order: autoDeny beats autoApprove, escalate, default");
	pol = json_loads("{\"autoApprove\":[\"edit\"],\"autoDeny\":[\"Write\"]}", 0, NULL);
	req = request("edit", "Write a.txt", ALLOW_ONCE "," REJECT_ONCE);
	ASSERT_STR_EQ(outcome(req, ACPX_PERM_APPROVE_ALL, ACPX_NONINT_DENY, pol, 0), "r1");
	json_decref(pol);
	pol = json_loads("{\"autoApprove\":[\"EDIT\"]}", 0, NULL);
	ASSERT_STR_EQ(outcome(req, ACPX_PERM_DENY_ALL, ACPX_NONINT_DENY, pol, 0), "a1");
	json_decref(pol);
	pol = json_loads("{\"defaultAction\":\"deny\"}", 0, NULL);
	ASSERT_STR_EQ(outcome(req, ACPX_PERM_APPROVE_ALL, ACPX_NONINT_DENY, pol, 0), "r1");
	json_decref(pol);
	pol = json_loads("{\"autoApprove\":[\"*\"]}", 0, NULL);
	ASSERT_STR_EQ(outcome(req, ACPX_PERM_DENY_ALL, ACPX_NONINT_DENY, pol, 0), "a1");
	json_decref(pol);
	pol = json_loads("{\"autoApprove\":[\"read\"]}", 0, NULL);
	ASSERT_STR_EQ(outcome(req, ACPX_PERM_DENY_ALL, ACPX_NONINT_DENY, pol, 0), "r1");
	json_decref(pol);
	json_decref(req);
	TEST_DONE();

	TEST_START("escalate without a TTY rejects with _meta.acpx.permissionEscalation");
	pol = json_loads("{\"escalate\":[\"edit\"]}", 0, NULL);
	req = json_loads("{\"sessionId\":\"s\",\"toolCall\":{\"toolCallId\":\"tc-1\","
	    "\"title\":\"Write file\",\"kind\":\"edit\",\"rawInput\":{\"cmd\":\"x\"}},"
	    "\"options\":[" ALLOW_ONCE "," REJECT_ONCE "]}", 0, NULL);
	{
		struct perm_decision d;
		char *s;

		permission_decide(req, ACPX_PERM_APPROVE_READS, ACPX_NONINT_DENY,
		    pol, 0, "2026-01-01T00:00:00.000Z", &d);
		resp = permission_response(&d, 0);
		s = json_dumps(resp, JSON_COMPACT);
		ASSERT_STR_EQ(s, "{\"outcome\":{\"outcome\":\"selected\",\"optionId\":"
		    "\"r1\"},\"_meta\":{\"acpx\":{\"permissionEscalation\":{\"type\":"
		    "\"permission_escalation\",\"sessionId\":\"s\",\"toolCallId\":"
		    "\"tc-1\",\"toolName\":\"Write\",\"toolTitle\":\"Write file\","
		    "\"toolInput\":{\"cmd\":\"x\"},\"toolKind\":\"edit\",\"action\":"
		    "\"escalate\",\"matchedRule\":\"edit\",\"message\":\"Permission "
		    "escalation required for Write file\",\"timestamp\":"
		    "\"2026-01-01T00:00:00.000Z\"}}}}");
		free(s);
		json_decref(resp);
		permission_decision_clear(&d);
		permission_decide(req, ACPX_PERM_APPROVE_READS, ACPX_NONINT_DENY,
		    pol, 1, "T", &d);
		ASSERT_INT_EQ(d.action, PERM_ASK);
		ASSERT_STR_EQ(d.prompt, "\n[permission] Allow Write file [edit]? (y/N) ");
		permission_decision_clear(&d);
	}
	json_decref(req);
	json_decref(pol);
	TEST_DONE();

	TEST_START("classify responses");
	req = request("edit", "Write", ALLOW_ONCE "," REJECT_ALWAYS);
	resp = json_loads("{\"outcome\":{\"outcome\":\"selected\",\"optionId\":\"a1\"}}", 0, NULL);
	ASSERT_STR_EQ(permission_classify(req, resp), "approved");
	json_decref(resp);
	resp = json_loads("{\"outcome\":{\"outcome\":\"selected\",\"optionId\":\"r2\"}}", 0, NULL);
	ASSERT_STR_EQ(permission_classify(req, resp), "denied");
	json_decref(resp);
	resp = json_loads("{\"outcome\":{\"outcome\":\"selected\",\"optionId\":\"zz\"}}", 0, NULL);
	ASSERT_STR_EQ(permission_classify(req, resp), "cancelled");
	json_decref(resp);
	resp = json_loads("{\"outcome\":{\"outcome\":\"cancelled\"}}", 0, NULL);
	ASSERT_STR_EQ(permission_classify(req, resp), "cancelled");
	json_decref(resp);
	json_decref(req);
	TEST_DONE();

	TEST_START("codex: decline preferred, notices for cancel option and cancelled");
	req = json_loads("{\"sessionId\":\"s\",\"toolCall\":{\"toolCallId\":\"t\","
	    "\"kind\":\"edit\"},\"options\":[{\"optionId\":\"cancel\",\"kind\":"
	    "\"reject_once\"},{\"optionId\":\"ok\",\"kind\":\"allow_once\"},"
	    "{\"optionId\":\"decline\",\"kind\":\"reject_once\"}]}", 0, NULL);
	{
		json_t *pref = permission_codex_prefer(req);

		ASSERT_PTR_NOT_NULL(pref);
		ASSERT_STR_EQ(outcome(pref, ACPX_PERM_DENY_ALL, ACPX_NONINT_DENY, NULL, 0), "decline");
		ASSERT_STR_EQ(outcome(req, ACPX_PERM_DENY_ALL, ACPX_NONINT_DENY, NULL, 0), "cancel");
		json_decref(pref);
	}
	resp = json_loads("{\"outcome\":{\"outcome\":\"selected\",\"optionId\":\"cancel\"}}", 0, NULL);
	ASSERT_TRUE(permission_codex_notice(req, resp) != NULL &&
	    strncmp(permission_codex_notice(req, resp), "Permission refused using Codex", 30) == 0);
	json_decref(resp);
	resp = json_loads("{\"outcome\":{\"outcome\":\"selected\",\"optionId\":\"decline\"}}", 0, NULL);
	ASSERT_PTR_NULL(permission_codex_notice(req, resp));
	json_decref(resp);
	resp = json_loads("{\"outcome\":{\"outcome\":\"cancelled\"}}", 0, NULL);
	ASSERT_TRUE(permission_codex_notice(req, resp) != NULL);
	json_decref(resp);
	json_decref(req);
	req = request("edit", "x", ALLOW_ONCE);
	ASSERT_PTR_NULL(permission_codex_prefer(req));
	json_decref(req);
	TEST_DONE();

	return (tap_end());
}
