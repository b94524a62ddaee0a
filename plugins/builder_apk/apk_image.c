/* temper — builder_apk: the extracted tree is hardened and becomes one layer
 * and an image.
 *
 * Hardening is the SDK's shared step (include/temper/harden.h), the same as
 * builder_deb's: temper_harden_rootfs() on the root (passwd/group with
 * nonroot 65532, /etc/os-release, ...), temper_harden_tree() on every layer
 * entry (no setuid/setgid, no world-writable path without the sticky bit,
 * docs and locales dropped, no shell or package manager in the runtime
 * variant) and temper_harden_config() for the image config and labels.
 *
 * The layer is written by temper_oci_layer_add_tree (sorted, nothing
 * followed, every mtime clamped to the build's SOURCE_DATE_EPOCH, gzip
 * without name or time), with owners, modes and mtimes taken from the
 * packages' tar headers rather than from the disk, so the build needs no
 * chown and its result depends neither on who ran it, nor when, nor under
 * which umask.  Owners are numeric only (no user or group names). */
#include "config.h"
#include "apk_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int tree_fn(void *ctx, struct temper_oci_entry *e, const char *src)
{
    const struct apk_image_in *in = ctx;
    const struct apk_owner *o = apk_fs_find(in->fs, e->path);
    e->uname = NULL;
    e->gname = NULL;
    if (o) {
        const struct apk_entry *pe = &in->units[o->unit].e[o->entry];
        e->uid = pe->uid;
        e->gid = pe->gid;
        e->mtime = pe->mtime < 0 ? 0 : pe->mtime; /* not the disk's: dirs change */
        bool same = (pe->type == APK_E_DIR) == (e->type == TEMPER_OCI_ENTRY_DIR) &&
                    (pe->type == APK_E_FILE) == (e->type == TEMPER_OCI_ENTRY_FILE);
        if (same) {
            e->mode = pe->mode;
        }
    } else {
        /* made by the build (apk's database, hardening, implied parents): the
         * modes it gave (exact, whatever the umask), the build's time */
        e->mtime = in->sde;
    }
    return temper_harden_tree(in->h, e, src);
}

static int write_layer(struct temper_stage *st, struct temper_oci_layout *l,
                       const struct apk_image_in *in, struct temper_oci_descriptor *desc,
                       char diff_id[TEMPER_DIGEST_STR_LEN])
{
    struct temper_oci_layer_opts lo = { .size = sizeof lo,
                                        .compression = TEMPER_OCI_COMP_GZIP,
                                        .source_date_epoch = in->sde };
    struct temper_oci_tree_opts to = { .size = sizeof to, .fn = tree_fn, .ctx = (void *)in };
    struct temper_oci_layer *ly = NULL;
    int rc = temper_oci_layer_new(st, l, &lo, &ly);
    if (rc == TEMPER_OK) {
        rc = temper_oci_layer_add_tree(ly, in->root, &to);
    }
    if (rc == TEMPER_OK) {
        rc = temper_oci_layer_finish(ly, desc, diff_id);
    }
    temper_oci_layer_free(ly);
    if (rc == TEMPER_OK) {
        struct temper_harden_stats hs;
        temper_harden_stats(in->h, &hs);
        TEMPER_LOG_INFO(st, "%s: layer %s; dropped %zu docs, %zu locales, %zu shells, %zu "
                        "package manager files; cleared %zu setuid/setgid, %zu "
                        "world-writable", in->platform, desc->digest, hs.docs, hs.locales,
                        hs.shells, hs.package_managers, hs.setuid, hs.world_writable);
    }
    return rc;
}

/* "linux/arm64/v8" into os, architecture, variant. */
static int platform_fields(const char *platform, struct temper_oci_config *c)
{
    const char *a = strchr(platform, '/');
    const char *v = a ? strchr(a + 1, '/') : NULL;
    if (!a) {
        return TEMPER_EINVAL;
    }
    c->os = strndup(platform, (size_t)(a - platform));
    c->architecture = v ? strndup(a + 1, (size_t)(v - a - 1)) : strdup(a + 1);
    if (v) {
        c->variant = strdup(v + 1);
    }
    return c->os && c->architecture && (!v || c->variant) ? TEMPER_OK : TEMPER_ENOMEM;
}

static int fill_config(struct temper_stage *st, const struct apk_image_in *in,
                       struct temper_oci_config *c, struct temper_oci_map *ann)
{
    int rc = platform_fields(in->platform, c);
    c->history = rc == TEMPER_OK ? calloc(1, sizeof *c->history) : NULL;
    if (c->history) {
        c->n_history = 1;
        c->history[0].created_by = temper_strdupf("temper builder_apk: %zu packages (%s)",
                                                  in->n_units, in->req->variant);
        rc = c->history[0].created_by ? TEMPER_OK : TEMPER_ENOMEM;
    } else if (rc == TEMPER_OK) {
        rc = TEMPER_ENOMEM;
    }
    if (rc != TEMPER_OK) {
        return temper_fail(st, rc, "image config of %s: %s", in->platform, temper_rc_str(rc));
    }
    rc = temper_harden_config(in->h, in->req->def, in->info, c, ann);
    if (rc == TEMPER_OK) {
        c->history[0].created = strdup(c->created);
        rc = c->history[0].created ? TEMPER_OK
                                   : temper_fail(st, TEMPER_ENOMEM, "builder_apk: out of memory");
    }
    return rc;
}

int apk_image_write(struct temper_stage *st, struct temper_oci_layout *l,
                    const struct apk_image_in *in, const char *ref,
                    struct temper_oci_descriptor *out)
{
    struct temper_oci_descriptor layer;
    struct temper_oci_config cfg;
    struct temper_oci_map ann;
    char diff_id[TEMPER_DIGEST_STR_LEN];
    memset(&layer, 0, sizeof layer);
    memset(&cfg, 0, sizeof cfg);
    memset(&ann, 0, sizeof ann);
    int rc = temper_harden_rootfs(in->h, in->root, in->info);
    if (rc == TEMPER_OK) {
        rc = write_layer(st, l, in, &layer, diff_id);
    }
    if (rc == TEMPER_OK) {
        rc = fill_config(st, in, &cfg, &ann);
    }
    if (rc == TEMPER_OK) {
        const char *ids[1] = { diff_id };
        rc = temper_oci_image_write(st, l, &cfg, &layer, ids, 1, &ann, ref, out);
    }
    temper_oci_descriptor_cleanup(&layer);
    temper_oci_config_cleanup(&cfg);
    temper_oci_map_cleanup(&ann);
    return rc;
}
