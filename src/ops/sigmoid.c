/* Sigmoid: y = 1 / (1 + exp(-x)); gradient g * y * (1 - y). */
#include "ops/kernels/eltwise_kernels.h"

#include <math.h>

static inline float sigmoid(float x)
{
    /* no overflow of exp for large |x| */
    if (x >= 0.0f)
        return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

static lrp_status sigmoid_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out,
                                  lrp_error *err)
{
    const float *x = lrp_f32(in[0]);
    float *y = lrp_f32(out[0]);
    LRP_MAP(in[0]->numel, y[i] = sigmoid(x[i]));
    return LRP_OK;
}

static lrp_status sigmoid_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                                   const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    if (!gin[0])
        return LRP_OK;
    const float *y = lrp_f32(out), *g = lrp_f32(gout);
    float *gx = lrp_f32(gin[0]);
    LRP_MAP(gout->numel, gx[i] += g[i] * y[i] * (1.0f - y[i]));
    return LRP_OK;
}

const lrp_op lrp_op_sigmoid = {
    .type = "Sigmoid",
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = lrp_infer_same_float,
    .forward = sigmoid_forward,
    .backward = sigmoid_backward,
    .keep = LRP_KEEP_OUTPUT,
    .group = lrp_group_activation,
};
