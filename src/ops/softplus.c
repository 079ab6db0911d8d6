/* Softplus: y = log(1 + exp(x)), computed without overflow; gradient
 * g * sigmoid(x). */
#include "ops/kernels/eltwise_kernels.h"

#include <math.h>

static inline float softplus(float x) { return x > 0.0f ? x + log1pf(expf(-x)) : log1pf(expf(x)); }

static lrp_status softplus_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out,
                                   lrp_error *err)
{
    const float *x = lrp_f32(in[0]);
    float *y = lrp_f32(out[0]);
    LRP_MAP(in[0]->numel, y[i] = softplus(x[i]));
    return LRP_OK;
}

static lrp_status softplus_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                                    const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    if (!gin[0])
        return LRP_OK;
    const float *x = lrp_f32(in[0]), *g = lrp_f32(gout);
    float *gx = lrp_f32(gin[0]);
    LRP_MAP(gout->numel, float e = expf(-fabsf(x[i]));
            gx[i] += g[i] * (x[i] >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e)));
    return LRP_OK;
}

const lrp_op lrp_op_softplus = {
    .type = "Softplus",
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = lrp_infer_same_float,
    .forward = softplus_forward,
    .backward = softplus_backward,
    .keep = LRP_KEEP_INPUTS,
    .group = lrp_group_activation,
};
