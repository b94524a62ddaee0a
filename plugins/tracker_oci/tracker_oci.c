/* temper — tracker_oci: watch OCI references and report when the digest a
 * reference points at moves.
 *
 * A customized image watches its base and its artifacts: its [upstream]
 * section names this tracker and lists each reference with a `ref =` line
 * (`oci:DIR:TAG` for an OCI layout).  A poll resolves every reference to its
 * manifest (or index) digest and compares it with the digest saved for
 * (watch, reference), or in a registry, `HOST[:PORT]/REPO:TAG` (a HEAD of the
 * manifest through the SDK's registry client: TLS verified, `ca_file`,
 * credentials from a file or a Docker config.json, `plain_http` for a
 * loopback registry).  A new digest is one change, with
 *   upstream      the reference
 *   old_ref       the digest seen before (absent on the first poll)
 *   new_ref       the digest now (also TEMPER_ATTR_DIGEST)
 *   image         the watching image
 * and no version: the rebuilt image keeps its own version (a digest is not
 * one), so its tags do not move to a digest-shaped name.
 * The first poll of a reference records its digest and reports it too, so
 * that the customization is built once from what it watches.  A reference
 * that cannot be resolved is logged and keeps its saved digest; the round
 * goes on with the others. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <temper/registry.h>
#include <temper/temper.h>

#define MAX_REFS 256

struct oci_conf {
    bool plain_http;
    char *ca_file;
    char *credentials_file;
    char *docker_config;
};

static const struct temper_option oci_options[] = {
    { TEMPER_OPT_BOOL, "plain_http", "false", 0, offsetof(struct oci_conf, plain_http), 0, 0,
      NULL, "talk http:// to registries (a loopback test registry); default https, verified" },
    { TEMPER_OPT_PATH, "ca_file", NULL, 0, offsetof(struct oci_conf, ca_file), 0, 0, NULL,
      "PEM bundle replacing the trust store for registries" },
    { TEMPER_OPT_PATH, "credentials_file", NULL, 0, offsetof(struct oci_conf, credentials_file),
      0, 0, NULL, "registry credentials: user:password or a token" },
    { TEMPER_OPT_PATH, "docker_config", NULL, 0, offsetof(struct oci_conf, docker_config), 0, 0,
      NULL, "a Docker config.json whose auths give the registry credentials" },
    TEMPER_OPTION_END,
};

struct oci_watch_conf {
    struct temper_strlist refs;
    bool report_first;
};

static const struct temper_option oci_watch_options[] = {
    { TEMPER_OPT_STR, "ref", NULL, TEMPER_OPT_REQUIRED | TEMPER_OPT_MULTI,
      offsetof(struct oci_watch_conf, refs), 0, 0, NULL,
      "a reference to watch (oci:DIR:TAG or HOST/REPO:TAG); one line each: the base and "
      "every artifact" },
    { TEMPER_OPT_BOOL, "report_first", "true", 0, offsetof(struct oci_watch_conf, report_first),
      0, 0, NULL, "report a reference the first time it is seen (builds the image once)" },
    TEMPER_OPTION_END,
};

static int oci_open(struct temper_stage *st, const void *conf, void **state)
{
    (void)st;
    *state = (void *)conf;
    return TEMPER_OK;
}

static void oci_close(void *state)
{
    (void)state;
}

/* The digest a layout reference `oci:DIR[:TAG|@DIGEST]` points at (no tag:
 * "latest"); temper_oci_layout_open_ref() parses it. */
static int resolve_layout(struct temper_stage *st, const char *ref,
                          char digest[TEMPER_DIGEST_STR_LEN])
{
    struct temper_oci_layout *l = NULL;
    struct temper_oci_descriptor d;
    int rc = temper_oci_layout_open_ref(st, ref, TEMPER_OCI_REF_LATEST, &l, &d);
    if (rc == TEMPER_OK) {
        snprintf(digest, TEMPER_DIGEST_STR_LEN, "%s", d.digest);
    }
    temper_oci_descriptor_cleanup(&d);
    temper_oci_layout_free(l);
    return rc;
}

/* The digest a registry reference points at: HEAD of its manifest. */
static int resolve_registry(struct temper_stage *st, const struct oci_conf *c, const char *ref,
                            char digest[TEMPER_DIGEST_STR_LEN])
{
    struct temper_registry_ref rr;
    if (temper_registry_ref_parse(ref, &rr) != TEMPER_OK) {
        return temper_fail(st, TEMPER_EINVAL, "%s: not oci:DIR:TAG nor HOST/REPO:TAG", ref);
    }
    struct temper_registry_opts o;
    temper_registry_opts_init(&o);
    o.plain_http = c && c->plain_http;
    o.ca_file = c ? c->ca_file : NULL;
    o.credentials_file = c ? c->credentials_file : NULL;
    o.docker_config = c ? c->docker_config : NULL;
    struct temper_registry *r = NULL;
    struct temper_oci_descriptor d;
    memset(&d, 0, sizeof d);
    int rc = temper_registry_new(st, rr.host, &o, &r);
    rc = rc == TEMPER_OK ? temper_registry_manifest_head(r, rr.repo,
                                                         rr.digest[0] ? rr.digest : rr.tag, &d)
                         : rc;
    if (rc == TEMPER_OK) {
        snprintf(digest, TEMPER_DIGEST_STR_LEN, "%s", d.digest);
    }
    temper_oci_descriptor_cleanup(&d);
    temper_registry_free(r);
    return rc;
}

