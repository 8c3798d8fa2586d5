/*
 * One session record, the acpx.session.v1 file under ~/.acpx/sessions
 * (spec acpx-runtime.md §2.2-2.6). This module owns the in-memory form,
 * parsing and validation with the reference's normalisation (a record that
 * fails a rule is not a record), serialisation in the reference's exact key
 * order with unknown top-level keys kept (appended after the known ones),
 * the snake_case key policy, the camelCase form used for JSON output and
 * IPC, and the lifecycle/timestamp setters. No I/O: session-store.h reads
 * and writes the files.
 */
#ifndef ACPX_SESSION_RECORD_H
#define ACPX_SESSION_RECORD_H

#include <sys/types.h>

#include <jansson.h>

#define SESSION_RECORD_SCHEMA		"acpx.session.v1"
#define SESSION_EVENT_MAX_SEGMENT_BYTES	(64LL * 1024 * 1024)
#define SESSION_EVENT_MAX_SEGMENTS	5

/*
 * The record. Strings are owned (NULL = absent on disk). Fields typed
 * json_t * are owned references: NULL = absent; where JSON null is a
 * distinct value (exit code, exit signal, title) it is json_null().
 * Assign through session_record_set() or free the old value yourself.
 */
struct session_record {
	char	 *record_id;		/* acpx_record_id: stable, names the file */
	char	 *acp_session_id;	/* ACP sessionId used on the wire */
	char	 *agent_session_id;	/* _meta.agentSessionId|sessionId, trimmed */
	char	 *agent_command;	/* exact identity string (scope) */
	char	**agent_argv;		/* NULL-terminated, or NULL */
	char	 *cwd;			/* absolute */
	char	 *name;			/* trimmed, or NULL: the cwd session */
	char	 *created_at;
	char	 *last_used_at;		/* sort key of listings */
	long long last_seq;		/* ACP messages ever journaled */
	char	 *last_request_id;
	json_t	 *event_log;		/* {active_path, segment_count, ...}; never NULL */
	int	  closed;
	char	 *closed_at;
	pid_t	  pid;			/* agent pid while running, else 0 */
	char	 *agent_started_at;
	char	 *last_prompt_at;
	json_t	 *last_agent_exit_code;	/* integer or null */
	json_t	 *last_agent_exit_signal; /* string or null */
	char	 *last_agent_exit_at;
	char	 *last_agent_disconnect_reason;	/* process_exit|process_close|
						   pipe_close|connection_close */
	json_t	 *protocol_version;	/* number */
	json_t	 *agent_capabilities;	/* object, opaque */
	json_t	 *title;		/* string or null */
	json_t	 *messages;		/* array (conversation.h); never NULL */
	int	  trimmed;		/* messages within the limits since the
					   last conversation_trim(), as only
					   the conversation module changes
					   them; 0: not known (parsed, copied) */
	unsigned long long conv_epoch;	/* conversation_trim()'s mark (unique
					   in the process; 0: none): while it
					   stays, only the last message and
					   those appended after change */
	long long	  conv_dropped;	/* messages dropped from the front
					   since (absolute index = this + i) */
	char	 *updated_at;		/* conversation timestamp; never NULL */
	json_t	 *cumulative_token_usage; /* object; never NULL */
	json_t	 *cumulative_cost;	/* {amount?, currency?} */
	json_t	 *request_token_usage;	/* user message id → usage; never NULL */
	json_t	 *acpx;			/* acpx state object (§2.3) */
	json_t	 *imported_from;	/* {record_id, cwd_original, exported_by,
					   exported_at} (snake_case) */
	json_t	 *extra;		/* unknown top-level keys in file order;
					   never NULL; written back unchanged */
};

/*
 * A new open record for a freshly created ACP session: record id = acp
 * session id = session_id, created_at = last_used_at = updated_at = now,
 * default event log, empty conversation. argv may be NULL. Caller owns.
 */
struct session_record *session_record_create(const char *session_id,
		    const char *agent_command, char *const *argv,
		    const char *cwd, const char *name, const char *now);

/*
 * Parse a record file's JSON (borrowed) with the reference's rules.
 * Returns NULL with *cause (caller frees) when it is not a valid
 * acpx.session.v1 record. Does not check the file name. Large parts
 * (messages, agent_capabilities) are shared with the input, not copied:
 * do not modify the input afterwards (drop it, or copy the record).
 */
struct session_record *session_record_parse(const json_t *, char **cause);

