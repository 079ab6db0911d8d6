/* Building small graphs in code, for the operator tests: runtime inputs,
 * constants, nodes with attributes; then shape inference as the loader's
 * callers do it. Test-only. */
#ifndef LRP_GRAPH_BUILDER_H
#define LRP_GRAPH_BUILDER_H

#include "graph/graph.h"
#include "ops/op.h"

/* An empty graph of the given default-domain opset. */
lrp_graph *gb_new(int64_t opset);

/* A runtime float input of the given shape; returns its value index. */
int gb_input(lrp_graph *g, const char *name, int ndim, const int64_t *dims);

/* A constant value holding t (the graph takes ownership). */
int gb_const(lrp_graph *g, const char *name, lrp_tensor *t);
/* Constants from literals: float data of a shape, int64 data of a shape. */
int gb_const_f(lrp_graph *g, const char *name, int ndim, const int64_t *dims, const lrp_real *v);
int gb_const_i(lrp_graph *g, const char *name, int ndim, const int64_t *dims, const int64_t *v);

/* A node reading the values in[] (-1: an omitted optional input) with n_out
 * fresh output values; returns the node index. */
int gb_node(lrp_graph *g, const char *op_type, int n_in, const int *in, int n_out);
/* Value index of output k of a node. */
int gb_out(const lrp_graph *g, int node, int k);

/* Attributes. */
void gb_attr_i(lrp_graph *g, int node, const char *name, int64_t v);
void gb_attr_f(lrp_graph *g, int node, const char *name, lrp_real v);
void gb_attr_s(lrp_graph *g, int node, const char *name, const char *v);
void gb_attr_ints(lrp_graph *g, int node, const char *name, int n, const int64_t *v);
void gb_attr_floats(lrp_graph *g, int node, const char *name, int n, const lrp_real *v);
void gb_attr_t(lrp_graph *g, int node, const char *name, lrp_tensor *t); /* takes ownership */

/* Makes the outputs of the last node the graph outputs, sorts the graph,
 * resolves and initialises the ops (lrp_graph_init_ops) and infers shapes
 * from the inputs' shapes (lrp_graph_infer). */
lrp_status gb_prepare(lrp_graph *g, lrp_error *err);

/* Shorthand for literal shapes: GB_DIMS(2, 3) -> (const int64_t[]){2, 3}. */
#define GB_DIMS(...) ((const int64_t[]){__VA_ARGS__})

#endif
