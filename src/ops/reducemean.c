/* ReduceMean: the mean over the given axes (attribute before opset 18, optional
 * input from 18); all axes when none are given, unless
 * noop_with_empty_axes. */
#include "ops/kernels/reduce_kernels.h"

#include <stdlib.h>

static lrp_status reducemean_init(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    return lrp_reduce_init(g, n, LRP_RED_MEAN, 18, err);
}

/* zennit's AvgPool: the mean over the spatial dims {2, 3} of a 4-D input. */
static lrp_group reducemean_group(const lrp_graph *g, const lrp_node *n)
{
    const lrp_reduce_state *s = n->state;
    const lrp_value *x = lrp_node_in(g, n, 0);
    if (!s || !x || !x->shape_known || x->ndim != 4 || s->r != 4 || s->identity)
        return LRP_GROUP_OTHER;
    return (!s->red[0] && !s->red[1] && s->red[2] && s->red[3]) ? LRP_GROUP_AVGPOOL : LRP_GROUP_OTHER;
}

const lrp_op lrp_op_reducemean = {
    .type = "ReduceMean",
    .min_inputs = 1,
    .max_inputs = 2,
    .init = reducemean_init,
    .destroy = free,
    .infer = lrp_reduce_infer,
    .forward = lrp_reduce_forward,
    .backward = lrp_reduce_backward,
    .keep = 0,
    .group = reducemean_group,
};
