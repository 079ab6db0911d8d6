/* The backward engine: the reverse sweep that carries relevance (or a
 * gradient) from the graph output to its inputs, the mirror of forward.h. */
#ifndef LRP_BACKWARD_H
#define LRP_BACKWARD_H

#include "graph/graph.h"

/* What one node of the sweep sees. */
typedef struct lrp_backward_step {
    const lrp_graph *g;
    const lrp_node *n;
    int node;                    /* index in g->nodes */
    const lrp_tensor *const *in; /* forward inputs (what keep asked for; constants always) */
    const lrp_tensor *out;       /* forward output 0 (if kept) */
    const lrp_tensor *R;         /* relevance at output 0 */
    lrp_tensor *const *gin;      /* per input: where the node adds what it sends; NULL for constants */
    int64_t batch;               /* dim 0 of the graph input */
} lrp_backward_step;

/* The per-node work, an observer of it, and the plan they share. */
typedef struct lrp_backward {
    /* gin[i] += what the node sends to input i (an LRP rule, a gradient). */
    lrp_status (*apply)(void *ctx, const lrp_backward_step *s, lrp_error *err);
    void *ctx;
    /* Per node (may be NULL): the relevance moves to the node's one
     * activation input unchanged (a pass rule), without a call to apply. */
    const unsigned char *pass;
    /* Called after each node's apply (may be NULL). With separate, s->gin
     * are fresh buffers holding only what this node sent, added to the
     * relevance at the inputs after the call (and no relevance is moved
     * past a pass node); else s->gin are the relevance accumulators. An
     * error stops the sweep. */
    lrp_status (*observe)(void *ctx, const lrp_backward_step *s, lrp_error *err);
    void *observe_ctx;
    bool separate;
    /* Nothing is freed: the forward values and the relevance at every value
     * stay in vals and rel (the second order reads them; pass nodes then
     * run their rule). */
    bool keep;
    /* With keep, where non-NULL (one entry per node): pass nodes still move
     * their relevance through as without keep (rel at their output is then
     * NULL; the forward values stay), and moved[node] is set for them. */
    unsigned char *moved;
    /* Called (may be NULL) for every node whose arrive_at entry is set, once
     * the relevance at its first output is complete and before the node's
     * work: rel[n->outputs[0]] (NULL when none arrived) may be read, changed
     * or replaced, and so may the relevance pending anywhere else in rel (the
     * values the sweep has not reached). An error stops the sweep. */
    lrp_status (*arrive)(void *ctx, int node, lrp_tensor **rel, int64_t batch, lrp_error *err);
    void *arrive_ctx;
    const unsigned char *arrive_at;
    /* ranged: only the positions from down to to of g->order (the nodes
     * above and below them are left as they are). */
    bool ranged;
    int from, to;
} lrp_backward;

/* Runs every non-static node in reverse topological order. vals: the
 * forward pass's tensors, freed as the sweep passes their producers. rel
 * (g->n_values entries): the seed at the graph output on entry; on success
 * the relevance at the graph inputs (NULL where none arrived), every other
 * entry freed. On failure the caller frees what is left. */
lrp_status lrp_backward_run(const lrp_graph *g, lrp_tensor **vals, lrp_tensor **rel, const lrp_backward *b,
                            int64_t batch, lrp_error *err);

#endif
