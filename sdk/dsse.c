/* temper — DSSE and base64 (see include/temper/dsse.h). */
#include <temper/dsse.h>
#include <temper/buf.h>
#include <gnutls/gnutls.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define DSSE_MAX_BODY (256u * 1024 * 1024)

int temper_base64_encode(const void *data, size_t len, char **out)
{
    *out = NULL;
    if (len > UINT_MAX / 2) {
        return TEMPER_ELIMIT;
    }
    if (len == 0) {
        *out = calloc(1, 1);
        return *out ? TEMPER_OK : TEMPER_ENOMEM;
    }
    gnutls_datum_t in = { (unsigned char *)(uintptr_t)data, (unsigned)len };
    gnutls_datum_t res = { NULL, 0 };
    if (gnutls_base64_encode2(&in, &res) < 0) {
        return TEMPER_ENOMEM;
    }
    char *s = malloc((size_t)res.size + 1);
    if (!s) {
        gnutls_free(res.data);
        return TEMPER_ENOMEM;
    }
    memcpy(s, res.data, res.size);
    s[res.size] = '\0';
    gnutls_free(res.data);
    *out = s;
    return TEMPER_OK;
}

int temper_base64_decode(const char *b64, size_t len, unsigned char **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (len > UINT_MAX / 2) {
        return TEMPER_ELIMIT;
    }
    /* gnutls wants padding: add it when the input omits it */
    struct temper_buf b;
    temper_buf_init(&b, len + 4);
    int rc = temper_buf_append(&b, b64, len);
    while (rc == TEMPER_OK && b.len % 4 != 0) {
        rc = temper_buf_append(&b, "=", 1);
    }
    if (rc != TEMPER_OK) {
        temper_buf_cleanup(&b);
        return rc;
    }
    unsigned char *p = NULL;
    size_t n = 0;
    if (b.len == 0) {
        p = calloc(1, 1);
        rc = p ? TEMPER_OK : TEMPER_ENOMEM;
    } else {
        gnutls_datum_t in = { (unsigned char *)b.data, (unsigned)b.len };
        gnutls_datum_t res = { NULL, 0 };
        if (gnutls_base64_decode2(&in, &res) < 0) {
            rc = TEMPER_EFORMAT;
        } else {
            p = malloc((size_t)res.size + 1);
            if (p) {
                memcpy(p, res.data, res.size);
                p[res.size] = '\0';
                n = res.size;
            } else {
                rc = TEMPER_ENOMEM;
            }
            gnutls_free(res.data);
        }
    }
    temper_buf_cleanup(&b);
    if (rc == TEMPER_OK) {
        *out = p;
        *out_len = n;
    }
    return rc;
}

int temper_dsse_pae(const char *payload_type, const void *body, size_t len,
                    unsigned char **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (!payload_type || len > DSSE_MAX_BODY) {
        return TEMPER_EINVAL;
    }
    struct temper_buf b;
    temper_buf_init(&b, DSSE_MAX_BODY + 4096);
    int rc = temper_buf_printf(&b, "DSSEv1 %zu %s %zu ", strlen(payload_type), payload_type,
                               len);
    if (rc == TEMPER_OK) {
        rc = temper_buf_append(&b, body, len);
    }
    if (rc != TEMPER_OK) {
        temper_buf_cleanup(&b);
        return rc;
    }
    *out = (unsigned char *)temper_buf_take(&b, out_len);
    return *out ? TEMPER_OK : TEMPER_ENOMEM;
}

int temper_dsse_envelope(const char *payload_type, const void *body, size_t len,
                         const char *keyid, const unsigned char *sig, size_t sig_len,
                         char **json)
{
    *json = NULL;
    char *b_body = NULL, *b_sig = NULL;
    int rc = temper_base64_encode(body, len, &b_body);
    if (rc == TEMPER_OK) {
        rc = temper_base64_encode(sig, sig_len, &b_sig);
    }
    if (rc != TEMPER_OK) {
        free(b_body);
        free(b_sig);
        return rc;
    }
    json_object *env = json_object_new_object();
    json_object *sigs = json_object_new_array();
    json_object *s = json_object_new_object();
    json_object_object_add(s, "keyid", json_object_new_string(keyid ? keyid : ""));
    json_object_object_add(s, "sig", json_object_new_string(b_sig));
    json_object_array_add(sigs, s);
    json_object_object_add(env, "payload", json_object_new_string(b_body));
    json_object_object_add(env, "payloadType", json_object_new_string(payload_type));
    json_object_object_add(env, "signatures", sigs);
    const char *txt = json_object_to_json_string_ext(env, JSON_C_TO_STRING_PLAIN |
                                                              JSON_C_TO_STRING_NOSLASHESCAPE);
    *json = txt ? strdup(txt) : NULL;
    json_object_put(env);
    free(b_body);
    free(b_sig);
    return *json ? TEMPER_OK : TEMPER_ENOMEM;
}
