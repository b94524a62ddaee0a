/* temper — JUnit XML and CTRF JSON reports (see report.h). */
#include "config.h"
#include "report.h"
#include "pipeline_priv.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CTRF_SPEC_VERSION "1.0.0"

void temper_report_count(const struct temper_report_stage *stages, size_t n,
                         struct temper_report_counts *c)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < temper_stage_case_count(stages[i].st); k++) {
            const struct temper_case *tc = temper_stage_case_at(stages[i].st, k);
            c->tests++;
            c->passed += tc->status == TEMPER_CASE_PASSED;
            c->failed += tc->status == TEMPER_CASE_FAILED;
            c->skipped += tc->status == TEMPER_CASE_SKIPPED;
            c->errors += tc->status == TEMPER_CASE_ERROR;
        }
    }
}

/* XML-escape into f; characters XML 1.0 cannot carry are dropped. */
static void xml_text(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        switch (*p) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        default:
            if (*p >= 0x20 || *p == '\n' || *p == '\t' || *p == '\r') {
                fputc(*p, f);
            }
        }
    }
}

static void junit_case(FILE *f, const struct temper_case *c)
{
    static const char *const tag[] = { NULL, "failure", "skipped", "error" };
    fputs("    <testcase classname=\"", f);
    xml_text(f, c->suite);
    fputs("\" name=\"", f);
    xml_text(f, c->name);
    fprintf(f, "\" time=\"%.3f\"", (double)c->duration_ms / 1000.0);
    unsigned st = (unsigned)c->status;
    if (st == TEMPER_CASE_PASSED || st > TEMPER_CASE_ERROR) {
        if (!c->output) {
            fputs("/>\n", f);
            return;
        }
        fputs(">\n", f);
    } else {
        fprintf(f, ">\n      <%s message=\"", tag[st]);
        xml_text(f, c->message ? c->message : tag[st]);
        fputs("\"/>\n", f);
    }
    if (c->output) {
        fputs("      <system-out>", f);
        xml_text(f, c->output);
        fputs("</system-out>\n", f);
    }
    fputs("    </testcase>\n", f);
}

static void write_junit(FILE *f, const struct temper_report_stage *stages, size_t n)
{
    struct temper_report_counts all;
    temper_report_count(stages, n, &all);
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"temper\" "
               "tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\">\n",
            all.tests, all.failed, all.errors, all.skipped);
    for (size_t i = 0; i < n; i++) {
        struct temper_report_counts c;
        temper_report_count(&stages[i], 1, &c);
        char ts[40];
        temper_rfc3339(stages[i].started_ms, ts, sizeof ts);
        fputs("  <testsuite name=\"", f);
        xml_text(f, stages[i].label);
        fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" "
                   "time=\"%.3f\" timestamp=\"%s\">\n",
                c.tests, c.failed, c.errors, c.skipped,
                (double)(stages[i].finished_ms - stages[i].started_ms) / 1000.0, ts);
        for (size_t k = 0; k < temper_stage_case_count(stages[i].st); k++) {
            junit_case(f, temper_stage_case_at(stages[i].st, k));
        }
        fputs("  </testsuite>\n", f);
    }
    fputs("</testsuites>\n", f);
}

static json_object *ctrf_test(const struct temper_report_stage *s, const struct temper_case *c)
{
    static const char *const status[] = { "passed", "failed", "skipped", "failed" };
    json_object *t = json_object_new_object();
    json_object_object_add(t, "name", json_object_new_string(c->name));
    json_object_object_add(t, "status", json_object_new_string(
                                            (unsigned)c->status <= TEMPER_CASE_ERROR
                                                ? status[c->status]
                                                : "other"));
    json_object_object_add(t, "duration", json_object_new_int64(c->duration_ms));
    json_object *suite = json_object_new_array();
    json_object_array_add(suite, json_object_new_string(s->label));
    if (c->suite) {
        json_object_array_add(suite, json_object_new_string(c->suite));
    }
    json_object_object_add(t, "suite", suite);
    if (c->status == TEMPER_CASE_ERROR) {
        json_object_object_add(t, "rawStatus", json_object_new_string("error"));
    }
    if (c->message) {
        json_object_object_add(t, "message", json_object_new_string(c->message));
    }
    if (c->output) {
        json_object *out = json_object_new_array();
        json_object_array_add(out, json_object_new_string(c->output));
        json_object_object_add(t, "stdout", out);
    }
    return t;
}

