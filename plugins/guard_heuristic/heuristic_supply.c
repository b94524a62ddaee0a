/* guard_heuristic — supply-chain rules on added lines: encoded blobs,
 * decoding fed to a shell or eval, downloads piped to a shell, secrets sent
 * out of CI, and TLS/signature verification switched off. */
#include "heuristic.h"
#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* Any of pats in code; a pattern ending in a letter must end a word there
 * ("| sh" is no "| sha256sum"). */
static bool any_of(const char *code, const char *const *pats)
{
    for (size_t i = 0; pats[i]; i++) {
        size_t n = strlen(pats[i]);
        bool word = isalnum((unsigned char)pats[i][n - 1]);
        for (const char *p = code; (p = strstr(p, pats[i])) != NULL; p++) {
            if (!word || !(isalnum((unsigned char)p[n]) || p[n] == '_')) {
                return true;
            }
        }
    }
    return false;
}

/* ---- encoded blobs ------------------------------------------------------------ */

static size_t longest_run(const char *s, bool (*ok)(int), bool *mixed)
{
    size_t best = 0, run = 0;
    int kinds = 0, best_kinds = 0;
    for (const unsigned char *p = (const unsigned char *)s;; p++) {
        if (*p && ok(*p)) {
            run++;
            kinds |= isupper(*p) ? 1 : islower(*p) ? 2 : isdigit(*p) ? 4 : 0;
            continue;
        }
        if (run > best) {
            best = run;
            best_kinds = kinds;
        }
        run = 0;
        kinds = 0;
        if (!*p) {
            break;
        }
    }
    *mixed = best_kinds == 7;
    return best;
}

static bool b64_char(int c)
{
    return isalnum(c) || c == '+' || c == '/' || c == '=';
}

static bool hex_char(int c)
{
    return isxdigit(c);
}

static size_t count_escapes(const char *s)
{
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, "\\x")) != NULL; p += 2) {
        n += isxdigit((unsigned char)p[2]) && isxdigit((unsigned char)p[3]);
    }
    return n;
}

static void rule_blob(struct hctx *cx, size_t i)
{
    const char *raw = cx->hv->v[i].raw;
    bool mixed = false, unused = false;
    size_t b64 = longest_run(raw, b64_char, &mixed);
    size_t hex = longest_run(raw, hex_char, &unused);
    size_t esc = count_escapes(raw);
    if (!((b64 >= 120 && mixed) || hex >= 200 || esc >= 48)) {
        return;
    }
    const char *what = esc >= 48 ? "escaped bytes" : hex >= 200 ? "hex" : "base64";
    if (cx->roles & (ROLE_BUILD | ROLE_CI | ROLE_RELEASE)) {
        heur_add(cx, R_OBFUSCATED_BLOB, TEMPER_SEV_HIGH, 65, i, NULL,
                 "a long %s blob was added to a build, CI or release file", what);
    } else if (cx->roles & ROLE_TEST) {
        heur_add(cx, R_OBFUSCATED_BLOB, TEMPER_SEV_LOW, 35, i, NULL,
                 "a long %s blob was added to a test file", what);
    } else {
        heur_add(cx, R_OBFUSCATED_BLOB, TEMPER_SEV_MEDIUM, 45, i, NULL,
                 "a long %s blob was added to the source", what);
    }
}

/* ---- decode and run ------------------------------------------------------------- */

static const char *const decoders[] = {
    "base64 -d", "base64 --decode", "base64 -D", "xxd -r", "openssl enc -d", "base64 -di",
    "uudecode", "gzip -d", "gunzip", "zcat", "xz -d", "xzcat", "unxz", "bzip2 -d", "bzcat",
    "lzma -d", "| rev", "| tr ", "b64decode", "decodestring", "decompress(", "marshal.loads",
    "codecs.decode", "fromhex", "atob(", "Buffer.from(", "fromCharCode", "unescape(",
    "base64_decode", "gzinflate", "str_rot13", NULL };
static const char *const shell_sinks[] = {
    "| sh", "|sh", "| bash", "|bash", "| eval", "|eval", "| source", "| zsh", "| /bin/sh",
    "| /bin/bash", "| sudo sh", "| sudo bash", "| python", "| perl", "| ruby", "| node",
    "eval \"$(", "eval $(", "eval `", "source <(", ". <(", "sh -c \"$(", "bash -c \"$(",
    "bash <(", "sh <(", "| $SHELL", "|$SHELL", "| ${SHELL}", "| ${CONFIG_SHELL}", NULL };

