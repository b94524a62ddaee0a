/* temper — registry auth: credentials (file, Docker config.json), Basic and
 * the Bearer token flow, and reg_do(), the one request path with auth. */
#include "config.h"

#include "registry_int.h"

#include <temper/buf.h>
#include <temper/dsse.h>
#include <temper/json.h>
#include <temper/log.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CRED_FILE_MAX 4096

static void wipe_free(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

/* Small regular file, first line, no control characters. */
static int read_first_line(struct temper_stage *st, const char *path, char **out)
{
    FILE *f = fopen(path, "re");
    int rc = TEMPER_OK;
    *out = NULL;
    if (!f) {
        return temper_fail(st, TEMPER_EINVAL, "cannot read the credentials file %s", path);
    }
    char line[CRED_FILE_MAX + 2];
    if (!fgets(line, sizeof line, f)) {
        line[0] = '\0';
    }
    fclose(f);
    size_t n = strcspn(line, "\r\n");
    while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t')) {
        n--;
    }
    line[n] = '\0';
    bool bad = n == 0 || n > CRED_FILE_MAX;
    for (size_t i = 0; i < n; i++) {
        bad = bad || (unsigned char)line[i] < 0x20 || line[i] == 0x7f;
    }
    if (bad) {
        rc = temper_fail(st, TEMPER_EINVAL, "the credentials file %s is empty or malformed",
                         path);
    } else {
        rc = temper_log_add_secret(line);
        *out = rc == TEMPER_OK ? strdup(line) : NULL;
        rc = rc == TEMPER_OK && !*out ? TEMPER_ENOMEM : rc;
    }
    explicit_bzero(line, sizeof line);
    return rc;
}

static int set_basic(struct temper_registry *r, const char *user, const char *password)
{
    char *pair = temper_strdupf("%s:%s", user, password);
    char *b64 = NULL;
    int rc = pair ? temper_base64_encode(pair, strlen(pair), &b64) : TEMPER_ENOMEM;
    if (rc == TEMPER_OK) {
        rc = temper_log_add_secret(password);
    }
    if (rc == TEMPER_OK) {
        rc = temper_log_add_secret(b64);
    }
    if (rc == TEMPER_OK) {
        r->basic = temper_strdupf("Basic %s", b64);
        rc = r->basic ? TEMPER_OK : TEMPER_ENOMEM;
    }
    wipe_free(pair);
    wipe_free(b64);
    return rc;
}

static json_object *find_auth_entry(json_object *auths, const char *host)
{
    static const char *const pre[] = { "", "https://", "http://", "https://" };
    static const char *const post[] = { "", "", "", "/v1/" };
    for (size_t i = 0; i < sizeof pre / sizeof pre[0]; i++) {
        char key[TEMPER_REGISTRY_HOST_MAX + 32];
        json_object *e = NULL;
        int n = snprintf(key, sizeof key, "%s%s%s", pre[i], host, post[i]);
        if (n > 0 && (size_t)n < sizeof key && json_object_object_get_ex(auths, key, &e) &&
            json_object_is_type(e, json_type_object)) {
            return e;
        }
    }
    return NULL;
}

static int decode_auth(struct temper_stage *st, const char *config, const char *b64,
                       char **user, char **password)
{
    unsigned char *raw = NULL;
    size_t len = 0;
    int rc = temper_base64_decode(b64, strlen(b64), &raw, &len);
    char *colon = rc == TEMPER_OK ? memchr(raw, ':', len) : NULL;
    if (!colon || colon == (char *)raw || strlen((char *)raw) != len) {
        rc = temper_fail(st, TEMPER_EFORMAT, "%s: the auth entry is not base64 user:password",
                         config);
    } else {
        *user = strndup((char *)raw, (size_t)(colon - (char *)raw));
        *password = strdup(colon + 1);
        rc = *user && *password ? TEMPER_OK : TEMPER_ENOMEM;
    }
    if (raw) {
        explicit_bzero(raw, len);
    }
    free(raw);
    return rc;
}

