/* Min: the elementwise minimum of one or more inputs, numpy broadcasting. */
#include "ops/kernels/bcast_kernels.h"
#include "base/tensor.h"

static lrp_status min_infer(lrp_graph *g, lrp_node *n, lrp_error *err) { return lrp_variadic_infer(g, n, true, err); }

static lrp_status min_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out, lrp_error *err)
{
    return lrp_variadic_forward(n, LRP_BIN_MIN, 1.0f, in, out, err);
}

static lrp_status min_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                               const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    return lrp_variadic_backward(n, LRP_BIN_MIN, 1.0f, in, out, gout, gin, err);
}

const lrp_op lrp_op_min = {
    .piecewise = 1,
    .type = "Min",
    .min_inputs = 1,
    .max_inputs = 65536,
    .infer = min_infer,
    .forward = min_forward,
    .backward = min_backward,
    .keep = LRP_KEEP_INPUTS | LRP_KEEP_OUTPUT,
};
