/* Shape inference for a given input shape, with constant folding. */
#ifndef LRP_SHAPE_INFER_H
#define LRP_SHAPE_INFER_H

#include "graph/graph.h"

/* Infers every value's shape for the given shapes of the graph inputs
 * (in g->inputs order), and evaluates nodes whose inputs are all constant
 * (shape arithmetic of older exports), storing results as folded constants.
 * Results from an earlier call are discarded first. */
lrp_status lrp_graph_infer(lrp_graph *g, const int *ndims, const int64_t (*dims)[LRP_MAX_DIMS], lrp_error *err);

/* A node is static when all its outputs are constants (it never runs). */
bool lrp_node_is_static(const lrp_graph *g, const lrp_node *n);

#endif