int temper_registry_docker_auth(struct temper_stage *st, const char *config, const char *host,
                                char **user, char **password)
{
    json_object *root = NULL;
    *user = NULL;
    *password = NULL;
    int rc = temper_json_parse_file(st, config, 1024 * 1024, 16, &root);
    if (rc != TEMPER_OK) {
        return rc;
    }
    json_object *auths = temper_json_get_object(root, "auths");
    json_object *e = auths ? find_auth_entry(auths, host) : NULL;
    const char *b64 = e ? temper_json_get_str(e, "auth") : NULL;
    const char *u = e ? temper_json_get_str(e, "username") : NULL;
    const char *p = e ? temper_json_get_str(e, "password") : NULL;
    if (!e) {
        rc = TEMPER_ENOTFOUND;
    } else if (b64 && b64[0]) {
        rc = decode_auth(st, config, b64, user, password);
    } else if (u && p && u[0]) {
        *user = strdup(u);
        *password = strdup(p);
        rc = *user && *password ? TEMPER_OK : TEMPER_ENOMEM;
    } else {
        rc = temper_fail(st, TEMPER_EFORMAT, "%s: auths.%s has neither auth nor "
                         "username/password", config, host);
    }
    if (rc != TEMPER_OK) {
        TEMPER_FREE(*user);
        wipe_free(*password);
        *password = NULL;
    }
    json_object_put(root);
    return rc;
}

int reg_load_credentials(struct temper_registry *r, const struct temper_registry_opts *o)
{
    char *line = NULL, *user = NULL, *password = NULL;
    int rc = TEMPER_OK;
    int given = !!o->credentials_file + !!o->docker_config + !!(o->username || o->password);
    if (given > 1) {
        return temper_fail(r->st, TEMPER_EINVAL, "credentials_file, docker_config and "
                           "username/password are mutually exclusive");
    }
    if (o->username || o->password) {
        if (!o->username || !o->password || !o->username[0] || strchr(o->username, ':')) {
            return temper_fail(r->st, TEMPER_EINVAL,
                               "username and password go together (no ':' in the username)");
        }
        rc = set_basic(r, o->username, o->password);
    } else if (o->credentials_file) {
        rc = read_first_line(r->st, o->credentials_file, &line);
        char *colon = rc == TEMPER_OK ? strchr(line, ':') : NULL;
        if (colon) {
            *colon = '\0';
            rc = set_basic(r, line, colon + 1);
        } else if (rc == TEMPER_OK) {
            r->static_token = line;
            line = NULL;
        }
    } else if (o->docker_config) {
        rc = temper_registry_docker_auth(r->st, o->docker_config, r->host, &user, &password);
        if (rc == TEMPER_ENOTFOUND) {
            TEMPER_LOG_INFO(r->st, "%s has no credentials for %s: anonymous access",
                            o->docker_config, r->host);
            rc = TEMPER_OK;
        } else if (rc == TEMPER_OK) {
            rc = set_basic(r, user, password);
        }
    }
    wipe_free(line);
    free(user);
    wipe_free(password);
    return rc;
}

void reg_auth_cleanup(struct temper_registry *r)
{
    for (size_t i = 0; i < r->n_tokens; i++) {
        free(r->tokens[i].scope);
        wipe_free(r->tokens[i].token);
    }
    r->n_tokens = 0;
    wipe_free(r->basic);
    wipe_free(r->static_token);
    r->basic = r->static_token = NULL;
}

/* ---- tokens ------------------------------------------------------------------ */

static struct reg_token *token_find(struct temper_registry *r, const char *scope)
{
    for (size_t i = 0; scope && i < r->n_tokens; i++) {
        if (strcmp(r->tokens[i].scope, scope) == 0) {
            return &r->tokens[i];
        }
    }
    return NULL;
}

static void token_drop(struct temper_registry *r, const char *scope)
{
    struct reg_token *t = token_find(r, scope);
    if (t) {
        wipe_free(t->token);
        t->token = NULL;
    }
}