/* exec(...), eval(...), Function(...) called as functions, not as methods
 * (a regular expression's .exec() is no sink). */
static bool code_sink(const char *code)
{
    static const char *const sinks[] = { "exec", "eval", "Function", "execSync", "system",
                                         "popen", "spawnSync", NULL };
    for (size_t i = 0; sinks[i]; i++) {
        const char *p = heur_find_call(code, sinks[i]);
        if (p && (p == code || p[-1] != '.')) {
            return true;
        }
    }
    return false;
}

static void rule_decode_exec(struct hctx *cx, size_t i)
{
    const char *code = cx->hv->v[i].code;
    bool dec = any_of(code, decoders);
    bool shell = any_of(code, shell_sinks);
    bool prog = code_sink(code);
    if ((shell || prog) && dec) {
        heur_add(cx, R_DECODE_EXEC, TEMPER_SEV_CRITICAL, 90, i, NULL,
                 "decoded or unpacked data is executed");
    } else if (strstr(code, "| eval") || strstr(code, "|eval")) {
        bool build = (cx->roles & ROLE_BUILD) != 0;
        heur_add(cx, R_DECODE_EXEC, build ? TEMPER_SEV_CRITICAL : TEMPER_SEV_HIGH,
                 build ? 85 : 75, i, NULL, "the output of a pipeline is fed to eval");
    }
}

/* ---- downloads piped to a shell ------------------------------------------------ */

static bool download_to_shell(const char *code)
{
    static const char *const fetch[] = { "curl ", "wget ", "fetch ", "iwr ",
                                         "Invoke-WebRequest", "DownloadString", NULL };
    static const char *const run[] = { "| sh", "|sh", "| bash", "|bash", "| sudo", "| zsh",
                                       "| python", "| perl", "| ruby", "| node", "| iex",
                                       "| /bin/sh", "| /bin/bash", "| source", NULL };
    const char *f = NULL;
    for (size_t i = 0; fetch[i] && !f; i++) {
        f = strstr(code, fetch[i]);
    }
    if (!f) {
        return false;
    }
    if (any_of(f, run)) {
        return true;
    }
    return strstr(code, "<(curl") || strstr(code, "<(wget") || strstr(code, "\"$(curl") ||
           strstr(code, "\"$(wget") || strstr(code, "iex (") || strstr(code, "Invoke-Expression");
}

static void rule_curl_sh(struct hctx *cx, size_t i)
{
    if (!download_to_shell(cx->hv->v[i].code)) {
        return;
    }
    if (cx->roles & ROLE_BUILD) {
        heur_add(cx, R_CURL_PIPE_SHELL, TEMPER_SEV_HIGH, 75, i, NULL,
                 "a build script downloads code and runs it unverified");
    } else {
        heur_add(cx, R_CURL_PIPE_SHELL, TEMPER_SEV_MEDIUM, 55, i, NULL,
                 "downloaded code is run unverified");
    }
}

/* ---- secrets out of CI --------------------------------------------------------------- */

static bool network_command(const char *code)
{
    static const char *const cmds[] = { "curl", "wget", "nc", "ncat", "netcat", "telnet",
                                        "socat", "Invoke-WebRequest", "Invoke-RestMethod",
                                        "requests.post", "fetch", "scp", "rsync", NULL };
    return heur_any_word(code, cmds) || strstr(code, "/dev/tcp/") != NULL;
}

static bool dumps_env(const char *code)
{
    static const char *const dumps[] = { "$(env)", "`env`", "env |", "printenv |",
                                         "$(printenv)", "set |", "export -p |",
                                         "/proc/self/environ", "os.environ)", "process.env)",
                                         "toJSON(env)", NULL };
    return any_of(code, dumps);
}

static bool near_network(const struct hunkview *hv, size_t i)
{
    size_t lo = i > 4 ? i - 4 : 0;
    for (size_t k = lo; k < hv->n && k <= i + 4; k++) {
        if (hv->v[k].op != '-' && network_command(hv->v[k].code)) {
            return true;
        }
    }
    return false;
}

