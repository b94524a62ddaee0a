/* guard_heuristic — failures swallowed (|| true, hidden verification output,
 * empty except/catch), results of security calls dropped, and jumps that
 * skip the checks after them. */
#include "heuristic.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Tools whose only job is to verify. */
static bool verification_tool(const char *code)
{
    static const char *const tools[] = { "gpg", "gpgv", "sha256sum", "sha512sum", "sha1sum",
                                         "shasum", "md5sum", "b2sum", "cosign", "minisign",
                                         "signify", "ctest", "pytest", NULL };
    return heur_any_word(code, tools) || strstr(code, "openssl dgst") ||
           strstr(code, "-verify") || strstr(code, "--verify") || strstr(code, "make check") ||
           strstr(code, "make test");
}

/* Commands whose failure means "do not trust this". */
static bool verifying_command(const char *code)
{
    static const char *const more[] = { "openssl", "tox", "cmp", "diff", "test", NULL };
    return verification_tool(code) || heur_any_word(code, more) || heur_security_word(code);
}

static bool ends_swallowing(const char *code)
{
    static const char *const pats[] = { "|| true", "|| :", "||true", "|| exit 0",
                                        "|| /bin/true", "|| echo", NULL };
    for (size_t i = 0; pats[i]; i++) {
        const char *p = strstr(code, pats[i]);
        if (p) {
            const char *q = p + strlen(pats[i]);
            if (*q == '\0' || *q == ';' || *q == ')' || *q == ' ' || *q == '"' || *q == '\'' ||
                *q == '`' || *q == '\\') {
                return true;
            }
        }
    }
    return false;
}

static bool hides_output(const char *code)
{
    return strstr(code, ">/dev/null") || strstr(code, "> /dev/null") ||
           strstr(code, "&>/dev/null") || strstr(code, ">&/dev/null");
}

/* The same command without the swallowing was removed near line i. */
static bool was_checked_before(const struct hunkview *hv, size_t i, const char *code)
{
    const char *bar = strstr(code, "||");
    size_t n = bar ? (size_t)(bar - code) : strlen(code);
    while (n && code[n - 1] == ' ') {
        n--;
    }
    size_t lo, hi;
    heur_near(hv, i, HEUR_CLOSE, &lo, &hi);
    for (size_t k = lo; n > 3 && k < hi; k++) {
        if (hv->v[k].op == '-' && strncmp(hv->v[k].code, code, n) == 0) {
            return true;
        }
    }
    return false;
}

static void shell_swallow(struct hctx *cx, size_t i)
{
    const char *code = cx->hv->v[i].code;
    bool verify = verifying_command(code);
    if (ends_swallowing(code)) {
        int conf = (verify ? 75 : 35) + (was_checked_before(cx->hv, i, code) ? 10 : 0);
        heur_add(cx, R_FAILURE_SWALLOWED, verify ? TEMPER_SEV_HIGH : TEMPER_SEV_LOW, conf, i,
                 NULL, verify ? "the failure of a verification command is swallowed"
                              : "the failure of a command is swallowed");
    } else if (verification_tool(code) && hides_output(code) && !heur_starts(code, "if ") &&
               !strstr(code, "$?") && !strstr(code, "&&") && !strstr(code, "||") &&
               !heur_starts(code, "command -v") && !heur_starts(code, "which ")) {
        heur_add(cx, R_FAILURE_SWALLOWED, TEMPER_SEV_MEDIUM, 50, i, NULL,
                 "the output of a verification command is hidden");
    } else if (strcmp(code, "set +e") == 0 || heur_starts(code, "set +e ") ||
               strstr(code, "continue-on-error: true")) {
        heur_add(cx, R_FAILURE_SWALLOWED, cx->lang == L_YAML ? TEMPER_SEV_MEDIUM : TEMPER_SEV_LOW,
                 cx->lang == L_YAML ? 50 : 40, i, NULL,
                 "failing commands are allowed to go on from here");
    }
}

