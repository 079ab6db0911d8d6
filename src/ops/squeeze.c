/* Squeeze: removes the given dims of size 1 (axes attribute before opset 13,
 * optional input from 13), or every dim of size 1 when no axes are given. */
#include "ops/kernels/eltwise_kernels.h"

static lrp_status squeeze_infer(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    const lrp_value *x = lrp_node_in(g, n, 0);
    const int64_t *axes = NULL;
    int cnt = -1;
    if (g->opset < 13) {
        cnt = lrp_attr_ints(n, "axes", &axes);
    } else if (lrp_node_in(g, n, 1)) {
        lrp_status st = lrp_const_ints(g, n, 1, "axes", &axes, &cnt, err);
        if (st != LRP_OK)
            return st;
    }
    int drop[LRP_MAX_DIMS] = {0}, ax[LRP_MAX_DIMS];
    char sb[160];
    if (cnt < 0) {
        for (int d = 0; d < x->ndim; d++)
            drop[d] = x->dims[d] == 1;
    } else {
        lrp_status st = lrp_norm_axes(n, axes, cnt, x->ndim, false, ax, err);
        if (st != LRP_OK)
            return st;
        for (int i = 0; i < cnt; i++) {
            if (x->dims[ax[i]] != 1)
                return lrp_node_fail(err, n, LRP_ERR_SHAPE, "dim %d of the input %s is not 1", ax[i],
                                     lrp_shape_str(x->ndim, x->dims, sb, sizeof sb));
            drop[ax[i]] = 1;
        }
    }
    int64_t out[LRP_MAX_DIMS];
    int no = 0;
    for (int d = 0; d < x->ndim; d++)
        if (!drop[d])
            out[no++] = x->dims[d];
    lrp_set_output(g, n, 0, x->dtype, no, out);
    return LRP_OK;
}

const lrp_op lrp_op_squeeze = {
    .view = 1,
    .type = "Squeeze",
    .min_inputs = 1,
    .max_inputs = 2,
    .infer = squeeze_infer,
    .forward = lrp_copy_forward,
    .backward = lrp_copy_backward,
    .keep = 0,
};
