/* temper tests — start a loopback test server that prints "PORT <n>" on its
 * first line of stdout (the python servers in tests/lib), and stop it. */
#ifndef TEMPER_TESTS_SPAWN_SERVER_H
#define TEMPER_TESTS_SPAWN_SERVER_H

#include <sys/types.h>

/* Run argv (argv[0] looked up in PATH); returns the port it announced, or
 * -1 (the child, if any, is stopped).  *pid gets the child's pid or -1. */
int ts_spawn_port(const char *const argv[], pid_t *pid);
/* SIGTERM and reap *pid when > 0; sets it to -1. */
void ts_stop(pid_t *pid);
/* $PYTHON3, else "python3". */
const char *ts_python(void);

#endif
