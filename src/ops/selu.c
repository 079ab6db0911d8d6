/* Selu: y = gamma * (x > 0 ? x : alpha * (exp(x) - 1)). */
#include "ops/kernels/eltwise_kernels.h"

#include <math.h>
#include <stdlib.h>

static lrp_status selu_init(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    /* ONNX's defaults, the float values of the constants of the SELU paper */
    return lrp_act_params_init(n, "alpha", 1.67326319217681884765625f, "gamma", 1.05070102214813232421875f, err);
}

static lrp_status selu_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out, lrp_error *err)
{
    const lrp_act_params *p = n->state;
    const lrp_real a = p->alpha, gm = p->beta;
    const lrp_real *x = lrp_reals(in[0]);
    lrp_real *y = lrp_reals(out[0]);
    LRP_MAP(in[0]->numel, y[i] = x[i] > 0.0f ? gm * x[i] : gm * a * lrp_expm1(x[i]));
    return LRP_OK;
}

static lrp_status selu_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                                const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    if (!gin[0])
        return LRP_OK;
    const lrp_act_params *p = n->state;
    const lrp_real a = p->alpha, gm = p->beta;
    const lrp_real *x = lrp_reals(in[0]), *g = lrp_reals(gout);
    lrp_real *gx = lrp_reals(gin[0]);
    LRP_MAP(gout->numel, gx[i] += x[i] > 0.0f ? gm * g[i] : g[i] * gm * a * lrp_exp(x[i]));
    return LRP_OK;
}

/* The curvature term of the second order: f'' = 0 for x > 0, gamma alpha exp(x) below. */
static lrp_status selu_second(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                              const lrp_tensor *g, const lrp_tensor *u, lrp_tensor *gx, lrp_error *err)
{
    const lrp_real *x = lrp_reals(in[0]), *gg = lrp_reals(g), *uu = lrp_reals(u);
    lrp_real *d = lrp_reals(gx);
    const lrp_act_params *p = n->state;
    const lrp_real a = p->alpha, gm = p->beta;
    LRP_MAP(g->numel, if (x[i] <= 0.0f) d[i] += gg[i] * uu[i] * gm * a * lrp_exp(x[i]));
    return LRP_OK;
}

const lrp_op lrp_op_selu = {
    .piecewise = 1,
    .type = "Selu",
    .min_inputs = 1,
    .max_inputs = 1,
    .init = selu_init,
    .destroy = free,
    .infer = lrp_infer_same_float,
    .forward = selu_forward,
    .backward = selu_backward,
    .keep = LRP_KEEP_INPUTS,
    .group = lrp_group_activation,
    .second = selu_second,
};