static int resolve(struct temper_stage *st, const struct oci_conf *c, const char *ref,
                   char digest[TEMPER_DIGEST_STR_LEN])
{
    if (strncmp(ref, "oci:", 4) == 0 && ref[4]) {
        return resolve_layout(st, ref, digest);
    }
    return resolve_registry(st, c, ref, digest);
}

static int emit_change(struct temper_stage *st, const struct temper_watch *w, const char *ref,
                       const char *old, const char *now)
{
    struct temper_artifact *a = temper_artifact_new(TEMPER_ART_CHANGE, w->image);
    int rc = a ? temper_artifact_set(a, TEMPER_ATTR_TRACKER, temper_stage_name(st))
               : TEMPER_ENOMEM;
    rc = rc == TEMPER_OK ? temper_artifact_set(a, TEMPER_ATTR_IMAGE, w->image) : rc;
    rc = rc == TEMPER_OK ? temper_artifact_set(a, TEMPER_ATTR_UPSTREAM, ref) : rc;
    rc = rc == TEMPER_OK && old ? temper_artifact_set(a, TEMPER_ATTR_OLD_REF, old) : rc;
    rc = rc == TEMPER_OK ? temper_artifact_set(a, TEMPER_ATTR_NEW_REF, now) : rc;
    rc = rc == TEMPER_OK ? temper_artifact_set(a, TEMPER_ATTR_DIGEST, now) : rc;
    if (rc != TEMPER_OK) {
        temper_artifact_free(a);
        return temper_fail(st, rc, "tracker_oci: out of memory");
    }
    return temper_emit(st, a);
}

static int poll_ref(struct temper_stage *st, const struct oci_conf *oc,
                    const struct temper_watch *w, const struct oci_watch_conf *c,
                    const char *ref)
{
    char now[TEMPER_DIGEST_STR_LEN];
    char *key = temper_strdupf("%s|%s", w->id, ref);
    char *old = NULL;
    int rc = key ? resolve(st, oc, ref, now) : TEMPER_ENOMEM;
    if (rc == TEMPER_OK) {
        int g = temper_stage_state_get(st, key, &old);
        rc = g == TEMPER_ENOTFOUND || g == TEMPER_OK ? TEMPER_OK : g;
    }
    bool moved = rc == TEMPER_OK && (old ? strcmp(old, now) != 0 : c->report_first);
    if (moved) {
        TEMPER_LOG_INFO(st, "%s: %s -> %s", ref, old ? old : "(new)", now);
        rc = emit_change(st, w, ref, old, now);
    }
    if (rc == TEMPER_OK && (!old || strcmp(old, now) != 0)) {
        rc = temper_stage_state_put(st, key, now);
    }
    free(old);
    free(key);
    return rc;
}

static int oci_poll(void *state, struct temper_stage *st,
                    const struct temper_watch *const *watches, size_t n)
{
    const struct oci_conf *oc = state;
    size_t ok = 0, tried = 0;
    for (size_t i = 0; i < n; i++) {
        const struct oci_watch_conf *c = watches[i]->conf;
        for (size_t j = 0; j < c->refs.n && j < MAX_REFS; j++) {
            tried++;
            ok += poll_ref(st, oc, watches[i], c, c->refs.v[j]) == TEMPER_OK;
        }
    }
    if (tried > 0 && ok == 0) {
        return temper_fail(st, TEMPER_EIO, "tracker_oci: no reference could be resolved");
    }
    return TEMPER_OK;
}

static const struct temper_tracker_ops oci_ops = {
    .watch_options = oci_watch_options,
    .watch_conf_size = sizeof(struct oci_watch_conf),
    .poll = oci_poll,
    .diff = NULL,
};

TEMPER_PLUGIN(tracker_oci) = {
    TEMPER_PLUGIN_HEAD,
    .kind = TEMPER_KIND_TRACKER,
    .name = "oci",
    .version = "0.1.0",
    .summary = "Watch OCI references (base images, artifacts) and report digest changes",
    .options = oci_options,
    .conf_size = sizeof(struct oci_conf),
    .open = oci_open,
    .close = oci_close,
    .ops = &oci_ops,
    .ops_size = sizeof oci_ops,
};
