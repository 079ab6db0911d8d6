/* Relu: y = max(x, 0) (NaN stays NaN). Gradient mask x > 0, as PyTorch. */
#include "ops/kernels/eltwise_kernels.h"

static lrp_status relu_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out, lrp_error *err)
{
    if (in[0]->dtype == LRP_INT64) {
        const int64_t *x = lrp_i64(in[0]);
        int64_t *y = lrp_i64(out[0]);
        LRP_MAP(in[0]->numel, y[i] = x[i] > 0 ? x[i] : 0);
        return LRP_OK;
    }
    const lrp_real *x = lrp_reals(in[0]);
    lrp_real *y = lrp_reals(out[0]);
    LRP_MAP(in[0]->numel, y[i] = x[i] < 0.0f ? 0.0f : x[i]);
    return LRP_OK;
}

/* y > 0 exactly where x > 0, so the output is enough. */
static lrp_status relu_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                                const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    if (!gin[0])
        return LRP_OK;
    const lrp_real *y = lrp_reals(out), *g = lrp_reals(gout);
    lrp_real *gx = lrp_reals(gin[0]);
    lrp_add_where_positive(gx, g, y, gout->numel);
    return LRP_OK;
}

static lrp_group relu_group(const lrp_graph *g, const lrp_node *n) { return LRP_GROUP_RELU; }

/* y = 0 exactly where x <= 0, where the mask is 0 */
static bool relu_dead_at_zero(const lrp_node *n, const lrp_tensor *const *in) { return true; }

const lrp_op lrp_op_relu = {
    .piecewise = 1,
    .overwrites = 1,
    .inplace = 1,
    .type = "Relu",
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = lrp_infer_same_any,
    .forward = relu_forward,
    .backward = relu_backward,
    .keep = LRP_KEEP_OUTPUT,
    .group = relu_group,
    .dead_at_zero = relu_dead_at_zero,
};
