/* Unsqueeze: inserts dims of size 1 at the given axes of the output (axes
 * attribute before opset 13, input from 13). */
#include "ops/kernels/eltwise_kernels.h"

static lrp_status unsqueeze_infer(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    const lrp_value *x = lrp_node_in(g, n, 0);
    const int64_t *axes = NULL;
    int cnt = -1;
    if (g->opset < 13) {
        cnt = lrp_attr_ints(n, "axes", &axes);
    } else {
        if (!lrp_node_in(g, n, 1))
            return lrp_node_fail(err, n, LRP_ERR_FORMAT, "the axes input is missing");
        lrp_status st = lrp_const_ints(g, n, 1, "axes", &axes, &cnt, err);
        if (st != LRP_OK)
            return st;
    }
    if (cnt < 0)
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "the axes attribute is missing");
    int r = x->ndim + cnt;
    if (r > LRP_MAX_DIMS)
        return lrp_node_fail(err, n, LRP_ERR_LIMIT, "result of rank %d (at most %d supported)", r, LRP_MAX_DIMS);
    int ax[LRP_MAX_DIMS], ins[LRP_MAX_DIMS] = {0};
    lrp_status st = lrp_norm_axes(n, axes, cnt, r, false, ax, err);
    if (st != LRP_OK)
        return st;
    for (int i = 0; i < cnt; i++)
        ins[ax[i]] = 1;
    int64_t out[LRP_MAX_DIMS];
    for (int d = 0, k = 0; d < r; d++)
        out[d] = ins[d] ? 1 : x->dims[k++];
    lrp_set_output(g, n, 0, x->dtype, r, out);
    return LRP_OK;
}

const lrp_op lrp_op_unsqueeze = {
    .view = 1,
    .type = "Unsqueeze",
    .min_inputs = 1,
    .max_inputs = 2,
    .infer = unsqueeze_infer,
    .forward = lrp_copy_forward,
    .backward = lrp_copy_backward,
    .keep = 0,
};
