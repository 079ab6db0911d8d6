/* Neg: y = -x (float or int64, wrapping); gradient -g. */
#include "ops/kernels/eltwise_kernels.h"

static lrp_status neg_infer(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    if (lrp_node_in(g, n, 0)->dtype == LRP_INT64) {
        lrp_status st = lrp_refuse_narrow_ints(g, n, err);
        if (st != LRP_OK)
            return st;
    }
    return lrp_infer_same(g, n, true, err);
}

static lrp_status neg_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out, lrp_error *err)
{
    if (in[0]->dtype == LRP_INT64) {
        const int64_t *x = lrp_i64(in[0]);
        int64_t *y = lrp_i64(out[0]);
        LRP_MAP(in[0]->numel, y[i] = (int64_t)(0u - (uint64_t)x[i]));
        return LRP_OK;
    }
    const lrp_real *x = lrp_reals(in[0]);
    lrp_real *y = lrp_reals(out[0]);
    LRP_MAP(in[0]->numel, y[i] = -x[i]);
    return LRP_OK;
}

static lrp_status neg_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                               const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    if (!gin[0])
        return LRP_OK;
    const lrp_real *g = lrp_reals(gout);
    lrp_real *gx = lrp_reals(gin[0]);
    LRP_MAP(gout->numel, gx[i] -= g[i]);
    return LRP_OK;
}

const lrp_op lrp_op_neg = {
    .type = "Neg",
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = neg_infer,
    .forward = neg_forward,
    .backward = neg_backward,
    .keep = 0,
};
