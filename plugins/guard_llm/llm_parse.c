/* guard_llm — strict parsing of a chat-completions answer (see llm.h).
 * Nothing in the answer decides the verdict: the plugin computes it from the
 * findings, and any key, type or range it does not expect rejects the whole
 * answer (then the on_error policy applies, never a silent pass). */
#include "llm.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LLM_JSON_DEPTH 16

static const char *const finding_keys[] = { "rule", "severity", "confidence", "file",
                                            "line", "evidence", "explanation", NULL };

static int bad(char *why, size_t n, const char *msg)
{
    snprintf(why, n, "%s", msg);
    return TEMPER_EFORMAT;
}

static bool printable(const char *s, bool newlines)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c < 0x20 && !(newlines && (c == '\n' || c == '\t'))) || c == 0x7f) {
            return false;
        }
    }
    return true;
}

static bool rule_id(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= LLM_RULE_MAX &&
           strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-_.") == n;
}

/* A string member within max bytes (NULL allowed when `nullable`). */
static int str_member(json_object *o, const char *key, size_t max, bool nullable,
                      bool newlines, char **out)
{
    json_object *v = NULL;
    *out = NULL;
    if (!json_object_object_get_ex(o, key, &v)) {
        return TEMPER_EFORMAT;
    }
    if (!v) {
        return nullable ? TEMPER_OK : TEMPER_EFORMAT;
    }
    if (!json_object_is_type(v, json_type_string)) {
        return TEMPER_EFORMAT;
    }
    const char *s = json_object_get_string(v);
    size_t len = (size_t)json_object_get_string_len(v);
    if (len > max || strlen(s) != len || !printable(s, newlines)) {
        return TEMPER_EFORMAT;
    }
    *out = strdup(s);
    return *out ? TEMPER_OK : TEMPER_ENOMEM;
}

static int int_member(json_object *o, const char *key, long lo, long hi, long *out)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v) || !v ||
        !json_object_is_type(v, json_type_int)) {
        return TEMPER_EFORMAT;
    }
    int64_t x = json_object_get_int64(v);
    if (x < lo || x > hi) {
        return TEMPER_EFORMAT;
    }
    *out = (long)x;
    return TEMPER_OK;
}

static bool only_keys(json_object *o, const char *const *keys)
{
    size_t want = 0;
    while (keys[want]) {
        want++;
    }
    if ((size_t)json_object_object_length(o) != want) {
        return false;
    }
    for (size_t i = 0; keys[i]; i++) {
        if (!json_object_object_get_ex(o, keys[i], NULL)) {
            return false;
        }
    }
    return true;
}

static int one_finding(json_object *o, struct llm_finding *f, char *why, size_t n)
{
    char *sev = NULL;
    long conf = 0, line = 0;
    memset(f, 0, sizeof *f);
    if (!json_object_is_type(o, json_type_object) || !only_keys(o, finding_keys)) {
        return bad(why, n, "a finding is not an object with exactly the keys rule, severity, "
                           "confidence, file, line, evidence, explanation");
    }
    int rc = str_member(o, "rule", LLM_RULE_MAX, false, false, &f->rule);
    rc = rc ? rc : str_member(o, "severity", 16, false, false, &sev);
    rc = rc ? rc : int_member(o, "confidence", 0, 100, &conf);
    rc = rc ? rc : str_member(o, "file", LLM_FILE_MAX, true, false, &f->file);
    rc = rc ? rc : int_member(o, "line", 0, LLM_LINE_MAX, &line);
    rc = rc ? rc : str_member(o, "evidence", LLM_EVIDENCE_MAX, false, true, &f->evidence);
    rc = rc ? rc : str_member(o, "explanation", LLM_EXPLANATION_MAX, false, false,
                              &f->explanation);
    f->severity = sev ? temper_severity_from_str(sev) : -1;
    free(sev);
    if (rc == TEMPER_ENOMEM) {
        return rc;
    }
    if (rc != TEMPER_OK || f->severity < 0 || !rule_id(f->rule)) {
        return bad(why, n, "a finding has a field of the wrong type, size or value");
    }
    f->confidence = (int)conf;
    f->line = line;
    return TEMPER_OK;
}

