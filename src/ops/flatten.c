/* Flatten: (d0, ..., dr-1) -> (d0 * ... * d(axis-1), d(axis) * ... * d(r-1)),
 * axis in [-r, r] (negative from opset 11), default 1. A copy. */
#include "ops/kernels/eltwise_kernels.h"

#include <stdlib.h>

typedef struct {
    int64_t axis;
} flatten_state;

static lrp_status flatten_init(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    flatten_state *s = lrp_node_state_new(n, sizeof *s, err);
    if (!s)
        return LRP_ERR_NOMEM;
    s->axis = lrp_attr_int(n, "axis", 1);
    if (s->axis < 0 && g->opset < 11)
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "negative axis %lld before opset 11", (long long)s->axis);
    return LRP_OK;
}

static lrp_status flatten_infer(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    const flatten_state *s = n->state;
    const lrp_value *x = lrp_node_in(g, n, 0);
    int r = x->ndim;
    int64_t axis = s->axis < 0 ? s->axis + r : s->axis;
    if (axis < 0 || axis > r)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "axis %lld is out of range for rank %d", (long long)s->axis, r);
    int64_t d[2] = {1, 1};
    for (int i = 0; i < r; i++)
        d[i >= axis] *= x->dims[i];
    lrp_set_output(g, n, 0, x->dtype, 2, d);
    return LRP_OK;
}

const lrp_op lrp_op_flatten = {
    .view = 1,
    .type = "Flatten",
    .min_inputs = 1,
    .max_inputs = 1,
    .init = flatten_init,
    .destroy = free,
    .infer = flatten_infer,
    .forward = lrp_copy_forward,
    .backward = lrp_copy_backward,
    .keep = 0,
};
