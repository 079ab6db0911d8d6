/* LeakyRelu: y = x > 0 ? x : alpha * x (alpha 0.01 by default). */
#include "ops/kernels/eltwise_kernels.h"

#include <stdlib.h>

static lrp_status leakyrelu_init(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    return lrp_act_params_init(n, "alpha", 0.01f, NULL, 0.0f, err);
}

static lrp_status leakyrelu_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out,
                                    lrp_error *err)
{
    const lrp_real a = ((const lrp_act_params *)n->state)->alpha;
    const lrp_real *x = lrp_reals(in[0]);
    lrp_real *y = lrp_reals(out[0]);
    LRP_MAP(in[0]->numel, y[i] = x[i] > 0.0f ? x[i] : a * x[i]);
    return LRP_OK;
}

static lrp_status leakyrelu_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                                     const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    if (!gin[0])
        return LRP_OK;
    const lrp_real a = ((const lrp_act_params *)n->state)->alpha;
    const lrp_real *x = lrp_reals(in[0]), *g = lrp_reals(gout);
    lrp_real *gx = lrp_reals(gin[0]);
    LRP_MAP(gout->numel, gx[i] += x[i] > 0.0f ? g[i] : a * g[i]);
    return LRP_OK;
}

const lrp_op lrp_op_leakyrelu = {
    .piecewise = 1,
    .type = "LeakyRelu",
    .min_inputs = 1,
    .max_inputs = 1,
    .init = leakyrelu_init,
    .destroy = free,
    .infer = lrp_infer_same_float,
    .forward = leakyrelu_forward,
    .backward = leakyrelu_backward,
    .keep = LRP_KEEP_INPUTS,
    .group = lrp_group_activation,
};
