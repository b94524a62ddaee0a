/* temper — builder_apk: the extracted tree becomes one layer and an image.
 *
 * The layer is written by temper_oci_layer_add_tree (sorted, nothing
 * followed, every mtime clamped to the build's SOURCE_DATE_EPOCH, gzip
 * without name or time), with owners and modes taken from the packages'
 * tar headers rather than from the disk (and the same for mtimes), so the
 * build needs no chown and its result depends neither on who ran it, nor
 * when, nor under which umask.  Owners are numeric only (no
 * user or group names in the tar headers). */
#include "config.h"
#include "apk_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define DEFAULT_USER "65532"

/* ==== HARDENING (stand-in) ====================================================
 * The shared hardening step (include/temper/harden.h, from the builder_deb
 * work: nonroot user 65532 with passwd/group, docs and locales dropped,
 * os-release and labels, no shell or package manager in the runtime
 * variant) replaces harden_entry() and harden_config() when it lands on
 * main.  Until then the builder applies the two rules that need no
 * definition keys: no setuid/setgid file, no world-writable path without
 * the sticky bit; and the image runs as 65532 unless the definition names
 * a user. */
static void harden_entry(struct temper_oci_entry *e)
{
    if (e->type == TEMPER_OCI_ENTRY_SYMLINK || e->type == TEMPER_OCI_ENTRY_HARDLINK) {
        return;
    }
    if (e->type != TEMPER_OCI_ENTRY_DIR) {
        e->mode &= ~(unsigned)(S_ISUID | S_ISGID);
    }
    if ((e->mode & S_IWOTH) && !(e->mode & S_ISVTX)) {
        e->mode &= ~(unsigned)S_IWOTH;
    }
}

static int harden_config(const struct temper_image_def *def, struct temper_oci_config *c)
{
    c->user = strdup(def->user && *def->user ? def->user : DEFAULT_USER);
    return c->user ? TEMPER_OK : TEMPER_ENOMEM;
}
/* ==== end of the hardening stand-in ========================================== */

static int tree_fn(void *ctx, struct temper_oci_entry *e, const char *src)
{
    const struct apk_image_in *in = ctx;
    const struct apk_owner *o = apk_fs_find(in->fs, e->path);
    (void)src;
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
        /* made by the build (apk's database, implied parents): fixed metadata,
         * whatever the umask and the clock said */
        if (e->type == TEMPER_OCI_ENTRY_DIR) {
            e->mode = 0755;
        }
        e->mtime = in->sde;
    }
    harden_entry(e);
    return TEMPER_OCI_TREE_KEEP;
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
    return rc;
}

static int push_all(struct temper_strlist *dst, const struct temper_strlist *src)
{
    int rc = TEMPER_OK;
    for (size_t i = 0; src && rc == TEMPER_OK && i < src->n; i++) {
        rc = temper_oci_list_push(dst, src->v[i]);
    }
    return rc;
}

static bool has_path(const struct temper_strlist *env)
{
    for (size_t i = 0; env && i < env->n; i++) {
        if (strncmp(env->v[i], "PATH=", 5) == 0) {
            return true;
        }
    }
    return false;
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

static int fill_config(const struct apk_image_in *in, const char *created,
                       struct temper_oci_config *c)
{
    const struct temper_image_def *def = in->req->def;
    int rc = platform_fields(in->platform, c);
    c->created = strdup(created);
    rc = rc == TEMPER_OK && !c->created ? TEMPER_ENOMEM : rc;
    rc = rc == TEMPER_OK ? harden_config(def, c) : rc;
    rc = rc == TEMPER_OK && !has_path(def->env) ? temper_oci_list_push(&c->env, DEFAULT_PATH)
                                                : rc;
    rc = rc == TEMPER_OK ? push_all(&c->env, def->env) : rc;
    rc = rc == TEMPER_OK ? push_all(&c->entrypoint, def->entrypoint) : rc;
    rc = rc == TEMPER_OK ? push_all(&c->cmd, def->cmd) : rc;
    if (rc == TEMPER_OK && def->workdir) {
        c->working_dir = strdup(def->workdir);
        rc = c->working_dir ? TEMPER_OK : TEMPER_ENOMEM;
    }
    if (rc == TEMPER_OK && def->name) {
        rc = temper_oci_map_set(&c->labels, TEMPER_OCI_ANN_TITLE, def->name);
    }
    if (rc == TEMPER_OK && def->version) {
        rc = temper_oci_map_set(&c->labels, TEMPER_OCI_ANN_VERSION, def->version);
    }
    c->history = rc == TEMPER_OK ? calloc(1, sizeof *c->history) : NULL;
    if (c->history) {
        c->n_history = 1;
        c->history[0].created = strdup(created);
        c->history[0].created_by = temper_strdupf("temper builder_apk: %zu packages (%s)",
                                                  in->n_units, in->req->variant);
        rc = c->history[0].created && c->history[0].created_by ? TEMPER_OK : TEMPER_ENOMEM;
    } else if (rc == TEMPER_OK) {
        rc = TEMPER_ENOMEM;
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
    char diff_id[TEMPER_DIGEST_STR_LEN], created[32];
    memset(&layer, 0, sizeof layer);
    memset(&cfg, 0, sizeof cfg);
    memset(&ann, 0, sizeof ann);
    int rc = temper_oci_time_format(in->sde, created);
    if (rc != TEMPER_OK) {
        return temper_fail(st, rc, "SOURCE_DATE_EPOCH %lld is out of range", in->sde);
    }
    rc = write_layer(st, l, in, &layer, diff_id);
    if (rc == TEMPER_OK) {
        rc = fill_config(in, created, &cfg);
        if (rc == TEMPER_OK) {
            rc = temper_oci_map_set(&ann, TEMPER_OCI_ANN_CREATED, created);
        }
        if (rc == TEMPER_OK && in->req->def->name) {
            rc = temper_oci_map_set(&ann, TEMPER_OCI_ANN_TITLE, in->req->def->name);
        }
        if (rc != TEMPER_OK) {
            rc = temper_fail(st, rc, "image config of %s: %s", in->platform, temper_rc_str(rc));
        }
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
