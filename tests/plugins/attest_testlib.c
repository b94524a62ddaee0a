/* temper tests — helpers of the attest plugin tests (attest_testlib.h). */
#include "config.h"
#include "tests/plugins/attest_testlib.h"
#include "core/pipeline_priv.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <temper/attest.h>
#include <temper/hash.h>
#include <unistd.h>

static char scratch[64];

const char *at_dir(void)
{
    if (!scratch[0]) {
        static const char prefix[] = "/tmp/temper-attest-";
        memcpy(scratch, prefix, sizeof prefix - 1);
        memset(scratch + sizeof prefix - 1, 'X', 6); /* the mkdtemp() template */
        scratch[sizeof prefix + 5] = '\0';
        if (!mkdtemp(scratch)) {
            scratch[0] = '\0';
            return "/nonexistent";
        }
    }
    return scratch;
}

char *at_path(const char *name)
{
    return temper_strdupf("%s/%s", at_dir(), name);
}

int at_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        return -1;
    }
    size_t n = fwrite(data, 1, len, f);
    return fclose(f) == 0 && n == len ? 0 : -1;
}

int at_write_str(const char *path, const char *text)
{
    return at_write(path, text, strlen(text));
}

void at_cleanup(void)
{
    if (scratch[0] && getenv("ATTEST_KEEP_SCRATCH")) {
        printf("# scratch directory kept: %s\n", scratch);
    } else if (scratch[0]) {
        (void)temper_rm_rf(scratch);
        scratch[0] = '\0';
    }
}

int at_run(const char *const argv[])
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(2, 1);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
        return -1;
    }
    return WEXITSTATUS(status);
}

int at_python(const char *script, const char *const *args)
{
    const char *py = getenv("PYTHON3");
    const char *src = getenv("TEMPER_SRCDIR");
    char *path = temper_strdupf("%s/%s", src ? src : ".", script);
    const char *argv[16] = { py && py[0] ? py : "python3", path };
    size_t n = 2;
    for (; args && args[n - 2] && n < 15; n++) {
        argv[n] = args[n - 2];
    }
    argv[n] = NULL;
    int rc = path ? at_run(argv) : -1;
    free(path);
    return rc;
}

int at_validate(const char *schema, const char *file, const char *path)
{
    const char *data = getenv("TEMPER_DATA");
    char *sp = temper_strdupf("%s/schemas/%s", data ? data : "tests/data", schema);
    const char *args[] = { sp, file, path ? "--path" : NULL, path, NULL };
    int rc = sp ? at_python("tests/lib/validate_json.py", args) : -1;
    free(sp);
    return rc;
}

char *at_digest(const char *text)
{
    char hex[TEMPER_SHA256_HEX_LEN + 1];
    if (temper_sha256_hex(text, strlen(text), hex) != TEMPER_OK) {
        return NULL;
    }
    return temper_strdupf("sha256:%s", hex);
}

static const char *str_or_null(struct json_object *o, const char *key)
{
    return temper_json_get_str(o, key);
}

struct temper_artifact *at_image_json(const char *name, const char *digest,
                                      struct json_object *packages)
{
    struct temper_artifact *a = temper_artifact_new(TEMPER_ART_IMAGE, name);
    int rc = a ? TEMPER_OK : TEMPER_ENOMEM;
    if (rc == TEMPER_OK && digest) {
        rc = temper_artifact_set(a, TEMPER_ATTR_DIGEST, digest);
    }
    if (rc == TEMPER_OK) {
        rc = temper_artifact_set(a, TEMPER_ATTR_PLATFORM, "linux/amd64");
    }
    if (rc == TEMPER_OK) {
        rc = temper_artifact_set(a, TEMPER_ATTR_VARIANT, "runtime");
    }
    if (rc == TEMPER_OK) {
        rc = temper_artifact_set(a, TEMPER_ATTR_MEDIA_TYPE,
                                 "application/vnd.oci.image.manifest.v1+json");
    }
    size_t n = packages ? json_object_array_length(packages) : 0;
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        struct json_object *o = json_object_array_get_idx(packages, i);
        struct temper_package p = {
            .size = sizeof p, .name = str_or_null(o, "name"),
            .version = str_or_null(o, "version"), .arch = str_or_null(o, "arch"),
            .source = str_or_null(o, "source"),
            .source_version = str_or_null(o, "source_version"),
            .distribution = str_or_null(o, "distribution"), .purl = str_or_null(o, "purl"),
            .sha256 = str_or_null(o, "sha256"), .license = str_or_null(o, "license"),
            .supplier = str_or_null(o, "supplier"), .url = str_or_null(o, "url"),
        };
        rc = temper_artifact_add_package(a, &p);
    }
    if (rc != TEMPER_OK) {
        temper_artifact_free(a);
        return NULL;
    }
    return a;
}

