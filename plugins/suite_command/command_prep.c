/* temper — suite_command: a case's argument vector, environment and the
 * paths to execute, prepared before the sandbox starts (its children make
 * no allocation). */
#include "config.h"
#include "command.h"

#include <stdlib.h>
#include <string.h>

#define ARGV_MAX 4096
#define WORD_MAX (64 * 1024)
#define PATH_DIRS_MAX 64
#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static int push_word(struct temper_strlist *out, struct temper_buf *w, struct temper_buf *why)
{
    if (out->n >= ARGV_MAX) {
        return sc_why(why, TEMPER_EINVAL, "command has more than %d words", ARGV_MAX);
    }
    int rc = temper_oci_list_push(out, w->data ? w->data : "");
    temper_buf_reset(w);
    return rc;
}

/* One quoted part starting at *p (the quote); appended to w. */
static int quoted(const char **p, struct temper_buf *w, struct temper_buf *why)
{
    char q = **p;
    const char *s = *p + 1;
    int rc = TEMPER_OK;
    while (rc == TEMPER_OK && *s && *s != q) {
        if (q == '"' && *s == '\\' && s[1] && strchr("\"\\$`", s[1])) {
            s++;
        }
        rc = temper_buf_append(w, s, 1);
        s++;
    }
    if (rc == TEMPER_OK && *s != q) {
        return sc_why(why, TEMPER_EINVAL, "command has an unterminated %c quote", q);
    }
    *p = s + 1;
    return rc;
}

int cargv_split(const char *line, struct temper_strlist *out, struct temper_buf *why)
{
    struct temper_buf w;
    temper_buf_init(&w, WORD_MAX);
    bool in_word = false;
    int rc = TEMPER_OK;
    const char *p = line;
    while (rc == TEMPER_OK && *p) {
        if (*p == '\'' || *p == '"') {
            rc = quoted(&p, &w, why);
            in_word = true;
        } else if (*p == '\\') {
            if (!p[1]) {
                rc = sc_why(why, TEMPER_EINVAL, "command ends with a backslash");
                break;
            }
            rc = temper_buf_append(&w, p + 1, 1);
            in_word = true;
            p += 2;
        } else if (*p == ' ' || *p == '\t' || *p == '\n') {
            rc = in_word ? push_word(out, &w, why) : TEMPER_OK;
            in_word = false;
            p++;
        } else {
            rc = temper_buf_append(&w, p, 1);
            in_word = true;
            p++;
        }
    }
    if (rc == TEMPER_OK && in_word) {
        rc = push_word(out, &w, why);
    }
    if (rc == TEMPER_OK && out->n == 0) {
        rc = sc_why(why, TEMPER_EINVAL, "command is empty");
    }
    if (rc == TEMPER_ELIMIT) {
        rc = sc_why(why, TEMPER_EINVAL, "a word of the command is longer than %d bytes",
                    WORD_MAX);
    }
    temper_buf_cleanup(&w);
    return rc;
}

/* Index of the entry with the key of kv ("KEY=..."), or out->n. */
static size_t env_find(const struct temper_strlist *env, const char *kv)
{
    size_t kl = strcspn(kv, "=");
    for (size_t i = 0; i < env->n; i++) {
        if (strncmp(env->v[i], kv, kl) == 0 && env->v[i][kl] == '=') {
            return i;
        }
    }
    return env->n;
}

static int env_set(struct temper_strlist *env, const char *kv)
{
    size_t i = env_find(env, kv);
    if (i == env->n) {
        return temper_oci_list_push(env, kv);
    }
    char *copy = strdup(kv);
    if (!copy) {
        return TEMPER_ENOMEM;
    }
    free(env->v[i]);
    env->v[i] = copy;
    return TEMPER_OK;
}

int cenv_build(const struct temper_strlist *image_env, const struct temper_strlist *case_env,
               const char *home, struct temper_strlist *out)
{
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && image_env && i < image_env->n; i++) {
        rc = strchr(image_env->v[i], '=') ? env_set(out, image_env->v[i]) : TEMPER_OK;
    }
    for (size_t i = 0; rc == TEMPER_OK && case_env && i < case_env->n; i++) {
        rc = strchr(case_env->v[i], '=') ? env_set(out, case_env->v[i]) : TEMPER_OK;
    }
    if (rc == TEMPER_OK && env_find(out, "PATH=") == out->n) {
        rc = temper_oci_list_push(out, DEFAULT_PATH);
    }
    if (rc == TEMPER_OK && env_find(out, "HOME=") == out->n) {
        char *h = temper_strdupf("HOME=%s", home ? home : "/");
        rc = h ? temper_oci_list_push(out, h) : TEMPER_ENOMEM;
        free(h);
    }
    return rc;
}

int cexec_paths(const char *argv0, const struct temper_strlist *env, struct temper_strlist *out)
{
    if (strchr(argv0, '/')) {
        return temper_oci_list_push(out, argv0);
    }
    size_t i = env_find(env, "PATH=");
    const char *p = i < env->n ? env->v[i] + 5 : &DEFAULT_PATH[5];
    int rc = TEMPER_OK;
    while (rc == TEMPER_OK && out->n < PATH_DIRS_MAX) {
        size_t n = strcspn(p, ":");
        char *full = n ? temper_strdupf("%.*s/%s", (int)n, p, argv0)
                       : temper_strdupf("./%s", argv0);
        rc = full ? temper_oci_list_push(out, full) : TEMPER_ENOMEM;
        free(full);
        if (!p[n]) {
            break;
        }
        p += n + 1;
    }
    return rc;
}

void cstrlist_cleanup(struct temper_strlist *l)
{
    temper_oci_list_cleanup(l);
}
