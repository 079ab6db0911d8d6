/* ConstantOfShape: a tensor of the (constant) shape given by the input,
 * filled with the one-element `value` attribute (float 0 by default). */
#include "ops/kernels/eltwise_kernels.h"

static lrp_status cos_init(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    const lrp_attr *a = lrp_node_attr(n, "value");
    if (a && (a->type != LRP_ATTR_TENSOR || !a->t || a->t->numel != 1))
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "value must be a tensor of one element");
    return LRP_OK;
}

static lrp_status cos_infer(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    const int64_t *d;
    int cnt;
    lrp_status st = lrp_const_ints(g, n, 0, "the shape", &d, &cnt, err);
    if (st != LRP_OK)
        return st;
    if (cnt > LRP_MAX_DIMS)
        return lrp_node_fail(err, n, LRP_ERR_LIMIT, "shape of rank %d", cnt);
    char sb[640];
    for (int i = 0; i < cnt; i++)
        if (d[i] < 0)
            return lrp_node_fail(err, n, LRP_ERR_SHAPE, "negative dim in shape %s",
                                 lrp_shape_str(cnt, d, sb, sizeof sb));
    if (lrp_numel_checked(cnt, d) < 0)
        return lrp_node_fail(err, n, LRP_ERR_LIMIT, "shape %s is too large", lrp_shape_str(cnt, d, sb, sizeof sb));
    const lrp_attr *a = lrp_node_attr(n, "value");
    lrp_set_output(g, n, 0, a ? a->t->dtype : LRP_REAL_DT, cnt, d);
    return LRP_OK;
}

static lrp_status cos_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out, lrp_error *err)
{
    const lrp_attr *a = lrp_node_attr(n, "value");
    lrp_tensor *y = out[0];
    if (!a)
        return LRP_OK; /* zero-filled already */
    if (y->dtype == LRP_INT64) {
        const int64_t v = lrp_i64(a->t)[0];
        LRP_MAP(y->numel, lrp_i64(y)[i] = v);
    } else {
        const lrp_real v = lrp_reals(a->t)[0];
        LRP_MAP(y->numel, lrp_reals(y)[i] = v);
    }
    return LRP_OK;
}

const lrp_op lrp_op_constantofshape = {
    .type = "ConstantOfShape",
    .min_inputs = 1,
    .max_inputs = 1,
    .init = cos_init,
    .infer = cos_infer,
    .forward = cos_forward,
};
