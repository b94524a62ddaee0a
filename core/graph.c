/* temper — the image dependency graph (see graph.h). */
#include "config.h"
#include "graph.h"

#include <stdlib.h>
#include <string.h>

void temper_graph_free(struct temper_graph *g)
{
    if (!g) {
        return;
    }
    for (size_t i = 0; i < g->n; i++) {
        free(g->nodes[i].deps);
    }
    free(g->nodes);
    free(g);
}

size_t temper_graph_find(const struct temper_graph *g, const char *name)
{
    for (size_t i = 0; name && i < g->n; i++) {
        if (g->nodes[i].name && strcmp(g->nodes[i].name, name) == 0) {
            return i;
        }
    }
    return TEMPER_GRAPH_NONE;
}

int temper_graph_edge(struct temper_graph *g, size_t base, size_t dependent)
{
    if (base >= g->n || dependent >= g->n) {
        return TEMPER_EINVAL;
    }
    struct temper_graph_node *b = &g->nodes[base];
    for (size_t i = 0; i < b->n_deps; i++) {
        if (b->deps[i] == dependent) {
            return TEMPER_OK;
        }
    }
    if (b->n_deps == b->cap_deps) {
        size_t cap = b->cap_deps ? b->cap_deps * 2 : 4;
        size_t *v = realloc(b->deps, cap * sizeof *v);
        if (!v) {
            return TEMPER_ENOMEM;
        }
        b->deps = v;
        b->cap_deps = cap;
    }
    b->deps[b->n_deps++] = dependent;
    g->nodes[dependent].n_bases++;
    return TEMPER_OK;
}

int temper_graph_from_config(const struct temper_config *c, struct temper_graph **out)
{
    *out = NULL;
    struct temper_graph *g = calloc(1, sizeof *g);
    if (!g || !(g->nodes = calloc(c->n_images ? c->n_images : 1, sizeof *g->nodes))) {
        free(g);
        return TEMPER_ENOMEM;
    }
    g->n = c->n_images;
    for (size_t i = 0; i < c->n_images; i++) {
        g->nodes[i].name = c->images[i]->def.name;
        g->nodes[i].base = c->images[i]->def.base;
    }
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < g->n; i++) {
        const char *b = g->nodes[i].base;
        size_t bi = b && strncmp(b, "image:", 6) == 0 ? temper_graph_find(g, b + 6)
                                                       : TEMPER_GRAPH_NONE;
        if (bi != TEMPER_GRAPH_NONE) {
            rc = temper_graph_edge(g, bi, i);
        }
    }
    if (rc != TEMPER_OK) {
        temper_graph_free(g);
        return rc;
    }
    *out = g;
    return TEMPER_OK;
}

/* Kahn's algorithm; the ready set is scanned in config order so the result
 * is stable. */
int temper_graph_topo(const struct temper_graph *g, size_t *order)
{
    size_t *indeg = calloc(g->n ? g->n : 1, sizeof *indeg);
    char *done = calloc(g->n ? g->n : 1, 1);
    if (!indeg || !done) {
        free(indeg);
        free(done);
        return TEMPER_ENOMEM;
    }
    for (size_t i = 0; i < g->n; i++) {
        indeg[i] = g->nodes[i].n_bases;
    }
    size_t k = 0;
    int progress = 1;
    while (k < g->n && progress) {
        progress = 0;
        for (size_t i = 0; i < g->n; i++) {
            if (done[i] || indeg[i]) {
                continue;
            }
            done[i] = 1;
            order[k++] = i;
            progress = 1;
            for (size_t j = 0; j < g->nodes[i].n_deps; j++) {
                indeg[g->nodes[i].deps[j]]--;
            }
            break;
        }
    }
    free(indeg);
    free(done);
    return k == g->n ? TEMPER_OK : TEMPER_EINVAL;
}

int temper_graph_is_ancestor(const struct temper_graph *g, size_t anc, size_t node)
{
    if (anc >= g->n || node >= g->n || anc == node) {
        return 0;
    }
    /* depth-first over dependents of anc, bounded by the node count */
    size_t *stack = calloc(g->n, sizeof *stack);
    char *seen = calloc(g->n, 1);
    int found = 0;
    size_t top = 0;
    if (stack && seen) {
        stack[top++] = anc;
        seen[anc] = 1;
    }
    while (top && !found) {
        const struct temper_graph_node *n = &g->nodes[stack[--top]];
        for (size_t j = 0; j < n->n_deps && !found; j++) {
            size_t d = n->deps[j];
            found = d == node;
            if (!seen[d] && top < g->n) {
                seen[d] = 1;
                stack[top++] = d;
            }
        }
    }
    free(stack);
    free(seen);
    return found;
}