static json_object *ctrf_report(const struct temper_report_stage *stages, size_t n,
                                const char *run_id)
{
    struct temper_report_counts c;
    temper_report_count(stages, n, &c);
    long long start = n ? stages[0].started_ms : 0, stop = n ? stages[n - 1].finished_ms : 0;
    json_object *tests = json_object_new_array();
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < temper_stage_case_count(stages[i].st); k++) {
            json_object_array_add(tests, ctrf_test(&stages[i], temper_stage_case_at(stages[i].st, k)));
        }
    }
    json_object *sum = json_object_new_object();
    json_object_object_add(sum, "tests", json_object_new_int64((int64_t)c.tests));
    json_object_object_add(sum, "passed", json_object_new_int64((int64_t)c.passed));
    json_object_object_add(sum, "failed", json_object_new_int64((int64_t)(c.failed + c.errors)));
    json_object_object_add(sum, "skipped", json_object_new_int64((int64_t)c.skipped));
    json_object_object_add(sum, "pending", json_object_new_int64(0));
    json_object_object_add(sum, "other", json_object_new_int64(0));
    json_object_object_add(sum, "suites", json_object_new_int64((int64_t)n));
    json_object_object_add(sum, "start", json_object_new_int64(start));
    json_object_object_add(sum, "stop", json_object_new_int64(stop));
    json_object *tool = json_object_new_object();
    json_object_object_add(tool, "name", json_object_new_string("temper"));
    json_object_object_add(tool, "version", json_object_new_string(PACKAGE_VERSION));
    json_object *results = json_object_new_object();
    json_object_object_add(results, "tool", tool);
    json_object_object_add(results, "summary", sum);
    json_object_object_add(results, "tests", tests);
    json_object *root = json_object_new_object();
    json_object_object_add(root, "reportFormat", json_object_new_string("CTRF"));
    json_object_object_add(root, "specVersion", json_object_new_string(CTRF_SPEC_VERSION));
    json_object_object_add(root, "generatedBy", json_object_new_string("temper"));
    if (run_id) {
        json_object_object_add(root, "runId", json_object_new_string(run_id));
    }
    json_object_object_add(root, "results", results);
    return root;
}

/* Write via a temp file in dir and rename into place. */
static int write_atomic(const char *dir, const char *name, int junit,
                        const struct temper_report_stage *stages, size_t n, const char *run_id,
                        char **err)
{
    char *path = temper_strdupf("%s/%s", dir, name);
    char *tmp = temper_strdupf("%s/.%s.XXXXXX", dir, name);
    int fd = path && tmp ? mkstemp(tmp) : -1;
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    int rc = TEMPER_OK;
    if (!f) {
        *err = temper_strdupf("cannot write %s: %s", path ? path : name, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        rc = TEMPER_EIO;
    } else {
        if (junit) {
            write_junit(f, stages, n);
        } else {
            json_object *j = ctrf_report(stages, n, run_id);
            fputs(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY |
                                                        JSON_C_TO_STRING_NOSLASHESCAPE), f);
            fputc('\n', f);
            json_object_put(j);
        }
        int bad = ferror(f) | (fflush(f) != 0) | (fsync(fileno(f)) != 0);
        bad |= fclose(f) != 0;
        if (bad || rename(tmp, path) != 0) {
            *err = temper_strdupf("cannot write %s: %s", path, strerror(errno));
            rc = TEMPER_EIO;
        }
    }
    if (rc != TEMPER_OK && tmp && fd >= 0) {
        unlink(tmp);
    }
    free(path);
    free(tmp);
    return rc;
}

int temper_report_write(const struct temper_report_stage *stages, size_t n, const char *dir,
                        const char *run_id, char **err)
{
    *err = NULL;
    if (temper_mkdir_p(dir, 0755) != TEMPER_OK) {
        *err = temper_strdupf("cannot create %s: %s", dir, strerror(errno));
        return TEMPER_EIO;
    }
    int rc = write_atomic(dir, "junit.xml", 1, stages, n, run_id, err);
    if (rc == TEMPER_OK) {
        rc = write_atomic(dir, "ctrf.json", 0, stages, n, run_id, err);
    }
    return rc;
}
