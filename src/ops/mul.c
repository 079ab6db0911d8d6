/* Mul: y = a * b, numpy broadcasting (and the legacy axis broadcasting of
 * opset < 7), float or int64. The gradient is summed over broadcast dims. */
#include "ops/kernels/bcast_kernels.h"
#include "base/tensor.h"

#include <stdlib.h>

static lrp_status mul_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out, lrp_error *err)
{
    return lrp_binary_forward(n, LRP_BIN_MUL, in, out, err);
}

static lrp_status mul_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                               const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    return lrp_binary_backward(n, LRP_BIN_MUL, in, gout, gin, err);
}

const lrp_op lrp_op_mul = {
    .type = "Mul",
    .min_inputs = 2,
    .max_inputs = 2,
    .init = lrp_binary_init,
    .destroy = free,
    .infer = lrp_arith_infer,
    .forward = mul_forward,
    .backward = mul_backward,
    .keep = LRP_KEEP_INPUTS,
};
