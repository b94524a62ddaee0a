/* oci_write_sample DIR TAG [SOURCE_DATE_EPOCH]
 * oci_write_sample --extract DIR TAG ROOT
 *
 * Writes a small two-layer image into the OCI layout DIR under TAG with the
 * SDK only, for external clients (skopeo, umoci) to read in
 * tests/unit/test_oci_clients.sh.  Layer 0 is built from entries in memory,
 * layer 1 from a directory tree plus a whiteout of a layer-0 file.  Prints
 *   manifest <digest>
 *   layer <blob digest> <diff_id>      (one line per layer)
 * and exits 0, or prints the error and exits 1.
 *
 * With --extract it unpacks image TAG of layout DIR into ROOT with
 * temper_oci_layer_extract (whiteouts applied), layer by layer, after
 * checking each blob's digest: the shell test compares the result with
 * what umoci unpacked. */
#include "config.h"
#include <temper/buf.h>
#include <temper/oci.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "../../sdk/host.h"

#define LONG_NAME "app/a-file-name-longer-than-the-one-hundred-bytes-that-a-ustar-header-" \
                  "can-hold-so-that-pax-is-needed.txt"

struct sample {
    struct temper_stage *st;
    struct temper_oci_layout *l;
    long long sde;
    struct temper_oci_descriptor layers[2];
    char diff[2][TEMPER_DIGEST_STR_LEN];
};

static int add_file(struct temper_oci_layer *ly, const char *path, unsigned mode,
                    const char *text)
{
    struct temper_oci_entry e = { .path = path, .type = TEMPER_OCI_ENTRY_FILE, .mode = mode,
                                  .uname = "root", .gname = "root", .mtime = 4102444800LL };
    return temper_oci_layer_add_data(ly, &e, text, strlen(text));
}

static int add_other(struct temper_oci_layer *ly, const char *path,
                     enum temper_oci_entry_type t, unsigned mode, const char *target)
{
    struct temper_oci_entry e = { .path = path, .type = t, .mode = mode, .uname = "root",
                                  .gname = "root", .mtime = 4102444800LL,
                                  .link_target = target };
    return temper_oci_layer_add(ly, &e);
}

static int layer0(struct sample *s)
{
    struct temper_oci_layer_opts o = { .size = sizeof o, .source_date_epoch = s->sde };
    struct temper_oci_layer *ly = NULL;
    int rc = temper_oci_layer_new(s->st, s->l, &o, &ly);
    rc = rc ? rc : add_other(ly, "app", TEMPER_OCI_ENTRY_DIR, 0755, NULL);
    rc = rc ? rc : add_file(ly, "app/hello.txt", 0644, "hello from temper\n");
    rc = rc ? rc : add_file(ly, "app/run.sh", 0755, "#!/bin/sh\necho hi\n");
    rc = rc ? rc : add_file(ly, "app/secret", 0600, "not for everyone\n");
    rc = rc ? rc : add_file(ly, "app/remove-me", 0644, "deleted by layer 1\n");
    rc = rc ? rc : add_file(ly, LONG_NAME, 0644, "long\n");
    rc = rc ? rc : add_file(ly, "app/caf\xc3\xa9.txt", 0644, "utf-8\n");
    rc = rc ? rc : add_other(ly, "app/link", TEMPER_OCI_ENTRY_SYMLINK, 0777, "hello.txt");
    rc = rc ? rc : add_other(ly, "usr/bin", TEMPER_OCI_ENTRY_DIR, 0755, NULL);
    rc = rc ? rc : add_other(ly, "usr/bin/hello", TEMPER_OCI_ENTRY_SYMLINK, 0777,
                             "/app/run.sh");
    rc = rc ? rc : add_other(ly, "app/hello-again", TEMPER_OCI_ENTRY_HARDLINK, 0644,
                             "app/hello.txt");
    rc = rc ? rc : add_other(ly, "data", TEMPER_OCI_ENTRY_DIR, 0700, NULL);
    rc = rc ? rc : temper_oci_layer_finish(ly, &s->layers[0], s->diff[0]);
    temper_oci_layer_free(ly);
    return rc;
}

static int join(char *out, size_t cap, const char *dir, const char *rel)
{
    return snprintf(out, cap, "%s/%s", dir, rel) < (int)cap ? TEMPER_OK : TEMPER_ELIMIT;
}

/* Layer 1: a tree made on disk now (its mtimes are clamped). */
static int layer1(struct sample *s, const char *tmp)
{
    char p[4200];
    int rc = mkdir(tmp, 0755) == 0 ? TEMPER_OK : TEMPER_EIO;
    rc = rc ? rc : join(p, sizeof p, tmp, "etc");
    rc = rc ? rc : (mkdir(p, 0755) == 0 ? TEMPER_OK : TEMPER_EIO);
    rc = rc ? rc : join(p, sizeof p, tmp, "etc/motd");
    FILE *f = rc ? NULL : fopen(p, "w");
    if (f) {
        fputs("built by temper\n", f);
        fclose(f);
    }
    struct temper_oci_layer_opts o = { .size = sizeof o, .source_date_epoch = s->sde };
    struct temper_oci_tree_opts t = { .size = sizeof t, .uname = "root", .gname = "root" };
    struct temper_oci_layer *ly = NULL;
    rc = rc ? rc : temper_oci_layer_new(s->st, s->l, &o, &ly);
    rc = rc ? rc : temper_oci_layer_add_tree(ly, tmp, &t);
    rc = rc ? rc : temper_oci_layer_add_whiteout(ly, "app/remove-me", false);
    rc = rc ? rc : temper_oci_layer_finish(ly, &s->layers[1], s->diff[1]);
    temper_oci_layer_free(ly);
    if (join(p, sizeof p, tmp, "etc/motd") == TEMPER_OK) {
        unlink(p);
    }
    if (join(p, sizeof p, tmp, "etc") == TEMPER_OK) {
        rmdir(p);
    }
    rmdir(tmp);
    return rc;
}

