/* temper — the human review queue:
 *   temper review -c FILE list [--all] [--json]
 *   temper review -c FILE show ID
 *   temper review -c FILE approve ID [--reason TEXT] [--actor NAME]
 *   temper review -c FILE reject ID [--reason TEXT] [--actor NAME]
 * (--comment is the same as --reason)
 * Approving takes the version: it becomes the image's pinned upstream
 * version and a parked job continues past the review gate.  Rejecting leaves
 * the version untaken and its job parked for good.  Every decision is in the
 * append-only audit log (the store writes it with the decision).  Exit 0, or
 * 2 for a usage error, an unknown item or one already decided. */
#include "config.h"
#include "core.h"
#include "runtime.h"
#include "pipeline_priv.h"

#include <getopt.h>
#include <json-c/json.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REVIEW_USAGE "usage: temper review -c FILE list [--all] [--json]\n" \
                     "       temper review -c FILE show ID\n" \
                     "       temper review -c FILE approve|reject ID [--reason TEXT] " \
                     "[--actor NAME]\n"

struct review_args {
    struct temper_cmd_base base;
    const char *verb, *comment, *actor;
    long long id;
    int all, json;
};

static const char *const state_names[] = { "?", "open", "approved", "rejected" };

static const char *state_str(int s)
{
    return s >= 1 && s <= 3 ? state_names[s] : "?";
}

static json_object *review_json(const struct temper_review *r)
{
    json_object *j = json_object_new_object();
    json_object_object_add(j, "id", json_object_new_int64(r->id));
    json_object_object_add(j, "job", json_object_new_int64(r->job_id));
    json_object_object_add(j, "image", r->image ? json_object_new_string(r->image) : NULL);
    json_object_object_add(j, "version", r->version ? json_object_new_string(r->version) : NULL);
    json_object_object_add(j, "state", json_object_new_string(state_str(r->state)));
    json_object_object_add(j, "summary", json_object_new_string(r->summary ? r->summary : ""));
    json_object *f = r->findings ? json_tokener_parse(r->findings) : NULL;
    json_object_object_add(j, "findings", f ? f : json_object_new_array());
    if (r->decided_by) {
        json_object_object_add(j, "decided_by", json_object_new_string(r->decided_by));
        json_object_object_add(j, "comment",
                               r->comment ? json_object_new_string(r->comment) : NULL);
    }
    return j;
}

static int print_line(void *ctx, const struct temper_review *r)
{
    const struct review_args *a = ctx;
    if (a->json) {
        json_object *j = review_json(r);
        printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN |
                                                             JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(j);
    } else {
        printf("%-6lld %-9s %-16s %-12s %s\n", r->id, state_str(r->state),
               r->image ? r->image : "-", r->version ? r->version : "-",
               r->summary ? r->summary : "");
    }
    return 0;
}

static int print_full(void *ctx, const struct temper_review *r)
{
    (void)ctx;
    json_object *j = review_json(r);
    printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY |
                                                         JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(j);
    return 0;
}

struct item {
    long long job_id;
    char *image;
    char *version;
    int state;
};

static int keep_item(void *ctx, const struct temper_review *r)
{
    struct item *it = ctx;
    it->job_id = r->job_id;
    it->image = r->image ? strdup(r->image) : NULL;
    it->version = r->version ? strdup(r->version) : NULL;
    it->state = r->state;
    return 0;
}

struct pin_ctx {
    struct temper_image_record rec;
    char *base, *dist, *digest, *name;
};

static int keep_image(void *ctx, const struct temper_image_record *img)
{
    struct pin_ctx *p = ctx;
    p->rec = *img;
    p->name = img->name ? strdup(img->name) : NULL;
    p->base = img->base ? strdup(img->base) : NULL;
    p->dist = img->distribution ? strdup(img->distribution) : NULL;
    p->digest = img->last_digest ? strdup(img->last_digest) : NULL;
    return 0;
}

/* The approved version becomes the image's pinned upstream version. */
static int pin_version(struct temper_store *s, const char *image, const char *version)
{
    struct pin_ctx p;
    memset(&p, 0, sizeof p);
    int rc = s->ops->image_get(s->state, image, keep_image, &p);
    if (rc == TEMPER_OK) {
        p.rec.size = sizeof p.rec;
        p.rec.name = p.name;
        p.rec.base = p.base;
        p.rec.distribution = p.dist;
        p.rec.last_digest = p.digest;
        p.rec.pinned_version = version;
        rc = s->ops->image_put(s->state, &p.rec);
    }
    free(p.name);
    free(p.base);
    free(p.dist);
    free(p.digest);
    return rc;
}

static const char *default_actor(void)
{
    const char *u = getenv("SUDO_USER");
    if (!u || !*u) {
        u = getenv("USER");
    }
    if (!u || !*u) {
        struct passwd *pw = getpwuid(getuid());
        u = pw ? pw->pw_name : "unknown";
    }
    return u;
}