/* The next added line with code after i, or SIZE_MAX. */
static size_t next_added(const struct hunkview *hv, size_t i)
{
    for (size_t k = i + 1; k < hv->n && k <= i + HEUR_CLOSE; k++) {
        if (hv->v[k].op == '-') {
            continue;
        }
        if (hv->v[k].op == '+' && *hv->v[k].code) {
            return k;
        }
        if (*hv->v[k].code) {
            return SIZE_MAX;
        }
    }
    return SIZE_MAX;
}

/* The guarded block before handler line i (back to its "try") does
 * something security-relevant (a verifier, a token...). */
static bool try_security(const struct hunkview *hv, size_t i)
{
    for (size_t k = i, seen = 0; k-- > 0 && seen < 30; seen++) {
        const char *c = hv->v[k].code;
        if (hv->v[k].op == '-') {
            continue;
        }
        if (heur_security_word(c)) {
            return true;
        }
        if (heur_starts(c, "try")) {
            return false;
        }
    }
    return false;
}

static void empty_handler(struct hctx *cx, size_t i, const char *what)
{
    bool sec = try_security(cx->hv, i);
    heur_add(cx, R_FAILURE_SWALLOWED, sec ? TEMPER_SEV_HIGH : TEMPER_SEV_MEDIUM, sec ? 70 : 50,
             i, NULL, "an empty %s swallows %s", what,
             sec ? "the failure of a security check" : "every error");
}

static bool empty_handler_body(const char *code)
{
    return strcmp(code, "pass") == 0 || strcmp(code, "...") == 0 ||
           strcmp(code, "continue") == 0 || strcmp(code, "return None") == 0;
}

static void python_swallow(struct hctx *cx, size_t i)
{
    const char *code = cx->hv->v[i].code;
    if (!heur_starts(code, "except")) {
        return;
    }
    bool broad = strcmp(code, "except:") == 0 || heur_starts(code, "except: ") ||
                 heur_starts(code, "except Exception") ||
                 heur_starts(code, "except BaseException");
    const char *colon = strchr(code, ':');
    size_t n = next_added(cx->hv, i);
    bool empty = (colon && empty_handler_body(colon[1] == ' ' ? colon + 2 : colon + 1)) ||
                 (n != SIZE_MAX && empty_handler_body(cx->hv->v[n].code));
    if (broad && empty) {
        empty_handler(cx, i, "catch-all except");
    }
}

static void js_swallow(struct hctx *cx, size_t i)
{
    const char *code = cx->hv->v[i].code;
    const char *c = strstr(code, "catch");
    if (!c) {
        return;
    }
    const char *p = c + 5;
    if (*p == ' ') {
        p++;
    }
    if (*p == '(') {
        int depth = 0;
        for (; *p; p++) {
            depth += *p == '(' ? 1 : *p == ')' ? -1 : 0;
            if (depth == 0) {
                p++;
                break;
            }
        }
    }
    while (*p == ' ' || (p[0] == '=' && p[1] == '>')) {
        p += *p == ' ' ? 1 : 2;
    }
    if (strncmp(p, "{}", 2) == 0 || strncmp(p, "{ }", 3) == 0) {
        empty_handler(cx, i, "catch block");
    }
}

static void go_swallow(struct hctx *cx, size_t i)
{
    const char *code = cx->hv->v[i].code;
    if (strcmp(code, "_ = err") == 0) {
        heur_add(cx, R_FAILURE_SWALLOWED, TEMPER_SEV_MEDIUM, 55, i, NULL,
                 "an error value is explicitly discarded");
    }
}

/* ---- results of security calls dropped ---------------------------------------- */

static const char *const status_calls[] = {
    "setuid", "setgid", "seteuid", "setegid", "setresuid", "setresgid", "setgroups",
    "initgroups", "chroot", "chmod", "fchmod", "fchmodat", "chown", "fchown", "lchown",
    "mprotect", "prctl", "setrlimit", "pledge", "unveil", "cap_set_proc", "X509_verify_cert",
    "EVP_VerifyFinal", "EVP_DigestVerifyFinal", "EVP_DigestVerify", "RSA_verify",
    "ECDSA_verify", "DSA_verify", "SSL_get_verify_result", "gnutls_certificate_verify_peers2",
    "gnutls_certificate_verify_peers3", "gnutls_x509_crt_verify", "gnutls_pubkey_verify_data2",
    "gpgme_op_verify", "crypto_sign_verify_detached", "pam_authenticate", "pam_acct_mgmt",
    "compare_digest", "memcmp", "CRYPTO_memcmp", "timingsafe_bcmp", NULL };

