/* plug_cli.h — `lp0 plug HOST info|on|off|pulse SECONDS`: set up and check a plug by hand.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP0_PLUG_CLI_H
#define LP0_PLUG_CLI_H

/* argv[0] is "plug". Runs its own loop. Returns the exit code: 0 success, 1 device or
 * network error (message on stderr), 2 usage or state-directory error. */
int plug_main(int argc, char **argv);

#endif
