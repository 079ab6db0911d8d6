/* Not: the logical negation of a bool tensor (held as int64 0/1; any non-zero value is true). No gradient. */
#include "ops/kernels/eltwise_kernels.h"
#include "base/tensor.h"

static lrp_status not_infer(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    const lrp_value *x = lrp_node_in(g, n, 0);
    if (x->dtype != LRP_INT64)
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "the input must be a bool tensor");
    lrp_set_output(g, n, 0, LRP_INT64, x->ndim, x->dims);
    return LRP_OK;
}

static lrp_status not_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out, lrp_error *err)
{
    const int64_t *x = lrp_i64(in[0]);
    int64_t *y = lrp_i64(out[0]);
    LRP_MAP(in[0]->numel, y[i] = x[i] == 0);
    return LRP_OK;
}

const lrp_op lrp_op_not = {
    .overwrites = 1,
    .type = "Not",
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = not_infer,
    .forward = not_forward,
};
