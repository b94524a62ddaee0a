/* temper — `temper track`: a polling round, state between rounds, and the
 * transitive fan-out of package changes to the images in their support
 * window, with one job per image however many changes hit it. */
#include "config.h"
#include "core/track.h"
#include "core/pipeline_priv.h"
#include "tests/lib/tap.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char tmp[64];

static int put(const char *rel, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmp, rel);
    FILE *f = fopen(path, "w");
    if (!f) {
        return -1;
    }
    fputs(text, f);
    return fclose(f);
}

static int write_config(void)
{
    char ini[1024];
    snprintf(ini, sizeof ini,
             "[core]\nstore = sqlite:%s/state.db\nworkdir = %s/work\ncache_dir = %s/cache\n"
             "images = images/*.ini\n\n[pipeline]\nstages =\n\n"
             "[tracker \"files\"]\nplugin = tracktest\nsource = versions.txt\n\n"
             "[tracker \"pkgs\"]\nplugin = tracktest\nsource = packages.txt\n"
             "package_mode = true\nfail = ${TRACK_FAIL:-false}\n",
             tmp, tmp, tmp);
    char dir[128];
    snprintf(dir, sizeof dir, "%s/images", tmp);
    return mkdir(dir, 0755) | put("pipeline.ini", ini) |
           put("images/a.ini", "[image]\nname = a\ndistribution = debian:bookworm\n"
                               "support_until = 2099-12-31\n\n[upstream]\ntracker = files\n"
                               "key = a\n") |
           put("images/b.ini", "[image]\nname = b\ndistribution = debian:bookworm\n"
                               "support_until = 2001-01-31\n\n[upstream]\ntracker = files\n"
                               "key = b\n") |
           put("images/c.ini", "[image]\nname = c\ndistribution = debian:bookworm\n") |
           put("versions.txt", "a 1.0\nb 2.0\n") |
           put("packages.txt", "libssl3 3.0.11-1 debian:bookworm openssl\n"
                               "zlib1g 1.2.13 debian:bookworm\n");
}

static int record_build(struct temper_runtime *rt, const char *image,
                        const struct temper_package *pkgs, size_t n)
{
    struct temper_build_record b = { .size = sizeof b, .image = image, .variant = "runtime",
                                     .version = "1", .digest = "sha256:00",
                                     .distribution = "debian:bookworm", .built_at = 1 };
    return rt->store.ops->build_record(rt->store.state, &b, pkgs, n);
}

static int seed_builds(struct temper_runtime *rt)
{
    struct temper_package ssl = { .size = sizeof ssl, .name = "libssl3",
                                  .version = "3.0.11-0", .source = "openssl",
                                  .distribution = "debian:bookworm" };
    struct temper_package z = { .size = sizeof z, .name = "zlib1g", .version = "1.2.12",
                                .distribution = "debian:bookworm" };
    struct temper_package az[2] = { ssl, z };
    return record_build(rt, "a", az, 2) | record_build(rt, "b", &ssl, 1) |
           record_build(rt, "c", &z, 1);
}

struct jobs {
    int n;
    char images[64];
    size_t a_changes;
};

static int on_job(void *ctx, const struct temper_job *j)
{
    struct jobs *s = ctx;
    s->n++;
    size_t l = strlen(s->images);
    snprintf(s->images + l, sizeof s->images - l, "%s", j->image);
    if (strcmp(j->image, "a") == 0) {
        json_object *arr = json_tokener_parse(j->change);
        s->a_changes = arr ? json_object_array_length(arr) : 0;
        json_object_put(arr);
    }
    return 0;
}

static struct jobs queued(struct temper_runtime *rt)
{
    struct jobs s;
    memset(&s, 0, sizeof s);
    (void)rt->store.ops->job_list(rt->store.state, 1u << TEMPER_JOB_QUEUED, on_job, &s);
    return s;
}

static int round_(struct temper_runtime *rt, struct temper_track_result *res, char **out)
{
    size_t len = 0;
    FILE *f = open_memstream(out, &len);
    struct temper_track_opts o = { .json = 1, .out = f };
    int rc = temper_track_round(rt, &o, res);
    fclose(f);
    return rc;
}

static int open_rt(struct temper_runtime *rt)
{
    char cfg[128], mods[4096];
    const char *b = getenv("TEMPER_BUILDDIR");
    const char *p = getenv("TEMPER_PLUGINS");
    snprintf(cfg, sizeof cfg, "%s/pipeline.ini", tmp);
    snprintf(mods, sizeof mods, "%s/tests/track", b ? b : ".");
    const char *dirs[] = { mods, p ? p : "plugins" };
    FILE *diag = fopen("/dev/null", "w");
    int rc = temper_runtime_open(rt, cfg, dirs, 2, diag ? diag : stderr);
    if (diag) {
        fclose(diag);
    }
    return rc;
}

