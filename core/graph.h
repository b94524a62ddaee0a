/* temper — the image dependency graph (DESIGN.md section 1, "cascade").
 *
 * Nodes are images (and, later, customizations); an edge runs from a base to
 * an image built on it.  Edges are added generically (temper_graph_edge), so
 * any relation "X is rebuilt when Y is published" fits; the config adds one
 * per `base = image:NAME`.  Cycles are refused by the config validation
 * (config_image.c names them); temper_graph_topo() still detects one.
 * Not installed; main thread or one thread per graph. */
#ifndef TEMPER_CORE_GRAPH_H
#define TEMPER_CORE_GRAPH_H

#include <stddef.h>
#include "config_model.h"

#define TEMPER_GRAPH_NONE ((size_t)-1)

struct temper_graph_node {
    const char *name;      /* borrowed from the config */
    const char *base;      /* as written (`image:NAME`, an OCI ref) or NULL */
    size_t *deps;          /* dependents: nodes built on this one */
    size_t n_deps, cap_deps;
    size_t n_bases;        /* edges into this node */
};

struct temper_graph {
    struct temper_graph_node *nodes;
    size_t n;
};

/* Build the graph of the config's images.  Returns TEMPER_OK or
 * TEMPER_ENOMEM; free with temper_graph_free(). */
int temper_graph_from_config(const struct temper_config *c, struct temper_graph **out)
    TEMPER_WARN_UNUSED;
void temper_graph_free(struct temper_graph *g);
/* Add the edge base -> dependent (ignored when already there). */
int temper_graph_edge(struct temper_graph *g, size_t base, size_t dependent)
    TEMPER_WARN_UNUSED;
/* The node named `name`, or TEMPER_GRAPH_NONE. */
size_t temper_graph_find(const struct temper_graph *g, const char *name);
/* Every node once, bases before their dependents (ties by config order)
 * into order[g->n].  TEMPER_EINVAL when there is a cycle. */
int temper_graph_topo(const struct temper_graph *g, size_t *order) TEMPER_WARN_UNUSED;
/* Whether `anc` is a (transitive) base of `node`. */
int temper_graph_is_ancestor(const struct temper_graph *g, size_t anc, size_t node);

#endif
