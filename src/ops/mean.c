/* Mean: the elementwise mean of one or more inputs, numpy broadcasting. */
#include "ops/kernels/bcast_kernels.h"
#include "base/tensor.h"

static lrp_status mean_infer(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    return lrp_variadic_infer(g, n, false, err);
}

static lrp_status mean_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out, lrp_error *err)
{
    return lrp_variadic_forward(n, LRP_BIN_ADD, 1.0f / (lrp_real)n->n_inputs, in, out, err);
}

static lrp_status mean_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                                const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    return lrp_variadic_backward(n, LRP_BIN_ADD, 1.0f / (lrp_real)n->n_inputs, in, out, gout, gin, err);
}

const lrp_op lrp_op_mean = {
    .type = "Mean",
    .min_inputs = 1,
    .max_inputs = 65536,
    .infer = mean_infer,
    .forward = mean_forward,
    .backward = mean_backward,
    .keep = 0,
};
