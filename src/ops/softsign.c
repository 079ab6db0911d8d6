/* Softsign: y = x / (1 + |x|); gradient g / (1 + |x|)^2. */
#include "ops/kernels/eltwise_kernels.h"

#include <math.h>

static lrp_status softsign_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out,
                                   lrp_error *err)
{
    const lrp_real *x = lrp_reals(in[0]);
    lrp_real *y = lrp_reals(out[0]);
    LRP_MAP(in[0]->numel, y[i] = x[i] / (1.0f + lrp_fabs(x[i])));
    return LRP_OK;
}

static lrp_status softsign_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                                    const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    if (!gin[0])
        return LRP_OK;
    const lrp_real *x = lrp_reals(in[0]), *g = lrp_reals(gout);
    lrp_real *gx = lrp_reals(gin[0]);
    LRP_MAP(gout->numel, lrp_real d = 1.0f + lrp_fabs(x[i]); gx[i] += g[i] / (d * d));
    return LRP_OK;
}

/* The curvature term of the second order: f'' = -2 sign(x) / (1 + |x|)^3. */
LRP_SECOND(softsign_second, -2.0f * (x[i] > 0.0f ? 1.0f : (x[i] < 0.0f ? -1.0f : 0.0f)) /
                                ((1.0f + lrp_fabs(x[i])) * (1.0f + lrp_fabs(x[i])) * (1.0f + lrp_fabs(x[i]))))

const lrp_op lrp_op_softsign = {
    .type = "Softsign",
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = lrp_infer_same_float,
    .forward = softsign_forward,
    .backward = softsign_backward,
    .keep = LRP_KEEP_INPUTS,
    .group = lrp_group_activation,
    .second = softsign_second,
};