/* Deep copy. Caller owns. */
struct session_record *session_record_copy(const struct session_record *);

void		 session_record_free(struct session_record *);

/*
 * The on-disk (snake_case) object in the reference's key order, absent
 * fields omitted, then the unknown keys. Caller owns.
 */
json_t		*session_record_to_disk(const struct session_record *);

/*
 * The same object, but its JSON values are the record's own (referenced,
 * not copied): read it, serialise it, drop it; never change it.
 */
json_t		*session_record_to_disk_view(const struct session_record *);

/*
 * The in-memory camelCase form the reference prints for `sessions show
 * --format json`, `sessions list --format json` and sends in IPC results.
 * Caller owns.
 */
json_t		*session_record_to_camel(const struct session_record *);

/*
 * Key policy of a disk object (§2.1): 0 if every key is snake_case or an
 * allowed tag; -1 with *cause "Persisted key policy violation ..." if not.
 */
int		 session_record_check_keys(const json_t *disk, char **cause);

/*
 * The same policy for one element of a disk object's messages (as the
 * whole object's check sees it): 0, or -1 (the whole check says what).
 */
int		 session_record_check_message_keys(const json_t *msg);

/* The default event_log object for a record id. Caller owns. */
json_t		*session_record_default_event_log(const char *record_id);

/* Replace a string field: free the old value, store a copy of v (NULL = absent). */
void		 session_record_set(char **field, const char *v);

/*
 * Agent lifecycle: the agent was spawned (pid, agent_started_at = now,
 * exit fields cleared) ...
 */
void		 session_record_agent_started(struct session_record *, pid_t pid,
		    const char *now);

/*
 * ... or is gone: pid cleared, last_agent_exit_code/_signal from a wait
 * status (status < 0: unknown, both null), last_agent_exit_at = now, and
 * the disconnect reason (NULL keeps the old one).
 */
void		 session_record_agent_exited(struct session_record *, int status,
		    const char *reason, const char *now);

/*
 * Record what an ACP session response told us (session/new, load, resume):
 * agent_session_id from _meta.agentSessionId or _meta.sessionId (trimmed,
 * non-empty), acpx.config_options and model state from configOptions /
 * models, acpx.current_mode_id from modes.currentModeId. result borrowed.
 */
void		 session_record_apply_session_result(struct session_record *,
		    const json_t *result);

/*
 * A config_option_update's configOptions (borrowed): acpx.config_options
 * and the model state they advertise, as the reference applies them.
 */
void		 session_record_apply_config_update(struct session_record *,
		    const json_t *config_options);

/* Record initialize's protocolVersion and agentCapabilities (borrowed). */
void		 session_record_apply_init(struct session_record *,
		    const json_t *init_result);

/* The acpx state object, created empty if absent (borrowed, owned by rec). */
json_t		*session_record_acpx(struct session_record *);

/* Trimmed non-empty copy of a session name, or NULL. Caller owns. */
char		*session_record_normalize_name(const char *);

/* JavaScript String.prototype.trim() of s; NULL if s is NULL or all space. */
char		*session_record_trim(const char *s);

/*
 * First failures and the last reconnect (session-record-failure.c): keys
 * beyond the reference's schema, kept in extra, written only once
 * something happened. kind: "stall", "permission_denial",
 * "provider_failure" or "agent_crash"; only the first of each kind is
 * kept (1 if this one was). The turn is the number of prompts in the
 * conversation kept.
 */
int		 session_record_failure_note(struct session_record *,
		    const char *kind, const char *detail, const char *now);
long long	 session_record_failure_turn(const struct session_record *);
/* method: "resume", "load" or "new"; detail (why not loaded) or NULL. */
void		 session_record_failure_reconnect(struct session_record *,
		    const char *method, const char *detail, const char *now);
/* {firstFailures?, lastReconnect?} (camelCase). Caller owns. */
json_t		*session_record_failure_json(const struct session_record *);
/* The same as text lines ("firstStall: <at>, turn N: <detail>"). Caller owns. */
json_t		*session_record_failure_lines(const struct session_record *);

/* Whether a restart could take the session up again, from the record. */
struct session_record_resume {
	int		 resumable;	/* 1 yes, 0 no, -1 unknown */
	const char	*method;	/* "resume", "load", "new" or NULL */
	const char	*reason;	/* static text */
};
void		 session_record_failure_resumability(
		    const struct session_record *, struct session_record_resume *);

#endif
