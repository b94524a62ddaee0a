/* temper tests — start and stop a loopback test server (spawn_server.h). */
#include "config.h"
#include "tests/lib/spawn_server.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char *ts_python(void)
{
    const char *py = getenv("PYTHON3");
    return py && *py ? py : "python3";
}

void ts_stop(pid_t *pid)
{
    if (*pid > 0) {
        kill(*pid, SIGTERM);
        waitpid(*pid, NULL, 0);
    }
    *pid = -1;
}

int ts_spawn_port(const char *const argv[], pid_t *pid)
{
    int pfd[2];
    char line[64];
    size_t k = 0;
    *pid = -1;
    if (pipe(pfd) != 0) {
        return -1;
    }
    *pid = fork();
    if (*pid == 0) {
        dup2(pfd[1], 1);
        close(pfd[0]);
        close(pfd[1]);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(pfd[1]);
    while (*pid > 0 && k + 1 < sizeof line && read(pfd[0], line + k, 1) == 1 &&
           line[k] != '\n') {
        k++;
    }
    line[k] = '\0';
    close(pfd[0]);
    char *end = NULL;
    long port = strncmp(line, "PORT ", 5) == 0 ? strtol(line + 5, &end, 10) : -1;
    if (port <= 0 || port > 65535 || !end || *end) {
        ts_stop(pid);
        return -1;
    }
    return (int)port;
}
