/* Erf; gradient g * 2 / sqrt(pi) * exp(-x^2). */
#include "ops/kernels/eltwise_kernels.h"

#include <math.h>

static lrp_status erf_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out, lrp_error *err)
{
    const lrp_real *x = lrp_reals(in[0]);
    lrp_real *y = lrp_reals(out[0]);
    LRP_MAP(in[0]->numel, y[i] = lrp_erf(x[i]));
    return LRP_OK;
}

static lrp_status erf_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                               const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    if (!gin[0])
        return LRP_OK;
    const lrp_real *x = lrp_reals(in[0]), *g = lrp_reals(gout);
    lrp_real *gx = lrp_reals(gin[0]);
    const lrp_real c = LRP_R(1.12837916709551257390); /* 2 / sqrt(pi) */
    LRP_MAP(gout->numel, gx[i] += g[i] * c * lrp_exp(-x[i] * x[i]));
    return LRP_OK;
}

/* The curvature term of the second order: f'' = -2x (2/sqrt(pi)) exp(-x^2). */
static lrp_status erf_second(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                             const lrp_tensor *g, const lrp_tensor *u, lrp_tensor *gx, lrp_error *err)
{
    const lrp_real *x = lrp_reals(in[0]), *gg = lrp_reals(g), *uu = lrp_reals(u);
    lrp_real *d = lrp_reals(gx);
    const lrp_real c = LRP_R(1.12837916709551257390); /* 2 / sqrt(pi) */
    LRP_MAP(g->numel, d[i] += gg[i] * uu[i] * (-2.0f * x[i] * c * lrp_exp(-x[i] * x[i])));
    return LRP_OK;
}

const lrp_op lrp_op_erf = {
    .type = "Erf",
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = lrp_infer_same_float,
    .forward = erf_forward,
    .backward = erf_backward,
    .keep = LRP_KEEP_INPUTS,
    .second = erf_second,
};
