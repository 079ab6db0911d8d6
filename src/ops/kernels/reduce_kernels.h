/* ReduceMean, ReduceSum, ReduceMax: axes from the attribute (before
 * axes_input_opset) or the optional constant input, keepdims,
 * noop_with_empty_axes (opset 18; ReduceSum 13). */
#ifndef LRP_REDUCE_KERNELS_H
#define LRP_REDUCE_KERNELS_H

#include "ops/op.h"

#include <stdbool.h>

typedef enum { LRP_RED_MEAN, LRP_RED_SUM, LRP_RED_MAX } lrp_reduce_kind;

typedef struct lrp_reduce_state {
    lrp_reduce_kind kind;
    int keepdims, noop_empty;
    int axes_from_input;
    /* for the current input shape */
    int r;
    bool red[LRP_MAX_DIMS]; /* reduced dims */
    bool identity;          /* no axes and noop_with_empty_axes */
    int64_t count;          /* elements per output element */
} lrp_reduce_state;

lrp_status lrp_reduce_init(lrp_graph *g, lrp_node *n, lrp_reduce_kind kind, int axes_input_opset, lrp_error *err);
lrp_status lrp_reduce_infer(lrp_graph *g, lrp_node *n, lrp_error *err);
lrp_status lrp_reduce_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out, lrp_error *err);
/* MEAN and SUM: gx += g (/ count); MAX: the gradient is shared among the
 * maxima of each group (PyTorch's amax). */
lrp_status lrp_reduce_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                               const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err);

#endif
