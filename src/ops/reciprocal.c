/* Reciprocal: y = 1 / x; gradient -g y^2. */
#include "ops/kernels/eltwise_kernels.h"

static lrp_status reciprocal_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out,
                                     lrp_error *err)
{
    const lrp_real *x = lrp_reals(in[0]);
    lrp_real *y = lrp_reals(out[0]);
    LRP_MAP(in[0]->numel, y[i] = 1.0f / x[i]);
    return LRP_OK;
}

static lrp_status reciprocal_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                                      const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    if (!gin[0])
        return LRP_OK;
    const lrp_real *y = lrp_reals(out), *g = lrp_reals(gout);
    lrp_real *gx = lrp_reals(gin[0]);
    LRP_MAP(gout->numel, gx[i] -= g[i] * y[i] * y[i]);
    return LRP_OK;
}

/* The curvature term of the second order: f'' = 2 y^3. */
LRP_SECOND(reciprocal_second, 2.0f * y[i] * y[i] * y[i])

const lrp_op lrp_op_reciprocal = {
    .type = "Reciprocal",
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = lrp_infer_same_float,
    .forward = reciprocal_forward,
    .backward = reciprocal_backward,
    .keep = LRP_KEEP_OUTPUT,
    .second = reciprocal_second,
};
