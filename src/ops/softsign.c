/* Softsign: y = x / (1 + |x|); gradient g / (1 + |x|)^2. */
#include "ops/kernels/eltwise_kernels.h"

#include <math.h>

static lrp_status softsign_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out,
                                   lrp_error *err)
{
    const float *x = lrp_f32(in[0]);
    float *y = lrp_f32(out[0]);
    LRP_MAP(in[0]->numel, y[i] = x[i] / (1.0f + fabsf(x[i])));
    return LRP_OK;
}

static lrp_status softsign_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                                    const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    if (!gin[0])
        return LRP_OK;
    const float *x = lrp_f32(in[0]), *g = lrp_f32(gout);
    float *gx = lrp_f32(gin[0]);
    LRP_MAP(gout->numel, float d = 1.0f + fabsf(x[i]); gx[i] += g[i] / (d * d));
    return LRP_OK;
}

const lrp_op lrp_op_softsign = {
    .type = "Softsign",
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = lrp_infer_same_float,
    .forward = softsign_forward,
    .backward = softsign_backward,
    .keep = LRP_KEEP_INPUTS,
    .group = lrp_group_activation,
};
