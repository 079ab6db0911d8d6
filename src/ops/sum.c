/* Sum: the elementwise sum of one or more inputs, numpy broadcasting. */
#include "ops/kernels/bcast_kernels.h"
#include "base/tensor.h"

static lrp_status sum_infer(lrp_graph *g, lrp_node *n, lrp_error *err) { return lrp_variadic_infer(g, n, true, err); }

static lrp_status sum_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out, lrp_error *err)
{
    return lrp_variadic_forward(n, LRP_BIN_ADD, 1.0f, in, out, err);
}

static lrp_status sum_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                               const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    return lrp_variadic_backward(n, LRP_BIN_ADD, 1.0f, in, out, gout, gin, err);
}

/* zennit's residual Sum: at least two same-shaped, non-constant inputs. */
static lrp_group sum_group(const lrp_graph *g, const lrp_node *n)
{
    if (n->n_inputs < 2)
        return LRP_GROUP_OTHER;
    const lrp_value *x0 = lrp_node_in(g, n, 0);
    for (int i = 0; i < n->n_inputs; i++) {
        const lrp_value *x = lrp_node_in(g, n, i);
        if (!x || x->constant || !x->shape_known || !lrp_dims_equal(x->ndim, x->dims, x0->ndim, x0->dims))
            return LRP_GROUP_OTHER;
    }
    return LRP_GROUP_SUM;
}

const lrp_op lrp_op_sum = {
    .type = "Sum",
    .min_inputs = 1,
    .max_inputs = 65536,
    .infer = sum_infer,
    .forward = sum_forward,
    .backward = sum_backward,
    .keep = 0,
    .group = sum_group,
};