static int decide(struct temper_runtime *rt, const struct review_args *a, int approve)
{
    struct temper_store *s = &rt->store;
    struct item it;
    memset(&it, 0, sizeof it);
    int rc = s->ops->review_get(s->state, a->id, keep_item, &it);
    int code = TEMPER_EXIT_USAGE;
    if (rc == TEMPER_ENOTFOUND) {
        fprintf(stderr, "temper: no review item %lld\n", a->id);
    } else if (rc != TEMPER_OK) {
        code = TEMPER_EXIT_FAIL;
    } else if (it.state != TEMPER_REVIEW_OPEN) {
        fprintf(stderr, "temper: review item %lld was already %s\n", a->id,
                state_str(it.state));
    } else {
        long long now = temper_now_ms();
        rc = s->ops->review_decide(s->state, a->id,
                                   approve ? TEMPER_REVIEW_APPROVED : TEMPER_REVIEW_REJECTED,
                                   a->actor ? a->actor : default_actor(), a->comment, now);
        if (rc == TEMPER_ESTATE) {
            fprintf(stderr, "temper: review item %lld was decided meanwhile\n", a->id);
        } else if (rc == TEMPER_OK && approve && it.image && it.version) {
            rc = pin_version(s, it.image, it.version);
        }
        if (rc == TEMPER_OK && approve && it.job_id) {
            rc = s->ops->job_release(s->state, it.job_id, now);
            rc = rc == TEMPER_ESTATE ? TEMPER_OK : rc; /* the job was not parked */
        }
        code = rc == TEMPER_OK ? TEMPER_EXIT_OK
               : rc == TEMPER_ESTATE ? TEMPER_EXIT_USAGE : TEMPER_EXIT_FAIL;
        if (code == TEMPER_EXIT_OK) {
            printf("review %lld %s: %s %s\n", a->id, approve ? "approved" : "rejected",
                   it.image ? it.image : "-", it.version ? it.version : "-");
        }
    }
    if (code == TEMPER_EXIT_FAIL) {
        const char *e = temper_stage_error(s->st);
        fprintf(stderr, "temper: review %lld: %s\n", a->id, e ? e : temper_rc_str(rc));
    }
    free(it.image);
    free(it.version);
    return code;
}

static int run_verb(struct temper_runtime *rt, const struct review_args *a)
{
    struct temper_store *s = &rt->store;
    if (strcmp(a->verb, "list") == 0) {
        unsigned mask = a->all ? 0 : 1u << TEMPER_REVIEW_OPEN;
        return s->ops->review_list(s->state, mask, print_line, (void *)a) == TEMPER_OK
                   ? TEMPER_EXIT_OK
                   : TEMPER_EXIT_FAIL;
    }
    if (strcmp(a->verb, "show") == 0) {
        int rc = s->ops->review_get(s->state, a->id, print_full, NULL);
        if (rc == TEMPER_ENOTFOUND) {
            fprintf(stderr, "temper: no review item %lld\n", a->id);
        }
        return rc == TEMPER_OK ? TEMPER_EXIT_OK
               : rc == TEMPER_ENOTFOUND ? TEMPER_EXIT_USAGE : TEMPER_EXIT_FAIL;
    }
    return decide(rt, a, strcmp(a->verb, "approve") == 0);
}

static int parse_args(int argc, char **argv, struct review_args *a)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "all", no_argument, NULL, 'a' },
        { "json", no_argument, NULL, 'j' },
        { "comment", required_argument, NULL, 'm' },
        { "reason", required_argument, NULL, 'm' },
        { "actor", required_argument, NULL, 'u' },
        { "plugin-dir", required_argument, NULL, 'P' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    temper_cmd_base_init(&a->base);
    while ((c = getopt_long(argc, argv, "c:ajm:u:P:", opts, NULL)) != -1) {
        int r = temper_cmd_base_opt(&a->base, c, optarg);
        if (r == 1) {
            continue;
        } else if (r == 0 && c == 'a') {
            a->all = 1;
        } else if (r == 0 && c == 'j') {
            a->json = 1;
        } else if (r == 0 && c == 'm') {
            a->comment = optarg;
        } else if (r == 0 && c == 'u') {
            a->actor = optarg;
        } else {
            return -1;
        }
    }
    if (!a->base.file || optind >= argc) {
        return -1;
    }
    a->verb = argv[optind++];
    int needs_id = strcmp(a->verb, "list") != 0;
    if (needs_id && (strcmp(a->verb, "show") && strcmp(a->verb, "approve") &&
                     strcmp(a->verb, "reject"))) {
        return -1;
    }
    if (needs_id && (optind != argc - 1 || temper_parse_ll(argv[optind], &a->id) != TEMPER_OK ||
                     a->id <= 0)) {
        return -1;
    }
    return needs_id || optind == argc ? 0 : -1;
}

int cmd_review(int argc, char **argv)
{
    struct review_args a;
    memset(&a, 0, sizeof a);
    if (parse_args(argc, argv, &a) != 0) {
        fputs(REVIEW_USAGE, stderr);
        return TEMPER_EXIT_USAGE;
    }
    struct temper_runtime rt;
    int rc = temper_runtime_open(&rt, a.base.file, a.base.dirs, a.base.n_dirs, stderr);
    int code = rc == TEMPER_OK ? run_verb(&rt, &a)
               : rc == TEMPER_EINVAL ? TEMPER_EXIT_USAGE : TEMPER_EXIT_FAIL;
    temper_runtime_close(&rt);
    return code;
}