static int token_keep(struct temper_registry *r, const char *scope, const char *token)
{
    struct reg_token *t = token_find(r, scope);
    if (!t && r->n_tokens < REG_TOKENS_MAX) {
        t = &r->tokens[r->n_tokens];
        t->scope = strdup(scope);
        if (!t->scope) {
            return TEMPER_ENOMEM;
        }
        r->n_tokens++;
    } else if (!t) {
        t = &r->tokens[r->next_evict++ % REG_TOKENS_MAX];
        free(t->scope);
        t->scope = strdup(scope);
        if (!t->scope) {
            r->n_tokens--; /* keep the array dense: swap in the last one */
            *t = r->tokens[r->n_tokens];
            memset(&r->tokens[r->n_tokens], 0, sizeof *t);
            return TEMPER_ENOMEM;
        }
    }
    wipe_free(t->token);
    t->token = strdup(token);
    return t->token ? temper_log_add_secret(token) : TEMPER_ENOMEM;
}

static int token_url(struct temper_registry *r, const struct temper_registry_challenge *ch,
                     const char *scope, char **url)
{
    struct temper_buf b;
    int rc = TEMPER_OK;
    *url = NULL;
    if (strncmp(ch->realm, "https://", 8) != 0 &&
        !(r->o.plain_http && strncmp(ch->realm, "http://", 7) == 0)) {
        return temper_fail(r->st, TEMPER_ENET, "%s: the token realm %s is not https",
                           r->host, ch->realm);
    }
    temper_buf_init(&b, 8192);
    rc = temper_buf_puts(&b, ch->realm);
    const char *sep = strchr(ch->realm, '?') ? "&" : "?";
    const char *vals[3] = { ch->service, ch->scope, scope };
    const char *keys[3] = { "service", "scope", "scope" };
    for (int i = 0; i < 3 && rc == TEMPER_OK; i++) {
        if (!vals[i] || (i == 2 && ch->scope && strcmp(ch->scope, scope) == 0)) {
            continue;
        }
        char *e = reg_query_escape(vals[i]);
        rc = e ? temper_buf_printf(&b, "%s%s=%s", sep, keys[i], e) : TEMPER_ENOMEM;
        sep = "&";
        free(e);
    }
    if (rc == TEMPER_OK) {
        *url = temper_buf_take(&b, NULL);
        rc = *url ? TEMPER_OK : TEMPER_ENOMEM;
    }
    temper_buf_cleanup(&b);
    return rc == TEMPER_OK ? rc : temper_fail(r->st, rc, "%s: cannot build the token URL",
                                              r->host);
}

static int token_fetch(struct temper_registry *r, const struct temper_registry_challenge *ch,
                       const char *scope)
{
    char *url = NULL, *hdr = NULL;
    json_object *root = NULL;
    struct temper_http_resp resp;
    temper_http_resp_init(&resp);
    int rc = token_url(r, ch, scope, &url);
    if (rc == TEMPER_OK && r->basic) {
        hdr = temper_strdupf("Authorization: %s", r->basic);
        rc = hdr ? TEMPER_OK : TEMPER_ENOMEM;
    }
    const char *headers[] = { hdr, NULL };
    struct temper_http_req req = { .size = sizeof req, .method = "GET", .url = url,
                                   .headers = headers, .flags = TEMPER_HTTP_NO_AUTH,
                                   .max_body = r->o.max_manifest };
    if (rc == TEMPER_OK) {
        r->stats.requests++;
        rc = temper_http_do(r->http, &req, &resp);
    }
    if (rc == TEMPER_OK) {
        char *safe = temper_http_safe_url(url);
        rc = temper_json_parse(r->st, safe ? safe : "token reply", resp.body.data,
                               resp.body.len, r->o.max_manifest, 16, &root);
        free(safe);
    }
    const char *tok = rc == TEMPER_OK ? temper_json_get_str(root, "token") : NULL;
    if (rc == TEMPER_OK && (!tok || !tok[0])) {
        tok = temper_json_get_str(root, "access_token");
    }
    if (rc == TEMPER_OK && (!tok || !tok[0] || strlen(tok) > 65536 ||
                            strpbrk(tok, "\r\n"))) {
        rc = temper_fail(r->st, TEMPER_EFORMAT, "%s: the token reply has no usable token",
                         ch->realm);
    }
    if (rc == TEMPER_OK) {
        rc = token_keep(r, scope, tok);
    }
    json_object_put(root);
    temper_http_resp_cleanup(&resp);
    wipe_free(hdr);
    free(url);
    return rc;
}

