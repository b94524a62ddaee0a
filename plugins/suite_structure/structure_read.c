/* temper — suite_structure: reading the layer tar streams (both passes) and
 * pass 2, which reads the content of the files the checks asked for: once
 * per content (hardlinks together), up to the size each asked for, layer by
 * layer in stream order, stopping a layer at its last wanted entry. */
#include "config.h"
#include "structure.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SV_READ_CHUNK 65536

/* ---- reading layers ------------------------------------------------------- */

int sv_reader_open(struct sv_view *v, size_t layer, struct sv_reader *r)
{
    r->a = NULL;
    r->fd = open(v->blobs[layer], O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (r->fd < 0) {
        return temper_fail(v->st, TEMPER_EIO, "cannot open layer %s: %s", v->blobs[layer],
                           strerror(errno));
    }
    r->a = archive_read_new();
    if (!r->a) {
        return TEMPER_ENOMEM;
    }
    /* tar only; gzip, zstd or none (built in: no filter that runs a program) */
    if (archive_read_support_format_tar(r->a) != ARCHIVE_OK ||
        archive_read_support_filter_gzip(r->a) != ARCHIVE_OK ||
        archive_read_support_filter_zstd(r->a) != ARCHIVE_OK ||
        archive_read_open_fd(r->a, r->fd, SV_READ_CHUNK) != ARCHIVE_OK) {
        return temper_fail(v->st, TEMPER_EFORMAT, "layer %s: %s", v->blobs[layer],
                           archive_error_string(r->a) ? archive_error_string(r->a)
                                                      : "cannot read");
    }
    return TEMPER_OK;
}

void sv_reader_close(struct sv_reader *r)
{
    if (r->a) {
        archive_read_free(r->a);
    }
    if (r->fd >= 0) {
        close(r->fd);
    }
    r->a = NULL;
    r->fd = -1;
}

int sv_reader_next(struct sv_view *v, struct sv_reader *r, const char *name,
                   struct archive_entry **ae)
{
    int ar = archive_read_next_header(r->a, ae);
    if (ar == ARCHIVE_EOF) {
        return 0;
    }
    if (ar < ARCHIVE_WARN) {
        const char *msg = archive_error_string(r->a);
        return temper_fail(v->st, TEMPER_EFORMAT, "layer %s: %s", name,
                           msg ? msg : "unreadable tar stream");
    }
    return 1;
}

/* ---- pass 2 --------------------------------------------------------------- */

struct want {
    unsigned layer;
    unsigned long long seq;
    size_t node;
};

static int want_cmp(const void *a, const void *b)
{
    const struct want *x = a, *y = b;
    if (x->layer != y->layer) {
        return x->layer < y->layer ? -1 : 1;
    }
    if (x->seq != y->seq) {
        return x->seq < y->seq ? -1 : 1;
    }
    return x->node < y->node ? -1 : (x->node > y->node);
}

static int collect(const struct sv_view *v, struct want **out, size_t *n)
{
    size_t count = 0;
    for (size_t i = 0; i < v->n; i++) {
        count += !v->nodes[i].dead && v->nodes[i].want > 0;
    }
    *out = calloc(count ? count : 1, sizeof **out);
    if (!*out) {
        return TEMPER_ENOMEM;
    }
    *n = 0;
    for (size_t i = 0; i < v->n; i++) {
        const struct sv_node *nd = &v->nodes[i];
        if (!nd->dead && nd->want > 0) {
            (*out)[(*n)++] = (struct want){ nd->data_layer, nd->data_seq, i };
        }
    }
    qsort(*out, *n, sizeof **out, want_cmp);
    return TEMPER_OK;
}

/* Read up to `cap` bytes of the current entry; *cut when there is more. */
static int read_data(struct sv_view *v, struct sv_reader *r, size_t cap,
                     struct temper_buf *b, bool *cut)
{
    char chunk[SV_READ_CHUNK];
    temper_buf_reset(b);
    *cut = false;
    for (;;) {
        la_ssize_t got = archive_read_data(r->a, chunk, sizeof chunk);
        if (got < 0) {
            const char *msg = archive_error_string(r->a);
            return temper_fail(v->st, TEMPER_EFORMAT, "layer read: %s", msg ? msg : "error");
        }
        if (got == 0) {
            return TEMPER_OK;
        }
        size_t take = b->len + (size_t)got > cap ? cap - b->len : (size_t)got;
        if (temper_buf_append(b, chunk, take) != TEMPER_OK) {
            return TEMPER_ENOMEM;
        }
        if (take < (size_t)got) {
            *cut = true;
            return TEMPER_OK;
        }
    }
}

/* Hand one content to the callback and keep copies where asked. */
static int deliver(struct sv_view *v, const struct want *w, size_t n, const struct temper_buf *b,
                   bool cut, sv_content_fn fn, void *ctx)
{
    size_t *nodes = calloc(n, sizeof *nodes);
    if (!nodes) {
        return TEMPER_ENOMEM;
    }
    int rc = TEMPER_OK;
    for (size_t k = 0; k < n && rc == TEMPER_OK; k++) {
        struct sv_node *nd = &v->nodes[w[k].node];
        nodes[k] = w[k].node;
        nd->content_read = true;
        if (nd->keep) {
            size_t len = b->len < nd->want ? b->len : nd->want;
            nd->content = malloc(len + 1);
            rc = nd->content ? TEMPER_OK : TEMPER_ENOMEM;
            if (nd->content) {
                memcpy(nd->content, b->data ? b->data : "", len);
                nd->content[len] = '\0';
                nd->content_len = len;
                nd->content_cut = cut || len < b->len;
            }
        }
    }
    struct sv_content c = { nodes, n, b->data ? b->data : "", b->len, cut };
    rc = rc == TEMPER_OK && fn ? fn(ctx, v, &c) : rc;
    free(nodes);
    return rc;
}

static int read_layer(struct sv_view *v, unsigned layer, const struct want *w, size_t n,
                      sv_content_fn fn, void *ctx)
{
    struct sv_reader r = { NULL, -1 };
    struct temper_buf b;
    temper_buf_init(&b, 0);
    int rc = sv_reader_open(v, layer, &r);
    size_t k = 0;
    for (unsigned long long seq = 0; rc == TEMPER_OK && k < n; seq++) {
        struct archive_entry *ae = NULL;
        int got = sv_reader_next(v, &r, v->blobs[layer], &ae);
        if (got <= 0) {
            rc = got == 0 ? temper_fail(v->st, TEMPER_EFORMAT, "layer %s changed between "
                                        "reads", v->blobs[layer]) : got;
            break;
        }
        if (w[k].seq != seq) {
            continue;
        }
        size_t g = k, cap = 0;
        while (g < n && w[g].seq == seq) {
            size_t want = v->nodes[w[g].node].want;
            cap = want > cap ? want : cap;
            g++;
        }
        bool cut = false;
        rc = read_data(v, &r, cap, &b, &cut);
        rc = rc == TEMPER_OK ? deliver(v, w + k, g - k, &b, cut, fn, ctx) : rc;
        k = g;
    }
    temper_buf_cleanup(&b);
    sv_reader_close(&r);
    return rc;
}

int sv_read(struct sv_view *v, sv_content_fn fn, void *ctx)
{
    struct want *w = NULL;
    size_t n = 0;
    int rc = collect(v, &w, &n);
    size_t k = 0;
    while (rc == TEMPER_OK && k < n && !temper_stage_cancelled(v->st)) {
        size_t g = k;
        while (g < n && w[g].layer == w[k].layer) {
            g++;
        }
        rc = read_layer(v, w[k].layer, w + k, g - k, fn, ctx);
        k = g;
    }
    if (rc == TEMPER_OK && temper_stage_cancelled(v->st)) {
        rc = temper_fail(v->st, TEMPER_ECANCEL, "run cancelled");
    }
    free(w);
    return rc;
}