static void test_rounds(struct temper_runtime *rt)
{
    struct temper_track_result res;
    char *out = NULL;
    TEST("first round: initial versions, fan-out, one job per image") {
        CHECK_INT_EQ(seed_builds(rt), TEMPER_OK);
        CHECK_INT_EQ(round_(rt, &res, &out), TEMPER_OK);
        CHECK_INT_EQ(res.trackers, 2);
        CHECK_INT_EQ(res.failed, 0);
        CHECK_INT_EQ(res.changes, 4);  /* a, b, libssl3, zlib1g */
        CHECK_INT_EQ(res.jobs, 3);     /* a, b (upstream) and c (zlib1g) */
        CHECK_INT_EQ(res.merged, 2);   /* libssl3 and zlib1g into a's job */
        CHECK_STR_CONTAINS(out, "\"package\":\"libssl3\"");
        CHECK_STR_CONTAINS(out, "\"tracker\":\"tracker.files\"");
        struct jobs j = queued(rt);
        CHECK_INT_EQ(j.n, 3);
        CHECK_INT_EQ(j.a_changes, 3);
    }
    free(out);
    out = NULL;
    TEST("second round with nothing changed reports nothing") {
        CHECK_INT_EQ(round_(rt, &res, &out), TEMPER_OK);
        CHECK_INT_EQ(res.changes, 0);
        CHECK_INT_EQ(res.jobs + res.merged, 0);
        CHECK_STR_EQ(out, "");
    }
    free(out);
    int rc = TEMPER_OK;
    for (int i = 0; i < 10 && rc == TEMPER_OK; i++) {
        char line[128];
        snprintf(line, sizeof line, "libssl3 3.0.11-%d debian:bookworm openssl\n", i + 2);
        out = NULL;
        rc = put("packages.txt", line) == 0 ? round_(rt, &res, &out) : TEMPER_EIO;
        free(out);
    }
    TEST("ten changes to a package make no new job: they merge into a's") {
        CHECK_INT_EQ(rc, TEMPER_OK);
        struct jobs j = queued(rt);
        CHECK_INT_EQ(j.n, 3);
        CHECK_INT_EQ(j.a_changes, 13);
        CHECK_STR_EQ(j.images, "abc");
    }
    out = NULL;
    TEST("a change to a source package reaches the images of its binaries") {
        CHECK(put("packages.txt", "openssl 3.0.12 debian:bookworm\n") == 0);
        CHECK_INT_EQ(round_(rt, &res, &out), TEMPER_OK);
        CHECK_INT_EQ(res.changes, 1);
        CHECK_INT_EQ(res.merged, 1);   /* a only: b is past its support window */
        CHECK_STR_CONTAINS(out, "\"jobs\":[{\"image\":\"a\"");
    }
    free(out);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A package in more images than the fan-out once kept (256): every one gets
 * a job.  TRACK_WIDE=N sets the count (300; the bench of issue #9 used
 * 10000) and the time of the round is printed. */
static void test_wide(struct temper_runtime *rt)
{
    const char *env = getenv("TRACK_WIDE");
    long n = env ? strtol(env, NULL, 10) : 300;
    n = n > 0 && n <= 100000 ? n : 300;
    struct temper_package w = { .size = sizeof w, .name = "libwide", .version = "1.0",
                                .distribution = "debian:bookworm" };
    int rc = TEMPER_OK;
    double t0 = now_ms();
    for (long i = 0; i < n && rc == TEMPER_OK; i++) {
        char image[24];
        snprintf(image, sizeof image, "wide%05ld", i);
        rc = record_build(rt, image, &w, 1);
    }
    printf("# %ld builds recorded in %.0f ms\n", n, now_ms() - t0);
    int before = queued(rt).n;
    struct temper_track_result res;
    char *out = NULL;
    t0 = now_ms();
    TEST("a package in more than 256 images: one job for each") {
        CHECK_INT_EQ(rc, TEMPER_OK);
        CHECK(put("packages.txt", "libwide 2.0 debian:bookworm\n") == 0);
        CHECK_INT_EQ(round_(rt, &res, &out), TEMPER_OK);
        printf("# fan-out to %ld images: %.0f ms\n", n, now_ms() - t0);
        CHECK_INT_EQ(res.changes, 1);
        CHECK_INT_EQ(res.jobs, (int)n);
        CHECK_INT_EQ(queued(rt).n, before + (int)n);
        CHECK_STR_CONTAINS(out, "\"image\":\"wide00000\"");
    }
    free(out);
}

int main(void)
{
    char probe[4200];
    const char *b = getenv("TEMPER_BUILDDIR");
    snprintf(probe, sizeof probe, "%s/tests/track/.libs/tracker_tracktest.so", b ? b : ".");
    if (access(probe, R_OK) != 0) {
        printf("1..0 # SKIP no shared test modules (static build)\n");
        return 0;
    }
    setenv("TEMPER_NO_INSTALLED_PLUGINS", "1", 1);
    memcpy(tmp, "/tmp/temper-track-XXXXXX", 25);
    struct temper_runtime rt;
    int rc = mkdtemp(tmp) && write_config() == 0 ? open_rt(&rt) : TEMPER_EIO;
    TEST("runtime opens") {
        CHECK_INT_EQ(rc, TEMPER_OK);
    }
    if (rc == TEMPER_OK) {
        test_rounds(&rt);
        test_wide(&rt);
    }
    temper_runtime_close(&rt);

    setenv("TRACK_FAIL", "true", 1);
    rc = open_rt(&rt);
    struct temper_track_result res;
    char *out = NULL;
    TEST("a failing tracker is reported; the others still run") {
        CHECK_INT_EQ(rc, TEMPER_OK);
        CHECK(put("versions.txt", "a 1.1\nb 2.0\n") == 0);
        CHECK_INT_EQ(round_(&rt, &res, &out), TEMPER_OK);
        CHECK_INT_EQ(res.failed, 1);
        CHECK_INT_EQ(res.changes, 1);
    }
    free(out);
    temper_runtime_close(&rt);
    TEST("clean up") {
        CHECK_INT_EQ(temper_rm_rf(tmp), TEMPER_OK);
    }
    return tap_done();
}
