/* story_cli.h — the `lp0 story` and `lp0 runs` commands.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP0_STORY_CLI_H
#define LP0_STORY_CLI_H

/* argv[0] is the command name; return the exit code (0, 1 failure, 2 usage/setup). */
int story_cli_main(int argc, char **argv);
int runs_cli_main(int argc, char **argv);

#endif
