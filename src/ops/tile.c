/* Tile: repeats the input `repeats[d]` times along each dim (constant
 * int64 repeats). The gradient sums the copies. Any dtype. */
#include "ops/kernels/eltwise_kernels.h"

static lrp_status tile_infer(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    const lrp_value *x = lrp_node_in(g, n, 0);
    const int64_t *rep;
    int cnt;
    lrp_status st = lrp_const_ints(g, n, 1, "repeats", &rep, &cnt, err);
    if (st != LRP_OK)
        return st;
    if (cnt != x->ndim)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "%d repeats for an input of rank %d", cnt, x->ndim);
    int64_t out[LRP_MAX_DIMS];
    for (int d = 0; d < cnt; d++) {
        if (rep[d] < 0 || (x->dims[d] && rep[d] > LRP_MAX_ELEMENTS / x->dims[d]))
            return lrp_node_fail(err, n, LRP_ERR_LIMIT, "repeats[%d] = %lld is out of range", d, (long long)rep[d]);
        out[d] = x->dims[d] * rep[d];
    }
    lrp_set_output(g, n, 0, x->dtype, cnt, out);
    return LRP_OK;
}

/* Input offset of output row `row` (all dims but the last). */
static int64_t row_offset(const lrp_tensor *x, const lrp_tensor *y, int64_t row)
{
    int64_t off = 0, stride = x->dims[x->ndim - 1];
    for (int d = x->ndim - 2; d >= 0; d--) {
        int64_t o = row % y->dims[d];
        row /= y->dims[d];
        off += (o % x->dims[d]) * stride;
        stride *= x->dims[d];
    }
    return off;
}

static lrp_status tile_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out, lrp_error *err)
{
    const lrp_tensor *x = in[0];
    lrp_tensor *y = out[0];
    if (x->ndim == 0 || y->numel == 0)
        return x->ndim == 0 ? lrp_copy_forward(n, in, out, err) : LRP_OK;
    const int64_t len = y->dims[y->ndim - 1], xl = x->dims[x->ndim - 1], rows = y->numel / len;
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (y->numel > LRP_PAR_MIN)
    for (int64_t row = 0; row < rows; row++) {
        const int64_t off = row_offset(x, y, row);
        for (int64_t i = 0; i < len; i++) {
            if (y->dtype == LRP_INT64)
                lrp_i64(y)[row * len + i] = lrp_i64(x)[off + i % xl];
            else
                lrp_reals(y)[row * len + i] = lrp_reals(x)[off + i % xl];
        }
    }
    return LRP_OK;
}

static lrp_status tile_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                                const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    lrp_tensor *gx = gin[0];
    if (!gx)
        return LRP_OK;
    if (gx->ndim == 0)
        return lrp_copy_backward(n, in, out, gout, gin, err);
    if (gout->numel == 0)
        return LRP_OK;
    const int64_t len = gout->dims[gout->ndim - 1], xl = gx->dims[gx->ndim - 1], rows = gout->numel / len;
    for (int64_t row = 0; row < rows; row++) {
        const int64_t off = row_offset(gx, gout, row);
        for (int64_t i = 0; i < len; i++)
            lrp_reals(gx)[off + i % xl] += lrp_reals(gout)[row * len + i];
    }
    return LRP_OK;
}

const lrp_op lrp_op_tile = {
    .type = "Tile",
    .min_inputs = 2,
    .max_inputs = 2,
    .infer = tile_infer,
    .forward = tile_forward,
    .backward = tile_backward,
    .keep = 0,
};
