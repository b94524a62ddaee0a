/* temper — `temper graph -c FILE [--format text|dot|json]`: the image
 * dependency graph.  Nodes are the images with what the store knows of them
 * (the published digest and version); edges run from a base to the images
 * built on it.  text (default) is an indented tree, every image under its
 * base, roots in config order; dot is Graphviz; json is
 *   {"nodes":[{"name","base","digest","version"}],"edges":[{"from","to"}]}.
 * Exit 0, or 2 for a usage or config error. */
#include "config.h"
#include "core.h"
#include "cascade.h"
#include "runtime.h"

#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GRAPH_USAGE "usage: temper graph -c FILE [--format text|dot|json]\n"

enum graph_format { FMT_TEXT, FMT_DOT, FMT_JSON };

struct graph_view {
    const struct temper_graph *g;
    struct temper_published *pub;  /* per node; digest NULL = never published */
};

/* DOT ids and labels: quoted, with '"' and '\' escaped. */
static void dot_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') {
            fputc('\\', f);
        }
        fputc((unsigned char)*s >= 0x20 ? *s : '?', f);
    }
    fputc('"', f);
}

static void print_dot(const struct graph_view *v)
{
    const struct temper_graph *g = v->g;
    printf("digraph temper {\n    rankdir=LR;\n    node [shape=box];\n");
    for (size_t i = 0; i < g->n; i++) {
        const struct temper_published *p = &v->pub[i];
        printf("    ");
        dot_str(stdout, g->nodes[i].name);
        char *label = p->digest ? temper_strdupf("%s\\n%.19s%s%s", g->nodes[i].name, p->digest,
                                                 p->version ? "\\n" : "",
                                                 p->version ? p->version : "")
                                : NULL;
        printf(" [label=");
        dot_str(stdout, label ? label : g->nodes[i].name);
        printf("];\n");
        free(label);
    }
    for (size_t i = 0; i < g->n; i++) {
        for (size_t k = 0; k < g->nodes[i].n_deps; k++) {
            printf("    ");
            dot_str(stdout, g->nodes[i].name);
            printf(" -> ");
            dot_str(stdout, g->nodes[g->nodes[i].deps[k]].name);
            printf(";\n");
        }
    }
    printf("}\n");
}

static void print_json(const struct graph_view *v)
{
    const struct temper_graph *g = v->g;
    json_object *o = json_object_new_object(), *nodes = json_object_new_array();
    json_object *edges = json_object_new_array();
    for (size_t i = 0; i < g->n; i++) {
        const struct temper_published *p = &v->pub[i];
        json_object *n = json_object_new_object();
        json_object_object_add(n, "name", json_object_new_string(g->nodes[i].name));
        json_object_object_add(n, "base", g->nodes[i].base
                                              ? json_object_new_string(g->nodes[i].base) : NULL);
        json_object_object_add(n, "digest", p->digest ? json_object_new_string(p->digest) : NULL);
        json_object_object_add(n, "version",
                               p->version ? json_object_new_string(p->version) : NULL);
        json_object_array_add(nodes, n);
        for (size_t k = 0; k < g->nodes[i].n_deps; k++) {
            json_object *e = json_object_new_object();
            json_object_object_add(e, "from", json_object_new_string(g->nodes[i].name));
            json_object_object_add(e, "to", json_object_new_string(
                                                g->nodes[g->nodes[i].deps[k]].name));
            json_object_array_add(edges, e);
        }
    }
    json_object_object_add(o, "nodes", nodes);
    json_object_object_add(o, "edges", edges);
    printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                                         JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
}

static void print_node(const struct graph_view *v, size_t i, size_t depth)
{
    const struct temper_published *p = &v->pub[i];
    const struct temper_graph_node *n = &v->g->nodes[i];
    printf("%*s%s", (int)(depth * 2), "", n->name);
    if (p->digest) {
        printf("  %s%s%s\n", p->digest, p->version ? "  " : "", p->version ? p->version : "");
    } else {
        printf("  (not published)\n");
    }
    /* depth is bounded: the config refuses cycles */
    for (size_t k = 0; k < n->n_deps && depth < v->g->n; k++) {
        print_node(v, n->deps[k], depth + 1);
    }
}

static int show(struct temper_runtime *rt, enum graph_format fmt)
{
    struct graph_view v = { NULL, NULL };
    struct temper_graph *g = NULL;
    int rc = temper_graph_from_config(rt->cfg, &g);
    v.g = g;
    v.pub = rc == TEMPER_OK ? calloc(g->n ? g->n : 1, sizeof *v.pub) : NULL;
    if (!v.pub) {
        rc = TEMPER_ENOMEM;
    }
    for (size_t i = 0; rc == TEMPER_OK && i < g->n; i++) {
        rc = temper_published_get(&rt->store, g->nodes[i].name, &v.pub[i]);
        rc = rc == TEMPER_ENOTFOUND ? TEMPER_OK : rc;
    }
    if (rc == TEMPER_OK && fmt == FMT_DOT) {
        print_dot(&v);
    } else if (rc == TEMPER_OK && fmt == FMT_JSON) {
        print_json(&v);
    } else if (rc == TEMPER_OK) {
        for (size_t i = 0; i < g->n; i++) {
            if (!g->nodes[i].n_bases) {
                print_node(&v, i, 0);
            }
        }
    }
    for (size_t i = 0; v.pub && i < g->n; i++) {
        temper_published_cleanup(&v.pub[i]);
    }
    free(v.pub);
    temper_graph_free(g);
    if (rc != TEMPER_OK) {
        fprintf(stderr, "temper: graph: %s\n", temper_rc_str(rc));
    }
    return rc == TEMPER_OK ? TEMPER_EXIT_OK : TEMPER_EXIT_FAIL;
}

int cmd_graph(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "format", required_argument, NULL, 'f' },
        { "plugin-dir", required_argument, NULL, 'P' },
        { NULL, 0, NULL, 0 },
    };
    struct temper_cmd_base b;
    enum graph_format fmt = FMT_TEXT;
    int c, bad = 0;
    temper_cmd_base_init(&b);
    while ((c = getopt_long(argc, argv, "c:f:P:", opts, NULL)) != -1) {
        int r = temper_cmd_base_opt(&b, c, optarg);
        if (r == 0 && c == 'f' && strcmp(optarg, "dot") == 0) {
            fmt = FMT_DOT;
        } else if (r == 0 && c == 'f' && strcmp(optarg, "json") == 0) {
            fmt = FMT_JSON;
        } else if (r == 0 && c == 'f' && strcmp(optarg, "text") == 0) {
            fmt = FMT_TEXT;
        } else if (r != 1) {
            bad = 1;
        }
    }
    if (bad || !b.file || optind != argc) {
        fputs(GRAPH_USAGE, stderr);
        return TEMPER_EXIT_USAGE;
    }
    struct temper_runtime rt;
    int rc = temper_runtime_open(&rt, b.file, b.dirs, b.n_dirs, stderr);
    int code = rc == TEMPER_OK ? show(&rt, fmt)
               : rc == TEMPER_EINVAL ? TEMPER_EXIT_USAGE : TEMPER_EXIT_FAIL;
    temper_runtime_close(&rt);
    return code;
}
