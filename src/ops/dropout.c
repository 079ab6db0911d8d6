/* Dropout in inference: the identity; the optional mask output is all
 * true. Training (training_mode true, opset 12) is refused unless the ratio
 * is a constant 0 (PyTorch's F.dropout(p=0.0)), where it is the identity too. */
#include "ops/kernels/eltwise_kernels.h"

#include <string.h>

static lrp_status dropout_init(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    if (n->n_outputs > 2)
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "Dropout has at most 2 outputs");
    return LRP_OK;
}

static lrp_status dropout_infer(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    const lrp_value *x = lrp_node_in(g, n, 0), *ratio = lrp_node_in(g, n, 1), *tm = lrp_node_in(g, n, 2);
    if (tm) {
        if (!tm->constant)
            return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "training_mode must be constant");
        if (tm->constant->numel != 1)
            return lrp_node_fail(err, n, LRP_ERR_FORMAT, "training_mode must be a scalar");
        bool zero_ratio =
            ratio && ratio->constant && ratio->constant->numel == 1 && lrp_scalar_f(ratio->constant) == 0.0f;
        if (lrp_scalar_f(tm->constant) != 0.0f && !zero_ratio)
            return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "training mode (random masks) is not supported");
    }
    lrp_set_output(g, n, 0, x->dtype, x->ndim, x->dims);
    lrp_set_output(g, n, 1, LRP_INT64, x->ndim, x->dims);
    return LRP_OK;
}

static lrp_status dropout_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out,
                                  lrp_error *err)
{
    if (n->n_outputs > 1 && out[1])
        for (int64_t i = 0; i < out[1]->numel; i++)
            lrp_i64(out[1])[i] = 1;
    return lrp_copy_forward(n, in, out, err);
}

const lrp_op lrp_op_dropout = {
    .view = 1,
    .type = "Dropout",
    .min_inputs = 1,
    .max_inputs = 3,
    .init = dropout_init,
    .infer = dropout_infer,
    .forward = dropout_forward,
    .backward = lrp_copy_backward,
    .keep = 0,
};
