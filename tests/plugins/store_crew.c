/* temper — a crew of worker processes on one store (see store_crew.h). */
#include "config.h"
#include "tests/plugins/store_crew.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

long long crew_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int crew_write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

int crew_wait_ok(pid_t pid)
{
    int st = 0;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) {
            return 0;
        }
    }
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int crew_enqueue(struct sqh *h, const char *loc, int n)
{
    struct sqh_store s;
    int rc = sqh_open(h, loc, &s);
    for (int i = 0; i < n && rc == TEMPER_OK; i++) {
        char image[32];
        snprintf(image, sizeof image, "img-%d", i);
        struct temper_job j = { .size = sizeof j, .image = image, .priority = i % 5 };
        rc = h->ops->job_enqueue(s.state, &j, NULL, NULL);
    }
    sqh_close(h, &s);
    return rc;
}

/* jobs QUEUED or RUNNING */
static int count_open(void *ctx, const struct temper_job *j)
{
    (void)j;
    (*(int *)ctx)++;
    return 0;
}

/* Child: claim, work, heartbeat, complete until nothing is left (waiting
 * for expired leases of others). */
static void worker_main(struct sqh *h, const char *loc, const char *name, int fd,
                        int work_ms, long long lease_ms)
{
    struct sqh_store s;
    if (sqh_open(h, loc, &s) != TEMPER_OK) {
        _exit(1);
    }
    long long deadline = crew_now_ms() + 45000;
    long long err = -1;
    int status = 1;
    while (crew_now_ms() < deadline) {
        struct temper_job job;
        int rc = h->ops->job_claim(s.state, name, crew_now_ms(), lease_ms, &job);
        if (rc == TEMPER_ENOTFOUND) {
            int open = 0;
            unsigned mask = (1u << TEMPER_JOB_QUEUED) | (1u << TEMPER_JOB_RUNNING);
            if (h->ops->job_list(s.state, mask, count_open, &open) == TEMPER_OK && open == 0) {
                status = 0;
                break;
            }
            usleep(50000);
            continue;
        }
        if (rc == TEMPER_OK && work_ms > 0) {
            usleep((useconds_t)work_ms * 1000);
            rc = h->ops->job_heartbeat(s.state, job.id, name, crew_now_ms(), lease_ms);
        }
        if (rc == TEMPER_OK) {
            rc = h->ops->job_complete(s.state, job.id, name);
        }
        if (crew_write_all(fd, rc == TEMPER_OK ? &job.id : &err, sizeof err) != 0) {
            break;
        }
        temper_job_cleanup(&job);
    }
    sqh_close(h, &s);
    _exit(status);
}

static void tally_id(struct tally *t, long long id, int n_jobs)
{
    if (id == -1) {
        t->errors++;
        return;
    }
    t->total++;
    if (id < 1 || id > n_jobs) {
        t->bad++;
    } else if (t->seen[id]++) {
        t->dup++;
    }
}

void crew_start(struct crew *c, struct sqh *h, const char *loc, int n, int work_ms,
                long long lease_ms)
{
    memset(c, 0, sizeof *c);
    fflush(stdout);
    for (int w = 0; w < n && w < CREW_MAX; w++) {
        int fds[2];
        if (pipe(fds) != 0) {
            break;
        }
        char name[16];
        snprintf(name, sizeof name, "w%d", w);
        c->pid[w] = fork();
        if (c->pid[w] == 0) {
            close(fds[0]);
            worker_main(h, loc, name, fds[1], work_ms, lease_ms);
        }
        close(fds[1]);
        c->fd[w] = fds[0];
        c->n++;
    }
}

int crew_finish(struct crew *c, struct tally *t, int n_jobs, int at, void (*hook)(void))
{
    struct pollfd pfd[CREW_MAX];
    int open = c->n, hooked = 0;
    for (int w = 0; w < c->n; w++) {
        pfd[w].fd = c->fd[w];
        pfd[w].events = POLLIN;
    }
    while (open > 0) {
        if (poll(pfd, (nfds_t)c->n, 60000) <= 0) {
            break;
        }
        for (int w = 0; w < c->n; w++) {
            long long id;
            if (pfd[w].fd < 0 || !(pfd[w].revents & (POLLIN | POLLHUP))) {
                continue;
            }
            if (read(pfd[w].fd, &id, sizeof id) == (ssize_t)sizeof id) {
                tally_id(t, id, n_jobs);
                continue;
            }
            close(pfd[w].fd);
            pfd[w].fd = -1;
            open--;
        }
        if (hook && !hooked && t->total >= at) {
            hooked = 1;
            hook();
        }
    }
    int ok = 0;
    for (int w = 0; w < c->n; w++) {
        if (pfd[w].fd >= 0) {
            close(pfd[w].fd);
        }
        ok += crew_wait_ok(c->pid[w]);
    }
    return ok;
}