static void rule_ci_secret(struct hctx *cx, size_t i)
{
    const char *code = cx->hv->v[i].code;
    bool secret = strstr(code, "secrets.") || strstr(code, "secrets[");
    if (strstr(code, "toJSON(secrets)") || strstr(code, "toJson(secrets)")) {
        heur_add(cx, R_CI_SECRET, TEMPER_SEV_CRITICAL, 90, i, NULL,
                 "every CI secret is serialized in one place");
    } else if (dumps_env(code) && network_command(code)) {
        heur_add(cx, R_CI_SECRET, TEMPER_SEV_HIGH, 85, i, NULL,
                 "the whole environment, secrets included, is sent over the network");
    } else if (secret && (strstr(code, "base64") || strstr(code, "| rev") ||
                          strstr(code, "| xxd") || strstr(code, "| od "))) {
        heur_add(cx, R_CI_SECRET, TEMPER_SEV_HIGH, 80, i, NULL,
                 "a CI secret is encoded, which defeats the log masking");
    } else if (secret && network_command(code)) {
        heur_add(cx, R_CI_SECRET, TEMPER_SEV_MEDIUM, 55, i, NULL,
                 "a CI secret is passed to a network command");
    } else if (secret && (cx->roles & ROLE_CI) && near_network(cx->hv, i)) {
        heur_add(cx, R_CI_SECRET, TEMPER_SEV_MEDIUM, 45, i, NULL,
                 "a CI secret is used next to a network command");
    } else if ((cx->roles & ROLE_CI) && (strstr(code, "pull_request.head.sha") ||
                                         strstr(code, "pull_request.head.ref")) &&
               heur_file_adds_line(cx, "pull_request_target:")) {
        heur_add(cx, R_CI_SECRET, TEMPER_SEV_HIGH, 70, i, NULL,
                 "untrusted pull request code is checked out in a workflow that holds secrets");
    }
}

/* ---- verification switched off ------------------------------------------------------ */

static void rule_verify_off(struct hctx *cx, size_t i)
{
    static const char *const pats[] = {
        "verify=False", "verify = False", "InsecureSkipVerify: true", "InsecureSkipVerify = true",
        "CURLOPT_SSL_VERIFYPEER, 0", "CURLOPT_SSL_VERIFYPEER, false", "CURLOPT_SSL_VERIFYHOST, 0",
        "rejectUnauthorized: false", "NODE_TLS_REJECT_UNAUTHORIZED", "curl -k ", "--insecure",
        "--no-check-certificate", "GIT_SSL_NO_VERIFY", "sslVerify false", "sslverify=false",
        "_create_unverified_context", "CERT_NONE", "check_hostname = False", "SSL_VERIFY_NONE",
        "--allow-unauthenticated", "--nogpgcheck", "gpgcheck=0", "--trusted-host",
        "--insecure-skip-tls-verify", "GOSUMDB=off", "GONOSUMDB", "GOINSECURE", "strict-ssl false",
        "TLS_VERIFY OFF", "TLS_VERIFY 0", "--skip-verify", "--no-verify-signature",
        "AllowUnauthenticated", "GNUTLS_VERIFY_DISABLE", "--allow-insecure", NULL };
    const char *code = cx->hv->v[i].code;
    if (!any_of(code, pats)) {
        return;
    }
    if (cx->roles & ROLE_TEST) {
        heur_add(cx, R_VERIFY_DISABLED, TEMPER_SEV_LOW, 35, i, NULL,
                 "a test switches TLS or signature verification off");
    } else {
        heur_add(cx, R_VERIFY_DISABLED, TEMPER_SEV_HIGH, 70, i, NULL,
                 "TLS or signature verification is switched off");
    }
}

void heur_rules_supply(struct hctx *cx)
{
    const struct hunkview *hv = cx->hv;
    if (cx->lang == L_DOC || (cx->roles & ROLE_DOC)) {
        return;
    }
    for (size_t i = 0; i < hv->n; i++) {
        if (hv->v[i].op != '+' || !*hv->v[i].code) {
            continue;
        }
        if (cx->enabled[R_OBFUSCATED_BLOB] && !(cx->roles & ROLE_LOCK)) {
            rule_blob(cx, i);
        }
        if (cx->enabled[R_DECODE_EXEC]) {
            rule_decode_exec(cx, i);
        }
        if (cx->enabled[R_CURL_PIPE_SHELL]) {
            rule_curl_sh(cx, i);
        }
        if (cx->enabled[R_CI_SECRET]) {
            rule_ci_secret(cx, i);
        }
        if (cx->enabled[R_VERIFY_DISABLED]) {
            rule_verify_off(cx, i);
        }
    }
}
