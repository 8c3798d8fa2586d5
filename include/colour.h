/*
 * Whether a stream gets ANSI colours (and the progress line, progress.h):
 * only a terminal, and not when the user said no: NO_COLOR set and not
 * empty (no-color.org), TERM=dumb, or --no-color. A pipe or a file never
 * gets an escape, so output there stays byte for byte what it was. No
 * state; reads the environment on each call.
 */
#ifndef ACPX_COLOUR_H
#define ACPX_COLOUR_H

/* Non-zero if fd is a terminal that may be written escapes to. */
int		 colour_terminal(int fd);

/* colour_terminal(fd), unless no_color (the --no-color flag) is set. */
int		 colour_wanted(int fd, int no_color);

/* Non-zero if argv (argc words, the program's first) holds --no-color
   before any "--". For errors met before the command line is parsed. */
int		 colour_argv_no_color(int argc, char **argv);

#endif
