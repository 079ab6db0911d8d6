/* ReduceMax: the maximum over the given axes (attribute before opset 18, optional
 * input from 18); all axes when none are given, unless
 * noop_with_empty_axes. */
#include "ops/kernels/reduce_kernels.h"

#include <stdlib.h>

static lrp_status reducemax_init(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    return lrp_reduce_init(g, n, LRP_RED_MAX, 18, err);
}

const lrp_op lrp_op_reducemax = {
    .piecewise = 1,
    .type = "ReduceMax",
    .min_inputs = 1,
    .max_inputs = 2,
    .init = reducemax_init,
    .destroy = free,
    .infer = lrp_reduce_infer,
    .forward = lrp_reduce_forward,
    .backward = lrp_reduce_backward,
    .keep = LRP_KEEP_INPUTS | LRP_KEEP_OUTPUT,
};
