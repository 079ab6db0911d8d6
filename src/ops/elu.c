/* Elu: y = x > 0 ? x : alpha * (exp(x) - 1) (alpha 1 by default). */
#include "ops/kernels/eltwise_kernels.h"

#include <math.h>
#include <stdlib.h>

static lrp_status elu_init(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    return lrp_act_params_init(n, "alpha", 1.0f, NULL, 0.0f, err);
}

static lrp_status elu_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out, lrp_error *err)
{
    const lrp_real a = ((const lrp_act_params *)n->state)->alpha;
    const lrp_real *x = lrp_reals(in[0]);
    lrp_real *y = lrp_reals(out[0]);
    LRP_MAP(in[0]->numel, y[i] = x[i] > 0.0f ? x[i] : a * lrp_expm1(x[i]));
    return LRP_OK;
}

static lrp_status elu_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                               const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    if (!gin[0])
        return LRP_OK;
    const lrp_real a = ((const lrp_act_params *)n->state)->alpha;
    const lrp_real *x = lrp_reals(in[0]), *g = lrp_reals(gout);
    lrp_real *gx = lrp_reals(gin[0]);
    LRP_MAP(gout->numel, gx[i] += x[i] > 0.0f ? g[i] : g[i] * a * lrp_exp(x[i]));
    return LRP_OK;
}

/* The curvature term of the second order: f'' = 0 for x > 0, alpha exp(x) below. */
static lrp_status elu_second(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                             const lrp_tensor *g, const lrp_tensor *u, lrp_tensor *gx, lrp_error *err)
{
    const lrp_real *x = lrp_reals(in[0]), *gg = lrp_reals(g), *uu = lrp_reals(u);
    lrp_real *d = lrp_reals(gx);
    const lrp_real a = ((const lrp_act_params *)n->state)->alpha;
    LRP_MAP(g->numel, if (x[i] <= 0.0f) d[i] += gg[i] * uu[i] * a * lrp_exp(x[i]));
    return LRP_OK;
}

const lrp_op lrp_op_elu = {
    .piecewise = 1,
    .type = "Elu",
    .min_inputs = 1,
    .max_inputs = 1,
    .init = elu_init,
    .destroy = free,
    .infer = lrp_infer_same_float,
    .forward = elu_forward,
    .backward = elu_backward,
    .keep = LRP_KEEP_INPUTS,
    .group = lrp_group_activation,
    .second = elu_second,
};
