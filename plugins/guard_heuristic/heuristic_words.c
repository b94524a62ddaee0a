/* guard_heuristic — words, calls, shapes and tokens of code lines. */
#include "heuristic.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool ident_char(int c)
{
    return isalnum(c) || c == '_' || c == '$';
}

bool heur_starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool heur_ends(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

bool heur_icontains(const char *s, const char *needle)
{
    size_t k = strlen(needle);
    for (; *s; s++) {
        if (strncasecmp(s, needle, k) == 0) {
            return true;
        }
    }
    return k == 0;
}

bool heur_has_word(const char *s, const char *word)
{
    size_t k = strlen(word);
    for (const char *p = s; (p = strstr(p, word)) != NULL; p++) {
        bool left = p == s || !ident_char((unsigned char)p[-1]);
        bool right = !ident_char((unsigned char)p[k]);
        if (left && right) {
            return true;
        }
    }
    return false;
}

bool heur_any_word(const char *s, const char *const *words)
{
    for (size_t i = 0; words[i]; i++) {
        if (heur_has_word(s, words[i])) {
            return true;
        }
    }
    return false;
}

const char *heur_find_call(const char *s, const char *name)
{
    size_t k = strlen(name);
    for (const char *p = s; (p = strstr(p, name)) != NULL; p++) {
        bool left = p == s || !ident_char((unsigned char)p[-1]);
        const char *q = p + k;
        while (*q == ' ') {
            q++;
        }
        if (left && *q == '(') {
            return p;
        }
    }
    return NULL;
}

/* Walk the sub-words of every identifier of s (snake_case and camelCase
 * split, lower-cased) and report whether one is in `list`. */
static bool any_subword(const char *s, const char *const *list)
{
    char w[40];
    size_t k = 0;
    for (const char *p = s;; p++) {
        unsigned char c = (unsigned char)*p;
        bool boundary = !isalpha(c) ||
                        (k > 0 && isupper(c) && islower((unsigned char)p[-1]));
        if (boundary && k > 0) {
            w[k] = '\0';
            for (size_t i = 0; list[i]; i++) {
                if (strcmp(w, list[i]) == 0) {
                    return true;
                }
            }
            k = 0;
        }
        if (!c) {
            return false;
        }
        if (isalpha(c) && k + 1 < sizeof w) {
            w[k++] = (char)tolower(c);
        }
    }
}

bool heur_has_subword(const char *s, const char *const *list)
{
    return any_subword(s, list);
}

bool heur_security_word(const char *s)
{
    static const char *const words[] = {
        "verify", "verified", "verification", "verifier", "valid", "validate", "validation",
        "check", "checks", "checked", "auth", "authn", "authz", "authenticate",
        "authenticated", "authentication", "authorize", "authorized", "authorization",
        "permission", "permitted", "allowed", "deny", "denied", "sig", "signature",
        "signatures", "signed", "cert", "certs", "certificate", "trust", "trusted",
        "password", "passwd", "token", "secret", "hash", "digest", "hmac", "tls", "ssl",
        "privilege", "privileges", "priv", "setuid", "setgid", "seteuid", "setegid",
        "setresuid", "setresgid", "setgroups", "admin", "login", "session", "nonce",
        "crypt", "encrypt", "decrypt", "acl", "policy", "sandbox", "landlock", "seccomp",
        "integrity", "checksum", "sha", "pam", "gpg", "pgp", "rsa", "ecdsa", "pin",
        "capability", "caps", "chroot", "csrf", NULL };
    return any_subword(s, words);
}

bool heur_error_word(const char *s)
{
    static const char *const words[] = {
        "err", "error", "errors", "errno", "rc", "ret", "retval", "rv", "res", "result",
        "status", "ok", "fail", "failed", "failure", "success", "succeeded", "nil", "null",
        "r", "exc", "exception", "errcode", "code", NULL };
    return any_subword(s, words) || strstr(s, "$?") != NULL;
}

bool heur_is_condition(const char *code)
{
    static const char *const starts[] = { "if ", "if(", "elif ", "else if", "} else if",
                                          "}else if", "while ", "while(", "unless ",
                                          "until ", "assert", "ASSERT", "[ ", "[[ ",
                                          "test ", "if:", "- if:", "AS_IF(", "AS_IF ([",
                                          "ensure", "require(", "expect(", "CHECK", "|| ",
                                          "&& ", NULL };
    for (size_t i = 0; starts[i]; i++) {
        if (heur_starts(code, starts[i])) {
            return true;
        }
    }
    return strstr(code, " && ") || strstr(code, " || ") || strstr(code, " ? ") ||
           strstr(code, " if ") != NULL;
}

char *heur_shape(const char *s)
{
    size_t n = strlen(s);
    char *out = malloc(n + 1);
    size_t k = 0;
    if (!out) {
        return NULL;
    }
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (isalpha(c) || c == '_' || c == '$') {
            while (i < n && ident_char((unsigned char)s[i])) {
                i++;
            }
            out[k++] = 'I';
        } else if (isdigit(c)) {
            while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '.')) {
                i++;
            }
            out[k++] = 'N';
        } else {
            out[k++] = s[i++];
        }
    }
    out[k] = '\0';
    return out;
}

/* ---- tokens ------------------------------------------------------------- */

static size_t op_len(const char *s)
{
    static const char *const ops3[] = { "===", "!==", "<<=", ">>=", "...", "**=", NULL };
    static const char *const ops2[] = { "==", "!=", "<=", ">=", "&&", "||", "->", "::",
                                        ":=", "<<", ">>", "++", "--", "+=", "-=", "*=",
                                        "/=", "|=", "&=", "^=", "=>", "**", "=~", "!~",
                                        NULL };
    for (size_t i = 0; ops3[i]; i++) {
        if (strncmp(s, ops3[i], 3) == 0) {
            return 3;
        }
    }
    for (size_t i = 0; ops2[i]; i++) {
        if (strncmp(s, ops2[i], 2) == 0) {
            return 2;
        }
    }
    return 1;
}

static size_t token_len(const char *s)
{
    unsigned char c = (unsigned char)s[0];
    size_t i = 0;
    if (isalpha(c) || c == '_' || c == '$') {
        while (ident_char((unsigned char)s[i])) {
            i++;
        }
        return i;
    }
    if (isdigit(c)) {
        while (isalnum((unsigned char)s[i]) || s[i] == '.') {
            i++;
        }
        return i;
    }
    if (c == '"' || c == '\'' || c == '`') {
        for (i = 1; s[i] && s[i] != (char)c; i++) {
            if (s[i] == '\\' && s[i + 1]) {
                i++;
            }
        }
        return s[i] ? i + 1 : i;
    }
    return op_len(s);
}

bool heur_tokenize(const char *s, struct tokens *out)
{
    out->n = 0;
    while (*s) {
        if (*s == ' ') {
            s++;
            continue;
        }
        if (out->n == HEUR_MAX_TOKENS) {
            return false;
        }
        size_t n = token_len(s);
        out->t[out->n].p = s;
        out->t[out->n].len = n;
        out->n++;
        s += n;
    }
    return true;
}

bool heur_tok_is(const struct tokens *t, size_t i, const char *s)
{
    return i < t->n && t->t[i].len == strlen(s) && memcmp(t->t[i].p, s, t->t[i].len) == 0;
}
