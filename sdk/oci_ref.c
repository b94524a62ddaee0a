/* temper — `oci:DIR[:TAG|@sha256:HEX]` references: parse, open the layout,
 * resolve to a descriptor (include/temper/oci.h).  The one parser behind
 * tracker_oci, builder_overlay and `temper verify`. */
#include "config.h"
#include "oci_int.h"

#include <stdlib.h>
#include <string.h>

/* A cosign object (.sig/.att manifest) rather than an image. */
static int is_cosign_entry(const struct temper_oci_descriptor *d)
{
    const char *ref = temper_oci_map_get(&d->annotations, TEMPER_OCI_ANN_REF_NAME);
    size_t rl = ref ? strlen(ref) : 0;
    if (d->artifact_type && strstr(d->artifact_type, "cosign")) {
        return 1;
    }
    return rl > 4 && (strcmp(ref + rl - 4, ".sig") == 0 || strcmp(ref + rl - 4, ".att") == 0);
}

/* The one image entry of index.json (cosign objects left aside). */
static int only_image(struct temper_stage *st, const char *ref,
                      const struct temper_oci_index *x, const struct temper_oci_descriptor **out)
{
    const struct temper_oci_descriptor *found = NULL;
    for (size_t i = 0; x && i < x->n_manifests; i++) {
        const struct temper_oci_descriptor *d = &x->manifests[i];
        if (is_cosign_entry(d) || (found && strcmp(found->digest, d->digest) == 0)) {
            continue;
        }
        if (found) {
            return temper_fail(st, TEMPER_EINVAL, "%s: the layout holds several images: name "
                               "one (oci:DIR:TAG or oci:DIR@DIGEST)", ref);
        }
        found = d;
    }
    *out = found;
    return found ? TEMPER_OK
                 : temper_fail(st, TEMPER_ENOTFOUND, "%s: no image in index.json", ref);
}

/* The descriptor sel (":TAG", "@DIGEST" or NULL) names in l, copied. */
static int resolve(struct temper_stage *st, const char *ref, const struct temper_oci_layout *l,
                   const char *sel, unsigned flags, struct temper_oci_descriptor *out)
{
    const struct temper_oci_index *x = temper_oci_layout_index(l);
    const struct temper_oci_descriptor *d = NULL;
    int rc = TEMPER_OK;
    if (sel && sel[0] == '@') {
        for (size_t i = 0; x && i < x->n_manifests && !d; i++) {
            d = strcmp(x->manifests[i].digest, sel + 1) == 0 ? &x->manifests[i] : NULL;
        }
        if (!d) { /* a manifest of the layout without an index.json entry */
            rc = temper_oci_layout_describe(NULL, l, sel + 1, out);
            return rc == TEMPER_OK ? rc
                                   : temper_fail(st, rc == TEMPER_ENOTFOUND ? rc : TEMPER_EFORMAT,
                                                 "%s: no manifest %s in the layout", ref,
                                                 sel + 1);
        }
    } else if (sel || (flags & TEMPER_OCI_REF_LATEST)) {
        rc = temper_oci_layout_find(NULL, l, sel ? sel + 1 : "latest", &d);
        if (rc != TEMPER_OK) {
            return temper_fail(st, rc, "%s: no image tagged '%s' in index.json", ref,
                               sel ? sel + 1 : "latest");
        }
    } else {
        rc = only_image(st, ref, x, &d);
    }
    rc = rc == TEMPER_OK ? temper_oci_descriptor_copy(out, d) : rc;
    return rc == TEMPER_ENOMEM ? temper_fail(st, rc, "out of memory") : rc;
}

int temper_oci_layout_open_ref(struct temper_stage *st, const char *ref, unsigned flags,
                               struct temper_oci_layout **l, struct temper_oci_descriptor *out)
{
    *l = NULL;
    memset(out, 0, sizeof *out);
    if (!ref || strncmp(ref, "oci:", 4) != 0 || (flags & ~(unsigned)TEMPER_OCI_REF_LATEST)) {
        return temper_fail(st, TEMPER_EINVAL, "'%s' is not oci:DIR[:TAG|@DIGEST]",
                           ref ? ref : "(null)");
    }
    const char *dir = ref + 4;
    const char *slash = strrchr(dir, '/');
    const char *sel = strchr(slash ? slash : dir, '@');
    sel = sel ? sel : strrchr(slash ? slash : dir, ':');
    size_t dlen = sel ? (size_t)(sel - dir) : strlen(dir);
    if (dlen == 0 || dlen > TEMPER_OCI_REF_PATH_MAX || (sel && !sel[1])) {
        return temper_fail(st, TEMPER_EINVAL, "'%s' is not oci:DIR[:TAG|@DIGEST]", ref);
    }
    if (sel && sel[0] == '@' && !temper_oci_digest_valid(sel + 1)) {
        return temper_fail(st, TEMPER_EINVAL, "%s: '%s' is not a sha256 digest", ref, sel + 1);
    }
    if (sel && sel[0] == ':' && !temper_oci_ref_valid(sel + 1)) {
        return temper_fail(st, TEMPER_EINVAL, "%s: '%s' is not a valid tag", ref, sel + 1);
    }
    char *path = strndup(dir, dlen);
    if (!path) {
        return temper_fail(st, TEMPER_ENOMEM, "out of memory");
    }
    int rc = temper_oci_layout_open(st, path, l);
    rc = rc == TEMPER_OK ? resolve(st, ref, *l, sel, flags, out) : rc;
    if (rc != TEMPER_OK) {
        temper_oci_layout_free(*l);
        *l = NULL;
        temper_oci_descriptor_cleanup(out);
        memset(out, 0, sizeof *out);
    }
    free(path);
    return rc;
}
