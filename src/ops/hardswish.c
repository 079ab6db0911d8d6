/* HardSwish: y = x * max(0, min(1, x / 6 + 1 / 2)). Gradient as PyTorch's:
 * 0 below -3, x / 3 + 1 / 2 up to 3 (inclusive), 1 above. */
#include "ops/kernels/eltwise_kernels.h"

static lrp_status hardswish_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out,
                                    lrp_error *err)
{
    const lrp_real *x = lrp_reals(in[0]);
    lrp_real *y = lrp_reals(out[0]);
    LRP_MAP(in[0]->numel, lrp_real v = x[i] / 6.0f + 0.5f; v = v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
            y[i] = x[i] * v);
    return LRP_OK;
}

static lrp_status hardswish_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                                     const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    if (!gin[0])
        return LRP_OK;
    const lrp_real *x = lrp_reals(in[0]), *g = lrp_reals(gout);
    lrp_real *gx = lrp_reals(gin[0]);
    LRP_MAP(gout->numel, if (x[i] < -3.0f) continue; gx[i] += x[i] <= 3.0f ? g[i] * (x[i] / 3.0f + 0.5f) : g[i]);
    return LRP_OK;
}

/* The curvature term of the second order: f'' = 1/3 on (-3, 3), else 0. */
LRP_SECOND(hardswish_second, (x[i] > -3.0f && x[i] < 3.0f) ? 1.0f / 3.0f : 0.0f)

const lrp_op lrp_op_hardswish = {
    .piecewise = 1,
    .type = "HardSwish",
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = lrp_infer_same_float,
    .forward = hardswish_forward,
    .backward = hardswish_backward,
    .keep = LRP_KEEP_INPUTS,
    .group = lrp_group_activation,
    .second = hardswish_second,
};
