/* The forward engine: runs the graph, keeping only what is asked for. */
#ifndef LRP_FORWARD_H
#define LRP_FORWARD_H

#include "graph/graph.h"

/* Runs every non-static node in topological order on the graph inputs
 * (shapes as given to the last lrp_graph_infer). vals (g->n_values entries,
 * zeroed by the caller) receives the runtime tensors: graph outputs and the
 * values with keep[v] set stay; every other activation is freed once its last
 * consumer has run. keep may be NULL. */
lrp_status lrp_forward(const lrp_graph *g, const lrp_tensor *const *inputs, const unsigned char *keep,
                       lrp_tensor **vals, lrp_error *err);

/* lrp_forward where exact[node index] (may be NULL) marks the nodes whose
 * convolutions and dense layers accumulate in double: the explainer's plan
 * (those feeding a discrete decision or a rule's denominator). The graph is
 * not written: the mark reaches the op through the thread's execution
 * context (base/exec.h) while it runs. */
lrp_status lrp_forward_ex(const lrp_graph *g, const lrp_tensor *const *inputs, const unsigned char *keep,
                          const unsigned char *exact, lrp_tensor **vals, lrp_error *err);

/* The tensor of value v: its constant, or its runtime tensor in vals. */
static inline const lrp_tensor *lrp_value_tensor(const lrp_graph *g, lrp_tensor *const *vals, int v)
{
    if (v < 0)
        return NULL;
    return g->values[v].constant ? g->values[v].constant : vals[v];
}

/* Frees the runtime tensors in vals (not the array). */
/* After a forward pass whose result was not finite: runs it again, scanning
 * the inputs and then every node's outputs, and returns LRP_ERR_NUMERIC
 * naming the input or the first node that produced a NaN or an infinity
 * (LRP_OK if none did). Costs one more forward pass, on failure only. */
lrp_status lrp_forward_locate_nonfinite(const lrp_graph *g, const lrp_tensor *const *inputs,
                                        const unsigned char *exact, lrp_error *err);

void lrp_vals_clear(const lrp_graph *g, lrp_tensor **vals);

#include "base/clock.h"

#endif
