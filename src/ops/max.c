/* Max: the elementwise maximum of one or more inputs, numpy broadcasting. */
#include "ops/kernels/bcast_kernels.h"
#include "base/tensor.h"

static lrp_status max_infer(lrp_graph *g, lrp_node *n, lrp_error *err) { return lrp_variadic_infer(g, n, true, err); }

static lrp_status max_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out, lrp_error *err)
{
    return lrp_variadic_forward(n, LRP_BIN_MAX, 1.0f, in, out, err);
}

static lrp_status max_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                               const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    return lrp_variadic_backward(n, LRP_BIN_MAX, 1.0f, in, out, gout, gin, err);
}

const lrp_op lrp_op_max = {
    .piecewise = 1,
    .type = "Max",
    .min_inputs = 1,
    .max_inputs = 65536,
    .infer = max_infer,
    .forward = max_forward,
    .backward = max_backward,
    .keep = LRP_KEEP_INPUTS | LRP_KEEP_OUTPUT,
};