void llm_findings_free(struct llm_finding *f, size_t n)
{
    for (size_t i = 0; f && i < n; i++) {
        free(f[i].rule);
        free(f[i].file);
        free(f[i].evidence);
        free(f[i].explanation);
    }
    free(f);
}

/* The content string of choices[0].message, borrowed from top. */
static const char *content_of(json_object *top, size_t *len, char *why, size_t n)
{
    json_object *choices = NULL, *msg = NULL, *content = NULL;
    if (!top || !json_object_is_type(top, json_type_object) ||
        !json_object_object_get_ex(top, "choices", &choices) || !choices ||
        !json_object_is_type(choices, json_type_array) ||
        json_object_array_length(choices) < 1) {
        bad(why, n, "the answer has no choices[0]");
        return NULL;
    }
    json_object *c0 = json_object_array_get_idx(choices, 0);
    if (!c0 || !json_object_is_type(c0, json_type_object) ||
        !json_object_object_get_ex(c0, "message", &msg) || !msg ||
        !json_object_is_type(msg, json_type_object) ||
        !json_object_object_get_ex(msg, "content", &content) || !content ||
        !json_object_is_type(content, json_type_string)) {
        bad(why, n, "choices[0].message.content is missing or not a string");
        return NULL;
    }
    *len = (size_t)json_object_get_string_len(content);
    return json_object_get_string(content);
}

static int findings_of(json_object *doc, size_t max, struct llm_finding **out, size_t *nout,
                       char *why, size_t n)
{
    static const char *const top_keys[] = { "findings", NULL };
    json_object *arr = NULL;
    if (!doc || !json_object_is_type(doc, json_type_object) || !only_keys(doc, top_keys) ||
        !json_object_object_get_ex(doc, "findings", &arr) || !arr ||
        !json_object_is_type(arr, json_type_array)) {
        return bad(why, n, "the content is not exactly {\"findings\": [...]}");
    }
    size_t k = json_object_array_length(arr);
    if (k > max) {
        return bad(why, n, "the content has more findings than max_findings");
    }
    struct llm_finding *f = calloc(k ? k : 1, sizeof *f);
    if (!f) {
        return TEMPER_ENOMEM;
    }
    for (size_t i = 0; i < k; i++) {
        int rc = one_finding(json_object_array_get_idx(arr, i), &f[i], why, n);
        if (rc != TEMPER_OK) {
            llm_findings_free(f, i + 1);
            return rc;
        }
    }
    *out = f;
    *nout = k;
    return TEMPER_OK;
}

int llm_parse_answer(const char *body, size_t len, size_t max_findings,
                     struct llm_finding **out, size_t *n, char *why, size_t why_n)
{
    json_object *top = NULL, *doc = NULL;
    size_t clen = 0;
    *out = NULL;
    *n = 0;
    int rc = temper_json_parse(NULL, "answer", body, len, len + 1, LLM_JSON_DEPTH, &top);
    if (rc != TEMPER_OK) {
        return rc == TEMPER_ENOMEM ? rc : bad(why, why_n, "the answer is not valid JSON");
    }
    const char *content = content_of(top, &clen, why, why_n);
    rc = content ? temper_json_parse(NULL, "content", content, clen, clen + 1, LLM_JSON_DEPTH,
                                     &doc)
                 : TEMPER_EFORMAT;
    if (content && rc != TEMPER_OK && rc != TEMPER_ENOMEM) {
        rc = bad(why, why_n, "the content is not a JSON document");
    }
    if (rc == TEMPER_OK) {
        rc = findings_of(doc, max_findings, out, n, why, why_n);
    }
    json_object_put(doc);
    json_object_put(top);
    return rc;
}
