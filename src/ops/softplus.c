/* Softplus: y = log(1 + exp(x)), computed without overflow; gradient
 * g * sigmoid(x). */
#include "ops/kernels/eltwise_kernels.h"

#include <math.h>

static inline lrp_real softplus(lrp_real x) { return x > 0.0f ? x + lrp_log1p(lrp_exp(-x)) : lrp_log1p(lrp_exp(x)); }

static lrp_status softplus_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out,
                                   lrp_error *err)
{
    const lrp_real *x = lrp_reals(in[0]);
    lrp_real *y = lrp_reals(out[0]);
    LRP_MAP(in[0]->numel, y[i] = softplus(x[i]));
    return LRP_OK;
}

static lrp_status softplus_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                                    const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    if (!gin[0])
        return LRP_OK;
    const lrp_real *x = lrp_reals(in[0]), *g = lrp_reals(gout);
    lrp_real *gx = lrp_reals(gin[0]);
    LRP_MAP(gout->numel, lrp_real e = lrp_exp(-lrp_fabs(x[i]));
            gx[i] += g[i] * (x[i] >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e)));
    return LRP_OK;
}

/* The curvature term of the second order: f'' = sigmoid(x) (1 - sigmoid(x)). */
static lrp_status softplus_second(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                                  const lrp_tensor *g, const lrp_tensor *u, lrp_tensor *gx, lrp_error *err)
{
    const lrp_real *x = lrp_reals(in[0]), *gg = lrp_reals(g), *uu = lrp_reals(u);
    lrp_real *d = lrp_reals(gx);
    LRP_MAP(g->numel, lrp_real e = lrp_exp(-lrp_fabs(x[i])); d[i] += gg[i] * uu[i] * (e / ((1.0f + e) * (1.0f + e))));
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
    .second = softplus_second,
};