struct temper_artifact *at_run_record(const char *image)
{
    static const char *const kv[][2] = {
        { TEMPER_RUN_INVOCATION_ID, "0f8e4c52-5b0a-4c1e-9d1e-3a6f3f1c2b7d" },
        { TEMPER_RUN_BUILDER_ID, "https://builder-1.example.org/temper" },
        { TEMPER_RUN_STARTED, "2024-05-01T12:00:00Z" },
        { TEMPER_RUN_FINISHED, "2024-05-01T12:03:20Z" },
        { TEMPER_RUN_DEFINITION_DIGEST,
          "sha256:1b4f0e9851971998e732078544c96b36c3d01cedf7caa332359d6f1d83567014" },
        { TEMPER_RUN_DEFINITION_URI, "/etc/temper/images/base.ini" },
        { TEMPER_RUN_PIPELINE_DIGEST,
          "sha256:60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752" },
        { TEMPER_RUN_PIPELINE_URI, "/etc/temper/pipeline.ini" },
        { TEMPER_ATTR_VARIANT, "runtime" },
    };
    struct temper_artifact *a = temper_artifact_new(TEMPER_ART_RUN, kv[0][1]);
    int rc = a ? temper_artifact_set(a, TEMPER_ATTR_IMAGE, image) : TEMPER_ENOMEM;
    for (size_t i = 0; rc == TEMPER_OK && i < sizeof kv / sizeof kv[0]; i++) {
        rc = temper_artifact_set(a, kv[i][0], kv[i][1]);
    }
    if (rc != TEMPER_OK) {
        temper_artifact_free(a);
        return NULL;
    }
    return a;
}

int at_open(struct ph *h, const char *name, const char *const *kv)
{
    char *err = NULL;
    int rc = ph_load(h, TEMPER_KIND_ATTEST, name, kv, &err);
    if (rc != TEMPER_OK) {
        printf("# cannot load attest_%s: %s\n", name, err ? err : "?");
    } else {
        rc = ph_open(h);
        if (rc != TEMPER_OK) {
            printf("# cannot open attest_%s: %s\n", name,
                   temper_stage_error(h->st) ? temper_stage_error(h->st) : "?");
        }
    }
    free(err);
    return rc;
}

int at_attest(struct ph *h, const struct temper_artifact *image,
              const struct temper_artifact *run)
{
    const struct temper_attest_ops *ops = ph_ops(h);
    temper_stage_reset(h->st);
    return ops->attest(h->state, h->st, image, run);
}

struct json_object *at_attest_once(const char *name, const char *const *kv,
                                   const struct temper_artifact *image,
                                   const struct temper_artifact *run, const char *file,
                                   char **text)
{
    struct ph h;
    struct json_object *j = NULL;
    char *path = at_path(file);
    if (at_open(&h, name, kv) == TEMPER_OK && at_attest(&h, image, run) == TEMPER_OK) {
        j = at_statement_json(&h, path);
        if (text) {
            *text = at_statement_text(&h);
        }
    } else if (h.st) {
        printf("# %s: %s\n", name, temper_stage_error(h.st) ? temper_stage_error(h.st) : "?");
    }
    ph_close(&h);
    free(path);
    return j;
}

