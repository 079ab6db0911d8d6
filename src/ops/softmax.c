/* Softmax: y = exp(x) / sum(exp(x)) along the axis (see softmax_kernels.h for the
 * opset < 13 coercion to 2-D). */
#include "ops/kernels/softmax_kernels.h"
#include "base/tensor.h"

#include <stdlib.h>

static lrp_status softmax_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out,
                                  lrp_error *err)
{
    int64_t outer, L, inner;
    lrp_softmax_view(n, in[0], &outer, &L, &inner);
    lrp_softmax_fwd(outer, L, inner, lrp_reals(in[0]), lrp_reals(out[0]), 0);
    return LRP_OK;
}

static lrp_status softmax_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                                   const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    if (!gin[0])
        return LRP_OK;
    int64_t outer, L, inner;
    lrp_softmax_view(n, out, &outer, &L, &inner);
    lrp_softmax_bwd(outer, L, inner, lrp_reals(out), lrp_reals(gout), lrp_reals(gin[0]), 0);
    return LRP_OK;
}

const lrp_op lrp_op_softmax = {
    .type = "Softmax",
    .min_inputs = 1,
    .max_inputs = 1,
    .init = lrp_softmax_init,
    .destroy = free,
    .infer = lrp_softmax_infer,
    .forward = softmax_forward,
    .backward = softmax_backward,
    .keep = LRP_KEEP_OUTPUT,
};