/* The called function of a statement line "name(...);" / "(void)name(...);" /
 * "obj.name(...)" / "_ = name(...)"; copies its name into out. */
static bool statement_call(const char *code, enum lang l, char *out, size_t cap)
{
    const char *p = code;
    if (heur_starts(p, "(void)")) {
        p += 6;
    } else if (heur_starts(p, "_ = ")) {
        p += 4;
    }
    while (*p == ' ') {
        p++;
    }
    const char *name = p;
    while (isalnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == '>' ||
           (*p == '-' && p[1] == '>')) {
        if (*p == '.' || *p == '>' || *p == '-') {
            name = p + 1 + (*p == '-');
        }
        p++;
    }
    size_t n = (size_t)(p - name);
    bool ends_ok = heur_ends(code, ");") || (l != L_C && heur_ends(code, ")"));
    if (*p != '(' || n == 0 || n >= cap || !ends_ok || strchr(name, '=')) {
        return false;
    }
    memcpy(out, name, n);
    out[n] = '\0';
    return true;
}

static bool security_callee(const char *name, bool *strong)
{
    for (size_t i = 0; status_calls[i]; i++) {
        if (strcmp(name, status_calls[i]) == 0) {
            *strong = true;
            return true;
        }
    }
    static const char *const verbs[] = { "verify", "validate", "authenticate", "authorize",
                                         NULL };
    *strong = false;
    return heur_has_subword(name, verbs);
}

/* A removed line near i used the same call's result. */
static bool result_was_used(const struct hunkview *hv, size_t i, const char *name)
{
    size_t lo, hi;
    heur_near(hv, i, HEUR_CLOSE, &lo, &hi);
    for (size_t k = lo; k < hi; k++) {
        const char *c = hv->v[k].code;
        if (hv->v[k].op == '-' && heur_find_call(c, name) &&
            (heur_is_condition(c) || strchr(c, '=') || heur_starts(c, "return"))) {
            return true;
        }
    }
    return false;
}

static void unchecked_call(struct hctx *cx, size_t i)
{
    char name[128];
    bool strong = false;
    const char *code = cx->hv->v[i].code;
    if (cx->lang == L_PY || !statement_call(code, cx->lang, name, sizeof name) ||
        !security_callee(name, &strong)) {
        return;
    }
    bool before = result_was_used(cx->hv, i, name);
    if (!strong && !before && cx->lang == L_JS) {
        return; /* JS verifiers usually throw */
    }
    int conf = before ? 80 : heur_starts(code, "(void)") || heur_starts(code, "_ =") ? 70 : 55;
    bool mode = strstr(name, "chmod") || strstr(name, "chown");
    heur_add(cx, R_UNCHECKED_CALL, mode ? TEMPER_SEV_MEDIUM : TEMPER_SEV_HIGH, conf, i, NULL,
             "the result of the security-relevant call %s() is not checked", name);
}

void heur_rules_failures(struct hctx *cx)
{
    const struct hunkview *hv = cx->hv;
    for (size_t i = 0; i < hv->n; i++) {
        if (hv->v[i].op != '+' || !*hv->v[i].code) {
            continue;
        }
        if (cx->enabled[R_FAILURE_SWALLOWED]) {
            if (heur_shellish(cx->lang)) {
                shell_swallow(cx, i);
            } else if (cx->lang == L_PY) {
                python_swallow(cx, i);
            } else if (cx->lang == L_JS || cx->lang == L_C) {
                js_swallow(cx, i);
            } else if (cx->lang == L_GO) {
                go_swallow(cx, i);
            }
        }
        if (cx->enabled[R_UNCHECKED_CALL] && heur_clike(cx->lang)) {
            unchecked_call(cx, i);
        }
    }
}
