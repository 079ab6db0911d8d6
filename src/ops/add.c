/* Add: y = a + b, numpy broadcasting (and the legacy axis broadcasting of
 * opset < 7), float or int64. The gradient is summed over broadcast dims. */
#include "ops/kernels/bcast_kernels.h"
#include "base/tensor.h"

#include <stdlib.h>

static lrp_status add_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out, lrp_error *err)
{
    return lrp_binary_forward(n, LRP_BIN_ADD, in, out, err);
}

static lrp_status add_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                               const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    return lrp_binary_backward(n, LRP_BIN_ADD, in, gout, gin, err);
}

/* zennit's residual Sum: two same-shaped activations. */
static lrp_group add_group(const lrp_graph *g, const lrp_node *n)
{
    const lrp_value *a = lrp_node_in(g, n, 0), *b = lrp_node_in(g, n, 1);
    if (!a || !b || a->constant || b->constant || !a->shape_known || !b->shape_known)
        return LRP_GROUP_OTHER;
    return lrp_dims_equal(a->ndim, a->dims, b->ndim, b->dims) ? LRP_GROUP_SUM : LRP_GROUP_OTHER;
}

const lrp_op lrp_op_add = {
    .overwrites = 1,
    .type = "Add",
    .min_inputs = 2,
    .max_inputs = 2,
    .init = lrp_binary_init,
    .destroy = free,
    .infer = lrp_arith_infer,
    .forward = add_forward,
    .backward = add_backward,
    .keep = 0,
    .group = add_group,
};
