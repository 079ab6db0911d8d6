/* HardSigmoid: y = max(0, min(1, alpha * x + beta)) (alpha 0.2, beta 0.5).
 * Gradient alpha strictly inside the linear part, as PyTorch. */
#include "ops/kernels/eltwise_kernels.h"

#include <stdlib.h>

static lrp_status hardsigmoid_init(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    return lrp_act_params_init(n, "alpha", 0.2f, "beta", 0.5f, err);
}

static inline lrp_real hsig(lrp_real x, lrp_real a, lrp_real b)
{
    lrp_real v = a * x + b;
    return v <= 0.0f ? 0.0f : (v >= 1.0f ? 1.0f : v);
}

static lrp_status hardsigmoid_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out,
                                      lrp_error *err)
{
    const lrp_act_params *p = n->state;
    const lrp_real a = p->alpha, b = p->beta;
    const lrp_real *x = lrp_reals(in[0]);
    lrp_real *y = lrp_reals(out[0]);
    LRP_MAP(in[0]->numel, y[i] = x[i] != x[i] ? x[i] : hsig(x[i], a, b));
    return LRP_OK;
}

static lrp_status hardsigmoid_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                                       const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    if (!gin[0])
        return LRP_OK;
    const lrp_act_params *p = n->state;
    const lrp_real a = p->alpha, b = p->beta;
    const lrp_real *x = lrp_reals(in[0]), *g = lrp_reals(gout);
    lrp_real *gx = lrp_reals(gin[0]);
    LRP_MAP(gout->numel, lrp_real v = a * x[i] + b; if (v > 0.0f && v < 1.0f) gx[i] += a * g[i]);
    return LRP_OK;
}

const lrp_op lrp_op_hardsigmoid = {
    .piecewise = 1,
    .type = "HardSigmoid",
    .min_inputs = 1,
    .max_inputs = 1,
    .init = hardsigmoid_init,
    .destroy = free,
    .infer = lrp_infer_same_float,
    .forward = hardsigmoid_forward,
    .backward = hardsigmoid_backward,
    .keep = LRP_KEEP_INPUTS,
    .group = lrp_group_activation,
};