/* ---- requests ------------------------------------------------------------------ */

static char *auth_line(struct temper_registry *r, const char *scope)
{
    struct reg_token *t = token_find(r, scope ? scope : "");
    if (r->static_token) {
        return temper_strdupf("Authorization: Bearer %s", r->static_token);
    }
    if (r->scheme == REG_AUTH_BEARER && t && t->token) {
        return temper_strdupf("Authorization: Bearer %s", t->token);
    }
    if (r->scheme == REG_AUTH_BASIC && r->basic) {
        return temper_strdupf("Authorization: %s", r->basic);
    }
    return strdup("");
}

/* Answer a 401: TEMPER_OK when a retry makes sense. */
static int answer_challenge(struct temper_registry *r, const struct reg_call *c,
                            const struct temper_http_resp *resp, bool had_token)
{
    struct temper_registry_challenge ch;
    const char *v = NULL;
    int rc = TEMPER_ENOTFOUND;
    for (size_t i = 0; i < 8 && rc == TEMPER_ENOTFOUND; i++) {
        v = temper_http_resp_header(resp, "WWW-Authenticate", i);
        if (!v) {
            break;
        }
        rc = temper_registry_challenge_parse(v, &ch);
    }
    if (rc != TEMPER_OK) {
        return TEMPER_ENOTFOUND;
    }
    if (strcasecmp(ch.scheme, "Basic") == 0) {
        rc = r->basic && r->scheme != REG_AUTH_BASIC ? TEMPER_OK : TEMPER_ENOTFOUND;
        r->scheme = REG_AUTH_BASIC;
    } else {
        r->scheme = REG_AUTH_BEARER;
        const char *scope = c->scope ? c->scope : ch.scope ? ch.scope : "";
        if (had_token) {
            TEMPER_LOG_INFO(r->st, "%s: token refused, fetching a new one", r->host);
            token_drop(r, scope);
        }
        rc = token_fetch(r, &ch, scope);
    }
    temper_registry_challenge_cleanup(&ch);
    return rc;
}

int reg_do(struct temper_registry *r, const struct reg_call *c, struct temper_http_resp *resp)
{
    const char *headers[REG_HEADERS_MAX + 2];
    int rc = TEMPER_OK;
    for (int round = 0; round <= REG_AUTH_ROUNDS; round++) {
        char *auth = auth_line(r, c->scope);
        size_t n = 0;
        if (!auth) {
            return temper_fail(r->st, TEMPER_ENOMEM, "out of memory");
        }
        bool had_token = auth[0] != '\0' && r->scheme == REG_AUTH_BEARER;
        for (size_t i = 0; i < REG_HEADERS_MAX && c->headers[i]; i++) {
            headers[n++] = c->headers[i];
        }
        if (auth[0]) {
            headers[n++] = auth;
        }
        headers[n] = NULL;
        struct temper_http_req req = {
            .size = sizeof req, .method = c->method, .url = c->url, .headers = headers,
            .body = c->body, .body_len = c->body_len, .body_file = c->body_file,
            .out_path = c->out_path, .expect_sha256 = c->expect_sha256,
            .flags = c->flags | TEMPER_HTTP_ANY_STATUS | TEMPER_HTTP_NO_AUTH,
            .max_body = c->max_body,
        };
        r->stats.requests++;
        rc = temper_http_do(r->http, &req, resp);
        wipe_free(auth);
        if (rc != TEMPER_OK || resp->status != 401 || round == REG_AUTH_ROUNDS ||
            r->static_token) {
            return rc;
        }
        int arc = answer_challenge(r, c, resp, had_token);
        if (arc == TEMPER_ENOTFOUND) {
            return TEMPER_OK; /* nothing to answer with: the caller reports the 401 */
        }
        if (arc != TEMPER_OK) {
            return arc; /* the token request failed (recorded) */
        }
    }
    return rc;
}
