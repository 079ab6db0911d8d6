/* Size: the input's element count as an int64 scalar. Known at shape
 * inference, so the output becomes a folded constant there, as Shape's. */
#include "ops/kernels/eltwise_kernels.h"

static int64_t numel_of(int ndim, const int64_t *dims)
{
    int64_t c = 1;
    for (int i = 0; i < ndim; i++)
        c *= dims[i];
    return c;
}

static lrp_status size_infer(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    const lrp_value *x = lrp_node_in(g, n, 0);
    lrp_value *v = lrp_node_out(g, n, 0);
    lrp_set_output(g, n, 0, LRP_INT64, 0, NULL);
    if (!v)
        return LRP_OK;
    lrp_tensor *t = lrp_tensor_new(LRP_INT64, 0, NULL, err);
    if (!t)
        return err ? err->status : LRP_ERR_NOMEM;
    lrp_i64(t)[0] = numel_of(x->ndim, x->dims);
    return lrp_set_folded(n, v, t, err);
}

static lrp_status size_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out, lrp_error *err)
{
    (void)n;
    (void)err;
    lrp_i64(out[0])[0] = numel_of(in[0]->ndim, in[0]->dims);
    return LRP_OK;
}

const lrp_op lrp_op_size = {
    .type = "Size",
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = size_infer,
    .forward = size_forward,
};
