/*
 * The validators of option-arguments and arguments (cli-validate.c), each
 * a cmd_parse_fn (cmd.h): 0 with *out (a new reference), or -1 with *msg
 * (caller frees) holding the reference's InvalidArgumentError message.
 */
#ifndef ACPX_CLI_VALIDATE_H
#define ACPX_CLI_VALIDATE_H

#include <jansson.h>

#define CLI_VALIDATE(fn) \
int	fn(const char *value, const json_t *prev, json_t **out, char **msg)

CLI_VALIDATE(cli_validate_format);
CLI_VALIDATE(cli_validate_auth);
CLI_VALIDATE(cli_validate_nonint);
CLI_VALIDATE(cli_validate_timeout);
CLI_VALIDATE(cli_validate_ttl);
CLI_VALIDATE(cli_validate_max_turns);
CLI_VALIDATE(cli_validate_limit);
CLI_VALIDATE(cli_validate_days);
CLI_VALIDATE(cli_validate_retries);
CLI_VALIDATE(cli_validate_tools);
CLI_VALIDATE(cli_validate_config_option);
CLI_VALIDATE(cli_validate_before);
CLI_VALIDATE(cli_validate_shell);
CLI_VALIDATE(cli_validate_session);
CLI_VALIDATE(cli_validate_system_prompt);
CLI_VALIDATE(cli_validate_append_prompt);
CLI_VALIDATE(cli_validate_cursor);
CLI_VALIDATE(cli_validate_filter_cwd);
CLI_VALIDATE(cli_validate_resume);
CLI_VALIDATE(cli_validate_output);
CLI_VALIDATE(cli_validate_source_cwd);
CLI_VALIDATE(cli_validate_archive);
CLI_VALIDATE(cli_validate_dest_cwd);
CLI_VALIDATE(cli_validate_mode);
CLI_VALIDATE(cli_validate_config_key);
CLI_VALIDATE(cli_validate_config_value);
CLI_VALIDATE(cli_validate_default_agent);
CLI_VALIDATE(cli_validate_prompt_file);

#undef CLI_VALIDATE

#endif
