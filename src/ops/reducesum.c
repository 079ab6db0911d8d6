/* ReduceSum: the sum over the given axes (attribute before opset 13, optional
 * input from 13); all axes when none are given, unless
 * noop_with_empty_axes. */
#include "ops/kernels/reduce_kernels.h"

#include <stdlib.h>

static lrp_status reducesum_init(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    return lrp_reduce_init(g, n, LRP_RED_SUM, 13, err);
}

const lrp_op lrp_op_reducesum = {
    .type = "ReduceSum",
    .min_inputs = 1,
    .max_inputs = 2,
    .init = reducesum_init,
    .destroy = free,
    .infer = lrp_reduce_infer,
    .forward = lrp_reduce_forward,
    .backward = lrp_reduce_backward,
    .keep = 0,
};