struct json_object *at_real_packages(bool *skip)
{
    char *pkfile = at_path("packages.json");
    const char *args[] = { "packages", "--count", "30", "--out", pkfile, NULL };
    int rc = pkfile ? at_python("tests/plugins/attest_helper.py", args) : -1;
    struct json_object *pk = rc == 0 ? at_json_file(pkfile) : NULL;
    *skip = rc == 77;
    if (rc != 0 && rc != 77) {
        printf("# attest_helper.py packages failed (exit %d)\n", rc);
    }
    free(pkfile);
    return pk;
}

const struct temper_artifact *at_statement(const struct ph *h)
{
    const struct temper_artifact *last = NULL;
    for (size_t i = 0; i < ph_artifact_count(h); i++) {
        const struct temper_artifact *a = ph_artifact(h, i);
        if (temper_artifact_type(a) == TEMPER_ART_STATEMENT) {
            last = a;
        }
    }
    return last;
}

char *at_statement_text(const struct ph *h)
{
    const struct temper_artifact *a = at_statement(h);
    size_t len = 0;
    const void *d = a ? temper_artifact_data(a, &len) : NULL;
    return d ? strndup(d, len) : NULL;
}

struct json_object *at_statement_json(const struct ph *h, const char *file)
{
    struct json_object *j = NULL;
    char *text = at_statement_text(h);
    if (text && temper_json_parse(NULL, "statement", text, strlen(text), 0, 0, &j) != TEMPER_OK) {
        j = NULL;
    }
    if (text && file && at_write_str(file, text) != 0) {
        json_object_put(j);
        j = NULL;
    }
    free(text);
    return j;
}

struct json_object *at_json_file(const char *path)
{
    struct json_object *j = NULL;
    return temper_json_parse_file(NULL, path, 0, 0, &j) == TEMPER_OK ? j : NULL;
}

char *at_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct temper_buf b;
    char chunk[4096];
    size_t n;
    temper_buf_init(&b, 64u << 20);
    if (!f) {
        return NULL;
    }
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (temper_buf_append(&b, chunk, n) != TEMPER_OK) {
            break;
        }
    }
    fclose(f);
    char *out = temper_buf_take(&b, len);
    temper_buf_cleanup(&b);
    return out;
}

const char *at_envelope_problem(const struct temper_artifact *a, struct json_object *st,
                                const char *name, const char *digest, const char *ptype)
{
    size_t n = 0;
    struct json_object *subj = temper_json_get_array(st, "subject", &n);
    const char *sd = temper_json_get_str(subj, "0.digest.sha256");
    if (!a || !st) {
        return "no statement";
    }
    if (!temper_json_get_str(st, "_type") ||
        strcmp(temper_json_get_str(st, "_type"), "https://in-toto.io/Statement/v1") != 0) {
        return "_type is not https://in-toto.io/Statement/v1";
    }
    if (n != 1 || !sd || strcmp(sd, digest + 7) != 0) {
        return "subject is not the one image digest";
    }
    if (!temper_json_get_str(subj, "0.name") ||
        strcmp(temper_json_get_str(subj, "0.name"), name) != 0) {
        return "subject name";
    }
    if (!temper_json_get_str(st, "predicateType") ||
        strcmp(temper_json_get_str(st, "predicateType"), ptype) != 0 ||
        !temper_json_get_object(st, "predicate")) {
        return "predicateType / predicate";
    }
    const char *pt = temper_artifact_get(a, TEMPER_ATTR_PREDICATE_TYPE);
    const char *sg = temper_artifact_get(a, TEMPER_ATTR_SIGNED_DIGEST);
    const char *mt = temper_artifact_get(a, TEMPER_ATTR_MEDIA_TYPE);
    if (!pt || strcmp(pt, ptype) != 0 || !sg || strcmp(sg, digest) != 0 || !mt ||
        strcmp(mt, "application/vnd.in-toto+json") != 0) {
        return "artifact attributes predicate_type / signed_digest / media_type";
    }
    return NULL;
}