static int config(struct sample *s, struct temper_oci_config *c)
{
    char created[32];
    int rc = temper_oci_time_format(s->sde, created);
    c->created = strdup(created);
    c->architecture = strdup("amd64");
    c->os = strdup("linux");
    c->user = strdup("65532:65532");
    c->working_dir = strdup("/app");
    rc = rc ? rc : temper_oci_list_push(&c->entrypoint, "/app/run.sh");
    rc = rc ? rc : temper_oci_list_push(&c->env, "PATH=/usr/bin:/bin");
    rc = rc ? rc : temper_oci_list_push(&c->exposed_ports, "8080/tcp");
    rc = rc ? rc : temper_oci_map_set(&c->labels, "org.example.sample", "yes");
    c->history = calloc(2, sizeof *c->history);
    c->n_history = c->history ? 2 : 0;
    for (size_t i = 0; i < c->n_history; i++) {
        c->history[i].created = strdup(created);
        c->history[i].created_by = strdup(i ? "temper tree" : "temper entries");
    }
    return (c->created && c->architecture && c->os && c->history) ? rc : TEMPER_ENOMEM;
}

static int extract_image(const char *dir, const char *tag, const char *root)
{
    struct temper_stage *st = temper_stage_new(NULL, "extract");
    struct temper_oci_layout *l = NULL;
    const struct temper_oci_descriptor *d = NULL;
    struct temper_oci_manifest m = { 0 };
    int rc = st ? temper_oci_layout_open(st, dir, &l) : TEMPER_ENOMEM;
    rc = rc ? rc : temper_oci_layout_find(st, l, tag, &d);
    rc = rc ? rc : temper_oci_read_manifest(st, l, d, &m);
    for (size_t i = 0; rc == TEMPER_OK && i < m.n_layers; i++) {
        char *blob = temper_oci_blob_path(l, m.layers[i].digest);
        struct temper_oci_extract_opts o = { .size = sizeof o, .name = m.layers[i].digest,
                                             .whiteouts = true };
        rc = temper_oci_blob_verify(st, l, &m.layers[i]);
        rc = rc ? rc : (blob ? temper_oci_layer_extract(st, blob, root, &o) : TEMPER_ENOMEM);
        free(blob);
    }
    if (rc != TEMPER_OK) {
        fprintf(stderr, "oci_write_sample: %s\n",
                st && temper_stage_error(st) ? temper_stage_error(st) : temper_rc_str(rc));
    }
    temper_oci_manifest_cleanup(&m);
    temper_oci_layout_free(l);
    temper_stage_free(st);
    return rc == TEMPER_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "--extract") == 0) {
        return extract_image(argv[2], argv[3], argv[4]);
    }
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: oci_write_sample DIR TAG [SOURCE_DATE_EPOCH]\n");
        return 2;
    }
    struct sample s = { .sde = 1700000000 };
    if (argc == 4 && temper_parse_ll(argv[3], &s.sde) != TEMPER_OK) {
        fprintf(stderr, "oci_write_sample: bad SOURCE_DATE_EPOCH\n");
        return 2;
    }
    s.st = temper_stage_new(NULL, "sample");
    struct temper_oci_config c = { 0 };
    struct temper_oci_map ann = { 0 };
    struct temper_oci_descriptor m = { 0 };
    char tmp[4000], created[32];
    int rc = s.st ? TEMPER_OK : TEMPER_ENOMEM;
    if (snprintf(tmp, sizeof tmp, "%s.src-%ld", argv[1], (long)getpid()) >= (int)sizeof tmp) {
        rc = TEMPER_ELIMIT;
    }
    rc = rc ? rc : temper_oci_layout_create(s.st, argv[1], &s.l);
    rc = rc ? rc : layer0(&s);
    rc = rc ? rc : layer1(&s, tmp);
    rc = rc ? rc : config(&s, &c);
    rc = rc ? rc : temper_oci_time_format(s.sde, created);
    rc = rc ? rc : temper_oci_map_set(&ann, TEMPER_OCI_ANN_CREATED, created);
    rc = rc ? rc : temper_oci_map_set(&ann, TEMPER_OCI_ANN_VERSION, argv[2]);
    const char *diffs[2] = { s.diff[0], s.diff[1] };
    rc = rc ? rc : temper_oci_image_write(s.st, s.l, &c, s.layers, diffs, 2, &ann, argv[2], &m);
    if (rc == TEMPER_OK) {
        printf("manifest %s\n", m.digest);
        for (int i = 0; i < 2; i++) {
            printf("layer %s %s\n", s.layers[i].digest, s.diff[i]);
        }
    } else {
        fprintf(stderr, "oci_write_sample: %s\n",
                temper_stage_error(s.st) ? temper_stage_error(s.st) : temper_rc_str(rc));
    }
    temper_oci_descriptor_cleanup(&m);
    temper_oci_descriptor_cleanup(&s.layers[0]);
    temper_oci_descriptor_cleanup(&s.layers[1]);
    temper_oci_map_cleanup(&ann);
    temper_oci_config_cleanup(&c);
    temper_oci_layout_free(s.l);
    temper_stage_free(s.st);
    return rc == TEMPER_OK ? 0 : 1;
}
