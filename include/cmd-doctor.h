/*
 * acpx doctor (cmd-doctor.c): the one report a newcomer runs first. Its
 * row in the command table; the parser (cli.c) also names it, to let the
 * command run with the defaults when the config files do not load (the
 * report then says why). Static, read-only data.
 */
#ifndef ACPX_CMD_DOCTOR_H
#define ACPX_CMD_DOCTOR_H

struct cmd_entry;

extern const struct cmd_entry	 cmd_doctor_entry;

#endif
