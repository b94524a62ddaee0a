/* temper tests — a loopback webhook receiver (tests/lib/webhook_receiver.py)
 * started and stopped by a test. */
#include "config.h"
#include "tests/engine/webhook_fixture.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int wh_start(struct wh_server *w, const char *out, const char *secret_file, int status)
{
    const char *src = getenv("TEMPER_SRCDIR");
    const char *py = getenv("PYTHON3");
    char script[4096], st[16];
    int pfd[2];
    w->pid = -1;
    w->port = -1;
    if (snprintf(script, sizeof script, "%s/tests/lib/webhook_receiver.py", src ? src : ".") <
            0 ||
        snprintf(st, sizeof st, "%d", status) < 0 || pipe(pfd) != 0) {
        return -1;
    }
    const char *argv[] = { py && *py ? py : "python3", script, "--out", out, "--status", st,
                           secret_file ? "--secret-file" : NULL, secret_file, NULL };
    w->pid = fork();
    if (w->pid == 0) {
        dup2(pfd[1], 1);
        close(pfd[0]);
        close(pfd[1]);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(pfd[1]);
    char line[64];
    size_t k = 0;
    while (w->pid > 0 && k + 1 < sizeof line && read(pfd[0], line + k, 1) == 1 &&
           line[k] != '\n') {
        k++;
    }
    line[k] = '\0';
    close(pfd[0]);
    char *end = NULL;
    long port = strncmp(line, "PORT ", 5) == 0 ? strtol(line + 5, &end, 10) : -1;
    if (port <= 0 || port > 65535 || !end || *end) {
        wh_stop(w);
        return -1;
    }
    w->port = (int)port;
    return 0;
}

void wh_stop(struct wh_server *w)
{
    if (w->pid > 0) {
        kill(w->pid, SIGTERM);
        waitpid(w->pid, NULL, 0);
    }
    w->pid = -1;
}
