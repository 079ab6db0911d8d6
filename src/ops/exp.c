/* Exp; gradient g * y. */
#include "ops/kernels/eltwise_kernels.h"

#include <math.h>

static lrp_status exp_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out, lrp_error *err)
{
    const lrp_real *x = lrp_reals(in[0]);
    lrp_real *y = lrp_reals(out[0]);
    LRP_MAP(in[0]->numel, y[i] = lrp_exp(x[i]));
    return LRP_OK;
}

static lrp_status exp_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                               const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    if (!gin[0])
        return LRP_OK;
    const lrp_real *y = lrp_reals(out), *g = lrp_reals(gout);
    lrp_real *gx = lrp_reals(gin[0]);
    LRP_MAP(gout->numel, gx[i] += g[i] * y[i]);
    return LRP_OK;
}

/* The curvature term of the second order: f'' = y. */
LRP_SECOND(exp_second, y[i])

const lrp_op lrp_op_exp = {
    .type = "Exp",
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = lrp_infer_same_float,
    .forward = exp_forward,
    .backward = exp_backward,
    .keep = LRP_KEEP_OUTPUT,
    .second = exp_second,
};
