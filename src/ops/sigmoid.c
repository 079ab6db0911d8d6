/* Sigmoid: y = 1 / (1 + exp(-x)); gradient g * y * (1 - y). */
#include "ops/kernels/eltwise_kernels.h"

#include <math.h>

static inline lrp_real sigmoid(lrp_real x)
{
    /* no overflow of exp for large |x| */
    if (x >= 0.0f)
        return 1.0f / (1.0f + lrp_exp(-x));
    lrp_real e = lrp_exp(x);
    return e / (1.0f + e);
}

static lrp_status sigmoid_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out,
                                  lrp_error *err)
{
    const lrp_real *x = lrp_reals(in[0]);
    lrp_real *y = lrp_reals(out[0]);
    LRP_MAP(in[0]->numel, y[i] = sigmoid(x[i]));
    return LRP_OK;
}

static lrp_status sigmoid_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                                   const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    if (!gin[0])
        return LRP_OK;
    const lrp_real *y = lrp_reals(out), *g = lrp_reals(gout);
    lrp_real *gx = lrp_reals(gin[0]);
    LRP_MAP(gout->numel, gx[i] += g[i] * y[i] * (1.0f - y[i]));
    return LRP_OK;
}

/* The curvature term of the second order: f = y (1 - y) (1 - 2y). */
LRP_SECOND(sigmoid_second, y[i] * (1.0f - y[i]) * (1.0f - 2.0f * y[i]))

const lrp_op lrp_op_sigmoid = {
    .type = "Sigmoid",
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = lrp_infer_same_float,
    .forward = sigmoid_forward,
    .backward = sigmoid_backward,
    .keep = LRP_KEEP_OUTPUT,
    .group = lrp_group_activation,
    .second = sigmoid_second,
};
