/* guard_llm — shared declarations (see guard_llm.c). */
#ifndef TEMPER_GUARD_LLM_H
#define TEMPER_GUARD_LLM_H

#include <temper/temper.h>
#include <json-c/json.h>
#include <stdbool.h>

#define LLM_RULE_MAX 64
#define LLM_FILE_MAX 1024
#define LLM_EVIDENCE_MAX 2048
#define LLM_EXPLANATION_MAX 512
#define LLM_LINE_MAX 10000000L

enum llm_on_error { LLM_ON_REVIEW = 0, LLM_ON_BLOCK = 1, LLM_ON_PASS = 2 };

struct llm_conf {
    char *base_url;
    char *model;
    char *key_file;
    char *ca_file;
    long long timeout;
    long long connect_timeout;
    long long retries;
    long long max_wait;
    unsigned long long chunk_size;
    long long max_chunks;
    unsigned long long max_answer;
    long long max_findings;
    int block_at;
    long long min_confidence;
    int on_error;
};

struct llm_state {
    const struct llm_conf *conf;
    char *url; /* base_url + "/chat/completions" */
};

/* One finding as parsed from an answer (strings owned). */
struct llm_finding {
    char *rule, *file, *evidence, *explanation;
    int severity;
    int confidence;
    long line;
};

/* llm_parse.c: the answer body of a chat completion -> findings.  Strict:
 * TEMPER_EFORMAT with a reason in why (no answer text in it) for anything
 * but {"choices": [{"message": {"content": "<JSON>"}}...]} whose content is
 * exactly {"findings": [{rule, severity, confidence, file, line, evidence,
 * explanation}...]} with those keys only, each of its type and range. */
int llm_parse_answer(const char *body, size_t len, size_t max_findings,
                     struct llm_finding **out, size_t *n, char *why, size_t why_n);
void llm_findings_free(struct llm_finding *f, size_t n);

#endif
