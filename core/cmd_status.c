/* temper — `temper status -c FILE --html OUT`: write the static status page
 * (status_html.h) to OUT.  The page is written to a temporary file next to
 * OUT, synced and renamed over OUT, so a reader (or a web server serving the
 * directory) never sees half a page.  Exit 0, 2 usage or config error, 1
 * failure.  TEMPER_NOW=<Unix seconds> pins "now" (tests). */
#include "config.h"
#include "core.h"
#include "pipeline_priv.h"
#include "status_html.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATUS_USAGE "usage: temper status -c FILE --html OUT\n"

struct status_args {
    struct temper_cmd_base base;
    const char *html;
};

static int write_page(struct temper_runtime *rt, const char *out)
{
    char *tmp = temper_strdupf("%s.tmpXXXXXX", out);
    if (!tmp) {
        return TEMPER_EXIT_FAIL;
    }
    int fd = mkstemp(tmp);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    int code = TEMPER_EXIT_FAIL;
    if (!f) {
        fprintf(stderr, "temper: status: cannot create %s: %s\n", tmp, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        free(tmp);
        return code;
    }
    int rc = temper_status_write_html(rt, temper_now_ms(), f);
    int werr = fchmod(fd, 0644) != 0 || fflush(f) != 0 || fsync(fd) != 0 ? errno : 0;
    werr = fclose(f) != 0 && !werr ? errno : werr;
    if (rc != TEMPER_OK) {
        const char *e = temper_stage_error(rt->store.st);
        fprintf(stderr, "temper: status: %s\n", e ? e : temper_rc_str(rc));
    } else if (werr || rename(tmp, out) != 0) {
        fprintf(stderr, "temper: status: cannot write %s: %s\n", out,
                strerror(werr ? werr : errno));
    } else {
        code = TEMPER_EXIT_OK;
    }
    if (code != TEMPER_EXIT_OK) {
        unlink(tmp);
    }
    free(tmp);
    return code;
}

static int parse_args(int argc, char **argv, struct status_args *a)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "html", required_argument, NULL, 'H' },
        { "plugin-dir", required_argument, NULL, 'P' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    temper_cmd_base_init(&a->base);
    while ((c = getopt_long(argc, argv, "c:H:P:", opts, NULL)) != -1) {
        int r = temper_cmd_base_opt(&a->base, c, optarg);
        if (r == 1) {
            continue;
        } else if (r == 0 && c == 'H' && optarg[0]) {
            a->html = optarg;
        } else {
            return -1;
        }
    }
    return a->base.file && a->html && optind == argc ? 0 : -1;
}

int cmd_status(int argc, char **argv)
{
    struct status_args a;
    memset(&a, 0, sizeof a);
    if (parse_args(argc, argv, &a) != 0) {
        fputs(STATUS_USAGE, stderr);
        return TEMPER_EXIT_USAGE;
    }
    struct temper_runtime rt;
    int rc = temper_runtime_open(&rt, a.base.file, a.base.dirs, a.base.n_dirs, stderr);
    int code = rc == TEMPER_OK ? write_page(&rt, a.html)
               : rc == TEMPER_EINVAL ? TEMPER_EXIT_USAGE : TEMPER_EXIT_FAIL;
    temper_runtime_close(&rt);
    return code;
}
